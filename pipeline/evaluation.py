"""The Evaluator's EvalConfig: what is measured, and what blesses a model.

The trained model is uncompiled (GradientTape loop), so TFMA loads it as a
generic TF model through `serving_default`, and every metric must be declared
here: nothing comes from model.compile(). Accuracy is a native TFMA metric
(components/tfma_accuracy.py), much cheaper than TFMA's wrapper of Keras'.

Two bars, both TFMA per-slice thresholds, so TFMA's own validation decides
and its result names the failing slice: one for the whole eval set, and one
for every digit (the label slice), so that gains on some digits cannot hide
a loss on another. The change part of each is compared with the latest
blessed model and ignored while none exists.
"""
import tensorflow_model_analysis as tfma

from components import tfma_accuracy
from components.tfma_accuracy import ACCURACY  # noqa: F401  (this module's API)
from trainer_module import features
from trainer_module.features import SERVING_EXAMPLES

OVERALL_SLICE = tfma.SlicingSpec()
PER_DIGIT_SLICE = tfma.SlicingSpec(feature_keys=[features.LABEL_KEY])


def _threshold(lower_bound: float, max_drop: float) -> tfma.MetricThreshold:
    return tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": lower_bound}),
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -max_drop},
        ),
    )


def eval_config(
    accuracy_lower_bound: float,
    max_accuracy_drop: float,
    digit_accuracy_lower_bound: float = 0.0,
    max_digit_accuracy_drop: float = 1.0,
) -> tfma.EvalConfig:
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name=SERVING_EXAMPLES,
                label_key=features.LABEL_KEY,
                prediction_key=features.PREDICTIONS_KEY,
            )
        ],
        slicing_specs=[OVERALL_SLICE, PER_DIGIT_SLICE],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    # The report's confusion matrix: TFMA's counts, not a recount.
                    tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                    tfma.MetricConfig(
                        class_name=tfma_accuracy.TopOneAccuracy.__name__,
                        module=tfma_accuracy.__name__,
                        # Per slice, not a plain `threshold` (which would put
                        # the overall bar on each digit too).
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[OVERALL_SLICE],
                                threshold=_threshold(accuracy_lower_bound, max_accuracy_drop),
                            ),
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[PER_DIGIT_SLICE],
                                threshold=_threshold(digit_accuracy_lower_bound, max_digit_accuracy_drop),
                            ),
                        ],
                    ),
                ]
            )
        ],
    )
