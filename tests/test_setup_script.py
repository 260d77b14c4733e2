"""scripts/setup.sh finds a working Python 3.10, or says what to install."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

SETUP = Path(__file__).resolve().parents[1] / "scripts" / "setup.sh"
SYSTEM_PATH = "/usr/bin:/bin"


def find_python(env):
    return subprocess.run(
        ["bash", str(SETUP), "--find-python"], env=env, capture_output=True, text=True, timeout=60
    )


def test_pyenv_310_is_found_when_not_selected(tmp_path):
    # A pyenv shim that fails the way an unselected version does...
    shims = tmp_path / "shims"
    shims.mkdir()
    shim = shims / "python3.10"
    shim.write_text("#!/bin/sh\necho 'pyenv: python3.10: command not found' >&2\nexit 127\n")
    shim.chmod(0o755)
    # ...and a 3.10 installed under the pyenv root.
    installed = tmp_path / "pyenv" / "versions" / "3.10.99" / "bin"
    installed.mkdir(parents=True)
    (installed / "python3.10").symlink_to(sys.executable)

    env = {"PATH": f"{shims}:{SYSTEM_PATH}", "PYENV_ROOT": str(tmp_path / "pyenv"), "HOME": str(tmp_path)}
    result = find_python(env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(installed / "python3.10")


def test_explicit_python_wins(tmp_path):
    env = {"PATH": SYSTEM_PATH, "PYTHON": sys.executable, "HOME": str(tmp_path), "PYENV_ROOT": "/nonexistent"}
    result = find_python(env)
    assert result.returncode == 0 and result.stdout.strip() == sys.executable


@pytest.mark.skipif(
    any(os.path.exists(p) for p in ("/usr/bin/python3.10", "/usr/local/bin/python3.10")),
    reason="this machine has a system Python 3.10",
)
def test_no_python_310_says_what_to_install(tmp_path):
    result = find_python({"PATH": SYSTEM_PATH, "PYENV_ROOT": str(tmp_path), "HOME": str(tmp_path)})
    assert result.returncode == 1
    assert "no working Python 3.10 found" in result.stderr
    assert "pyenv install 3.10" in result.stderr and "PYTHON=/path/to/python3.10" in result.stderr
