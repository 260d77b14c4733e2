"""The command of every Kubeflow task: TFX's executor entry point, s3:// included.

    python -m pipeline.launch.kubeflow_task ARGS   (what the compiled spec runs)

is `python -m tfx.orchestration.kubeflow.v2.container.kubeflow_v2_run_executor
ARGS` started through the process boundary (pipeline/process/boundary.py):
pins checked, Keras 2 selected and tensorflow-io's filesystems registered
first, so that tf.io.gfile reads and writes s3:// pipeline roots and data
(endpoint and region from the container's environment:
pipeline/process/object_store.py), and the process ended so that a task that
succeeded is not reported failed by tensorflow-io's crash at interpreter
exit. What an open-source KFP backend hands the task is first made into what
TFX reads (`adapt_kfp_executor_input`, below).
"""
import sys
import traceback
from typing import List

from foundation import compat
from pipeline.process import boundary


def main() -> int:
    from absl import app

    executor_main, parse_flags = compat.kubeflow_v2_executor()
    sys.argv = adapt_kfp_executor_input(sys.argv)
    try:
        app.run(executor_main, flags_parser=parse_flags)
        return 0  # app.run always exits; not reached
    except SystemExit as done:
        code = done.code
        if code is None or isinstance(code, int):
            return code or 0
        print(code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1


# What an open-source KFP 2.x backend hands a TFX 1.16 task, made into what TFX reads.
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


if __name__ == "__main__":
    boundary.run_entry(main, s3=True)
