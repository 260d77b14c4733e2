"""Errors a user can fix: one clear message, at once, and no traceback."""

from tests.conftest import closed_port_url, run_cli, write_mnist_dir
from tests.synthetic_digits import make_digits



def test_offline_without_a_local_copy_stops_at_once(tmp_path):
    result = run_cli(
        "run", "--output-dir", tmp_path / "out",
        env={"MNIST_DIR": "", "MNIST_TFX_CACHE": str(tmp_path / "cache"), "MNIST_MIRRORS": closed_port_url()},
        timeout=60,
    )
    assert result.returncode == 1
    assert "Could not get a verified train-images-idx3-ubyte.gz" in result.stderr
    assert "MNIST_DIR=/path/to/mnist" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out" / "pipeline_root").exists()  # stopped before the pipeline


def test_a_directory_missing_a_file_is_named(tmp_path):
    data = write_mnist_dir(tmp_path / "data", make_digits(10, 0), make_digits(5, 1))
    (data / "train-labels-idx1-ubyte.gz").unlink()
    result = run_cli("run", "--mnist-dir", data, "--output-dir", tmp_path / "out", timeout=300)
    assert result.returncode == 1
    assert f"error: {data}: missing MNIST file(s) train-labels-idx1-ubyte[.gz]" in result.stderr
    assert "Traceback" not in result.stderr


def test_verbose_adds_the_traceback(tmp_path):
    data = write_mnist_dir(tmp_path / "data", make_digits(10, 0), make_digits(5, 1))
    (data / "train-labels-idx1-ubyte.gz").unlink()
    result = run_cli("--verbose", "run", "--mnist-dir", data, "--output-dir", tmp_path / "out", timeout=300)
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "missing MNIST file(s)" in result.stderr
