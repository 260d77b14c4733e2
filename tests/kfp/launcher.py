"""The launcher half of tests/kfp/driver.py: what KFP's launcher does around a
task's command, and what its driver does to the command before. The object
store is tests/kfp/objectstore.py, ML Metadata tests/kfp/mlmd.py.

Sources: backend/src/ of kubeflow/pipelines, cited "2.5.0 path:line; 2.17.0
path:line"; the differences are facts of tests/kfp/versions.py. The local
paths the launcher uses (`/s3/BUCKET/KEY`, `/tmp/...`) are under each task's
own directory here, standing for the pod's own filesystem.
"""
import json
import os
import re
from typing import Any, Dict, List, Optional

from tests.kfp.versions import BackendVersion

# 2.5.0 component/launcher_v2.go:458; 2.17.0 :526, where the driver still puts
# it for a root it cannot map (driver/driver.go:804-807)
OUTPUT_METADATA_FILE = "/tmp/kfp_outputs/output_metadata.json"
LOGS_KEY = "executor-logs"  # 2.5.0 driver/driver.go:2025-2038; 2.17.0 :755-768


class LauncherError(RuntimeError):
    """The launcher (or driver) failed the task, in the backend's words."""


def q(text: str) -> str:
    return json.dumps(text)  # Go's %q, for ASCII


def merge_output(executor_artifact: Optional[Dict[str, Any]], provisioned: Dict[str, Any]) -> Dict[str, Any]:
    """mergeRuntimeArtifacts (2.5.0 component/launcher_v2.go:835-849; 2.17.0
    :1188-1206): the executor's URI and metadata over what the driver
    provisioned; nothing else is taken (2.17.0 also a custom path, which TFX
    does not write)."""
    merged = json.loads(json.dumps(provisioned))
    if executor_artifact:
        if executor_artifact.get("uri"):
            merged["uri"] = executor_artifact["uri"]
        if executor_artifact.get("metadata") is not None:
            merged.setdefault("metadata", {}).update(executor_artifact["metadata"])
    return merged


def read_executor_output(path: str) -> Dict[str, Any]:
    """getExecutorOutputFile (2.5.0 launcher_v2.go:851-880; 2.17.0
    :1208-1237): no file is an empty output."""
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


def qualify_logs(executor_input: Dict[str, Any], version: BackendVersion) -> None:
    """The log artifact's URI with the retry index, before placeholders are
    compiled (2.17.0 launcher_v2.go:420, 538-600; 2.5.0 has none)."""
    logs = executor_input.get("outputs", {}).get("artifacts", {}).get(LOGS_KEY)
    if logs and version.logs_suffix and not logs["artifacts"][0]["uri"].endswith(version.logs_suffix):
        logs["artifacts"][0]["uri"] += version.logs_suffix


def placeholders(executor_input: Dict[str, Any], local_path) -> Dict[str, str]:
    """getPlaceholders (2.5.0 launcher_v2.go:736-820; 2.17.0 :1077-1173),
    `{{$}}` first; `local_path(uri)`: LocalPathForURI in the pod, or None."""
    found = {"{{$}}": go_json(executor_input)}
    inputs, outputs = executor_input.get("inputs", {}), executor_input.get("outputs", {})
    for name, artifacts in inputs.get("artifacts", {}).items():
        uri = artifacts["artifacts"][0]["uri"]
        found[f"{{{{$.inputs.artifacts['{name}'].uri}}}}"] = uri
        if local_path(uri):
            found[f"{{{{$.inputs.artifacts['{name}'].path}}}}"] = local_path(uri)
    for name, artifacts in outputs.get("artifacts", {}).items():
        uri = artifacts["artifacts"][0]["uri"]
        found[f"{{{{$.outputs.artifacts['{name}'].uri}}}}"] = uri
        path = local_path(uri)
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


def substitute(args: List[str], found: Dict[str, str], version: BackendVersion) -> List[str]:
    """The placeholders replaced in the command and args: 2.5.0 replaces each
    in map order (launcher_v2.go:362-377); 2.17.0 `{{$}}` first, then the
    others, and in the command's first word `{{$}}` alone (compileCmdAndArgs,
    :1051-1074)."""
    result = []
    for index, arg in enumerate(args):
        for placeholder, value in found.items():
            if index == 0 and version.driver_resolves_arguments and placeholder != "{{$}}":
                break
            arg = arg.replace(placeholder, value)
        result.append(arg)
    return result


_PARAMETER = re.compile(r"\{\{\$\.inputs\.parameters\['(.+?)']}}")


def resolve_arguments(args: List[str], parameters: Dict[str, Any], version: BackendVersion) -> List[str]:
    """What the driver does to the command and args before the pod exists:
    2.5.0 copies them (driver/driver.go:471-473); 2.17.0 replaces
    {{$.inputs.parameters['x']}} with x's value, unless the argument names an
    output (driver.go:307-319, util.go:263-289), and fails on an unknown x
    (util.go:166-177). IfPresent clauses (util.go:207-261) are not modeled."""
    if not version.driver_resolves_arguments:
        return list(args)

    def text(value):  # pbValueToString, util.go:138-163
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (int, float)):
            return str(int(value)) if float(value).is_integer() else repr(float(value))
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)

    def one(match):
        if match.group(1) not in parameters:
            raise LauncherError(f"failed to resolve container args: failed to resolve input parameters: "
                                f"parameter {q(match.group(1))} not found in executor input")
        return text(parameters[match.group(1)])

    return [arg if "$.outputs" in arg else _PARAMETER.sub(one, arg) for arg in args]


def expand_kubernetes_env(args: List[str], env_names: List[str], env: Dict[str, str]) -> List[str]:
    """Kubernetes expands $(VAR) in a container's command and args for the
    variables the container defines, and $$ to $ (the driver puts the user
    command into the pod's args: 2.5.0 driver.go:471-473, 595-603; 2.17.0
    :307-319, 454-461)."""
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
    image's env, the container's env (2.5.0 driver.go:463-469; 2.17.0
    :287-298) and the secrets' keys named by the platform spec (2.5.0
    driver.go:892-922; 2.17.0 k8s.go:346-390)."""
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
