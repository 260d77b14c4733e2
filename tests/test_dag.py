"""pipeline/dag.py's node ids are the built pipeline's, so code may name nodes by them."""
import json

from pipeline import config as config_lib
from pipeline import dag


def test_node_ids_are_the_pipelines(tmp_path):
    pipeline = dag.create_pipeline(config_lib.PipelineConfig(output_dir=str(tmp_path)))
    assert sorted(node.id for node in pipeline.components) == sorted(dag.NODE_IDS)
    by_id = {node.id: node for node in pipeline.components}
    assert dag.MODEL_RUN_KEY in by_id[dag.TRAINER].outputs
    assert {dag.REPORT_KEY, dag.HTML_KEY} <= set(by_id[dag.EVALUATION_REPORTER].outputs)
    assert dag.BASELINE_MODEL_KEY in by_id[dag.EVALUATOR].inputs


def test_the_names_do_not_load_tensorflow():
    import subprocess
    import sys

    code = "import sys; from pipeline import dag; assert 'tensorflow' not in sys.modules and 'tfx' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_tune_puts_the_tuner_before_the_trainer_and_feeds_it_the_best_values(tmp_path):
    default = dag.create_pipeline(config_lib.PipelineConfig(output_dir=str(tmp_path)))
    assert dag.TUNER not in {node.id for node in default.components}  # off by default
    pipeline = dag.create_pipeline(config_lib.from_env({}, output_dir=str(tmp_path), tune=True))
    by_id = {node.id: node for node in pipeline.components}
    assert set(by_id) == set(dag.NODE_IDS) | {dag.TUNER}
    tuner, trainer = by_id[dag.TUNER], by_id[dag.TRAINER]
    assert trainer.inputs["hyperparameters"] is tuner.outputs[dag.BEST_HYPERPARAMETERS_KEY]
    assert dag.TUNER_RESULTS_KEY in tuner.outputs
    assert by_id[dag.VALIDATION_GATE] in tuner.upstream_nodes  # no search on data that failed validation
    # Given the train split alone, and the Trainer and the Evaluator their usual splits.
    assert json.loads(tuner.exec_properties["eval_args"])["splits"] == ["train"]
    assert json.loads(tuner.exec_properties["train_args"])["splits"] == ["train"]
    assert json.loads(trainer.exec_properties["train_args"])["splits"] == ["train"]
    assert by_id[dag.EVALUATOR].exec_properties["example_splits"] == '["eval"]'
    assert by_id[dag.EVALUATION_REPORTER].inputs["tuner_results"] is tuner.outputs[dag.TUNER_RESULTS_KEY]
