"""Bad MNIST files stop `python -m pipeline run` before anything is trained,
with one line naming the file and the problem (the traceback with --verbose).

The CLI checks the files before it loads TensorFlow, so each case takes about
a second. Ingestion checks them again for the paths that skip the CLI (the
tfx CLI, Kubeflow); the last test runs the ingestion executor itself. Labels
out of 0..9 are the schema's business: tests/test_validation_gate_e2e.py.
"""
import gzip
import struct

import numpy as np
import pytest

from components.mnist_example_gen import idx
from foundation.errors import MnistDataError
from tests.fixtures.data import run_cli, write_mnist_dir
from tests.synthetic_digits import make_digits

TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"


def _truncate(data):
    path = data / TRAIN_IMAGES
    path.write_bytes(path.read_bytes()[:-20])
    return path


def _not_gzip(data):
    path = data / TRAIN_LABELS
    path.write_bytes(gzip.decompress(path.read_bytes()))
    return path


def _wrong_magic(data):
    path = data / TEST_IMAGES
    content = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(struct.pack(">I", 0x0803 + 0x0100) + content[4:]))
    return path


def _not_28x28(data):
    path = data / TRAIN_IMAGES
    idx.write_idx(str(path), np.zeros((10, 28, 25), np.uint8))
    return path


def _counts_differ(data):
    path = data / TRAIN_LABELS
    idx.write_idx(str(path), np.zeros(9, np.uint8))
    return path


def _empty(data):
    path = data / TRAIN_LABELS
    path.write_bytes(b"")
    return path


def _missing(data):
    (data / TRAIN_LABELS).unlink()
    return data


def _test_split_only(data):
    for name in (TRAIN_IMAGES, TRAIN_LABELS):
        (data / name).unlink()
    return data


# fault -> (how to make it, what the error says after the file's path)
FAULTS = {
    "truncated gzip": (_truncate, "truncated or corrupt gzip data"),
    "not gzip, named .gz": (_not_gzip, "not a gzip file, although named .gz"),
    "wrong IDX magic number": (_wrong_magic, "bad IDX magic number 0x00000903, expected 0x00000803"),
    "images not 28x28": (_not_28x28, "images of 28x25 pixels; MNIST's are 28x28"),
    "image and label counts differ": (_counts_differ, None),
    "empty file": (_empty, "0 bytes, too short for an IDX header"),
    "missing file": (_missing, "missing MNIST file(s) train-labels-idx1-ubyte[.gz]"),
    "test split only": (
        _test_split_only,
        "missing MNIST file(s) train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]",
    ),
}


def _bad_dir(tmp_path, fault):
    data = write_mnist_dir(tmp_path / "data", make_digits(10, 0), make_digits(5, 1))
    make, problem = FAULTS[fault]
    at_fault = make(data)
    if problem is None:  # counts: the error names both files
        return data, f"{data / TRAIN_IMAGES} holds 10 images but {at_fault} holds 9 labels"
    return data, f"{at_fault}: {problem}"


@pytest.mark.parametrize("fault", FAULTS)
def test_bad_files_stop_the_run_naming_the_file_and_nothing_is_trained(tmp_path, fault):
    data, message = _bad_dir(tmp_path, fault)
    out = tmp_path / "out"
    result = run_cli("run", "--mnist-dir", data, "--output-dir", out, timeout=120)
    assert result.returncode == 1
    # One line is all of stderr: no traceback.
    assert result.stderr.startswith(f"error: {message}") and result.stderr.count("\n") == 1
    # Stopped before the pipeline was built: no ML Metadata, so no Trainer.
    assert not (out / "metadata.sqlite").exists() and not (out / "pipeline_root").exists()


def test_verbose_adds_the_traceback(tmp_path):
    data, message = _bad_dir(tmp_path, "truncated gzip")
    result = run_cli("--verbose", "run", "--mnist-dir", data, "--output-dir", tmp_path / "out", timeout=120)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert f"\nerror: {message}" in result.stderr


def test_a_directory_that_does_not_exist_is_named(tmp_path):
    result = run_cli("run", "--mnist-dir", tmp_path / "nowhere", "--output-dir", tmp_path / "out", timeout=120)
    assert result.returncode == 1
    assert result.stderr == f"error: {tmp_path / 'nowhere'}: no such directory\n"


def test_ingestion_rejects_bad_files_where_the_cli_does_not_check(tmp_path):
    """`tfx run create` and Kubeflow run the executor without the CLI's check."""
    from tfx.types import standard_artifacts

    from components.mnist_example_gen import executor
    from foundation import names

    data, message = _bad_dir(tmp_path, "images not 28x28")
    examples = standard_artifacts.Examples()
    examples.uri = str(tmp_path / "examples")
    with pytest.raises(MnistDataError) as error:
        executor.Executor().Do({}, {names.EXAMPLES_KEY: [examples]}, {executor.MNIST_DIR_KEY: str(data)})
    assert str(error.value) == message
    assert not (tmp_path / "examples").exists()  # nothing written
