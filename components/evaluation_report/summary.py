"""The report's summary: its type, how it is read, and boiled down to the key
figures that ML Metadata keeps (gather.py gathers it).

The summary is one JSON-able dict, written as `summary.json` beside the page
and the page's only input (render.py), so the `report` command can render the
same page again with what only ML Metadata knows (wall times, the trainer
module's fingerprint). Its type is a TypedDict, not a class: readers (the
renderer, a jinja2 template, the notebook) index it as the plain dict
`json.load` gives back.

Imports no TensorFlow, TFMA or TFX, so the CLI can use the types and `read`.
"""
import json
from typing import Any, Dict, List, Optional, TypedDict

from foundation import text

# Raised when a field changes meaning or goes; readers refuse newer versions.
SCHEMA_VERSION = 4  # 3: thresholds per digit too ("digit"); "serving". 4: "search"


class Threshold(TypedDict, total=False):
    metric: str
    digit: Optional[int]  # the digit's slice; None: the whole eval set
    kind: str  # "value" or "change"
    value: Optional[float]
    passed: bool
    condition: str  # e.g. ">= 0.98"
    lower_bound: Optional[float]
    upper_bound: Optional[float]
    absolute: Optional[float]
    relative: Optional[float]


class DigitFacts(TypedDict):
    digit: int
    accuracy: Optional[float]
    example_count: Optional[float]
    baseline_accuracy: Optional[float]
    accuracy_change: Optional[float]


class Overall(TypedDict):
    candidate: Dict[str, float]
    baseline: Optional[Dict[str, float]]  # None: the Evaluator had no baseline
    change: Optional[Dict[str, float]]


class EvaluationFacts(TypedDict):
    """What TFMA measured and decided (tfma_facts.load)."""
    accuracy: Optional[float]  # the candidate's, on the whole eval set
    baseline_accuracy: Optional[float]  # None: the Evaluator had no baseline
    validation_ok: bool
    thresholds: List[Threshold]
    overall: Overall
    per_digit: List[DigitFacts]
    confusion_matrix: Optional[List[List[int]]]
    models: Dict[str, Optional[str]]  # "candidate", "baseline": model directories


class ServingFacts(TypedDict, total=False):
    """The ServingCheck's result (components/serving_check/check.py, Result.to_json)."""
    blessed: bool
    reasons: List[str]
    examples_checked: int
    digits_checked: List[int]
    agreement: Dict[str, Dict[str, float]]
    latency: Dict[str, Dict[str, Dict[str, float]]]  # {signature: {batch size: {p50_ms, p99_ms, calls}}}
    load_seconds: Optional[float]
    bounds: Dict[str, float]  # {"p99_ms_batch_1": ..., "p99_ms_batch_32": ...}


class Summary(TypedDict):
    schema_version: int
    run_id: Optional[str]
    blessed: bool
    evaluation: EvaluationFacts
    training: Optional[Dict[str, Any]]  # the Trainer's training_summary.json
    data: Dict[str, Any]  # data_facts.load
    misclassified: Dict[str, Any]  # digits.misclassified
    samples: List[Dict[str, Any]]  # digits.samples
    provenance: Dict[str, Any]
    serving: Optional[ServingFacts]  # None: no serving check ran
    # The Tuner's record (trainer_module/search_record.Record); None: no search.
    search: Optional[Dict[str, Any]]


def read(path: str) -> Summary:
    """A summary.json; refuses one written by a newer version of this code."""
    with open(path) as f:
        found = json.load(f)
    version = found.get("schema_version")
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise ValueError(f"{path}: summary schema version {version!r}; this code reads up to {SCHEMA_VERSION}")
    return found


# The summary's key figures, kept as custom properties of the report artifact
# so that `runs` and `lineage` read them from ML Metadata alone.
ACCURACY_PROPERTY = "accuracy"
ACCURACY_PER_DIGIT_PROPERTY = "accuracy_per_digit"  # JSON {"0": 0.99, ...}
BASELINE_ACCURACY_PROPERTY = "baseline_accuracy"  # absent without a baseline
BLESSED_PROPERTY = "blessed"  # 1 or 0, as on TFX's ModelBlessing
# Why blessed or not: text.verdict's lines, a short first line naming each
# failed check, then one line per failed check with its value.
VERDICT_PROPERTY = "verdict"
SCHEMA_VERSION_PROPERTY = "schema_version"


def threshold_name(threshold: Threshold) -> str:
    """'sparse_categorical_accuracy change', prefixed 'digit 3 ' on a digit's slice."""
    what = threshold["metric"] + (" change" if threshold["kind"] == "change" else "")
    digit = threshold.get("digit")
    return what if digit is None else f"digit {digit} {what}"


def _failed(threshold: Threshold) -> str:
    value = threshold.get("value")
    shown = "-" if value is None else (f"{value:+.4f}" if threshold["kind"] == "change" else f"{value:.4f}")
    return f"{threshold_name(threshold)} {shown}, needs {threshold['condition']}"


def _check(threshold: Threshold) -> str:
    """A threshold's short name: 'accuracy' for TFMA's sparse_categorical_accuracy."""
    metric = threshold["metric"]
    short = "accuracy" if metric.endswith("accuracy") else metric
    return short + (" change" if threshold["kind"] == "change" else "")


def verdict(summary: Summary) -> str:
    """Why the model was blessed or not: text.verdict's lines, joined."""
    evaluation = summary["evaluation"]
    note = "no baseline yet: the change threshold did not apply" if evaluation["overall"]["baseline"] is None else ""
    failed = [(t.get("digit"), _check(t), t["condition"], _failed(t)) for t in evaluation["thresholds"] if not t["passed"]]
    return "\n".join(text.verdict(summary["blessed"], failed, note))


def serving_verdict(summary: Summary) -> Optional[str]:
    """The serving check's verdict in one line; None when none ran."""
    serving = summary.get("serving")
    if not serving:
        return None
    p99: Dict[str, float] = {}
    for by_size in serving.get("latency", {}).values():
        for size, figures in by_size.items():
            p99[size] = max(p99.get(size, 0.0), figures["p99_ms"])
    return text.serving_verdict(serving["blessed"], serving["reasons"], p99)


def key_figures(summary: Summary) -> Dict[str, Any]:
    """{custom property: value} for the report artifact (None: not set)."""
    evaluation = summary["evaluation"]
    return {
        SCHEMA_VERSION_PROPERTY: summary["schema_version"],
        BLESSED_PROPERTY: int(summary["blessed"]),
        VERDICT_PROPERTY: verdict(summary),
        ACCURACY_PROPERTY: evaluation["accuracy"],
        ACCURACY_PER_DIGIT_PROPERTY: {
            str(d["digit"]): d["accuracy"] for d in evaluation["per_digit"] if d["accuracy"] is not None
        },
        BASELINE_ACCURACY_PROPERTY: evaluation["baseline_accuracy"],
    }
