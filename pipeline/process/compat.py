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
    "tfx": ("1.16.0", [
        "kubeflow_v2_executor (TFX's private _parse_flags)",
        "adapt_kfp_executor_input (what TFX's KFP v2 entry point cannot read from KFP 2.0-2.17 backends)",
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


# --- What an open-source KFP backend hands a TFX 1.16 task -------------------
# What the KFP 2.x backend hands a TFX 1.16 task, made into what TFX reads.
# Sources: kubeflow/pipelines, backend/src/, cited at tags 2.5.0 and 2.17.0.
#
# Open-source KFP (2.0.0 to 2.17.0 at least) gives a task its upstream artifacts
# with an empty type schema: the backend records no schema for them
# (v2/metadata/client.go, `Schema: "" // TODO`: 2.5.0 :948, 2.17.0 :1144), and
# `OutputArtifact.ToRuntimeArtifact` (2.5.0 client.go:175-189, 2.17.0 :245-259)
# turns that into `type: {instanceSchema: ""}`. TFX 1.16's KFP v2 entry point then
# fails in `_retrieve_class_path` (tfx/orchestration/kubeflow/v2/container/
# kubeflow_v2_entrypoint_utils.py:252-267): `yaml.safe_load("")` is None, and
# None has no `.get('title')`. Vertex AI fills the schema; KFP does not.
#
# The component's own inputs spec, which TFX passes every task with pipeline
# spec 2.1 (`--json_serialized_inputs_spec_args`), says each input's type, so
# an artifact with no usable type takes it from there. sky-uk/kfp-operator's
# tfx_kfp_v2_shim patches the same gap.
#
# The driver also adds an output of its own to every task, unless the API
# server's PUBLISH_LOGS says otherwise: `executor-logs`, typed `system.Artifact`
# (v2/driver/driver.go: 2.5.0 :2025-2038, 2.17.0 :755-768; the flag's default
# "true": v2/cmd/driver/main.go: 2.5.0 :85, 2.17.0 :102). Its launcher fills it
# with the task's log (v2/component/launcher_v2.go: 2.5.0 :512, 2.17.0 :701).
# TFX would import `system.Artifact` as a class and fail, so the executor
# never sees it.
#
# And the backend stores an artifact's struct and list metadata wrapped, as
# `{"struct": {...}}` and `{"list": [...]}` (StructValueToMLMDValue,
# v2/metadata/converter.go: 2.5.0 :133-165, 2.17.0 :138-170), and hands them
# on so; the upstream task wrote them bare, so they are unwrapped again here.
#
# Left as they come, because TFX reads them as they are (2.17.0 only):
#   - each output artifact's `name` is its output key (driver.go:779-790).
#     TFX makes every named artifact's id a hash of its name
#     (kubeflow_v2_entrypoint_utils.py:68-75, 289-293) and writes the name
#     back with its output (:240-248); the launcher takes only URIs and
#     metadata from that (launcher_v2.go:1188-1206). Before, outputs had no
#     name and TFX gave them id 0.
#   - the executor output file is in the task's folder under the pod's /s3
#     (or /gcs, /minio) scratch volume, /s3/<bucket>/<prefix>/<task>/<uuid>/
#     output_metadata.json (driver.go:800-807), not /tmp/kfp_outputs/. TFX
#     takes that folder for its task root: the executors' temporary folder
#     becomes <task root>/.temp/<uuid>/ (kubeflow_v2_run_executor.py:85-87,
#     124-132), which only the Tuner uses here. The launcher uploads only the
#     outputs' own paths, so neither file nor folder reaches the store.
INVOCATION_FLAG = "--json_serialized_invocation_args"
INPUTS_SPEC_FLAG = "--json_serialized_inputs_spec_args"
LAUNCHER_LOGS_KEY = "executor-logs"


def _has_title(schema) -> bool:
    kind = schema.WhichOneof("kind")
    if kind == "schema_title":
        return bool(schema.schema_title)
    return kind == "instance_schema" and "title:" in schema.instance_schema


def _unwrap_metadata(metadata) -> bool:
    """Undoes the backend's wrapping of struct and list values, in place."""
    changed = False
    for name, value in list(metadata.fields.items()):
        if value.WhichOneof("kind") != "struct_value" or len(value.struct_value.fields) != 1:
            continue
        [(wrapper, inner)] = value.struct_value.fields.items()
        kind = inner.WhichOneof("kind")
        if (wrapper, kind) in (("struct", "struct_value"), ("list", "list_value")):
            metadata.fields[name].CopyFrom(inner)
            changed = True
    return changed


def adapt_kfp_executor_input(argv: List[str]) -> List[str]:
    """`argv` of TFX's KFP v2 entry point, with every input artifact typed and
    the launcher's own log output left out."""
    from google.protobuf import json_format
    from kfp.pipeline_spec import pipeline_spec_pb2

    if INVOCATION_FLAG not in argv or INPUTS_SPEC_FLAG not in argv:
        return argv
    at_input, at_spec = argv.index(INVOCATION_FLAG) + 1, argv.index(INPUTS_SPEC_FLAG) + 1
    executor_input = json_format.Parse(argv[at_input], pipeline_spec_pb2.ExecutorInput())
    inputs_spec = json_format.Parse(
        argv[at_spec], pipeline_spec_pb2.ComponentInputsSpec(), ignore_unknown_fields=True
    )
    filled = False
    for key, artifacts in executor_input.inputs.artifacts.items():
        for artifact in artifacts.artifacts:
            if key in inputs_spec.artifacts and not _has_title(artifact.type):
                artifact.type.CopyFrom(inputs_spec.artifacts[key].artifact_type)
                filled = True
            filled |= _unwrap_metadata(artifact.metadata)
    if LAUNCHER_LOGS_KEY in executor_input.outputs.artifacts:
        del executor_input.outputs.artifacts[LAUNCHER_LOGS_KEY]
        filled = True
    if not filled:
        return argv
    argv = list(argv)
    argv[at_input] = json_format.MessageToJson(executor_input)
    return argv
