"""`runs list`, `runs show`, `runs compare`: what ML Metadata knows about runs.

ML Metadata alone: every figure shown was recorded by a component when the
run happened (run_summary.summarize), so these commands import neither
TensorFlow nor TFMA (tests/test_inspect_imports.py keeps it so).
"""
import datetime
from typing import Dict, List, Optional

from foundation import names, text
from pipeline.config import PipelineConfig
from pipeline.inspection import explain, hyperparameters, metadata, run_summary
from trainer_module import search_record


def _start(run) -> str:
    return datetime.datetime.fromtimestamp(run.create_time_since_epoch / 1000).strftime("%Y-%m-%d %H:%M:%S")


def list_runs(cfg: PipelineConfig) -> List[str]:
    store = metadata.open_store(cfg.metadata_path)
    rows = []
    for run in metadata.runs(store, cfg.pipeline_name):
        nodes = metadata.executions(store, run)
        summary = run_summary.summarize(store, run, nodes)
        rows.append([
            run.name, _start(run), metadata.run_status(nodes),
            f"{metadata.run_wall_seconds(run, nodes):.0f} s", text.pct(summary.accuracy),
            {True: "yes", False: "no", None: "-"}[summary.blessed],
            summary.pushed_version or "-",
        ])
    return text.table(rows, ["RUN", "STARTED", "STATUS", "WALL", "ACCURACY", "BLESSED", "PUSHED"])


def show_run(cfg: PipelineConfig, ref: str) -> List[str]:
    store = metadata.open_store(cfg.metadata_path)
    run = metadata.find_run(store, cfg.pipeline_name, ref)
    nodes = metadata.executions(store, run)
    lines = [
        f"Run {run.name}: {metadata.run_status(nodes)}, started {_start(run)}, "
        f"{metadata.run_wall_seconds(run, nodes):.0f} s"
    ]
    for node_id, node in nodes.items():
        lines.append(f"  {node_id:31s} {metadata.wall_seconds(node.execution):7.1f} s  "
                     f"{explain.why(store, cfg.pipeline_name, node)}")
        for key, artifacts in node.outputs.items():
            for artifact in artifacts:
                lines.append(f"      {key}: {artifact.uri}")
        if node.state == "failed":
            # The gate's message has one line per failed check: keep them under it.
            message = metadata.error_message(node.execution) or "see the run log"
            lines.append("      error: " + message.replace("\n", "\n      "))
    lines += search_record.lines(_search(nodes.get(names.TUNER)))
    trained = hyperparameters.lines(nodes.get("Trainer"), metadata.settings_given(run), indent="  ")
    if trained:
        lines += ["Hyperparameters (source: default, flag, env or tuned):"] + trained
    return lines + _verdict_lines(run_summary.summarize(store, run, nodes))


def _search(tuner: Optional[metadata.NodeExecution]) -> Optional[dict]:
    """The Tuner's record of its search (components/tuner.py), if it ran."""
    results = tuner.outputs.get(names.TUNER_RESULTS_KEY) if tuner else None
    return metadata.custom_value(results[0], names.SEARCH_PROPERTY) if results else None


def _verdict_lines(summary: run_summary.RunSummary) -> List[str]:
    if summary.blessed is None:
        return ["Verdict: not evaluated"]
    # The short line, then each failed check's (summary.verdict: text.verdict's lines).
    verdict = (summary.verdict or ("blessed" if summary.blessed else "not blessed")).splitlines()
    lines = [f"Verdict: {verdict[0]}"] + ["  " + line for line in verdict[1:]] + [
             f"  accuracy {text.pct(summary.accuracy)}"
             + (f", baseline {text.pct(summary.baseline_accuracy)}" if summary.baseline_accuracy is not None else "")]
    lines.append(f"  baseline model: {summary.baseline_text}")
    lines += ["  " + summary.serving_text] if summary.serving_text else []
    pushed = f"version {summary.pushed_version} at {summary.pushed_to}" if summary.pushed_to else "nothing"
    return lines + [f"  pushed: {pushed}" + ("" if summary.pushed_to else _kept_back_by(summary))]


def _kept_back_by(summary: run_summary.RunSummary) -> str:
    """Which checks kept the model from the Pusher (it pushes only what both blessed)."""
    checks = []
    if summary.blessed is False:
        checks.append(f"{names.EVALUATOR} (not blessed)")
    if summary.serving_blessed is False:
        checks.append(f"{names.SERVING_CHECK} (refused)")
    return f" (kept back by the {' and the '.join(checks)})" if checks else ""


def _facts(store, run) -> Dict[str, object]:
    """What `compare` puts side by side for one run."""
    nodes = metadata.executions(store, run)
    summary = run_summary.summarize(store, run, nodes)
    facts: Dict[str, object] = {}
    trainer = nodes.get("Trainer")
    if trainer:
        props = metadata.exec_properties(trainer.execution)
        used = hyperparameters.used(trainer, metadata.settings_given(run))
        for key, value, _ in used:
            facts[f"hparam {key}"] = value
        # Where the values came from, for those that are not defaults.
        facts["hparam sources"] = ", ".join(
            f"{key}: {source}" for key, _, source in used if source != "default"
        ) or "all defaults"
        facts["trainer module"] = (explain.module_fingerprint(props.get("module_path")) or "-")[:12]
    example_gen = nodes.get("MnistExampleGen")
    if example_gen:
        props = metadata.exec_properties(example_gen.execution)
        facts["data fingerprint"] = (props.get("source_fingerprint") or "-")[:16]
        facts["examples per split"] = props.get("max_examples_per_split") or "all"
    facts["accuracy overall"] = summary.accuracy
    for digit, value in summary.accuracy_per_digit.items():
        facts[f"accuracy digit {digit}"] = value
    facts["baseline accuracy"] = summary.baseline_accuracy
    facts["blessed"] = summary.blessed
    facts["pushed version"] = summary.pushed_version
    return facts


def _fmt(value) -> str:
    if isinstance(value, float) and 0 <= value <= 1:
        return text.number(value)
    return text.MISSING if value is None else str(value)


def compare_runs(cfg: PipelineConfig, ref_a: str, ref_b: str) -> List[str]:
    store = metadata.open_store(cfg.metadata_path)
    run_a = metadata.find_run(store, cfg.pipeline_name, ref_a)
    run_b = metadata.find_run(store, cfg.pipeline_name, ref_b)
    a, b = _facts(store, run_a), _facts(store, run_b)
    rows = []
    for key in list(dict.fromkeys([*a, *b])):
        va, vb = a.get(key), b.get(key)
        if va == vb:
            delta = ""
        elif isinstance(va, (int, float)) and isinstance(vb, (int, float)) and not isinstance(va, bool):
            delta = f"{vb - va:+.4f}" if isinstance(va, float) or isinstance(vb, float) else f"{vb - va:+d}"
        else:
            delta = "changed"
        rows.append([key, _fmt(va), _fmt(vb), delta])
    return text.table(rows, ["", run_a.name, run_b.name, "DELTA"])
