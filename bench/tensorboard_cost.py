"""What the Trainer's TensorBoard summaries cost: training with and without
them, alternating, in one process.

    .venv/bin/python bench/tensorboard_cost.py [--examples 12000] [--repeats 4] [--loop custom]

Each repeat trains a fresh seed-42 model for one epoch on the first
`--examples` MNIST training digits (the real input pipeline's shuffle, batch
and scale, from memory), with the 10,000 test digits for the per-epoch test
pass: once with summaries off, once on (step scalars every
`summary_every_steps`, epoch scalars, HParams, the misclassified-digit grid),
the order swapped every repeat. The time is the whole `train_loop` call
(training, test pass, summaries), so everything the summaries add is in it.
It also checks that both runs end with the same weights.

Two figures. The first is direct: the time spent inside the Summaries
object's methods (every call the loop makes into it: the step scalars, the
test batches it keeps, the epoch scalars and the digit grid, the HParams
record, the writer's creation and close) as a share of the same run's time,
so a change in the machine's speed between runs cancels out. The second is
the difference between the runs with summaries on and off, which also
catches any cost outside those calls, but only where the machine holds its
speed.

A shared VM's speed drifts by more than the cost being measured, so the
difference is per repeat: each repeat's two runs are adjacent, and with the order
swapped every repeat a steady drift adds to one repeat's cost what it takes
from the next. The mean over an even number of repeats cancels it; the median
and every repeat are printed too. Each run's CPU time (all threads) is
printed beside its wall time: it leaves out the time a busy host takes the
vCPU away (steal), which wall time does not.
"""
import argparse
import os
import statistics
import tempfile
import time

from pipeline.process import boundary


def _datasets(mnist_dir: str, examples: int, config):
    import tensorflow as tf

    from components.mnist_example_gen import source
    from trainer_module import input_pipeline

    found = source.from_directory(mnist_dir)
    train, test = found.load("train"), found.load("eval")

    def dataset(split, count, batch, shuffle):
        ds = tf.data.Dataset.from_tensor_slices((split.images[:count, ..., None], split.labels[:count].astype("int64")))
        if shuffle:
            ds = ds.shuffle(config.shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True)
        return ds.batch(batch).map(lambda x, y: (input_pipeline.scale_pixels(x), y)).prefetch(2)

    return (dataset(train, examples, config.batch_size, True),
            dataset(test, len(test.labels), config.eval_batch_size, False))


def _timed_summaries():
    """Summaries that add up the wall time spent in their own methods."""
    from trainer_module.summaries import Summaries

    class TimedSummaries(Summaries):
        seconds = 0.0

    def timed(method):
        def call(self, *args, **kwargs):
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                TimedSummaries.seconds += time.perf_counter() - started
        return call

    for name in ("__init__", "hparams", "start_epoch", "train_step", "test_batch", "end_epoch", "close"):
        setattr(TimedSummaries, name, timed(getattr(Summaries, name)))
    return TimedSummaries


def _train_once(args, summaries_on: bool):
    """(wall seconds, CPU seconds, seconds inside the summaries, weights) of
    one epoch from the seed's initial weights."""
    import numpy as np
    import tf_keras

    from trainer_module import train_loop
    from trainer_module.config import TrainConfig
    from trainer_module.model import build_model
    from trainer_module.summaries import hparam_values

    config = TrainConfig(epochs=1, loop=args.loop)
    tf_keras.utils.set_random_seed(config.seed)
    train_ds, eval_ds = _datasets(args.mnist_dir, args.examples, config)
    model = build_model()
    logdir = tempfile.mkdtemp(prefix="tb_cost_") if summaries_on else None
    Summaries = _timed_summaries()
    started, cpu_started = time.monotonic(), time.process_time()
    summaries = Summaries(logdir, config, run_name="bench") if logdir else Summaries.off(config)
    summaries.hparams(hparam_values(config))
    train_loop.LOOPS[args.loop](model, train_ds, eval_ds, config, summaries)
    summaries.close()
    seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu_started
    return seconds, cpu_seconds, Summaries.seconds, [np.asarray(w) for w in model.get_weights()]


def _costs(off, on):
    """Per-repeat cost in percent, on over off."""
    return [100 * (b - a) / a for a, b in zip(off, on)]


def _describe(costs) -> str:
    return (f"mean {statistics.mean(costs):+.2f}%, median {statistics.median(costs):+.2f}% "
            f"(repeats: {', '.join(f'{c:+.1f}%' for c in costs)})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist-dir", default=os.environ.get("MNIST_DIR", "../shared/data/mnist"))
    parser.add_argument("--examples", type=int, default=12000)
    parser.add_argument("--repeats", type=int, default=4, help="even, so the order is swapped as often each way")
    parser.add_argument("--loop", choices=("custom", "fit"), default="custom")
    args = parser.parse_args(argv)
    import numpy as np
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    _train_once(args, False)  # traces the functions and warms the caches: not timed
    runs = {False: [], True: []}  # summaries on? -> [(wall, cpu)]
    inside = []  # summaries on: the share of the run's wall time inside them, %
    same = True
    for repeat in range(args.repeats):
        order = (False, True) if repeat % 2 == 0 else (True, False)
        weights = {}
        for summaries_on in order:
            seconds, cpu_seconds, in_summaries, weights[summaries_on] = _train_once(args, summaries_on)
            runs[summaries_on].append((seconds, cpu_seconds))
            if summaries_on:
                inside.append(100 * in_summaries / seconds)
            print(f"  repeat {repeat + 1}, summaries {'on ' if summaries_on else 'off'}: "
                  f"{seconds:.2f} s = {args.examples / seconds:.0f} images/s, CPU {cpu_seconds:.2f} s"
                  + (f", inside the summaries {in_summaries:.2f} s" if summaries_on else ""), flush=True)
        same &= all(np.array_equal(a, b) for a, b in zip(weights[False], weights[True]))
    wall = _costs([w for w, _ in runs[False]], [w for w, _ in runs[True]])
    cpu = _costs([c for _, c in runs[False]], [c for _, c in runs[True]])
    off_s = statistics.median(w for w, _ in runs[False])
    print(f"tensorboard cost: loop {args.loop!r}, {args.examples} examples, 1 epoch + test pass, "
          f"{os.cpu_count()} CPU cores, {args.repeats} repeats, off {off_s:.2f} s median "
          f"({args.examples / off_s:.0f} images/s)")
    print(f"  inside the summaries' methods: {_describe(inside)} of the run's wall time")
    print(f"  on against off, wall time: {_describe(wall)}")
    print(f"  on against off, CPU time:  {_describe(cpu)}")
    print(f"  same final weights: {'yes' if same else 'NO'}")
    return 0


if __name__ == "__main__":
    boundary.run_entry(main, quiet=True)
