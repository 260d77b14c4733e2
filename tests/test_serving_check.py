"""The ServingCheck refuses what a model server would, and the Pusher then
pushes nothing: TFX's own Pusher executor and the project's VersionedPusher.

Each case drives the component's executor directly on a SavedModel made
here (untrained: what is checked is loading and the signatures, not the
weights) and a few hundred real or drawn eval digits; each runs the probe
once, in a fresh interpreter.
"""
import json
import os

import pytest
import tensorflow as tf
from tfx.components.pusher import executor as tfx_pusher
from tfx.proto import pusher_pb2
from tfx.types import artifact_utils, standard_artifacts
from tfx.utils import proto_utils

from components import versioned_pusher
from components.mnist_example_gen import encoding
from components.serving_check import check, executor
from foundation import names
from trainer_module import features, input_pipeline
from trainer_module.export import export_serving_model
from trainer_module.features import SERVING_EXAMPLES, SERVING_IMAGES
from trainer_module.model import build_model

NUM_EXAMPLES = 64
# Generous: these tests check what is refused, never how fast this machine is.
BOUNDS = {executor.P99_MS_BATCH_1_KEY: 10_000.0, executor.P99_MS_BATCH_32_KEY: 10_000.0,
          executor.NUM_EXAMPLES_KEY: NUM_EXAMPLES}


@pytest.fixture(scope="module")
def examples(tmp_path_factory, mnist_source):
    """An Examples artifact whose eval split holds the first real eval digits."""
    split = mnist_source.load("eval")
    images, labels = split.images, split.labels
    artifact = standard_artifacts.Examples()
    artifact.uri = str(tmp_path_factory.mktemp("examples"))
    artifact.split_names = artifact_utils.encode_split_names(["eval"])
    split_dir = os.path.join(artifact.uri, "Split-eval")
    os.makedirs(split_dir)
    with tf.io.TFRecordWriter(os.path.join(split_dir, "data.gz"), options="GZIP") as writer:
        for record in encoding.encode_all(images[:NUM_EXAMPLES * 2], labels[:NUM_EXAMPLES * 2]):
            writer.write(record)
    return artifact


def _model_artifact(export_dir) -> standard_artifacts.Model:
    model = standard_artifacts.Model()
    model.uri = str(export_dir)
    return model


def _export_good(directory):
    export_serving_model(build_model(), os.path.join(directory, "Format-Serving"))


def _export_corrupt(directory):
    _export_good(directory)
    path = os.path.join(directory, "Format-Serving", "saved_model.pb")
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)


class _Disagreeing(tf.Module):
    """The two signatures of one model, the image one shifted by a digit."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(self, serialized):
        return {features.PREDICTIONS_KEY: self.model(input_pipeline.parse_images(serialized), training=False)}

    @tf.function(input_signature=[tf.TensorSpec((None,) + features.IMAGE_SHAPE, tf.float32, name="images")])
    def serve_images(self, images):
        return {features.PREDICTIONS_KEY: tf.roll(self.model(images, training=False), shift=1, axis=1)}


def _export_disagreeing(directory):
    module = _Disagreeing(build_model())
    tf.saved_model.save(module, os.path.join(directory, "Format-Serving"), signatures={
        SERVING_EXAMPLES: module.serve_examples, SERVING_IMAGES: module.serve_images})


def _project_only_rescale(probabilities):
    return probabilities  # a Python function: it exists in this process only


class _NeedsProjectCode(tf.Module):
    """Answers through tf.py_function: fine where it was saved, not in a server."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def _predict(self, images):
        probabilities = self.model(images, training=False)
        out = tf.py_function(_project_only_rescale, [probabilities], tf.float32)
        return {features.PREDICTIONS_KEY: tf.ensure_shape(out, [None, features.NUM_CLASSES])}

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(self, serialized):
        return self._predict(input_pipeline.parse_images(serialized))

    @tf.function(input_signature=[tf.TensorSpec((None,) + features.IMAGE_SHAPE, tf.float32, name="images")])
    def serve_images(self, images):
        return self._predict(images)


def _export_needs_project_code(directory):
    module = _NeedsProjectCode(build_model())
    tf.saved_model.save(module, os.path.join(directory, "Format-Serving"), signatures={
        SERVING_EXAMPLES: module.serve_examples, SERVING_IMAGES: module.serve_images})


def _serving_check(model, examples, tmp_path) -> standard_artifacts.InfraBlessing:
    blessing = standard_artifacts.InfraBlessing()
    blessing.uri = str(tmp_path / "infra_blessing")
    os.makedirs(blessing.uri)
    executor.Executor().Do(
        {names.MODEL_KEY: [model], names.EXAMPLES_KEY: [examples]},
        {names.INFRA_BLESSING_KEY: [blessing]}, dict(BOUNDS))
    return blessing


