"""The pipeline against the seed tutorial's bare training script.

In one invocation, for each repeat: the bare script for E epochs; the whole
pipeline, fresh (new output directory, nothing cached), for the same E
epochs; the pipeline again with nothing changed (the cached re-run); the
training step's compute-only ceiling in float32 and in mixed_bfloat16; and,
on a CPU with bfloat16 units, the Trainer's run_fn alone in the precision
the pipeline did not choose, on the same examples, so that both precisions'
training throughput is set against their ceilings. Then the medians, with
the share of the pipeline's wall time spent outside its training loop.

    make bench                      # E=3, all 70,000 digits, 3 repeats
    .venv/bin/python bench/run.py --epochs 1 --repeats 1 --max-examples-per-split 5000
    # the pipeline alone, with extra `pipeline run` flags (a Beam set-up, say):
    .venv/bin/python bench/run.py --pipeline-only -- --beam-args '--direct_running_mode=multi_processing'

Never run by the tests: it takes minutes and wants a quiet machine.
"""
import argparse
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

from sampling import CpuSampler
from stalls import STALL_IDLE_SECONDS, bare_epochs

from foundation import names
from foundation.names import TRAINING_SUMMARY_FILE
from pipeline import config as config_lib
from pipeline.cli import run as run_command
from pipeline.inspection import metadata, run_summary
from pipeline.process import boundary

PROJECT_ROOT = config_lib.PROJECT_ROOT

# Everything but the Trainer: what the pipeline adds to training.
TRAINER = names.TRAINER
PRECISIONS = ("float32", "mixed_bfloat16")  # both ceilings, every repeat
# A model not blessed still makes a finished run whose times count: at E=3
# with dropout off, a digit can fall under its bound.
PIPELINE_FINISHED = (run_command.EXIT_SERVING, run_command.EXIT_NOT_PUSHED)


def measure(command: List[str], env: Dict[str, str], log_path: str,
            finished: Tuple[int, ...] = (0,)) -> Dict[str, object]:
    """Runs `command`; its wall time, peak RSS (the process and every child
    it waited for), CPU samples and output, which goes to `log_path` as well.
    An exit status outside `finished` stops the benchmark."""
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True,
        )
        sampler = CpuSampler(process.pid)
        sampler.start()
        output = []
        for line in process.stdout:
            log.write(line)
            output.append(line)
        sampler.stop()
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.monotonic() - started
    if os.waitstatus_to_exitcode(status) not in finished:
        sys.exit(f"{' '.join(command)} failed; see {log_path}:\n{''.join(output[-30:])}")
    return {"wall": wall, "peak_rss_gib": usage.ru_maxrss / 2**20, "output": "".join(output),
            "cpu_samples": sampler.samples}


def bench_value(output: str, name: str) -> float:
    return float(re.search(rf"BENCH {name}=([0-9.]+)", output).group(1))


def cpu_model() -> str:
    """The CPU's model name, and whether it has bfloat16 units: figures from
    different CPUs must not be compared."""
    from trainer_module import precision

    with open("/proc/cpuinfo") as f:
        names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    found = sorted(precision.cpu_flags() & set(precision.BF16_FLAGS))
    return f"{names[0] if names else 'unknown CPU'} ({', '.join(found) or 'no bfloat16 units'})"


def bare_script(args, env, log_dir) -> Dict[str, float]:
    result = measure(
        [sys.executable, "bench/bare_tutorial.py", "--mnist-dir", args.mnist_dir,
         "--epochs", str(args.epochs)],
        env, os.path.join(log_dir, "bare.log"),
    )
    # The script's extra pass for the final accuracy is not the tutorial's.
    result["wall"] -= bench_value(result["output"], "after_training_seconds")
    result["accuracy"] = bench_value(result["output"], "final_test_accuracy")
    result["epochs"] = bare_epochs(result["output"], result["cpu_samples"])
    result["stalled"] = [i + 1 for i, e in enumerate(result["epochs"]) if e["idle"] >= STALL_IDLE_SECONDS]
    return result


