"""`tensorboard`: the real TensorBoard over the runs' Trainer summaries."""
import argparse
import time

from pipeline.cli import options


def add_parser(commands) -> None:
    board = commands.add_parser(
        "tensorboard", help="TensorBoard over the runs' training summaries (model_run)",
        description="Starts TensorBoard over the Trainer's model_run directory of each "
        "run named (default: every run in the output directory), each TensorBoard run "
        "named by its run id (':' shown as '-'). Stops on Ctrl-C.",
    )
    board.add_argument("runs", nargs="*", metavar="RUN", help="a run id, a unique prefix of one, or 'latest'")
    board.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback only)")
    board.add_argument("--port", type=int, default=6006, help="port (default 6006; 0: any free port)")
    board.add_argument(
        "--print-logdir", action="store_true",
        help="print the --logdir_spec for running TensorBoard yourself, and exit",
    )
    options.add_location_options(board)
    board.set_defaults(func=cmd_tensorboard)


def cmd_tensorboard(args: argparse.Namespace) -> int:
    from pipeline.inspection import tensorboard

    cfg = options.config_from(args)
    runs = tensorboard.model_runs(cfg, args.runs)
    spec = tensorboard.logdir_spec(runs)
    if args.print_logdir:
        print(spec)
        return 0
    for run_id, uri in runs:
        print(f"  {tensorboard.run_name(run_id)}: {uri}")

    from tensorboard import program  # loads TensorFlow (for gs://, s3://)

    board = program.TensorBoard()
    board.configure(logdir_spec=spec, host=args.host, port=args.port)
    url = board.launch()  # serves from a daemon thread
    print(f"TensorBoard at {url} (Ctrl-C to stop)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("TensorBoard stopped", flush=True)
    return 0