def _push(pusher_executor, model, infra_blessing, tmp_path):
    """Runs a Pusher executor with a blessed ModelBlessing: only the
    InfraBlessing can stop it. (pushed?, the serving directory's entries)."""
    model_blessing = standard_artifacts.ModelBlessing()
    model_blessing.uri = str(tmp_path / "model_blessing")
    model_blessing.set_int_custom_property("blessed", 1)
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / f"pushed_{pusher_executor.__module__}")
    serving_dir = tmp_path / f"serving_{pusher_executor.__module__}"
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=str(serving_dir)))
    pusher_executor().Do(
        {"model": [model], "model_blessing": [model_blessing], "infra_blessing": [infra_blessing]},
        {"pushed_model": [pushed]},
        {"push_destination": proto_utils.proto_to_json(destination), "custom_config": "null"})
    return pushed.get_int_custom_property("pushed") == 1, sorted(os.listdir(serving_dir)) if serving_dir.exists() else []


PUSHERS = (tfx_pusher.Executor, versioned_pusher.Executor)


def test_a_servable_model_is_blessed_measured_and_pushed(examples, tmp_path):
    _export_good(tmp_path / "model")
    model = _model_artifact(tmp_path / "model")
    blessing = _serving_check(model, examples, tmp_path)

    assert os.path.exists(os.path.join(blessing.uri, "INFRA_BLESSED"))
    assert blessing.get_int_custom_property("blessed") == 1
    result = json.loads(open(os.path.join(blessing.uri, names.SERVING_CHECK_RESULT_FILE)).read())
    assert result["blessed"] and result["examples_checked"] == NUM_EXAMPLES
    for name in (SERVING_EXAMPLES, SERVING_IMAGES):
        assert result["agreement"][name]["disagreeing_digits"] == 0
        assert result["agreement"][name]["max_abs_difference"] <= check.ATOL
        for size in ("1", "32"):
            figures = result["latency"][name][size]
            assert 0 < figures["p50_ms"] <= figures["p99_ms"] and figures["calls"] == check.REPEATS[int(size)]
    latency = json.loads(blessing.get_string_custom_property(names.SERVING_LATENCY_PROPERTY))
    assert set(latency) == {"1", "32"}
    # The same measurements against a bound no model meets: refused, named.
    assert check.latency_reasons(result["latency"], {32: 1e-6}) == [
        f"{name} p99 latency at batch 32: {result['latency'][name]['32']['p99_ms']:.1f} ms, bound 1e-06 ms"
        for name in sorted(result["latency"])]
    for pusher in PUSHERS:
        pushed, versions = _push(pusher, model, blessing, tmp_path)
        assert pushed and len(versions) == 1, pusher


@pytest.mark.parametrize("export, says", [
    (_export_corrupt, "the model does not serve in a fresh process: "),
    (_export_needs_project_code, "the model does not serve in a fresh process: "),
    (_export_disagreeing, f"{SERVING_IMAGES} in the serving process disagrees with the Evaluator's {SERVING_EXAMPLES}"),
], ids=["corrupt saved_model.pb", "needs the pipeline's Python", "signatures disagree"])
def test_an_unservable_model_is_not_blessed_and_not_pushed(examples, tmp_path, export, says):
    export(tmp_path / "model")
    model = _model_artifact(tmp_path / "model")
    blessing = _serving_check(model, examples, tmp_path)

    assert os.path.exists(os.path.join(blessing.uri, "INFRA_NOT_BLESSED"))
    assert not os.path.exists(os.path.join(blessing.uri, "INFRA_BLESSED"))
    assert blessing.get_int_custom_property("blessed") == 0
    assert blessing.get_string_custom_property(names.SERVING_REASON_PROPERTY).startswith(says)
    for pusher in PUSHERS:
        assert _push(pusher, model, blessing, tmp_path) == (False, []), pusher


def test_a_probe_started_early_is_taken_over_and_an_unclaimed_one_is_stopped(examples, tmp_path):
    from components.serving_check import early

    _export_good(tmp_path / "model")
    model = _model_artifact(tmp_path / "model")
    path = os.path.join(str(tmp_path / "model"), "Format-Serving")
    early.start(path)
    assert early.take(path) is None  # outside a run that opted in, nothing starts
    with early.enabled():
        early.start(path)
        started = early._started[path]
        blessing = _serving_check(model, examples, tmp_path)  # takes it over
        assert early.take(path) is None
        assert started.process.returncode == 0 and not os.path.exists(started.request_dir)
        early.start(str(tmp_path / "model"))  # never claimed
        unclaimed = early._started[str(tmp_path / "model")]
    assert unclaimed.process.poll() is not None and not os.path.exists(unclaimed.request_dir)
    result = json.loads(open(os.path.join(blessing.uri, names.SERVING_CHECK_RESULT_FILE)).read())
    assert result["blessed"] and result["examples_checked"] == NUM_EXAMPLES
