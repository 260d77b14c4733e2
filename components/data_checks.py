"""The data checks the gate holds a run to, each with its value and bound.

Three sources, all read before the Trainer:
- the Examples artifact: exact label counts (class balance), eval images that
  copy train images (leakage) and images with conflicting labels, all counted
  at ingestion (components/mnist_example_gen/duplicates.py);
- TFX's DistributionValidator anomalies: train vs eval in this run (skew) and
  train vs the latest blessed model's training data (drift). TFDV records
  every compared feature's distance and threshold in `drift_skew_info`, so
  passing comparisons are reported too, not only the anomalies.

Class balance is checked here rather than in schemas/schema.pbtxt because
TFDV's schema cannot say it: `distribution_constraints` holds only
`min_domain_mass` (the share of values inside the domain), and a categorical
`int_domain` does not require each value to occur.
"""
import dataclasses
import json
import os
from typing import List, Optional

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx import types
from tfx.types import artifact_utils
from tfx.types.artifact import Artifact
from tfx.utils import io_utils

from components.mnist_example_gen.executor import (
    EVAL_COPIES_OF_TRAIN_PROPERTY,
    LABEL_CONFLICTS_PROPERTY,
)
from foundation.names import EVAL_SPLIT
from trainer_module import features

ANOMALIES_FILE = "SchemaDiff.pb"
LABEL_COUNTS_PROPERTY = "label_counts"  # set by MnistExampleGen
CHECKS_PROPERTY = "checks"  # on the gate's output: as_json()

# Check names, as the report and `runs show` print them.
CLASS_BALANCE = "class balance"
EVAL_COPIES = "eval copies of train"
LABEL_CONFLICTS = "label conflicts"
SKEW = "train/eval distribution"
DRIFT = "drift from the blessed model's data"

_MEASURE_NAMES = {
    anomalies_pb2.DriftSkewInfo.Measurement.L_INFTY: "L-infinity distance",
    anomalies_pb2.DriftSkewInfo.Measurement.JENSEN_SHANNON_DIVERGENCE: "Jensen-Shannon divergence",
    anomalies_pb2.DriftSkewInfo.Measurement.NORMALIZED_ABSOLUTE_DIFFERENCE: "normalized absolute difference",
}


class DataChecks(Artifact):
    """The ValidationGate's record: every check in `CHECKS_PROPERTY`.

    A custom type named `<namespace>.<Title>`, as KFP requires (see
    components/evaluation_report/artifacts.py); `components` exports it."""

    TYPE_NAME = "components.DataChecks"


@dataclasses.dataclass
class Check:
    name: str  # one of the names above
    subject: str  # what was measured: "train", "eval vs train, feature 'image'"
    value: Optional[float]  # None: could not be measured
    bound: Optional[float]
    passed: bool
    detail: str  # the measurement in words, with the bound

    def line(self) -> str:
        return f"{self.subject}: {self.name}: {self.detail}"


def class_balance(examples: types.Artifact, min_share: float) -> List[Check]:
    """Per split: every digit present, none below `min_share` of the split."""
    checks = []
    for split, counts in sorted((examples.get_json_value_custom_property(LABEL_COUNTS_PROPERTY) or {}).items()):
        counts = [int(n) for n in counts]  # ML Metadata keeps JSON numbers as floats
        total = sum(counts) or 1
        counts = counts[:features.NUM_CLASSES]  # labels out of 0..9 are the schema's business
        shares = [n / total for n in counts]
        low = [digit for digit, share in enumerate(shares) if share < min_share]
        smallest = min(range(len(shares)), key=shares.__getitem__)
        if low:
            detail = "; ".join(f"digit {d} has {counts[d]} of {total} ({shares[d]:.2%})" for d in low)
            detail += f", below the bound {min_share:.2%}"
        else:
            detail = f"smallest digit {smallest}: {shares[smallest]:.2%}, bound {min_share:.2%}"
        checks.append(Check(CLASS_BALANCE, split, shares[smallest], min_share, not low, detail))
    return checks


def leakage(examples: types.Artifact, max_copies_share: float, max_conflicts_share: float) -> List[Check]:
    """Eval images copied from train; images with conflicting labels per split."""
    counts = examples.get_json_value_custom_property("example_counts") or {}
    checks = []
    if examples.has_custom_property(EVAL_COPIES_OF_TRAIN_PROPERTY):
        copies = examples.get_int_custom_property(EVAL_COPIES_OF_TRAIN_PROPERTY)
        total = int(counts.get(EVAL_SPLIT) or 1)
        share = copies / total
        passed = share <= max_copies_share
        detail = (f"{copies} of {total} eval images ({share:.2%}) are exact copies of train images, "
                  f"{'within' if passed else 'above'} the bound {max_copies_share:.2%}")
        checks.append(Check(EVAL_COPIES, EVAL_SPLIT, share, max_copies_share, passed, detail))
    conflicts = examples.get_json_value_custom_property(LABEL_CONFLICTS_PROPERTY) or {}
    for split, found in sorted(conflicts.items()):
        found, total = int(found), int(counts.get(split) or 1)
        share = found / total
        passed = share <= max_conflicts_share
        detail = (f"{found} distinct images ({share:.2%} of {total}) appear with different labels, "
                  f"{'within' if passed else 'above'} the bound {max_conflicts_share:.2%}")
        checks.append(Check(LABEL_CONFLICTS, split, share, max_conflicts_share, passed, detail))
    return checks


def _read_anomalies(anomalies: types.Artifact, split_pair: str) -> anomalies_pb2.Anomalies:
    found = anomalies_pb2.Anomalies()
    path = os.path.join(anomalies.uri, f"SplitPair-{split_pair}", ANOMALIES_FILE)
    found.ParseFromString(io_utils.read_bytes_file(path))
    return found


def distribution(anomalies: types.Artifact, name: str) -> List[Check]:
    """DistributionValidator's comparisons, one per split pair and feature.

    Split pairs are "<test>_<baseline>" (TFX's naming); none when it had no
    baseline statistics (the first run, for drift).
    """
    checks = []
    for split_pair in artifact_utils.decode_split_names(anomalies.split_names):
        test, _, baseline = split_pair.partition("_")
        # A comma, not a colon: the line must not read as split `baseline`'s.
        found = _read_anomalies(anomalies, split_pair)
        flagged = set(found.anomaly_info)
        measured = set()
        for info in found.drift_skew_info:
            feature = ".".join(info.path.step)
            measured.add(feature)
            for measurement in list(info.drift_measurements) + list(info.skew_measurements):
                what = _MEASURE_NAMES.get(measurement.type, "distance")
                passed = feature not in flagged
                detail = (f"{what} {measurement.value:.4f}, "
                          f"{'within' if passed else 'above'} the bound {measurement.threshold:.4f}")
                checks.append(Check(name, f"{test} vs {baseline}, feature '{feature}'",
                                    measurement.value, measurement.threshold, passed, detail))
        for feature in sorted(flagged - measured):  # e.g. no statistics to compare
            reasons = "; ".join(r.description for r in found.anomaly_info[feature].reason)
            checks.append(Check(name, f"{test} vs {baseline}, feature '{feature}'", None, None, False, reasons))
    return checks


def as_json(checks: List[Check]) -> str:
    """What the gate records: a JSON list of the checks' fields (a string
    property, which ML Metadata readers parse without TFX)."""
    return json.dumps([dataclasses.asdict(c) for c in checks])
