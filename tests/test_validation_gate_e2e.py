"""Bad data stops the real pipeline at the validation gate, before training."""
import numpy as np
import pytest

from pipeline import config as config_lib
from pipeline import metadata
from tests.conftest import run_cli, write_mnist_dir

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
    assert nodes["ValidationGate"].state == "failed"
    assert "Trainer" not in nodes and "Pusher" not in nodes
    return result.stderr


def test_label_out_of_range_stops_before_the_trainer(mnist_source, tmp_path):
    train, test = _small(mnist_source)
    test[1][7] = 12
    stderr = _run_and_check_stopped(write_mnist_dir(tmp_path / "data", train, test), tmp_path / "out")
    assert "do not match schemas/schema.pbtxt" in stderr
    assert "eval: feature 'label'" in stderr and "12" in stderr
    assert "train: feature" not in stderr  # the clean split is not blamed


def test_image_of_700_pixels_stops_before_the_trainer(mnist_source, tmp_path):
    (train_images, train_labels), test = _small(mnist_source)
    narrow = np.ascontiguousarray(train_images[:, :, :25])  # 28 x 25 = 700 pixels
    stderr = _run_and_check_stopped(
        write_mnist_dir(tmp_path / "data", (narrow, train_labels), test), tmp_path / "out"
    )
    assert "train: feature 'image'" in stderr
    assert "700" in stderr or "fewer values than expected" in stderr.lower()
