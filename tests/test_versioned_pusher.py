"""The Pusher's executor, run directly on real artifacts in a temporary directory."""
import os

from tfx.proto import pusher_pb2
from tfx.types import standard_artifacts
from tfx.utils import path_utils, proto_utils

from components.versioned_pusher import STAGING_PREFIX, Executor, versions


def _model(tmp_path, name, content):
    model = standard_artifacts.Model()
    model.uri = str(tmp_path / name)
    serving = path_utils.serving_model_path(model.uri)
    os.makedirs(os.path.join(serving, "variables"))
    with open(os.path.join(serving, "saved_model.pb"), "wb") as f:
        f.write(content)
    with open(os.path.join(serving, "variables", "variables.index"), "wb") as f:
        f.write(b"index")
    return model


def _push(tmp_path, model, blessed=True):
    blessing = standard_artifacts.ModelBlessing()
    blessing.uri = str(tmp_path / f"blessing-{model.uri[-1]}")
    blessing.set_int_custom_property("blessed", int(blessed))
    pushed = standard_artifacts.PushedModel()
    pushed.uri = str(tmp_path / "pushed" / str(len(os.listdir(tmp_path))))
    destination = pusher_pb2.PushDestination(
        filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=str(tmp_path / "serving"))
    )
    Executor().Do(
        {"model": [model], "model_blessing": [blessing]},
        {"pushed_model": [pushed]},
        {"push_destination": proto_utils.proto_to_json(destination)},
    )
    return pushed


def test_the_same_model_is_not_pushed_twice(tmp_path):
    model = _model(tmp_path, "m1", b"graph one")
    first = _push(tmp_path, model)
    second = _push(tmp_path, model)
    serving = tmp_path / "serving"
    assert versions(str(serving)) == [first.get_string_custom_property("pushed_version")]
    assert second.get_string_custom_property("pushed_destination") == first.get_string_custom_property("pushed_destination")
    assert second.get_int_custom_property("pushed") == 1


def test_a_new_model_gets_a_higher_version_and_no_staging_is_left(tmp_path):
    first = _push(tmp_path, _model(tmp_path, "m1", b"graph one"))
    second = _push(tmp_path, _model(tmp_path, "m2", b"graph two"))
    serving = tmp_path / "serving"
    v1, v2 = (p.get_string_custom_property("pushed_version") for p in (first, second))
    assert int(v2) > int(v1)
    assert versions(str(serving)) == [v1, v2]
    assert not [n for n in os.listdir(serving) if n.startswith(STAGING_PREFIX)]
    assert (serving / v2 / "saved_model.pb").read_bytes() == b"graph two"


def test_an_unblessed_model_is_not_pushed(tmp_path):
    pushed = _push(tmp_path, _model(tmp_path, "m1", b"graph"), blessed=False)
    assert pushed.get_int_custom_property("pushed") == 0
    assert not (tmp_path / "serving").exists()


def test_what_a_killed_push_left_is_never_a_version_and_the_next_push_removes_it(tmp_path):
    first = _push(tmp_path, _model(tmp_path, "m1", b"graph one"))
    serving = tmp_path / "serving"
    v1 = first.get_string_custom_property("pushed_version")
    cut_short = serving / (STAGING_PREFIX + str(int(v1) + 1))  # as a SIGKILL mid-copy leaves it
    (cut_short / "variables").mkdir(parents=True)
    (cut_short / "saved_model.pb").write_bytes(b"gra")
    assert versions(str(serving)) == [v1]

    second = _push(tmp_path, _model(tmp_path, "m2", b"graph two"))
    v2 = second.get_string_custom_property("pushed_version")
    assert sorted(os.listdir(serving)) == sorted([v1, v2])
    assert (serving / v2 / "saved_model.pb").read_bytes() == b"graph two"