def pipeline_run(args, env, output_dir: str, log_path: str) -> Dict[str, float]:
    command = [
        sys.executable, "-m", "pipeline", "run", "--mnist-dir", args.mnist_dir,
        "--output-dir", output_dir, "--epochs", str(args.epochs), "--loop", args.loop,
        "--train-dropout" if args.train_dropout else "--no-train-dropout",
        "--precision", args.precision,
    ]
    if args.max_examples_per_split:
        command += ["--max-examples-per-split", str(args.max_examples_per_split)]
    result = measure(command + args.pipeline_args, env, log_path, PIPELINE_FINISHED)
    cfg = config_lib.PipelineConfig(output_dir=output_dir)
    store = metadata.open_store(cfg.metadata_path)
    run = metadata.runs(store, cfg.pipeline_name)[-1]
    nodes = metadata.executions(store, run)
    result["components"] = {
        node: (metadata.wall_seconds(n.execution), n.state) for node, n in nodes.items()
    }
    result["executed"] = sorted(n for n, (_, state) in result["components"].items() if state != "cached")
    summary = run_summary.summarize(store, run)
    result["accuracy"] = summary.accuracy
    result["blessed"] = summary.blessed
    trainer = nodes[TRAINER]
    with open(os.path.join(trainer.outputs[names.MODEL_RUN_KEY][0].uri, TRAINING_SUMMARY_FILE)) as f:
        summary = json.load(f)
    history, summary_seconds = summary["history"], summary["train_seconds"]
    counts = metadata.custom_value(trainer.inputs[names.EXAMPLES_KEY][0], "example_counts")
    train_images = (counts if isinstance(counts, dict) else json.loads(counts))["train"]
    epoch_seconds = [epoch["train_seconds"] for epoch in history]
    result["images_per_second"] = train_images * len(history) / sum(epoch_seconds)
    result["outside_training"] = 1 - summary_seconds / result["wall"]
    result["examples_uri"] = trainer.inputs[names.EXAMPLES_KEY][0].uri
    # Past the first epoch, which also traces the step and fills the cache.
    later = epoch_seconds[1:] or epoch_seconds
    result["steady_images_per_second"] = train_images * len(later) / sum(later)
    return result


def ceiling(args, env, log_dir, precision: str) -> float:
    dropout = "--train-dropout" if args.train_dropout else "--no-train-dropout"
    result = measure(
        [sys.executable, "bench/compute_ceiling.py", dropout, "--precision", precision], env,
        os.path.join(log_dir, f"ceiling-{precision}.log"),
    )
    return bench_value(result["output"], "ceiling_images_per_second")


def precisions(args) -> Tuple[str, Optional[str]]:
    """(the policy the pipeline trains in, the other one to time the Trainer
    in too): bfloat16 only where the CPU has bfloat16 units (else emulated)."""
    from trainer_module import precision

    chosen = precision.choose(args.precision).policy
    other = precision.FLOAT32 if chosen == precision.MIXED_BFLOAT16 else precision.MIXED_BFLOAT16
    has_units = precision.choose(precision.AUTO).policy == precision.MIXED_BFLOAT16
    return chosen, (other if has_units else None)


def trainer_alone(args, env, log_dir, examples_uri: str, precision: str) -> float:
    """The Trainer's run_fn on the fresh run's examples, in `precision`: its
    images per second (bench/train_throughput.py)."""
    dropout = "--train-dropout" if args.train_dropout else "--no-train-dropout"
    result = measure(
        [sys.executable, "bench/train_throughput.py", "--examples", examples_uri, "--epochs", str(args.epochs),
         "--precision", precision, dropout], env, os.path.join(log_dir, f"trainer-{precision}.log"),
    )
    return bench_value(result["output"], "images_per_second")


