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
itself as its own baseline, on every orchestrator alike.
"""
import hashlib
import json
import os
import time
from typing import Any, Dict, List, Optional

from tfx import types
from tfx.components.pusher import executor as tfx_pusher
from tfx.components.pusher.component import Pusher
from tfx.dsl.components.base import executor_spec
from tfx.dsl.io import fileio
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_component_specs
from tfx.utils import io_utils, proto_utils

STAGING_PREFIX = ".staging-"
PROVENANCE_FILE = os.path.join("assets.extra", "mnist_tfx_push.json")


def tree_fingerprint(directory: str) -> str:
    """SHA-256 over every file's relative path and content, the provenance
    record left out (it is about the push, not the model)."""
    digest = hashlib.sha256()
    for root, _, files in sorted(fileio.walk(directory)):
        for name in sorted(files):
            path = os.path.join(root, name)
            if os.path.relpath(path, directory) == PROVENANCE_FILE:
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
    directory's lock (components/dir_lock.py) guarantees it for local runs.
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
        version = self._same_as_latest(base, model_path) or self._push(base, model_path, model.uri)
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
    def _push(base: str, model_path: str, model_uri: str) -> str:
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
        fileio.rename(staging, os.path.join(base, version))
        return version


class VersionedPusher(Pusher):
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(Executor)
