"""What outlives a task on a KFP backend: ML Metadata's artifacts and the cache.

Between tasks, artifacts pass through ML Metadata as the real one passes them:
the type schema is lost, metadata values become floats and wrapped structs.
Sources: backend/src/ of kubeflow/pipelines, cited "2.5.0 path:line; 2.17.0
path:line"; the differences are facts of tests/kfp/versions.py.
"""
import json
from typing import Any, Dict, Tuple

import yaml

from tests.kfp.launcher import LauncherError, q
from tests.kfp.versions import BackendVersion

# What a pipeline root on s3:// gets without a kfp-launcher `providers` config
# (2.5.0 v2/config/s3.go:85-91; 2.17.0 s3.go:87-95), as RecordArtifact stores
# it (2.5.0 metadata/client.go:1047-1054; 2.17.0 :1243-1250).
S3_FROM_ENV_SESSION = json.dumps({"Provider": "s3", "Params": {"fromEnv": "true"}}, separators=(",", ":"))


class Backend:
    """ML Metadata's artifacts and the cache, shared by the runs of a test."""

    def __init__(self):
        self.artifacts: Dict[int, Dict[str, Any]] = {}
        self.cache: Dict[str, Dict[str, int]] = {}  # cache key -> {output key: artifact id}

    def record(self, uri: str, properties, type_name: str) -> int:
        artifact_id = len(self.artifacts) + 1
        self.artifacts[artifact_id] = {"uri": uri, "properties": properties, "type": type_name}
        return artifact_id

    def runtime_artifact(self, artifact_id: int) -> Dict[str, Any]:
        artifact = self.artifacts[artifact_id]
        return to_runtime_artifact(artifact_id, artifact["uri"], artifact["properties"])


def artifact_schema(artifact_type: Dict[str, str]) -> str:
    """getArtifactSchema (2.5.0 component/launcher_v2.go:822-833; 2.17.0 :1175-1186)."""
    if "instanceSchema" in artifact_type:
        return artifact_type["instanceSchema"]
    if "schemaTitle" in artifact_type:
        return "title: " + artifact_type["schemaTitle"]
    raise LauncherError(f"unknown type in ArtifactTypeSchema {artifact_type}")


def artifact_type_name(schema: str) -> str:
    """SchemaToArtifactType (2.5.0 metadata/client.go:1003-1015; 2.17.0
    :1199-1211): a schema without a title ends the launcher (glog.Fatal)."""
    title = (yaml.safe_load(schema) or {}).get("title") if schema else None
    if not title:
        raise LauncherError("launcher exited: No title specified (glog.Fatal, metadata/client.go, SchemaToArtifactType)")
    return title


def to_mlmd_properties(metadata: Dict[str, Any], output_name: str, session_info: str,
                       version: BackendVersion) -> Dict[str, Tuple[str, Any]]:
    """An output artifact's metadata as ML Metadata custom properties
    (toMLMDArtifact: 2.5.0 metadata/converter.go:110-166; 2.17.0 :110-171;
    and RecordArtifact's additions: 2.5.0 metadata/client.go:1035-1054;
    2.17.0 :1231-1250). Values: (kind, value)."""
    properties = {}
    for key, value in metadata.items():
        if key == "_kfp_workspace" and version.drops_workspace_flag:
            continue
        if isinstance(value, bool):
            properties[key] = ("int", int(value))
        elif isinstance(value, (int, float)):
            properties[key] = ("double", float(value))
        elif isinstance(value, str):
            properties[key] = ("string", value)
        elif isinstance(value, list):
            properties[key] = ("struct", {"list": value})
        elif isinstance(value, dict):
            properties[key] = ("struct", {"struct": value})
        else:  # null: 2.5.0 converter.go:162-164; 2.17.0 :167-169
            raise LauncherError(
                f"unable to produce MLMD artifact for output {q(output_name)}: failed to convert RuntimeArtifact "
                "to MLMD artifact: unknown/unsupported value type *structpb.Value_NullValue"
            )
    properties.setdefault("display_name", ("string", output_name))
    properties.setdefault("store_session_info", ("string", session_info))
    return properties


def to_runtime_artifact(artifact_id: int, uri: str, properties: Dict[str, Tuple[str, Any]]) -> Dict[str, Any]:
    """What a downstream task is handed for an upstream output: toRuntimeArtifact
    (2.5.0 metadata/converter.go:176-216; 2.17.0 :181-221) and
    OutputArtifact.ToRuntimeArtifact (2.5.0 metadata/client.go:175-190;
    2.17.0 :245-260), whose schema is always "" (2.5.0 client.go:948; 2.17.0
    :1144). As protojson writes it: a set oneof is written even when empty."""
    metadata = {key: value for key, (kind, value) in properties.items()}  # numbers stay floats
    return {"name": str(artifact_id), "type": {"instanceSchema": ""}, "uri": uri, "metadata": metadata}


def cache_key(given: Dict[str, Any], container: Dict[str, Any]) -> str:
    """What GenerateCacheKey puts in the key (2.5.0 v2/cacheutils/cache.go:
    52-107; 2.17.0 :173-229, called by driver/cache.go:83-117): input artifact
    names (ML Metadata ids), parameter values, outputs without their URIs
    (with their names, which 2.17.0 sets), the command and args before
    substitution, the image; 2.17.0's PVC names, none here, are left out."""
    outputs = {k: {"name": v["artifacts"][0].get("name"), "type": v["artifacts"][0]["type"],
                   "metadata": v["artifacts"][0].get("metadata")}
               for k, v in given["outputs"].get("artifacts", {}).items()}
    return json.dumps({
        "inputs": {k: [a["name"] for a in v["artifacts"]] for k, v in given["inputs"].get("artifacts", {}).items()},
        "parameters": given["inputs"].get("parameterValues", {}), "outputs": outputs,
        "cmd": container.get("command", []) + container.get("args", []), "image": container.get("image"),
    }, sort_keys=True)
