"""`report`: a run's verdict, thresholds, metrics and per-digit accuracy, and its page.

The EvaluationReporter component wrote the run's facts (`summary.json`, TFMA's
numbers) and a page; this adds what only ML Metadata knows (every component's
wall time, the trainer module's fingerprint, the run it is shown for) and
renders the same page again under `<output dir>/reports/`. No TensorFlow.

The exit status is for scripts: 0 blessed, 1 not blessed, 2 nothing evaluated.
"""
import os
from typing import Dict, List, Optional, Tuple

from components.evaluation_report import render
from components.evaluation_report import summary as summary_lib
from components.evaluation_report.summary import Summary
from foundation import names, text
from foundation.errors import UserError
from foundation.names import REPORT_SUMMARY_FILE
from pipeline.config import PipelineConfig
from pipeline.inspection import explain, hyperparameters, metadata
from trainer_module import search_record

EXIT_BLESSED, EXIT_NOT_BLESSED, EXIT_NOT_EVALUATED = 0, 1, 2


def _why_not_evaluated(nodes: Dict[str, metadata.NodeExecution]) -> str:
    failed = [n for n in nodes.values() if n.state == "failed"]
    if failed:
        node = failed[0]
        return f"the run failed at {node.node_id}: {metadata.error_message(node.execution) or 'see the run log'}"
    if "Evaluator" not in nodes:
        return f"the Evaluator did not run (run status: {metadata.run_status(nodes)})"
    return f"the Evaluator is {nodes['Evaluator'].state} and recorded no blessing"


def _load_summary(nodes: Dict[str, metadata.NodeExecution]) -> Optional[Summary]:
    reporter = nodes.get(names.EVALUATION_REPORTER)
    if reporter is None or not reporter.outputs.get("report"):
        return None
    path = os.path.join(reporter.outputs["report"][0].uri, REPORT_SUMMARY_FILE)
    if not os.path.exists(path):
        return None
    return summary_lib.read(path)


def _with_run_facts(summary: Summary, cfg: PipelineConfig, run, nodes) -> Summary:
    """The component's facts, plus ML Metadata's: wall times, module fingerprint,
    run id, and each hyperparameter's source as this run gave it."""
    summary = Summary(summary, provenance=dict(summary["provenance"]))
    prov = summary["provenance"]
    if summary.get("run_id") and summary["run_id"] != run.name:
        prov["computed_in_run"] = summary["run_id"]  # the reporter was a cache hit
    summary["run_id"] = run.name
    prov["pipeline_name"] = cfg.pipeline_name
    prov["generated_by"] = "python -m pipeline report, from ML Metadata and the EvaluationReporter's summary"
    trainer = nodes.get("Trainer")
    if trainer is not None:
        prov["module_fingerprint"] = explain.module_fingerprint(
            metadata.exec_properties(trainer.execution).get("module_path")
        )
        if summary.get("training"):
            sources = {name: source for name, _, source in
                       hyperparameters.used(trainer, metadata.settings_given(run))}
            summary["training"] = dict(summary["training"], hyperparameter_sources=sources)
    prov["wall_seconds"] = {
        node_id: {"seconds": metadata.wall_seconds(node.execution), "state": node.state}
        for node_id, node in nodes.items()
    }
    return summary


def _threshold_lines(summary: Summary) -> List[str]:
    lines = []
    for t in summary["evaluation"]["thresholds"]:
        value = text.number(t["value"], signed=t["kind"] == "change")
        lines.append(f"  {summary_lib.threshold_name(t)} {value} {t['condition']} {'PASS' if t['passed'] else 'FAIL'}")
    if summary["evaluation"]["overall"]["baseline"] is None:
        lines.append("  (no blessed baseline yet: the change threshold does not apply)")
    return lines


def _serving_lines(summary: Summary) -> List[str]:
    """The ServingCheck: latencies per signature and batch size against the bounds."""
    serving = summary.get("serving")
    if not serving:
        return []
    lines = [text.sentence(summary_lib.serving_verdict(summary))]
    for name, agreement in sorted(serving.get("agreement", {}).items()):
        lines.append(f"  {name}: {agreement['disagreeing_digits']} of {serving['examples_checked']} digits "
                     f"differ from the Evaluator's, max |dp| {agreement['max_abs_difference']:.2g}")
    for name, by_size in sorted(serving.get("latency", {}).items()):
        for size, figures in sorted(by_size.items(), key=lambda item: int(item[0])):
            bound = serving["bounds"].get(f"p99_ms_batch_{size}")
            verdict = "" if bound is None else f" <= {bound:g} {'PASS' if figures['p99_ms'] <= bound else 'FAIL'}"
            lines.append(f"  {name} batch {size}: p50 {figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms{verdict}")
    return lines


