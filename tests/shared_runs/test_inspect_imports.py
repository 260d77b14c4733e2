"""The inspection commands read ML Metadata only: `runs list`, `runs show`,
`runs compare` and `lineage` must never load TensorFlow or TFMA (4 s, and
TensorFlow's warnings in the output). Each runs in a fresh interpreter, on the
shared runs (tests/fixtures/shared_runs.py), and reports what it imported at exit.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.data import PROJECT_ROOT

pytestmark = pytest.mark.e2e

HEAVY = ("tensorflow", "tensorflow_model_analysis", "tfx", "apache_beam")
# main() as `python -m pipeline` calls it; at exit, whatever happened, what
# it had loaded, as JSON on the last line.
_WRAPPER = """
import atexit, json, sys
atexit.register(lambda: print(json.dumps([m for m in %r if m in sys.modules])))
from pipeline.cli import main
sys.exit(main(sys.argv[1:]))
""" % (HEAVY,)


def _inspect(*args):
    result = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *map(str, args)],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    *output, last = result.stdout.splitlines()
    return "\n".join(output), json.loads(last), result.stderr


@pytest.fixture(scope="module")
def shared(blessed_then_not_blessed):
    return blessed_then_not_blessed


def _commands(shared):
    [version] = [p.name for p in Path(shared.cfg().serving_dir).iterdir()]
    ids = shared.ids
    return {
        "runs list": ["runs", "list"],
        "runs show": ["runs", "show", ids["not_blessed"]],
        "runs compare": ["runs", "compare", ids["blessed"], ids["not_blessed"]],
        "lineage": ["lineage", version],
    }


@pytest.mark.parametrize("command", ["runs list", "runs show", "runs compare", "lineage"])
def test_inspection_loads_no_tensorflow(shared, command):
    args = _commands(shared)[command]
    output, heavy, stderr = _inspect(*args, "--output-dir", shared.output_dir)
    assert heavy == [], (heavy, output, stderr)
    # What it shows came from ML Metadata: the accuracy is there.
    assert "%" in output or "accuracy" in output, output
    assert "tensorflow" not in stderr.lower(), stderr


def test_the_check_would_see_tensorflow():
    """The wrapper itself can fail: a command that loads TensorFlow is caught."""
    result = subprocess.run(
        [sys.executable, "-c", "import tensorflow\n" + _WRAPPER, "runs", "list", "--output-dir", "/nonexistent"],
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120,
    )
    assert json.loads(result.stdout.splitlines()[-1])[:1] == ["tensorflow"], result.stdout + result.stderr
