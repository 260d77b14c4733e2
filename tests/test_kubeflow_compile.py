"""The Kubeflow runner's PipelineSpec: KFP takes it, and it is the local pipeline.

The DAG is compared with the one the local runner executes, built from the
same configuration: same components, same edges.
"""
import json
import os
import zipfile

import pytest
import yaml
from kfp import components

from pipeline import config as config_lib
from pipeline.errors import UserError
from pipeline import dag
from pipeline.launch import kubeflow_compile
from tests.conftest import KUBEFLOW_IMAGE, KUBEFLOW_SUBSET


@pytest.fixture(scope="module")
def spec(kubeflow_compiled):
    _, spec_path, _ = kubeflow_compiled
    with open(spec_path) as f:
        return yaml.safe_load(f)


def _local_dag(cfg):
    pipeline = dag.create_pipeline(cfg)
    nodes = {c.id for c in pipeline.components}
    edges = {(up.id, c.id) for c in pipeline.components for up in c.upstream_nodes}
    return nodes, edges


def _spec_dag(spec, node_ids):
    tasks = spec["root"]["dag"]["tasks"]

    # A TFX Resolver compiles to several tasks named "<node id>-<step>".
    def node_of(task):
        if task in node_ids:
            return task
        [node] = [n for n in node_ids if task.startswith(n + "-")]
        return node

    nodes = {node_of(t) for t in tasks}
    edges = {
        (node_of(up), node_of(t))
        for t, body in tasks.items()
        for up in body.get("dependentTasks", [])
        if node_of(up) != node_of(t)
    }
    return nodes, edges


def test_kfp_takes_the_spec(kubeflow_compiled):
    cfg, spec_path, _ = kubeflow_compiled
    component = components.load_component_from_file(spec_path)
    assert component.name == cfg.pipeline_name
    assert component.pipeline_spec.default_pipeline_root == cfg.pipeline_root


def test_spec_has_the_local_pipelines_components_and_edges(kubeflow_compiled, spec):
    cfg, _, _ = kubeflow_compiled
    local_nodes, local_edges = _local_dag(cfg)
    spec_nodes, spec_edges = _spec_dag(spec, local_nodes)
    assert spec_nodes == local_nodes
    # One difference, by design: KFP compiles only TFX's stock resolver
    # strategies, so there the baseline resolver does not take the Trainer's
    # model in order to leave it out (components/baseline_resolver.py).
    assert local_edges - spec_edges == {(dag.TRAINER, dag.BASELINE_RESOLVER)}
    assert spec_edges <= local_edges
    assert (dag.VALIDATION_GATE, dag.TRAINER) in spec_edges  # the gate's control edge survives


def test_every_executor_runs_the_configured_image(spec):
    executors = spec["deploymentSpec"]["executors"]
    containers = {label: e["container"] for label, e in executors.items() if "container" in e}
    # Only the resolver's metadata queries run without a container.
    assert set(executors) - set(containers) == {
        label for label, e in executors.items() if "resolver" in e
    }
    assert len(containers) == 9
    for label, container in containers.items():
        assert container["image"] == KUBEFLOW_IMAGE, label
        # TFX's executor entry point, with s3:// registered (pipeline/launch/kubeflow_task.py).
        assert container["command"] == ["python", "-m", "pipeline.launch.kubeflow_task"]
        assert "env" not in container  # no S3 endpoint configured


def test_task_settings_come_from_the_configuration(kubeflow_compiled, spec):
    cfg, _, _ = kubeflow_compiled
    tasks = spec["root"]["dag"]["tasks"]

    def param(task, name):
        return tasks[task]["inputs"]["parameters"][name]["runtimeValue"]["constantValue"]

    assert param(dag.EXAMPLE_GEN, "mnist_dir") == {"stringValue": cfg.mnist_dir}
    assert param(dag.EXAMPLE_GEN, "max_examples_per_split") == {"intValue": str(KUBEFLOW_SUBSET)}
    # Read inside the container, so the image's copy of the project.
    assert param(dag.SCHEMA_GEN, "schema_file") == {
        "stringValue": os.path.join(config_lib.IMAGE_PROJECT_ROOT, "schemas", "schema.pbtxt")
    }
    assert json.loads(param(dag.TRAINER, "custom_config")["stringValue"])["epochs"] == cfg.train.epochs
    push = json.loads(param(dag.PUSHER, "push_destination")["stringValue"])
    assert push["filesystem"]["base_directory"] == cfg.serving_dir
    trainer = spec["deploymentSpec"]["executors"]["Trainer_executor"]["container"]
    assert trainer["resources"] == {"cpuLimit": 2.0, "memoryLimit": 6.0}
    for label, executor in spec["deploymentSpec"]["executors"].items():
        if "container" in executor:
            beam_args = cfg.beam_pipeline_args(config_lib.IMAGE_PROJECT_ROOT)
            assert executor["container"]["args"][-len(beam_args):] == beam_args, label


def test_trainer_module_wheel_is_staged_under_the_pipeline_root(kubeflow_compiled, spec):
    cfg, _, _ = kubeflow_compiled
    params = spec["root"]["dag"]["tasks"][dag.TRAINER]["inputs"]["parameters"]
    module_path = params["module_path"]["runtimeValue"]["constantValue"]["stringValue"]
    module, wheel = module_path.split("@")
    assert module == "task"
    assert os.path.dirname(wheel) == os.path.join(cfg.pipeline_root, "_wheels")
    with zipfile.ZipFile(wheel) as z:
        assert "task.py" in z.namelist()


def test_vertex_job_wraps_the_same_spec(kubeflow_compiled, spec):
    cfg, _, job_path = kubeflow_compiled
    with open(job_path) as f:
        job = json.load(f)
    assert job["runtimeConfig"]["gcsOutputDirectory"] == cfg.pipeline_root
    assert job["pipelineSpec"]["root"] == spec["root"]
    assert job["pipelineSpec"]["deploymentSpec"] == spec["deploymentSpec"]


def test_evaluation_report_is_an_html_artifact_the_kfp_ui_displays(spec):
    """The KFP UI renders artifacts whose ML Metadata type is `system.HTML`;
    KFP names the type after the schema title of the task's output."""
    component = spec["components"][spec["root"]["dag"]["tasks"][dag.EVALUATION_REPORTER]["componentRef"]["name"]]
    titles = {
        key: yaml.safe_load(output["artifactType"]["instanceSchema"])["title"]
        for key, output in component["outputDefinitions"]["artifacts"].items()
    }
    assert titles == {"html": "system.HTML", "report": "components.EvaluationReport"}


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"image": ""}, "no container image"),
        ({"image": "x", "pipeline_name": "MNIST_tfx"}, "lowercase letters, digits and dashes"),
    ],
)
def test_settings_kubeflow_cannot_run_are_refused(overrides, message):
    with pytest.raises(UserError, match=message):
        kubeflow_compile.check(config_lib.from_env({}, **overrides))


def test_trainer_accelerator_is_requested():
    cfg = config_lib.from_env({}, trainer_accelerator="nvidia.com/gpu")
    resources = kubeflow_compile.trainer_resources(cfg)
    assert (resources.accelerator.type, resources.accelerator.count) == ("nvidia.com/gpu", 1)
    assert kubeflow_compile.trainer_resources(config_lib.from_env({})) is None
