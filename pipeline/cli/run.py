"""`run`: the pipeline here, with one line per component on the terminal.

`run_in_terminal` is also what pipeline/local_runner.py shows under
`tfx run create --engine=local`, so both ways of running look the same.

Its exit status says what happened, for scripts (`make run && deploy`):
EXIT_SERVING, EXIT_FAILED, EXIT_USAGE or EXIT_NOT_PUSHED (EXIT_STATUSES).
"""
import argparse
import dataclasses
import os
import time

from foundation import dir_lock, fs, names, text
from foundation.errors import ConfigError, UserError
from pipeline import config as config_lib
from pipeline.cli import options
from pipeline.process import console

EXIT_SERVING, EXIT_NOT_PUSHED = 0, 3
# Every command's: an error (a UserError, or any other exception at the
# process boundary) and a bad setting or flag (a ConfigError, or argparse's
# own usage error, which is 2 too).
EXIT_FAILED, EXIT_USAGE = UserError.exit_status, ConfigError.exit_status
EXIT_STATUSES = (
    (EXIT_SERVING, "the run finished and its model is serving: pushed, or the same as the newest version"),
    (EXIT_FAILED, "the run failed: a component, bad data, a data check, or another error"),
    (EXIT_USAGE, "bad usage: a flag or a setting's value (nothing ran)"),
    (EXIT_NOT_PUSHED, "the run finished, but its model was not blessed (Evaluator) or was refused "
                      "(ServingCheck): nothing pushed"),
)


def add_parser(commands) -> None:
    run = commands.add_parser(
        "run", help="run the pipeline locally",
        description="Runs the pipeline here (TFX's LocalDagRunner), one line per component.",
        epilog="exit status:\n" + "\n".join(f"  {status}  {meaning}" for status, meaning in EXIT_STATUSES),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    options.add_config_options(run, kubeflow=False)
    run.add_argument(
        "--resume", action="store_true",
        help="re-run only the latest run's failed components and those downstream of them",
    )
    run.set_defaults(func=cmd_run)


def cmd_run(args: argparse.Namespace) -> int:
    return run_in_terminal(options.config_from(args), resume=args.resume, verbose=args.verbose)


def run_in_terminal(
    cfg: config_lib.PipelineConfig, resume: bool = False, verbose: bool = False
) -> int:
    """Runs the pipeline: its noise to a log file unless `verbose`, then a summary."""

    cfg.check_local_output_dir()
    # Refused at once, before anything loads, when another run holds it.
    with dir_lock.hold(cfg.output_dir):
        return _run(cfg, resume, verbose)


def _run(cfg: config_lib.PipelineConfig, resume: bool, verbose: bool) -> int:
    if os.path.lexists(cfg.metadata_path):
        # A damaged store is refused now, in one line, not deep in TFX.
        from pipeline.inspection import store_check

        store_check.check(cfg.metadata_path)
    print(f"Running {cfg.pipeline_name}: output in {cfg.output_dir}", flush=True)
    print(f"  data: {cfg.mnist_dir or 'download (verified by SHA-256)'}; "
          f"train: {dataclasses.asdict(cfg.train)}", flush=True)
    started = time.monotonic()
    if cfg.mnist_dir and not fs.is_remote(cfg.mnist_dir):
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

    from_nodes, base_run_id = None, None
    if resume:
        from pipeline.inspection import metadata

        from_nodes, base_run_id = metadata.resume_point(cfg.metadata_path, cfg.pipeline_name)
        print(f"  resuming run {base_run_id} from {', '.join(from_nodes)}", flush=True)

    def run():
        from pipeline.launch import local  # loads TensorFlow: its noise goes to the log

        local.run(cfg, from_nodes=from_nodes, base_run_id=base_run_id)

    console.quietly(verbose, console.log_path(cfg.output_dir, "run"), run)
    return print_summary(cfg, time.monotonic() - started)


def print_summary(cfg: config_lib.PipelineConfig, seconds: float) -> int:
    """Prints what the run decided; its exit status (EXIT_STATUSES)."""
    from pipeline.inspection import metadata, run_summary

    store = metadata.open_store(cfg.metadata_path)
    run = metadata.runs(store, cfg.pipeline_name)[-1]
    summary = run_summary.summarize(store, run)
    print(f"\nRun {summary.run_id} finished in {seconds:.0f} s")
    print("\n".join(text.table(summary.states.items(), indent=2)))
    if summary.accuracy is not None:
        print(f"Test accuracy (TFMA, {cfg.pipeline_name}): {text.pct(summary.accuracy)}")
        digits = "  ".join(f"{d}:{text.pct(a, 1)}" for d, a in summary.accuracy_per_digit.items())
        print(f"  per digit: {digits}")
    verdict = {True: "BLESSED", False: "NOT blessed", None: "not evaluated"}[summary.blessed]
    print(f"Model: {verdict} (accuracy >= {cfg.accuracy_lower_bound}, "
          f"every digit >= {cfg.digit_accuracy_lower_bound})")
    if summary.blessed is False and summary.verdict:
        print("\n".join("  " + line for line in summary.verdict.splitlines()))
    if summary.serving_blessed is not None:
        print(text.sentence(summary.serving_text))
    print(f"Pushed to: {summary.pushed_to or 'nothing pushed'}")
    reporter = metadata.executions(store, run).get(names.EVALUATION_REPORTER)
    if reporter and reporter.outputs.get(names.REPORT_KEY):
        print(f"Report: {os.path.join(reporter.outputs[names.REPORT_KEY][0].uri, names.REPORT_HTML_FILE)}"
              f" (terminal: python -m pipeline report {summary.run_id})")
    return EXIT_SERVING if summary.pushed_to else EXIT_NOT_PUSHED
