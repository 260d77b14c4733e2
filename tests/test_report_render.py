"""The report page, rendered from summary dicts: self-contained, escaped, and
complete whatever a run lacks (baseline, history, mistakes, label counts)."""
import copy
import random
import re
from html.parser import HTMLParser

import pytest

from components.evaluation_report import render, svg
from components.evaluation_report.summary import SCHEMA_VERSION, Summary

PNG = "iVBORw0KGgo="  # stands in for a digit's base64 PNG


def _summary(**changes) -> Summary:
    summary: Summary = {
        "schema_version": SCHEMA_VERSION,
        "run_id": "2026-01-01T00:00:00.000001",
        "blessed": False,
        "evaluation": {
            "accuracy": 0.9123,
            "baseline_accuracy": 0.9223,
            "validation_ok": False,
            "thresholds": [
                {"metric": "sparse_categorical_accuracy", "value": 0.9123, "passed": False, "kind": "value",
                 "lower_bound": 0.98, "upper_bound": None, "condition": ">= 0.98"},
                {"metric": "sparse_categorical_accuracy", "value": -0.01, "passed": False, "kind": "change",
                 "absolute": -0.002, "relative": None, "condition": ">= -0.002"},
            ],
            "overall": {
                "candidate": {"sparse_categorical_accuracy": 0.9123, "example_count": 100.0},
                "baseline": {"sparse_categorical_accuracy": 0.9223, "example_count": 100.0},
                "change": {"sparse_categorical_accuracy": -0.01, "example_count": 0.0},
            },
            "per_digit": [
                {"digit": d, "accuracy": 0.9, "example_count": 10.0,
                 "baseline_accuracy": 0.91, "accuracy_change": -0.01}
                for d in range(10)
            ],
            # 9 right per digit, 1 taken for the next digit.
            "confusion_matrix": [[9 if j == i else int(j == (i + 1) % 10) for j in range(10)] for i in range(10)],
            "models": {"candidate": "/runs/model/2", "baseline": "/runs/model/1"},
        },
        "training": {
            "keras": "tf_keras 2.16.0", "tensorflow": "2.16.2", "train_seconds": 12.5,
            "hyperparameters": {"epochs": 2, "batch_size": 32},
            "history": [{"loss": 0.5, "accuracy": 0.8, "test_loss": 0.3, "test_accuracy": 0.9},
                        {"loss": 0.2, "accuracy": 0.93, "test_loss": 0.25, "test_accuracy": 0.91}],
        },
        "data": {
            "source_dir": "/data/mnist", "canonical_mnist": True, "sha256": {"t10k-labels-idx1-ubyte": "ab" * 32},
            "example_counts": {"train": 100, "eval": 100},
            "splits": {
                split: {"num_examples": 100, "label_counts": [10] * 10,
                        "pixels": {"mean": 33.3, "std_dev": 78.5, "min": 0.0, "max": 255.0,
                                   "zero_fraction": 0.81, "values_per_example": 784.0}}
                for split in ("train", "eval")
            },
            "anomalies": [],
        },
        "misclassified": {"count": 1, "examined": 100,
                          "digits": [{"index": 7, "label": 3, "predicted": 5, "confidence": 0.912, "png": PNG}]},
        "samples": [{"label": d, "png": PNG} for d in range(20)],
        "provenance": {"generated_by": "a test", "pipeline_name": "mnist-tfx", "versions": {"tfx": "1.16.0"},
                       "module_fingerprint": None, "wall_seconds": {}, "artifacts": {"model": "/runs/model/2"}},
    }
    for path, value in changes.items():
        target = summary
        *parents, last = path.split(".")
        for key in parents:
            target = target[key]
        target[last] = value
    return summary


def test_page_is_self_contained_and_fetches_nothing():
    page = render.render(_summary())
    assert page.startswith("<!DOCTYPE html>")
    assert "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:;" in page
    assert "<script" not in page and "<link" not in page and "url(" not in page
    assert re.findall(r"[a-z]+://", page) == []  # no URL of any scheme; images are data:

    assert set(re.findall(r'src="([a-z]+):', page)) == {"data"}


