"""s3:// for real: what the compiled spec carries, and the settings behind it.

moto's server (a real S3 REST endpoint, the way MinIO is one) stands in for
the object store; no AWS, no MinIO, no cluster. The pipeline is compiled by
the CLI with its root and its MNIST data on s3://, as a user would for MinIO
(--s3-endpoint, --s3-credentials-secret: conftest's kubeflow_s3_compiled).
The same spec's tasks run, and their outputs are compared with the local
run's, in test_kubeflow_driver_e2e.py.
This test process never loads tensorflow-io itself: its children do.
"""
import os
import subprocess
import sys

import pytest
import yaml
from kfp import components

from foundation import names
from foundation.errors import UserError
from pipeline import config as config_lib
from pipeline.launch import kubeflow_compile
from pipeline.process import object_store
from tests.fixtures.data import PROJECT_ROOT, run_cli
from tests.fixtures.kubeflow import KUBEFLOW_IMAGE
from tests.fixtures.s3 import BUCKET, CREDENTIALS, KUBEFLOW_S3_PREFIX, NO_CLOUD, REGION, SECRET


@pytest.fixture(scope="module")
def s3_compiled(kubeflow_s3_compiled):
    """(config, spec path): conftest's compile, output directory and data on s3://."""
    cfg, spec_path, _, _ = kubeflow_s3_compiled
    return cfg, spec_path


@pytest.fixture(scope="module")
def documents(kubeflow_s3_compiled):
    """The PipelineSpec and its Kubernetes platform document."""
    return kubeflow_s3_compiled[2:]


@pytest.fixture(scope="module")
def spec(documents):
    return documents[0]


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
    assert len(containers) == len(spec["deploymentSpec"]["executors"]) == len(names.NODE_IDS)
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
    assert spec["defaultPipelineRoot"] == f"s3://{BUCKET}/{KUBEFLOW_S3_PREFIX}/pipeline_root"
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
    assert wheel.startswith(f"s3://{BUCKET}/{KUBEFLOW_S3_PREFIX}/pipeline_root/_wheels/") and wheel.endswith(".whl")
    assert _key(wheel) in _keys(s3, f"{KUBEFLOW_S3_PREFIX}/pipeline_root/_wheels/")


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
    assert result.returncode == 2  # a setting's value: bad usage
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
        "from foundation import fs\n"
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
