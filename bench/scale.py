"""How the pipeline's cost grows with the data: `make bench-scale`.

For each size (1x, 3x, 10x MNIST by default, built by bench/scaled_mnist.py)
it runs the whole pipeline fresh at 1 epoch and records each component's
wall time from ML Metadata, the peak RSS of the pipeline process and of any
child processes (Beam workers), sampled with psutil, the RSS each component
ends with and peaks at (the samples inside its ML Metadata time window), and
each artifact's size on disk. It prints a table and the log-log slope per
component between consecutive sizes, and writes an SVG plot.

    make bench-scale                                       # 1x, 3x, 10x
    .venv/bin/python bench/scale.py --sizes 1 3 --work-dir /tmp/scale
    .venv/bin/python bench/scale.py --sizes 1 --work-dir /tmp/scale -- --beam-profile multi-process

Each size's figures go to <work-dir>/<size>x.json; a later call with other
sizes reuses them for the table and the plot. Never run by the tests.
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time
from typing import Dict, List, Optional

import scaled_mnist
from sampling import RssSampler
from scale_plot import write_svg

from pipeline import config as config_lib
from pipeline.inspection import metadata

PROJECT_ROOT = config_lib.PROJECT_ROOT
GIB = 2**30


def disk_bytes(uri: str) -> int:
    if os.path.isfile(uri):
        return os.path.getsize(uri)
    return sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(uri) for name in names
    )


def run_size(args, factor: int, env: Dict[str, str]) -> Dict[str, object]:
    data_dir = scaled_mnist.build(args.mnist_dir, factor, os.path.join(args.work_dir, f"data-{factor}x"))
    output_dir = os.path.join(args.work_dir, f"outputs-{factor}x")
    if os.path.exists(os.path.join(output_dir, "metadata.sqlite")):
        sys.exit(f"{output_dir} holds an earlier run: remove it for a fresh one")
    command = [
        sys.executable, "-m", "pipeline", "run", "--mnist-dir", data_dir,
        "--output-dir", output_dir, "--epochs", "1", *args.pipeline_args,
    ]
    log_path = os.path.join(args.work_dir, f"{factor}x.log")
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        sampler = RssSampler(process.pid)
        sampler.start()
        code = process.wait()
        sampler.stop()
    wall = time.monotonic() - started
    if code != 0:
        sys.exit(f"{' '.join(command)} failed (exit {code}); see {log_path}")
    raw = {
        "factor": factor, "wall": wall, "command": command, "output_dir": output_dir,
        "peak_main": sampler.peak_main, "peak_children": sampler.peak_children,
        "children": {str(pid): [rss / GIB, cmd] for pid, (rss, cmd) in sampler.peak_per_child.items()},
        "samples": sampler.samples,
    }
    with open(os.path.join(args.work_dir, f"{factor}x.raw.json"), "w") as f:
        json.dump(raw, f)
    return analyse(raw)


def analyse(raw: Dict[str, object]) -> Dict[str, object]:
    """The figures of one size, from its run's ML Metadata and RSS samples."""
    factor, samples = raw["factor"], raw["samples"]
    cfg = config_lib.PipelineConfig(output_dir=raw["output_dir"])
    store = metadata.open_store(cfg.metadata_path)
    run = metadata.runs(store, cfg.pipeline_name)[-1]
    components = {}
    for node, n in metadata.executions(store, run).items():
        begin, end = n.execution.create_time_since_epoch, n.execution.last_update_time_since_epoch
        inside = [s for s in samples if begin <= s[0] <= end]
        before = [s for s in samples if s[0] < begin]
        components[node] = {
            "seconds": metadata.wall_seconds(n.execution),
            "state": n.state,
            "rss_before_gib": (before[-1][1] / GIB) if before else None,
            "rss_peak_gib": max((s[1] for s in inside), default=0) / GIB,
            "rss_end_gib": (inside[-1][1] / GIB) if inside else None,
            "children_peak_gib": max((s[2] for s in inside), default=0) / GIB,
            "artifacts_mib": {
                key: sum(disk_bytes(a.uri) for a in artifacts) / 2**20
                for key, artifacts in n.outputs.items()
            },
        }
    return {
        "factor": factor, "examples": 70_000 * factor, "wall": raw["wall"], "command": raw["command"],
        "peak_rss_main_gib": raw["peak_main"] / GIB,
        "peak_rss_children_gib": raw["peak_children"] / GIB,
        # What the machine must hold: both at one instant (the children's
        # peak, the ServingCheck's probe, comes when the main process is high).
        "peak_rss_together_gib": max((s[1] + s[2] for s in samples), default=0) / GIB,
        "children": raw["children"],
        "components": components,
    }


