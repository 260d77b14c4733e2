"""This project copy against another (an earlier commit's worktree), side by
side: the same measurement in each, alternating A B A B, the ratio A/B taken
pair by pair, so a drift in the machine's speed cancels out.

    git worktree add /work/wt-base 5e9c2ee   # then, in it: make setup
    .venv/bin/python bench/versus.py train --base /work/wt-base --precision float32
    .venv/bin/python bench/versus.py train --base /work/wt-base --precision mixed_bfloat16
    .venv/bin/python bench/versus.py fixed --base /work/wt-base
    .venv/bin/python bench/versus.py same --base /work/wt-base --epochs 5

`train`: the Trainer's run_fn in each copy's own venv (bench/train_throughput.py)
on the same full-MNIST Examples, images per second after the first epoch.
`fixed`: the whole pipeline fresh in each copy (`--epochs 1`, all 70,000
digits), then again with nothing changed: the non-training components'
summed wall time (ML Metadata) and the cached re-run's wall time.
`same`: the Trainer's default run (all defaults but `--epochs`) once in each
copy on the same Examples: are its epoch lines and weights the same?
Each copy runs with its own .venv. Wants a quiet machine; never run by the tests.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Tuple

from foundation import names
from pipeline import config as config_lib
from pipeline.cli import run as run_command
from pipeline.inspection import metadata
from pipeline.process import boundary

HERE = os.path.dirname(os.path.abspath(__file__))
PROJECT_ROOT = config_lib.PROJECT_ROOT
# A run whose model is not blessed has finished, and its times count. An
# earlier commit (without these statuses) exits 0 either way.
PIPELINE_FINISHED = (run_command.EXIT_SERVING, run_command.EXIT_NOT_PUSHED)


def _run(tree: str, args: List[str], log_path: str, finished: Tuple[int, ...] = (0,)) -> float:
    """Runs `python ARGS` with `tree`'s venv and working directory; wall
    seconds. An exit status outside `finished` stops the comparison."""
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    started = time.monotonic()
    with open(log_path, "w") as log:
        code = subprocess.call([os.path.join(tree, ".venv", "bin", "python"), *args], cwd=tree, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    wall = time.monotonic() - started
    if code not in finished:
        with open(log_path) as log:
            sys.exit(f"{tree}: python {' '.join(args)} exited with {code}; see {log_path}:\n{log.read()[-3000:]}")
    return wall


def _value(log_path: str, name: str) -> float:
    with open(log_path) as log:
        return float(re.search(rf"BENCH {name}=([0-9.]+)", log.read()).group(1))


def _ingest(mnist_dir: str, work: str) -> str:
    from tfx.types import standard_artifacts

    from components.mnist_example_gen import executor

    examples = standard_artifacts.Examples()
    examples.uri = os.path.join(work, "examples")
    executor.Executor().Do({}, {names.EXAMPLES_KEY: [examples]}, {executor.MNIST_DIR_KEY: mnist_dir})
    return examples.uri


def _train(tree: str, args, work: str, log_path: str) -> Dict[str, float]:
    _run(tree, [os.path.join(HERE, "train_throughput.py"), "--examples", args.examples,
                "--epochs", str(args.epochs), "--precision", args.precision], log_path)
    return {"images/s after epoch 1": _value(log_path, "steady_images_per_second"),
            "images/s, all epochs": _value(log_path, "images_per_second")}


def _fixed(tree: str, args, work: str, log_path: str) -> Dict[str, float]:
    output_dir = tempfile.mkdtemp(prefix="versus-", dir=work)
    command = ["-m", "pipeline", "run", "--mnist-dir", args.mnist_dir, "--output-dir", output_dir, "--epochs", "1"]
    _run(tree, command, log_path, PIPELINE_FINISHED)
    cached = _run(tree, command, log_path + ".cached", PIPELINE_FINISHED)
    store = metadata.open_store(config_lib.PipelineConfig(output_dir=output_dir).metadata_path)
    fresh_run = metadata.runs(store, config_lib.PipelineConfig().pipeline_name)[0]
    nodes = metadata.executions(store, fresh_run)
    shutil.rmtree(output_dir, ignore_errors=True)
    return {"non-training components, s": sum(
        metadata.wall_seconds(n.execution) for node, n in nodes.items() if node != names.TRAINER),
        "cached re-run, s": cached}


def _same(args, work: str) -> None:
    """The Trainer's default run (but `--epochs`) in each copy: epoch lines and weights."""
    import numpy as np
    import tensorflow as tf

    found = {}
    for side, tree in (("A", PROJECT_ROOT), ("B", os.path.abspath(args.base))):
        out, log = os.path.join(work, f"same-{side}"), os.path.join(work, f"same-{side}.log")
        _run(tree, [os.path.join(HERE, "train_throughput.py"), "--examples", args.examples,
                    "--epochs", str(args.epochs), "--out", out], log)
        with open(log) as f:
            epochs = re.search(r"BENCH epochs=(.*)", f.read()).group(1)
        found[side] = (epochs, tf.train.load_checkpoint(os.path.join(out, "model", "variables", "variables")))
        print(f"  {side}: {epochs}", flush=True)
    (lines_a, a), (lines_b, b) = found["A"], found["B"]
    names = sorted(set(a.get_variable_to_shape_map()) - {"_CHECKPOINTABLE_OBJECT_GRAPH"})
    differ = [n for n in names if not np.array_equal(a.get_tensor(n), b.get_tensor(n))]
    print(f"epoch lines {'identical' if lines_a == lines_b else 'DIFFER'}; "
          f"{len(names) - len(differ)} of {len(names)} weights identical, bit for bit", flush=True)


