"""The driver stand-in itself (tests/kfp/driver.py), on a toy spec whose
tasks are one-line Python commands: fast, no TensorFlow, moto's S3 server.

What a downstream task is handed is checked field by field against what the
driver of KFP 2.5.0 and of 2.17.0 builds (conftest's backend_version; sources
cited in tests/kfp/driver.py, launcher.py, objectstore.py, mlmd.py).
"""
import copy
import json
import os

import pytest

from tests.fixtures.data import PROJECT_ROOT
from tests.fixtures.s3 import BUCKET, CREDENTIALS, REGION, SECRET, SECRETS
from tests.kfp import driver as kfp_driver
from tests.kfp import mlmd as kfp_mlmd
from tests.kfp import run_as
from tests.kfp.launcher import LauncherError
from tests.kfp.objectstore import Bucket, addressing_style, bucket_config
from tests.kfp.versions import V2_5_0, V2_17_0

# A task: writes an executor output giving each output artifact metadata of
# every JSON kind, and prints what it was given.
TOY = r"""
import json, os, sys
given = json.loads(sys.argv[1])
metadata = {"count": 200, "splits": ["train"], "counts": {"train": 200}, "flag": True,
            "who": os.environ.get("AWS_ACCESS_KEY_ID", "")}
outputs = {k: {"artifacts": [{"uri": v["artifacts"][0]["uri"], "metadata": metadata}]}
           for k, v in given["outputs"].get("artifacts", {}).items() if k != "executor-logs"}
os.makedirs(os.path.dirname(given["outputs"]["outputFile"]), exist_ok=True)
with open(given["outputs"]["outputFile"], "w") as f:
    json.dump({"artifacts": outputs}, f)
print("given:", json.dumps(given["inputs"], sort_keys=True))
"""
DATASET = {"artifactType": {"schemaTitle": "system.Dataset"}}
SESSION = '{"Provider":"s3","Params":{"fromEnv":"true"}}'


def toy_spec(endpoint, cache=False):
    container = {"image": "example.com/toy:1", "command": ["python", "-c", TOY, "{{$}}"],
                 "env": [{"name": "AWS_ENDPOINT_URL_S3", "value": endpoint}, {"name": "AWS_REGION", "value": REGION}]}
    caching = {"cachingOptions": {"enableCache": cache}}
    return {
        "pipelineInfo": {"name": "toy"}, "schemaVersion": "2.1.0",
        "root": {"dag": {"tasks": {
            "use": {"taskInfo": {"name": "use"}, "componentRef": {"name": "comp-use"}, **caching,
                    "inputs": {"artifacts": {"data": {"taskOutputArtifact": {"producerTask": "make", "outputArtifactKey": "out"}}}}},
            "make": {"taskInfo": {"name": "make"}, "componentRef": {"name": "comp-make"}, **caching,
                     "inputs": {"parameters": {"n": {"runtimeValue": {"constant": 3}}}}},
        }}},
        "components": {
            "comp-make": {"executorLabel": "exec-make", "inputDefinitions": {"parameters": {"n": {"parameterType": "NUMBER_INTEGER"}}},
                          "outputDefinitions": {"artifacts": {"out": DATASET}}},
            "comp-use": {"executorLabel": "exec-use", "inputDefinitions": {"artifacts": {"data": DATASET}},
                         "outputDefinitions": {"artifacts": {"out": DATASET}}},
        },
        "deploymentSpec": {"executors": {"exec-make": {"container": container}, "exec-use": {"container": container}}},
    }


PLATFORM = {"platforms": {"kubernetes": {"deploymentSpec": {"executors": {
    label: {"secretAsEnv": [{"secretName": SECRET, "keyToEnv": [
        {"secretKey": "accesskey", "envVar": "AWS_ACCESS_KEY_ID"}, {"secretKey": "secretkey", "envVar": "AWS_SECRET_ACCESS_KEY"}]}]}
    for label in ("exec-make", "exec-use")}}}}}


