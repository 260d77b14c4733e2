"""What TFMA measured and decided, read from the Evaluator's output as plain data.

Every number here is TFMA's own: metrics from `tfma.load_metrics`, the
confusion matrix from `tfma.load_plots` (MultiClassConfusionMatrixPlot), the
thresholds from the EvalConfig TFMA recorded with its results, resolved to
metric keys by TFMA's `metric_thresholds_from_metrics_specs` (as its
validator does), and pass/fail from TFMA's validation result.

This is the project's one reader of TFMA's results, and its one rule for
which model is the baseline: the model spec TFMA recorded as `is_baseline`
(TFMA names the models "candidate" and "baseline" only when both exist).
Everything else reads the figures this module produced, from the report's
summary.json or from ML Metadata (components/evaluation_report/summary.py).
"""
from typing import Any, Dict, List, Optional

import tensorflow_model_analysis as tfma
from tensorflow_model_analysis.metrics import metric_types
from tensorflow_model_analysis.writers import eval_config_writer

from components.evaluation_report.summary import EvaluationFacts
from components.tfma_accuracy import ACCURACY
from trainer_module import features

EXAMPLE_COUNT = "example_count"
CONFUSION_MATRIX = "multi_class_confusion_matrix_plot"
_NUM_CLASSES = features.NUM_CLASSES


def _digit(slice_key) -> Optional[int]:
    """The label of a per-digit slice; None for the overall slice."""
    for single in slice_key.single_slice_keys:
        if single.column == features.LABEL_KEY:
            return int(single.int64_value)
    return None


def _is_overall(slice_spec) -> bool:
    """Whether a threshold's slicing spec covers the whole eval set (None: every slice)."""
    return slice_spec is None or (
        not slice_spec.feature_keys and not slice_spec.feature_values and not slice_spec.slice_keys_sql
    )


def _role(key: metric_types.MetricKey, baseline_name: Optional[str]) -> str:
    if key.is_diff:
        return "diff"
    return "baseline" if baseline_name is not None and key.model_name == baseline_name else "candidate"


def _metrics_by_slice(evaluation_uri: str, baseline_name: Optional[str]):
    """{digit or None: {role: {metric name: value}}}, and {digit or None: {raw key: value}}."""
    by_slice: Dict[Optional[int], Dict[str, Dict[str, float]]] = {}
    keys_by_slice: Dict[Optional[int], Dict[metric_types.MetricKey, float]] = {}
    for metrics in tfma.load_metrics(evaluation_uri):
        digit = _digit(metrics.slice_key)
        roles = by_slice.setdefault(digit, {"candidate": {}, "baseline": {}, "diff": {}})
        for key_and_value in metrics.metric_keys_and_values:
            key = metric_types.MetricKey.from_proto(key_and_value.key)
            value = key_and_value.value.double_value.value
            roles[_role(key, baseline_name)][key.name] = value
            keys_by_slice.setdefault(digit, {})[key] = value
    return by_slice, keys_by_slice


def _confusion_matrix(evaluation_uri: str, baseline_name: Optional[str]) -> Optional[List[List[int]]]:
    """rows[true][predicted] = count, for the candidate on the whole eval set."""
    for plots in tfma.load_plots(evaluation_uri):
        if _digit(plots.slice_key) is not None:
            continue
        for key_and_value in plots.plot_keys_and_values:
            if key_and_value.key.name != CONFUSION_MATRIX or (
                baseline_name is not None and key_and_value.key.model_name == baseline_name
            ):
                continue
            rows = [[0] * _NUM_CLASSES for _ in range(_NUM_CLASSES)]
            [matrix] = key_and_value.value.multi_class_confusion_matrix_at_thresholds.matrices
            for entry in matrix.entries:
                if 0 <= entry.predicted_class_id < _NUM_CLASSES:  # -1: below a threshold (none set)
                    rows[entry.actual_class_id][entry.predicted_class_id] = int(round(entry.num_weighted_examples))
            return rows
    return None


def _failed_keys(validation) -> Dict[Optional[int], set]:
    """{digit or None (the whole eval set): metric keys TFMA's validation failed there}."""
    failed: Dict[Optional[int], set] = {}
    for per_slice in validation.metric_validations_per_slice:
        failed.setdefault(_digit(per_slice.slice_key), set()).update(
            metric_types.MetricKey.from_proto(failure.metric_key) for failure in per_slice.failures
        )
    return failed


