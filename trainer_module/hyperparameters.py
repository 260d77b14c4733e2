"""The hyperparameters a run trains with, and where each one came from.

Every TrainConfig field has one source:
- "flag" or "env": set explicitly on the command line or in the environment;
- "tuned": chosen by the Tuner (its best_hyperparameters), for a field the
  user did not set; the Tuner does not search fields the user set (tuner.py);
- "default": TrainConfig's default.

The Trainer sees values only (custom_config is its cache key), so it tells
"tuned" from SET, a value of the pipeline's settings; which of default, flag
or env that was, the run records outside every cache key
(pipeline/launch/local.py), and `runs show` and `report` read it there.
"""
import dataclasses
from typing import Any, Dict, Mapping, Optional, Tuple

from trainer_module.config import FIXED_KEY, TrainConfig

DEFAULT, FLAG, ENV, TUNED = "default", "flag", "env", "tuned"
SET = "set"  # the Trainer's view of a value it did not take from the Tuner
UNKNOWN = "?"  # a source nobody recorded


def resolve(
    custom_config: Optional[Mapping[str, Any]],
    tuned: Optional[Mapping[str, Any]] = None,
) -> Tuple[TrainConfig, Dict[str, str]]:
    """(the config to train with, each field's source: TUNED or SET).

    `tuned`: the Trainer's fn_args.hyperparameters, KerasTuner's
    HyperParameters config ({"space": ..., "values": {...}}), or None.
    """
    values = dict(custom_config or {})
    fixed = set(values.pop(FIXED_KEY, None) or ())
    sources = {f.name: SET for f in dataclasses.fields(TrainConfig)}
    kinds = {f.name: type(f.default) for f in dataclasses.fields(TrainConfig)}
    for name, value in ((tuned or {}).get("values") or {}).items():
        if name in sources and name not in fixed:
            values[name] = kinds[name](value)
            sources[name] = TUNED
    return TrainConfig.from_dict(values), sources


def merged(trainer_sources: Mapping[str, str], explicit: Optional[Mapping[str, str]]) -> Dict[str, str]:
    """Each field's source for a user: what the run records as set explicitly
    (flag, env), else the Trainer's TUNED, else DEFAULT. `explicit` None: the
    run recorded none (an older run, or one killed before it could), and the
    Trainer's own words stand (older Trainers wrote flag, env and default),
    SET as UNKNOWN."""
    if explicit is None:
        return {name: UNKNOWN if source == SET else source for name, source in trainer_sources.items()}
    return {
        name: explicit.get(name) or (TUNED if source == TUNED else DEFAULT)
        for name, source in trainer_sources.items()
    }
