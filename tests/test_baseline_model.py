"""The baseline rule (components/baseline_model.py), without a pipeline run."""
import json
import os

from tfx.types import standard_artifacts

from components import baseline_model, versioned_pusher


def _model(tmp_path, name: str, content: bytes) -> standard_artifacts.Model:
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / "models" / name)
    serving = tmp_path / "models" / name / "Format-Serving"
    serving.mkdir(parents=True)
    (serving / "saved_model.pb").write_bytes(content)
    return model


def _push(serving_dir, version: str, model, record=True):
    directory = serving_dir / version
    directory.mkdir(parents=True)
    (directory / "saved_model.pb").write_bytes(
        open(os.path.join(model.uri, "Format-Serving", "saved_model.pb"), "rb").read()
    )
    if record:
        (directory / "assets.extra").mkdir()
        (directory / versioned_pusher.PROVENANCE_FILE).write_text(json.dumps({"model_uri": model.uri}))


def test_the_newest_version_not_pushed_from_the_candidate_is_the_baseline(tmp_path):
    serving = tmp_path / "serving"
    a, b, c = (_model(tmp_path, n, n.encode()) for n in "abc")
    assert baseline_model.choose(str(serving), a) is None  # nothing pushed yet
    _push(serving, "100", a)
    assert baseline_model.choose(str(serving), a) is None  # only itself
    assert baseline_model.choose(str(serving), b) == "100"
    _push(serving, "200", b)
    assert baseline_model.choose(str(serving), a) == "200"
    assert baseline_model.choose(str(serving), b) == "100"
    assert baseline_model.choose(str(serving), c) == "200"
    (serving / ".staging-300").mkdir()  # a push in progress is no version
    assert baseline_model.choose(str(serving), c) == "200"


def test_a_retrained_identical_model_still_has_the_pushed_one_as_baseline(tmp_path):
    """The rule is about artifacts, as TFX's resolver was: a model retrained
    bit for bit (a new Kubeflow run) is compared with the pushed copy."""
    serving = tmp_path / "serving"
    first, retrained = _model(tmp_path, "first", b"same"), _model(tmp_path, "second", b"same")
    _push(serving, "100", first)
    assert baseline_model.choose(str(serving), retrained) == "100"


def test_versions_pushed_before_the_record_existed_are_compared_by_content(tmp_path):
    serving = tmp_path / "serving"
    a, b = _model(tmp_path, "a", b"a"), _model(tmp_path, "b", b"b")
    _push(serving, "100", a, record=False)
    assert baseline_model.choose(str(serving), a) is None
    assert baseline_model.choose(str(serving), b) == "100"


def test_the_provenance_record_is_not_part_of_the_models_fingerprint(tmp_path):
    serving = tmp_path / "serving"
    a = _model(tmp_path, "a", b"a")
    _push(serving, "100", a)
    assert versioned_pusher.tree_fingerprint(str(serving / "100")) == versioned_pusher.tree_fingerprint(
        os.path.join(a.uri, "Format-Serving")
    )
    assert versioned_pusher.pushed_from(str(serving / "100")) == a.uri


def test_an_empty_baseline_artifact_means_no_baseline(tmp_path):
    assert baseline_model.has_model(_model(tmp_path, "a", b"a"))
    empty = standard_artifacts.Model()
    empty.uri = str(tmp_path / "no_baseline")
    assert not baseline_model.has_model(empty)
