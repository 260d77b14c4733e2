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

from foundation import names
from foundation.errors import UserError
from pipeline import config as config_lib
from pipeline import dag
from pipeline.launch import kubeflow_compile
from tests.fixtures.kubeflow import KUBEFLOW_IMAGE, KUBEFLOW_SUBSET


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


def _spec_dag(spec):
    tasks = spec["root"]["dag"]["tasks"]
    edges = {(up, t) for t, body in tasks.items() for up in body.get("dependentTasks", [])}
    return set(tasks), edges


def test_kfp_takes_the_spec(kubeflow_compiled):
    cfg, spec_path, _ = kubeflow_compiled
    component = components.load_component_from_file(spec_path)
    assert component.name == cfg.pipeline_name
    assert component.pipeline_spec.default_pipeline_root == cfg.pipeline_root


def test_spec_has_the_local_pipelines_components_and_edges(kubeflow_compiled, spec):
    cfg, _, _ = kubeflow_compiled
    local_nodes, local_edges = _local_dag(cfg)
    spec_nodes, spec_edges = _spec_dag(spec)
    assert spec_nodes == local_nodes and len(spec_nodes) == len(names.NODE_IDS)
    assert spec_edges == local_edges  # the same baseline rule everywhere: no resolver
    assert ("ValidationGate", "Trainer") in spec_edges  # the gate's control edge survives
    assert ("Trainer", "LatestBlessedModel") in spec_edges
    # The serving check (a container task on Kubeflow too) gates the Pusher.
    assert {("Trainer", "ServingCheck"), ("ServingCheck", "Pusher")} <= spec_edges


def test_spec_is_what_open_source_kfp_2_runs(spec):
    """kubeflow/pipelines 2.5.0: the API server takes schema 2.1.0 only
    (backend/src/apiserver/template/v2_template.go:190-191); its compiler takes
    container and importer executors only (backend/src/v2/compiler/
    visitor.go:119-128); its driver reads parameters from `constant` only
    (backend/src/v2/driver/driver.go:1637-1660)."""
    assert spec["schemaVersion"] == "2.1.0"
    executors = spec["deploymentSpec"]["executors"]
    assert {kind for e in executors.values() for kind in e} == {"container"}
    assert "constantValue" not in json.dumps(spec)


def test_the_baseline_is_chosen_afresh_on_every_kubeflow_run(spec):
    """No driver runs on Kubeflow to key the cache on the chosen version
    (components/baseline_model.py, components/baseline_statistics.py), so
    those two tasks are never cached."""
    tasks = spec["root"]["dag"]["tasks"]
    assert tasks[names.BASELINE]["cachingOptions"] == {"enableCache": False}
    assert sorted(t for t, body in tasks.items() if body.get("cachingOptions", {}).get("enableCache") is False) == [
        names.BASELINE, names.BASELINE_STATISTICS
    ]


def test_every_executor_runs_the_configured_image(spec):
    executors = spec["deploymentSpec"]["executors"]
    containers = {label: e["container"] for label, e in executors.items() if "container" in e}
    assert set(containers) == set(executors)
    assert len(containers) == len(names.NODE_IDS)
    for label, container in containers.items():
        assert container["image"] == KUBEFLOW_IMAGE, label
        # TFX's executor entry point, with s3:// registered (pipeline/launch/kubeflow_task.py).
        assert container["command"] == ["python", "-m", "pipeline.launch.kubeflow_task"]
        assert "env" not in container  # no S3 endpoint configured


