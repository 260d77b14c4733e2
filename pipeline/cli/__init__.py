"""The project's command line: `python -m pipeline run` (or `mnist-tfx run`).

  run      runs the pipeline here (LocalDagRunner); --resume after a failure
  runs     lists, shows and compares local runs, from ML Metadata
  lineage  tells where a pushed model came from
  predict  classifies images with the latest pushed model
  report   a run's verdict and metrics, and its HTML report; exit 0 blessed, 1 not, 2 not evaluated
  compile  writes the Kubeflow Pipelines spec (and, optionally, the Vertex job)
  deploy   compiles, uploads to Kubeflow Pipelines, and optionally starts a run
  workers  trains on N local worker processes (MultiWorkerMirroredStrategy)

Every option overrides one field of the pipeline configuration; unset options
leave the environment's value or the default.
"""
import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time
import traceback
from typing import List, Optional

from pipeline import config as config_lib
from pipeline.errors import UserError
from pipeline.process import console


def _add_config_options(
    parser: argparse.ArgumentParser, kubeflow: bool, only: Optional[List[str]] = None
) -> None:
    for name, field in config_lib.fields(kubeflow).items():
        if only is not None and name not in only:
            continue
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
    from components.evaluation_report import HTML_FILE
    from pipeline.inspection import metadata

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
    reporter = metadata.executions(store, run).get("EvaluationReporter")
    if reporter and reporter.outputs.get("report"):
        print(f"Report: {os.path.join(reporter.outputs['report'][0].uri, HTML_FILE)}"
              f" (terminal: python -m pipeline report {summary.run_id})")


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


def _resume_point(cfg: config_lib.PipelineConfig):
    """(failed nodes, run id) of the latest run, for a partial re-run."""
    from pipeline.inspection import metadata

    metadata.close_interrupted(cfg.metadata_path, cfg.pipeline_name)  # a killed run failed too
    store = metadata.open_store(cfg.metadata_path)
    latest = metadata.find_run(store, cfg.pipeline_name, "latest")
    nodes = metadata.executions(store, latest)
    failed = [node_id for node_id, node in nodes.items() if node.state == "failed"]
    if not failed:
        raise UserError(f"Nothing to resume: the latest run, {latest.name}, did not fail")
    print(f"  resuming run {latest.name} from {', '.join(failed)}", flush=True)
    return failed, latest.name


def cmd_runs(args: argparse.Namespace) -> int:
    from pipeline.inspection import runs

    cfg = _config(args)
    if args.runs_command == "list":
        lines = runs.list_runs(cfg)
    elif args.runs_command == "show":
        lines = runs.show_run(cfg, args.run)
    else:
        lines = runs.compare_runs(cfg, args.run_a, args.run_b)
    print("\n".join(lines))
    return 0


def cmd_lineage(args: argparse.Namespace) -> int:
    from pipeline.inspection import lineage

    print("\n".join(lineage.lineage(_config(args), args.model)))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from pipeline.inspection import predict

    print("\n".join(predict.predict(_config(args), args.images)))
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.inspection import report

    lines, status = report.report(_config(args), args.run)
    print("\n".join(lines))
    return status


def _add_location_options(parser: argparse.ArgumentParser) -> None:
    """Where to read a local run's records from (the run command's defaults)."""
    for name in ("output_dir", "pipeline_name"):
        parser.add_argument(
            "--" + name.replace("_", "-"), dest=name, default=None,
            help=f"(env {config_lib.env_name(name)})",
        )


def cmd_run(args: argparse.Namespace) -> int:
    from components import dir_lock

    cfg = _config(args)
    cfg.check_local_output_dir()
    # Refused at once, before anything loads, when another run holds it.
    with dir_lock.hold(cfg.output_dir):
        return _run(args, cfg)


def _run(args: argparse.Namespace, cfg: config_lib.PipelineConfig) -> int:
    print(f"Running {cfg.pipeline_name}: output in {cfg.output_dir}", flush=True)
    print(f"  data: {cfg.mnist_dir or 'download (verified by SHA-256)'}; "
          f"train: {dataclasses.asdict(cfg.train)}", flush=True)
    started = time.monotonic()
    if cfg.mnist_dir and not config_lib.is_remote(cfg.mnist_dir):
        # Read and checked now, in about a second, so bad files stop the run
        # before TensorFlow loads; ingestion checks them again.
        from components.mnist_example_gen import source

        source.from_directory(cfg.mnist_dir).check()
    if not cfg.mnist_dir:
        # Fetch (or verify the cached copy) now, with a progress bar, so an
        # offline machine fails in seconds rather than after the pipeline
        # is built; the ingestion executor then finds the verified cache.
        from components.mnist_example_gen import source

        print(f"  MNIST cache: {source.download().directory}", flush=True)

    from_nodes, base_run_id = _resume_point(cfg) if args.resume else (None, None)

    def run():
        from pipeline.launch import local as local_runner  # loads TensorFlow: its noise goes to the log

        local_runner.run(cfg, from_nodes=from_nodes, base_run_id=base_run_id)

    _quietly(args, _log_path(cfg.output_dir, "run"), run)
    _print_summary(cfg, time.monotonic() - started)
    return 0


