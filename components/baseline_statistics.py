"""The drift check's baseline: the training statistics of the latest blessed model.

The newest version in the serving directory is the latest blessed model
(components/versioned_pusher.py pushes nothing else), and each version
carries its training split's statistics, recorded at push time
(`versioned_pusher.TRAIN_STATISTICS_FILE`), so the baseline needs neither ML
Metadata nor the pipeline root that produced it: it is found the same way on
every orchestrator, from the one place every runner writes to.

A container component, not TFX's Resolver, for the reason given in
components/baseline_model.py (KFP 2.x refuses resolver executors). It always
outputs one ExampleStatistics artifact; with no baseline yet (the first run,
or a version pushed before statistics were recorded) that artifact holds no
split, and this module's `DistributionValidator` reads it as no baseline, as
TFX's reads a missing one: the comparison passes.

Caching, as for LatestBlessedModel (components/version_choice.py): locally a driver puts the chosen version
in the execution's properties before TFX's cache lookup; on Kubeflow the task
chooses when it runs (its cache is off).
"""
import os
from typing import Optional

from tfx import types
from tfx.components.distribution_validator import component as dv_component
from tfx.components.distribution_validator import executor as dv_executor
from tfx.dsl.components.base import base_component, executor_spec
from tfx.dsl.io import fileio
from tfx.proto import distribution_validator_pb2
from tfx.types import artifact_utils, channel, component_spec, standard_artifacts, standard_component_specs
from tfx.utils import io_utils, proto_utils

from components import version_choice, versioned_pusher
from foundation.names import BASELINE_STATISTICS_KEY, STATISTICS_KEY, TRAIN_SPLIT

SERVING_DIR_KEY = version_choice.SERVING_DIR_KEY
STATISTICS_FILE = "FeatureStats.pb"  # TFX's name, in Split-<name>/


def choose(serving_dir: str, current: Optional[types.Artifact] = None) -> Optional[str]:
    """The newest version under `serving_dir`, if it recorded its statistics
    and they are not `current`'s (this run's StatisticsGen output).

    A version trained on this very data (a re-run, its model pushed by the
    first) has nothing to drift from: choosing none then keeps the choice,
    and so TFX's cache, what it was in the first run.
    """
    found = versioned_pusher.versions(serving_dir)
    if not found:
        return None
    recorded = os.path.join(serving_dir, found[-1], versioned_pusher.TRAIN_STATISTICS_FILE)
    if not fileio.exists(recorded):
        return None
    if current is not None:
        own = os.path.join(artifact_utils.get_split_uri([current], TRAIN_SPLIT), STATISTICS_FILE)
        if fileio.exists(own) and io_utils.read_bytes_file(own) == io_utils.read_bytes_file(recorded):
            return None
    return found[-1]


def has_statistics(statistics: types.Artifact) -> bool:
    """False for the artifact that stands for "no baseline yet"."""
    return bool(artifact_utils.decode_split_names(statistics.split_names))


class Driver(version_choice.ChoosingDriver):
    input_key = STATISTICS_KEY
    choose = staticmethod(choose)


class Executor(version_choice.ChoosingExecutor):
    input_key, output_key, what = STATISTICS_KEY, BASELINE_STATISTICS_KEY, "baseline training statistics"
    choose = staticmethod(choose)

    def fill(self, output: types.Artifact, version_dir: Optional[str]) -> None:
        output.split_names = artifact_utils.encode_split_names([TRAIN_SPLIT] if version_dir else [])
        if version_dir:
            io_utils.copy_file(
                os.path.join(version_dir, versioned_pusher.TRAIN_STATISTICS_FILE),
                os.path.join(artifact_utils.get_split_uri([output], TRAIN_SPLIT), STATISTICS_FILE),
            )


class LatestBlessedStatisticsSpec(component_spec.ComponentSpec):
    PARAMETERS = version_choice.PARAMETERS
    INPUTS = {STATISTICS_KEY: component_spec.ChannelParameter(type=standard_artifacts.ExampleStatistics)}
    OUTPUTS = {BASELINE_STATISTICS_KEY: component_spec.ChannelParameter(type=standard_artifacts.ExampleStatistics)}


class LatestBlessedStatistics(base_component.BaseComponent):
    SPEC_CLASS = LatestBlessedStatisticsSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
    DRIVER_CLASS = Driver

    def __init__(self, statistics: types.BaseChannel, serving_dir: str):
        """The training statistics of the newest version in `serving_dir` (the
        Pusher's), unless they are `statistics` (this run's) themselves."""
        super().__init__(
            spec=LatestBlessedStatisticsSpec(
                statistics=statistics,
                serving_dir=serving_dir,
                baseline_statistics=channel.Channel(type=standard_artifacts.ExampleStatistics),
            )
        )


class DistributionValidatorExecutor(dv_executor.Executor):
    """TFX's DistributionValidator executor, reading an empty baseline as none,
    and taking its config as JSON too.

    The config: the local runner passes the proto, but a Kubeflow task gets
    every proto execution property as JSON text, and TFX 1.16's executor
    uses the value as it comes (distribution_validator/executor.py:176-210,
    `_get_distribution_validator_config`), so on Kubeflow it failed with
    "'str' object has no attribute 'default_slice_config'". TFX's other
    executors parse such properties with proto_utils.json_to_proto.
    """

    def Do(self, input_dict, output_dict, exec_properties):
        key = standard_component_specs.BASELINE_STATISTICS_KEY
        if input_dict.get(key) and not has_statistics(input_dict[key][0]):
            input_dict = {**input_dict, key: []}
        config_key = standard_component_specs.DISTRIBUTION_VALIDATOR_CONFIG_KEY
        if isinstance(exec_properties.get(config_key), str):
            exec_properties = {
                **exec_properties,
                config_key: proto_utils.json_to_proto(
                    exec_properties[config_key], distribution_validator_pb2.DistributionValidatorConfig()
                ),
            }
        return super().Do(input_dict, output_dict, exec_properties)


class DistributionValidator(dv_component.DistributionValidator):
    """TFX's DistributionValidator (same spec and outputs) with the executor above."""

    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(DistributionValidatorExecutor)
