"""Every private API of a dependency this project uses, each with why there is
no public way and the version it was written for (foundation/pins.py checks
those versions).

Kept free of TensorFlow, TFX and KFP imports at module level: it is imported
before them, by processes that may never load them.
"""
import os
import re
from typing import Callable, Optional, Tuple


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


def tuner_for_tf_keras(tuner_class):
    """`tuner_class` (a KerasTuner Tuner), able to tune a Keras 2 model.

    KerasTuner 1.4.8 imports `keras`, which is Keras 3 once TensorFlow 2.16
    is installed, whatever TF_USE_LEGACY_KERAS says, and `Tuner._try_build`
    (keras_tuner/src/engine/tuner.py:159-171) refuses any model that is not a
    Keras 3 `keras.Model`: "Expected the model-building function, or
    HyperModel.build() to return a valid Keras Model instance" for tf_keras
    models (keras-team/keras-tuner#1039, open; the fix, PR #1040, unmerged).
    `run_trial` is the public method KerasTuner documents overriding for a
    custom loop; this one builds and fits through the HyperModel without that
    check (nor the Keras 3 checkpoint callback, which the custom loop could not
    run anyway).
    """
    class TfKerasTuner(tuner_class):
        def run_trial(self, trial, *args, **kwargs):
            hp = trial.hyperparameters
            return self.hypermodel.fit(hp, self.hypermodel.build(hp), *args, **kwargs)

    TfKerasTuner.__name__ = f"TfKeras{tuner_class.__name__}"
    return TfKerasTuner


def pkg_resources_for_tensorboard() -> None:
    """Lets TensorBoard 2.16.2 start without setuptools' `pkg_resources`.

    setuptools 82 removed `pkg_resources` (the lock has 84.2.1, which
    tensorflow and tensorboard require unpinned), and TensorBoard 2.16.2 still
    imports it: tensorboard/default.py:30 (iter_entry_points, for plugins that
    packages register) and tensorboard/data/server_ingester.py:25
    (parse_version, for the data server's version). Fixed upstream for 2.21
    (tensorflow/tensorboard#7003, PR #7057), which needs newer TensorFlow.
    When `pkg_resources` cannot be imported, this puts a module with those
    two functions, from the standard library and `packaging`, in its place.
    """
    import sys
    import types

    try:
        import pkg_resources  # noqa: F401
        return
    except ImportError:
        pass
    import importlib.metadata

    from packaging.version import parse

    module = types.ModuleType("pkg_resources")
    class EntryPoint:  # what TensorBoard calls: .resolve() -> the object named
        def __init__(self, entry_point):
            self.name, self.resolve = entry_point.name, entry_point.load

    module.iter_entry_points = lambda group, name=None: [
        EntryPoint(ep) for ep in importlib.metadata.entry_points(group=group)
        if name is None or ep.name == name
    ]
    module.parse_version = parse
    sys.modules["pkg_resources"] = module


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


_module_wheels_reused = False


def _built_module_wheel(instance_name: str, module_path: str, pipeline_root: str) -> Optional[str]:
    """The wheel TFX would build, if it is already in <pipeline_root>/_wheels."""
    from tfx.components.util import udf_utils
    from tfx.dsl.io import fileio

    directory = os.path.dirname(os.path.abspath(module_path))
    sources = [name for name in os.listdir(directory) if name.endswith(".py")]
    version = udf_utils._get_version_hash(directory, sources)
    # As setuptools names the wheel of `tfx-user-code-<instance>`.
    project = re.sub(r"[-_.]+", "_", f"tfx-user-code-{instance_name}").lower()
    wheels = os.path.join(pipeline_root, "_wheels")
    name = f"{project}-0.0+{version}-py3-none-any.whl"
    found = [n for n in fileio.listdir(wheels) if n.lower() == name] if fileio.exists(wheels) else []
    return os.path.join(wheels, found[0]) if found else None


def reuse_built_module_wheels() -> None:
    """Makes TFX's packaging return an already built wheel of the same sources:
    the Trainer's and Tuner's user-module wheel, built once per source version.

    TFX 1.16.0 builds the wheel (`setup.py bdist_wheel`, in a subprocess) every
    time a pipeline with a `module_file` is compiled, a cached re-run included
    (tfx/components/util/udf_utils.py, package_user_module_file). The wheel's
    name carries the SHA-256 of the module directory's sources, and that name,
    not its bytes, is what the component records (its module fingerprint, and
    the cache key). So a wheel of that name already under the pipeline root is
    used as it is, and only a new source version is built. The name comes
    from TFX's private `_get_version_hash`.
    """
    global _module_wheels_reused
    if _module_wheels_reused:
        return
    from tfx.components.util import udf_utils

    build = udf_utils.package_user_module_file

    def package_user_module_file(instance_name: str, module_path: str, pipeline_root: str) -> Tuple[str, str]:
        wheel = _built_module_wheel(instance_name, module_path, pipeline_root)
        if wheel is None:
            return build(instance_name, module_path, pipeline_root)
        module = re.sub(r"\.py$", "", os.path.basename(module_path))
        return wheel, f"{module}@{wheel}"

    udf_utils.package_user_module_file = package_user_module_file
    _module_wheels_reused = True
