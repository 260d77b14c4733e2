"""The hyperparameters a run's Trainer used, each with its source (default,
flag, env or tuned: trainer_module/hyperparameters.py), from the training
summary the Trainer wrote to its model_run directory. Runs from before the
summary recorded sources fall back to the Trainer's custom_config, sources
unknown."""
import json
import os
from typing import List, Optional, Tuple

from foundation import names
from foundation.names import TRAINING_SUMMARY_FILE
from pipeline.inspection import metadata
from trainer_module.config import SOURCES_KEY

UNKNOWN = "?"

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


def used(trainer: Optional[metadata.NodeExecution]) -> List[Hyperparameter]:
    if trainer is None:
        return []
    summary = _training_summary(trainer) or {}
    values = summary.get("hyperparameters")
    sources = summary.get("hyperparameter_sources") or {}
    if values is None:
        config = json.loads(metadata.exec_properties(trainer.execution).get("custom_config") or "{}")
        explicit = config.pop(SOURCES_KEY, None)
        values = config
        if explicit is not None:  # the Trainer did not finish: no tuned values either
            sources = {name: explicit.get(name, "default") for name in values}
    return [(name, value, sources.get(name, UNKNOWN)) for name, value in sorted(values.items())]


def lines(trainer: Optional[metadata.NodeExecution], indent: str = "  ") -> List[str]:
    return [f"{indent}{name} = {value}  ({source})" for name, value, source in used(trainer)]
