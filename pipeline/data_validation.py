"""The DistributionValidators' config: which distributions are compared, and
the bounds.

Two features, the same comparator and bounds for both DistributionValidators
(train vs eval in one run; train vs the latest blessed model's train): TFDV's
approximate Jensen-Shannon divergence of
- `label`: its histogram, one bucket per digit (TFDV's 10 equal-width
  buckets over 0..9), so the digits' shares;
- `image`: the pixel-intensity histogram, which inverted or re-scaled digits
  move far.

Not L-infinity for the label: TFDV computes it from categorical (top-k)
statistics only, and StatisticsGen sees an int label as numeric, for which
TFDV reports an L-infinity distance of 0.0 whatever the data (measured with
TFDV 1.16; docs/data-checks.md).
"""
from tensorflow_metadata.proto.v0 import path_pb2, schema_pb2
from tfx.proto import distribution_validator_pb2

from trainer_module import features


def config(max_label_divergence: float, max_pixel_divergence: float):
    return distribution_validator_pb2.DistributionValidatorConfig(
        default_slice_config=distribution_validator_pb2.DistributionValidatorConfig.DatasetConfig(
            feature=[
                distribution_validator_pb2.FeatureComparator(
                    path=path_pb2.Path(step=[features.LABEL_KEY]),
                    distribution_comparator=schema_pb2.FeatureComparator(
                        jensen_shannon_divergence=schema_pb2.JensenShannonDivergence(
                            threshold=max_label_divergence
                        )
                    ),
                ),
                distribution_validator_pb2.FeatureComparator(
                    path=path_pb2.Path(step=[features.IMAGE_KEY]),
                    distribution_comparator=schema_pb2.FeatureComparator(
                        jensen_shannon_divergence=schema_pb2.JensenShannonDivergence(
                            threshold=max_pixel_divergence
                        )
                    ),
                ),
            ]
        )
    )
