"""The Trainer's training throughput: its run_fn, as the pipeline calls it,
on an Examples directory (MnistExampleGen's output), in this process.

    python bench/train_throughput.py --examples DIR --epochs 2 --precision float32

Run with the Python and the working directory of the project copy to time
(bench/versus.py runs it in two): it imports only `trainer_module.task` and
`pipeline.process.boundary` from there, which every version has. Prints the
images per second over all epochs and after the first (which also traces the
step and fills the input cache).
"""
import argparse
import json
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.getcwd())  # the project copy being timed, not this file's

from pipeline.process import boundary  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", required=True, help="an Examples artifact's directory")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--train-dropout", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--set", nargs="*", default=[], metavar="NAME=JSON",
                        help="more train settings, e.g. steps_per_call=1")
    parser.add_argument("--out", help="keep the model and the run's summary here (default: deleted)")
    args = parser.parse_args()
    from tfx.components.trainer.fn_args_utils import FnArgs

    from trainer_module import task

    out = args.out or tempfile.mkdtemp(prefix="train-throughput-")
    custom = {"epochs": args.epochs, "precision": args.precision, "train_dropout": args.train_dropout}
    custom.update({k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)})
    task.run_fn(FnArgs(
        train_files=[os.path.join(args.examples, "Split-train", "*")],
        eval_files=[os.path.join(args.examples, "Split-eval", "*")],
        custom_config=custom, serving_model_dir=os.path.join(out, "model"),
        model_run_dir=os.path.join(out, "run"),
    ))
    with open(os.path.join(out, "run", "training_summary.json")) as f:
        history = json.load(f)["history"]
    import tensorflow as tf

    files = tf.io.gfile.glob(os.path.join(args.examples, "Split-train", "*"))
    images = sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))
    seconds = [epoch["train_seconds"] for epoch in history]
    later = seconds[1:] or seconds
    print(f"BENCH images_per_second={images * len(seconds) / sum(seconds):.1f}")
    print(f"BENCH steady_images_per_second={images * len(later) / sum(later):.1f}")
    print("BENCH epochs=" + json.dumps([{k: v for k, v in e.items() if k != "train_seconds"} for e in history]))
    if not args.out:
        shutil.rmtree(out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    boundary.run_entry(main, quiet=True)
