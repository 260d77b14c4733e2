"""The launcher half of tests/kfp_driver.py: what KFP 2.5.0's launcher does
around a task's command, and what ML Metadata does to the artifacts between
tasks. Sources are under backend/src/ at tag 2.5.0 of kubeflow/pipelines.

Deviations, all because this runs on one machine instead of in pods:
  - the local paths the launcher uses (`/s3/BUCKET/KEY`, launcher_v2.go:882-896,
    and `/tmp/kfp_outputs/output_metadata.json`, :458) are under each task's
    own directory here, standing for the pod's own filesystem;
  - the object store is opened "from env" (what a pipeline root on s3:// with
    no kfp-launcher `providers` config gets, v2/config/s3.go:85-91) with boto3
    and the task's environment, where the launcher uses gocloud.
"""
import json
import os
import re
from typing import Any, Dict, List, Optional, Tuple

import yaml

OUTPUT_METADATA_FILE = "/tmp/kfp_outputs/output_metadata.json"  # component/launcher_v2.go:458
LOGS_KEY = "executor-logs"  # driver/driver.go:2025-2038
# objectstore/config.go:103
BUCKET_PATTERN = re.compile(r"(^[a-z][a-z0-9]+:///?)([^/?]+)(/[^?]*)?(\?.+)?\Z")


class LauncherError(RuntimeError):
    """The launcher (or driver) failed the task, in the backend's words."""


def q(text: str) -> str:
    return json.dumps(text)  # Go's %q, for ASCII


def bucket_config(pipeline_root: str) -> Tuple[str, str, str]:
    """(scheme, bucket, prefix) of a pipeline root: ParseBucketPathToConfig
    (objectstore/config.go:115-137), which the root DAG driver runs first
    (v2/config/env.go:105-108, driver.go:174)."""
    match = BUCKET_PATTERN.match(pipeline_root)
    if not match:
        raise LauncherError(f"parse bucket config failed: unrecognized pipeline root format: {q(pipeline_root)}")
    scheme, bucket, path, _ = match.groups()
    if scheme not in ("gs://", "s3://", "minio://", "mem://"):
        raise LauncherError(f"parse bucket config failed: unsupported Cloud bucket: {q(pipeline_root)}")
    prefix = (path or "")[1:] if (path or "").startswith("/") else (path or "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return scheme, bucket, prefix


def local_path(uri: str, pod_root: str) -> Optional[str]:
    """LocalPathForURI (launcher_v2.go:882-896), under `pod_root`; None for a
    scheme it does not map (the launcher then skips the artifact)."""
    for scheme, mount in (("gs://", "gcs"), ("minio://", "minio"), ("s3://", "s3")):
        if uri.startswith(scheme):
            return os.path.join(pod_root, mount, uri[len(scheme):])
    return None


def artifact_schema(artifact_type: Dict[str, str]) -> str:
    """getArtifactSchema (launcher_v2.go:822-833)."""
    if "instanceSchema" in artifact_type:
        return artifact_type["instanceSchema"]
    if "schemaTitle" in artifact_type:
        return "title: " + artifact_type["schemaTitle"]
    raise LauncherError(f"unknown type in ArtifactTypeSchema {artifact_type}")


def artifact_type_name(schema: str) -> str:
    """SchemaToArtifactType (metadata/client.go:1003-1015): a schema without a
    title ends the launcher (glog.Fatal)."""
    title = (yaml.safe_load(schema) or {}).get("title") if schema else None
    if not title:
        raise LauncherError("launcher exited: No title specified (glog.Fatal, metadata/client.go:1011)")
    return title


def to_mlmd_properties(metadata: Dict[str, Any], output_name: str, session_info: str) -> Dict[str, Tuple[str, Any]]:
    """An output artifact's metadata as ML Metadata custom properties
    (toMLMDArtifact, metadata/converter.go:110-166, and RecordArtifact's
    additions, metadata/client.go:1035-1054). Values: (kind, value)."""
    properties = {}
    for key, value in metadata.items():
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
        else:  # null: converter.go:162-164
            raise LauncherError(
                f"unable to produce MLMD artifact for output {q(output_name)}: failed to convert RuntimeArtifact "
                "to MLMD artifact: unknown/unsupported value type *structpb.Value_NullValue"
            )
    properties.setdefault("display_name", ("string", output_name))
    properties.setdefault("store_session_info", ("string", session_info))
    return properties


def to_runtime_artifact(artifact_id: int, uri: str, properties: Dict[str, Tuple[str, Any]]) -> Dict[str, Any]:
    """What a downstream task is handed for an upstream output: toRuntimeArtifact
    (metadata/converter.go:176-216) and OutputArtifact.ToRuntimeArtifact
    (metadata/client.go:175-190), whose schema is always "" (client.go:948).
    As protojson writes it: a set oneof is written even when empty."""
    metadata = {key: value for key, (kind, value) in properties.items()}  # numbers stay floats
    return {"name": str(artifact_id), "type": {"instanceSchema": ""}, "uri": uri, "metadata": metadata}


def merge_output(executor_artifact: Optional[Dict[str, Any]], provisioned: Dict[str, Any]) -> Dict[str, Any]:
    """mergeRuntimeArtifacts (launcher_v2.go:835-849): the executor's URI and
    metadata over what the driver provisioned; nothing else is taken."""
    merged = json.loads(json.dumps(provisioned))
    if executor_artifact:
        if executor_artifact.get("uri"):
            merged["uri"] = executor_artifact["uri"]
        if executor_artifact.get("metadata") is not None:
            merged.setdefault("metadata", {}).update(executor_artifact["metadata"])
    return merged


def read_executor_output(path: str) -> Dict[str, Any]:
    """getExecutorOutputFile (launcher_v2.go:851-880): no file is an empty output."""
    if not os.path.exists(path):
        return {}
    with open(path) as f:
        try:
            return json.load(f)
        except ValueError as e:
            raise LauncherError(f"failed to unmarshall ExecutorOutput in file {q(path)}: {e}") from None


def go_json(value) -> str:
    """JSON as Go writes a structpb number: 200, not 200.0."""
    def plain(v):
        if isinstance(v, float) and v.is_integer() and abs(v) < 1e21:
            return int(v)
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, list):
            return [plain(x) for x in v]
        return v
    return json.dumps(plain(value), separators=(",", ":"))


