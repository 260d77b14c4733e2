"""Reads what a local run recorded in ML Metadata: executions, artifacts, metrics."""
import dataclasses
import os
from typing import Dict, List, Optional

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

STATE_NAMES = {
    value: name.lower()
    for name, value in metadata_store_pb2.Execution.State.items()
}


_INPUT_EVENTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


def open_store(metadata_path: str) -> mlmd.MetadataStore:
    if not os.path.exists(metadata_path):
        raise FileNotFoundError(f"No ML Metadata store at {metadata_path}: nothing has run yet")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return mlmd.MetadataStore(config)


def runs(store: mlmd.MetadataStore, pipeline_name: str) -> List[metadata_store_pb2.Context]:
    """The pipeline's runs, oldest first."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return []
    children = store.get_children_contexts_by_context(pipeline.id)
    found = [c for c in children if c.type == "pipeline_run"] or [
        c for c in store.get_contexts_by_type("pipeline_run")
    ]
    return sorted(found, key=lambda c: (c.create_time_since_epoch, c.id))


Artifacts = Dict[str, List[metadata_store_pb2.Artifact]]


@dataclasses.dataclass
class NodeExecution:
    node_id: str
    execution: metadata_store_pb2.Execution
    inputs: Artifacts
    outputs: Artifacts

    @property
    def state(self) -> str:
        return STATE_NAMES.get(self.execution.last_known_state, "unknown")


def executions(store: mlmd.MetadataStore, run: metadata_store_pb2.Context) -> Dict[str, NodeExecution]:
    """The run's executions by node id (e.g. 'Trainer'), with their outputs."""
    result = {}
    executions_in_order = sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)
    for execution in executions_in_order:
        node_ids = [
            c.name.split(".", 1)[-1]
            for c in store.get_contexts_by_execution(execution.id)
            if c.type == "node"
        ]
        events = store.get_events_by_execution_ids([execution.id])
        artifacts = {a.id: a for a in store.get_artifacts_by_id([e.artifact_id for e in events])}
        inputs: Artifacts = {}
        outputs: Artifacts = {}
        for event in events:
            key = event.path.steps[0].key if event.path.steps else ""
            side = inputs if event.type in _INPUT_EVENTS else outputs
            side.setdefault(key, []).append(artifacts[event.artifact_id])
        for node_id in node_ids:
            result[node_id] = NodeExecution(node_id, execution, inputs, outputs)
    return result


def custom_value(artifact: metadata_store_pb2.Artifact, key: str):
    if key not in artifact.custom_properties:
        return None
    value = artifact.custom_properties[key]
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind != "struct_value" else value.struct_value


@dataclasses.dataclass
class RunSummary:
    run_id: str
    states: Dict[str, str]
    accuracy: Optional[float]
    accuracy_per_digit: Dict[int, float]
    blessed: Optional[bool]
    pushed_to: Optional[str]


def evaluation_metrics(evaluation_uri: str):
    """(overall accuracy, {digit: accuracy}) from TFMA's output."""
    import tensorflow_model_analysis as tfma

    from pipeline.evaluation import ACCURACY

    overall, per_digit = None, {}
    for metrics in tfma.load_metrics(evaluation_uri):
        slice_key = metrics.slice_key
        for key_and_value in metrics.metric_keys_and_values:
            key = key_and_value.key
            if key.name != ACCURACY or key.model_name == "baseline" or key.is_diff:
                continue
            value = key_and_value.value.double_value.value
            if not slice_key.single_slice_keys:
                overall = value
            else:
                digit = slice_key.single_slice_keys[0].int64_value
                per_digit[int(digit)] = value
    return overall, dict(sorted(per_digit.items()))


def summarize(store: mlmd.MetadataStore, run: metadata_store_pb2.Context) -> RunSummary:
    nodes = executions(store, run)
    accuracy, per_digit, blessed, pushed_to = None, {}, None, None
    evaluator = nodes.get("Evaluator")
    if evaluator and evaluator.outputs.get("evaluation"):
        accuracy, per_digit = evaluation_metrics(evaluator.outputs["evaluation"][0].uri)
    if evaluator and evaluator.outputs.get("blessing"):
        blessed = custom_value(evaluator.outputs["blessing"][0], "blessed") == 1
    pusher = nodes.get("Pusher")
    if pusher and pusher.outputs.get("pushed_model"):
        pushed = pusher.outputs["pushed_model"][0]
        if custom_value(pushed, "pushed") == 1:
            pushed_to = custom_value(pushed, "pushed_destination")
    return RunSummary(
        run_id=run.name,
        states={node: e.state for node, e in nodes.items()},
        accuracy=accuracy,
        accuracy_per_digit=per_digit,
        blessed=blessed,
        pushed_to=pushed_to,
    )
