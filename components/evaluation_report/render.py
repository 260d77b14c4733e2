"""The report page, rendered from the summary dict alone (see summary.py).

Self-contained: styles, charts (SVG) and digits (PNG data: URLs) are inline,
and a Content-Security-Policy forbids every fetch except data: images, so the
page is the same from a file, an object store, an e-mail or the KFP UI's
sandboxed frame. No scripts.
"""
from html import escape
from typing import Any, Dict, Iterable, List, Optional

from components.evaluation_report import svg

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_STYLE = """
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1120px; padding: 16px 24px; color: #222; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid #ddd; }
h3 { font-size: 14px; margin: 14px 0 6px; }
.sub { color: #666; font-size: 13px; }
#verdict { font-size: 20px; font-weight: 600; padding: 12px 16px; border-radius: 6px; margin: 12px 0; }
#verdict.blessed { background: #e3f4ea; color: #0b6b2f; border: 1px solid #86c79d; }
#verdict.not-blessed { background: #fbe6e4; color: #9b1c12; border: 1px solid #e59a92; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0 10px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.pass { color: #0b6b2f; font-weight: 600; } .fail { color: #9b1c12; font-weight: 600; }
.row { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
.grid { display: flex; flex-wrap: wrap; gap: 8px; max-width: 760px; }
figure { margin: 0; text-align: center; font-size: 12px; width: 84px; }
figure img { width: 56px; height: 56px; image-rendering: pixelated; border: 1px solid #ccc; }
code { font-size: 12px; word-break: break-all; }
"""


def _e(value: Any) -> str:
    return escape("-" if value is None else str(value))


def _pct(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.2%}"


def _num(value: Optional[float], fmt: str = "{:.4f}") -> str:
    return "-" if value is None else fmt.format(value)


def _signed(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:+.4f}"


