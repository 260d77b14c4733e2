"""What a Kubeflow Pipelines 2.5.0 backend refuses, and in which words.

The rules of the real API server (backend 2.5.0, tag 2.5.0 of
kubeflow/pipelines; cited as path:line under backend/src/ unless said
otherwise) for the two moments a spec is judged:
  - upload of a pipeline or a version: template.New and NewV2SpecTemplate,
    then the MLMD name check;
  - run creation: the Argo compiler's walk of the spec.
Pure Python, no TensorFlow: tests/fake_kfp.py answers with it and
tests/kfp_driver.py refuses with it.

Go's protojson is stood in for by Python's json_format on the kfp-pipeline-spec
0.2.2 protos: both refuse unknown fields, but where the server quotes the
parser's own error, only the text around it is the server's.
Go's `%+v` of a wrapped error also prints stack frames; they are left out.
"""
import json
import re
from typing import Any, Dict, List, Optional, Tuple

import yaml
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2

# apiserver/template/template.go:50, 53-54
SCHEMA_VERSION_2_1_0 = "2.1.0"
INVALID_PIPELINE_SPEC = "pipeline spec is invalid"
INVALID_PLATFORM_SPEC = "Platform spec is invalid"
# apiserver/template/v2_template.go:196. Go's regexp.MatchString is not
# anchored: a name passes if any part of it matches.
V2_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# apiserver/common/utils.go:32, checked on upload by ValidatePipelineName
# (utils.go:107-121, resource/resource_manager.go:381, 1648).
MLMD_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
# v2/compiler/visitor.go:119-128: the only executors the compiler takes.
RUNNABLE_EXECUTORS = ("container", "importer")


class Refusal(Exception):
    """A refused request: the HTTP status and JSON body the server sends."""

    def __init__(self, status: int, body: Dict[str, Any]):
        super().__init__(body.get("error_message") or body.get("message"))
        self.status, self.body = status, body


class SpecError(ValueError):
    """One of the backend's own Go errors; str() is its Error() text."""


def _q(text: str) -> str:
    return json.dumps(text)  # Go's %q, for the ASCII names a spec holds


def _parse(message_cls, value) -> Tuple[Optional[Any], str]:
    """(message, "") or (None, the parser's complaint): protojson.Unmarshal."""
    try:
        return json_format.ParseDict(value, message_cls()), ""
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as e:
        return None, str(e)


def is_pipeline_spec(value) -> bool:
    """template.go:104-112: parses, has a name and a root."""
    spec, _ = _parse(pipeline_spec_pb2.PipelineSpec, value)
    return spec is not None and bool(spec.pipeline_info.name) and spec.HasField("root")


def is_kubernetes_platform_spec(value) -> bool:
    """v2_template.go:344-356. A platform document that does not parse is not
    refused: it is not recognized, so it is dropped (v2_template.go:204)."""
    platform, _ = _parse(pipeline_spec_pb2.PlatformSpec, value)
    return platform is not None and "kubernetes" in platform.platforms


def _invalid(details: str, sentinel: str = INVALID_PIPELINE_SPEC) -> SpecError:
    # util.NewInvalidInputErrorWithDetails (common/util/error.go:188-193):
    # errors.Wrapf(err, "InvalidInputError: %v", details).Error()
    return SpecError(f"InvalidInputError: {details}: {sentinel}")