def placeholders(executor_input: Dict[str, Any], pod_root: str) -> Dict[str, str]:
    """getPlaceholders (launcher_v2.go:736-820)."""
    found = {"{{$}}": go_json(executor_input)}
    inputs, outputs = executor_input.get("inputs", {}), executor_input.get("outputs", {})
    for name, artifacts in inputs.get("artifacts", {}).items():
        uri = artifacts["artifacts"][0]["uri"]
        found[f"{{{{$.inputs.artifacts['{name}'].uri}}}}"] = uri
        if local_path(uri, pod_root):
            found[f"{{{{$.inputs.artifacts['{name}'].path}}}}"] = local_path(uri, pod_root)
    for name, artifacts in outputs.get("artifacts", {}).items():
        uri = artifacts["artifacts"][0]["uri"]
        found[f"{{{{$.outputs.artifacts['{name}'].uri}}}}"] = uri
        path = local_path(uri, pod_root)
        if path is None:
            raise LauncherError(f"resolve output artifact {q(name)}'s local path: failed to generate local path "
                                f"for URI {uri}: unsupported storage scheme")
        found[f"{{{{$.outputs.artifacts['{name}'].path}}}}"] = path
    for name, value in inputs.get("parameterValues", {}).items():
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, (int, float)):
            text = go_json(float(value))
        elif isinstance(value, str):
            text = value
        else:
            text = go_json(value)
        found[f"{{{{$.inputs.parameters['{name}']}}}}"] = text
    for name, parameter in outputs.get("parameters", {}).items():
        found[f"{{{{$.outputs.parameters['{name}'].output_file}}}}"] = parameter["outputFile"]
    return found


