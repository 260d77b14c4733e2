"""The gate between data validation and training.

TFX's ExampleValidator and DistributionValidator record anomalies but never
fail, so training would go on with bad data. This component reads them, and
the data checks of components/data_checks.py, and fails the run, one line per
problem naming the split, the feature (and, when the examples say so, the file
it came from), the value and the bound; the Trainer depends on it, so it never
starts on data that broke the schema or a check. Every check, passed or not,
is recorded on its output for the report.
"""
import os
from typing import List

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import types
from tfx.dsl.component.experimental.annotations import InputArtifact, OutputArtifact, Parameter
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils

from components import data_checks as checks_lib
from components.mnist_example_gen.executor import SOURCE_FILES_PROPERTY
from foundation.errors import DataValidationError

ANOMALIES_FILE = "SchemaDiff.pb"


def describe_anomalies(anomalies: types.Artifact, examples: types.Artifact) -> List[str]:
    """One line per anomaly: split, feature, its source file, TFDV's description."""
    sources = {}
    if examples.has_custom_property(SOURCE_FILES_PROPERTY):
        sources = examples.get_json_value_custom_property(SOURCE_FILES_PROPERTY)
    problems = []
    for split in artifact_utils.decode_split_names(anomalies.split_names):
        path = os.path.join(artifact_utils.get_split_uri([anomalies], split), ANOMALIES_FILE)
        found = anomalies_pb2.Anomalies()
        found.ParseFromString(io_utils.read_bytes_file(path))
        for feature, info in sorted(found.anomaly_info.items()):
            origin = sources.get(split, {}).get(feature)
            where = f" (from {origin})" if origin else ""
            problems.append(f"{split}: feature '{feature}'{where}: {info.description}")
        if found.HasField("dataset_anomaly_info"):
            problems.append(f"{split}: dataset: {found.dataset_anomaly_info.description}")
    return problems


@component
def ValidationGate(
    anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
    examples: InputArtifact[standard_artifacts.Examples],
    skew_anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
    drift_anomalies: InputArtifact[standard_artifacts.ExampleAnomalies],
    data_checks: OutputArtifact[checks_lib.DataChecks],
    min_class_share: Parameter[float],
    max_eval_copies_of_train: Parameter[float],
    max_label_conflicts: Parameter[float],
) -> None:
    problems = describe_anomalies(anomalies, examples)
    checks = (
        checks_lib.class_balance(examples, min_class_share)
        + checks_lib.leakage(examples, max_eval_copies_of_train, max_label_conflicts)
        + checks_lib.distribution(skew_anomalies, checks_lib.SKEW)
        + checks_lib.distribution(drift_anomalies, checks_lib.DRIFT)
    )
    data_checks.set_string_custom_property(checks_lib.CHECKS_PROPERTY, checks_lib.as_json(checks))
    failed = [check.line() for check in checks if not check.passed]
    if problems:
        raise DataValidationError(
            "The examples do not match schemas/schema.pbtxt; training was not started:\n  "
            + "\n  ".join(problems + failed)
        )
    if failed:
        raise DataValidationError(
            "The examples failed the data checks; training was not started:\n  "
            + "\n  ".join(failed)
        )