def slope(a: float, b: float, fa: int, fb: int) -> Optional[float]:
    if a <= 0 or b <= 0:
        return None
    return math.log(b / a) / math.log(fb / fa)


def print_table(results: List[Dict[str, object]]) -> None:
    results = sorted(results, key=lambda r: r["factor"])
    nodes = sorted({n for r in results for n in r["components"]},
                   key=lambda n: -results[-1]["components"].get(n, {}).get("seconds", 0))
    sizes = [f"{r['factor']}x" for r in results]
    print(f"\n{'wall s':34s}" + "".join(f"{s:>9s}" for s in sizes) + "   log-log slope")
    for node in nodes:
        secs = [r["components"].get(node, {}).get("seconds", float("nan")) for r in results]
        slopes = [slope(secs[i], secs[i + 1], results[i]["factor"], results[i + 1]["factor"])
                  for i in range(len(results) - 1)]
        text = ", ".join(f"{sizes[i]}->{sizes[i + 1]} " + ("-" if s is None else f"{s:.2f}")
                         for i, s in enumerate(slopes))
        print(f"  {node:32s}" + "".join(f"{v:9.1f}" for v in secs) + f"   {text}")
    print(f"  {'whole run (process wall)':32s}" + "".join(f"{r['wall']:9.1f}" for r in results))
    print(f"\n{'peak RSS GiB':34s}" + "".join(f"{s:>9s}" for s in sizes))
    print(f"  {'pipeline process':32s}" + "".join(f"{r['peak_rss_main_gib']:9.2f}" for r in results))
    print(f"  {'child processes, summed':32s}" + "".join(f"{r['peak_rss_children_gib']:9.2f}" for r in results))
    print(f"  {'both at one instant':32s}" + "".join(f"{r['peak_rss_together_gib']:9.2f}" for r in results))
    print(f"\n{'pipeline process RSS GiB, end of':34s}" + "".join(f"{s:>9s}" for s in sizes))
    for node in nodes:
        ends = [r["components"].get(node, {}).get("rss_end_gib") for r in results]
        print(f"  {node:32s}" + "".join("        -" if v is None else f"{v:9.2f}" for v in ends))
    print(f"\n{'artifacts on disk MiB':34s}" + "".join(f"{s:>9s}" for s in sizes))
    for node in nodes:
        for key in sorted(results[-1]["components"].get(node, {}).get("artifacts_mib", {})):
            vals = [r["components"].get(node, {}).get("artifacts_mib", {}).get(key, float("nan")) for r in results]
            print(f"  {node + '.' + key:32s}" + "".join(f"{v:9.1f}" for v in vals))


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 3, 10])
    parser.add_argument("--mnist-dir", default=os.environ.get("MNIST_DIR")
                        or os.path.join(PROJECT_ROOT, "..", "shared", "data", "mnist"))
    parser.add_argument("--work-dir", default=os.path.join(PROJECT_ROOT, "outputs", "bench-scale"))
    parser.add_argument("--plot", default=None, help="the SVG to write (default: <work-dir>/scale.svg)")
    parser.add_argument("--analyse-only", action="store_true",
                        help="re-read the sizes' <size>x.raw.json and ML Metadata; run nothing")
    parser.add_argument("pipeline_args", nargs="*", help="after --: more `pipeline run` flags")
    args = parser.parse_args(argv)
    args.mnist_dir = os.path.abspath(args.mnist_dir)
    os.makedirs(args.work_dir, exist_ok=True)
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    print(f"bench-scale: sizes {args.sizes}, 1 epoch, {os.cpu_count()} CPUs, "
          f"flags {' '.join(args.pipeline_args) or '(none)'}; work dir {args.work_dir}", flush=True)
    for factor in args.sizes:
        print(f"{factor}x: {70_000 * factor:,} digits ...", flush=True)
        if args.analyse_only:
            with open(os.path.join(args.work_dir, f"{factor}x.raw.json")) as f:
                result = analyse(json.load(f))
        else:
            result = run_size(args, factor, env)
        with open(os.path.join(args.work_dir, f"{factor}x.json"), "w") as f:
            json.dump(result, f, indent=1)
        print(f"{factor}x: {result['wall']:.1f} s, peak RSS {result['peak_rss_main_gib']:.2f} GiB", flush=True)
    results = []
    for name in sorted(os.listdir(args.work_dir)):
        if name.endswith("x.json") and not name.endswith(".raw.json"):
            with open(os.path.join(args.work_dir, name)) as f:
                results.append(json.load(f))
    print_table(results)
    plot = args.plot or os.path.join(args.work_dir, "scale.svg")
    write_svg(sorted(results, key=lambda r: r["factor"]), plot)
    print(f"\nplot: {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