def test_page_shows_verdict_thresholds_comparison_and_digits():
    page = render.render(_summary())
    assert '<div id="verdict" class="not-blessed" data-blessed="false">Verdict: NOT BLESSED' in page
    assert page.count('<span class="fail">FAIL</span>') == 2
    assert "&gt;= 0.98" in page and "-0.0100" in page and "Candidate against the baseline" in page
    assert "3 → 5 (0.91)" in page and page.count("label 1") >= 1
    assert page.count("<rect") >= 100 and "true 3, predicted 4: 1" in page  # the heatmap's cells


class _Tags(HTMLParser):
    """Every element and attribute name the browser would build from a page."""

    def __init__(self, page):
        super().__init__()
        self.tags, self.attributes = set(), set()
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attributes.update(name for name, _ in attrs)


HOSTILE = '"><script>alert(1)</script><img src=x onerror=alert(2)>'


def test_page_escapes_what_it_is_given():
    page = render.render(_summary(**{"data.source_dir": "<script>alert(1)</script>",
                                     "data.anomalies": ["eval: feature 'label' <b>out of range</b>"]}))
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;out of range&lt;/b&gt;" in page


def test_hostile_text_anywhere_in_the_summary_stays_text():
    """Whatever a summary holds (anomalies, hyperparameters, split names that
    reach the charts, paths, run ids, digits), the page's elements are the template's
    and svg.py's own: no script, no <img> outside the digit grids, no handler."""
    summary = _summary(**{
        "run_id": HOSTILE,
        "data.anomalies": [f"eval: {HOSTILE}"],
        "training.hyperparameters": {"epochs": HOSTILE, HOSTILE: 1},
        "provenance.artifacts": {"model": HOSTILE},
        "provenance.versions": {"tfx": HOSTILE},
        "evaluation.models": {"candidate": HOSTILE, "baseline": HOSTILE},
    })
    summary["data"]["splits"][HOSTILE] = summary["data"]["splits"].pop("eval")  # legend of an SVG chart
    summary["evaluation"]["thresholds"][0]["condition"] = HOSTILE
    summary["samples"][0] = {"label": HOSTILE, "png": HOSTILE}  # a caption, alt text and src attribute
    page = render.render(summary)

    assert "<script" not in page
    tags = _Tags(page)
    assert "script" not in tags.tags and not any(a.startswith("on") for a in tags.attributes)
    assert page.count("<img ") == 1 + 20  # the misclassified digit and the samples, nothing injected
    escaped = "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    assert page.count(escaped) >= 10  # title, anomaly, hyperparameter (name and value), paths, SVG legend...
    assert re.search(r"<text [^>]*>" + re.escape(escaped) + "</text>", page)  # escaped inside the SVG too


def _per_digit_svg(page):
    return re.search(r'<section id="accuracy">.*?(<svg .*?</svg>)', page, re.S).group(1)


def _bar_heights(chart):
    return [float(h) for h in re.findall(r'<rect x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"', chart)]


@pytest.mark.parametrize("values, marks, floor", [
    ([0.985, 0.99, 0.995, 1.0], [], 0.98),
    ([0.975, 0.99, 0.995], [], 0.96),
    ([0.975, 0.99], [0.95], 0.9),  # a threshold line stays in view
    ([0.975, 0.99], [0.3], 0.0),
    ([0.86, 0.93], [], 0.8),
    ([0.83, 0.93], [], 0.8),
    ([0.7, 0.93], [], 0.0),  # a 70% digit beside 93% ones: no zoom, it would exaggerate the gap
    ([0.4, 0.99], [], 0.0),  # low values: the honest axis from 0
    ([None, 0.991], [None], 0.98),
    ([], [], 0.0),
])
def test_axis_floor_follows_the_data(values, marks, floor):
    assert svg.axis_floor(values, marks=marks) == pytest.approx(floor)


def test_axis_floor_keeps_every_value_and_mark_visibly_above_it():
    rng = random.Random(0)
    for _ in range(500):
        values = [rng.uniform(rng.choice([0.0, 0.5, 0.9, 0.97]), 1.0) for _ in range(10)]
        mark = rng.choice([None, rng.uniform(0.0, 1.0)])
        floor = svg.axis_floor(values, marks=[mark])
        low = min(values + ([mark] if mark is not None else []))
        assert floor == 0.0 or low - floor >= 0.1 * (1.0 - floor) - 1e-9
        assert floor <= low


