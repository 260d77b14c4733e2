"""Errors a user can fix: one clear message, at once, and no traceback."""

import os
import subprocess
import sys

from tests.fixtures.data import PROJECT_ROOT, closed_port_url, run_cli

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


def _no_traceback_one_error_line(result):
    assert "Traceback" not in result.stderr, result.stderr
    [line] = [line for line in result.stderr.splitlines() if "error:" in line]
    return line


def test_a_bad_setting_in_the_environment_is_one_line_and_bad_usage(tmp_path):
    result = run_cli("runs", "list", "--output-dir", tmp_path, env={"MNIST_TFX_EPOCHS": "many"}, timeout=120)
    assert result.returncode == 2
    assert _no_traceback_one_error_line(result) == "error: MNIST_TFX_EPOCHS=many: must be a whole number >= 1"


def test_a_bad_flag_value_is_one_line_naming_the_flag_value_and_what_it_takes(tmp_path):
    result = run_cli("run", "--epochs", "many", "--output-dir", tmp_path, timeout=120)
    assert result.returncode == 2
    assert result.stderr == "error: --epochs many: must be a whole number >= 1\n"


def test_a_negative_learning_rate_is_refused_before_anything_runs(tmp_path):
    result = run_cli("run", "--max-examples-per-split", 2000, "--epochs", 1, "--learning-rate", "-0.01",
                     "--output-dir", tmp_path / "out", timeout=120)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "error: --learning-rate -0.01: must be a number > 0\n"
    assert not (tmp_path / "out").exists()


def test_nothing_recorded_yet_is_one_line(tmp_path):
    result = run_cli("runs", "show", "latest", "--output-dir", tmp_path, timeout=120)
    assert result.returncode == 1
    assert _no_traceback_one_error_line(result).startswith("error: No ML Metadata store at ")


def test_report_on_nothing_exits_2_not_evaluated(tmp_path):
    result = run_cli("report", "--output-dir", tmp_path, timeout=120)
    assert result.returncode == 2
    assert _no_traceback_one_error_line(result).startswith("error: No ML Metadata store at ")


def test_compile_without_an_image_is_one_line(tmp_path):
    result = run_cli("compile", "--output-dir", tmp_path, env={"MNIST_TFX_IMAGE": ""}, timeout=120)
    assert result.returncode == 2  # a setting missing: bad usage
    assert _no_traceback_one_error_line(result).startswith("error: no container image for the Kubeflow tasks")


def _entry(body: str, stdout=subprocess.PIPE):
    """A process whose entry point is run_entry(main), main being `body`."""
    code = (
        "from foundation.errors import UserError\n"
        "from pipeline.process import boundary\n"
        "def main():\n"
        f"    {body}\n"
        "boundary.run_entry(main)\n"
    )
    return subprocess.run([sys.executable, "-c", code], stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=120)


def closed_pipe():
    """The write end of a pipe whose reader has gone, as `| head` leaves it."""
    read, write = os.pipe()
    os.close(read)
    return write


def test_a_closed_stdout_ends_the_process_with_mains_own_status_and_no_traceback():
    write = closed_pipe()
    try:
        result = _entry("[print('line', i, flush=True) for i in range(10000)]; return 3", stdout=write)
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (3, "")


def test_help_into_a_closed_pipe_is_no_traceback():
    write = closed_pipe()
    try:
        result = subprocess.run([sys.executable, "-m", "pipeline", "run", "--help"], stdout=write,
                                stderr=subprocess.PIPE, text=True, timeout=120, cwd=PROJECT_ROOT)
    finally:
        os.close(write)
    assert (result.returncode, result.stderr) == (0, "")


def test_the_boundary_prints_a_user_error_as_one_line():
    result = _entry("raise UserError('the flag --x needs a value')")
    assert result.returncode == 1
    assert result.stderr == "error: the flag --x needs a value\n"


def test_the_boundary_prints_any_other_error_with_its_traceback_and_exits_1():
    result = _entry("raise ValueError('a TFX internal error')")
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.rstrip().endswith("ValueError: a TFX internal error")


def test_the_boundary_exits_with_mains_status():
    assert _entry("return 3").returncode == 3
    assert _entry("return None").returncode == 0
