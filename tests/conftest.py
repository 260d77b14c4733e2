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
