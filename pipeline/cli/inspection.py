"""`runs`, `report`, `lineage` and `predict`: what the local runs recorded, and the pushed model."""
import argparse
import sys

from pipeline.cli import options


def add_parsers(commands) -> None:
    runs = commands.add_parser("runs", help="list, show and compare local runs (from ML Metadata)")
    runs_commands = runs.add_subparsers(dest="runs_command", required=True)
    runs_list = runs_commands.add_parser("list", help="one line per run")
    runs_show = runs_commands.add_parser("show", help="each component: state, time, why it ran, outputs")
    runs_show.add_argument("run", help="a run id, a unique prefix of one, or 'latest'")
    runs_compare = runs_commands.add_parser("compare", help="two runs side by side, with deltas")
    runs_compare.add_argument("run_a")
    runs_compare.add_argument("run_b")
    for sub in (runs_list, runs_show, runs_compare):
        options.add_location_options(sub)
    runs.set_defaults(func=cmd_runs)

    lineage = commands.add_parser("lineage", help="where a pushed model came from")
    lineage.add_argument("model", help="a pushed version (e.g. 1795855454) or its directory")
    options.add_location_options(lineage)
    lineage.set_defaults(func=cmd_lineage)

    predict = commands.add_parser(
        "predict", help="classify images with the latest pushed model",
        description="Prints each image's digit and its probability, or 'no digit' (a blank "
        "image) or 'uncertain' with the likeliest digit (docs/inspecting-runs.md#predict). "
        "Exit status: 0, every file read; 1, a file could not be (its error names it; the "
        "others are still answered), or no model is pushed.",
    )
    predict.add_argument("images", nargs="+", help="PNG/JPEG files, or .npy batches")
    options.add_location_options(predict)
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
    options.add_location_options(report)
    # No run to report on is "not evaluated" too: a script gating on 0 still stops.
    report.set_defaults(func=cmd_report, error_status=2)


def cmd_runs(args: argparse.Namespace) -> int:
    from pipeline.inspection import runs

    cfg = options.config_from(args)
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

    print("\n".join(lineage.lineage(options.config_from(args), args.model)))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    """Each file's answer; an `error:` line for each that could not be read,
    and then status 1."""
    from pipeline.inspection import predict

    lines, errors = predict.predict(options.config_from(args), args.images)
    if lines:
        print("\n".join(lines), flush=True)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


def cmd_report(args: argparse.Namespace) -> int:
    from pipeline.inspection import report

    lines, status = report.report(options.config_from(args), args.run)
    print("\n".join(lines))
    return status
