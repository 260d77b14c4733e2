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
"""
from typing import List

from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

WRITTEN_FOR = {"tfx": "1.16.0", "kfp-backend": "2.0.0 - 2.5.0"}
INVOCATION_FLAG = "--json_serialized_invocation_args"
INPUTS_SPEC_FLAG = "--json_serialized_inputs_spec_args"


def _has_title(schema: pipeline_spec_pb2.ArtifactTypeSchema) -> bool:
    kind = schema.WhichOneof("kind")
    if kind == "schema_title":
        return bool(schema.schema_title)
    return kind == "instance_schema" and "title:" in schema.instance_schema


def fill_input_artifact_types(argv: List[str]) -> List[str]:
    """`argv` of TFX's KFP v2 entry point, with every input artifact typed."""
    if INVOCATION_FLAG not in argv or INPUTS_SPEC_FLAG not in argv:
        return argv
    at_input, at_spec = argv.index(INVOCATION_FLAG) + 1, argv.index(INPUTS_SPEC_FLAG) + 1
    executor_input = json_format.Parse(argv[at_input], pipeline_spec_pb2.ExecutorInput())
    inputs_spec = json_format.Parse(
        argv[at_spec], pipeline_spec_pb2.ComponentInputsSpec(), ignore_unknown_fields=True
    )
    filled = False
    for key, artifacts in executor_input.inputs.artifacts.items():
        if key not in inputs_spec.artifacts:
            continue
        for artifact in artifacts.artifacts:
            if not _has_title(artifact.type):
                artifact.type.CopyFrom(inputs_spec.artifacts[key].artifact_type)
                filled = True
    if not filled:
        return argv
    argv = list(argv)
    argv[at_input] = json_format.MessageToJson(executor_input)
    return argv
