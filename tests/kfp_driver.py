"""Runs a whole compiled PipelineSpec here, as a KFP 2.5.0 backend runs it.

For each task of the root DAG, in dependency order, this does what the
backend's driver does (build the task's ExecutorInput from the spec, from ML
Metadata and from the pipeline root), then what its launcher does (download
the input artifacts, substitute the placeholders, run the container's command
and args as a local subprocess with the container's env and the platform
spec's secrets, read the executor output file, merge it into the output
artifacts, upload, record them in ML Metadata). Between tasks, artifacts pass
through an ML Metadata stand-in as the real one passes them: the type schema
is lost, metadata values become floats and wrapped structs.

Sources: backend/src/ at tag 2.5.0 of kubeflow/pipelines, cited as
path:line; the launcher half and its deviations are in tests/kfp_launcher.py.
Not modeled: nested DAGs, loops, conditions, output parameters from upstream
tasks, the caching service's real hash (the cache key's contents are).
"""
import dataclasses
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from typing import Any, Dict, List, Optional

from tests import kfp_contract
from tests import kfp_launcher as launcher
from tests.kfp_launcher import LauncherError, q

# What a pipeline root on s3:// gets without a kfp-launcher `providers`
# config (v2/config/s3.go:85-91), as RecordArtifact stores it (client.go:1047-1054).
S3_FROM_ENV_SESSION = json.dumps({"Provider": "s3", "Params": {"fromEnv": "true"}}, separators=(",", ":"))


@dataclasses.dataclass
class TaskRun:
    name: str
    executor_input: Dict[str, Any]  # as the driver built it (the JSON in {{$}})
    command: List[str] = dataclasses.field(default_factory=list)  # after substitution
    returncode: Optional[int] = None
    cached: bool = False
    executor_output: Dict[str, Any] = dataclasses.field(default_factory=dict)
    outputs: Dict[str, Dict[str, Any]] = dataclasses.field(default_factory=dict)  # after the launcher's merge
    error: str = ""
    log: str = ""
    seconds: float = 0.0

    @property
    def succeeded(self) -> bool:
        return not self.error


@dataclasses.dataclass
class PipelineRun:
    run_id: str
    pipeline_root: str
    tasks: Dict[str, TaskRun] = dataclasses.field(default_factory=dict)  # in the order run
    failed: Optional[str] = None  # the task that failed, or "" for a run refused before any task


class Backend:
    """What outlives a run: ML Metadata's artifacts and the cache."""

    def __init__(self):
        self.artifacts: Dict[int, Dict[str, Any]] = {}
        self.cache: Dict[str, Dict[str, int]] = {}  # cache key -> {output key: artifact id}

    def record(self, uri: str, properties, type_name: str) -> int:
        artifact_id = len(self.artifacts) + 1
        self.artifacts[artifact_id] = {"uri": uri, "properties": properties, "type": type_name}
        return artifact_id

    def runtime_artifact(self, artifact_id: int) -> Dict[str, Any]:
        artifact = self.artifacts[artifact_id]
        return launcher.to_runtime_artifact(artifact_id, artifact["uri"], artifact["properties"])


def dependency_order(dag: Dict[str, Any]) -> List[str]:
    """The root DAG's tasks, each after the tasks it depends on: dependentTasks
    and the producers of its inputs (argocompiler/dag.go:590-610). Ties in
    name order; Argo would run them at once."""
    needs = {}
    for name, task in dag["tasks"].items():
        producers = set(task.get("dependentTasks", []))
        for kind in ("artifacts", "parameters"):
            for spec in task.get("inputs", {}).get(kind, {}).values():
                for key in ("taskOutputArtifact", "taskOutputParameter"):
                    if key in spec:
                        producers.add(spec[key]["producerTask"])
        unknown = producers - set(dag["tasks"])
        if unknown:
            raise LauncherError(f"unknown producer task {q(sorted(unknown)[0])} in DAG")  # dag.go:605
        needs[name] = producers
    order: List[str] = []
    while needs:
        ready = sorted(n for n, p in needs.items() if p <= set(order))
        if not ready:
            raise LauncherError(f"a cycle among {sorted(needs)}")
        order.append(ready[0])
        del needs[ready[0]]
    return order