@pytest.fixture
def run_toy(s3_endpoint, s3_mnist, tmp_path, backend_version):  # s3_mnist: the bucket exists
    def run(spec=None, run_id="toy-1", **options):
        options = {"platform": PLATFORM, "secrets": SECRETS, "version": backend_version, **options}
        return kfp_driver.run_pipeline(spec or toy_spec(s3_endpoint), f"s3://{BUCKET}/toy/root", run_id, str(tmp_path), **options)
    return run


def _key(uri):
    return uri[len(f"s3://{BUCKET}/"):]


def test_a_downstream_task_gets_what_ml_metadata_gives_back(run_toy, s3, backend_version):
    run = run_toy()
    assert list(run.tasks) == ["make", "use"] and run.failed is None  # dependency order, not name order
    out = run.tasks["make"].outputs["out"]
    assert out["uri"].startswith(f"s3://{BUCKET}/toy/root/make/") and out["uri"].endswith("/out")
    task_root = out["uri"][len("s3://"):-len("/out")]
    [given] = run.tasks["use"].executor_input["inputs"]["artifacts"]["data"]["artifacts"]
    assert given == {
        "name": given["name"],  # the ML Metadata id, as a string
        "type": {"instanceSchema": ""},  # not the producer's schemaTitle
        "uri": out["uri"],
        "metadata": {
            "count": 200.0, "flag": 1.0,  # every number a double, a bool an int
            "splits": {"list": ["train"]}, "counts": {"struct": {"train": 200}},  # wrapped
            "who": SECRETS[SECRET]["accesskey"],  # the secret reached the task
            "display_name": "out", "store_session_info": SESSION,
        },
    }
    assert given["name"].isdigit()
    make_input = run.tasks["make"].executor_input
    assert make_input["inputs"] == {"parameterValues": {"n": 3}}
    [provisioned] = make_input["outputs"]["artifacts"]["out"]["artifacts"]
    assert (make_input["outputs"]["outputFile"], provisioned.get("name")) == {
        "2.5.0": ("/tmp/kfp_outputs/output_metadata.json", None),
        "2.17.0": (f"/s3/{task_root}/output_metadata.json", "out"),  # TFX takes its folder as the task root
    }[backend_version.tag]
    # executor-logs: provisioned, written and uploaded by the launcher.
    logs = make_input["outputs"]["artifacts"]["executor-logs"]["artifacts"][0]
    assert logs["type"] == {"schemaTitle": "system.Artifact"}
    uploaded = run.tasks["make"].outputs["executor-logs"]["uri"]
    assert uploaded == logs["uri"] + backend_version.logs_suffix == f"s3://{task_root}/executor-logs{backend_version.logs_suffix}"
    assert s3.get_object(Bucket=BUCKET, Key=_key(uploaded))["Body"].read().decode().startswith("given: ")


def test_a_cached_task_reuses_the_first_runs_artifacts(run_toy, s3_endpoint):
    backend = kfp_mlmd.Backend()
    first = run_toy(toy_spec(s3_endpoint, cache=True), "toy-1", backend=backend)
    second = run_toy(toy_spec(s3_endpoint, cache=True), "toy-2", backend=backend)
    assert [t.cached for t in second.tasks.values()] == [True, True]
    assert second.tasks["use"].outputs["out"]["uri"] == first.tasks["use"].outputs["out"]["uri"]
    third = run_toy(toy_spec(s3_endpoint, cache=False), "toy-3", backend=backend)
    assert [t.cached for t in third.tasks.values()] == [False, False]


def test_without_publish_logs_there_is_no_logs_artifact(run_toy):
    run = run_toy(publish_logs=False)
    assert "executor-logs" not in run.tasks["make"].executor_input["outputs"]["artifacts"]


