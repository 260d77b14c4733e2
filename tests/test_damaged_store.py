"""A damaged or foreign ML Metadata store: one `error:` line naming the file,
what is wrong and what to do, from every command that reads it, and `run`
refusing it before anything starts. The served models are not touched, and
`predict`, which needs no store, still answers.

The store is a real one, made by ML Metadata with a pipeline's contexts in it,
and then damaged as a disk, a copy or another program would."""
import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from foundation import dir_lock
from tests.fixtures.data import run_cli

PIPELINE = "mnist-tfx"


def _make_store(path: Path) -> None:
    from ml_metadata import metadata_store
    from ml_metadata.proto import metadata_store_pb2

    config = metadata_store_pb2.ConnectionConfig()
    config.sqlite.filename_uri = str(path)
    store = metadata_store.MetadataStore(config)
    types = {}
    for name in ("pipeline", "pipeline_run", "node"):
        context_type = metadata_store_pb2.ContextType(name=name)
        types[name] = store.put_context_type(context_type)
    contexts = [metadata_store_pb2.Context(type_id=types["pipeline"], name=PIPELINE)]
    contexts += [metadata_store_pb2.Context(type_id=types["pipeline_run"], name=f"2026-01-0{i}T00:00:00")
                 for i in range(1, 4)]
    pipeline_id, *run_ids = store.put_contexts(contexts)
    store.put_parent_contexts([metadata_store_pb2.ParentContext(child_id=r, parent_id=pipeline_id) for r in run_ids])


def _tree_digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(directory)).encode() + path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def good_store(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("store") / "metadata.sqlite"
    _make_store(path)
    return path


@pytest.fixture(scope="module")
def serving_model(tmp_path_factory) -> Path:
    """A pushed version, exported as the Trainer does (untrained: predict
    needs a model, not a good one)."""
    from trainer_module.export import export_serving_model
    from trainer_module.model import build_model

    models = tmp_path_factory.mktemp("models") / "serving_model"
    export_serving_model(build_model(), str(models / PIPELINE / "1"))
    return models


def _truncated(store, good):
    shutil.copy(good, store)
    os.truncate(store, os.path.getsize(good) // 3)


def _overwritten(store, good):
    shutil.copy(good, store)
    with open(store, "r+b") as f:
        f.seek(3 * 4096)
        f.write(b"\xa5" * 4 * 4096)


def _foreign(store, good):
    with sqlite3.connect(store) as connection:
        connection.execute("CREATE TABLE notes (text)")


DAMAGE = {
    "truncated": (_truncated, "is damaged (database disk image is malformed): move it aside"),
    "overwritten": (_overwritten, "is damaged (database disk image is malformed): move it aside"),
    "not sqlite": (lambda store, good: store.write_text("notes\n" * 100),
                   "is not an SQLite database, so not an ML Metadata store: move it aside"),
    "foreign sqlite": (_foreign, "is an SQLite database but not ML Metadata's (no MLMDEnv table; another program's?)"),
    "empty": (lambda store, good: store.write_bytes(b""), "is an empty file, not an ML Metadata store"),
    "directory": (lambda store, good: store.mkdir(), "is a directory, where the ML Metadata store (an SQLite file) belongs"),
}


def _output_dir(tmp_path, good_store, damage):
    out = tmp_path / "out"
    out.mkdir()
    damage(out / "metadata.sqlite", good_store)
    return out


def _one_error_line(result) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    [line] = result.stderr.splitlines()
    assert line.startswith("error: "), line
    return line


def test_the_undamaged_store_is_read(good_store, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    shutil.copy(good_store, out / "metadata.sqlite")
    result = run_cli("runs", "list", "--output-dir", out, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("2026-01-0") == 3


@pytest.mark.parametrize("kind", DAMAGE)
def test_runs_list_names_the_file_what_is_wrong_and_what_to_do(kind, good_store, tmp_path):
    damage, says = DAMAGE[kind]
    out = _output_dir(tmp_path, good_store, damage)
    result = run_cli("runs", "list", "--output-dir", out, timeout=120)
    assert result.returncode == 1
    line = _one_error_line(result)
    assert line.startswith(f"error: {out / 'metadata.sqlite'} {says}"), line
    assert ("rename or remove it" if kind == "directory" else f"mv {out / 'metadata.sqlite'} ") in line


def test_every_command_refuses_an_overwritten_store_and_the_served_models_stay(good_store, serving_model, tmp_path):
    out = _output_dir(tmp_path, good_store, DAMAGE["overwritten"][0])
    shutil.copytree(serving_model, out / "serving_model")
    before = _tree_digest(out / "serving_model")
    store = out / "metadata.sqlite"
    for command, status in ((["runs", "show", "latest"], 1), (["report"], 2), (["lineage", "1"], 1),
                            (["run", "--mnist-dir", tmp_path / "nowhere"], 1)):
        result = run_cli(*command, "--output-dir", out, timeout=300)
        assert result.returncode == status, (command, result.stderr)
        assert _one_error_line(result).startswith(f"error: {store} is damaged"), command
        assert result.stdout == "", command  # `run` stopped before anything started
    # Nothing written but the run's lock (kept between runs: foundation/dir_lock.py).
    assert sorted(p.name for p in out.iterdir()) == sorted([dir_lock.LOCK_FILE, "metadata.sqlite", "serving_model"])

    from PIL import Image

    Image.new("L", (28, 28), 0).save(tmp_path / "blank.png")
    result = run_cli("predict", tmp_path / "blank.png", "--output-dir", out, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"{tmp_path / 'blank.png'}: no digit: blank" in result.stdout
    assert _tree_digest(out / "serving_model") == before