def _parameter(name: str, spec: Dict[str, Any], definition: Dict[str, Any]):
    """resolveInputParameter (driver.go:1590-1667) for a constant, then the type
    check and conversion (driver.go:1425-1504)."""
    constant = spec.get("runtimeValue", {})
    if "constant" not in constant:
        raise LauncherError(f"resolving input parameter {q(name)}: parameter spec {spec} not implemented here")
    value = constant["constant"]
    kind = definition.get("parameterType", "")
    if kind == "STRING" and not isinstance(value, str):
        return launcher.go_json(value) if not isinstance(value, bool) else str(value).lower()
    expected = {"NUMBER_INTEGER": (int, float), "NUMBER_DOUBLE": (int, float), "BOOLEAN": (bool,),
                "LIST": (list,), "STRUCT": (dict,), "STRING": (str,)}.get(kind)
    if expected and (not isinstance(value, expected) or (kind.startswith("NUMBER") and isinstance(value, bool))):
        raise LauncherError(f"input parameter {q(name)} type mismatch: expect {kind}, got {type(value).__name__}")
    return value


def executor_input(task_name, task, component, produced, backend, pipeline_root, publish_logs) -> Dict[str, Any]:
    """The ExecutorInput the container driver builds (driver.go:279-323,
    resolveInputs :1369-1584, provisionOutputs :2010-2061), as protojson
    writes it: lowerCamelCase names, empty maps left out."""
    inputs: Dict[str, Any] = {}
    definitions = component.get("inputDefinitions", {})
    parameters = {name: _parameter(name, spec, definitions.get("parameters", {}).get(name, {}))
                  for name, spec in task.get("inputs", {}).get("parameters", {}).items()}
    for name, definition in definitions.get("parameters", {}).items():
        if name not in parameters and not definition.get("isOptional") and "defaultValue" not in definition:
            raise LauncherError(f"neither value nor default value provided for non-optional parameter {q(name)}")
    artifacts = {}
    for name, spec in task.get("inputs", {}).get("artifacts", {}).items():
        if "taskOutputArtifact" not in spec:
            raise LauncherError(f"input artifact {q(name)}: {spec} not implemented here")
        producer = spec["taskOutputArtifact"]["producerTask"]
        key = spec["taskOutputArtifact"]["outputArtifactKey"]
        artifacts[name] = {"artifacts": [backend.runtime_artifact(produced[producer][key])]}  # driver.go:1927-2007
    if artifacts:
        inputs["artifacts"] = artifacts
    if parameters:
        inputs["parameterValues"] = parameters
    outputs_spec = dict(component.get("outputDefinitions", {}).get("artifacts", {}))
    if publish_logs:  # driver.go:2025-2038
        outputs_spec[launcher.LOGS_KEY] = {"artifactType": {"schemaTitle": "system.Artifact"}}
    salt = str(uuid.uuid4())
    root = pipeline_root.split("?")[0].rstrip("/")  # GenerateOutputURI, metadata/client.go:287-302
    outputs: Dict[str, Any] = {}
    provisioned = {}
    for name, definition in outputs_spec.items():
        artifact = {"type": definition["artifactType"], "uri": f"{root}/{task_name}/{salt}/{name}"}
        if definition.get("metadata"):
            artifact["metadata"] = definition["metadata"]
        provisioned[name] = {"artifacts": [artifact]}
    if provisioned:
        outputs["artifacts"] = provisioned
    output_parameters = component.get("outputDefinitions", {}).get("parameters", {})
    if output_parameters:
        outputs["parameters"] = {n: {"outputFile": f"/tmp/kfp/outputs/{n}"} for n in output_parameters}
    outputs["outputFile"] = launcher.OUTPUT_METADATA_FILE
    return {"inputs": inputs, "outputs": outputs}


def _cache_key(given: Dict[str, Any], container: Dict[str, Any]) -> str:
    """What GenerateCacheKey puts in the key (v2/cacheutils/cache.go:52-107):
    input artifact names (ML Metadata ids), parameter values, outputs without
    their URIs, the command and args before substitution, the image."""
    outputs = {k: {"type": v["artifacts"][0]["type"], "metadata": v["artifacts"][0].get("metadata")}
               for k, v in given["outputs"].get("artifacts", {}).items()}
    return json.dumps({
        "inputs": {k: [a["name"] for a in v["artifacts"]] for k, v in given["inputs"].get("artifacts", {}).items()},
        "parameters": given["inputs"].get("parameterValues", {}), "outputs": outputs,
        "cmd": container.get("command", []) + container.get("args", []), "image": container.get("image"),
    }, sort_keys=True)


