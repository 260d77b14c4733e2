"""Gathers the report's summary (its type: summary.py) from a run's artifacts:
TFMA's results, TFDV's statistics, the training history, the serving check's
measurements and sample digits. Loads TensorFlow, TFMA and TFDV: the
EvaluationReporter's executor calls it; readers of a summary never do.
"""
import importlib.metadata
import json
import os
from typing import Any, Dict, Optional

from tfx import types
from tfx.dsl.io import fileio

from components.evaluation_report import data_facts, digits, summary, tfma_facts
from components.evaluation_report.summary import ServingFacts, Summary
from foundation.names import EVAL_SPLIT, SERVING_CHECK_RESULT_FILE, TRAIN_SPLIT, TRAINING_SUMMARY_FILE

# Whose versions the summary records.
_VERSIONS = ("mnist-tfx", "tfx", "tensorflow", "tensorflow-model-analysis",
             "tensorflow-data-validation", "apache-beam")


def _training(model_run: types.Artifact) -> Optional[Dict[str, Any]]:
    path = os.path.join(model_run.uri, TRAINING_SUMMARY_FILE)
    if not fileio.exists(path):
        return None
    with fileio.open(path, "r") as f:
        return json.load(f)


def _serving(infra_blessing: Optional[types.Artifact]) -> Optional[ServingFacts]:
    if infra_blessing is None:
        return None
    path = os.path.join(infra_blessing.uri, SERVING_CHECK_RESULT_FILE)
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
    infra_blessing: Optional[types.Artifact] = None,
    run_id: Optional[str] = None,
    pipeline_name: Optional[str] = None,
) -> Summary:
    evaluation_facts = tfma_facts.load(evaluation.uri)
    return Summary(
        schema_version=summary.SCHEMA_VERSION,
        run_id=run_id,
        blessed=blessing.get_int_custom_property("blessed") == 1,
        evaluation=evaluation_facts,
        training=_training(model_run),
        data=data_facts.load(examples, statistics, anomalies),
        misclassified=digits.misclassified(examples, EVAL_SPLIT, model),
        samples=digits.samples(examples, TRAIN_SPLIT),
        serving=_serving(infra_blessing),
        search=None,  # the executor adds the Tuner's record, when it ran
        provenance={
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
    )