def _data_check_lines(summary: Summary) -> List[str]:
    """The ValidationGate's checks (components/data_checks.py), as recorded."""
    checks = summary["data"].get("checks")
    if checks is None:
        return []
    rows = [[c["name"], c["subject"], text.number(c["value"]), text.number(c["bound"]), "PASS" if c["passed"] else "FAIL"]
            for c in checks]
    return ["Data checks (before the Trainer):"] + text.table(rows, ["check", "subject", "value", "bound", "result"], indent=2)


def _metric_lines(summary: Summary) -> List[str]:
    overall = summary["evaluation"]["overall"]
    with_baseline = overall["baseline"] is not None
    compared = ["baseline", "change"] if with_baseline else []
    rows = []
    for name, value in sorted(overall["candidate"].items()):
        digits = 0 if name.endswith("count") else 4
        row = [name, text.number(value, digits=digits)]
        if with_baseline:
            row += [text.number(overall["baseline"].get(name), digits=digits),
                    text.number(overall["change"].get(name), signed=True, digits=digits)]
        rows.append(row)
    lines = ["Metrics (TFMA, eval split):"] + text.table(rows, ["metric", "candidate"] + compared, indent=2)
    digit_rows = []
    for d in summary["evaluation"]["per_digit"]:
        row = [str(d["digit"]), text.pct(d["accuracy"]), text.number(d["example_count"], digits=0)]
        if with_baseline:
            row += [text.pct(d["baseline_accuracy"]), text.number(d["accuracy_change"], signed=True)]
        digit_rows.append(row)
    return lines + ["Accuracy per digit:"] + text.table(digit_rows, ["digit", "accuracy", "test digits"] + compared, indent=2)


def html_path(cfg: PipelineConfig, run_id: str) -> str:
    # Run ids are timestamps; colons stay out of file names.
    return os.path.join(cfg.output_dir, "reports", run_id.replace(":", "-") + ".html")


def report(cfg: PipelineConfig, ref: str = "latest") -> Tuple[List[str], int]:
    """(lines to print, exit status) for run `ref`; writes its HTML page."""
    try:
        store = metadata.open_store(cfg.metadata_path)
    except FileNotFoundError as e:
        raise UserError(str(e)) from None
    run = metadata.find_run(store, cfg.pipeline_name, ref)
    nodes = metadata.executions(store, run)
    evaluator = nodes.get("Evaluator")
    blessings = evaluator.outputs.get("blessing") if evaluator and evaluator.state in ("complete", "cached") else None
    if not blessings:
        return [f"Run {run.name}", "Verdict: NOT EVALUATED",
                f"  {_why_not_evaluated(nodes)}"], EXIT_NOT_EVALUATED
    blessed = metadata.custom_value(blessings[0], "blessed") == 1
    lines = [f"Run {run.name}", f"Verdict: {'BLESSED' if blessed else 'NOT BLESSED'}"]
    status = EXIT_BLESSED if blessed else EXIT_NOT_BLESSED

    summary = _load_summary(nodes)
    if summary is None:
        reporter = nodes.get(names.EVALUATION_REPORTER)
        state = reporter.state if reporter else "not run"
        return lines + [f"  No report for this run: {names.EVALUATION_REPORTER} {state}; "
                        f"see `python -m pipeline runs show {run.name}`"], status
    summary = _with_run_facts(summary, cfg, run, nodes)
    if not blessed:  # the short line naming the failed checks; their values are in the table below
        lines.append("  " + summary_lib.verdict(summary).splitlines()[0])
    path = html_path(cfg, run.name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(render.render(summary))
    trained = hyperparameters.lines(nodes.get("Trainer"), metadata.settings_given(run))
    if trained:
        trained = ["Hyperparameters (source: default, flag, env or tuned):"] + trained
    return (lines + _threshold_lines(summary) + _serving_lines(summary) + _data_check_lines(summary) + _metric_lines(summary)
            + search_record.lines(summary.get("search")) + trained + [f"HTML report: {path}"]), status