def run_pipeline(spec: Dict[str, Any], pipeline_root: str, run_id: str, work_dir: str, *,
                 platform: Optional[Dict[str, Any]] = None, secrets: Optional[Dict[str, Dict[str, str]]] = None,
                 image_env: Optional[Dict[str, str]] = None, backend: Optional[Backend] = None,
                 publish_logs: bool = True, timeout: float = 1800, past_refusal: bool = False,
                 run_as=None) -> PipelineRun:
    """Runs every task of `spec` once; stops at the first that fails.

    publish_logs: the backend's PUBLISH_LOGS, "true" in its own manifests
    (manifests/kustomize/base/pipeline/ml-pipeline-apiserver-deployment.yaml:24-25).
    Raises LauncherError for a run the backend would refuse before any task,
    unless `past_refusal`: then the tasks it could run are run, to see what
    fails next, and the first it could not is failed with the refusal.
    run_as: a tests.run_as.RunAs, to run each task's command as its
    unprivileged uid (the container's user) rather than as this process.
    """
    backend = backend or Backend()
    scheme, bucket_name, prefix = launcher.bucket_config(pipeline_root)
    if scheme != "s3://":
        raise LauncherError(f"{scheme} pipeline roots are not modeled here")
    refused = kfp_contract.compile_errors(spec, platform)
    if refused and not past_refusal:
        raise LauncherError(refused)
    executors = spec["deploymentSpec"]["executors"]
    platform_executors = ((platform or {}).get("platforms", {}).get("kubernetes", {})
                          .get("deploymentSpec", {}).get("executors", {}))
    run = PipelineRun(run_id, pipeline_root)
    produced: Dict[str, Dict[str, int]] = {}
    order = dependency_order(spec["root"]["dag"])
    for number, name in enumerate(order, 1):
        task = spec["root"]["dag"]["tasks"][name]
        component = spec["components"][task["componentRef"]["name"]]
        label = component["executorLabel"]
        started = time.monotonic()
        record = run.tasks[name] = TaskRun(name, {})
        try:
            record.executor_input = executor_input(name, task, component, produced, backend, pipeline_root, publish_logs)
            if "container" not in executors[label]:
                raise LauncherError(refused if "resolver" in executors[label] else "importer tasks are not modeled here")
            container = executors[label]["container"]
            key = _cache_key(record.executor_input, container)
            if task.get("cachingOptions", {}).get("enableCache") and key in backend.cache:  # driver.go:359-378
                produced[name] = dict(backend.cache[key])
                record.cached = True
                record.outputs = {k: backend.runtime_artifact(i) for k, i in produced[name].items()}
            else:
                env = launcher.pod_env(container, platform_executors.get(label), secrets, image_env)
                produced[name] = _launch(record, container, env, os.path.join(work_dir, run_id, name),
                                         bucket_name, prefix, backend, timeout, run_as)
                if task.get("cachingOptions", {}).get("enableCache"):  # launcher_v2.go:244-261
                    backend.cache[key] = dict(produced[name])
        except LauncherError as e:
            record.error = str(e)
        record.seconds = time.monotonic() - started
        status = "cached" if record.cached else ("succeeded" if record.succeeded else "FAILED: " + record.error.splitlines()[0][:200])
        print(f"[kfp-driver {run_id}] {number}/{len(order)} {name}: {status} ({record.seconds:.0f} s)", flush=True)
        if not record.succeeded:
            run.failed = name
            break
    return run


