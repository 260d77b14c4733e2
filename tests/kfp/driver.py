"""Runs a whole compiled PipelineSpec here, as a KFP backend of a given version runs it.

For each task of the root DAG, in dependency order, this does what the
backend's driver does (build the task's ExecutorInput from the spec, from ML
Metadata and from the pipeline root), then what its launcher does (download
the input artifacts, substitute the placeholders, run the container's command
and args as a local subprocess with the container's env and the platform
spec's secrets, read the executor output file, merge it into the output
artifacts, upload, record them in ML Metadata). Between tasks, artifacts pass
through an ML Metadata stand-in (tests/kfp/mlmd.py).

Sources: backend/src/ of kubeflow/pipelines, cited "2.5.0 path:line; 2.17.0
path:line"; the differences are facts of tests/kfp/versions.py. The launcher
half is tests/kfp/launcher.py, the object store tests/kfp/objectstore.py.
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

from tests.kfp import contract, launcher, mlmd
from tests.kfp import objectstore as store
from tests.kfp.launcher import LauncherError, q
from tests.kfp.mlmd import Backend
from tests.kfp.versions import BackendVersion


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


def dependency_order(dag: Dict[str, Any]) -> List[str]:
    """The root DAG's tasks, each after the tasks it depends on: dependentTasks
    and the producers of its inputs (2.5.0 argocompiler/dag.go:590-610;
    2.17.0 :651-671). Ties in name order; Argo would run them at once."""
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
            raise LauncherError(f"unknown producer task {q(sorted(unknown)[0])} in DAG")  # 2.5.0 dag.go:605; 2.17.0 :666
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
    """resolveInputParameter for a constant (2.5.0 driver/driver.go:1590-1667;
    2.17.0 driver/resolve.go:375-499), then the type check and conversion
    (2.5.0 driver.go:1425-1504; 2.17.0 resolve.go:169-248). Not modeled, as
    TFX's specs hold none: the run-time placeholders a constant may be
    ({{$.pipeline_job_name}}, ...), 2.17.0's literal constraints (resolve.go:
    349-355)."""
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


def executor_input(task_name, task, component, produced, backend, pipeline_root, publish_logs,
                   version: BackendVersion) -> Dict[str, Any]:
    """The ExecutorInput the container driver builds (2.5.0 driver/driver.go:
    279-323, resolveInputs :1369-1584, provisionOutputs :2010-2061; 2.17.0
    driver/container.go:77-123, resolve.go:102-373, driver.go:741-810), as
    protojson writes it: lowerCamelCase names, empty maps left out."""
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
        # 2.5.0 driver.go:1927-2007; 2.17.0 resolve.go:700-816
        artifacts[name] = {"artifacts": [backend.runtime_artifact(produced[producer][key])]}
    if artifacts:
        inputs["artifacts"] = artifacts
    if parameters:
        inputs["parameterValues"] = parameters
    outputs_spec = dict(component.get("outputDefinitions", {}).get("artifacts", {}))
    if publish_logs:  # 2.5.0 driver.go:2025-2038; 2.17.0 :755-768
        outputs_spec[launcher.LOGS_KEY] = {"artifactType": {"schemaTitle": "system.Artifact"}}
    # GenerateOutputURI (2.5.0 metadata/client.go:287-302; 2.17.0 :391-406)
    task_dir = task_name if version.task_dir_from_key else task.get("taskInfo", {}).get("name", "")
    task_root = f"{pipeline_root.split('?')[0].rstrip('/')}/{task_dir}/{uuid.uuid4()}"
    outputs: Dict[str, Any] = {}
    provisioned = {}
    for name, definition in outputs_spec.items():
        artifact = {"name": name} if version.names_outputs else {}
        artifact.update({"type": definition["artifactType"], "uri": f"{task_root}/{name}"})
        if definition.get("metadata"):
            artifact["metadata"] = definition["metadata"]
        provisioned[name] = {"artifacts": [artifact]}
    if provisioned:
        outputs["artifacts"] = provisioned
    output_parameters = component.get("outputDefinitions", {}).get("parameters", {})
    if output_parameters:
        outputs["parameters"] = {n: {"outputFile": f"/tmp/kfp/outputs/{n}"} for n in output_parameters}
    in_task_root = version.output_file_in_task_root and store.local_path(task_root, "/")
    outputs["outputFile"] = f"{in_task_root}/output_metadata.json" if in_task_root else launcher.OUTPUT_METADATA_FILE
    return {"inputs": inputs, "outputs": outputs}


def run_pipeline(spec: Dict[str, Any], pipeline_root: str, run_id: str, work_dir: str, *,
                 platform: Optional[Dict[str, Any]] = None, secrets: Optional[Dict[str, Dict[str, str]]] = None,
                 image_env: Optional[Dict[str, str]] = None, backend: Optional[Backend] = None,
                 publish_logs: bool = True, timeout: float = 1800, past_refusal: bool = False,
                 version: BackendVersion, run_as=None) -> PipelineRun:
    """Runs every task of `spec` once, as `version` would; stops at the first that fails.

    publish_logs: the backend's PUBLISH_LOGS, "true" in its own manifests
    (manifests/kustomize/base/pipeline/ml-pipeline-apiserver-deployment.yaml:
    2.5.0 :24-25; 2.17.0 :114-115).
    Raises LauncherError for a run the backend would refuse before any task,
    unless `past_refusal`: then the tasks it could run are run, to see what
    fails next, and the first it could not is failed with the refusal.
    run_as: a tests.run_as.RunAs, to run each task's command as its
    unprivileged uid (the container's user) rather than as this process.
    """
    backend = backend or Backend()
    scheme, bucket_name, prefix = store.bucket_config(pipeline_root)
    if scheme != "s3://":
        raise LauncherError(f"{scheme} pipeline roots are not modeled here")
    refused = contract.compile_errors(spec, platform)
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
            record.executor_input = executor_input(name, task, component, produced, backend, pipeline_root,
                                                   publish_logs, version)
            if "container" not in executors[label]:
                raise LauncherError(refused if "resolver" in executors[label] else "importer tasks are not modeled here")
            container = executors[label]["container"]
            key = mlmd.cache_key(record.executor_input, container)
            # 2.5.0 driver.go:359-378; 2.17.0 container.go:210-240
            if task.get("cachingOptions", {}).get("enableCache") and key in backend.cache:
                produced[name] = dict(backend.cache[key])
                record.cached = True
                record.outputs = {k: backend.runtime_artifact(i) for k, i in produced[name].items()}
            else:
                env = launcher.pod_env(container, platform_executors.get(label), secrets, image_env)
                produced[name] = _launch(record, container, env, os.path.join(work_dir, run_id, name),
                                         bucket_name, prefix, backend, timeout, version, run_as)
                # 2.5.0 launcher_v2.go:244-261; 2.17.0 :299-317
                if task.get("cachingOptions", {}).get("enableCache"):
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


def _launch(record: TaskRun, container, env, task_dir, bucket_name, prefix, backend, timeout,
            version: BackendVersion, run_as=None) -> Dict[str, int]:
    """The launcher around one command (2.5.0 component/launcher_v2.go:341-592;
    2.17.0 :405-476, 657-856); the task's outputs as ML Metadata artifact ids."""
    pod_root = os.path.join(task_dir, "pod")
    shutil.rmtree(task_dir, ignore_errors=True)
    os.makedirs(pod_root)
    given = json.loads(json.dumps(record.executor_input))
    launcher.qualify_logs(given, version)
    bucket = store.Bucket(bucket_name, prefix, env, version)
    # downloadArtifacts: 2.5.0 launcher_v2.go:619-688; 2.17.0 :927-1003
    for name, artifacts in given["inputs"].get("artifacts", {}).items():
        uri = artifacts["artifacts"][0]["uri"]
        local = store.local_path(uri, pod_root)
        if local:
            owner = bucket if uri.startswith(f"s3://{bucket_name}/{prefix}") else store.Bucket(uri[5:].split("/")[0], "", env, version)
            try:
                owner.download(uri, local)
            except LauncherError as e:  # 2.5.0 :659-661; 2.17.0 :974-976
                raise LauncherError(f"failed to download input artifact {q(name)} from remote storage URI {q(uri)}: {e}") from None
    # The pod's own filesystem: where the executor output file and output parameters go.
    in_pod = lambda path: os.path.join(pod_root, path.lstrip("/"))  # noqa: E731
    local_input = json.loads(json.dumps(given))
    local_input["outputs"]["outputFile"] = in_pod(given["outputs"]["outputFile"])
    for parameter in local_input["outputs"].get("parameters", {}).values():
        parameter["outputFile"] = in_pod(parameter["outputFile"])
    # prepareOutputFolders: 2.5.0 :898-925; 2.17.0 :1280-1307
    for artifacts in given["outputs"].get("artifacts", {}).values():
        os.makedirs(os.path.dirname(store.local_path(artifacts["artifacts"][0]["uri"], pod_root)), exist_ok=True)
    os.makedirs(os.path.dirname(local_input["outputs"]["outputFile"]), exist_ok=True)
    args = container.get("command", []) + container.get("args", [])
    args = launcher.resolve_arguments(args, given["inputs"].get("parameterValues", {}), version)
    args = launcher.expand_kubernetes_env(args, [e["name"] for e in container.get("env", [])], env)
    args = launcher.substitute(args, launcher.placeholders(local_input, lambda uri: store.local_path(uri, pod_root)), version)
    record.command = args
    executable = sys.executable if args[0] in ("python", "python3") else args[0]  # the image's Python
    command = [executable, *args[1:]]
    if run_as is not None:  # the launcher runs in the task's container: what it made is the task user's
        made = [os.path.dirname(local_input["outputs"]["outputFile"])] + [
            os.path.dirname(store.local_path(a["artifacts"][0]["uri"], pod_root))
            for a in given["outputs"].get("artifacts", {}).values()]
        command, env = run_as.task(command, env, temp_dir=in_pod("/tmp"), writable=made)
    try:
        done = subprocess.run(command, cwd=task_dir, env=env, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise LauncherError(f"timed out after {timeout} s") from None
    record.returncode, record.log = done.returncode, done.stdout + done.stderr
    logs = given["outputs"].get("artifacts", {}).get(launcher.LOGS_KEY)
    if logs:  # getLogWriter (2.5.0 :467-488; 2.17.0 :632-653): stdout and stderr, to be uploaded
        with open(store.local_path(logs["artifacts"][0]["uri"], pod_root), "w") as f:
            f.write(record.log)
    if done.returncode != 0:  # 2.5.0 :527-529, 390-392; 2.17.0 :715-717, 446-457
        if logs and version.logs_managed:
            _record_outputs(record, {launcher.LOGS_KEY: logs}, pod_root, bucket, backend, version)
        raise LauncherError(f"failed to execute component: exit status {done.returncode}\n{record.log[-4000:]}")
    record.executor_output = launcher.read_executor_output(local_input["outputs"]["outputFile"])
    # collectOutputParameters: 2.5.0 :416-447; 2.17.0 :484-514
    for name, parameter in local_input["outputs"].get("parameters", {}).items():
        if name not in record.executor_output.get("parameterValues", {}) and not os.path.exists(parameter["outputFile"]):
            raise LauncherError(f"failed to read output parameter name={q(name)}: no file {parameter['outputFile']}")
    return _record_outputs(record, given["outputs"].get("artifacts", {}), pod_root, bucket, backend, version)


def _record_outputs(record: TaskRun, outputs, pod_root, bucket, backend, version) -> Dict[str, int]:
    """uploadOutputArtifacts (2.5.0 launcher_v2.go:540-592; 2.17.0 :778-856):
    each output merged with the executor's, uploaded, recorded."""
    produced = {}
    for name, artifacts in outputs.items():
        from_executor = record.executor_output.get("artifacts", {}).get(name, {}).get("artifacts", [None])[0]
        if name == launcher.LOGS_KEY and version.logs_managed:
            from_executor = None
        merged = launcher.merge_output(from_executor, artifacts["artifacts"][0])
        local = store.local_path(merged["uri"], pod_root)
        if local is not None:  # the key is checked before the upload is tried (2.5.0 :561-564; 2.17.0 :820-823)
            try:
                bucket.key(merged["uri"])
            except LauncherError as e:
                raise LauncherError(f"failed to upload output artifact {q(name)}: {e}") from None
            bucket.upload(local, merged["uri"])
        type_name = mlmd.artifact_type_name(mlmd.artifact_schema(merged["type"]))
        properties = mlmd.to_mlmd_properties(merged.get("metadata", {}), name, mlmd.S3_FROM_ENV_SESSION, version)
        produced[name] = backend.record(merged["uri"], properties, type_name)
        record.outputs[name] = merged
    return produced
