"""ServingCheck: TFX's InfraBlessing without Docker or Kubernetes.

TFX's InfraValidator starts TF Serving in Docker or a Kubernetes pod; neither
exists where this pipeline is tested, so this component does what it checks
with TensorFlow alone in a fresh, isolated process (check.py, probe.py) and
writes the same artifact, which the stock Pusher honours.
"""
from tfx import types
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, component_spec, standard_artifacts

from components.serving_check import executor
from foundation import names


class ServingCheckSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        executor.P99_MS_BATCH_1_KEY: component_spec.ExecutionParameter(type=float),
        executor.P99_MS_BATCH_32_KEY: component_spec.ExecutionParameter(type=float),
        executor.NUM_EXAMPLES_KEY: component_spec.ExecutionParameter(type=int),
    }
    INPUTS = {
        names.MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model),
        names.EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
    }
    OUTPUTS = {
        names.INFRA_BLESSING_KEY: component_spec.ChannelParameter(type=standard_artifacts.InfraBlessing),
    }


class ServingCheck(base_component.BaseComponent):
    SPEC_CLASS = ServingCheckSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(
        self,
        *,
        model: types.BaseChannel,
        examples: types.BaseChannel,
        p99_ms_batch_1: float,
        p99_ms_batch_32: float,
        num_examples: int,
    ):
        """`model`: the Trainer's; `examples`: ExampleGen's (its eval split is served)."""
        super().__init__(
            spec=ServingCheckSpec(
                model=model,
                examples=examples,
                p99_ms_batch_1=p99_ms_batch_1,
                p99_ms_batch_32=p99_ms_batch_32,
                num_examples=num_examples,
                blessing=channel.Channel(type=standard_artifacts.InfraBlessing),
            )
        )
