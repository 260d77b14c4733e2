"""Gathers everything the report shows into one JSON-able dict: the summary.

It is written as `summary.json` beside the page, and it is the page's only
input (render.py), so the `report` command can render the same page again
with what only ML Metadata knows (wall times, the trainer module's
fingerprint) without TensorFlow.
"""
import importlib.metadata
import json
import os
from typing import Any, Dict, Optional

from tfx import types
from tfx.dsl.io import fileio

from components.evaluation_report import data_facts, digits, tfma_facts

SCHEMA_VERSION = 1
# The Trainer's summary (trainer_module/task.py), in its model_run directory.
TRAINING_SUMMARY_FILE = "training_summary.json"
TRAIN_SPLIT, EVAL_SPLIT = "train", "eval"
_VERSIONS = ("mnist-tfx", "tfx", "tensorflow", "tensorflow-model-analysis",
             "tensorflow-data-validation", "apache-beam")


def _training(model_run: types.Artifact) -> Optional[Dict[str, Any]]:
    path = os.path.join(model_run.uri, TRAINING_SUMMARY_FILE)
    if not fileio.exists(path):
        return None
    with fileio.open(path, "r") as f:
        return json.load(f)


def _versions() -> Dict[str, Optional[str]]:
    found = {}
    for name in _VERSIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = None
    return found


def gather(
    *,
    evaluation: types.Artifact,
    blessing: types.Artifact,
    statistics: types.Artifact,
    anomalies: types.Artifact,
    model: types.Artifact,
    model_run: types.Artifact,
    examples: types.Artifact,
    run_id: Optional[str] = None,
    pipeline_name: Optional[str] = None,
) -> Dict[str, Any]:
    evaluation_facts = tfma_facts.load(evaluation.uri)
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "blessed": blessing.get_int_custom_property("blessed") == 1,
        "evaluation": evaluation_facts,
        "training": _training(model_run),
        "data": data_facts.load(examples, statistics, anomalies),
        "misclassified": digits.misclassified(examples, EVAL_SPLIT, model),
        "samples": digits.samples(examples, TRAIN_SPLIT),
        "provenance": {
            "generated_by": "the EvaluationReporter component",
            "pipeline_name": pipeline_name,
            "versions": _versions(),
            # Recorded only in ML Metadata: the `report` command adds them.
            "module_fingerprint": None,
            "wall_seconds": {},
            "artifacts": {
                "model": model.uri,
                "baseline model": evaluation_facts["models"]["baseline"],
                "evaluation": evaluation.uri,
                "blessing": blessing.uri,
                "examples": examples.uri,
                "statistics": statistics.uri,
                "anomalies": anomalies.uri,
            },
        },
    }
