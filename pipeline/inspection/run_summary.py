"""What a run decided (verdict, accuracy, baseline, serving check, push),
read back from ML Metadata alone: no TensorFlow, TFMA or file reads."""
import dataclasses
import json
from typing import Dict, Optional

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from components.evaluation_report import summary as summary_lib
from foundation import names, text
from pipeline.inspection.metadata import NodeExecution, custom_value, executions


@dataclasses.dataclass
class RunSummary:
    """What a run decided, as its components recorded it in ML Metadata.

    Read from ML Metadata alone (no TensorFlow, no TFMA, no file): the
    EvaluationReporter records the evaluation's key figures on its report
    artifact (components/evaluation_report/summary.py), the Evaluator the
    blessing, the Pusher where it pushed.
    """
    run_id: str
    states: Dict[str, str]
    accuracy: Optional[float]
    accuracy_per_digit: Dict[int, float]
    blessed: Optional[bool]
    verdict: Optional[str]  # why blessed or not
    baseline_model: Optional[str]  # the model the Evaluator compared with; None: none yet
    baseline_version: Optional[str]  # the served version it copies, when recorded
    baseline_accuracy: Optional[float]
    pushed_to: Optional[str]
    pushed_version: Optional[str]
    # The ServingCheck's InfraBlessing (None: not run); latency: {batch: {p50_ms, p99_ms}}.
    serving_blessed: Optional[bool] = None
    serving_reason: Optional[str] = None
    serving_latency: Optional[Dict[str, Dict[str, float]]] = None

    @property
    def baseline_text(self) -> str:
        if self.baseline_model is None:
            return "none"
        version = f"version {self.baseline_version}, " if self.baseline_version else ""
        return version + self.baseline_model

    @property
    def serving_text(self) -> Optional[str]:
        """The ServingCheck's verdict in one line; None: it did not run."""
        if self.serving_blessed is None:
            return None
        p99 = {size: figures["p99_ms"] for size, figures in (self.serving_latency or {}).items()}
        return text.serving_verdict(self.serving_blessed, self.serving_reason or "", p99)


def _first(node: Optional[NodeExecution], key: str, outputs: bool = True):
    if node is None:
        return None
    found = (node.outputs if outputs else node.inputs).get(key)
    return found[0] if found else None


def summarize(
    store: mlmd.MetadataStore, run: metadata_store_pb2.Context,
    nodes: Optional[Dict[str, NodeExecution]] = None,
) -> RunSummary:
    """`nodes`: the run's executions(), when the caller has them already."""
    nodes = executions(store, run) if nodes is None else nodes
    evaluator = nodes.get("Evaluator")
    report = _first(nodes.get("EvaluationReporter"), "report")
    figures = {} if report is None else {
        key: custom_value(report, key)
        for key in (summary_lib.ACCURACY_PROPERTY, summary_lib.ACCURACY_PER_DIGIT_PROPERTY,
                    summary_lib.VERDICT_PROPERTY, summary_lib.BASELINE_ACCURACY_PROPERTY)
    }
    blessing = _first(evaluator, "blessing")
    # The Evaluator's own input, whatever chose it (a resolver, a component).
    baseline = _first(evaluator, "baseline_model", outputs=False)
    # LatestBlessedModel always outputs an artifact; "" here means it is empty,
    # i.e. there was no baseline yet. Absent: a Resolver's pick, a real model.
    baseline_version = None if baseline is None else custom_value(baseline, names.BASELINE_VERSION_PROPERTY)
    if baseline_version == "":
        baseline = None
    serving = _first(nodes.get(names.SERVING_CHECK), names.INFRA_BLESSING_KEY)
    serving_latency = None if serving is None else custom_value(serving, names.SERVING_LATENCY_PROPERTY)
    pushed = _first(nodes.get("Pusher"), "pushed_model")
    was_pushed = pushed is not None and custom_value(pushed, "pushed") == 1
    return RunSummary(
        run_id=run.name,
        states={node: e.state for node, e in nodes.items()},
        accuracy=figures.get(summary_lib.ACCURACY_PROPERTY),
        accuracy_per_digit={
            int(digit): value
            for digit, value in sorted((figures.get(summary_lib.ACCURACY_PER_DIGIT_PROPERTY) or {}).items(),
                                       key=lambda item: int(item[0]))
        },
        blessed=None if blessing is None else custom_value(blessing, "blessed") == 1,
        verdict=figures.get(summary_lib.VERDICT_PROPERTY),
        baseline_model=baseline.uri if baseline is not None else None,
        baseline_version=baseline_version or None,
        baseline_accuracy=figures.get(summary_lib.BASELINE_ACCURACY_PROPERTY),
        # TFX's Pusher properties, which the VersionedPusher keeps.
        pushed_to=custom_value(pushed, "pushed_destination") if was_pushed else None,
        pushed_version=custom_value(pushed, "pushed_version") if was_pushed else None,
        serving_blessed=None if serving is None else custom_value(serving, "blessed") == 1,
        serving_reason=None if serving is None else custom_value(serving, names.SERVING_REASON_PROPERTY),
        serving_latency=json.loads(serving_latency) if serving_latency else None,
    )