def _table(headers: Iterable[str], rows: Iterable[Iterable[str]], numeric_from: int = 1) -> str:
    """Cells are HTML already (escaped by the caller); columns from `numeric_from` align right."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(
            f'<td class="num">{c}</td>' if i >= numeric_from else f"<td>{c}</td>" for i, c in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _verdict(summary: Dict[str, Any]) -> str:
    blessed = summary["blessed"]
    css, word = ("blessed", "BLESSED") if blessed else ("not-blessed", "NOT BLESSED")
    accuracy = summary["evaluation"]["overall"]["candidate"].get("sparse_categorical_accuracy")
    return (
        f'<div id="verdict" class="{css}" data-blessed="{str(blessed).lower()}">Verdict: {word}'
        f' <span class="sub">accuracy {_pct(accuracy)} on {_e(_eval_count(summary))} test digits</span></div>'
    )


def _eval_count(summary: Dict[str, Any]) -> Optional[int]:
    count = summary["evaluation"]["overall"]["candidate"].get("example_count")
    return None if count is None else int(count)


def _thresholds(evaluation: Dict[str, Any]) -> str:
    rows = []
    for t in evaluation["thresholds"]:
        kind = "value" if t["kind"] == "value" else "change vs baseline"
        value = _num(t["value"]) if t["kind"] == "value" else _signed(t["value"])
        result = '<span class="pass">PASS</span>' if t["passed"] else '<span class="fail">FAIL</span>'
        rows.append([_e(t["metric"]), escape(kind), value, _e(t["condition"]), result])
    note = ""
    if evaluation["overall"]["baseline"] is None:
        note = ('<p class="sub">No blessed baseline model yet: TFX drops the change threshold '
                "(no drop against the last blessed model) until one exists.</p>")
    table = _table(["metric", "threshold", "value", "bound", "result"], rows, numeric_from=2)
    return table + note


def _comparison(evaluation: Dict[str, Any]) -> str:
    overall = evaluation["overall"]
    if overall["baseline"] is None:
        return ""
    rows = []
    for name, value in sorted(overall["candidate"].items()):
        if name.endswith("count"):
            rows.append([_e(name), _num(value, "{:.0f}"), _num(overall["baseline"].get(name), "{:.0f}"),
                         _num(overall["change"].get(name), "{:+.0f}")])
        else:
            rows.append([_e(name), _num(value), _num(overall["baseline"].get(name)),
                         _signed(overall["change"].get(name))])
    models = evaluation["models"]
    return (
        "<h3>Candidate against the baseline (the latest blessed model)</h3>"
        + _table(["metric", "candidate", "baseline", "change"], rows)
        + f'<p class="sub">candidate <code>{_e(models["candidate"])}</code><br>'
        f'baseline <code>{_e(models["baseline"])}</code></p>'
    )


def _accuracy(evaluation: Dict[str, Any]) -> str:
    per_digit = evaluation["per_digit"]
    has_baseline = evaluation["overall"]["baseline"] is not None
    chart = svg.bar_chart(
        [str(d["digit"]) for d in per_digit], [d["accuracy"] for d in per_digit],
        "Accuracy per digit (TFMA)",
    )
    headers = ["digit", "accuracy", "test digits"] + (["baseline", "change"] if has_baseline else [])
    rows = []
    for d in per_digit:
        row = [str(d["digit"]), _pct(d["accuracy"]), _num(d["example_count"], "{:.0f}")]
        if has_baseline:
            row += [_pct(d["baseline_accuracy"]), _signed(d["accuracy_change"])]
        rows.append(row)
    overall = evaluation["overall"]["candidate"].get("sparse_categorical_accuracy")
    return (
        f'<p>Overall accuracy: <b id="overall-accuracy">{_pct(overall)}</b></p>'
        f'<div class="row"><div>{chart}</div><div>{_table(headers, rows)}</div></div>'
    )


def _confusion(evaluation: Dict[str, Any]) -> str:
    rows = evaluation["confusion_matrix"]
    if rows is None:
        return "<p>TFMA recorded no confusion matrix for this run.</p>"
    labels = [str(i) for i in range(len(rows))]
    return (
        svg.heatmap(rows, labels, "Confusion matrix: true digit (rows) against predicted digit (columns)")
        + f'<p class="sub">{sum(map(sum, rows))} test digits; cells count them, '
        "shaded by their share of the true digit.</p>"
    )


def _digit_grid(items: List[Dict[str, Any]], caption) -> str:
    return '<div class="grid">' + "".join(
        f'<figure><img alt="{escape(caption(d))}" src="data:image/png;base64,{d["png"]}">'
        f"<figcaption>{escape(caption(d))}</figcaption></figure>"
        for d in items
    ) + "</div>"


def _misclassified(summary: Dict[str, Any]) -> str:
    found = summary["misclassified"]
    if not found["digits"]:
        return f"<p>The exported model classifies all {found['examined']} test digits correctly.</p>"
    intro = (f"<p>{found['count']} of the first {found['examined']} test digits are misclassified by the "
             f"exported model (<code>serving_images</code>); those it was surest of first. TFMA's counts "
             "over all of them are in the confusion matrix.</p>")
    return intro + _digit_grid(
        found["digits"], lambda d: f"{d['label']} → {d['predicted']} ({d['confidence']:.2f})"
    )


def _training(training: Optional[Dict[str, Any]]) -> str:
    if not training or not training.get("history"):
        return "<p>The Trainer recorded no history.</p>"
    history = training["history"]
    epochs = list(range(1, len(history) + 1))
    loss = svg.line_chart(epochs, {
        "train loss": [h.get("loss") for h in history],
        "eval loss": [h.get("test_loss") for h in history],
    }, "Loss per epoch")
    accuracy = svg.line_chart(epochs, {
        "train accuracy": [h.get("accuracy") for h in history],
        "eval accuracy": [h.get("test_accuracy") for h in history],
    }, "Accuracy per epoch", fmt="{:.0%}", top=1.0)
    rows = [
        [str(e), _num(h.get("loss")), _pct(h.get("accuracy")), _num(h.get("test_loss")), _pct(h.get("test_accuracy"))]
        for e, h in zip(epochs, history)
    ]
    return (
        f'<div class="row"><div>{loss}</div><div>{accuracy}</div></div>'
        + _table(["epoch", "train loss", "train accuracy", "eval loss", "eval accuracy"], rows)
        + f'<p class="sub">Trained in {_num(training.get("train_seconds"), "{:.1f}")} s '
        f'with {_e(training.get("keras"))}, '
        f"TensorFlow {_e(training.get('tensorflow'))}. Eval columns: the Trainer's own pass over the eval split.</p>"
    )


def _data(data: Dict[str, Any]) -> str:
    splits = data["splits"]
    count_rows = [[escape(s), _e(f.get("num_examples"))] for s, f in splits.items()]
    parts = ["<h3>Examples per split</h3>", _table(["split", "examples (TFDV)"], count_rows)]
    shares = {}
    for split, facts in splits.items():
        counts = facts.get("label_counts")
        if counts:
            total = sum(counts) or 1
            shares[split] = [c / total for c in counts]
    parts.append("<h3>Label distribution</h3>")
    if shares:
        digits = [str(i) for i in range(len(next(iter(shares.values()))))]
        parts.append(svg.grouped_bar_chart(digits, shares, "Share of each digit per split"))
        rows = [[escape(s)] + [_e(n) for n in splits[s]["label_counts"]] for s in shares]
        parts.append(_table(["split"] + digits, rows))
    else:
        parts.append("<p>Not recorded by the ingestion component of this run.</p>")
    pixel_rows = [
        [escape(s), _num(p["mean"], "{:.2f}"), _num(p["std_dev"], "{:.2f}"), _num(p["min"], "{:.0f}"),
         _num(p["max"], "{:.0f}"), _pct(p["zero_fraction"]), _num(p["values_per_example"], "{:.0f}")]
        for s, f in splits.items() if (p := f.get("pixels"))
    ]
    parts += ["<h3>Pixel statistics (TFDV)</h3>",
              _table(["split", "mean", "std dev", "min", "max", "zeros", "pixels per digit"], pixel_rows)]
    anomalies = data["anomalies"]
    parts.append("<h3>Anomalies (ExampleValidator, against schemas/schema.pbtxt)</h3>")
    parts.append(
        "<ul>" + "".join(f"<li>{escape(a)}</li>" for a in anomalies) + "</ul>" if anomalies
        else '<p id="no-anomalies">None: every split matches the schema.</p>'
    )
    return "".join(parts)


def _provenance(summary: Dict[str, Any]) -> str:
    prov, data, training = summary["provenance"], summary["data"], summary.get("training") or {}
    rows = [
        ["run id", _e(summary.get("run_id"))
         + (f" (report computed in run {_e(prov['computed_in_run'])}, reused from the cache)"
            if prov.get("computed_in_run") else "")],
        ["pipeline", f"{_e(prov.get('pipeline_name'))} (mnist-tfx {_e(prov.get('versions', {}).get('mnist-tfx'))})"],
        ["trainer module fingerprint", f"<code>{_e(prov.get('module_fingerprint'))}</code>"],
        ["data source", f"<code>{_e(data.get('source_dir'))}</code> "
                        f"({'the canonical MNIST' if data.get('canonical_mnist') else 'not the canonical MNIST'})"],
    ]
    rows += [[f"sha256 {escape(name)}", f"<code>{escape(digest)}</code>"]
             for name, digest in sorted(data["sha256"].items())]
    rows += [[f"hyperparameter {escape(k)}", _e(v)] for k, v in sorted((training.get("hyperparameters") or {}).items())]
    rows += [[f"version {escape(k)}", _e(v)] for k, v in sorted(prov.get("versions", {}).items())]
    rows += [[f"artifact {escape(k)}", f"<code>{_e(v)}</code>"] for k, v in prov.get("artifacts", {}).items()]
    parts = [_table(["what", "value"], rows, numeric_from=2)]
    wall = prov.get("wall_seconds") or {}
    if wall:
        parts.append("<h3>Wall time per component (ML Metadata)</h3>")
        parts.append(_table(["component", "seconds", "state"], [
            [escape(node), _num(max(w["seconds"], 0.0), "{:.1f}"), _e(w.get("state"))] for node, w in wall.items()
        ]))
    else:
        parts.append('<p class="sub">Wall times per component live in ML Metadata: '
                     "<code>python -m pipeline report RUN_ID</code> renders this page with them.</p>")
    return "".join(parts)


def render(summary: Dict[str, Any]) -> str:
    evaluation = summary["evaluation"]
    title = f"MNIST evaluation report: run {summary.get('run_id') or '(unknown)'}"
    sections = [
        f"<h1>{escape(title)}</h1>",
        f'<p class="sub">{_e(summary["provenance"].get("generated_by"))}</p>',
        _verdict(summary),
        '<section id="thresholds"><h2>Thresholds</h2>', _thresholds(evaluation), _comparison(evaluation), "</section>",
        '<section id="accuracy"><h2>Accuracy</h2>', _accuracy(evaluation), "</section>",
        '<section id="confusion-matrix"><h2>Confusion matrix</h2>', _confusion(evaluation), "</section>",
        '<section id="misclassified"><h2>Misclassified test digits (true → predicted (confidence))</h2>',
        _misclassified(summary), "</section>",
        '<section id="samples"><h2>Sample training digits</h2>',
        _digit_grid(summary["samples"], lambda d: f"label {d['label']}"), "</section>",
        '<section id="training"><h2>Training curves</h2>', _training(summary.get("training")), "</section>",
        '<section id="data"><h2>Data</h2>', _data(summary["data"]), "</section>",
        '<section id="provenance"><h2>Provenance</h2>', _provenance(summary), "</section>",
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        + "".join(sections) + "</body></html>\n"
    )
