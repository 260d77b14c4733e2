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
from typing import Any, Dict, List, Optional

from tfx import types
from tfx.components.distribution_validator import component as dv_component
from tfx.components.distribution_validator import executor as dv_executor
from tfx.dsl.components.base import base_component
from tfx.dsl.components.base import base_executor, executor_spec
from tfx.dsl.io import fileio
from tfx.types import artifact_utils, channel, component_spec, standard_artifacts
from tfx.types import standard_component_specs
from tfx.proto import distribution_validator_pb2
from tfx.utils import io_utils, proto_utils

from components import version_choice, versioned_pusher

TRAIN_SPLIT = "train"
SERVING_DIR_KEY = version_choice.SERVING_DIR_KEY
OUTPUT_KEY = "baseline_statistics"
CURRENT_KEY = "statistics"  # this run's StatisticsGen output
# On the output artifact: the version whose statistics it holds, "" for none.
VERSION_PROPERTY = "baseline_version"
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
    def choose(self, serving_dir, input_dict):
        [current] = input_dict[CURRENT_KEY]
        return choose(serving_dir, current)


class Executor(base_executor.BaseExecutor):
    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        serving_dir = exec_properties[SERVING_DIR_KEY]
        statistics = artifact_utils.get_single_instance(output_dict[OUTPUT_KEY])
        version = version_choice.chosen_version(exec_properties, lambda directory: choose(
            directory, artifact_utils.get_single_instance(input_dict[CURRENT_KEY])))
        statistics.split_names = artifact_utils.encode_split_names([TRAIN_SPLIT] if version else [])
        if version:
            io_utils.copy_file(
                os.path.join(serving_dir, version, versioned_pusher.TRAIN_STATISTICS_FILE),
                os.path.join(artifact_utils.get_split_uri([statistics], TRAIN_SPLIT), STATISTICS_FILE),
            )
        statistics.set_string_custom_property(VERSION_PROPERTY, version)
        where = os.path.join(serving_dir, version) if version else "none yet"
        print(f"baseline training statistics: {where}", flush=True)


class LatestBlessedStatisticsSpec(component_spec.ComponentSpec):
    PARAMETERS = version_choice.PARAMETERS
    INPUTS = {CURRENT_KEY: component_spec.ChannelParameter(type=standard_artifacts.ExampleStatistics)}
    OUTPUTS = {OUTPUT_KEY: component_spec.ChannelParameter(type=standard_artifacts.ExampleStatistics)}


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
