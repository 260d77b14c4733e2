"""The hyperparameters a run trains with, and where each one came from.

Every TrainConfig field has one source:
- "flag" or "env": set explicitly on the command line or in the environment
  (pipeline/config.py records which, in custom_config[SOURCES_KEY]);
- "tuned": chosen by the Tuner (its best_hyperparameters), for a field the
  user did not set; the Tuner does not search explicit fields (tuner.py);
- "default": TrainConfig's default.
"""
import dataclasses
from typing import Any, Dict, Mapping, Optional, Tuple

from trainer_module.config import SOURCES_KEY, TrainConfig

DEFAULT, FLAG, ENV, TUNED = "default", "flag", "env", "tuned"


def explicit_sources(custom_config: Optional[Mapping[str, Any]]) -> Dict[str, str]:
    return dict((custom_config or {}).get(SOURCES_KEY) or {})


def resolve(
    custom_config: Optional[Mapping[str, Any]],
    tuned: Optional[Mapping[str, Any]] = None,
) -> Tuple[TrainConfig, Dict[str, str]]:
    """(the config to train with, each field's source).

    `tuned`: the Trainer's fn_args.hyperparameters, KerasTuner's
    HyperParameters config ({"space": ..., "values": {...}}), or None.
    """
    values = {k: v for k, v in (custom_config or {}).items() if k != SOURCES_KEY}
    explicit = explicit_sources(custom_config)
    sources = {f.name: explicit.get(f.name, DEFAULT) for f in dataclasses.fields(TrainConfig)}
    kinds = {f.name: type(f.default) for f in dataclasses.fields(TrainConfig)}
    for name, value in ((tuned or {}).get("values") or {}).items():
        if name in sources and name not in explicit:
            values[name] = kinds[name](value)
            sources[name] = TUNED
    return TrainConfig.from_dict(values), sources
