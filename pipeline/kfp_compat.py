"""What the KFP 2.x backend hands a TFX 1.16 task, made into what TFX reads.

Open-source KFP (2.0.0 to 2.5.0 at least) gives a task its upstream artifacts
with an empty type schema: the backend records no schema for them
(kubeflow/pipelines 2.5.0, backend/src/v2/metadata/client.go:948,
`Schema: "" // TODO`), and `OutputArtifact.ToRuntimeArtifact` (client.go:175-189)
turns that into `type: {instanceSchema: ""}`. TFX 1.16's KFP v2 entry point then
fails in `_retrieve_class_path` (tfx/orchestration/kubeflow/v2/container/
kubeflow_v2_entrypoint_utils.py:252-267): `yaml.safe_load("")` is None, and
None has no `.get('title')`. Vertex AI fills the schema; KFP does not.

The component's own inputs spec, which TFX passes every task with pipeline
spec 2.1 (`--json_serialized_inputs_spec_args`), says each input's type, so
an artifact with no usable type takes it from there. sky-uk/kfp-operator's
tfx_kfp_v2_shim patches the same gap.

KFP 2.5.0's driver also adds an output of its own to every task, unless the
API server's PUBLISH_LOGS says otherwise: `executor-logs`, typed
`system.Artifact` (backend/src/v2/driver/driver.go:2025-2038; the flag's
default "true": backend/src/v2/cmd/driver/main.go:85). Its launcher fills it
with the task's log (backend/src/v2/component/launcher_v2.go:512). TFX would
import `system.Artifact` as a class and fail, so the executor never sees it.

And the backend stores an artifact's struct and list metadata wrapped, as
`{"struct": {...}}` and `{"list": [...]}` (StructValueToMLMDValue,
backend/src/v2/metadata/converter.go:133-165), and hands them on so; the
upstream task wrote them bare, so they are unwrapped again here.
"""
from typing import List

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

WRITTEN_FOR = {"tfx": "1.16.0", "kfp-backend": "2.0.0 - 2.5.0"}
INVOCATION_FLAG = "--json_serialized_invocation_args"
INPUTS_SPEC_FLAG = "--json_serialized_inputs_spec_args"
LAUNCHER_LOGS_KEY = "executor-logs"


def _has_title(schema: pipeline_spec_pb2.ArtifactTypeSchema) -> bool:
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


def adapt_executor_input(argv: List[str]) -> List[str]:
    """`argv` of TFX's KFP v2 entry point, with every input artifact typed and
    the launcher's own log output left out."""
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
