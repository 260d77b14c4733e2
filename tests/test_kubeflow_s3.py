"""s3:// for real: the compiled tasks on an S3 protocol server on loopback.

moto's server (a real S3 REST endpoint, the way MinIO is one) stands in for
the object store; no AWS, no MinIO, no cluster. The pipeline is compiled by
the CLI with its root and its MNIST data on s3://, as a user would for MinIO
(--s3-endpoint, --s3-credentials-secret), and the ingestion, StatisticsGen
and Trainer tasks' container commands run as local subprocesses with the
container env from the spec plus the credentials their pods would get from
the secret the spec names. What they write is read back through S3 (boto3)
and compared with the local run's files.
This test process never loads tensorflow-io itself: its children do.
"""
import json
import os
import posixpath
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kfp import components
from tensorflow_metadata.proto.v0 import statistics_pb2

from pipeline import config as config_lib
from pipeline import dag
from pipeline.errors import UserError
from pipeline.launch import kubeflow_compile
from pipeline.process import object_store
from tests.conftest import (  # the S3 server and its data are shared with test_kubeflow_driver_e2e.py
    BUCKET, CREDENTIALS, KUBEFLOW_IMAGE, KUBEFLOW_SUBSET, NO_CLOUD, PROJECT_ROOT, REGION, SECRET, SECRETS, run_cli,
)
from tests.test_kubeflow_executors import SPLITS, run_task
from trainer_module.config import TRAINING_SUMMARY_FILE

@pytest.fixture(scope="module")
def s3_compiled(s3_endpoint, s3_mnist, tmp_path_factory):
    """(config, spec path, the compile's output): compiled by the CLI with
    the output directory and the data on s3://, credentials in its env."""
    cfg = config_lib.from_env(
        {}, output_dir=f"s3://{BUCKET}/out", mnist_dir=s3_mnist, image=KUBEFLOW_IMAGE,
        max_examples_per_split=KUBEFLOW_SUBSET, s3_endpoint=s3_endpoint, s3_region=REGION,
        epochs=1,
    )
    spec_path = tmp_path_factory.mktemp("kubeflow_s3") / "mnist-tfx.yaml"
    result = run_cli(
        "compile", "--image", cfg.image, "--output-dir", cfg.output_dir,
        "--mnist-dir", cfg.mnist_dir, "--max-examples-per-split", cfg.max_examples_per_split,
        "--s3-endpoint", cfg.s3_endpoint, "--s3-region", cfg.s3_region,
        "--epochs", cfg.train.epochs, "--s3-credentials-secret", SECRET,
        "--package-path", spec_path,
        env={**CREDENTIALS, **NO_CLOUD},
    )
    assert result.returncode == 0, f"exit status {result.returncode}\n{result.stdout[-3000:]}{result.stderr[-5000:]}"
    return cfg, spec_path


@pytest.fixture(scope="module")
def documents(s3_compiled):
    """The PipelineSpec and its Kubernetes platform document."""
    spec, platform = yaml.safe_load_all(s3_compiled[1].read_text())
    return spec, platform


@pytest.fixture(scope="module")
def spec(documents):
    return documents[0]


@pytest.fixture(scope="module")
def pod_env(documents):
    """What a task's pod gets from the cluster's secrets (KFP's secretAsEnv),
    for run_task's env: {task: {variable: value}}."""
    spec, platform = documents
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    env = {}
    for task_name, task in spec["root"]["dag"]["tasks"].items():
        label = spec["components"][task["componentRef"]["name"]].get("executorLabel")
        env[task_name] = {
            m["envVar"]: SECRETS[s["secretName"]][m["secretKey"]]
            for s in executors.get(label, {}).get("secretAsEnv", []) for m in s["keyToEnv"]
        }
        env[task_name].update(NO_CLOUD)
    return env


def _keys(s3, prefix):
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def _key(uri):
    assert uri.startswith(f"s3://{BUCKET}/"), uri
    return uri[len(f"s3://{BUCKET}/"):]