def _alternate(measure: Callable, args, work: str) -> None:
    trees = {"A": PROJECT_ROOT, "B": os.path.abspath(args.base)}
    print(f"A = {trees['A']}, B = {trees['B']}; {args.pairs} pairs, A first; logs in {work}", flush=True)
    figures: Dict[str, List[Dict[str, float]]] = {"A": [], "B": []}
    for pair in range(1, args.pairs + 1):
        for side, tree in trees.items():
            found = measure(tree, args, work, os.path.join(work, f"{pair}-{side}.log"))
            figures[side].append(found)
            print(f"  pair {pair} {side}: " + ", ".join(f"{k} {v:.1f}" for k, v in found.items()), flush=True)
    for key in figures["A"][0]:
        ratios = [a[key] / b[key] for a, b in zip(figures["A"], figures["B"])]
        print(f"{key}: A/B median {statistics.median(ratios):.3f} (pairs: {', '.join(f'{r:.3f}' for r in ratios)}); "
              f"A median {statistics.median(f[key] for f in figures['A']):.1f}, "
              f"B median {statistics.median(f[key] for f in figures['B']):.1f}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("train", "fixed", "same"))
    parser.add_argument("--base", required=True, help="the other project copy, with its own .venv")
    parser.add_argument("--mnist-dir", default=os.environ.get("MNIST_DIR")
                        or os.path.join(PROJECT_ROOT, "..", "shared", "data", "mnist"))
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2, help="train, same: epochs per run")
    parser.add_argument("--precision", default="auto", help="train: auto, float32 or mixed_bfloat16")
    parser.add_argument("--work-dir", default=None)
    args = parser.parse_args(argv)
    args.mnist_dir = os.path.abspath(args.mnist_dir)
    work = args.work_dir or tempfile.mkdtemp(prefix="versus-")
    os.makedirs(work, exist_ok=True)
    print(f"bench/versus.py {args.what}; {os.cpu_count()} CPUs, {_cpu()}", flush=True)
    if args.what in ("train", "same"):
        args.examples = _ingest(args.mnist_dir, work)
    if args.what == "same":
        print(f"the Trainer's default settings, {args.epochs} epoch(s), in each copy", flush=True)
        _same(args, work)
    elif args.what == "train":
        print(f"precision {args.precision}, {args.epochs} epochs per run, the Trainer's defaults otherwise", flush=True)
        _alternate(_train, args, work)
    else:
        _alternate(_fixed, args, work)
    return 0


def _cpu() -> str:
    sys.path.insert(0, HERE)
    from run import cpu_model

    return cpu_model()


if __name__ == "__main__":
    boundary.run_entry(main, quiet=True)
