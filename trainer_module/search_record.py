"""What the Tuner records of its search, and the lines that show it.

One JSON-able dict: the slice that scored the trials (trainer_module/holdout.py),
each trial's settings, time and score, and the chosen trial. The Tuner prints
its lines as it goes; its executor (components/tuner.py) keeps the dict on the
`tuner_results` artifact (names.SEARCH_PROPERTY), where `runs show` reads it from ML Metadata and the
EvaluationReporter puts it in the report. No TensorFlow: the CLI imports it.
"""
from typing import Any, Dict, List, Optional, TypedDict

# The Tuner object's attribute holding the record, for the executor.
ATTRIBUTE = "search_record"
# What the trials are scored on: accuracy on the held-out slice of train.
OBJECTIVE = "holdout_accuracy"
SECONDS = "trial_seconds"  # each trial's time, kept among its KerasTuner metrics


class Holdout(TypedDict):
    split: str  # the split it is held out of: "train"
    share: float  # the setting: the share of that split held out
    seed: int  # the seed its fingerprints are keyed with
    examples: int  # held out: what scores every trial
    label_counts: List[int]  # of those, per digit
    split_examples: int  # the whole split
    trial_examples: int  # what each trial trains on: the first of the others
    min_class_share: float  # the class-balance bound the slice passed


class Trial(TypedDict):
    number: int  # from 1, in the order run
    values: Dict[str, Any]  # the trial's settings
    seconds: Optional[float]  # training and scoring
    score: Optional[float]  # accuracy on the held-out slice; None: failed
    status: str  # KerasTuner's: COMPLETED, FAILED, INVALID


class Record(TypedDict):
    objective: str
    holdout: Holdout
    trials: List[Trial]
    chosen: Optional[int]  # the best trial's number


def plain(value: Any) -> str:
    """A setting as typed: ML Metadata gives whole numbers back as floats (32.0)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def settings(values: Dict[str, Any]) -> str:
    """By name: ML Metadata does not keep the order they were declared in."""
    return ", ".join(f"{name} {plain(values[name])}" for name in sorted(values))


def holdout_line(holdout: Holdout) -> str:
    examples, total = int(holdout["examples"]), int(holdout["split_examples"])
    counts = [int(n) for n in holdout["label_counts"]]
    smallest = min(range(len(counts)), key=counts.__getitem__)
    return (
        f"scored on {examples:,} of the {total:,} {holdout['split']} examples "
        f"({examples / (total or 1):.1%}, held out by seed {int(holdout['seed'])}; "
        f"smallest digit {smallest} at {counts[smallest] / (examples or 1):.1%}), "
        f"trained on {int(holdout['trial_examples']):,} others; eval not used"
    )


def trial_line(trial: Trial, of: Optional[int] = None) -> str:
    number = f"{int(trial['number'])}" + (f"/{of}" if of else "")
    seconds = "" if trial["seconds"] is None else f"{trial['seconds']:.1f} s, "
    result = f"holdout accuracy {trial['score']:.4f}" if trial["score"] is not None else trial["status"].lower()
    return f"trial {number}: {settings(trial['values'])}: {seconds}{result}"


def chosen_line(record: Record) -> str:
    by_number = {int(t["number"]): t for t in record["trials"]}
    best = by_number.get(int(record["chosen"])) if record["chosen"] is not None else None
    if best is None:
        return "chosen: none (no trial completed)"
    return f"chosen: trial {int(best['number'])}, {settings(best['values'])}"


def lines(record: Optional[Dict[str, Any]]) -> List[str]:
    """The record as `runs show` and `report` print it (nothing: no search)."""
    if not record:
        return []
    return ([f"Tuner: {len(record['trials'])} trials, {holdout_line(record['holdout'])}"]
            + [f"  {trial_line(t)}" for t in record["trials"]]
            + [f"  {chosen_line(record)}"])
