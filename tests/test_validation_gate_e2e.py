"""Bad data stops the real pipeline at the validation gate, before training.

(Files the IDX reader rejects stop it sooner: tests/test_bad_source_data.py.)
"""
import pytest

from foundation import names
from pipeline import config as config_lib
from pipeline.inspection import metadata
from tests.fixtures.data import run_cli, write_mnist_dir

pytestmark = pytest.mark.e2e


def _small(mnist_source):
    train, test = mnist_source.load("train"), mnist_source.load("eval")
    return (train.images[:200].copy(), train.labels[:200].copy()), (test.images[:100].copy(), test.labels[:100].copy())


def _run_and_check_stopped(data_dir, output_dir):
    result = run_cli("run", "--mnist-dir", data_dir, "--output-dir", output_dir, "--epochs", 1)
    assert result.returncode != 0
    cfg = config_lib.PipelineConfig(output_dir=str(output_dir))
    store = metadata.open_store(cfg.metadata_path)
    nodes = metadata.executions(store, metadata.runs(store, cfg.pipeline_name)[-1])
    assert nodes[names.VALIDATION_GATE].state == "failed"
    assert names.TRAINER not in nodes and names.PUSHER not in nodes
    return result.stderr


def test_labels_10_and_255_stop_the_run_before_the_trainer_naming_their_files(mnist_source, tmp_path):
    train, test = _small(mnist_source)
    train[1][3] = 10
    test[1][7] = 255
    data = write_mnist_dir(tmp_path / "data", train, test)
    stderr = _run_and_check_stopped(data, tmp_path / "out")
    assert "Traceback" not in stderr
    assert "error: The examples do not match schemas/schema.pbtxt; training was not started" in stderr
    [train_line] = [line for line in stderr.splitlines() if "train: feature 'label'" in line]
    [eval_line] = [line for line in stderr.splitlines() if "eval: feature 'label'" in line]
    assert train_line.endswith(f"(from {data / 'train-labels-idx1-ubyte.gz'}): Unexpectedly large value: 10.")
    assert eval_line.endswith(f"(from {data / 't10k-labels-idx1-ubyte.gz'}): Unexpectedly large value: 255.")
    assert "feature 'image'" not in stderr  # the clean feature is not blamed
