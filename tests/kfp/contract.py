"""What a Kubeflow Pipelines backend refuses, and in which words.

The rules of the real API server for the two moments a spec is judged:
  - upload of a pipeline or a version: template.New and NewV2SpecTemplate,
    then the MLMD name check;
  - run creation: the Argo compiler's walk of the spec;
the gRPC gateway in front of the API is tests/kfp/gateway.py. Sources are cited as
"2.5.0 path:line; 2.17.0 path:line" under backend/src/ of kubeflow/pipelines;
what differs between the tags is a fact of tests/kfp/versions.py.
Pure Python, no TensorFlow: tests/kfp/api_server.py answers with it and
tests/kfp/driver.py refuses with it.

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

from tests.kfp.gateway import Refusal, gateway_error
from tests.kfp.versions import BackendVersion

# 2.5.0 apiserver/template/template.go:50, 53; 2.17.0 template.go:51, 55
SCHEMA_VERSION_2_1_0 = "2.1.0"
INVALID_PIPELINE_SPEC = "pipeline spec is invalid"
# 2.5.0 template/v2_template.go:196; 2.17.0 v2_template.go:236. Go's
# regexp.MatchString is not anchored: a name passes if any part of it matches.
V2_NAME = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
# 2.5.0 apiserver/common/utils.go:32, checked on upload by ValidatePipelineName
# (utils.go:107-121, resource/resource_manager.go:381, 1648); 2.17.0
# utils.go:35, 110-124, resource_manager.go:510, 2165.
MLMD_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,127}$")
# 2.5.0 v2/compiler/visitor.go:119-128; 2.17.0 visitor.go:125-134: the only
# executors the compiler takes.
RUNNABLE_EXECUTORS = ("container", "importer")


class SpecError(ValueError):
    """A util.UserError of the backend: str() is its Error() text, `external`
    the message it shows a client (common/util/error.go:183-193 at both tags)."""

    def __init__(self, internal: str, external: str):
        super().__init__(internal)
        self.external = external


def _q(text: str) -> str:
    return json.dumps(text)  # Go's %q, for the ASCII names a spec holds


def _parse(message_cls, value) -> Tuple[Optional[Any], str]:
    """(message, "") or (None, the parser's complaint): protojson.Unmarshal."""
    try:
        return json_format.ParseDict(value, message_cls()), ""
    except (json_format.ParseError, TypeError, ValueError, AttributeError) as e:
        return None, str(e)


def is_pipeline_spec(value) -> bool:
    """2.5.0 template.go:104-112; 2.17.0 template.go:107-115: parses, has a name and a root."""
    spec, _ = _parse(pipeline_spec_pb2.PipelineSpec, value)
    return spec is not None and bool(spec.pipeline_info.name) and spec.HasField("root")


def is_kubernetes_platform_spec(value) -> bool:
    """2.5.0 v2_template.go:344-356; 2.17.0 v2_template.go:428-440. A platform
    document that does not parse is not refused: it is not recognized, so it
    is dropped (2.5.0 v2_template.go:204; 2.17.0 :244)."""
    platform, _ = _parse(pipeline_spec_pb2.PlatformSpec, value)
    return platform is not None and "kubernetes" in platform.platforms


def _invalid(details: str, sentinel: str = INVALID_PIPELINE_SPEC) -> SpecError:
    # util.NewInvalidInputErrorWithDetails (common/util/error.go:188-193):
    # errors.Wrapf(err, "InvalidInputError: %v", details), shown as `details`
    return SpecError(f"InvalidInputError: {details}: {sentinel}", details)


def _invalid_input(message: str) -> SpecError:
    return SpecError(f"Invalid input error: {message}", message)  # util.NewInvalidInputError


def new_template(text: bytes, version: BackendVersion) -> Tuple[dict, Optional[dict]]:
    """template.New then NewV2SpecTemplate (2.5.0 template.go:139-149,
    v2_template.go:155-225; 2.17.0 template.go:154-164, v2_template.go:
    195-265): (pipeline spec, kubernetes platform spec or None)."""
    try:
        documents = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as e:  # 2.5.0 v2_template.go:170; 2.17.0 :207
        raise _invalid(f"unable to decode yaml document: {e}") from None
    if not text or not any(isinstance(d, dict) and is_pipeline_spec(d) for d in documents):
        raise _invalid("unknown template format")  # 2.5.0 template.go:59-70, 147; 2.17.0 :62-73, 162
    spec = platform = None
    for value in documents:  # the checks below: 2.5.0 v2_template.go:N, 2.17.0 :N+40
        if is_pipeline_spec(value):
            if spec is not None:
                raise _invalid("multiple pipeline specs provided")  # :179
            parsed, error = _parse(pipeline_spec_pb2.PipelineSpec, value)
            if parsed is None:
                raise _invalid(f"invalid v2 pipeline spec: {error}")  # :188
            if parsed.schema_version != SCHEMA_VERSION_2_1_0:  # :190-192
                raise _invalid("KFP only supports schema version 2.1.0, but the pipeline "
                               f"spec has version {parsed.schema_version}")
            name = parsed.pipeline_info.name
            if not name:  # :193 (is_pipeline_spec already needs one)
                raise _invalid("invalid v2 pipeline spec: name is empty")
            if not V2_NAME.search(name):  # :196-199
                raise _invalid("invalid v2 pipeline spec: name should consist of lower case "
                               "alphanumeric characters, '-' or '.', and must start and end "
                               "with an alphanumeric character")
            if not parsed.HasField("root"):  # :200-202 (likewise)
                raise _invalid("invalid v2 pipeline spec: root component is empty")
            spec = value
        elif is_kubernetes_platform_spec(value):
            if platform is not None:  # :206-208
                raise _invalid("multiple platform specs provided", version.platform_sentinel)
            platform = value
    if spec is None:
        raise _invalid("no pipeline spec is provided")  # :221-223
    return spec, platform


def check_upload(filename: str, text: bytes, new_pipeline: bool, version: BackendVersion,
                 name: str = "") -> Tuple[dict, Optional[dict]]:
    """What the upload handlers do with the file and the `name` query
    (apiserver/server/pipeline_upload_server.go: 2.5.0 :88-164 for a
    pipeline, :181-260 for a version; 2.17.0 :96-246, :248-385); raises
    Refusal with the status and body they write."""
    if not filename.endswith((".yaml", ".yml", ".json")):  # server/util.go: 2.5.0 :150-174; 2.17.0 :154-178
        # (zip and tar.gz uploads are not modeled)
        raise _bad_file(new_pipeline, version)
    if version.name_limits:
        limit = version.name_limits[0 if new_pipeline else 1]
        if len(name) > limit:  # http.Error: the UserError's Error() text, a newline
            model = "Pipeline" if new_pipeline else "PipelineVersion"
            raise Refusal(400, f"Invalid input error: {model}.Name length cannot exceed {limit}\n")
    try:
        spec, platform = new_template(text, version)
    except SpecError as e:  # resource_manager.go: 2.5.0 :371-374, 1638-1641; 2.17.0 :500-503, 2155-2158
        raise _upload_refusal(new_pipeline, version, e, "due to template creation error") from None
    spec_name = spec["pipelineInfo"]["name"]
    refused = None
    if len(spec_name) > 128:  # 2.5.0 utils.go:111-113; 2.17.0 :114-116
        refused = _invalid_input("pipeline's name must contain no more than 128 characters")
    elif not MLMD_NAME.match(spec_name):  # 2.5.0 utils.go:117-119; 2.17.0 :120-122, returned unwrapped
        refused = _invalid_input("pipeline's name must contain only lowercase alphanumeric "
                                 "characters or '-' and must start with alphanumeric characters")
    if refused:
        raise _upload_refusal(new_pipeline, version, refused)
    return spec, platform


def _step(new_pipeline: bool) -> str:
    return "Failed to create a pipeline and a pipeline version" if new_pipeline else "Failed to create a pipeline version"


def _error_body(message: str) -> Dict[str, str]:
    # writeErrorToResponse (2.5.0 pipeline_upload_server.go:298-307; 2.17.0
    # :423-432): the v1beta1 Error message (backend/api/v1beta1/error.proto:22-25)
    return {"error_message": message, "error_details": message}


def _upload_refusal(new_pipeline: bool, version: BackendVersion, error: SpecError, context: str = "") -> Refusal:
    """Every template or name error is InvalidArgument: 2.5.0 answers it 500
    under the handler's wrapper (:142, :238) and the resource manager's
    `context`; 2.17.0 answers 400 with the external message alone (:188-191,
    :344-346)."""
    if not version.upload_words_wrapped:
        return Refusal(version.upload_invalid_status, _error_body(error.external))
    step = _step(new_pipeline)
    detail = f"{step} {context}: {error}" if context else str(error)
    return Refusal(version.upload_invalid_status, _error_body(f"{step}: {detail}"))


def _bad_file(new_pipeline: bool, version: BackendVersion) -> Refusal:
    if not version.bad_file_detailed:  # 2.17.0 :111-115, :262-266
        return Refusal(400, _error_body("Failed to read a pipeline spec file" if new_pipeline
                                        else "Failed to create a pipeline version"))
    wrapper = ("Failed to read a pipeline spec file" if new_pipeline  # 2.5.0 :104, :196
               else "Failed to create a pipeline version due to error reading pipeline spec file")
    return Refusal(400, _error_body(f"{wrapper}: Invalid input error: Unexpected pipeline file format. "
                                    "Support .zip, .tar.gz, .json or YAML"))


def compile_errors(spec: dict, platform: Optional[dict] = None) -> Optional[str]:
    """The Argo compiler's first error for a spec, or None (2.5.0
    v2/compiler/argocompiler/argo.go:46-160, v2/compiler/visitor.go:88-165;
    2.17.0 argo.go:71-246, visitor.go:89-174). Not modeled: 2.17.0's
    failure to add a platform spec (visitor.go:113-121), which the
    secretAsEnv documents the project writes do not meet."""
    parsed, error = _parse(pipeline_spec_pb2.PipelineSpec, spec)
    if parsed is None:
        return f"failed to parse pipeline spec: {error}"  # 2.5.0 visitor.go:190-192; 2.17.0 :202-204
    if not parsed.pipeline_info.name:
        return "pipelineInfo.name is empty"  # 2.5.0 argo.go:64-66; 2.17.0 :89-91
    deploy = json_format.ParseDict(  # 2.5.0 visitor.go:167-180; 2.17.0 :176-191: unknown fields allowed
        spec.get("deploymentSpec", {}), pipeline_spec_pb2.PipelineDeploymentConfig(),
        ignore_unknown_fields=True,
    )
    visited = set()

    def dfs(name: str, component) -> Optional[str]:
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
        # sorted, not topological: 2.5.0 visitor.go:139-143; 2.17.0 :145-149
        for key in sorted(component.dag.tasks):
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


def run_refusal(compile_error: str, version: BackendVersion) -> Refusal:
    """How CreateRun answers a spec the compiler refused.

    The plain error is wrapped by template.RunWorkflow ("Failed to compile
    job": 2.5.0 v2_template.go:317-319; 2.17.0 :397-399), ResourceManager.
    CreateRun ("Failed to generate the ExecutionSpec": 2.5.0 resource/
    resource_manager.go:498-501; 2.17.0 :669-672) and RunServer.CreateRun
    ("Failed to create a new run": 2.5.0 server/run_server.go:500-503;
    2.17.0 :532-535). Not a UserError, so util.ToGRPCError (2.5.0 common/
    util/error.go:366-390; 2.17.0 :375-401) makes it codes.Internal with the
    message "Internal error: %+v" (innermost first, a wrapper per line) and
    a google.rpc.Status detail of code Unknown; the gateway writes it as
    HTTP 500, in its version's body (BackendVersion.gateway_v2).
    """
    wrappers = ["Failed to compile job", "Failed to generate the ExecutionSpec", "Failed to create a new run"]
    message = "Internal error: " + "\n".join([compile_error, *wrappers])
    detail = {"@type": "type.googleapis.com/google.rpc.Status", "code": 2, "message": message}
    return Refusal(500, gateway_error(version, 13, message, [detail]))


def executor_kinds(spec: dict) -> Dict[str, List[str]]:
    """{executor kind: [labels]}, e.g. {"container": [...], "resolver": [...]}."""
    kinds: Dict[str, List[str]] = {}
    for label, executor in spec.get("deploymentSpec", {}).get("executors", {}).items():
        for kind in executor:
            kinds.setdefault(kind, []).append(label)
    return kinds