def _launch(record: TaskRun, container, env, task_dir, bucket_name, prefix, backend, timeout, run_as=None) -> Dict[str, int]:
    """The launcher around one command (launcher_v2.go:341-592); the task's
    outputs as ML Metadata artifact ids."""
    pod_root = os.path.join(task_dir, "pod")
    shutil.rmtree(task_dir, ignore_errors=True)
    os.makedirs(pod_root)
    given = record.executor_input
    bucket = launcher.Bucket(bucket_name, prefix, env)
    for name, artifacts in given["inputs"].get("artifacts", {}).items():  # launcher_v2.go:619-688
        uri = artifacts["artifacts"][0]["uri"]
        local = launcher.local_path(uri, pod_root)
        if local:
            owner = bucket if uri.startswith(f"s3://{bucket_name}/{prefix}") else launcher.Bucket(uri[5:].split("/")[0], "", env)
            owner.download(uri, local)
    # The pod's own /tmp: where the executor output file and output parameters go.
    pod_tmp = lambda path: os.path.join(pod_root, path.lstrip("/"))  # noqa: E731
    local_input = json.loads(json.dumps(given))
    local_input["outputs"]["outputFile"] = pod_tmp(launcher.OUTPUT_METADATA_FILE)
    for parameter in local_input["outputs"].get("parameters", {}).values():
        parameter["outputFile"] = pod_tmp(parameter["outputFile"])
    for artifacts in given["outputs"].get("artifacts", {}).values():  # prepareOutputFolders, :898-925
        os.makedirs(os.path.dirname(launcher.local_path(artifacts["artifacts"][0]["uri"], pod_root)), exist_ok=True)
    os.makedirs(os.path.dirname(local_input["outputs"]["outputFile"]), exist_ok=True)
    args = container.get("command", []) + container.get("args", [])
    args = launcher.expand_kubernetes_env(args, [e["name"] for e in container.get("env", [])], env)
    args = launcher.substitute(args, launcher.placeholders(local_input, pod_root))
    record.command = args
    executable = sys.executable if args[0] in ("python", "python3") else args[0]  # the image's Python
    command = [executable, *args[1:]]
    if run_as is not None:  # the launcher runs in the task's container: what it made is the task user's
        made = [os.path.dirname(local_input["outputs"]["outputFile"])] + [
            os.path.dirname(launcher.local_path(a["artifacts"][0]["uri"], pod_root))
            for a in given["outputs"].get("artifacts", {}).values()]
        command, env = run_as.task(command, env, temp_dir=pod_tmp("/tmp"), writable=made)
    try:
        done = subprocess.run(command, cwd=task_dir, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LauncherError(f"timed out after {timeout} s") from None
    record.returncode, record.log = done.returncode, done.stdout + done.stderr
    logs = given["outputs"].get("artifacts", {}).get(launcher.LOGS_KEY)
    if logs:  # getLogWriter (launcher_v2.go:467-488): stdout and stderr, to be uploaded
        with open(launcher.local_path(logs["artifacts"][0]["uri"], pod_root), "w") as f:
            f.write(record.log)
    if done.returncode != 0:  # launcher_v2.go:527-529
        raise LauncherError(f"failed to execute component: exit status {done.returncode}\n{record.log[-4000:]}")
    record.executor_output = launcher.read_executor_output(local_input["outputs"]["outputFile"])
    for name, parameter in local_input["outputs"].get("parameters", {}).items():  # :416-447
        if name not in record.executor_output.get("parameterValues", {}) and not os.path.exists(parameter["outputFile"]):
            raise LauncherError(f"failed to read output parameter name={q(name)}: no file {parameter['outputFile']}")
    produced = {}
    for name, artifacts in given["outputs"].get("artifacts", {}).items():  # :540-592
        from_executor = record.executor_output.get("artifacts", {}).get(name, {}).get("artifacts", [None])[0]
        merged = launcher.merge_output(from_executor, artifacts["artifacts"][0])
        local = launcher.local_path(merged["uri"], pod_root)
        if local is not None:  # the key is checked before the upload is tried (:561-564)
            try:
                bucket.key(merged["uri"])
            except LauncherError as e:
                raise LauncherError(f"failed to upload output artifact {q(name)}: {e}") from None
            bucket.upload(local, merged["uri"])
        type_name = launcher.artifact_type_name(launcher.artifact_schema(merged["type"]))
        properties = launcher.to_mlmd_properties(merged.get("metadata", {}), name, S3_FROM_ENV_SESSION)
        produced[name] = backend.record(merged["uri"], properties, type_name)
        record.outputs[name] = merged
    return produced
