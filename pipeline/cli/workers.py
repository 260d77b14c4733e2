"""`workers`: training on N local worker processes (MultiWorkerMirroredStrategy)."""
import argparse
import contextlib
import dataclasses
import json
import os
import sys
import time

from pipeline import config as config_lib
from pipeline.cli import options
from pipeline.process import console


def add_parser(commands) -> None:
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
    options.add_config_options(
        workers, kubeflow=False,
        only=["output_dir"]
        # The workers run the custom loop with the multi-worker strategy.
        + [f.name for f in dataclasses.fields(config_lib.TrainConfig) if f.name not in ("strategy", "loop")],
    )
    workers.set_defaults(func=cmd_workers)


def cmd_workers(args: argparse.Namespace) -> int:
    from pipeline.launch import workers

    cfg = options.config_from(args)
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
    log = None if args.verbose else console.log_path(cfg.output_dir, "workers")
    if log:
        os.makedirs(os.path.dirname(log), exist_ok=True)
        print(f"  log: {log}", flush=True)
    with open(log, "a") if log else contextlib.nullcontext(sys.stderr) as err:
        try:
            workers.train(cfg, args.num_workers, examples, train_output, err=err)
        except workers.WorkerFailed:
            if log:
                print(f"Full log: {log}", file=sys.stderr)
            raise
    print(f"Chief's model: {workers.serving_model_dir(train_output)}")
    print(f"Training summary: {workers.summary_path(train_output)}")
    return 0
