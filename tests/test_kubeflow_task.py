"""The Kubeflow task command's adaptations to what a KFP backend hands a TFX
task (pipeline/launch/kubeflow_task.py), through TFX's own entry point,
without a pipeline run."""
import hashlib
import json
import os

import pytest
from google.protobuf import json_format
from kfp.pipeline_spec import pipeline_spec_pb2
from tfx.dsl.components.base import base_executor
from tfx.orchestration.kubeflow.v2.container import kubeflow_v2_entrypoint_utils
from tfx.types import standard_artifacts

from foundation import compat
from pipeline.launch import kubeflow_task
from tests.kfp import driver as kfp_driver
from tests.kfp import mlmd as kfp_mlmd

INPUTS_SPEC = {"artifacts": {"model": {"artifactType": {"instanceSchema": "title: tfx.Model\ntype: object\n"}}}}


def _argv(artifact_type):
    """A task's argv as KFP's launcher runs it: the upstream Model as the
    backend hands it over (kubeflow/pipelines, backend/src/v2/metadata/
    client.go: 2.5.0 :175-189 and :948, 2.17.0 :245-259 and :1144:
    instanceSchema "")."""
    executor_input = {
        "inputs": {"artifacts": {"model": {"artifacts": [
            {"name": "42", "uri": "s3://bucket/root/Trainer/model", "type": artifact_type, "metadata": {}}
        ]}}},
        "outputs": {"outputFile": "/tmp/kfp_outputs/output_metadata.json"},
    }
    return [
        "prog", "--executor_class_path", "x.Executor",
        kubeflow_task.INVOCATION_FLAG, json.dumps(executor_input),
        kubeflow_task.INPUTS_SPEC_FLAG, json.dumps(INPUTS_SPEC),
        "--direct_running_mode=in_memory",
    ]


def _parse(argv):
    executor_input = json_format.Parse(
        argv[argv.index(kubeflow_task.INVOCATION_FLAG) + 1], pipeline_spec_pb2.ExecutorInput()
    )
    return kubeflow_v2_entrypoint_utils.parse_raw_artifact_dict(executor_input.inputs.artifacts)


def test_tfx_cannot_read_an_artifact_as_the_kfp_backend_hands_it_over():
    with pytest.raises(AttributeError, match="'NoneType' object has no attribute 'get'"):
        _parse(_argv({"instanceSchema": ""}))


def test_the_task_command_types_such_artifacts_from_the_components_inputs_spec():
    argv = kubeflow_task.adapt_kfp_executor_input(_argv({"instanceSchema": ""}))
    [model] = _parse(argv)["model"]
    assert isinstance(model, standard_artifacts.Model)
    assert model.uri == "s3://bucket/root/Trainer/model"
    assert argv[-1] == "--direct_running_mode=in_memory"


def test_typed_artifacts_are_left_as_they_are():
    argv = _argv({"schemaTitle": "tfx.Model"})
    assert kubeflow_task.adapt_kfp_executor_input(argv) is argv


def test_the_launchers_log_output_is_not_handed_to_tfx():
    """KFP's driver adds `executor-logs` (system.Artifact) to every task
    (backend/src/v2/driver/driver.go: 2.5.0 :2025-2038, 2.17.0 :755-768);
    TFX cannot import that type."""
    argv = _argv({"schemaTitle": "tfx.Model"})
    at = argv.index(kubeflow_task.INVOCATION_FLAG) + 1
    executor_input = json.loads(argv[at])
    executor_input["outputs"]["artifacts"] = {
        "executor-logs": {"artifacts": [{"type": {"schemaTitle": "system.Artifact"}, "uri": "s3://b/logs"}]},
        "baseline_model": {"artifacts": [{"type": {"schemaTitle": "tfx.Model"}, "uri": "s3://b/m"}]},
    }
    argv[at] = json.dumps(executor_input)
    adapted = json.loads(kubeflow_task.adapt_kfp_executor_input(argv)[at])
    assert list(adapted["outputs"]["artifacts"]) == ["baseline_model"]


