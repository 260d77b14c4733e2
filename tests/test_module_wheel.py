"""The Trainer's user-module wheel is built once per source version
(foundation/compat.py, reuse_built_module_wheels), under the same name TFX gives it."""
import shutil
import subprocess

import pytest
from tfx.components.util import udf_utils

from foundation import compat
from pipeline import dag


def _no_build(*args, **kwargs):
    raise AssertionError(f"built again: {args}")


def test_a_wheel_of_the_same_sources_is_not_built_again(tmp_path, monkeypatch):
    compat.reuse_built_module_wheels()
    root = str(tmp_path / "root")
    wheel, module_path = udf_utils.package_user_module_file("Trainer", dag.TRAINER_MODULE_FILE, root)
    assert module_path == f"task@{wheel}" and wheel.startswith(f"{root}/_wheels/")

    check_call = subprocess.check_call
    monkeypatch.setattr(subprocess, "check_call", _no_build)
    assert udf_utils.package_user_module_file("Trainer", dag.TRAINER_MODULE_FILE, root) == (wheel, module_path)

    # Other sources: a new version, built.
    sources = tmp_path / "trainer_module"
    shutil.copytree(dag.TRAINER_MODULE_FILE.rsplit("/", 1)[0], sources, ignore=shutil.ignore_patterns("__pycache__"))
    with open(sources / "task.py", "a") as f:
        f.write("# another version\n")
    with pytest.raises(AssertionError, match="built again"):
        udf_utils.package_user_module_file("Trainer", str(sources / "task.py"), root)
    monkeypatch.setattr(subprocess, "check_call", check_call)
    other, _ = udf_utils.package_user_module_file("Trainer", str(sources / "task.py"), root)
    assert other != wheel and sorted(p.name for p in (tmp_path / "root" / "_wheels").iterdir()) == sorted(
        [wheel.rsplit("/", 1)[1], other.rsplit("/", 1)[1]])
