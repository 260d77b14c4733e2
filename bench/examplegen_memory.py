"""Peak RSS of MnistExampleGen's executor alone on scaled MNIST.

    .venv/bin/python bench/examplegen_memory.py /tmp/perf-scale/data-3x
    .venv/bin/python bench/examplegen_memory.py /tmp/perf-scale/data-3x --chunk 0   # whole splits at once

Runs the executor in this process (after importing TFX and TensorFlow, which
set the floor) and prints the process's peak RSS before and after. `--chunk
0` encodes each split in one piece, as before the chunking.
"""
import argparse
import resource
import tempfile
import time

from pipeline.process import boundary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mnist_dir")
    parser.add_argument("--chunk", type=int, default=None, help="digits per encode; 0: whole split")
    args = parser.parse_args()
    from tfx.types import standard_artifacts

    from components.mnist_example_gen import executor
    from foundation import names

    if args.chunk is not None:
        executor.ENCODE_CHUNK = args.chunk or 10**9
    floor = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    examples = standard_artifacts.Examples()
    examples.uri = tempfile.mkdtemp(prefix="examplegen-memory-")
    started = time.monotonic()
    executor.Executor().Do({}, {names.EXAMPLES_KEY: [examples]}, {executor.MNIST_DIR_KEY: args.mnist_dir})
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(f"BENCH chunk={executor.ENCODE_CHUNK} seconds={time.monotonic() - started:.1f} "
          f"rss_before_gib={floor:.2f} peak_rss_gib={peak:.2f} output={examples.uri}")
    return 0


if __name__ == "__main__":
    boundary.run_entry(main)