@pytest.mark.e2e
def test_spec_carries_the_endpoint_env_and_no_credentials(s3_compiled, documents, s3_endpoint):
    spec, platform = documents
    text = s3_compiled[1].read_text()
    containers = [e["container"] for e in spec["deploymentSpec"]["executors"].values() if "container" in e]
    assert len(containers) == len(spec["deploymentSpec"]["executors"]) == len(dag.NODE_IDS) == 13
    for container in containers:
        assert {e["name"]: e["value"] for e in container["env"]} == {
            "S3_ENDPOINT": s3_endpoint, "AWS_ENDPOINT_URL_S3": s3_endpoint, "AWS_REGION": REGION,
        }
        assert f"--s3_endpoint_url={s3_endpoint}" in container["args"]
        assert f"--s3_region_name={REGION}" in container["args"]
    for secret in CREDENTIALS.values():  # in the compiling process's env, not in the spec
        assert secret not in text
    pipeline_text = yaml.safe_dump(spec)  # the platform document names the variables
    assert "AWS_ACCESS_KEY_ID" not in pipeline_text and "s3_secret_access_key" not in pipeline_text
    assert "*id" not in text  # plain YAML, no aliases
    assert spec["defaultPipelineRoot"] == f"s3://{BUCKET}/out/pipeline_root"
    # The credentials come from the secret, by name, in every task.
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert set(executors) == {l for l, e in spec["deploymentSpec"]["executors"].items() if "container" in e}
    for config in executors.values():
        assert config == {"secretAsEnv": [{"secretName": SECRET, "keyToEnv": [
            {"secretKey": "accesskey", "envVar": "AWS_ACCESS_KEY_ID"},
            {"secretKey": "secretkey", "envVar": "AWS_SECRET_ACCESS_KEY"},
        ]}]}
    # KFP takes both documents.
    component = components.load_component_from_file(str(s3_compiled[1]))
    assert set(component.platform_spec.platforms["kubernetes"].deployment_spec.executors) == set(executors)


@pytest.mark.e2e
def test_compile_stages_the_trainer_wheel_on_s3(s3, spec):
    params = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
    wheel = params["module_path"]["runtimeValue"]["constant"].split("@")[1]
    assert wheel.startswith(f"s3://{BUCKET}/out/pipeline_root/_wheels/") and wheel.endswith(".whl")
    assert _key(wheel) in _keys(s3, "out/pipeline_root/_wheels/")


@pytest.fixture(scope="module")
def s3_task_outputs(spec, s3_compiled, pod_env, tmp_path_factory):
    """The ingestion and StatisticsGen tasks, run with their outputs under the
    s3:// pipeline root; their output artifacts."""
    cfg, _ = s3_compiled
    work_dir = tmp_path_factory.mktemp("kfp_s3_tasks")
    root = posixpath.join(cfg.pipeline_root, "run-1")
    ingestion = run_task(spec, dag.EXAMPLE_GEN, work_dir, output_root=root, env=pod_env[dag.EXAMPLE_GEN])
    [examples] = ingestion["artifacts"]["examples"]["artifacts"]
    statistics = run_task(
        spec, dag.STATISTICS_GEN, work_dir, {"examples": examples}, output_root=root, env=pod_env[dag.STATISTICS_GEN]
    )
    [stats] = statistics["artifacts"]["statistics"]["artifacts"]
    return examples, stats


@pytest.mark.e2e
def test_trainer_task_trains_from_s3_and_writes_its_model_there(
    s3, spec, s3_compiled, pod_env, s3_task_outputs, tmp_path
):
    """One epoch on the subset: the module's wheel, the examples and the
    schema read from s3://, the model and the run's summary written there."""
    cfg, _ = s3_compiled
    examples, _ = s3_task_outputs
    root = posixpath.join(cfg.pipeline_root, "run-1")
    # ImportSchemaGen's output, as that task leaves it (it only copies the file).
    schema_uri = posixpath.join(root, dag.SCHEMA_GEN, "schema")
    s3.upload_file(str(PROJECT_ROOT / "schemas" / "schema.pbtxt"), BUCKET, f"{_key(schema_uri)}/schema.pbtxt")
    schema = {"name": "ImportSchemaGen-schema", "uri": schema_uri, "metadata": {}}
    output = run_task(
        spec, dag.TRAINER, tmp_path, {"examples": examples, "schema": schema},
        output_root=root, env=pod_env[dag.TRAINER],
    )
    [model] = output["artifacts"]["model"]["artifacts"]
    [model_run] = output["artifacts"]["model_run"]["artifacts"]
    assert model["uri"].startswith(f"s3://{BUCKET}/out/pipeline_root/run-1/Trainer/")
    assert f"{_key(model['uri'])}/Format-Serving/saved_model.pb" in _keys(s3, _key(model["uri"]))
    summary_key = f"{_key(model_run['uri'])}/{TRAINING_SUMMARY_FILE}"
    summary = json.loads(s3.get_object(Bucket=BUCKET, Key=summary_key)["Body"].read())
    assert summary["hyperparameters"]["epochs"] == 1 and len(summary["history"]) == 1  # as compiled


@pytest.mark.e2e
def test_ingestion_task_reads_s3_data_and_writes_the_local_runs_examples_to_s3(
    s3, s3_task_outputs, local_outputs
):
    examples, _ = s3_task_outputs
    assert examples["uri"].startswith(f"s3://{BUCKET}/out/pipeline_root/run-1/MnistExampleGen/")
    assert examples["metadata"]["example_counts"] == {s: KUBEFLOW_SUBSET for s in SPLITS}
    local_dir = Path(local_outputs[dag.EXAMPLE_GEN])
    for split in SPLITS:
        local_files = sorted((local_dir / f"Split-{split}").iterdir())
        keys = sorted(_keys(s3, f"{_key(examples['uri'])}/Split-{split}/"))
        assert [posixpath.basename(k) for k in keys] == [f.name for f in local_files]
        for key, local_file in zip(keys, local_files):
            from_s3 = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
            assert from_s3 == local_file.read_bytes(), key  # byte for byte


