"""The compiled container commands really run, and match the local run.

Each task's command and arguments are taken from the spec's deploymentSpec and
run as a local subprocess, the way the KFP launcher runs them in the image:
with an executor-input JSON built from the spec (parameters from the task's
inputs, output artifacts under a temporary directory standing in for the
object store). Their artifacts are compared with those of LocalDagRunner
running the same components on the same subset.
"""
import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf
import yaml
from tensorflow_metadata.proto.v0 import statistics_pb2

from components.mnist_example_gen import encoding
from pipeline import dag
from pipeline.launch import kubeflow_compile
from tests.conftest import KUBEFLOW_SUBSET

pytestmark = pytest.mark.e2e

SPLITS = ("train", "eval")


@pytest.fixture(scope="module")
def spec(kubeflow_compiled):
    with open(kubeflow_compiled[1]) as f:
        return yaml.safe_load(f)


def run_task(spec, task_name, work_dir, input_artifacts=None, output_root=None, env=None):
    """Runs one task's container command here; returns its executor output.

    Output artifacts go under `output_root` (a local directory or an s3://
    prefix; default: work_dir); the process gets the container's env from the
    spec, then `env` (what a pod would get elsewhere, e.g. credentials).
    """
    task = spec["root"]["dag"]["tasks"][task_name]
    component = spec["components"][task["componentRef"]["name"]]
    container = spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
    task_dir = work_dir / task_name
    output_dir = f"{output_root}/{task_name}" if output_root else str(task_dir)
    executor_input = {
        "inputs": {
            # Pipeline spec 2.1: KFP's driver passes each constant as is.
            "parameterValues": {
                name: value["runtimeValue"]["constant"]
                for name, value in task.get("inputs", {}).get("parameters", {}).items()
            },
            "artifacts": {
                # What KFP hands a consumer: the producer's artifact, typed by
                # the consumer's input definition.
                name: {"artifacts": [dict(artifact, type=component["inputDefinitions"]["artifacts"][name]["artifactType"])]}
                for name, artifact in (input_artifacts or {}).items()
            },
        },
        "outputs": {
            "artifacts": {
                name: {
                    "artifacts": [{
                        "name": f"{task_name}-{name}",
                        "type": definition["artifactType"],
                        "uri": f"{output_dir}/{name}",
                    }]
                }
                for name, definition in component["outputDefinitions"]["artifacts"].items()
            },
            # Where the launcher collects it: always a local file.
            "outputFile": str(task_dir / "executor_output.json"),
        },
    }
    args = [json.dumps(executor_input) if a == "{{$}}" else a for a in container["args"]]
    command = container["command"]
    assert command == kubeflow_compile.COMMAND
    task_dir.mkdir(parents=True, exist_ok=True)
    # The image's environment: Python with the project installed, Keras 2.
    task_env = dict(os.environ, TF_USE_LEGACY_KERAS="1")
    task_env.update({e["name"]: e["value"] for e in container.get("env", [])})
    task_env.update(env or {})
    result = subprocess.run(
        [sys.executable, *command[1:], *args],
        cwd=work_dir, env=task_env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, f"exit status {result.returncode}\n" + result.stderr[-5000:]
    with open(executor_input["outputs"]["outputFile"]) as f:
        return json.load(f)


@pytest.fixture(scope="module")
def container_outputs(spec, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp("kfp_tasks")
    ingestion = run_task(spec, dag.EXAMPLE_GEN, work_dir)
    [examples] = ingestion["artifacts"]["examples"]["artifacts"]
    statistics = run_task(spec, dag.STATISTICS_GEN, work_dir, {"examples": examples})
    [stats] = statistics["artifacts"]["statistics"]["artifacts"]
    return {dag.EXAMPLE_GEN: examples, dag.STATISTICS_GEN: stats}


def _examples(examples_uri, split):
    """(pixels, label) of every example, in order. Decoded: a tf.Example's
    feature map may serialize in a different order in another process."""
    pattern = os.path.join(examples_uri, f"Split-{split}", "*.gz")
    records = tf.data.TFRecordDataset(tf.io.gfile.glob(pattern), compression_type="GZIP")
    return [(pixels.tolist(), label) for pixels, label in map(encoding.decode, records.as_numpy_iterator())]


def _num_examples(statistics_uri, split):
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    with open(os.path.join(statistics_uri, f"Split-{split}", "FeatureStats.pb"), "rb") as f:
        stats.ParseFromString(f.read())
    return stats.datasets[0].num_examples


def test_ingestion_container_writes_the_local_runs_examples(container_outputs, local_outputs):
    examples = container_outputs[dag.EXAMPLE_GEN]
    assert json.loads(examples["metadata"]["split_names"]) == list(SPLITS)
    assert examples["metadata"]["example_counts"] == {s: KUBEFLOW_SUBSET for s in SPLITS}
    for split in SPLITS:
        from_container = _examples(examples["uri"], split)
        assert len(from_container) == KUBEFLOW_SUBSET
        assert from_container == _examples(local_outputs[dag.EXAMPLE_GEN], split)


def test_statistics_container_counts_what_the_local_run_counts(container_outputs, local_outputs):
    statistics = container_outputs[dag.STATISTICS_GEN]
    for split in SPLITS:
        assert _num_examples(statistics["uri"], split) == KUBEFLOW_SUBSET
        assert _num_examples(statistics["uri"], split) == _num_examples(
            local_outputs[dag.STATISTICS_GEN], split
        )
