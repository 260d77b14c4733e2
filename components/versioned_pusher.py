"""A Pusher that never shows a serving directory half a model, nor the same
model twice.

TFX's own Pusher copies file by file straight into `<base>/<version>/`, with
`saved_model.pb` last, and pushes a model again under a new version whenever
it re-runs (as it does once a baseline appears). This one copies into a
hidden staging directory beside the versions and renames it into place, and,
when the newest version already holds exactly the same files, records that
version instead of copying. The artifact's properties are TFX's own
(`pushed`, `pushed_destination`, `pushed_version`), so everything that reads
them keeps working.

Each version also records which model artifact it was pushed from
(`PROVENANCE_FILE`, under `assets.extra/`, which TF Serving and the SavedModel
loader ignore). components/baseline_model.py reads it to never give a model
itself as its own baseline, on every orchestrator alike. Beside it, when the
pipeline passes `statistics`, goes the training split's statistics
(`TRAIN_STATISTICS_FILE`): the baseline of the next runs' drift check
(components/baseline_statistics.py), kept with the model it describes.
"""
import hashlib
import json
import os
import time
from typing import Any, Dict, List, Optional

from tfx import types
from tfx import types as tfx_types
from tfx.components.pusher import executor as tfx_pusher
from tfx.components.pusher.component import Pusher
from tfx.dsl.components.base import base_component, executor_spec
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, component_spec, standard_artifacts, standard_component_specs
from tfx.utils import io_utils, json_utils, proto_utils

from foundation.names import STATISTICS_KEY, TRAIN_SPLIT

STAGING_PREFIX = ".staging-"
PROVENANCE_FILE = os.path.join("assets.extra", "mnist_tfx_push.json")
TRAIN_STATISTICS_FILE = os.path.join("assets.extra", "mnist_tfx_train_statistics.pb")
# About the push, not the model: left out of the fingerprint.
_RECORDS = (PROVENANCE_FILE, TRAIN_STATISTICS_FILE)


def tree_fingerprint(directory: str) -> str:
    """SHA-256 over every file's relative path and content, the push's
    records left out (they are about the push, not the model)."""
    digest = hashlib.sha256()
    for root, _, files in sorted(fileio.walk(directory)):
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.relpath(path, directory) in _RECORDS:
                continue
            digest.update(os.path.relpath(path, directory).encode() + b"\0")
            with fileio.open(path, "rb") as f:
                digest.update(hashlib.sha256(f.read()).digest())
    return digest.hexdigest()


def versions(base_directory: str) -> List[str]:
    """The numbered versions under `base_directory`, oldest first."""
    if not fileio.exists(base_directory):
        return []
    names = [name.rstrip("/") for name in fileio.listdir(base_directory)]
    return sorted((n for n in names if n.isdigit()), key=int)


def pushed_from(version_directory: str) -> Optional[str]:
    """The URI of the model artifact a version was pushed from; None for a
    version pushed before this record existed."""
    path = os.path.join(version_directory, PROVENANCE_FILE)
    if not fileio.exists(path):
        return None
    with fileio.open(path, "r") as f:
        return json.load(f).get("model_uri")


def remove_staging(base_directory: str) -> None:
    """Deletes what pushes that were killed left half-copied.

    Safe while one push at a time writes to `base_directory`: the output
    directory's lock (foundation/dir_lock.py) guarantees it for local runs.
    """
    if not fileio.exists(base_directory):
        return
    for name in fileio.listdir(base_directory):
        if name.rstrip("/").startswith(STAGING_PREFIX):
            fileio.rmtree(os.path.join(base_directory, name.rstrip("/")))


class Executor(tfx_pusher.Executor):
    def Do(
        self,
        input_dict: Dict[str, List[types.Artifact]],
        output_dict: Dict[str, List[types.Artifact]],
        exec_properties: Dict[str, Any],
    ) -> None:
        pushed_model = artifact_utils.get_single_instance(
            output_dict[standard_component_specs.PUSHED_MODEL_KEY]
        )
        if not self.CheckBlessing(input_dict):
            self._MarkNotPushed(pushed_model)
            return
        model_path = self.GetModelPath(input_dict)
        destination = pusher_pb2.PushDestination()
        proto_utils.json_to_proto(
            exec_properties[standard_component_specs.PUSH_DESTINATION_KEY], destination
        )
        base = destination.filesystem.base_directory
        model = artifact_utils.get_single_instance(input_dict[standard_component_specs.MODEL_KEY])
        statistics = input_dict.get(STATISTICS_KEY) or []
        statistics_file = None
        if statistics:
            statistics_file = os.path.join(
                artifact_utils.get_split_uri(statistics, TRAIN_SPLIT), "FeatureStats.pb"
            )
        version = self._same_as_latest(base, model_path) or self._push(
            base, model_path, model.uri, statistics_file
        )
        # Archive the pushed model with the artifact, as TFX's Pusher does.
        io_utils.copy_dir(model_path, pushed_model.uri)
        self._MarkPushed(
            pushed_model, pushed_destination=os.path.join(base, version), pushed_version=version
        )

    @staticmethod
    def _same_as_latest(base: str, model_path: str) -> Optional[str]:
        existing = versions(base)
        if existing and tree_fingerprint(os.path.join(base, existing[-1])) == tree_fingerprint(model_path):
            return existing[-1]
        return None

    @staticmethod
    def _push(base: str, model_path: str, model_uri: str, statistics_file: Optional[str]) -> str:
        existing = versions(base)
        # TF Serving serves the highest number: never go below the newest.
        version = str(max(int(time.time()), int(existing[-1]) + 1 if existing else 0))
        remove_staging(base)
        staging = os.path.join(base, STAGING_PREFIX + version)
        io_utils.copy_dir(model_path, staging)
        # Inside the staged copy, so the rename publishes model and record at once.
        io_utils.write_string_file(
            os.path.join(staging, PROVENANCE_FILE), json.dumps({"model_uri": model_uri})
        )
        if statistics_file:
            io_utils.copy_file(statistics_file, os.path.join(staging, TRAIN_STATISTICS_FILE))
        fileio.rename(staging, os.path.join(base, version))
        return version


class VersionedPusherSpec(standard_component_specs.PusherSpec):
    INPUTS = {
        **standard_component_specs.PusherSpec.INPUTS,
        STATISTICS_KEY: component_spec.ChannelParameter(
            type=standard_artifacts.ExampleStatistics, optional=True
        ),
    }


class VersionedPusher(Pusher):
    """TFX's Pusher's inputs and outputs, plus the optional training `statistics`."""

    SPEC_CLASS = VersionedPusherSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)

    def __init__(
        self,
        model: tfx_types.BaseChannel,
        model_blessing: Optional[tfx_types.BaseChannel] = None,
        infra_blessing: Optional[tfx_types.BaseChannel] = None,
        push_destination: Optional[pusher_pb2.PushDestination] = None,
        statistics: Optional[tfx_types.BaseChannel] = None,
    ):
        base_component.BaseComponent.__init__(
            self,
            spec=VersionedPusherSpec(
                model=model,
                model_blessing=model_blessing,
                infra_blessing=infra_blessing,
                push_destination=push_destination,
                custom_config=json_utils.dumps(None),
                statistics=statistics,
                pushed_model=tfx_types.Channel(type=standard_artifacts.PushedModel),
            ),
        )
