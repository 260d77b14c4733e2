"""The versions this project's workarounds were written for, and the check that they are installed.

A private name (`_parse_flags`, `client._existing_config`, TensorFlow's
`tensorflow.python...`) can change in any release, and so can the bug a
workaround works around (foundation/compat.py). So the process boundary
(pipeline/process/boundary.py) calls `check_versions()` before anything
else: an upgrade stops there, at once, with a message naming what to review,
rather than deep inside a run.

To upgrade a pinned package: change the pin in pyproject.toml and re-lock
(`make lock`), check each workaround listed for it below against the new
version, then update `PINS`.
"""
import importlib.metadata
from typing import Callable, Dict, List, Tuple


class IncompatibleVersion(RuntimeError):
    """An installed dependency is not the version a workaround was written for."""


# Distribution -> (the version written for: exact, or a prefix ending in "."),
# and what depends on it. Mirrors the pins in pyproject.toml.
PINS: Dict[str, Tuple[str, List[str]]] = {
    "tfx": ("1.16.0", [
        "kubeflow_v2_executor (TFX's private _parse_flags)",
        "reuse_built_module_wheels (TFX's udf_utils.package_user_module_file and private _get_version_hash)",
        "adapt_kfp_executor_input in pipeline/launch/kubeflow_task.py (what TFX's KFP v2 entry point cannot read from KFP 2.0-2.17 backends)",
    ]),
    "kfp": ("2.5.0", [
        "kfp_client_class (kfp.Client._healthz_api)",
        "kfp_host (kfp.Client._existing_config)",
        "kfp_ui_url_prefix (kfp.Client._get_url_prefix)",
    ]),
    "tensorflow": ("2.16.", ["keep_autograph_out_of_tf_keras (tensorflow.python.autograph)"]),
    "tf-keras": ("2.16.0", ["keep_autograph_out_of_tf_keras (Keras 2's package name)"]),
    "tensorflow-io": ("0.37.1", [
        "the hard exit of a process that set up s3:// (pipeline/process/boundary.py, "
        "github.com/tensorflow/io/issues/2039)",
    ]),
    "keras-tuner": ("1.4.8", [
        "tuner_for_tf_keras (KerasTuner checks models against Keras 3, "
        "github.com/keras-team/keras-tuner/issues/1039)",
    ]),
    "tensorboard": ("2.16.2", [
        "pkg_resources_for_tensorboard (tensorboard imports setuptools' removed "
        "pkg_resources, github.com/tensorflow/tensorboard/issues/7003)",
    ]),
    # No private API: tfx-bsl 1.16 cannot import newer Beams (pyproject.toml).
    "apache-beam": ("2.59.0", ["TFX 1.16's tested Beam (tfx-bsl 1.16 imports)"]),
}


def _matches(installed: str, pinned: str) -> bool:
    return installed.startswith(pinned) if pinned.endswith(".") else installed == pinned


def check_versions(version: Callable[[str], str] = importlib.metadata.version) -> None:
    """Raises IncompatibleVersion naming every dependency that is not at its pin."""
    problems = []
    for name, (pinned, workarounds) in PINS.items():
        try:
            installed = version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = "not installed"
        if not _matches(installed, pinned):
            wanted = pinned + "x" if pinned.endswith(".") else pinned
            problems.append(
                f"{name} is {installed}, but {', '.join(workarounds)} was written for "
                f"{name} {wanted}"
            )
    if problems:
        raise IncompatibleVersion(
            "this project's workarounds for its pinned dependencies do not apply: "
            + "; ".join(problems)
            + ". Reinstall the locked versions (make setup), or review each workaround "
            "in foundation/compat.py and update foundation/pins.py."
        )



