"""Choosing a version in the serving directory before TFX's cache lookup.

LatestBlessedModel (baseline_model.py) and LatestBlessedStatistics
(baseline_statistics.py) read the serving directory, which changes between
runs while their inputs do not. Under the local runner a driver puts the
chosen version in the execution's properties before the cache lookup, so the
component is a cache hit exactly when it would choose the same version again.
On Kubeflow no driver runs: the compiled task has its cache off and chooses
when it runs (`chosen_version`).
"""
from typing import Any, Callable, Dict, List, Optional

from tfx import types
from tfx.dsl.components.base import base_driver as dsl_driver
from tfx.orchestration.portable import base_driver, data_types
from tfx.proto.orchestration import driver_output_pb2
from tfx.types import component_spec

SERVING_DIR_KEY = "serving_dir"
# Set by the local driver: the chosen version, "" for none. Absent on Kubeflow.
CHOSEN_VERSION_KEY = "chosen_version"
# Both components' execution parameters.
PARAMETERS = {
    SERVING_DIR_KEY: component_spec.ExecutionParameter(type=str),
    CHOSEN_VERSION_KEY: component_spec.ExecutionParameter(type=str, optional=True),
}


class ChoosingDriver(dsl_driver.BaseDriver, base_driver.BaseDriver):
    """Both bases, as TFX's ExampleGen driver has: the DSL checks the first,
    the local launcher calls `run` of the second."""

    def choose(self, serving_dir: str, input_dict: Dict[str, List[types.Artifact]]) -> Optional[str]:
        raise NotImplementedError

    def run(self, execution_info: data_types.ExecutionInfo) -> driver_output_pb2.DriverOutput:
        version = self.choose(execution_info.exec_properties[SERVING_DIR_KEY], execution_info.input_dict)
        output = driver_output_pb2.DriverOutput()
        output.exec_properties[CHOSEN_VERSION_KEY].string_value = version or ""
        return output


def chosen_version(exec_properties: Dict[str, Any], choose_now: Callable[[str], Optional[str]]) -> str:
    """The driver's choice, or (no driver ran: Kubeflow) `choose_now(serving_dir)`; "" for none."""
    version = exec_properties.get(CHOSEN_VERSION_KEY)
    if version is None:
        version = choose_now(exec_properties[SERVING_DIR_KEY]) or ""
    return version
