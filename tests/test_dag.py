"""The built pipeline's node ids and keys are foundation/names.py's, so code may name nodes by them."""
import json

from foundation import names
from pipeline import config as config_lib
from pipeline import dag


def test_node_ids_are_the_pipelines(tmp_path):
    pipeline = dag.create_pipeline(config_lib.PipelineConfig(output_dir=str(tmp_path)))
    assert sorted(node.id for node in pipeline.components) == sorted(names.NODE_IDS)
    by_id = {node.id: node for node in pipeline.components}
    assert names.MODEL_RUN_KEY in by_id[names.TRAINER].outputs
    assert {names.REPORT_KEY, names.HTML_KEY} <= set(by_id[names.EVALUATION_REPORTER].outputs)
    assert names.BASELINE_MODEL_KEY in by_id[names.EVALUATOR].inputs


def test_tune_puts_the_tuner_before_the_trainer_and_feeds_it_the_best_values(tmp_path):
    default = dag.create_pipeline(config_lib.PipelineConfig(output_dir=str(tmp_path)))
    assert names.TUNER not in {node.id for node in default.components}  # off by default
    pipeline = dag.create_pipeline(config_lib.from_env({}, output_dir=str(tmp_path), tune=True))
    by_id = {node.id: node for node in pipeline.components}
    assert set(by_id) == set(names.NODE_IDS) | {names.TUNER}
    tuner, trainer = by_id[names.TUNER], by_id[names.TRAINER]
    assert trainer.inputs["hyperparameters"] is tuner.outputs[names.BEST_HYPERPARAMETERS_KEY]
    assert names.TUNER_RESULTS_KEY in tuner.outputs
    assert by_id[names.VALIDATION_GATE] in tuner.upstream_nodes  # no search on data that failed validation
    # Given the train split alone, and the Trainer and the Evaluator their usual splits.
    assert json.loads(tuner.exec_properties["eval_args"])["splits"] == [names.TRAIN_SPLIT]
    assert json.loads(tuner.exec_properties["train_args"])["splits"] == [names.TRAIN_SPLIT]
    assert json.loads(trainer.exec_properties["train_args"])["splits"] == [names.TRAIN_SPLIT]
    assert json.loads(trainer.exec_properties["eval_args"])["splits"] == [names.EVAL_SPLIT]
    assert by_id[names.EVALUATOR].exec_properties["example_splits"] == f'["{names.EVAL_SPLIT}"]'
    assert by_id[names.EVALUATION_REPORTER].inputs[names.TUNER_RESULTS_KEY] is tuner.outputs[names.TUNER_RESULTS_KEY]
