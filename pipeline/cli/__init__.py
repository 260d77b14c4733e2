"""The project's command line: `python -m pipeline run` (or `mnist-tfx run`).

  run      runs the pipeline here (LocalDagRunner); --resume after a failure
  runs     lists, shows and compares local runs, from ML Metadata
  lineage  tells where a pushed model came from
  predict  classifies images with the latest pushed model
  report   a run's verdict and metrics, and its HTML report; exit 0 blessed, 1 not, 2 not evaluated
  compile  writes the Kubeflow Pipelines spec (and, optionally, the Vertex job)
  deploy   compiles, uploads to Kubeflow Pipelines, and optionally starts a run
  workers  trains on N local worker processes (MultiWorkerMirroredStrategy)
  tensorboard  TensorBoard over the runs' training summaries

Every option overrides one field of the pipeline configuration; unset options
leave the environment's value or the default.
"""
import argparse
from typing import List, Optional

from foundation.errors import UserError
from pipeline.cli import inspection, kubeflow, run, tensorboard, workers
from pipeline.process import boundary, console


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--verbose", action="store_true",
        help="show TensorFlow, Beam and TFX logs, and tracebacks of errors",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run.add_parser(commands)
    inspection.add_parsers(commands)
    kubeflow.add_parsers(commands)
    workers.add_parser(commands)
    tensorboard.add_parser(commands)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    """Runs one command; its exit status. A UserError is one line, `error: ...`,
    and its status (2 for a bad setting); anything else propagates, to be
    reported with its traceback."""
    args = build_parser().parse_args(argv)
    if not args.verbose:
        console.quiet_before_tensorflow()
    try:
        return args.func(args)
    except UserError as e:
        boundary.print_user_error(e, verbose=args.verbose)
        return getattr(args, "error_status", None) or e.exit_status


def console_main() -> None:
    """The `mnist-tfx` command and `python -m pipeline`."""
    boundary.run_entry(main)