def test_struct_and_list_metadata_arrive_as_the_upstream_task_wrote_them():
    """The backend wraps them (kubeflow/pipelines, backend/src/v2/metadata/
    converter.go: 2.5.0 :133-165, 2.17.0 :138-170)."""
    argv = _argv({"instanceSchema": ""})
    at = argv.index(kubeflow_task.INVOCATION_FLAG) + 1
    executor_input = json.loads(argv[at])
    [artifact] = executor_input["inputs"]["artifacts"]["model"]["artifacts"]
    artifact["metadata"] = {
        "example_counts": {"struct": {"train": 200.0, "eval": 200.0}},
        "label_counts": {"struct": {"train": [20.0] * 10}},
        "splits": {"list": ["train", "eval"]},
        "pushed": 1.0,
        "note": {"a": 1.0, "b": 2.0},  # not a wrapper: left alone
    }
    argv[at] = json.dumps(executor_input)
    [adapted] = json.loads(kubeflow_task.adapt_kfp_executor_input(argv)[at])["inputs"]["artifacts"]["model"]["artifacts"]
    assert adapted["metadata"] == {
        "example_counts": {"train": 200.0, "eval": 200.0},
        "label_counts": {"train": [20.0] * 10},
        "splits": ["train", "eval"],
        "pushed": 1.0,
        "note": {"a": 1.0, "b": 2.0},
    }


class RecordingExecutor(base_executor.BaseExecutor):
    """Writes nothing; keeps what TFX's KFP v2 entry point handed it."""

    seen: dict = {}

    def Do(self, input_dict, output_dict, exec_properties):
        RecordingExecutor.seen = {
            "tmp": self._get_tmp_dir(),
            "ids": {key: artifacts[0].id for key, artifacts in {**input_dict, **output_dict}.items()},
        }


def _hashed(name):
    return int(hashlib.sha256(name.encode()).hexdigest(), 16) % (1 << 63)


def test_each_backends_task_layout_as_tfx_reads_it(backend_version, tmp_path):
    """A task's ExecutorInput as the driver stand-in builds it for each
    version, through the task command's adaptation into TFX's entry point,
    in a pod whose filesystem is tmp_path. 2.17.0 names the outputs and puts
    the executor output file in the task's folder: TFX gives the outputs
    ids hashed from their names, writes the names back (which the launcher
    ignores), and keeps its temporary files in that folder."""
    backend = kfp_mlmd.Backend()
    model_id = backend.record("s3://b/root/Trainer/1/model", kfp_mlmd.to_mlmd_properties(
        {}, "model", kfp_mlmd.S3_FROM_ENV_SESSION, backend_version), "tfx.Model")
    task = {"taskInfo": {"name": "Baseline"}, "inputs": {"artifacts": {"model": {
        "taskOutputArtifact": {"producerTask": "Trainer", "outputArtifactKey": "model"}}}}}
    component = {"inputDefinitions": INPUTS_SPEC,
                 "outputDefinitions": {"artifacts": {"baseline_model": {"artifactType": {"schemaTitle": "tfx.Model"}}}}}
    given = kfp_driver.executor_input("Baseline", task, component, {"Trainer": {"model": model_id}}, backend,
                                      "s3://b/root", True, backend_version)
    output_file = given["outputs"]["outputFile"]
    given["outputs"]["outputFile"] = str(tmp_path) + output_file  # in the pod
    argv = ["prog", "--executor_class_path", f"{__name__}.RecordingExecutor",
            kubeflow_task.INVOCATION_FLAG, json.dumps(given), kubeflow_task.INPUTS_SPEC_FLAG, json.dumps(INPUTS_SPEC)]
    main, parse_flags = compat.kubeflow_v2_executor()
    main(parse_flags(kubeflow_task.adapt_kfp_executor_input(argv)))

    task_root = os.path.dirname(output_file)
    written = json.loads((tmp_path / output_file.lstrip("/")).read_text())["artifacts"]["baseline_model"]["artifacts"][0]
    if backend_version.output_file_in_task_root:
        uuid = os.path.basename(task_root)
        assert task_root.startswith("/s3/b/root/Baseline/")
        assert RecordingExecutor.seen["ids"] == {"model": _hashed(str(model_id)), "baseline_model": _hashed("baseline_model")}
        assert written["name"] == "baseline_model"
    else:
        uuid = "kfp_outputs"  # every task's
        assert task_root == "/tmp/kfp_outputs"
        assert RecordingExecutor.seen["ids"] == {"model": _hashed(str(model_id)), "baseline_model": 0}
        assert "name" not in written
    assert RecordingExecutor.seen["tmp"] == f"{tmp_path}{task_root}/.temp/{uuid}/"
