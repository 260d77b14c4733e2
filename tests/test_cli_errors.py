"""Errors a user can fix: one clear message, at once, and no traceback."""

from tests.conftest import closed_port_url, run_cli

# Bad MNIST files: tests/test_bad_source_data.py.


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
