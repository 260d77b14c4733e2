"""The report page, rendered from the summary dict alone (see summary.py).

Self-contained: styles, charts (SVG) and digits (PNG data: URLs) are inline,
and a Content-Security-Policy forbids every fetch except data: images, so the
page is the same from a file, an object store, an e-mail or the KFP UI's
sandboxed frame. No scripts.

The markup lives in templates/report.html.j2, rendered with autoescape on:
every value from the summary (anomaly descriptions, paths, hyperparameters,
run ids) is escaped by Jinja, so no caller has to remember to. The charts are
the only markup passed in, as `Markup` from svg.py, which escapes each text
it draws. This module only shapes the summary into what the template shows.
"""
from typing import Any, Dict, List, Optional

import jinja2
from markupsafe import Markup

from components.evaluation_report import summary as summary_lib
from components.evaluation_report import svg
from foundation import text
from trainer_module import search_record
from trainer_module.hyperparameters import SET

TEMPLATE = "report.html.j2"
# The value thresholds' metric; the per-digit one is drawn on the per-digit chart.
ACCURACY = "sparse_categorical_accuracy"


def _num(value: Optional[float], fmt: Optional[str] = None) -> str:
    """The template's number filter: text.number's, or a format of its own."""
    if fmt is None or value is None:
        return text.number(value)
    return fmt.format(value)


def _signed(value: Optional[float]) -> str:
    return text.number(value, signed=True)


def _text(value: Any) -> str:
    return text.MISSING if value is None else str(value)


