"""Reads what a local run recorded in ML Metadata: executions, artifacts, metrics."""
import dataclasses
import json
import os
from typing import Any, Dict, List, Optional, Tuple

import ml_metadata as mlmd
from ml_metadata.proto import metadata_store_pb2

from foundation.errors import UserError
from pipeline.inspection import store_check

STATE_NAMES = {
    value: name.lower()
    for name, value in metadata_store_pb2.Execution.State.items()
}


_INPUT_EVENTS = (metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.DECLARED_INPUT)


class NoMetadataStore(UserError, FileNotFoundError):
    """Nothing has run under this output directory."""


def open_store(metadata_path: str) -> mlmd.MetadataStore:
    if not os.path.exists(metadata_path):
        raise NoMetadataStore(f"No ML Metadata store at {metadata_path}: nothing has run yet")
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    config.sqlite.connection_mode = metadata_store_pb2.SqliteMetadataSourceConfig.READONLY
    return store_check.opened(metadata_path, lambda: mlmd.MetadataStore(config))


def runs(store: mlmd.MetadataStore, pipeline_name: str) -> List[metadata_store_pb2.Context]:
    """The pipeline's runs, oldest first."""
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return []
    found = [c for c in store.get_children_contexts_by_context(pipeline.id) if c.type == "pipeline_run"]
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


def execution_by_id(store: mlmd.MetadataStore, execution: metadata_store_pb2.Execution) -> "NodeExecution":
    """One execution with its node id, inputs and outputs."""
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
    return NodeExecution(node_ids[0] if node_ids else "", execution, inputs, outputs)


def executions(store: mlmd.MetadataStore, run: metadata_store_pb2.Context) -> Dict[str, NodeExecution]:
    """The run's executions by node id (e.g. 'Trainer'), in the order they ran."""
    found = [execution_by_id(store, e) for e in sorted(store.get_executions_by_context(run.id), key=lambda e: e.id)]
    return {n.node_id: n for n in found}


def custom_value(item, key: str):
    """A custom property of an artifact or execution, as a Python value."""
    if key not in item.custom_properties:
        return None
    value = item.custom_properties[key]
    kind = value.WhichOneof("value")
    if kind == "struct_value":
        from google.protobuf import json_format

        return json_format.MessageToDict(value.struct_value)
    return getattr(value, kind)


# TFX keeps its own bookkeeping in execution properties named __like_this__.
def exec_properties(execution: metadata_store_pb2.Execution) -> Dict[str, Any]:
    return {
        key: custom_value(execution, key)
        for key in execution.custom_properties
        if not key.startswith("__")
    }


# Double underscores, like TFX's own bookkeeping: not an execution parameter.
_ERROR_KEY = "__error_message__"


def _writable_store(metadata_path: str) -> mlmd.MetadataStore:
    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = metadata_path
    return store_check.opened(metadata_path, lambda: mlmd.MetadataStore(config))


def record_failure(metadata_path: str, pipeline_name: str, error: BaseException) -> None:
    """Stores the exception on the latest run's failed executions.

    TFX's local launcher records only that an executor failed, not why, when
    the executor raised a plain exception; `runs show` should say why.
    """
    if not os.path.exists(metadata_path):
        return
    store = _writable_store(metadata_path)
    found = runs(store, pipeline_name)
    if not found:
        return
    for execution in store.get_executions_by_context(found[-1].id):
        if execution.last_known_state == metadata_store_pb2.Execution.FAILED and _ERROR_KEY not in execution.custom_properties:
            execution.custom_properties[_ERROR_KEY].string_value = f"{type(error).__name__}: {error}"
            store.put_executions([execution])


# On a run's context: the settings the user gave for it, JSON {name: "flag" or
# "env"}. There, not in a component's parameters, it is in no cache key: TFX
# keys a node on its inputs, parameters and code (tfx/orchestration/portable/
# cache_utils.py), never on the run's context. Missing: the run recorded
# none (an older run, or one killed before it ended).
SETTINGS_GIVEN_PROPERTY = "settings_given"


def record_settings_given(metadata_path: str, pipeline_name: str, since_ms: int, given: Dict[str, str]) -> None:
    """Records `given` on each run of the pipeline that started at or after
    `since_ms` (the run just made: the caller holds the directory's lock)."""
    if not os.path.exists(metadata_path):
        return
    store = _writable_store(metadata_path)
    for run in runs(store, pipeline_name):
        if run.create_time_since_epoch >= since_ms:
            run.custom_properties[SETTINGS_GIVEN_PROPERTY].string_value = json.dumps(given, sort_keys=True)
            store.put_contexts([run])


