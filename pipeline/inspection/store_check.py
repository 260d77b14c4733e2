"""Whether the file at a local run's ML Metadata path is a store ML Metadata can use.

A store can be damaged (a disk that filled up, a copy cut short, bytes
overwritten) or not one at all (a directory, an empty file, another program's
database). ML Metadata then fails deep inside a query with a RuntimeError;
this says so in one line first: the file, what is wrong with it, and what to
do. The fix never touches the served models: serving_model/ is read without
the store (`predict`, and the Evaluator's baseline), and a new store starts
with the next run.

Python's own sqlite3, read-only; no TensorFlow, no TFX.

_QUERY_ERRORS: what ML Metadata raises on a file SQLite cannot read (a
RuntimeError "Error when executing query: database disk image is malformed")
or whose contents are not what it wrote.
"""
import os
import sqlite3
from typing import Any, Callable

from ml_metadata import errors as mlmd_errors

from foundation.errors import UserError

SQLITE_HEADER = b"SQLite format 3\x00"
# A table every ML Metadata schema has (its schema version).
MLMD_TABLE = "MLMDEnv"


_QUERY_ERRORS = (RuntimeError, mlmd_errors.DataLossError, mlmd_errors.InternalError)


class DamagedStore(UserError):
    """The ML Metadata store cannot be read as one."""


def _move_aside(path: str) -> str:
    return (f"move it aside (mv {path} {path}.damaged) and run again: the next run starts a new store, "
            "without the earlier runs' records or cache; pushed models stay in serving_model/, "
            "and `predict` needs no store")


def problem(path: str) -> str:
    """What is wrong with the file at `path` as an ML Metadata store; "" if nothing."""
    if not os.path.exists(path):
        return f"{path} is a link to nothing, where the ML Metadata store belongs: remove it"
    if os.path.isdir(path):
        return (f"{path} is a directory, where the ML Metadata store (an SQLite file) belongs: "
                "rename or remove it, and the next run starts a new store")
    if os.path.getsize(path) == 0:
        return f"{path} is an empty file, not an ML Metadata store (a disk that filled up?): {_move_aside(path)}"
    try:
        with open(path, "rb") as f:
            header = f.read(len(SQLITE_HEADER))
    except OSError as e:
        return f"{path} cannot be read ({e.strerror}): give this user read access to it"
    if header != SQLITE_HEADER:
        return f"{path} is not an SQLite database, so not an ML Metadata store: {_move_aside(path)}"
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as connection:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            if MLMD_TABLE not in tables:
                return (f"{path} is an SQLite database but not ML Metadata's (no {MLMD_TABLE} table; "
                        f"another program's?): use another --output-dir, or {_move_aside(path)}")
            found = [row[0] for row in connection.execute("PRAGMA quick_check")]
    except sqlite3.DatabaseError as e:
        return f"{path} is damaged ({e}): {_move_aside(path)}"
    if found != ["ok"]:
        return f"{path} is damaged ({found[0]}): {_move_aside(path)}"
    return ""


def check(path: str) -> None:
    """DamagedStore unless the file at `path` (which exists) is a usable store."""
    found = problem(path)
    if found:
        raise DamagedStore(found)


class _Guarded:
    """An ML Metadata store whose query errors (damage the check above did
    not see) are a DamagedStore naming the file."""

    def __init__(self, store: Any, path: str):
        self._store, self._path = store, path

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._store, name)
        if not callable(attribute):
            return attribute

        def call(*args, **kwargs):
            try:
                return attribute(*args, **kwargs)
            except _QUERY_ERRORS as e:
                raise DamagedStore(f"{self._path} is damaged ({e}): {_move_aside(self._path)}") from None

        return call


def opened(path: str, connect: Callable[[], Any]) -> Any:
    """connect()'s ML Metadata store for the file at `path`, checked first,
    its errors a DamagedStore naming the file."""
    check(path)
    try:
        return _Guarded(connect(), path)
    except _QUERY_ERRORS as e:
        raise DamagedStore(f"{path} is damaged ({e}): {_move_aside(path)}") from None