# PackageLoader reads the template from the installed package (editable, wheel
# or the image's /app), which is why pyproject.toml lists it as package data.
# StrictUndefined: a misspelt name in the template fails the render instead of
# silently leaving a fact out of the page.
_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("components.evaluation_report", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
_ENV.filters.update(pct=text.pct, num=_num, signed=_signed, text=_text)


def _digit_bound(evaluation: Dict[str, Any]) -> Optional[float]:
    """The lower bound on each digit's accuracy (the per-slice threshold a
    digit is judged by, not the overall bar), if the Evaluator had one."""
    for t in evaluation["thresholds"]:
        if (t["kind"] == "value" and t["metric"] == ACCURACY and t.get("digit") is not None
                and t.get("lower_bound") is not None):
            return t["lower_bound"]
    return None


def _comparison_rows(overall: Dict[str, Any]) -> List[List[str]]:
    """(metric, candidate, baseline, change) per metric; counts without decimals."""
    rows = []
    for name, value in sorted(overall["candidate"].items()):
        if name.endswith("count"):
            rows.append([name, _num(value, "{:.0f}"), _num(overall["baseline"].get(name), "{:.0f}"),
                         _num(overall["change"].get(name), "{:+.0f}")])
        else:
            rows.append([name, _num(value), _num(overall["baseline"].get(name)), _signed(overall["change"].get(name))])
    return rows


def _per_digit_chart(evaluation: Dict[str, Any]) -> Markup:
    per_digit = evaluation["per_digit"]
    accuracies = [d["accuracy"] for d in per_digit]
    bound = _digit_bound(evaluation)
    return svg.bar_chart(
        [str(d["digit"]) for d in per_digit], accuracies, "Accuracy per digit (TFMA)",
        bottom=svg.axis_floor(accuracies, marks=[bound]), line=bound, line_label="per-digit accuracy bar",
    )


def _confusion_total(evaluation: Dict[str, Any]) -> Optional[int]:
    rows = evaluation["confusion_matrix"]
    return None if rows is None else sum(map(sum, rows))


def _confusion_chart(evaluation: Dict[str, Any]) -> Optional[Markup]:
    rows = evaluation["confusion_matrix"]
    if rows is None:
        return None
    labels = [str(i) for i in range(len(rows))]
    return svg.heatmap(rows, labels, "Confusion matrix: true digit (rows) against predicted digit (columns)")


def _training(training: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    if not training or not training.get("history"):
        return None
    history = training["history"]
    epochs = list(range(1, len(history) + 1))
    loss = svg.line_chart(epochs, {
        "train loss": [h.get("loss") for h in history],
        "eval loss": [h.get("test_loss") for h in history],
    }, "Loss per epoch")
    accuracies = {
        "train accuracy": [h.get("accuracy") for h in history],
        "eval accuracy": [h.get("test_accuracy") for h in history],
    }
    accuracy = svg.line_chart(
        epochs, accuracies, "Accuracy per epoch", fmt="{:.0%}", top=1.0,
        bottom=svg.axis_floor(v for values in accuracies.values() for v in values),
    )
    return {"loss_chart": loss, "accuracy_chart": accuracy, "epochs": list(zip(epochs, history)),
            "train_seconds": training.get("train_seconds"), "keras": training.get("keras"),
            "tensorflow": training.get("tensorflow"),
            # Older training summaries have no precision.
            "precision": (training.get("precision") or {}).get("policy")}


def _search(record: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
    """The Tuner's record as a table: a row per trial, a column per setting."""
    if not record:
        return None
    columns = sorted({name for t in record["trials"] for name in t["values"]})
    chosen = record.get("chosen")
    rows = [{"number": int(t["number"]), "settings": [search_record.plain(t["values"].get(n)) for n in columns],
             "seconds": t["seconds"], "score": t["score"], "status": t["status"],
             "chosen": chosen is not None and int(t["number"]) == int(chosen)}
            for t in record["trials"]]
    return {"slice": search_record.holdout_line(record["holdout"]), "names": columns, "rows": rows,
            "chosen": search_record.chosen_line(record)}


def _label_shares(splits: Dict[str, Any]) -> Dict[str, List[float]]:
    shares = {}
    for split, facts in splits.items():
        counts = facts.get("label_counts")
        if counts:
            total = sum(counts) or 1
            shares[split] = [c / total for c in counts]
    return shares


def _data(data: Dict[str, Any]) -> Dict[str, Any]:
    shares = _label_shares(data["splits"])
    digits = [str(i) for i in range(len(next(iter(shares.values()))))] if shares else []
    chart = svg.grouped_bar_chart(digits, shares, "Share of each digit per split") if shares else None
    return {
        "splits": data["splits"],
        "labelled_splits": list(shares),
        "digits": digits,
        "label_chart": chart,
        "pixel_splits": {s: f["pixels"] for s, f in data["splits"].items() if f.get("pixels")},
        "anomalies": data["anomalies"],
        "checks": data.get("checks"),  # the ValidationGate's; None: not recorded
    }


def _row(what: str, text: str) -> Dict[str, Optional[str]]:
    """A provenance row of plain text."""
    return {"what": what, "code": None, "text": text}


def _code_row(what: str, code: Any, text: str = "") -> Dict[str, Optional[str]]:
    """A provenance row whose value (a path, a digest) shows in monospace, then `text`."""
    return {"what": what, "code": _text(code), "text": text}


def _provenance_rows(summary: Dict[str, Any]) -> List[Dict[str, Optional[str]]]:
    prov, data, training = summary["provenance"], summary["data"], summary.get("training") or {}
    run = _text(summary.get("run_id"))
    if prov.get("computed_in_run"):
        run += f" (report computed in run {prov['computed_in_run']}, reused from the cache)"
    canonical = "the canonical MNIST" if data.get("canonical_mnist") else "not the canonical MNIST"
    versions = prov.get("versions", {})
    rows = [
        _row("run id", run),
        _row("pipeline", f"{_text(prov.get('pipeline_name'))} (mnist-tfx {_text(versions.get('mnist-tfx'))})"),
        _code_row("trainer module fingerprint", prov.get("module_fingerprint")),
        _code_row("data source", data.get("source_dir"), f"({canonical})"),
    ]
    rows += [_code_row(f"sha256 {name}", digest) for name, digest in sorted(data["sha256"].items())]
    # default, flag, env or tuned; the Trainer itself knows only tuned from
    # SET, and `report` fills in how the run set the others.
    sources = {k: v for k, v in (training.get("hyperparameter_sources") or {}).items() if v != SET}
    rows += [
        _row(f"hyperparameter {k}", _text(v) + (f" ({sources[k]})" if k in sources else ""))
        for k, v in sorted((training.get("hyperparameters") or {}).items())
    ]
    rows += [_row(f"version {k}", _text(v)) for k, v in sorted(versions.items())]
    rows += [_code_row(f"artifact {k}", v) for k, v in prov.get("artifacts", {}).items()]
    return rows


def _serving_latency(serving: Optional[Dict[str, Any]]) -> List[Dict[str, Any]]:
    rows = []
    for name, by_size in sorted(((serving or {}).get("latency") or {}).items()):
        for size, figures in sorted(by_size.items(), key=lambda item: int(item[0])):
            bound = serving["bounds"].get(f"p99_ms_batch_{size}")
            rows.append({"signature": name, "batch": size, "p50": figures["p50_ms"], "p99": figures["p99_ms"],
                         "bound": bound, "passed": bound is None or figures["p99_ms"] <= bound})
    return rows


def render(summary: Dict[str, Any]) -> str:
    evaluation = summary["evaluation"]
    overall = evaluation["overall"]
    count = overall["candidate"].get("example_count")
    return _ENV.get_template(TEMPLATE).render(
        title=f"MNIST evaluation report: run {summary.get('run_id') or '(unknown)'}",
        generated_by=summary["provenance"].get("generated_by"),
        blessed=summary["blessed"],
        accuracy=overall["candidate"].get(ACCURACY),
        eval_count=None if count is None else int(count),
        thresholds=evaluation["thresholds"],
        has_baseline=overall["baseline"] is not None,
        comparison=_comparison_rows(overall) if overall["baseline"] is not None else None,
        models=evaluation["models"],
        per_digit=evaluation["per_digit"],
        per_digit_chart=_per_digit_chart(evaluation),
        confusion_chart=_confusion_chart(evaluation),
        confusion_total=_confusion_total(evaluation),
        misclassified=summary["misclassified"],
        samples=summary["samples"],
        training=_training(summary.get("training")),
        search=_search(summary.get("search")),
        data=_data(summary["data"]),
        provenance=_provenance_rows(summary),
        wall_seconds=summary["provenance"].get("wall_seconds") or {},
        # text.verdict's short line, then each failed check's own.
        verdict_line=summary_lib.verdict(summary).splitlines()[0] + (
            "; " + summary_lib.serving_verdict(summary) if summary.get("serving") else ""),
        verdict_details=[line.strip() for line in summary_lib.verdict(summary).splitlines()[1:]],
        serving=summary.get("serving"),
        serving_latency=_serving_latency(summary.get("serving")),
    )
