"""Data that is well-formed but wrong in meaning stops the run before the Trainer.

Each case is a few hundred digits made here, run through `pipeline run` (in
this process: the CLI's own entry point, without a new interpreter to start),
which stops at the ValidationGate: nothing trained, nothing pushed. Only
ingestion, statistics and the validators run, so each case is cheap.
"""
import json
import os
from pathlib import Path

import numpy as np
import pytest

from components import data_checks
from foundation import names
from pipeline import cli
from pipeline import config as config_lib
from pipeline.inspection import metadata, runs
from tests.fixtures.data import write_mnist_dir

pytestmark = pytest.mark.e2e

TRAIN, EVAL = 400, 200


def _clean(mnist_source):
    train, test = mnist_source.load("train"), mnist_source.load("eval")
    return ([train.images[:TRAIN].copy(), train.labels[:TRAIN].copy()],
            [test.images[:EVAL].copy(), test.labels[:EVAL].copy()])


def _stopped_at_the_gate(capfd, data_dir: Path, output_dir: Path, problem: str) -> str:
    """Runs the pipeline; asserts it stopped at the gate, with one `error:`
    line and a line naming `problem`; returns that line."""
    status = cli.main(["run", "--mnist-dir", str(data_dir), "--output-dir", str(output_dir), "--epochs", "1"])
    stderr = capfd.readouterr().err
    assert status == 1, stderr
    assert "Traceback" not in stderr
    assert [line for line in stderr.splitlines() if line.startswith("error:")] == [
        "error: The examples failed the data checks; training was not started:"
    ], stderr
    [line] = [line.strip() for line in stderr.splitlines() if problem in line]
    cfg = config_lib.PipelineConfig(output_dir=str(output_dir))
    store = metadata.open_store(cfg.metadata_path)
    nodes = metadata.executions(store, metadata.runs(store, cfg.pipeline_name)[-1])
    assert nodes[names.VALIDATION_GATE].state == "failed"
    shown = "\n".join(runs.show_run(cfg, "latest"))  # `runs show` names the check
    assert "      error: DataValidationError: The examples failed the data checks" in shown and line in shown
    assert not metadata.node_history(store, cfg.pipeline_name, names.TRAINER)  # never trained, in any run
    serving = Path(cfg.serving_dir)
    assert not serving.exists() or not [p for p in serving.iterdir() if p.name.isdigit()]
    return line


def test_eval_split_partly_copied_from_train(mnist_source, tmp_path, capfd):
    train, test = _clean(mnist_source)
    test[0][:20], test[1][:20] = train[0][:20], train[1][:20]  # 10% of eval
    data = write_mnist_dir(tmp_path / "data", train, test)
    line = _stopped_at_the_gate(capfd, data, tmp_path / "out", "eval copies of train")
    assert line == ("eval: eval copies of train: 20 of 200 eval images (10.00%) are exact copies "
                    "of train images, above the bound 1.00%")


def test_a_class_missing_from_training(mnist_source, tmp_path, capfd):
    train, test = _clean(mnist_source)
    keep = train[1] != 3
    data = write_mnist_dir(tmp_path / "data", (train[0][keep], train[1][keep]), test)
    line = _stopped_at_the_gate(capfd, data, tmp_path / "out", "train: class balance")
    assert line.startswith(f"train: class balance: digit 3 has 0 of {keep.sum()} (0.00%)")
    assert line.endswith("below the bound 4.00%")


def test_inverted_eval_digits(mnist_source, tmp_path, capfd):
    train, test = _clean(mnist_source)
    data = write_mnist_dir(tmp_path / "data", train, (255 - test[0], test[1]))
    line = _stopped_at_the_gate(capfd, data, tmp_path / "out", "feature 'image'")
    assert line.startswith("eval vs train, feature 'image': train/eval distribution: "
                           "Jensen-Shannon divergence 0.")
    assert line.endswith("above the bound 0.0200")
    assert float(line.split("divergence ")[1].split(",")[0]) > 0.3


def test_duplicated_training_images_with_conflicting_labels(mnist_source, tmp_path, capfd):
    train, test = _clean(mnist_source)
    train[0][20:30] = train[0][:10]
    train[1][20:30] = (train[1][:10] + 1) % 10
    data = write_mnist_dir(tmp_path / "data", train, test)
    line = _stopped_at_the_gate(capfd, data, tmp_path / "out", "label conflicts")
    assert line == (f"train: label conflicts: 10 distinct images (2.50% of {TRAIN}) appear with "
                    "different labels, above the bound 0.10%")


def _drifted(split, count: int):
    """About `count` digits of `split`: 40% ones, 6.7% each other digit
    (MNIST has about 11% ones), so every digit stays above the class bound."""
    per_digit = {digit: int(count * (0.4 if digit == 1 else 0.6 / 9)) for digit in range(10)}
    pick = np.sort(np.concatenate(
        [np.flatnonzero(split.labels == digit)[:n] for digit, n in per_digit.items()]
    ))
    return split.images[pick], split.labels[pick]


def test_training_labels_drifted_from_the_blessed_models(blessed_then_not_blessed, mnist_source, tmp_path, capfd):
    outputs = blessed_then_not_blessed.copy_to(tmp_path / "outputs")
    # Train and eval drift alike (so they agree with each other), away from
    # the data the blessed model was trained on.
    data = write_mnist_dir(
        tmp_path / "data",
        _drifted(mnist_source.load("train"), TRAIN),
        _drifted(mnist_source.load("eval"), EVAL),
    )
    cfg = config_lib.PipelineConfig(output_dir=str(outputs))
    pushed_before = sorted(os.listdir(cfg.serving_dir))
    status = cli.main(["run", "--mnist-dir", str(data), "--output-dir", str(outputs)])
    stderr = capfd.readouterr().err
    assert status == 1, stderr
    assert [line for line in stderr.splitlines() if line.startswith("error:")] == [
        "error: The examples failed the data checks; training was not started:"
    ], stderr
    [line] = [line.strip() for line in stderr.splitlines() if data_checks.DRIFT in line]
    assert line.startswith("train vs train, feature 'label': drift from the blessed model's data: "
                           "Jensen-Shannon divergence 0.")
    assert line.endswith("above the bound 0.0500")
    store = metadata.open_store(cfg.metadata_path)
    nodes = metadata.executions(store, metadata.runs(store, cfg.pipeline_name)[-1])
    assert nodes[names.VALIDATION_GATE].state == "failed" and names.TRAINER not in nodes
    assert sorted(os.listdir(cfg.serving_dir)) == pushed_before  # nothing pushed


def test_the_shared_runs_pass_every_data_check_and_same_data_is_not_compared_with_itself(blessed_then_not_blessed):
    cfg = blessed_then_not_blessed.cfg()
    store = metadata.open_store(cfg.metadata_path)
    for name, run_id in blessed_then_not_blessed.ids.items():
        run = metadata.find_run(store, cfg.pipeline_name, run_id)
        gate = metadata.executions(store, run)[names.VALIDATION_GATE]
        [artifact] = gate.outputs[names.DATA_CHECKS_KEY]
        checks = json.loads(metadata.custom_value(artifact, "checks"))
        assert checks and all(check["passed"] for check in checks), checks
        drift = [check for check in checks if check["name"].startswith("drift")]
        # The first run had no blessed model to compare with; the second's
        # is the first's, trained on these very digits: nothing to drift
        # from, so no comparison (components/baseline_statistics.py), which
        # keeps a re-run with nothing changed all cache hits.
        assert drift == [], (name, drift)
