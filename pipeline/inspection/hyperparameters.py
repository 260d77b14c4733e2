"""The hyperparameters a run's Trainer used, each with its source (default,
flag, env or tuned: trainer_module/hyperparameters.py): the values and the
tuned ones from the training summary the Trainer wrote to its model_run
directory, which settings the user gave from the run's own record
(metadata.settings_given), which is in no cache key. A Trainer that did not
finish falls back to its custom_config."""
import dataclasses
import json
import os
from typing import Dict, List, Optional, Tuple

from foundation import names
from foundation.names import TRAINING_SUMMARY_FILE
from pipeline.inspection import metadata
from trainer_module import hyperparameters
from trainer_module.hyperparameters import UNKNOWN

# Where runs before the run's own record kept the sources: in custom_config.
_OLD_SOURCES_KEY = "hyperparameter_sources"

Hyperparameter = Tuple[str, object, str]  # (name, value, source)


def _training_summary(trainer: metadata.NodeExecution) -> Optional[dict]:
    outputs = trainer.outputs.get(names.MODEL_RUN_KEY)
    if not outputs:
        return None
    path = os.path.join(outputs[0].uri, TRAINING_SUMMARY_FILE)
    if not os.path.exists(path):  # an object store, or an older run
        return None
    with open(path) as f:
        return json.load(f)


def used(trainer: Optional[metadata.NodeExecution], given: Optional[Dict[str, str]]) -> List[Hyperparameter]:
    """`given`: the settings the user gave for the run (metadata.settings_given)."""
    if trainer is None:
        return []
    summary = _training_summary(trainer) or {}
    values = summary.get("hyperparameters")
    sources = summary.get("hyperparameter_sources") or {}
    if values is None:  # the Trainer did not finish: no tuned values either
        config = json.loads(metadata.exec_properties(trainer.execution).get("custom_config") or "{}")
        resolved, sources = hyperparameters.resolve(config)
        values = dataclasses.asdict(resolved)
        # Older runs kept the sources in custom_config itself.
        given = given if given is not None else config.get(_OLD_SOURCES_KEY)
    sources = hyperparameters.merged({name: sources.get(name, UNKNOWN) for name in values}, given)
    return [(name, value, sources[name]) for name, value in sorted(values.items())]


def lines(trainer: Optional[metadata.NodeExecution], given: Optional[Dict[str, str]], indent: str = "  ") -> List[str]:
    return [f"{indent}{name} = {value}  ({source})" for name, value, source in used(trainer, given)]
