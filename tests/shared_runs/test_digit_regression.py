"""A model that loses one digit is not blessed, and the verdict names the digit.

The baseline is the shared blessed run's model (tests/fixtures/shared_runs.py); the
candidate is that model with one digit's probability moved to the others, made
without training. TFX's Evaluator executor (the project's, as the pipeline
runs it) judges it with the pipeline's EvalConfig; the overall bars are off,
so only the per-digit thresholds can refuse it.
"""
import json
import os

import pytest
import tensorflow as tf
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import path_utils, proto_utils

from components.baseline_model import EvaluatorExecutor
from components.evaluation_report import summary as summary_lib
from components.evaluation_report import tfma_facts
from foundation import names
from pipeline import evaluation
from pipeline.config import PipelineConfig
from pipeline.inspection import metadata
from trainer_module import features
from trainer_module.features import SERVING_EXAMPLES, SERVING_IMAGES

pytestmark = pytest.mark.e2e

LOST_DIGIT = 3


class _LosesOneDigit(tf.Module):
    """The baseline's two signatures, with LOST_DIGIT never predicted."""

    def __init__(self, baseline_dir: str):
        super().__init__()
        self.baseline = tf.saved_model.load(baseline_dir)
        self.keep = tf.constant([0.0 if d == LOST_DIGIT else 1.0 for d in range(features.NUM_CLASSES)])

    def _without(self, probabilities):
        kept = probabilities * self.keep
        return {features.PREDICTIONS_KEY: kept / tf.reduce_sum(kept, axis=1, keepdims=True)}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(self, serialized):
        return self._without(self.baseline.signatures[SERVING_EXAMPLES](examples=serialized)[features.PREDICTIONS_KEY])

    @tf.function(input_signature=[tf.TensorSpec((None,) + features.IMAGE_SHAPE, tf.float32, name="images")])
    def serve_images(self, images):
        return self._without(self.baseline.signatures[SERVING_IMAGES](images=images)[features.PREDICTIONS_KEY])


def _artifact(kind, uri):
    artifact = kind()
    artifact.uri = str(uri)
    return artifact


def test_a_model_that_regresses_on_one_digit_is_not_blessed(blessed_then_not_blessed, tmp_path):
    shared = blessed_then_not_blessed
    store = metadata.open_store(shared.cfg().metadata_path)
    [run] = [r for r in metadata.runs(store, shared.cfg().pipeline_name) if r.name == shared.ids["blessed"]]
    nodes = metadata.executions(store, run)
    # ML Metadata's records, as TFX artifacts for the executor.
    examples = _artifact(standard_artifacts.Examples, nodes[names.EXAMPLE_GEN].outputs[names.EXAMPLES_KEY][0].uri)
    examples.split_names = artifact_utils.encode_split_names(["train", "eval"])
    baseline = _artifact(standard_artifacts.Model, nodes[names.TRAINER].outputs[names.MODEL_KEY][0].uri)

    candidate = _artifact(standard_artifacts.Model, tmp_path / "candidate")
    module = _LosesOneDigit(path_utils.serving_model_path(baseline.uri))
    tf.saved_model.save(module, path_utils.serving_model_path(candidate.uri), signatures={
        SERVING_EXAMPLES: module.serve_examples, SERVING_IMAGES: module.serve_images})

    defaults = PipelineConfig()
    config = evaluation.eval_config(
        accuracy_lower_bound=0.0, max_accuracy_drop=1.0,  # the overall bars off
        digit_accuracy_lower_bound=0.0, max_digit_accuracy_drop=defaults.max_digit_accuracy_drop)
    result = _artifact(standard_artifacts.ModelEvaluation, tmp_path / "evaluation")
    blessing = _artifact(standard_artifacts.ModelBlessing, tmp_path / "blessing")
    EvaluatorExecutor().Do(
        {"examples": [examples], "model": [candidate], "baseline_model": [baseline]},
        {"evaluation": [result], "blessing": [blessing]},
        {"eval_config": proto_utils.proto_to_json(config), "example_splits": json.dumps(["eval"])})

    assert blessing.get_int_custom_property("blessed") == 0
    assert os.path.exists(os.path.join(blessing.uri, "NOT_BLESSED"))
    facts = tfma_facts.load(result.uri)
    failed = [t for t in facts["thresholds"] if not t["passed"]]
    assert [(t["digit"], t["kind"]) for t in failed] == [(LOST_DIGIT, "change")], failed
    assert failed[0]["value"] < -defaults.max_digit_accuracy_drop
    # Every digit has its two thresholds, and the others pass.
    per_digit = [t for t in facts["thresholds"] if t["digit"] is not None]
    assert sorted({t["digit"] for t in per_digit}) == list(range(features.NUM_CLASSES))
    first, detail = summary_lib.verdict({"blessed": False, "evaluation": facts}).splitlines()
    assert first == f"not blessed: failed digit {LOST_DIGIT} accuracy change >= -{defaults.max_digit_accuracy_drop:g}"
    assert detail.startswith(f"  digit {LOST_DIGIT} sparse_categorical_accuracy change -"), detail
    assert detail.endswith(f"needs >= -{defaults.max_digit_accuracy_drop:g}")