def _compile(args: argparse.Namespace, cfg: config_lib.PipelineConfig) -> str:
    from pipeline.launch import kubeflow_compile as kubeflow_runner

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
    from pipeline.launch import kubeflow_deploy

    cfg = _config(args)
    package_path = _compile(args, cfg)
    print(f"Uploading to Kubeflow Pipelines at {cfg.kfp_host or 'the default endpoint'}", flush=True)
    result = kubeflow_deploy.deploy(cfg, package_path, args.version_name, args.run)
    print(f"Pipeline {cfg.pipeline_name}: id {result.pipeline_id}, version {result.version_id}")
    if result.run_url:
        print(f"Run: {result.run_url}")
    return 0


def cmd_workers(args: argparse.Namespace) -> int:
    from pipeline.launch import workers

    cfg = _config(args)
    examples = args.examples or workers.latest_examples_uri(cfg)
    train_output = args.train_output or os.path.join(
        cfg.output_dir, "workers", time.strftime("%Y%m%d-%H%M%S")
    )
    if args.print_command:
        command = workers.trainer_command(cfg, examples, train_output)
        print(json.dumps(["python"] + command[1:], indent=2))
        return 0
    print(f"Training on {args.num_workers} local workers (MultiWorkerMirroredStrategy)", flush=True)
    print(f"  examples: {examples}", flush=True)
    log = None if args.verbose else _log_path(cfg.output_dir, "workers")
    if log:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        print(f"  log: {log}", flush=True)
    with open(log, "a") if log else contextlib.nullcontext(sys.stderr) as err:
        try:
            workers.train(cfg, args.num_workers, examples, train_output, err=err)
        except WorkerFailed:
            if log:
                print(f"Full log: {log}", file=sys.stderr)
            raise
    print(f"Chief's model: {workers.serving_model_dir(train_output)}")
    print(f"Training summary: {workers.summary_path(train_output)}")
    return 0


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
    run = commands.add_parser("run", help="run the pipeline locally")
    _add_config_options(run, kubeflow=False)
    run.add_argument(
        "--resume", action="store_true",
        help="re-run only the latest run's failed components and those downstream of them",
    )
    run.set_defaults(func=cmd_run)

    runs = commands.add_parser("runs", help="list, show and compare local runs (from ML Metadata)")
    runs_commands = runs.add_subparsers(dest="runs_command", required=True)
    runs_list = runs_commands.add_parser("list", help="one line per run")
    runs_show = runs_commands.add_parser("show", help="each component: state, time, why it ran, outputs")
    runs_show.add_argument("run", help="a run id, a unique prefix of one, or 'latest'")
    runs_compare = runs_commands.add_parser("compare", help="two runs side by side, with deltas")
    runs_compare.add_argument("run_a")
    runs_compare.add_argument("run_b")
    for sub in (runs_list, runs_show, runs_compare):
        _add_location_options(sub)
    runs.set_defaults(func=cmd_runs)

    lineage = commands.add_parser("lineage", help="where a pushed model came from")
    lineage.add_argument("model", help="a pushed version (e.g. 1795855454) or its directory")
    _add_location_options(lineage)
    lineage.set_defaults(func=cmd_lineage)

    predict = commands.add_parser("predict", help="classify images with the latest pushed model")
    predict.add_argument("images", nargs="+", help="PNG/JPEG files, or .npy batches")
    _add_location_options(predict)
    predict.set_defaults(func=cmd_predict)

    report = commands.add_parser(
        "report", help="a run's verdict, thresholds and metrics, and its HTML report",
        description="Prints the run's verdict, each threshold (value, bound, PASS/FAIL), "
        "TFMA's metrics and per-digit accuracy, and writes its HTML report to "
        "<output dir>/reports/. Exit status: 0 blessed, 1 not blessed, 2 not evaluated "
        "(the run failed earlier, or no such run).",
    )
    report.add_argument(
        "run", nargs="?", default="latest", help="a run id, a unique prefix of one, or 'latest' (default)"
    )
    _add_location_options(report)
    # No run to report on is "not evaluated" too: a script gating on 0 still stops.
    report.set_defaults(func=cmd_report, error_status=2)

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

    workers = commands.add_parser(
        "workers",
        help="train on N local worker processes (MultiWorkerMirroredStrategy), to try "
        "multi-worker training on one machine",
    )
    workers.add_argument("--num-workers", type=int, default=2, help="(default 2)")
    workers.add_argument(
        "--examples", default=None,
        help="an Examples artifact's directory (Split-train/, Split-eval/); "
        "default: the newest one recorded under the output directory",
    )
    workers.add_argument(
        "--train-output", default=None,
        help="where the model and model_run go (default <output dir>/workers/<time>)",
    )
    workers.add_argument(
        "--print-command", action="store_true",
        help="print each worker's command (JSON, for a TFJob or Vertex AI job) and exit",
    )
    _add_config_options(
        workers, kubeflow=False,
        only=["output_dir"]
        # The workers run the custom loop with the multi-worker strategy.
        + [f.name for f in dataclasses.fields(config_lib.TrainConfig) if f.name not in ("strategy", "loop")],
    )
    workers.set_defaults(func=cmd_workers)
    return parser


def main(argv: Optional[List[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.verbose:
        console.quiet_before_tensorflow()
    try:
        return args.func(args)
    except UserError as e:
        if args.verbose:
            traceback.print_exc()
        print(f"error: {e}", file=sys.stderr)
        return getattr(args, "error_status", 1)


def console_main() -> None:
    """The `mnist-tfx` command and `python -m pipeline`."""
    from pipeline.process import object_store

    try:
        status = main()
    except Exception:  # reported here, so the status is 1, not tensorflow-io's abort at exit
        traceback.print_exc()
        status = 1
    sys.exit(object_store.exit_process(status))


if __name__ == "__main__":
    console_main()
