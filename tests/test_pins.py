"""The version guard (foundation/pins.py): an upgrade of a pinned dependency
fails at once, in the process boundary, naming the workaround and the version
it was written for."""
import importlib.metadata
import re
from pathlib import Path

import pytest

from foundation import pins
from pipeline.process import boundary

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_the_installed_versions_pass():
    pins.check_versions()


def test_the_guard_mirrors_the_pins_of_pyproject():
    text = PYPROJECT.read_text()
    for name, (pinned, _) in pins.PINS.items():
        match = re.search(rf'"{re.escape(name)}(\[[^\]]*\])?==([^"]+)"', text)
        assert match, f"{name} is not pinned in pyproject.toml"
        assert pins._matches(match.group(2), pinned), (name, match.group(2), pinned)


def _versions(**overrides):
    def version(name):
        return overrides.get(name) or importlib.metadata.version(name)
    return version


def test_an_upgraded_pin_fails_naming_the_workaround_and_its_version():
    with pytest.raises(pins.IncompatibleVersion) as error:
        pins.check_versions(_versions(kfp="2.7.0"))
    message = str(error.value)
    assert "kfp is 2.7.0" in message
    assert "kfp_host (kfp.Client._existing_config)" in message
    assert "written for kfp 2.5.0" in message
    assert "foundation/compat.py" in message and "foundation/pins.py" in message


def test_a_minor_tensorflow_upgrade_fails_and_a_patch_release_does_not():
    pins.check_versions(_versions(tensorflow="2.16.9"))
    with pytest.raises(pins.IncompatibleVersion, match=r"tensorflow is 2\.17\.0.*written for tensorflow 2\.16\.x"):
        pins.check_versions(_versions(tensorflow="2.17.0"))


def test_a_missing_package_fails_too():
    def version(name):
        if name == "tensorflow-io":
            raise importlib.metadata.PackageNotFoundError(name)
        return importlib.metadata.version(name)

    with pytest.raises(pins.IncompatibleVersion, match="tensorflow-io is not installed.*issues/2039"):
        pins.check_versions(version)


def test_every_process_checks_the_pins_at_its_boundary_not_on_import(monkeypatch):
    def refuse(*args):
        raise pins.IncompatibleVersion("refused")

    monkeypatch.setattr(pins, "check_versions", refuse)
    with pytest.raises(pins.IncompatibleVersion, match="refused"):
        boundary.prepare()