@pytest.mark.e2e
def test_statistics_task_writes_the_local_runs_statistics_to_s3(s3, s3_task_outputs, local_outputs):
    _, stats = s3_task_outputs
    for split in SPLITS:
        from_s3 = statistics_pb2.DatasetFeatureStatisticsList()
        key = f"{_key(stats['uri'])}/Split-{split}/FeatureStats.pb"
        from_s3.ParseFromString(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
        local = statistics_pb2.DatasetFeatureStatisticsList()
        local.ParseFromString(
            (Path(local_outputs[dag.STATISTICS_GEN]) / f"Split-{split}" / "FeatureStats.pb").read_bytes()
        )
        assert from_s3.datasets[0].num_examples == KUBEFLOW_SUBSET
        assert from_s3 == local


def test_credentials_in_beam_args_are_refused():
    cfg = config_lib.from_env(
        {}, image=KUBEFLOW_IMAGE, beam_args=["--s3_access_key_id=AKIA", "--s3_secret_access_key=x"]
    )
    with pytest.raises(UserError, match="--s3_access_key_id, --s3_secret_access_key .* compiled spec"):
        kubeflow_compile.check(cfg)


def test_endpoint_settings_reach_beam_and_the_environment():
    cfg = config_lib.from_env(
        {"MNIST_TFX_S3_ENDPOINT": "http://minio-service.kubeflow:9000", "MNIST_TFX_S3_REGION": "us-east-1"}
    )
    assert cfg.beam_pipeline_args()[-3:-1] == [
        "--s3_endpoint_url=http://minio-service.kubeflow:9000", "--s3_region_name=us-east-1",
    ]
    assert object_store.env(cfg) == {
        "S3_ENDPOINT": "http://minio-service.kubeflow:9000",
        "AWS_ENDPOINT_URL_S3": "http://minio-service.kubeflow:9000",
        "AWS_REGION": "us-east-1",
    }
    assert object_store.env(config_lib.from_env({})) == {} and object_store.beam_args(config_lib.from_env({})) == []


def test_the_compiling_machine_may_reach_the_store_its_own_way(monkeypatch):
    """compile keeps an S3_ENDPOINT that is set (a port-forward); runs set the config's."""
    monkeypatch.setattr(object_store, "register_filesystems", lambda: None)  # env only, here
    cfg = config_lib.from_env({}, mnist_dir="s3://b/mnist", s3_endpoint="http://minio-service.kubeflow:9000")
    monkeypatch.setenv("S3_ENDPOINT", "http://localhost:9000")
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    object_store.configure_process(cfg, keep_environment=True)
    assert os.environ["S3_ENDPOINT"] == "http://localhost:9000"
    assert os.environ["AWS_ENDPOINT_URL_S3"] == "http://minio-service.kubeflow:9000"
    object_store.configure_process(cfg)
    assert os.environ["S3_ENDPOINT"] == "http://minio-service.kubeflow:9000"


def test_a_local_run_refuses_an_object_store_output_dir(tmp_path):
    result = run_cli("run", "--output-dir", f"s3://{BUCKET}/out", env={"HOME": str(tmp_path)}, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: --output-dir s3://{BUCKET}/out: a local run keeps its ML Metadata (SQLite) and its "
        "run lock there, so it must be a local directory; the data can be on an object store "
        "(--mnist-dir s3://... or gs://...), and `compile` and `deploy` take an object-store --output-dir"
    )
    assert not (PROJECT_ROOT / "s3:").exists()


@pytest.mark.e2e
def test_tensorflow_io_registers_s3_for_tf_io_gfile(s3, s3_endpoint, s3_mnist):
    """In a child process: s3:// registered, a real read, and exit status 0
    after it (tensorflow-io 0.37.1 alone would abort with 134 at exit)."""
    code = (
        "import sys, tensorflow as tf\n"
        "from pipeline.process import boundary\n"
        "from components import fs\n"
        "fs.register_filesystems()\n"
        "assert 's3' in tf.io.gfile.get_registered_schemes()\n"
        "print(len(fs.open_file(sys.argv[1], 'rb').read()))\n"
        "boundary.exit_process(0)\n"
    )
    key = "mnist/t10k-labels-idx1-ubyte.gz"
    result = subprocess.run(
        [sys.executable, "-c", code, f"s3://{BUCKET}/{key}"], cwd=PROJECT_ROOT,
        capture_output=True, text=True, timeout=120,
        env={**os.environ, **CREDENTIALS, **NO_CLOUD, "TF_USE_LEGACY_KERAS": "1", "S3_ENDPOINT": s3_endpoint},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert int(result.stdout) == s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"]
