"""The Evaluator's EvalConfig: what is measured, and what blesses a model.

The trained model is uncompiled (GradientTape loop), so TFMA loads it as a
generic TF model through `serving_default`, and every metric must be declared
here: nothing comes from model.compile(). Accuracy is a native TFMA metric
(components/tfma_accuracy.py), much cheaper than TFMA's wrapper of Keras'.
"""
import tensorflow_model_analysis as tfma

from components import tfma_accuracy
from components.tfma_accuracy import ACCURACY  # noqa: F401  (this module's API)
from trainer_module import features
from trainer_module.export import SERVING_EXAMPLES


def eval_config(accuracy_lower_bound: float, max_accuracy_drop: float) -> tfma.EvalConfig:
    accuracy_threshold = tfma.MetricThreshold(
        value_threshold=tfma.GenericValueThreshold(lower_bound={"value": accuracy_lower_bound}),
        # Compared with the latest blessed model; ignored while none exists.
        change_threshold=tfma.GenericChangeThreshold(
            direction=tfma.MetricDirection.HIGHER_IS_BETTER,
            absolute={"value": -max_accuracy_drop},
        ),
    )
    return tfma.EvalConfig(
        model_specs=[
            tfma.ModelSpec(
                signature_name=SERVING_EXAMPLES,
                label_key=features.LABEL_KEY,
                prediction_key=features.PREDICTIONS_KEY,
            )
        ],
        # Overall, and per digit.
        slicing_specs=[tfma.SlicingSpec(), tfma.SlicingSpec(feature_keys=[features.LABEL_KEY])],
        metrics_specs=[
            tfma.MetricsSpec(
                metrics=[
                    tfma.MetricConfig(class_name="ExampleCount"),
                    # The report's confusion matrix: TFMA's counts, not a recount.
                    tfma.MetricConfig(class_name="MultiClassConfusionMatrixPlot"),
                    tfma.MetricConfig(
                        class_name=tfma_accuracy.TopOneAccuracy.__name__,
                        module=tfma_accuracy.__name__,
                        # The bar is for the whole eval set. A plain `threshold`
                        # would apply to every slice, i.e. to each digit too.
                        per_slice_thresholds=[
                            tfma.PerSliceMetricThreshold(
                                slicing_specs=[tfma.SlicingSpec()],
                                threshold=accuracy_threshold,
                            )
                        ],
                    ),
                ]
            )
        ],
    )
