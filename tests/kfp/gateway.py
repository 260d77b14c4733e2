"""The gRPC gateway in front of the Kubeflow Pipelines API: the request bodies
it takes and the error bodies it writes, and a refused request as the
stand-ins raise it.

2.5.0 runs grpc-gateway v1.16.0, 2.17.0 v2.28.0 (go.mod:29 at both tags);
what differs is a fact of tests/kfp/versions.py (gateway_v2,
refuses_unknown_fields). Sources are cited under backend/ of
kubeflow/pipelines, and the gateway's own runtime/ at its tag.
"""
import json
from typing import Any, Dict, List, Union

from tests.kfp.versions import BackendVersion


class Refusal(Exception):
    """A refused request: the HTTP status and the body the server sends
    (a JSON object, or text from Go's http.Error)."""

    def __init__(self, status: int, body: Union[Dict[str, Any], str]):
        text = body if isinstance(body, str) else (body.get("error_message") or body.get("message"))
        super().__init__(text)
        self.status, self.body = status, body


def gateway_error(version: BackendVersion, code: int, message: str, details: List[dict]) -> Dict[str, Any]:
    """The body for a gRPC status (v1.16.0 runtime/errors.go:113-160; v2.28.0
    runtime/errors.go:108-170)."""
    if version.gateway_v2:  # google.rpc.Status, empty fields left out (EmitUnpopulated false)
        return {"code": code, "message": message, **({"details": details} if details else {})}
    return {"error": message, "code": code, "message": message, "details": details}


# The v2beta1 messages kfp.Client sends, with their fields at 2.17.0
# (backend/api/v2beta1/run.proto: Run, PipelineVersionReference;
# runtime_config.proto: RuntimeConfig; experiment.proto: Experiment).
REQUEST_FIELDS = {
    "run": {"experiment_id", "run_id", "display_name", "storage_state", "description", "pipeline_version_id",
            "pipeline_spec", "pipeline_version_reference", "runtime_config", "service_account", "created_at",
            "scheduled_at", "finished_at", "state", "error", "run_details", "recurring_run_id", "state_history",
            "plugins_input", "plugins_output"},
    "run.pipeline_version_reference": {"pipeline_id", "pipeline_version_id"},
    "run.runtime_config": {"parameters", "pipeline_root"},
    "experiment": {"experiment_id", "display_name", "description", "created_at", "namespace", "storage_state",
                   "last_run_created_at"},
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def check_request_body(kind: str, body: Dict[str, Any], version: BackendVersion) -> None:
    """Refuses a request body with a field its message lacks, where the
    version's gateway does (BackendVersion.refuses_unknown_fields): 400,
    InvalidArgument, protojson's complaint (its position in the text left out).
    """
    if not version.refuses_unknown_fields:
        return
    for path, fields in REQUEST_FIELDS.items():
        if path.split(".")[0] != kind:
            continue
        value = body
        for key in path.split(".")[1:]:
            value = value.get(key) or value.get(_camel(key)) or {}
        for field in value:
            if field not in fields and field not in {_camel(f) for f in fields}:
                raise Refusal(400, gateway_error(version, 3, f"proto: unknown field {json.dumps(field)}", []))