def new_template(text: bytes) -> Tuple[dict, Optional[dict]]:
    """template.New (template.go:139-149) then NewV2SpecTemplate
    (v2_template.go:155-225): (pipeline spec, kubernetes platform spec or None)."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]  # v2_template.go:166
    except yaml.YAMLError as e:
        raise _invalid(f"unable to decode yaml document: {e}") from None  # v2_template.go:170
    if not text or not any(isinstance(d, dict) and is_pipeline_spec(d) for d in documents):
        raise _invalid("unknown template format")  # template.go:59-70, 147
    spec = platform = None
    for value in documents:
        if is_pipeline_spec(value):
            if spec is not None:
                raise _invalid("multiple pipeline specs provided")  # v2_template.go:179
            parsed, error = _parse(pipeline_spec_pb2.PipelineSpec, value)
            if parsed is None:
                raise _invalid(f"invalid v2 pipeline spec: {error}")  # v2_template.go:188
            if parsed.schema_version != SCHEMA_VERSION_2_1_0:  # v2_template.go:190-192
                raise _invalid("KFP only supports schema version 2.1.0, but the pipeline "
                               f"spec has version {parsed.schema_version}")
            name = parsed.pipeline_info.name
            if not name:  # v2_template.go:193 (is_pipeline_spec already needs one)
                raise _invalid("invalid v2 pipeline spec: name is empty")
            if not V2_NAME.search(name):  # v2_template.go:196-199
                raise _invalid("invalid v2 pipeline spec: name should consist of lower case "
                               "alphanumeric characters, '-' or '.', and must start and end "
                               "with an alphanumeric character")
            if not parsed.HasField("root"):  # v2_template.go:200-202 (likewise)
                raise _invalid("invalid v2 pipeline spec: root component is empty")
            spec = value
        elif is_kubernetes_platform_spec(value):
            if platform is not None:  # v2_template.go:206-208
                raise _invalid("multiple platform specs provided", INVALID_PLATFORM_SPEC)
            platform = value
    if spec is None:
        raise _invalid("no pipeline spec is provided")  # v2_template.go:221-223
    return spec, platform


def check_upload(filename: str, text: bytes, new_pipeline: bool) -> Tuple[dict, Optional[dict]]:
    """What the upload handlers do with the file (apiserver/server/
    pipeline_upload_server.go:88-164 for a pipeline, :181-260 for a version);
    raises Refusal with the status and body they write (:298-307)."""
    if not filename.endswith((".yaml", ".yml", ".json")):  # server/util.go:150-174
        # (zip and tar.gz uploads are not modeled)
        raise _upload_refusal(400, "Failed to read a pipeline spec file" if new_pipeline else
                              "Failed to create a pipeline version due to error reading pipeline spec file",
                              "Invalid input error: Unexpected pipeline file format. Support .zip, .tar.gz, .json or YAML")
    step = "Failed to create a pipeline and a pipeline version" if new_pipeline else "Failed to create a pipeline version"
    try:
        spec, platform = new_template(text)
    except SpecError as e:  # resource_manager.go:371-374, 1638-1641
        raise _upload_refusal(500, step, f"{step} due to template creation error: {e}") from None
    name = spec["pipelineInfo"]["name"]
    if len(name) > 128:  # utils.go:111-113
        raise _upload_refusal(500, step, "Invalid input error: pipeline's name must contain no more than 128 characters")
    if not MLMD_NAME.match(name):  # utils.go:117-119, returned unwrapped
        raise _upload_refusal(500, step, "Invalid input error: pipeline's name must contain only lowercase "
                                         "alphanumeric characters or '-' and must start with alphanumeric characters")
    return spec, platform


def _upload_refusal(status: int, wrapper: str, error: str) -> Refusal:
    # pipeline_upload_server.go:142 or :238: util.Wrap(err, wrapper), written by
    # writeErrorToResponse (:298-307) as the v1beta1 Error message
    # (backend/api/v1beta1/error.proto:22-25). Every template or name error
    # is answered 500: only AlreadyExists gets its own status (409).
    message = f"{wrapper}: {error}"
    return Refusal(status, {"error_message": message, "error_details": message})


def compile_errors(spec: dict, platform: Optional[dict] = None) -> Optional[str]:
    """The Argo compiler's first error for a spec, or None
    (v2/compiler/argocompiler/argo.go:46-160, v2/compiler/visitor.go:88-165)."""
    parsed, error = _parse(pipeline_spec_pb2.PipelineSpec, spec)
    if parsed is None:
        return f"failed to parse pipeline spec: {error}"  # visitor.go:190-192
    if not parsed.pipeline_info.name:
        return "pipelineInfo.name is empty"  # argo.go:64-66
    deploy = json_format.ParseDict(  # visitor.go:167-180: unknown fields allowed
        spec.get("deploymentSpec", {}), pipeline_spec_pb2.PipelineDeploymentConfig(),
        ignore_unknown_fields=True,
    )
    visited = set()

    def dfs(name: str, component) -> Optional[str]:  # visitor.go:88-165
        if name in visited:
            return None
        visited.add(name)
        where = f"error processing component name={_q(name)}: "
        label = component.executor_label
        if label:
            if label not in deploy.executors:
                return where + f"executor(label={_q(label)}) not found in deployment config"
            kind = deploy.executors[label].WhichOneof("spec")
            if kind in RUNNABLE_EXECUTORS:
                return None
            return where + f"executor(label={_q(label)}): non-container and non-importer executor not implemented"
        if not component.HasField("dag"):
            return where + f"unknown component implementation: {component}"
        for key in sorted(component.dag.tasks):  # visitor.go:139-143: sorted, not topological
            ref = component.dag.tasks[key].component_ref.name
            if not ref:
                return where + f"component ref name is empty for task name={_q(component.dag.tasks[key].task_info.name)}"
            if ref not in parsed.components:
                return where + f"cannot find component ref name={_q(ref)}"
            found = dfs(ref, parsed.components[ref])
            if found:
                return found
        return None

    return dfs("root", parsed.root)


def run_refusal(compile_error: str) -> Refusal:
    """How CreateRun answers a spec the compiler refused.

    The plain error is wrapped by template.RunWorkflow ("Failed to compile
    job", apiserver/template/v2_template.go:317-319), ResourceManager.CreateRun
    ("Failed to generate the ExecutionSpec", resource/resource_manager.go:498-501)
    and RunServer.CreateRun ("Failed to create a new run",
    server/run_server.go:500-503). Not a UserError, so util.ToGRPCError
    (common/util/error.go:376-390) makes it codes.Internal with the message
    "Internal error: %+v" (innermost first, a wrapper per line) and a
    google.rpc.Status detail of code Unknown; grpc-gateway v1.16.0 (go.mod:29)
    writes that as HTTP 500 and its runtimeError body (error, code, message,
    details: backend/api/v2beta1/swagger/run.swagger.json, "runtimeError").
    """
    wrappers = ["Failed to compile job", "Failed to generate the ExecutionSpec", "Failed to create a new run"]
    message = "Internal error: " + "\n".join([compile_error, *wrappers])
    detail = {"@type": "type.googleapis.com/google.rpc.Status", "code": 2, "message": message}
    return Refusal(500, {"error": message, "code": 13, "message": message, "details": [detail]})


def executor_kinds(spec: dict) -> Dict[str, List[str]]:
    """{executor kind: [labels]}, e.g. {"container": [...], "resolver": [...]}."""
    kinds: Dict[str, List[str]] = {}
    for label, executor in spec.get("deploymentSpec", {}).get("executors", {}).items():
        for kind in executor:
            kinds.setdefault(kind, []).append(label)
    return kinds