def test_task_settings_come_from_the_configuration(kubeflow_compiled, spec):
    cfg, _, _ = kubeflow_compiled
    tasks = spec["root"]["dag"]["tasks"]

    def param(task, name):
        return tasks[task]["inputs"]["parameters"][name]["runtimeValue"]["constant"]

    assert param("MnistExampleGen", "mnist_dir") == cfg.mnist_dir
    assert param("MnistExampleGen", "max_examples_per_split") == KUBEFLOW_SUBSET
    # Read inside the container, so the image's copy of the project.
    assert param("ImportSchemaGen", "schema_file") == os.path.join(
        config_lib.IMAGE_PROJECT_ROOT, "schemas", "schema.pbtxt"
    )
    assert json.loads(param("Trainer", "custom_config"))["epochs"] == cfg.train.epochs
    assert param("LatestBlessedModel", "serving_dir") == cfg.serving_dir
    assert param("ServingCheck", "p99_ms_batch_1") == cfg.serving_p99_ms_batch_1
    assert param("ServingCheck", "p99_ms_batch_32") == cfg.serving_p99_ms_batch_32
    assert param("ServingCheck", "num_examples") == cfg.serving_check_examples
    eval_config = json.loads(param("Evaluator", "eval_config"))
    [accuracy] = [m for m in eval_config["metrics_specs"][0]["metrics"] if "per_slice_thresholds" in m]
    [_, per_digit] = accuracy["per_slice_thresholds"]
    assert per_digit["slicing_specs"] == [{"feature_keys": ["label"]}]
    assert per_digit["threshold"]["value_threshold"]["lower_bound"] == cfg.digit_accuracy_lower_bound
    assert per_digit["threshold"]["change_threshold"]["absolute"] == -cfg.max_digit_accuracy_drop
    push = json.loads(param("Pusher", "push_destination"))
    assert push["filesystem"]["base_directory"] == cfg.serving_dir
    trainer = spec["deploymentSpec"]["executors"]["Trainer_executor"]["container"]
    assert trainer["resources"] == {"cpuLimit": 2.0, "memoryLimit": 6.0}
    for label, executor in spec["deploymentSpec"]["executors"].items():
        if "container" in executor:
            beam_args = cfg.beam_pipeline_args(config_lib.IMAGE_PROJECT_ROOT)
            assert executor["container"]["args"][-len(beam_args):] == beam_args, label


def test_trainer_module_wheel_is_staged_under_the_pipeline_root(kubeflow_compiled, spec):
    cfg, _, _ = kubeflow_compiled
    params = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["parameters"]
    module_path = params["module_path"]["runtimeValue"]["constant"]
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
    component = spec["components"][spec["root"]["dag"]["tasks"][names.EVALUATION_REPORTER]["componentRef"]["name"]]
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


def test_the_tuner_compiles_into_the_spec_and_feeds_the_trainer(kubeflow_compiled, tmp_path):
    cfg, _, _ = kubeflow_compiled
    tuned = cfg.replace(tune=True, output_dir=str(tmp_path / "object_store"))
    [spec_path] = kubeflow_compile.compile_pipeline(tuned, str(tmp_path / "tuned.yaml"))
    with open(spec_path) as f:
        spec = yaml.safe_load(f)
    local_nodes, local_edges = _local_dag(tuned)
    spec_nodes, spec_edges = _spec_dag(spec)
    assert spec_nodes == local_nodes and len(spec_nodes) == len(names.NODE_IDS) + 1  # the Tuner
    assert spec_edges == local_edges and ("Tuner", "Trainer") in spec_edges
    trainer_input = spec["root"]["dag"]["tasks"]["Trainer"]["inputs"]["artifacts"]["hyperparameters"]
    assert trainer_input["taskOutputArtifact"] == {
        "producerTask": "Tuner", "outputArtifactKey": names.BEST_HYPERPARAMETERS_KEY,
    }
    executors = spec["deploymentSpec"]["executors"]
    containers = [e["container"] for e in executors.values()]
    assert len(containers) == len(names.NODE_IDS) + 1 and {c["image"] for c in containers} == {cfg.image}
    assert len({tuple(c["command"]) for c in containers}) == 1  # the same task command
    params = spec["root"]["dag"]["tasks"]["Tuner"]["inputs"]["parameters"]
    module, wheel = params["module_path"]["runtimeValue"]["constant"].split("@")
    assert module == "tuner"
    with zipfile.ZipFile(wheel) as z:
        assert "tuner.py" in z.namelist()