def one_repeat(args, env, work_dir: str) -> Dict[str, object]:
    os.makedirs(work_dir)
    output_dir = os.path.join(work_dir, "outputs")
    if args.pipeline_only:
        bare = {"wall": float("nan"), "peak_rss_gib": float("nan"), "accuracy": float("nan"),
                "epochs": [], "stalled": []}
    else:
        bare = bare_script(args, env, work_dir)
        print(f"  bare script     {bare['wall']:7.1f} s", flush=True)
        print("    its epochs (wall/CPU/idle s): "
              + ", ".join(f"{e['wall']:.1f}/{e['cpu']:.1f}/{e['idle']:.1f}" for e in bare["epochs"])
              + f"; stalled: {len(bare['stalled'])} of {len(bare['epochs'])}"
              + (f" (epoch {', '.join(map(str, bare['stalled']))})" if bare["stalled"] else ""), flush=True)
    fresh = pipeline_run(args, env, output_dir, os.path.join(work_dir, "fresh.log"))
    print(f"  pipeline, fresh {fresh['wall']:7.1f} s", flush=True)
    cached = pipeline_run(args, env, output_dir, os.path.join(work_dir, "cached.log"))
    print(f"  pipeline, again {cached['wall']:7.1f} s (executed: {', '.join(cached['executed']) or 'nothing'})", flush=True)
    chosen, other = precisions(args)
    tops = {} if args.pipeline_only else {p: ceiling(args, env, work_dir, p) for p in PRECISIONS}
    throughput = {chosen: fresh["images_per_second"]}
    if other and not args.pipeline_only:
        throughput[other] = trainer_alone(args, env, work_dir, fresh["examples_uri"], other)
    top = tops.get(chosen, float("nan"))
    non_training = sum(
        seconds for node, (seconds, _) in fresh["components"].items() if node != TRAINER
    )
    return {
        "bare_wall": bare["wall"], "pipeline_wall": fresh["wall"],
        "bare_stalled": bare["stalled"],
        "ratio": fresh["wall"] / bare["wall"],
        "cached_wall": cached["wall"], "cached_executed": cached["executed"],
        "components": fresh["components"], "non_training": non_training,
        "images_per_second": fresh["images_per_second"],
        "steady_images_per_second": fresh["steady_images_per_second"],
        "ceiling_images_per_second": top,
        "against_ceiling": {p: throughput[p] / tops[p] for p in throughput if p in tops},
        "outside_training": fresh["outside_training"],
        "throughput_ratio": fresh["images_per_second"] / top,
        "steady_throughput_ratio": fresh["steady_images_per_second"] / top,
        "bare_rss_gib": bare["peak_rss_gib"], "pipeline_rss_gib": fresh["peak_rss_gib"],
        "bare_accuracy": bare["accuracy"], "pipeline_accuracy": fresh["accuracy"],
        "blessed": fresh["blessed"],
    }


def print_repeat(r: Dict[str, object]) -> None:
    print(f"  {'component':32s} {'wall s':>7s}")
    for node, (seconds, state) in sorted(r["components"].items(), key=lambda kv: -kv[1][0]):
        print(f"  {node:32s} {seconds:7.1f}  {state}")
    print(f"  non-training components, summed: {r['non_training']:.1f} s")
    print(f"  training: {r['images_per_second']:.0f} images/s "
          f"({r['steady_images_per_second']:.0f} after epoch 1); "
          f"ceiling {r['ceiling_images_per_second']:.0f} images/s")
    print("  training / ceiling, by precision: " + ", ".join(
        f"{p} {ratio:.3f}" for p, ratio in r["against_ceiling"].items())
          + "  (the one not chosen: the Trainer's run_fn alone on the same examples)")
    print(f"  share of the run outside the training loop: {r['outside_training']:.1%}")
    print(f"  peak RSS: bare {r['bare_rss_gib']:.2f} GiB, pipeline {r['pipeline_rss_gib']:.2f} GiB")
    print(f"  test accuracy: bare {r['bare_accuracy']:.4f}, pipeline (TFMA) {r['pipeline_accuracy']:.4f}"
          f" ({'blessed' if r['blessed'] else 'NOT blessed'})", flush=True)


