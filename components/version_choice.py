"""Choosing a version in the serving directory before TFX's cache lookup.

LatestBlessedModel (baseline_model.py) and LatestBlessedStatistics
(baseline_statistics.py) read the serving directory, which changes between
runs while their inputs do not. Under the local runner a driver puts the
chosen version in the execution's properties before the cache lookup, so the
component is a cache hit exactly when it would choose the same version again.
On Kubeflow no driver runs: the compiled task has its cache off and chooses
when it runs (`chosen_version`).
"""
import os
from typing import Any, Callable, Dict, List, Optional

from tfx import types
from tfx.dsl.components.base import base_driver as dsl_driver
from tfx.dsl.components.base import base_executor
from tfx.orchestration.portable import base_driver, data_types
from tfx.proto.orchestration import driver_output_pb2
from tfx.types import artifact_utils, component_spec

from foundation.names import BASELINE_VERSION_PROPERTY

SERVING_DIR_KEY = "serving_dir"
# Set by the local driver: the chosen version, "" for none. Absent on Kubeflow.
CHOSEN_VERSION_KEY = "chosen_version"
# Both components' execution parameters.
PARAMETERS = {
    SERVING_DIR_KEY: component_spec.ExecutionParameter(type=str),
    CHOSEN_VERSION_KEY: component_spec.ExecutionParameter(type=str, optional=True),
}


# What a component chooses with: (serving directory, its one input artifact)
# -> a version, or None.
Choose = Callable[[str, types.Artifact], Optional[str]]


class ChoosingDriver(dsl_driver.BaseDriver, base_driver.BaseDriver):
    """Both bases, as TFX's ExampleGen driver has: the DSL checks the first,
    the local launcher calls `run` of the second. A component's driver names
    its input and its rule."""

    input_key: str
    choose: Choose

    def run(self, execution_info: data_types.ExecutionInfo) -> driver_output_pb2.DriverOutput:
        [current] = execution_info.input_dict[self.input_key]
        version = type(self).choose(execution_info.exec_properties[SERVING_DIR_KEY], current)
        output = driver_output_pb2.DriverOutput()
        output.exec_properties[CHOSEN_VERSION_KEY].string_value = version or ""
        return output


def chosen_version(exec_properties: Dict[str, Any], choose_now: Callable[[str], Optional[str]]) -> str:
    """The driver's choice, or (no driver ran: Kubeflow) `choose_now(serving_dir)`; "" for none."""
    version = exec_properties.get(CHOSEN_VERSION_KEY)
    if version is None:
        version = choose_now(exec_properties[SERVING_DIR_KEY]) or ""
    return version


class ChoosingExecutor(base_executor.BaseExecutor):
    """Fills the one output artifact from the chosen version (or marks it empty:
    no baseline yet), and records the version on it. A component's executor
    names its input, its output, its rule, what it copies and what it is."""

    input_key: str
    output_key: str
    choose: Choose
    what: str  # for the line it prints, e.g. "baseline"

    def fill(self, output: types.Artifact, version_dir: Optional[str]) -> None:
        raise NotImplementedError

    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        current = artifact_utils.get_single_instance(input_dict[self.input_key])
        output = artifact_utils.get_single_instance(output_dict[self.output_key])
        version = chosen_version(exec_properties, lambda directory: type(self).choose(directory, current))
        version_dir = os.path.join(exec_properties[SERVING_DIR_KEY], version) if version else None
        self.fill(output, version_dir)
        output.set_string_custom_property(BASELINE_VERSION_PROPERTY, version)
        print(f"{self.what}: {version_dir or 'none yet'}", flush=True)
