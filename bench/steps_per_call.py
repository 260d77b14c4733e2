"""Training throughput against steps per tf.function call (TrainConfig.steps_per_call).

    .venv/bin/python bench/steps_per_call.py [--values 1,5,10,25,50,100] [--precision float32 mixed_bfloat16]

One process, one model per precision, the custom loop's own epoch code
(`Steps.train_epoch`, `Steps.test_epoch`) over the first `--examples` MNIST
training digits and the 10,000 test digits, from memory with the input
pipeline's shuffle, batch and scale. Each round times one training epoch and
one test pass for every value, in an order rotated every round, so a drift
in the machine's speed spreads over all values; each value's ratio to one
step per call is taken within a round, then the median over rounds. Every
value is traced and warmed up once before the first round. Wants a quiet
machine; never run by the tests.
"""
import argparse
import os
import statistics
import time

from tensorboard_cost import _datasets

from pipeline.process import boundary


def _epoch_seconds(steps, train_ds, eval_ds):
    """(wall s, CPU s) of a training epoch, and wall s of a test pass."""
    started, cpu_started = time.perf_counter(), time.process_time()
    steps.train_epoch(train_ds)
    float(steps.train_loss.result())
    trained, cpu = time.perf_counter(), time.process_time() - cpu_started
    steps.test_epoch(eval_ds)
    float(steps.test_loss.result())
    return (trained - started, cpu), time.perf_counter() - trained


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mnist-dir", default=os.environ.get("MNIST_DIR", "../shared/data/mnist"))
    parser.add_argument("--examples", type=int, default=12800, help="training digits per epoch (400 steps)")
    parser.add_argument("--values", default="1,5,10,25,50,100")
    parser.add_argument("--precision", nargs="+", default=["float32", "mixed_bfloat16"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    import tf_keras

    from trainer_module import keras_choice
    from trainer_module import precision as precision_lib
    from trainer_module.config import TrainConfig
    from trainer_module.model import build_model
    from trainer_module.train_loop import Steps

    keras_choice.require()  # as the Trainer's run_fn does: AutoGraph leaves Keras alone
    values = [int(v) for v in args.values.split(",")]
    config = TrainConfig()
    train_ds, eval_ds = _datasets(args.mnist_dir, args.examples, config)
    print(f"steps per call: {args.examples} training digits (batch {config.batch_size}), "
          f"10,000 test digits (batch {config.eval_batch_size}); {os.cpu_count()} CPU cores", flush=True)
    for name in args.precision:
        tf_keras.utils.set_random_seed(config.seed)
        model = build_model(precision_lib.choose(name).policy)
        runners = {n: Steps(model, 0.001, config.train_dropout, n) for n in values}
        for runner in runners.values():  # traces and warms up
            _epoch_seconds(runner, train_ds, eval_ds)
        train = {n: [] for n in values}  # [(wall s, CPU s)] a round
        test = {n: [] for n in values}
        for round_ in range(args.rounds):
            order = values[round_ % len(values):] + values[:round_ % len(values)]
            for n in order:
                train_s, test_s = _epoch_seconds(runners[n], train_ds, eval_ds)
                train[n].append(train_s)
                test[n].append(test_s)
        base = values[0]
        print(f"{name}: steps per call; training images/s by wall time (median) and its speed-up "
              f"over {base} (median of the rounds' ratios); the same by CPU time (all threads); "
              f"test pass wall s (median) and its speed-up", flush=True)
        for n in values:
            def speedup(which, series=train):
                return statistics.median(b[which] / a[which] for a, b in zip(series[n], series[base]))
            wall, cpu = (statistics.median(t[i] for t in train[n]) for i in (0, 1))
            test_speedup = statistics.median(b / a for a, b in zip(test[n], test[base]))
            print(f"  {n:4d}  wall {args.examples / wall:6.0f}/s {speedup(0):6.3f}x"
                  f"  CPU {args.examples / cpu:6.0f}/s {speedup(1):6.3f}x"
                  f"  test {statistics.median(test[n]):6.2f} s {test_speedup:6.3f}x", flush=True)
    return 0


if __name__ == "__main__":
    boundary.run_entry(main, quiet=True)