def test_a_failed_command_stops_the_run_with_its_logs_kept_by_2_17(run_toy, s3_endpoint, s3, backend_version):
    spec = toy_spec(s3_endpoint)
    spec["deploymentSpec"]["executors"]["exec-make"] = {"container": dict(
        spec["deploymentSpec"]["executors"]["exec-make"]["container"],
        command=["python", "-c", "print('about to fail'); raise SystemExit(3)"])}
    run = run_toy(spec)
    assert run.failed == "make" and list(run.tasks) == ["make"]
    assert run.tasks["make"].error.startswith("failed to execute component: exit status 3")
    assert list(run.tasks["make"].outputs) == (["executor-logs"] if backend_version.logs_managed else [])
    if backend_version.logs_managed:
        logs = run.tasks["make"].outputs["executor-logs"]["uri"]
        assert s3.get_object(Bucket=BUCKET, Key=_key(logs))["Body"].read().decode() == "about to fail\n"


UNKNOWN_PARAMETER = ('failed to resolve container args: failed to resolve input parameters: '
                     'parameter "m" not found in executor input')


@pytest.mark.parametrize("argument, at_2_5_0, at_2_17_0", [
    ("--n={{$.inputs.parameters['n']}}", "--n=3", "--n=3"),  # the launcher's or the driver's doing
    ("--m={{$.inputs.parameters['m']}}", "--m={{$.inputs.parameters['m']}}", UNKNOWN_PARAMETER),
])
def test_2_17s_driver_resolves_input_parameters_in_arguments(run_toy, s3_endpoint, backend_version,
                                                             argument, at_2_5_0, at_2_17_0):
    """TFX writes none of these (its arguments are `{{$}}` and JSON), but a
    component that did would fail at 2.17.0 for an unknown parameter."""
    spec = toy_spec(s3_endpoint)
    spec["deploymentSpec"]["executors"]["exec-make"]["container"]["args"] = [argument]
    make = run_toy(spec).tasks["make"]
    expected = at_2_5_0 if backend_version is V2_5_0 else at_2_17_0
    assert (make.error if make.error else make.command[-1]) == expected


def test_as_another_uid_a_task_writes_only_where_the_launcher_let_it(run_toy, tmp_path):
    os.chmod(tmp_path, 0o755)
    with run_as.unprivileged(str(tmp_path), str(PROJECT_ROOT)) as user:
        run = run_toy(run_as=user)
    assert run.failed is None, run.tasks
    for name in ("make", "use"):
        theirs = [str(p) for p in (tmp_path / "toy-1" / name).rglob("*") if p.stat().st_uid == user.uid and p.is_file()]
        assert theirs and run_as.outside(theirs, user.writable) == [], theirs  # the executor output, at least


def test_a_secret_without_the_key_keeps_the_pod_from_starting(run_toy):
    run = run_toy(secrets={SECRET: {"accesskey": "A"}})
    assert run.failed == "make" and "has no key \"secretkey\"" in run.tasks["make"].error


def test_a_resolver_executor_refuses_the_run_before_any_task(run_toy, s3_endpoint):
    spec = copy.deepcopy(toy_spec(s3_endpoint))
    spec["deploymentSpec"]["executors"]["exec-use"] = {"resolver": {"outputArtifactQueries": {}}}
    with pytest.raises(LauncherError, match='name="comp-use": executor\\(label="exec-use"\\): non-container'):
        run_toy(spec)


@pytest.mark.parametrize("root, error", [
    ("/local/outputs/pipeline_root", 'unrecognized pipeline root format: "/local/outputs/pipeline_root"'),
    ("file:///tmp/root", 'unsupported Cloud bucket: "file:///tmp/root"'),
    ("s3://", "unrecognized pipeline root format"),
])
def test_a_root_the_object_store_cannot_parse_is_refused(root, error):
    with pytest.raises(LauncherError, match="parse bucket config failed: " + error):
        bucket_config(root)
    assert bucket_config("s3://b/out/pipeline_root") == ("s3://", "b", "out/pipeline_root/")


