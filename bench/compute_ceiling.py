"""The training step's compute ceiling: the pipeline's own model and
`train_step`, batch 32, on one synthetic batch held in memory.

No input pipeline and no Python between steps beyond the call itself, so
this is as fast as this machine runs the step; the Trainer's throughput is
judged against it.

    python bench/compute_ceiling.py --steps 400
"""
import argparse
import time

import numpy as np

from pipeline.process import boundary


def images_per_second(
    steps: int, batch_size: int, dropout: bool, warmup: int = 30, precision: str = "auto"
) -> float:
    import tensorflow as tf

    from trainer_module import precision as precision_lib
    from trainer_module.model import build_model
    from trainer_module.train_loop import Steps

    rng = np.random.default_rng(0)
    images = tf.constant(rng.random((batch_size, 28, 28, 1), dtype=np.float32))
    labels = tf.constant(rng.integers(0, 10, batch_size), dtype=tf.int64)
    policy = precision_lib.choose(precision).policy
    step = Steps(build_model(policy), learning_rate=0.001, dropout=dropout)
    for _ in range(warmup):
        step.train_step(images, labels)
    float(step.train_loss.result())  # waits for the warm-up to finish
    started = time.perf_counter()
    for _ in range(steps):
        step.train_step(images, labels)
    float(step.train_loss.result())
    return steps * batch_size / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-dropout", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--precision", default="auto", help="auto, float32 or mixed_bfloat16")
    args = parser.parse_args()
    rate = images_per_second(
        args.steps, args.batch_size, args.train_dropout, precision=args.precision
    )
    print(f"BENCH ceiling_images_per_second={rate:.1f}")
    return 0


if __name__ == "__main__":
    boundary.run_entry(main)
