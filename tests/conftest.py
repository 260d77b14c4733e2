import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from components.mnist_example_gen import idx, source
from pipeline import dag
from pipeline.process import boundary
from tests.synthetic_digits import make_digits

# What every entry point does first (Keras 2, the version guard), before any test imports TensorFlow.
boundary.prepare()

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_MNIST = PROJECT_ROOT.parent / "shared" / "data" / "mnist"


def write_mnist_dir(directory, train, test, gz=True):
    """Writes (images, labels) pairs as the four MNIST IDX files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".gz" if gz else ""
    for split, (images, labels) in (("train", train), ("eval", test)):
        images_stem, labels_stem = source.SPLIT_FILES[split]
        idx.write_idx(str(directory / (images_stem + suffix)), images)
        idx.write_idx(str(directory / (labels_stem + suffix)), labels)
    return directory


@pytest.fixture(scope="session")
def mnist_dir(tmp_path_factory) -> Path:
    """Real MNIST (MNIST_DIR, or ../shared/data/mnist), else drawn digits."""
    for candidate in (os.environ.get("MNIST_DIR"), SHARED_MNIST):
        if candidate and Path(candidate, "t10k-labels-idx1-ubyte.gz").exists():
            return Path(candidate)
    return write_mnist_dir(
        tmp_path_factory.mktemp("synthetic_mnist"),
        train=make_digits(6000, seed=1),
        test=make_digits(2000, seed=2),
    )


@pytest.fixture(scope="session")
def mnist_source(mnist_dir) -> source.Source:
    return source.from_directory(str(mnist_dir))


def run_cli(*args, env=None, timeout=900):
    """Runs `python -m pipeline ARGS` as a user would; returns the CompletedProcess."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        cwd=PROJECT_ROOT, env=full_env, capture_output=True, text=True, timeout=timeout,
    )


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


# The Kubeflow tests share one compiled pipeline: compiling loads TFX and
# builds the Trainer's wheel, about 30 s on a busy machine.
KUBEFLOW_IMAGE = "registry.example.com/ml/mnist-tfx:test"
KUBEFLOW_SUBSET = 200


@pytest.fixture(scope="session")
def kubeflow_compiled(tmp_path_factory, mnist_dir):
    """(config, PipelineSpec YAML path, Vertex PipelineJob JSON path), with a
    local directory standing in for the object store."""
    from pipeline import config as config_lib
    from pipeline.launch import kubeflow_compile

    root = tmp_path_factory.mktemp("kubeflow")
    cfg = config_lib.from_env(
        {},
        output_dir=str(root / "object_store"),
        mnist_dir=str(mnist_dir),
        max_examples_per_split=KUBEFLOW_SUBSET,
        image=KUBEFLOW_IMAGE,
        trainer_cpu=2.0,
        trainer_memory_gb=6.0,
    )
    spec_path, job_path = kubeflow_compile.compile_pipeline(
        cfg, str(root / "mnist-tfx.yaml"), str(root / "mnist-tfx.json")
    )
    return cfg, spec_path, job_path


@pytest.fixture(scope="session")
def local_outputs(kubeflow_compiled, tmp_path_factory):
    """The local run's Examples and ExampleStatistics directories, on the
    Kubeflow tests' subset: what the compiled tasks must reproduce."""
    cfg, _, _ = kubeflow_compiled
    return run_data_components(cfg.replace(output_dir=str(tmp_path_factory.mktemp("local_run"))))


def run_data_components(cfg):
    """MnistExampleGen and StatisticsGen alone, configured as pipeline/dag.py
    does (with the config's Beam arguments); {node: its output directory}.

    A TFX pipeline refuses a subset of another's nodes (they name their
    downstream nodes), so these two get a pipeline of their own.
    """
    from tfx.components import StatisticsGen
    from tfx.orchestration import metadata as tfx_metadata
    from tfx.orchestration import pipeline as tfx_pipeline
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner

    from components.mnist_example_gen.component import MnistExampleGen

    example_gen = MnistExampleGen(
        mnist_dir=cfg.mnist_dir, max_examples_per_split=cfg.max_examples_per_split
    )
    statistics_gen = StatisticsGen(examples=example_gen.outputs["examples"])
    LocalDagRunner().run(
        tfx_pipeline.Pipeline(
            pipeline_name=cfg.pipeline_name,
            pipeline_root=cfg.pipeline_root,
            components=[example_gen, statistics_gen],
            metadata_connection_config=tfx_metadata.sqlite_metadata_connection_config(cfg.metadata_path),
            beam_pipeline_args=cfg.beam_pipeline_args(),
        )
    )
    found = {}
    for node, key in ((dag.EXAMPLE_GEN, "examples"), (dag.STATISTICS_GEN, "statistics")):
        base = os.path.join(cfg.pipeline_root, node, key)
        [execution] = os.listdir(base)  # one execution, so one output directory
        found[node] = os.path.join(base, execution)
    return found


# s3:// for real: moto's S3 server on loopback stands in for the object store.
BUCKET = "mnist-tfx"
REGION = "eu-west-1"
# Test credentials: they must reach the tasks, and never the compiled spec.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIATESTONLY0LOOPBACK",
    "AWS_SECRET_ACCESS_KEY": "loopback-secret-never-in-a-spec",
}
# The cluster's secrets, as KFP's MinIO install names them.
SECRET = "mlpipeline-minio-artifact"
SECRETS = {SECRET: {"accesskey": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    "secretkey": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}}
# Keeps the AWS SDKs from asking a cloud metadata service for anything.
NO_CLOUD = {"AWS_EC2_METADATA_DISABLED": "true"}


@pytest.fixture(scope="session")
def s3_endpoint():
    """A moto S3 server on a free loopback port, one for the whole session
    (test_kubeflow_s3.py and test_kubeflow_driver_e2e.py); its URL."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def s3(s3_endpoint):
    import boto3

    return boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name=REGION,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )


@pytest.fixture(scope="session")
def s3_mnist(s3, mnist_dir, tmp_path_factory):
    """s3://BUCKET/mnist: the first examples of the real MNIST files, as IDX
    files (the tasks take only KUBEFLOW_SUBSET of each split). Tests keep to
    their own prefixes in the bucket."""
    real = source.from_directory(str(mnist_dir))
    keep = KUBEFLOW_SUBSET + 50  # more than is taken, so the limit is exercised
    subset = {}
    for split in ("train", "eval"):
        data = real.load(split)
        subset[split] = (data.images[:keep], data.labels[:keep])
    local = write_mnist_dir(tmp_path_factory.mktemp("mnist_subset"), subset["train"], subset["eval"])
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
    for path in sorted(local.iterdir()):
        s3.upload_file(str(path), BUCKET, f"mnist/{path.name}")
    return f"s3://{BUCKET}/mnist"
