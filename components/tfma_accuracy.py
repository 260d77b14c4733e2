"""Top-1 accuracy as a native TFMA metric, for the Evaluator.

Given the Keras metric (tf.keras.metrics.SparseCategoricalAccuracy), TFMA
traces its update function into a TF graph for every slice's combiner, a
large share of the Evaluator's CPU (docs/performance.md). This
metric counts argmax(prediction) == label in numpy instead: the same
definition (ties go to the first class, as in Keras) under the same name,
so every reader of the evaluation sees no difference but the time.
"""
from typing import Any, Dict, Iterable, List, Optional

import apache_beam as beam
import numpy as np
from tensorflow_model_analysis.metrics import metric_types, metric_util
from tensorflow_model_analysis.proto import config_pb2

ACCURACY = "sparse_categorical_accuracy"


class TopOneAccuracy(metric_types.Metric):
    """The share of examples whose most probable class is their label."""

    def __init__(self, name: str = ACCURACY):
        super().__init__(metric_util.merge_per_key_computations(_computations), name=name)


metric_types.register_metric(TopOneAccuracy)


def _computations(
    name: str = ACCURACY,
    eval_config: Optional[config_pb2.EvalConfig] = None,
    model_name: str = "",
    output_name: str = "",
    example_weighted: bool = False,
    **_: Any,
) -> metric_types.MetricComputations:
    key = metric_types.MetricKey(
        name=name, model_name=model_name, output_name=output_name,
        example_weighted=example_weighted,
    )
    return [
        metric_types.MetricComputation(
            keys=[key], preprocessors=None, combiner=_Combiner(key, eval_config)
        )
    ]


class _Combiner(beam.CombineFn):
    """Accumulates [weight of the correct examples, weight of all examples]."""

    def __init__(self, key: metric_types.MetricKey, eval_config: Optional[config_pb2.EvalConfig]):
        self._key = key
        self._eval_config = eval_config

    def create_accumulator(self) -> List[float]:
        return [0.0, 0.0]

    def add_input(self, accumulator: List[float], element: metric_types.StandardMetricInputs) -> List[float]:
        for label, prediction, weight in metric_util.to_label_prediction_example_weight(
            element,
            eval_config=self._eval_config,
            model_name=self._key.model_name,
            output_name=self._key.output_name,
            example_weighted=self._key.example_weighted,
            flatten=False,
        ):
            weight = float(weight)
            accumulator[0] += weight * (int(np.argmax(prediction)) == int(np.ravel(label)[0]))
            accumulator[1] += weight
        return accumulator

    def merge_accumulators(self, accumulators: Iterable[List[float]]) -> List[float]:
        correct, total = 0.0, 0.0
        for accumulator in accumulators:
            correct += accumulator[0]
            total += accumulator[1]
        return [correct, total]

    def extract_output(self, accumulator: List[float]) -> Dict[metric_types.MetricKey, float]:
        correct, total = accumulator
        return {self._key: correct / total if total else float("nan")}