# The per-digit value threshold a digit is judged by (TFMA's per-slice one),
# one per digit, beside the overall 98% bar.
DIGIT_BOUNDS = [{"metric": "sparse_categorical_accuracy", "digit": d, "value": 0.975 + d * 0.002, "passed": True,
                 "kind": "value", "lower_bound": 0.965, "upper_bound": None, "condition": ">= 0.965"}
                for d in range(10)]


def test_per_digit_chart_zooms_to_high_accuracies_and_draws_the_per_digit_bound():
    per_digit = [{"digit": d, "accuracy": 0.975 + d * 0.002, "example_count": 100.0,
                  "baseline_accuracy": 0.97, "accuracy_change": 0.005} for d in range(10)]
    thresholds = _summary()["evaluation"]["thresholds"] + DIGIT_BOUNDS
    chart = _per_digit_svg(render.render(_summary(**{"evaluation.per_digit": per_digit,
                                                      "evaluation.thresholds": thresholds})))
    assert "y axis starts at 96.0%, not 0" in chart
    assert ">96.0%</text>" in chart and ">0.0%</text>" not in chart
    heights = _bar_heights(chart)
    assert len(heights) == 10 and heights == sorted(heights) and heights[-1] > 1.5 * heights[0]
    # The 96.5% per-digit bound is drawn, with its legend; not the 98% overall bar.
    assert 'stroke-dasharray="6 3"' in chart and "per-digit accuracy bar 96.5%" in chart
    assert "bar 98.0%" not in chart
    # Drawn at 96.5%: halfway between the 96% and 97% gridlines.
    [line_y] = re.findall(r'<line x1="54" x2="\d+" y1="([0-9.]+)" y2="[0-9.]+" stroke="#9b1c12"', chart)
    grid = re.findall(r'<line x1="54" x2="\d+" y1="([0-9.]+)" y2="[0-9.]+" stroke="#ddd"/>', chart)
    at_96, at_97 = float(grid[0]), float(grid[1])
    assert float(line_y) == pytest.approx((at_96 + at_97) / 2, abs=0.2)


def test_per_digit_chart_of_a_weak_model_starts_at_zero():
    per_digit = [{"digit": d, "accuracy": 0.4 if d == 3 else 0.95, "example_count": 100.0,
                  "baseline_accuracy": 0.97, "accuracy_change": -0.02} for d in range(10)]
    chart = _per_digit_svg(render.render(_summary(**{"evaluation.per_digit": per_digit})))
    assert "not 0" not in chart and ">0.0%</text>" in chart
    heights = _bar_heights(chart)
    assert heights[3] == pytest.approx(heights[0] * 0.4 / 0.95, rel=0.02)  # a 40% digit: a 40% bar


def test_accuracy_curve_zooms_too():
    history = [{"loss": 0.3, "accuracy": 0.94, "test_loss": 0.1, "test_accuracy": 0.97},
               {"loss": 0.1, "accuracy": 0.975, "test_loss": 0.08, "test_accuracy": 0.98}]
    page = render.render(_summary(**{"training.history": history}))
    curves = re.search(r'<section id="training">.*?</section>', page, re.S).group(0)
    assert "y axis starts at 90%, not 0" in curves
    page = render.render(_summary())  # accuracies from 80%: from 0
    curves = re.search(r'<section id="training">.*?</section>', page, re.S).group(0)
    assert "not 0" not in curves and ">0%</text>" in curves


@pytest.mark.parametrize("change, expected", [
    ({"evaluation.overall": {"candidate": {"sparse_categorical_accuracy": 0.99, "example_count": 10.0},
                             "baseline": None, "change": None}}, "No blessed baseline model yet"),
    ({"evaluation.confusion_matrix": None}, "TFMA recorded no confusion matrix"),
    ({"misclassified": {"count": 0, "examined": 100, "digits": []}}, "classifies all 100 test digits correctly"),
    ({"training": None}, "The Trainer recorded no history"),
    ({"data.splits.eval.label_counts": None, "data.splits.train.label_counts": None}, "Not recorded by the ingestion"),
    ({"provenance.wall_seconds": {"Trainer": {"seconds": 12.0, "state": "complete"}}}, "Wall time per component"),
])
def test_page_says_what_a_run_lacks(change, expected):
    summary = _summary(**copy.deepcopy(change))
    if "evaluation.overall" in change:
        summary["evaluation"]["thresholds"] = summary["evaluation"]["thresholds"][:1]
    assert expected in render.render(summary)