def test_tasks_are_ordered_by_their_producers_and_dependencies():
    dag = {"tasks": {
        "c": {"dependentTasks": ["b"]},
        "b": {"inputs": {"artifacts": {"x": {"taskOutputArtifact": {"producerTask": "a", "outputArtifactKey": "o"}}}}},
        "a": {}, "d": {},
    }}
    assert kfp_driver.dependency_order(dag) == ["a", "b", "c", "d"]
    with pytest.raises(LauncherError, match='unknown producer task "z"'):
        kfp_driver.dependency_order({"tasks": {"a": {"dependentTasks": ["z"]}}})
    assert json.loads(SESSION)["Params"] == {"fromEnv": "true"}


def _bucket(s3_endpoint, version):
    return Bucket(BUCKET, "", {"AWS_ENDPOINT_URL_S3": s3_endpoint, "AWS_REGION": REGION, **CREDENTIALS}, version)


def test_a_directory_marker_under_an_input_fails_its_download(s3, s3_endpoint, s3_mnist, tmp_path, backend_version):
    """An empty "dir/" object (what tensorflow-io's S3 CreateDir can write,
    tensorflow/io#1597) is listed under the artifact's key; the launcher's
    DownloadBlob makes it the artifact's own local path, a file, and then
    cannot make that path the directory the next object needs. 2.17.0's
    keeping to the key does not change that: the marker is under it."""
    s3.put_object(Bucket=BUCKET, Key="toy/marker/out/", Body=b"")
    s3.put_object(Bucket=BUCKET, Key="toy/marker/out/data.txt", Body=b"x")
    bucket = _bucket(s3_endpoint, backend_version)
    with pytest.raises(LauncherError, match="toy/marker/out/data.txt"):
        bucket.download(f"s3://{BUCKET}/toy/marker/out", str(tmp_path / "out"))
    bucket.download(f"s3://{BUCKET}/toy/marker/out/data.txt", str(tmp_path / "file"))  # a file's own key is fine


def test_a_sibling_sharing_the_keys_prefix_is_downloaded_beside_it_by_2_5_only(s3, s3_endpoint, s3_mnist, tmp_path,
                                                                                backend_version):
    """The Trainer's `model` and `model_run` share a prefix: 2.5.0's listing
    takes both, the sibling landing next to the artifact's folder."""
    s3.put_object(Bucket=BUCKET, Key="toy/sibling/model/saved_model.pb", Body=b"m")
    s3.put_object(Bucket=BUCKET, Key="toy/sibling/model_run/summary.json", Body=b"s")
    _bucket(s3_endpoint, backend_version).download(f"s3://{BUCKET}/toy/sibling/model", str(tmp_path / "model"))
    assert (tmp_path / "model" / "saved_model.pb").read_bytes() == b"m"
    assert (tmp_path / "model_run" / "summary.json").exists() == (backend_version is V2_5_0)


@pytest.mark.parametrize("endpoint, style", [
    ("http://127.0.0.1:9000", "path"), ("http://[::1]:9000", "path"),
    ("http://seaweedfs.kubeflow:9000", "virtual"), ("http://minio-service.kubeflow:9000", "virtual"), (None, "virtual"),
])
def test_the_launcher_addresses_a_bucket_by_host_name_unless_the_endpoint_is_an_ip(endpoint, style):
    """With no kfp-launcher `providers` config, an s3:// root is opened with
    the Go SDK's defaults: an in-cluster store is asked for as BUCKET.HOST
    (docs/kubeflow.md says how to configure path-style instead)."""
    assert addressing_style(endpoint) == style


def test_2_17_refuses_a_key_with_a_parent_part(s3, s3_endpoint, s3_mnist, tmp_path):
    s3.put_object(Bucket=BUCKET, Key="toy/dots/out/../escaped.txt", Body=b"x")
    with pytest.raises(LauncherError, match=r"path traversal detected: blob key \"toy/dots/out/\.\./escaped.txt\""):
        _bucket(s3_endpoint, V2_17_0).download(f"s3://{BUCKET}/toy/dots/out", str(tmp_path / "out"))
