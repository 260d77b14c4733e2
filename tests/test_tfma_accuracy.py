"""The Evaluator's native accuracy metric against Keras' SparseCategoricalAccuracy."""
import numpy as np
import tensorflow as tf
from tensorflow_model_analysis.metrics import metric_types

from components import tfma_accuracy
from pipeline import evaluation


def _combine(labels, predictions):
    config = evaluation.eval_config(0.98, 0.002)
    [computation] = tfma_accuracy.TopOneAccuracy().computations(eval_config=config)
    combiner = computation.combiner
    halves = []
    for part in (slice(0, 100), slice(100, None)):  # as Beam would: two bundles, merged
        accumulator = combiner.create_accumulator()
        for label, prediction in zip(labels[part], predictions[part]):
            element = metric_types.StandardMetricInputs(
                labels=np.array([label]), predictions=prediction,
                example_weights=np.array([1.0]),
            )
            accumulator = combiner.add_input(accumulator, element)
        halves.append(accumulator)
    [(key, value)] = combiner.extract_output(combiner.merge_accumulators(halves)).items()
    return key, value


def test_native_accuracy_equals_keras_sparse_categorical_accuracy():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, 250)
    predictions = rng.dirichlet(np.ones(10), 250).astype(np.float32)
    predictions[:40] = np.eye(10, dtype=np.float32)[labels[:40]]  # some sure hits
    predictions[40] = 0.1  # a tie: both count it as class 0
    keras = tf.keras.metrics.SparseCategoricalAccuracy()
    keras.update_state(labels, predictions)
    key, value = _combine(labels, predictions)
    assert key.name == evaluation.ACCURACY
    assert 0.2 < value < 0.5  # chance plus the sure hits: a number worth comparing
    np.testing.assert_allclose(value, float(keras.result()), rtol=1e-6)

