"""The data behind a run, as plain data: where it came from, TFDV's statistics
per split, and ExampleValidator's anomalies."""
import os
from typing import Any, Dict

from tensorflow_metadata.proto.v0 import statistics_pb2
from tfx import types
from tfx.types import artifact_utils
from tfx.utils import io_utils

from components.validation_gate import describe_anomalies
from trainer_module import features

STATS_FILE = "FeatureStats.pb"


def _feature(dataset, name: str):
    for feature in dataset.features:
        if list(feature.path.step) == [name] or feature.name == name:
            return feature
    return None


def _split_statistics(statistics: types.Artifact, split: str) -> Dict[str, Any]:
    """TFDV's numbers for one split: example count, pixel statistics."""
    path = os.path.join(artifact_utils.get_split_uri([statistics], split), STATS_FILE)
    stats = statistics_pb2.DatasetFeatureStatisticsList()
    stats.ParseFromString(io_utils.read_bytes_file(path))
    [dataset] = stats.datasets
    result: Dict[str, Any] = {"num_examples": int(dataset.num_examples)}
    image = _feature(dataset, features.IMAGE_KEY)
    if image is not None:
        num = image.num_stats
        total = num.common_stats.tot_num_values
        result["pixels"] = {
            "mean": num.mean,
            "std_dev": num.std_dev,
            "min": num.min,
            "max": num.max,
            "zero_fraction": num.num_zeros / total if total else None,
            "values_per_example": num.common_stats.avg_num_values,
        }
    return result


def load(examples: types.Artifact, statistics: types.Artifact, anomalies: types.Artifact) -> Dict[str, Any]:
    label_counts = examples.get_custom_property("label_counts") or {}
    splits = {}
    for split in artifact_utils.decode_split_names(statistics.split_names):
        facts = _split_statistics(statistics, split)
        counts = label_counts.get(split)
        facts["label_counts"] = [int(n) for n in counts] if counts else None
        splits[split] = facts
    return {
        "source_dir": examples.get_custom_property("source_dir"),
        "canonical_mnist": bool(examples.get_custom_property("canonical_mnist")),
        "sha256": examples.get_custom_property("source_sha256") or {},
        "example_counts": {k: int(v) for k, v in (examples.get_custom_property("example_counts") or {}).items()},
        "splits": splits,
        "anomalies": describe_anomalies(anomalies, examples),
    }