def substitute(args: List[str], found: Dict[str, str]) -> List[str]:
    result = []
    for arg in args:
        for placeholder, value in found.items():
            arg = arg.replace(placeholder, value)
        result.append(arg)
    return result


def expand_kubernetes_env(args: List[str], env_names: List[str], env: Dict[str, str]) -> List[str]:
    """Kubernetes expands $(VAR) in a container's command and args for the
    variables the container defines, and $$ to $ (the driver puts the user
    command into the pod's args: driver.go:471-473, 595-603)."""
    def expand(text):
        return re.sub(r"\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)",
                      lambda m: "$" if m.group(0) == "$$" else (env[m.group(1)] if m.group(1) in env_names else m.group(0)),
                      text)
    return [expand(a) for a in args]


# Variables of this process that must not reach a task: a pod has only what
# its image, its container spec and its secrets give it.
HOST_ONLY_PREFIXES = ("AWS_", "S3_", "MNIST_TFX_", "KF_PIPELINES")


def pod_env(container, platform_executor, secrets, image_env) -> Dict[str, str]:
    """The task's environment: this Python (standing for the image's), the
    image's env, the container's env (driver.go:463-469) and the secrets'
    keys named by the platform spec (driver.go:892-922)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(HOST_ONLY_PREFIXES)}
    env.update(image_env or {})
    env.update({e["name"]: e.get("value", "") for e in container.get("env", [])})
    for mapping in (platform_executor or {}).get("secretAsEnv", []):
        name = mapping.get("secretName")
        for key_to_env in mapping.get("keyToEnv", []):
            secret = (secrets or {}).get(name, {})
            if key_to_env["secretKey"] not in secret:  # the pod would not start (CreateContainerConfigError)
                raise LauncherError(f"secret {q(name)} has no key {q(key_to_env['secretKey'])}: the pod cannot start")
            env[key_to_env["envVar"]] = secret[key_to_env["secretKey"]]
    return env


class Bucket:
    """The pipeline root's bucket, opened from the task's environment."""

    def __init__(self, bucket: str, prefix: str, env: Dict[str, str]):
        import boto3

        self.bucket, self.prefix = bucket, prefix
        self.client = boto3.client(
            "s3", endpoint_url=env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL"),
            region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"), aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
        )

    def key(self, uri: str) -> str:
        """KeyFromURI (objectstore/config.go:86-97), as a key in the bucket."""
        prefixed = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        if not uri.startswith(prefixed):
            raise LauncherError(f"URI {q(uri)} does not have expected bucket prefix {q(prefixed)}")
        return self.prefix + uri[len(prefixed):].lstrip("/")

    def download(self, uri: str, local_dir: str) -> None:
        """DownloadBlob (objectstore/object_store.go:123-150): every object under the key."""
        key = self.key(uri)
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=key):
            for obj in page.get("Contents", []):
                # filepath.Rel gives "." for the key itself and for a "dir/" marker
                # object: both become the artifact's own local path (a file).
                relative = os.path.relpath(obj["Key"], key)
                target = local_dir if relative == "." else os.path.join(local_dir, relative)
                try:  # downloadFile (:180-205): MkdirAll of the parent, then os.Create
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    self.client.download_file(self.bucket, obj["Key"], target)
                except OSError as e:
                    raise LauncherError(
                        f"downloadFile(): unable to complete copying {q(obj['Key'])} to local storage {q(target)}: {e}"
                    ) from None

    def upload(self, local: str, uri: str) -> bool:
        """UploadBlob (object_store.go:88-121); False when `local` does not
        exist, which the launcher allows (launcher_v2.go:565-572)."""
        if not os.path.exists(local):
            return False
        key = self.key(uri)
        if os.path.isfile(local):
            self.client.upload_file(local, self.bucket, key)
            return True
        for directory, _, files in os.walk(local):
            for name in files:
                path = os.path.join(directory, name)
                self.client.upload_file(path, self.bucket, f"{key}/{os.path.relpath(path, local)}")
        return True
