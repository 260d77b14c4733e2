"""Every private API of a dependency this project uses, and the pins they were written for.

A private name (`_parse_flags`, `client._existing_config`, TensorFlow's
`tensorflow.python...`) can change in any release, and so can the bug a
workaround works around. So they are all here, each with why there is no
public way and the version it was written for, and this module checks the
installed versions when it is imported: every process imports it first
(pipeline/process/boundary.py), so an upgrade stops there, at once, with a
message naming what to review, rather than deep inside a run.

To upgrade a pinned package: change the pin in pyproject.toml and re-lock
(`make lock`), check each workaround listed for it below against the new
version, then update `PINS`.

Kept free of TensorFlow, TFX and KFP imports at module level: it is imported
before them, by processes that may never load them.
"""
import importlib.metadata
from typing import Callable, Dict, List, Tuple


class IncompatibleVersion(RuntimeError):
    """An installed dependency is not the version a workaround was written for."""


# Distribution -> (the version written for: exact, or a prefix ending in "."),
# and what depends on it. Mirrors the pins in pyproject.toml.
PINS: Dict[str, Tuple[str, List[str]]] = {
    "tfx": ("1.16.0", ["kubeflow_v2_executor (TFX's private _parse_flags)"]),
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
            "in pipeline/process/compat.py and update its PINS."
        )


check_versions()


def kubeflow_v2_executor() -> Tuple[Callable, Callable]:
    """(main, flags_parser) of TFX's Kubeflow V2 container entry point, for
    `absl.app.run(main, flags_parser=...)`.

    TFX 1.16.0 runs the module only as `python -m ...kubeflow_v2_run_executor`;
    calling it in-process (to set up s3:// first) means passing its flag
    parser, which is private (`_parse_flags`), as its own `__main__` does.
    """
    from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_run_executor as entry

    return entry.main, entry._parse_flags


def kfp_client_class():
    """kfp.Client, checking the server's health once instead of five times.

    kfp 2.5.0's constructor retries its health check five times, 5 s apart, on
    any HTTP error, so a refused token would surface as a timeout after 25 s.
    The override calls the private health API (`_healthz_api`) once, and its
    error is what the user sees.
    """
    import kfp

    class Client(kfp.Client):
        def get_kfp_healthz(self, sleep_duration: int = 5):
            return self._healthz_api.get_healthz()

    return Client


def kfp_host(client) -> str:
    """The API URL a kfp 2.5.0 Client resolved (from the host, KF_PIPELINES_ENDPOINT
    or kubeconfig); kfp keeps it only in the private `_existing_config`."""
    return client._existing_config.host


def kfp_ui_url_prefix(client) -> str:
    """The UI's address, as kfp 2.5.0 prints it for a run (KF_PIPELINES_UI_ENDPOINT,
    else the host): the private `_get_url_prefix`."""
    return client._get_url_prefix()


def keep_autograph_out_of_tf_keras(package: str = "tf_keras") -> None:
    """Tells AutoGraph to leave Keras 2's own code alone, as TF means it to.

    TensorFlow 2.16's AutoGraph skips the `keras` package but does not know
    Keras 2's new name, `tf_keras`, so every @tf.function that called the
    model converted hundreds of Keras functions from their source, at the
    train step's first call and again in the SavedModel export. Keras' code
    still runs in the graph, unconverted, as it did when Keras 2 was `keras`.
    The rules are a private module's list (tensorflow.python.autograph.core).
    """
    from tensorflow.python.autograph.core import config, config_lib

    if not any(
        isinstance(rule, config_lib.DoNotConvert) and rule.matches(package)
        for rule in config.CONVERSION_RULES
    ):
        config.CONVERSION_RULES = (config_lib.DoNotConvert(package),) + tuple(
            config.CONVERSION_RULES
        )
