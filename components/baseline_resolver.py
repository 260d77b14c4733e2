"""The Evaluator's baseline: the latest blessed model, never the candidate itself.

TFX's LatestBlessedModelStrategy can return the very model being evaluated:
when nothing changed since a blessed run, the Trainer is served from the cache
and its model is also the latest blessed one. The Evaluator then sees a new
input (a baseline where there was none) and runs TFMA again, on two copies of
one model, to learn that it did not regress against itself. Leaving the
candidate out keeps the Evaluator's inputs what they were, so ML Metadata's
cache answers instead.

Kubeflow Pipelines (KubeflowV2DagRunner) compiles only TFX's own strategies,
so that runner gets the stock one (`exclude_candidate=False`).
"""
from typing import Dict, List, Optional

import ml_metadata as mlmd
from tfx import types
from tfx.dsl.components.common.resolver import Resolver, ResolverStrategy
from tfx.dsl.input_resolution.strategies.latest_blessed_model_strategy import (
    LatestBlessedModelStrategy,
)
from tfx.types import channel, standard_artifacts

RESOLVER_ID = "latest_blessed_model_resolver"
_CANDIDATE = "candidate"


class LatestBlessedModelOtherThanCandidateStrategy(ResolverStrategy):
    """LatestBlessedModelStrategy over every model except `candidate`'s."""

    def resolve_artifacts(
        self, store: mlmd.MetadataStore, input_dict: Dict[str, List[types.Artifact]]
    ) -> Optional[Dict[str, List[types.Artifact]]]:
        inputs = dict(input_dict)
        excluded = {model.id for model in inputs.pop(_CANDIDATE)}
        inputs["model"] = [m for m in inputs["model"] if m.id not in excluded]
        resolved = LatestBlessedModelStrategy().resolve_artifacts(store, inputs)
        return dict(resolved, **{_CANDIDATE: input_dict[_CANDIDATE]})


def baseline_resolver(candidate: types.BaseChannel, exclude_candidate: bool = True):
    """A Resolver whose outputs["model"] is the baseline for `candidate`."""
    channels = dict(
        model=channel.Channel(type=standard_artifacts.Model),
        model_blessing=channel.Channel(type=standard_artifacts.ModelBlessing),
    )
    if exclude_candidate:
        strategy = LatestBlessedModelOtherThanCandidateStrategy
        channels[_CANDIDATE] = candidate
    else:
        strategy = LatestBlessedModelStrategy
    return Resolver(strategy_class=strategy, **channels).with_id(RESOLVER_ID)
