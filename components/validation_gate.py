"""The gate between data validation and training.

TFX's ExampleValidator records anomalies but never fails, so training would go
on with bad data. This component reads the anomalies and fails the run, naming
each one and, when the examples say so, the file it came from; the Trainer
depends on it, so it never starts on data that broke the schema.
"""
import os
from typing import List

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import types
from tfx.dsl.component.experimental.annotations import InputArtifact
from tfx.dsl.component.experimental.decorators import component
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import io_utils

from components.errors import DataValidationError
from components.mnist_example_gen.executor import SOURCE_FILES_PROPERTY

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
) -> None:
    problems = describe_anomalies(anomalies, examples)
    if problems:
        raise DataValidationError(
            "The examples do not match schemas/schema.pbtxt; training was not started:\n  "
            + "\n  ".join(problems)
        )
