"""Training steps per second: 1 worker against 2, on the same global batch.

    .venv/bin/python bench/distributed.py [--global-batch 64] [--steps 100] [--repeats 3]

Times the project's train step alone, on a synthetic batch held in memory (no
input pipeline, no start-up, no tracing: one untimed pass first), in fresh
processes started as `python -m pipeline workers` starts them (a TF_CONFIG
each, loopback ports):

  1 worker, default     strategy "none": train_loop.Steps, no tf.distribute
  1 worker, strategy    MultiWorkerMirroredStrategy, a cluster of one
  2 workers, strategy   MultiWorkerMirroredStrategy: each worker computes half
                        of every global batch, and the gradients (1.7 M
                        floats) are all-reduced over loopback at every step

On a machine with 2 CPU cores, 2 workers cannot be faster than 1: a single
process already uses both cores for its convolutions, so two processes split
the same cores and add the all-reduce. The gain this measures is real only
with one worker per machine (or per accelerator). To measure it there, run
the worker mode on each machine with its TF_CONFIG, e.g. for 2 machines:

  TF_CONFIG='{"cluster": {"worker": ["host-a:12345", "host-b:12345"]},
              "task": {"type": "worker", "index": 0}}' \\
    python bench/distributed.py --worker --strategy multi_worker   # index 1 on host-b
"""
import argparse
import io
import json
import os
import sys
import time

from pipeline.process import boundary

RESULT = "RESULT "


def _worker(strategy_name: str, global_batch: int, steps: int, repeats: int) -> None:
    """One worker: prints RESULT {"steps_per_second": [...]} (one per repeat)."""
    from trainer_module import distribution

    # Before any TensorFlow op, as in run_fn.
    strategy = distribution.create_strategy(strategy_name)
    import numpy as np
    import tensorflow as tf

    from trainer_module import train_loop
    from trainer_module.config import TrainConfig
    from trainer_module.model import build_model

    tf.keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    images = rng.random((global_batch, 28, 28, 1), dtype=np.float32)
    labels = rng.integers(0, 10, global_batch)
    dataset = tf.data.Dataset.from_tensors((images, labels)).repeat(steps)
    per_call = TrainConfig().steps_per_call  # the Trainer's default, both ways
    if strategy is None:
        runner = train_loop.Steps(build_model(), 0.001, steps_per_call=per_call)
    else:
        with strategy.scope():
            model = build_model()
        runner = distribution.ReplicatedSteps(model, 0.001, strategy, global_batch, steps_per_call=per_call)
        dataset = distribution.distribute(strategy, dataset)
    runner.train_epoch(dataset)  # warm-up: traces the step, fills caches
    rates = []
    for _ in range(repeats):
        started = time.perf_counter()
        assert runner.train_epoch(dataset) == steps
        float(runner.train_loss.result())  # the last step has finished
        rates.append(steps / (time.perf_counter() - started))
    print(RESULT + json.dumps({"steps_per_second": rates}), flush=True)


def _measure(strategy_name: str, num_workers: int, args) -> float:
    """Median steps per second of worker 0 (the workers run in lockstep)."""
    from pipeline.launch import workers

    command = [
        sys.executable, os.path.abspath(__file__), "--worker",
        "--strategy", strategy_name, "--global-batch", str(args.global_batch),
        "--steps", str(args.steps), "--repeats", str(args.repeats),
    ]
    out = io.StringIO()
    workers.run_workers(command, num_workers, out=out, err=io.StringIO(), timeout=1800)
    prefix = "[worker 0] " + RESULT
    [line] = [line for line in out.getvalue().splitlines() if line.startswith(prefix)]
    rates = sorted(json.loads(line[len(prefix):])["steps_per_second"])
    return rates[len(rates) // 2]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--global-batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker", action="store_true", help="run one worker (TF_CONFIG from the environment)")
    parser.add_argument("--strategy", default="multi_worker", choices=("none", "multi_worker"))
    args = parser.parse_args()
    if args.worker:
        _worker(args.strategy, args.global_batch, args.steps, args.repeats)
        return 0

    one = _measure("none", 1, args)
    one_strategy = _measure("multi_worker", 1, args)
    two = _measure("multi_worker", 2, args)
    print(
        f"distributed: global batch {args.global_batch}, {os.cpu_count()} CPU cores: "
        f"1 worker (default) {one:.1f} steps/s, 1 worker (strategy) {one_strategy:.1f} steps/s, "
        f"2 workers {two:.1f} steps/s = x{two / one:.2f} of 1 worker "
        f"(median of {args.repeats} x {args.steps} steps)"
    )


if __name__ == "__main__":
    boundary.run_entry(main, quiet=True)
