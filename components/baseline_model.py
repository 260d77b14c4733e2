"""The Evaluator's baseline: the newest pushed model, never the candidate itself.

One rule for every orchestrator (local, Kubeflow Pipelines, Vertex AI): the
baseline is the newest version in the serving directory that was not pushed
from the model being evaluated. The serving directory holds blessed models
only (components/versioned_pusher.py pushes nothing else), so this is "the
latest blessed model", read from the one place every runner writes to.

Why a container component and not TFX's Resolver: a Resolver compiles to
`resolver` executors, which open-source KFP 2.x refuses at run creation
(kubeflow/pipelines, backend/src/v2/compiler/visitor.go: 2.5.0 :119-128,
2.17.0 :125-134); only
Vertex AI implements them. Running the same component on Vertex too keeps
local and cluster runs choosing the same baseline.

`LatestBlessedModel` always outputs one Model artifact; when there is no
baseline yet, that artifact holds no SavedModel (KFP records every declared
output whether written or not: launcher_v2.go's uploadOutputArtifacts), and
this module's `Evaluator` treats it as no baseline, as TFX's Evaluator treats
a missing one: the change threshold is dropped.

Caching: see components/version_choice.py. The component is served from the
cache exactly when it would choose the same baseline again, and the Evaluator
after it too.
"""
import os
from typing import Optional

from tfx import types
from tfx.components import Evaluator as TfxEvaluator
from tfx.components.evaluator import executor as tfx_evaluator
from tfx.dsl.components.base import base_component, executor_spec
from tfx.dsl.io import fileio
from tfx.types import channel, component_spec, standard_artifacts, standard_component_specs
from tfx.utils import io_utils, path_utils

from components import version_choice, versioned_pusher
from components.serving_check import early
from foundation.names import BASELINE_MODEL_KEY, MODEL_KEY

SERVING_DIR_KEY = version_choice.SERVING_DIR_KEY


def choose(serving_dir: str, candidate: types.Artifact) -> Optional[str]:
    """The newest version under `serving_dir` not pushed from `candidate`."""
    candidate_fingerprint = None
    for version in reversed(versioned_pusher.versions(serving_dir)):
        directory = os.path.join(serving_dir, version)
        source = versioned_pusher.pushed_from(directory)
        if source is None:  # pushed before the record existed: compare contents
            if candidate_fingerprint is None:
                candidate_fingerprint = versioned_pusher.tree_fingerprint(
                    path_utils.serving_model_path(candidate.uri)
                )
            if versioned_pusher.tree_fingerprint(directory) == candidate_fingerprint:
                continue
        elif source.rstrip("/") == candidate.uri.rstrip("/"):
            continue
        return version
    return None


def has_model(model: types.Artifact) -> bool:
    """False for the artifact that stands for "no baseline yet"."""
    return fileio.exists(os.path.join(path_utils.serving_model_path(model.uri), "saved_model.pb"))


class Driver(version_choice.ChoosingDriver):
    input_key = MODEL_KEY
    choose = staticmethod(choose)


class Executor(version_choice.ChoosingExecutor):
    input_key, output_key, what = MODEL_KEY, BASELINE_MODEL_KEY, "baseline"
    choose = staticmethod(choose)

    def fill(self, output: types.Artifact, version_dir: Optional[str]) -> None:
        if version_dir:
            io_utils.copy_dir(version_dir, path_utils.serving_model_path(output.uri))


class LatestBlessedModelSpec(component_spec.ComponentSpec):
    PARAMETERS = version_choice.PARAMETERS
    INPUTS = {MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model)}
    OUTPUTS = {BASELINE_MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model)}


class LatestBlessedModel(base_component.BaseComponent):
    SPEC_CLASS = LatestBlessedModelSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
    DRIVER_CLASS = Driver

    def __init__(self, model: types.BaseChannel, serving_dir: str):
        """The baseline for `model` (the Trainer's), from `serving_dir` (the Pusher's)."""
        super().__init__(
            spec=LatestBlessedModelSpec(
                model=model,
                serving_dir=serving_dir,
                baseline_model=channel.Channel(type=standard_artifacts.Model),
            )
        )


class EvaluatorExecutor(tfx_evaluator.Executor):
    """TFX's Evaluator executor, reading an empty baseline artifact as none."""

    def Do(self, input_dict, output_dict, exec_properties) -> None:
        # The ServingCheck's probe loads the candidate meanwhile (local runs).
        [candidate] = input_dict[standard_component_specs.MODEL_KEY]
        early.start(path_utils.serving_model_path(candidate.uri))
        key = standard_component_specs.BASELINE_MODEL_KEY
        if input_dict.get(key) and not has_model(input_dict[key][0]):
            input_dict = {k: v for k, v in input_dict.items() if k != key}
        super().Do(input_dict, output_dict, exec_properties)


class Evaluator(TfxEvaluator):
    """TFX's Evaluator (same node id, spec and outputs) with the executor above."""

    EXECUTOR_SPEC = executor_spec.BeamExecutorSpec(EvaluatorExecutor)