def _describe_threshold(threshold) -> Dict[str, Any]:
    """A threshold's bounds, as data and as text ('>= 0.98')."""
    if isinstance(threshold, tfma.GenericValueThreshold):
        lower = threshold.lower_bound.value if threshold.HasField("lower_bound") else None
        upper = threshold.upper_bound.value if threshold.HasField("upper_bound") else None
        text = " and ".join(
            part for part in (
                f">= {lower:g}" if lower is not None else "",
                f"<= {upper:g}" if upper is not None else "",
            ) if part
        )
        return {"kind": "value", "lower_bound": lower, "upper_bound": upper, "condition": text}
    sign = "<=" if threshold.direction == tfma.MetricDirection.LOWER_IS_BETTER else ">="
    absolute = threshold.absolute.value if threshold.HasField("absolute") else None
    relative = threshold.relative.value if threshold.HasField("relative") else None
    text = " and ".join(
        part for part in (
            f"{sign} {absolute:+g}" if absolute is not None else "",
            f"relative {sign} {relative:+g}" if relative is not None else "",
        ) if part
    )
    return {"kind": "change", "absolute": absolute, "relative": relative, "condition": text}


def _is_per_digit(slice_spec) -> bool:
    return slice_spec is not None and list(slice_spec.feature_keys) == [features.LABEL_KEY]


def _thresholds(eval_config, keys_by_slice, baseline_name, failed) -> List[Dict[str, Any]]:
    """Every threshold TFMA applied, once per slice: the whole eval set
    (digit None) first, then each digit the eval split holds."""
    found = []
    digits = sorted(d for d in keys_by_slice if d is not None)
    resolved = tfma.metrics.metric_thresholds_from_metrics_specs(
        eval_config.metrics_specs, eval_config=eval_config
    )
    for key, slices_and_thresholds in resolved.items():
        if baseline_name is not None and key.model_name == baseline_name:
            continue  # TFMA validates the candidate only
        for slice_spec, threshold in slices_and_thresholds:
            if _is_overall(slice_spec):
                slices = [None]
            elif _is_per_digit(slice_spec):
                slices = digits
            else:
                continue
            for digit in slices:
                values = keys_by_slice.get(digit, {})
                found.append({
                    "metric": key.name,
                    "digit": digit,
                    "value": values.get(key),
                    "passed": key in values and key not in failed.get(digit, set()),
                    **_describe_threshold(threshold),
                })
    return sorted(found, key=lambda t: t["digit"] is not None)


def load(evaluation_uri: str) -> EvaluationFacts:
    """TFMA's results for the candidate (and the baseline, when there was one)."""
    eval_config, _, _, model_locations = eval_config_writer.load_eval_run(evaluation_uri)
    baseline_spec = next((s for s in eval_config.model_specs if s.is_baseline), None)
    baseline_name = baseline_spec.name if baseline_spec else None
    by_slice, keys_by_slice = _metrics_by_slice(evaluation_uri, baseline_name)
    validation = tfma.load_validation_result(evaluation_uri)
    overall = by_slice.get(None, {"candidate": {}, "baseline": {}, "diff": {}})
    per_digit = []
    for digit in sorted(d for d in by_slice if d is not None):
        roles = by_slice[digit]
        per_digit.append({
            "digit": digit,
            "accuracy": roles["candidate"].get(ACCURACY),
            "example_count": roles["candidate"].get(EXAMPLE_COUNT),
            "baseline_accuracy": roles["baseline"].get(ACCURACY),
            "accuracy_change": roles["diff"].get(ACCURACY),
        })
    return {
        "accuracy": overall["candidate"].get(ACCURACY),
        "baseline_accuracy": overall["baseline"].get(ACCURACY) if baseline_name is not None else None,
        "validation_ok": validation.validation_ok,
        "thresholds": _thresholds(eval_config, keys_by_slice, baseline_name, _failed_keys(validation)),
        "overall": {
            "candidate": overall["candidate"],
            "baseline": overall["baseline"] if baseline_name is not None else None,
            "change": overall["diff"] if baseline_name is not None else None,
        },
        "per_digit": per_digit,
        "confusion_matrix": _confusion_matrix(evaluation_uri, baseline_name),
        "models": {
            # TFMA names the models "candidate" and "baseline" only when both exist.
            "candidate": next((loc for name, loc in model_locations.items() if name != baseline_name), None),
            "baseline": model_locations.get(baseline_name) if baseline_name is not None else None,
        },
    }