def test_page_names_a_failing_digit_and_shows_the_serving_check():
    thresholds = _summary()["evaluation"]["thresholds"][:1] + [
        {"metric": "sparse_categorical_accuracy", "digit": 3, "value": -0.031, "passed": False, "kind": "change",
         "absolute": -0.015, "relative": None, "condition": ">= -0.015"},
        {"metric": "sparse_categorical_accuracy", "digit": 4, "value": 0.99, "passed": True, "kind": "value",
         "lower_bound": 0.97, "upper_bound": None, "condition": ">= 0.97"},
    ]
    latency = {"1": {"p50_ms": 1.25, "p99_ms": 3.5, "calls": 100}, "32": {"p50_ms": 9.0, "p99_ms": 480.0, "calls": 30}}
    serving = {"blessed": False, "reasons": ["serving_images p99 latency at batch 32: 480.0 ms, bound 400 ms"],
               "examples_checked": 256, "digits_checked": list(range(10)), "load_seconds": 0.8,
               "agreement": {name: {"max_abs_difference": 0.0, "disagreeing_digits": 0}
                             for name in ("serving_default", "serving_images")},
               "latency": {"serving_default": latency, "serving_images": latency},
               "bounds": {"p99_ms_batch_1": 100.0, "p99_ms_batch_32": 400.0}}
    page = render.render(_summary(**{"evaluation.thresholds": thresholds, "serving": serving}))
    [line] = re.findall(r'<p id="verdict-line">(.*?)</p>', page)
    # A short line naming the failed checks, their values below it.
    assert line == ("not blessed: failed accuracy &gt;= 0.98; digit 3 accuracy change &gt;= -0.015; "
                    "serving check: refused: serving_images p99 latency at batch 32: 480.0 ms, bound 400 ms")
    details = re.search(r'<ul id="verdict-details">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", details) == [
        "sparse_categorical_accuracy 0.9123, needs &gt;= 0.98",
        "digit 3 sparse_categorical_accuracy change -0.0310, needs &gt;= -0.015"]
    assert "<td>digit 3</td>" in page and "<td>digit 4</td>" in page and "<td>all digits</td>" in page
    serving_section = page[page.index('<section id="serving">'):page.index('<section id="accuracy">')]
    assert serving_section.count('<td class="num">480.0 ms</td>') == 2
    assert serving_section.count('<td class="num">3.5 ms</td>') == 2
    # Two latency rows fail (batch 32 of each signature), the check itself fails.
    assert serving_section.count('<span class="fail">FAIL</span>') == 3


def test_page_shows_the_search_and_the_slice_that_scored_its_trials():
    assert '<section id="search">' not in render.render(_summary())  # no --tune
    holdout = {"split": "train", "share": 0.1, "seed": 42, "examples": 5987.0, "label_counts": [598.0] * 9 + [605.0],
               "split_examples": 60000.0, "trial_examples": 20000.0, "min_class_share": 0.04}
    trials = [{"number": 1.0, "values": {"learning_rate": 0.002, "batch_size": 32.0}, "seconds": 51.25,
               "score": 0.9851, "status": "COMPLETED"},
              {"number": 2.0, "values": {"learning_rate": 0.003, "batch_size": 64.0}, "seconds": 3.0,
               "score": None, "status": "FAILED"}]
    # As ML Metadata gives JSON back: every number a float.
    page = render.render(_summary(search={"objective": "holdout_accuracy", "holdout": holdout,
                                          "trials": trials, "chosen": 1.0}))
    section = re.search(r'<section id="search">.*?</section>', page, re.S).group(0)
    assert ("Trials scored on 5,987 of the 60,000 train examples (10.0%, held out by seed 42; "
            "smallest digit 0 at 10.0%), trained on 20,000 others; eval not used.") in section
    assert "<th>trial</th><th>batch_size</th><th>learning_rate</th><th>seconds</th>" in section
    assert ('<tr class="chosen"><td>1</td><td>32</td><td>0.002</td><td class="num">51.2</td>'
            '<td class="num">0.9851</td></tr>') in section
    assert '<tr><td>2</td><td>64</td><td>0.003</td><td class="num">3.0</td><td class="num">failed</td></tr>' in section
    assert "chosen: trial 1, batch_size 32, learning_rate 0.002" in section
