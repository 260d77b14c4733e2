"""Why a component ran instead of being served from TFX's cache.

TFX reuses an earlier result when a node's inputs, parameters and code are
all the same. So for a node that ran, the answer is what differs from the
node's latest earlier result: input artifacts, parameters, or the Trainer
module's fingerprint (the hash TFX puts in the module wheel's version).
"""
import json
import re
from typing import Any, Dict, List, Optional

import ml_metadata as mlmd

from pipeline.inspection import metadata

_MODULE_KEY = "module_path"
_WHEEL_HASH = re.compile(r"\+([0-9a-f]{64})")


def module_fingerprint(module_path: Optional[str]) -> Optional[str]:
    match = _WHEEL_HASH.search(module_path or "")
    return match.group(1) if match else None


def _leaves(value: Any, path: str = "") -> Dict[str, Any]:
    """A JSON document as {path: value} of its leaves: "a.b[0].c"."""
    if isinstance(value, dict) and value:
        items = ((f"{path}.{k}" if path else str(k), v) for k, v in value.items())
    elif isinstance(value, list) and value:
        items = ((f"{path}[{i}]", v) for i, v in enumerate(value))
    else:
        return {path: value}
    return {leaf: v for sub_path, sub in items for leaf, v in _leaves(sub, sub_path).items()}


def _diff_json(key: str, before: str, after: str) -> str:
    """The leaves that changed, e.g. an Evaluator's bound deep in its eval_config."""
    try:
        old, new = _leaves(json.loads(before)), _leaves(json.loads(after))
    except (TypeError, ValueError):
        return f"parameter {key} changed"
    changed = [f"{path} {old.get(path)} -> {new.get(path)}" for path in sorted(set(old) | set(new))
               if old.get(path) != new.get(path)]
    return f"parameter {key} changed: " + ", ".join(changed)


def changes(before: metadata.NodeExecution, after: metadata.NodeExecution) -> List[str]:
    """What differs between two executions of the same node."""
    found = []
    old_props = metadata.exec_properties(before.execution)
    new_props = metadata.exec_properties(after.execution)
    for key in sorted(set(old_props) | set(new_props)):
        old, new = old_props.get(key), new_props.get(key)
        if old == new:
            continue
        if key == _MODULE_KEY:
            a, b = module_fingerprint(old), module_fingerprint(new)
            if a != b:
                found.append(f"trainer module fingerprint changed: {str(a)[:12]} -> {str(b)[:12]}")
        elif isinstance(old, str) and isinstance(new, str) and old[:1] in "{[" and new[:1] in "{[":
            found.append(_diff_json(key, old, new))
        else:
            found.append(f"parameter {key} changed: {old!r} -> {new!r}")
    for key in sorted(set(before.inputs) | set(after.inputs)):
        old_ids = [a.id for a in before.inputs.get(key, [])]
        new_ids = [a.id for a in after.inputs.get(key, [])]
        if old_ids != new_ids:
            found.append(f"input {key} changed: artifact {old_ids or 'none'} -> {new_ids or 'none'}")
    return found


def why(store: mlmd.MetadataStore, pipeline_name: str, node: metadata.NodeExecution) -> str:
    """'cached', 'failed: ...', or 'ran: <what changed>' for one node of a run."""
    if node.state == "cached":
        return "cached"
    if node.state == "failed":
        return "failed"
    if node.state != "complete":
        return node.state
    history = [e for e in metadata.node_history(store, pipeline_name, node.node_id) if e.id < node.execution.id]
    earlier = [e for e in history if metadata.STATE_NAMES.get(e.last_known_state) in ("complete", "cached")]
    if not earlier:
        return "ran: earlier attempts failed" if history else "ran: no earlier result"
    previous = metadata.execution_by_id(store, earlier[-1])
    what = changes(previous, node)
    if not what:
        # ML Metadata keeps one input event per artifact, so an artifact in
        # two roles (the baseline being the candidate model itself) shows once.
        return ("ran: same recorded inputs, parameters and code as before; an input "
                "in a second role (e.g. a new baseline model) or a disabled cache")
    return "ran: " + "; ".join(what)
