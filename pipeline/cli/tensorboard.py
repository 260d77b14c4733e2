"""`tensorboard`: the real TensorBoard over the runs' Trainer summaries."""
import argparse
import signal
import time

from foundation import compat, fs
from foundation.errors import UserError
from pipeline.cli import options
from pipeline.process import object_store


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
    board.add_argument(
        "--logdir-spec", default=None, metavar="NAME:URI,...",
        help="serve these logdirs instead of the local runs', e.g. a Kubeflow run's "
        "model_run on gs:// or s3:// (docs/inspecting-runs.md#tensorboard)",
    )
    options.add_location_options(board)
    options.add_config_options(board, kubeflow=False, only=["s3_endpoint", "s3_region"])
    board.set_defaults(func=cmd_tensorboard)


def cmd_tensorboard(args: argparse.Namespace) -> int:
    from pipeline.inspection import tensorboard

    cfg = options.config_from(args)
    if args.logdir_spec:
        if args.runs:
            raise UserError("give runs or --logdir-spec, not both")
        spec = args.logdir_spec
    else:
        runs = tensorboard.model_runs(cfg, args.runs)
        spec = tensorboard.logdir_spec(runs)
        if not args.print_logdir:
            for run_id, uri in runs:
                print(f"  {tensorboard.run_name(run_id)}: {uri}")
    if args.print_logdir:
        print(spec)
        return 0

    compat.pkg_resources_for_tensorboard()
    if object_store.SCHEME in spec:
        # TensorFlow reads s3:// through tensorflow-io, configured by the
        # environment (--s3-endpoint, --s3-region; credentials: AWS_*).
        object_store.configure_process(cfg, keep_environment=True)
        fs.register_filesystems()
    from tensorboard import program  # loads TensorFlow (gs:// is built in)

    board = program.TensorBoard()
    board.configure(logdir_spec=spec, host=args.host, port=args.port)
    url = board.launch()  # serves from a daemon thread
    print(f"TensorBoard at {url} (Ctrl-C to stop)", flush=True)
    # Ctrl-C, or a TERM from a process manager, ends the wait; the server
    # thread is a daemon and goes with the process. (A shell's background job
    # starts with SIGINT ignored: set its handler explicitly.)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("TensorBoard stopped", flush=True)
    return 0
