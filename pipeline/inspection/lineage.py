"""`lineage`: where a pushed model came from, read back from ML Metadata alone
(no TensorFlow: tests/test_inspect_imports.py)."""
import os
from typing import List

from foundation.errors import UserError
from pipeline.config import PipelineConfig
from pipeline.inspection import explain, hyperparameters, metadata, run_summary


def _pushed_artifact(store, serving_path: str):
    for artifact in store.get_artifacts_by_type("PushedModel"):
        if metadata.custom_value(artifact, "pushed") == 1 and os.path.normpath(
            metadata.custom_value(artifact, "pushed_destination") or ""
        ) == serving_path:
            return artifact
    return None


def resolve_model(cfg: PipelineConfig, ref: str) -> str:
    """A version number (as under serving_model/) or a path -> the model's directory."""
    path = ref if os.path.sep in ref else os.path.join(cfg.serving_dir, ref)
    return os.path.normpath(os.path.abspath(path))


def lineage(cfg: PipelineConfig, ref: str) -> List[str]:
    store = metadata.open_store(cfg.metadata_path)
    serving_path = resolve_model(cfg, ref)
    pushed = _pushed_artifact(store, serving_path)
    if pushed is None:
        raise UserError(f"No pushed model at {serving_path} is recorded in {cfg.metadata_path}")
    # A Pusher served from the cache in later runs outputs the same artifact
    # again: the first execution is the one that pushed it.
    event = min((e for e in store.get_events_by_artifact_ids([pushed.id]) if e.type == e.OUTPUT),
                key=lambda e: e.execution_id)
    [pusher] = store.get_executions_by_id([event.execution_id])
    [run] = [c for c in store.get_contexts_by_execution(pusher.id) if c.type == "pipeline_run"]
    nodes = metadata.executions(store, run)
    summary = run_summary.summarize(store, run)

    lines = [f"Model {serving_path}", f"  pushed by run {run.name}"]
    trainer = nodes["Trainer"]
    model = trainer.outputs["model"][0]
    lines.append(f"  trained model: {model.uri}")
    props = metadata.exec_properties(trainer.execution)
    lines.append(f"  trainer module fingerprint: {explain.module_fingerprint(props.get('module_path'))}")
    lines.append("  hyperparameters (source: default, flag, env or tuned):")
    lines += hyperparameters.lines(trainer, metadata.settings_given(run), indent="    ")
    examples = trainer.inputs["examples"][0]
    lines.append(f"  training examples: {examples.uri}")
    lines.append(f"    source: {metadata.custom_value(examples, 'source_dir')}"
                 f" (canonical MNIST: {'yes' if metadata.custom_value(examples, 'canonical_mnist') else 'no'})")
    counts = metadata.custom_value(examples, "example_counts") or {}
    lines.append("    examples: " + ", ".join(f"{split} {int(n)}" for split, n in counts.items()))
    for name, digest in sorted((metadata.custom_value(examples, "source_sha256") or {}).items()):
        lines.append(f"    sha256 {name}: {digest}")
    lines.append(f"  schema: {trainer.inputs['schema'][0].uri}")
    blessing = nodes["Evaluator"].outputs["blessing"][0]
    accuracy = "-" if summary.accuracy is None else f"{summary.accuracy:.4f}"
    lines.append(f"  blessing: {blessing.uri} (blessed: {'yes' if summary.blessed else 'no'}, "
                 f"accuracy {accuracy})")
    if summary.verdict:
        first, *details = summary.verdict.splitlines()
        lines += [f"    verdict: {first}"] + ["      " + line for line in details]
    lines.append(f"  baseline model: {summary.baseline_text}")
    lines.append(f"  pushed version: {metadata.custom_value(pushed, 'pushed_version')}")
    return lines
