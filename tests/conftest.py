import dataclasses
import logging
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from components.mnist_example_gen import idx, source
from pipeline import dag
from pipeline.process import boundary
from tests import kfp_versions
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


def run_cli(*args, env=None, timeout=900, cwd=PROJECT_ROOT, check=False):
    """Runs `python -m pipeline ARGS` as a user would; returns the CompletedProcess.

    `cwd`: the project copy to run (the code it imports); `check`: fail the
    test, with the output's tail, unless the command exits 0.
    """
    full_env = dict(os.environ, **(env or {}))
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", *map(str, args)],
        cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout,
    )
    if check:
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


# The end-to-end modules share two small runs in one output directory: the
# first blessed (a low bar, 1 epoch), the second not (2 epochs, so a new
# model, and a bar no model reaches here), with the first run's model as its
# baseline. Each run costs a minute or two; tests that only read share them.
SHARED_SUBSET = 2000
LOW_BAR, HIGH_BAR = 0.3, 0.999


@dataclasses.dataclass
class SharedRuns:
    output_dir: Path
    mnist_dir: Path
    ids: Dict[str, str]  # "blessed", "not_blessed": run ids
    stdout: Dict[str, str]  # each run's `run` output

    def cfg(self):
        from pipeline import config as config_lib

        return config_lib.from_env({}, output_dir=str(self.output_dir), mnist_dir=str(self.mnist_dir))

    def copy_to(self, directory: Path) -> Path:
        """A copy of the output directory, for a test that adds runs: the
        shared one stays as the fixture made it (its latest run, its serving
        versions). Copied artifacts still name the originals' paths, which
        stay in place, so TFX's cache answers in the copy too."""
        shutil.copytree(self.output_dir, directory)
        return directory


@pytest.fixture(scope="session")
def blessed_then_not_blessed(tmp_path_factory, mnist_dir) -> SharedRuns:
    """A blessed run, then a not-blessed run, by `python -m pipeline run`."""
    from pipeline import config as config_lib
    from pipeline.inspection import metadata

    output_dir = tmp_path_factory.mktemp("shared_runs")
    common = ["run", "--mnist-dir", mnist_dir, "--output-dir", output_dir,
              "--max-examples-per-split", SHARED_SUBSET]
    first = run_cli(*common, "--epochs", 1, "--accuracy-lower-bound", LOW_BAR,
                    "--digit-accuracy-lower-bound", LOW_BAR, check=True)
    second = run_cli(*common, "--epochs", 2, "--accuracy-lower-bound", HIGH_BAR, check=True)
    cfg = config_lib.PipelineConfig(output_dir=str(output_dir))
    store = metadata.open_store(cfg.metadata_path)
    blessed, not_blessed = [r.name for r in metadata.runs(store, cfg.pipeline_name)]
    return SharedRuns(
        output_dir=output_dir, mnist_dir=mnist_dir,
        ids={"blessed": blessed, "not_blessed": not_blessed},
        stdout={"blessed": first.stdout, "not_blessed": second.stdout},
    )


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


@pytest.fixture(params=kfp_versions.VERSIONS, ids=lambda version: f"kfp-{version.tag}")
def backend_version(request) -> kfp_versions.BackendVersion:
    """Each Kubeflow Pipelines backend the stand-ins model (tests/kfp_versions.py)."""
    return request.param


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


KUBEFLOW_S3_PREFIX = "kfp"  # the compiled pipeline's part of the shared bucket


@pytest.fixture(scope="session")
def kubeflow_s3_compiled(s3_endpoint, s3_mnist, tmp_path_factory):
    """(config, spec path, pipeline spec, platform spec): compiled by the CLI
    as a user would for MinIO, with the output directory and the data on
    s3://, the credentials in the compiling process's env only. One compile
    for test_kubeflow_s3.py (what the spec carries) and
    test_kubeflow_driver_e2e.py (the spec, run)."""
    import yaml

    from pipeline import config as config_lib

    cfg = config_lib.from_env(
        {}, output_dir=f"s3://{BUCKET}/{KUBEFLOW_S3_PREFIX}", mnist_dir=s3_mnist, image=KUBEFLOW_IMAGE,
        max_examples_per_split=KUBEFLOW_SUBSET, s3_endpoint=s3_endpoint, s3_region=REGION, epochs=1,
        image_project_root=str(PROJECT_ROOT),
    )
    spec_path = tmp_path_factory.mktemp("kfp_s3_spec") / "mnist-tfx.yaml"
    result = run_cli(
        "compile", "--image", cfg.image, "--output-dir", cfg.output_dir, "--mnist-dir", cfg.mnist_dir,
        "--max-examples-per-split", cfg.max_examples_per_split, "--epochs", cfg.train.epochs,
        # A model of a few hundred digits and one epoch: blessed, so that a run pushes.
        "--accuracy-lower-bound", 0, "--digit-accuracy-lower-bound", 0,
        "--s3-endpoint", cfg.s3_endpoint, "--s3-region", cfg.s3_region, "--s3-credentials-secret", SECRET,
        # The cache on, as KFP defaults: a second run is served from the
        # first's cache (backend/src/v2/driver/: 2.5.0 driver.go:359-378,
        # 2.17.0 container.go:210-240) except where the spec turns it off (the
        # baselines) and downstream of those.
        "--image-project-root", cfg.image_project_root, "--package-path", spec_path,
        env={**CREDENTIALS, **NO_CLOUD},
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    spec, platform = yaml.safe_load_all(spec_path.read_text())
    return cfg, spec_path, spec, platform


# `make test` runs two xdist workers (-n 2 --dist loadscope
# --no-loadscope-reorder) with the scheduler below. A group runs whole on one
# worker, in collection order, so each module is a group (its module
# fixtures are built once, and the modules whose tests build on each other
# keep their order), and the modules sharing the blessed and not-blessed runs
# are one group (the runs happen once). xdist's own `xdist_group` marks would
# say the same, but with pytest 9.2 and xdist 3.8.0 they are silently ignored:
# xdist appends the group to `item._nodeid`, which pytest 9.2's node ids no
# longer read (pytest-dev/pytest-xdist#1386, open), so grouped tests went to
# both workers here. The workers take groups in collection
# order, so the longest come first: a long group started last would leave one
# core idle at the end.
SHARED_RUNS_MODULES = {  # blessed_then_not_blessed: two pipeline runs
    "test_cli_runs_e2e", "test_data_checks_e2e", "test_digit_regression",
    "test_inspect_imports", "test_report_e2e", "test_tensorboard_e2e",
}
LONGEST_GROUPS_FIRST = (
    "test_kubeflow_driver_e2e", "shared_runs", "test_crash_safety_e2e",
    "test_distributed_training", "test_pipeline_e2e", "test_kubeflow_s3",
)


def worker_group_of(module_name: str) -> str:
    name = module_name.rsplit(".", 1)[-1]
    return "shared_runs" if name in SHARED_RUNS_MODULES else name


def pytest_collection_modifyitems(config, items):
    def rank(item):
        group = worker_group_of(item.module.__name__)
        return LONGEST_GROUPS_FIRST.index(group) if group in LONGEST_GROUPS_FIRST else len(LONGEST_GROUPS_FIRST)

    items.sort(key=rank)  # stable: within a rank, collection order


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return worker_group_of(Path(nodeid.split("::", 1)[0]).stem)

    return ByGroup(config, log)
