"""The training step's compute ceiling: the pipeline's own model and
`train_step`, batch 32, on one synthetic batch held in memory, called in
groups of `--steps-per-call` as the Trainer calls it (1: the seed's one step
per call from Python).

No input pipeline beyond repeating that batch, and no Python between the
calls beyond the calls themselves, so this is as fast as this machine runs
the Trainer's step; the Trainer's throughput is judged against it.

    python bench/compute_ceiling.py --steps 400
    python bench/compute_ceiling.py --steps 400 --steps-per-call 1
"""
import argparse
import time

import numpy as np

from pipeline.process import boundary
from trainer_module.config import TrainConfig


def images_per_second(
    steps: int, batch_size: int, dropout: bool, warmup: int = 50, precision: str = "auto",
    steps_per_call: int = 1,
) -> float:
    import tensorflow as tf

    from trainer_module import precision as precision_lib
    from trainer_module.model import build_model
    from trainer_module.train_loop import Steps

    rng = np.random.default_rng(0)
    images = tf.constant(rng.random((batch_size, 28, 28, 1), dtype=np.float32))
    labels = tf.constant(rng.integers(0, 10, batch_size), dtype=tf.int64)
    policy = precision_lib.choose(precision).policy
    step = Steps(build_model(policy), learning_rate=0.001, dropout=dropout, steps_per_call=steps_per_call)
    if steps_per_call == 1:
        def run(count: int) -> None:
            for _ in range(count):
                step.train_step(images, labels)
    else:
        batches = iter(tf.data.Dataset.from_tensors((images, labels)).repeat())
        group = tf.constant(steps_per_call)

        def run(count: int) -> None:
            for _ in range(-(-count // steps_per_call)):
                step.train_group(batches, group)
    run(warmup)
    float(step.train_loss.result())  # waits for the warm-up to finish
    started = time.perf_counter()
    run(steps)
    float(step.train_loss.result())
    done = -(-steps // steps_per_call) * steps_per_call
    return done * batch_size / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--train-dropout", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--precision", default="auto", help="auto, float32 or mixed_bfloat16")
    parser.add_argument("--steps-per-call", type=int, default=TrainConfig().steps_per_call,
                        help="steps per tf.function call (default: the Trainer's)")
    args = parser.parse_args()
    rate = images_per_second(
        args.steps, args.batch_size, args.train_dropout, precision=args.precision,
        steps_per_call=args.steps_per_call,
    )
    print(f"BENCH ceiling_images_per_second={rate:.1f}")
    return 0


if __name__ == "__main__":
    boundary.run_entry(main)
