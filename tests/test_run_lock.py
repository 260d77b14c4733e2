"""One run at a time per output directory: a second is refused at once, naming
the first; a holder killed with SIGKILL leaves no stale lock.

A real run in progress refusing a second one: tests/test_crash_safety_e2e.py.
"""
import datetime
import os
import signal
import subprocess
import sys

import pytest

from foundation import dir_lock
from foundation.errors import DirectoryInUseError
from pipeline import config as config_lib
from tests.fixtures.data import PROJECT_ROOT, run_cli

_HOLD = """
import sys, time
from foundation import dir_lock
with dir_lock.hold(sys.argv[1]):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder(tmp_path):
    """Another process holding the lock on tmp_path/out until killed."""
    out = tmp_path / "out"
    process = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(out)], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline() == "held\n"
    yield out, process
    process.kill()
    process.wait()


def test_a_second_run_is_refused_at_once_naming_the_first(holder, mnist_dir):
    out, process = holder
    result = run_cli("run", "--mnist-dir", mnist_dir, "--output-dir", out, timeout=60)
    assert result.returncode == 1
    [line] = result.stderr.splitlines()  # no traceback
    today = datetime.date.today().isoformat()
    assert line.startswith(f"error: {out} is in use by another run (pid {process.pid}, started {today}T")
    assert line.endswith("Wait for it to finish, or use another output directory (--output-dir).")
    assert not (out / "metadata.sqlite").exists()


def test_the_tfx_cli_path_is_refused_too(holder, mnist_dir):
    """`tfx run create` runs pipeline/local_runner.py, which takes the lock itself."""
    from pipeline.launch import local

    out, process = holder
    cfg = config_lib.from_env({}, output_dir=str(out), mnist_dir=str(mnist_dir))
    with pytest.raises(DirectoryInUseError, match=f"pid {process.pid}"):
        local.run(cfg)
    assert not (out / "metadata.sqlite").exists()


def test_a_holder_killed_with_sigkill_leaves_no_stale_lock(holder):
    out, process = holder
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    with dir_lock.hold(str(out)):  # does not raise: the kernel released the lock
        assert dir_lock.read_holder(str(out))["pid"] == os.getpid()


def test_a_holder_may_take_its_own_lock_again(tmp_path):
    """The CLI holds the lock and calls pipeline.launch.local.run, which takes it too."""
    with dir_lock.hold(str(tmp_path)):
        with dir_lock.hold(str(tmp_path)):
            pass
        # Still held after the inner block: another process is refused.
        probe = subprocess.run(
            [sys.executable, "-c", _HOLD, str(tmp_path)], cwd=PROJECT_ROOT,
            capture_output=True, text=True, timeout=60,
        )
        assert probe.returncode == 1 and "DirectoryInUseError" in probe.stderr
