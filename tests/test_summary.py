"""The summary's contract: its key figures and verdict (what ML Metadata
keeps for `runs` and `lineage`), and reading summary.json back."""
import json

import pytest

from components.evaluation_report import summary as summary_lib
from pipeline.inspection import metadata
from tests.test_report_render import _summary


def test_verdict_names_every_failed_threshold_in_a_short_line_and_each_value_below():
    verdict = summary_lib.verdict(_summary())
    assert verdict.splitlines() == [
        "not blessed: failed accuracy >= 0.98; accuracy change >= -0.002",
        "  sparse_categorical_accuracy 0.9123, needs >= 0.98",
        "  sparse_categorical_accuracy change -0.0100, needs >= -0.002",
    ]


def test_a_verdict_with_many_failed_digits_stays_short():
    """Every digit under its bound, and the overall bar: one short line, the details below."""
    from tests.test_report_render import DIGIT_BOUNDS

    failing = [dict(t, value=0.95, passed=False) for t in DIGIT_BOUNDS]
    verdict = summary_lib.verdict(_summary(**{"evaluation.thresholds": _summary()["evaluation"]["thresholds"][:1] + failing}))
    first, *details = verdict.splitlines()
    assert first == "not blessed: failed accuracy >= 0.98; digits 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 accuracy >= 0.965"
    assert len(first) < 100
    assert details[1] == "  digit 0 sparse_categorical_accuracy 0.9500, needs >= 0.965" and len(details) == 11


def test_verdict_of_a_blessed_model_without_a_baseline():
    summary = _summary(**{"blessed": True, "evaluation.overall.baseline": None})
    assert summary_lib.verdict(summary) == (
        "blessed: every threshold passed (no baseline yet: the change threshold did not apply)")


def test_key_figures_round_trip_through_an_ml_metadata_artifact():
    """What the EvaluationReporter writes is what `runs` reads back."""
    from components.evaluation_report.artifacts import EvaluationReport
    from components.evaluation_report.executor import _record

    summary = _summary(**{"evaluation.per_digit": [
        {"digit": d, "accuracy": d / 10, "example_count": 10.0, "baseline_accuracy": None, "accuracy_change": None}
        for d in range(10)
    ]})
    artifact = EvaluationReport()
    _record(artifact, summary_lib.key_figures(summary))
    stored = artifact.mlmd_artifact
    read = {key: metadata.custom_value(stored, key) for key in summary_lib.key_figures(summary)}
    assert read == {
        "schema_version": summary_lib.SCHEMA_VERSION,
        "blessed": 0,
        "verdict": summary_lib.verdict(summary),
        "accuracy": pytest.approx(0.9123),
        "accuracy_per_digit": {str(d): pytest.approx(d / 10) for d in range(10)},
        "baseline_accuracy": pytest.approx(0.9223),
    }


def test_a_figure_it_does_not_know_is_left_out_not_zeroed():
    from components.evaluation_report.artifacts import EvaluationReport
    from components.evaluation_report.executor import _record

    artifact = EvaluationReport()
    _record(artifact, summary_lib.key_figures(_summary(**{"evaluation.baseline_accuracy": None})))
    assert summary_lib.BASELINE_ACCURACY_PROPERTY not in artifact.mlmd_artifact.custom_properties


def test_read_refuses_a_summary_from_a_newer_schema(tmp_path):
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(_summary()))
    assert summary_lib.read(str(path))["run_id"] == "2026-01-01T00:00:00.000001"
    path.write_text(json.dumps(_summary(schema_version=summary_lib.SCHEMA_VERSION + 1)))
    with pytest.raises(ValueError, match="summary schema version"):
        summary_lib.read(str(path))
