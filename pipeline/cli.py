"""The project's command line: `python -m pipeline run` (or `mnist-tfx run`).

  run      runs the pipeline here (LocalDagRunner)
  compile  writes the Kubeflow Pipelines spec (and, optionally, the Vertex job)
  deploy   compiles, uploads to Kubeflow Pipelines, and optionally starts a run

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
from pipeline.kubeflow_deploy import DeployError

# Errors a user can fix from the message alone (ValueError: a bad setting)
# are printed without a traceback.
_USER_ERRORS = USER_ERRORS + (DeployError, ValueError)


def _add_config_options(parser: argparse.ArgumentParser, kubeflow: bool) -> None:
    for name, field in config_lib.fields(kubeflow).items():
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


def _config(args: argparse.Namespace) -> config_lib.PipelineConfig:
    return config_lib.from_env(
        **{name: getattr(args, name) for name in config_lib.fields() if hasattr(args, name)}
    )


def _quietly(args: argparse.Namespace, log: str, fn):
    """Calls fn(), its TensorFlow/TFX noise sent to `log` unless --verbose."""
    if args.verbose:
        return fn()
    print(f"  log: {log}", flush=True)
    try:
        with console.native_output_to(log):
            return fn()
    except Exception:
        print(f"Full log: {log}", file=sys.stderr)
        raise


def _log_path(directory: str, kind: str) -> str:
    return os.path.join(directory, "logs", time.strftime(f"{kind}-%Y%m%d-%H%M%S.log"))


def cmd_run(args: argparse.Namespace) -> int:
    cfg = _config(args)
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

    def run():
        from pipeline import local_runner  # loads TensorFlow: its noise goes to the log

        local_runner.run(cfg)

    _quietly(args, _log_path(cfg.output_dir, "run"), run)
    _print_summary(cfg, time.monotonic() - started)
    return 0


def _compile(args: argparse.Namespace, cfg: config_lib.PipelineConfig) -> str:
    from pipeline import kubeflow_runner

    # Checked first: compiling loads TensorFlow and builds a wheel (~30 s).
    kubeflow_runner.check(cfg)
    print(f"Compiling {cfg.pipeline_name} for Kubeflow Pipelines: image {cfg.image}", flush=True)
    print(f"  pipeline root: {cfg.pipeline_root}", flush=True)
    if not config_lib.is_remote(cfg.output_dir):
        print("  note: the output directory is a local path; the cluster's pods "
              "must see it (pass --output-dir gs://BUCKET/...)", flush=True)
    written = _quietly(
        args,
        _log_path(os.path.join(config_lib.PROJECT_ROOT, "build"), "compile"),
        lambda: kubeflow_runner.compile_pipeline(cfg, args.package_path, args.vertex_job_path),
    )
    print(f"PipelineSpec: {written[0]}")
    if args.vertex_job_path:
        print(f"Vertex PipelineJob: {written[1]}")
    return written[0]


def cmd_compile(args: argparse.Namespace) -> int:
    _compile(args, _config(args))
    return 0


def cmd_deploy(args: argparse.Namespace) -> int:
    from pipeline import kubeflow_deploy

    cfg = _config(args)
    package_path = _compile(args, cfg)
    print(f"Uploading to Kubeflow Pipelines at {cfg.kfp_host or 'the default endpoint'}", flush=True)
    result = kubeflow_deploy.deploy(cfg, package_path, args.version_name, args.run)
    print(f"Pipeline {cfg.pipeline_name}: id {result.pipeline_id}, version {result.version_id}")
    if result.run_url:
        print(f"Run: {result.run_url}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pipeline", description=__doc__)
    parser.add_argument(
        "--verbose", action="store_true",
        help="show TensorFlow, Beam and TFX logs, and tracebacks of errors",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the pipeline locally")
    _add_config_options(run, kubeflow=False)
    run.set_defaults(func=cmd_run)

    compile_ = commands.add_parser("compile", help="write the Kubeflow Pipelines spec")
    deploy = commands.add_parser(
        "deploy", help="compile, upload to Kubeflow Pipelines (a new version if it exists), run"
    )
    for sub in (compile_, deploy):
        _add_config_options(sub, kubeflow=True)
        sub.add_argument(
            "--package-path", default=None,
            help="the PipelineSpec YAML to write (default build/kubeflow/<pipeline>.yaml)",
        )
        sub.add_argument(
            "--vertex-job-path", default=None,
            help="also write the Vertex AI PipelineJob JSON here",
        )
    compile_.set_defaults(func=cmd_compile)
    deploy.add_argument("--run", action="store_true", help="start a run after uploading")
    deploy.add_argument(
        "--version-name", default=None,
        help="the uploaded version's name (default <pipeline>-<timestamp>)",
    )
    deploy.set_defaults(func=cmd_deploy)
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