def median(results: List[Dict[str, object]], key: str) -> float:
    return statistics.median(float(r[key]) for r in results)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--loop", default="custom", choices=["custom", "fit"])
    parser.add_argument(
        "--train-dropout", action=argparse.BooleanOptionalAction, default=False,
        help="train with dropout on (the pipeline's default). Off by default "
        "here: the bare script's `model(images)` trains with it off, and both "
        "sides should do the same arithmetic",
    )
    parser.add_argument("--precision", default="auto", choices=["auto", "float32", "mixed_bfloat16"],
                        help="the pipeline's and the ceiling's (the bare script trains in float32)")
    parser.add_argument("--mnist-dir", default=os.environ.get("MNIST_DIR")
                        or os.path.join(PROJECT_ROOT, "..", "shared", "data", "mnist"))
    parser.add_argument("--max-examples-per-split", type=int, default=0,
                        help="0: all 70,000 digits (the benchmark's definition)")
    parser.add_argument("--work-dir", default=None, help="logs and outputs (default: a temp dir)")
    parser.add_argument("--pipeline-only", action="store_true",
                        help="skip the bare script and the ceiling")
    parser.add_argument("pipeline_args", nargs="*", help="after --: more `pipeline run` flags")
    args = parser.parse_args(argv)
    args.mnist_dir = os.path.abspath(args.mnist_dir)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="mnist-tfx-bench-")
    os.makedirs(work_dir, exist_ok=True)
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")

    print(f"E={args.epochs} epochs, batch 32, the {args.loop!r} loop, precision {args.precision}, dropout in training "
          f"{'on' if args.train_dropout else 'off (as the seed code runs)'}, data {args.mnist_dir}"
          f"{'' if not args.max_examples_per_split else f' (first {args.max_examples_per_split} per split)'}; "
          f"{'pipeline flags ' + ' '.join(args.pipeline_args) + '; ' if args.pipeline_args else ''}"
          f"{os.cpu_count()} CPUs, {cpu_model()}; logs in {work_dir}", flush=True)
    results = []
    for repeat in range(1, args.repeats + 1):
        print(f"repeat {repeat}/{args.repeats}", flush=True)
        result = one_repeat(args, env, os.path.join(work_dir, f"repeat-{repeat}"))
        print_repeat(result)
        results.append(result)

    print(f"\nmedians of {len(results)} repeat(s), E={args.epochs}:")
    rows = [
        ("bare script wall", "bare_wall", "{:.1f} s"),
        ("pipeline wall, fresh", "pipeline_wall", "{:.1f} s"),
        ("pipeline wall / bare-script wall", "ratio", "{:.3f}"),
        ("training throughput / compute-only ceiling", "throughput_ratio", "{:.3f}"),
        ("  the same, after epoch 1", "steady_throughput_ratio", "{:.3f}"),
        ("non-training components, summed", "non_training", "{:.1f} s"),
        ("cached re-run, nothing changed", "cached_wall", "{:.1f} s"),
        ("test accuracy, pipeline (TFMA)", "pipeline_accuracy", "{:.4f}"),
        ("test accuracy, bare script", "bare_accuracy", "{:.4f}"),
        ("peak RSS, pipeline process", "pipeline_rss_gib", "{:.2f} GiB"),
        ("peak RSS, bare script", "bare_rss_gib", "{:.2f} GiB"),
    ]
    for label, key, fmt in rows:
        print(f"  {label:44s} {fmt.format(median(results, key))}")
    print(f"  {'share of the run outside the training loop':44s} {median(results, 'outside_training'):.1%}")
    for p in results[0]["against_ceiling"]:
        ratio = statistics.median(r["against_ceiling"][p] for r in results)
        print(f"  {'training / ceiling, ' + p:44s} {ratio:.3f}")
    if not args.pipeline_only:
        stalled = sum(len(r["bare_stalled"]) for r in results)
        print(f"  bare script epochs stalled (process idle)   {stalled} of {len(results) * args.epochs}")
    return 0


if __name__ == "__main__":
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    # Quiet: this process reads TFMA's output, and only the results should show.
    boundary.run_entry(main, quiet=True)