def settings_given(run: metadata_store_pb2.Context) -> Optional[Dict[str, str]]:
    """The settings the user gave for a run, by name: "flag" or "env"; None: not recorded."""
    text = custom_value(run, SETTINGS_GIVEN_PROPERTY)
    return json.loads(text) if text else None


INTERRUPTED = "interrupted: the process running it ended before it finished (killed?)"
_ACTIVE = (metadata_store_pb2.Execution.NEW, metadata_store_pb2.Execution.RUNNING)


def close_interrupted(metadata_path: str, pipeline_name: str) -> List[NodeExecution]:
    """Marks the pipeline's executions left active by a killed run FAILED.

    A LocalDagRunner killed mid-component leaves that execution RUNNING for
    good. TFX's next run is not blocked by it (it has a new run context, and
    its cache takes completed executions only), but `runs` would call the
    dead run running and `run --resume` would find nothing to resume. Call
    only while holding the output directory's lock: then no live process owns
    an active execution. Returns the executions closed.
    """
    if not os.path.exists(metadata_path):
        return []
    store = _writable_store(metadata_path)
    pipeline = store.get_context_by_type_and_name("pipeline", pipeline_name)
    if pipeline is None:
        return []
    closed = []
    for execution in store.get_executions_by_context(pipeline.id):
        if execution.last_known_state in _ACTIVE:
            execution.last_known_state = metadata_store_pb2.Execution.FAILED
            execution.custom_properties[_ERROR_KEY].string_value = INTERRUPTED
            store.put_executions([execution])
            closed.append(execution_by_id(store, execution))
    return closed


def error_message(execution: metadata_store_pb2.Execution) -> Optional[str]:
    """Why a failed execution failed: as recorded by us, or by TFX (JSON)."""
    if _ERROR_KEY in execution.custom_properties:
        return custom_value(execution, _ERROR_KEY)
    result = custom_value(execution, "__execution_result__")
    if not result:
        return None
    try:
        return json.loads(result).get("resultMessage") or result
    except ValueError:
        return result


def node_history(
    store: mlmd.MetadataStore, pipeline_name: str, node_id: str
) -> List[metadata_store_pb2.Execution]:
    """Every execution of one node across runs, oldest first."""
    context = store.get_context_by_type_and_name("node", f"{pipeline_name}.{node_id}")
    if context is None:
        return []
    return sorted(store.get_executions_by_context(context.id), key=lambda e: e.id)


def find_run(store: mlmd.MetadataStore, pipeline_name: str, ref: str) -> metadata_store_pb2.Context:
    """A run by id, by a unique prefix of it, or 'latest'."""
    found = runs(store, pipeline_name)
    if not found:
        raise UserError(f"No runs of {pipeline_name} recorded yet")
    if ref == "latest":
        return found[-1]
    matches = [r for r in found if r.name == ref] or [r for r in found if r.name.startswith(ref)]
    if len(matches) != 1:
        what = "No run" if not matches else f"{len(matches)} runs"
        raise UserError(f"{what} of {pipeline_name} match {ref!r}; see `runs list`")
    return matches[0]


def run_status(nodes: Dict[str, "NodeExecution"]) -> str:
    states = {n.state for n in nodes.values()}
    for status in ("failed", "running", "new"):
        if status in states:
            return status
    return "complete"


def wall_seconds(execution: metadata_store_pb2.Execution) -> float:
    return (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000


def run_wall_seconds(run: metadata_store_pb2.Context, nodes: Dict[str, "NodeExecution"]) -> float:
    if not nodes:
        return 0.0
    end = max(n.execution.last_update_time_since_epoch for n in nodes.values())
    return (end - run.create_time_since_epoch) / 1000


def resume_point(metadata_path: str, pipeline_name: str) -> Tuple[List[str], str]:
    """(failed nodes, run id) of the latest run, for a partial re-run."""
    close_interrupted(metadata_path, pipeline_name)  # a killed run failed too
    store = open_store(metadata_path)
    latest = find_run(store, pipeline_name, "latest")
    nodes = executions(store, latest)
    failed = [node_id for node_id, node in nodes.items() if node.state == "failed"]
    if not failed:
        raise UserError(f"Nothing to resume: the latest run, {latest.name}, did not fail")
    return failed, latest.name
