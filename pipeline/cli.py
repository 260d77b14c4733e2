"""The project's command line: `python -m pipeline run` (or `mnist-tfx run`).

Every option overrides one field of the pipeline configuration; unset options
leave the environment's value or the default.
"""
import argparse
import dataclasses
import os
import sys
import time
import traceback
from typing import List, Optional

from components.errors import USER_ERRORS
from pipeline import config as config_lib
from pipeline import console

# Errors a user can fix from the message alone (ValueError: a bad setting)
# are printed without a traceback.
_USER_ERRORS = USER_ERRORS + (ValueError,)


def _add_config_options(parser: argparse.ArgumentParser) -> None:
    for name, field in config_lib.fields().items():
        flag = "--" + name.replace("_", "-")
        env = config_lib.env_name(name)
        if field.type is bool:
            parser.add_argument(
                flag, dest=name, default=None, action=argparse.BooleanOptionalAction,
                help=f"(env {env})",
            )
        elif field.type == List[str]:
            parser.add_argument(
                flag, dest=name, default=None,
                type=lambda text, f=field: config_lib.parse_value(f, text),
                help=f"space-separated, e.g. '--direct_num_workers=2' (env {env})",
            )
        else:
            parser.add_argument(
                flag, dest=name, default=None,
                type=lambda text, f=field: config_lib.parse_value(f, text),
                help=f"(env {env})",
            )


def _print_summary(cfg: config_lib.PipelineConfig, seconds: float) -> None:
    from pipeline import metadata

    store = metadata.open_store(cfg.metadata_path)
    run = metadata.runs(store, cfg.pipeline_name)[-1]
    summary = metadata.summarize(store, run)
    print(f"\nRun {summary.run_id} finished in {seconds:.0f} s")
    for node, state in summary.states.items():
        print(f"  {node:32s} {state}")
    if summary.accuracy is not None:
        print(f"Test accuracy (TFMA, {cfg.pipeline_name}): {summary.accuracy:.2%}")
        digits = "  ".join(f"{d}:{a:.1%}" for d, a in summary.accuracy_per_digit.items())
        print(f"  per digit: {digits}")
    verdict = {True: "BLESSED", False: "NOT blessed", None: "not evaluated"}[summary.blessed]
    print(f"Model: {verdict} (accuracy >= {cfg.accuracy_lower_bound})")
    print(f"Pushed to: {summary.pushed_to or 'nothing pushed'}")


def cmd_run(args: argparse.Namespace) -> int:
    overrides = {name: getattr(args, name) for name in config_lib.fields()}
    cfg = config_lib.from_env(**overrides)
    print(f"Running {cfg.pipeline_name}: output in {cfg.output_dir}", flush=True)
    print(f"  data: {cfg.mnist_dir or 'download (verified by SHA-256)'}; "
          f"train: {dataclasses.asdict(cfg.train)}", flush=True)
    started = time.monotonic()
    if not cfg.mnist_dir:
        # Fetch (or verify the cached copy) now, with a progress bar, so an
        # offline machine fails in seconds rather than after the pipeline
        # is built; the ingestion executor then finds the verified cache.
        from components.mnist_example_gen import source

        print(f"  MNIST cache: {source.download().directory}", flush=True)
    if args.verbose:
        from pipeline import local_runner

        local_runner.run(cfg)
    else:
        log = os.path.join(cfg.output_dir, "logs", time.strftime("run-%Y%m%d-%H%M%S.log"))
        print(f"  log: {log}", flush=True)
        try:
            with console.native_output_to(log):
                from pipeline import local_runner  # loads TensorFlow: its noise goes to the log

                local_runner.run(cfg)
        except Exception:
            print(f"Full log: {log}", file=sys.stderr)
            raise
    _print_summary(cfg, time.monotonic() - started)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    parser.add_argument(
        "--verbose", action="store_true",
        help="show TensorFlow, Beam and TFX logs, and tracebacks of errors",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline locally")
    _add_config_options(run)
    run.set_defaults(func=cmd_run)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.verbose:
        console.quiet_before_tensorflow()
    try:
        return args.func(args)
    except _USER_ERRORS as e:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
