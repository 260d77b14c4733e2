"""An exclusive lock on a directory, for one process at a time.

`fcntl.flock` on `<directory>/.lock`: the kernel releases it when the holder's
last descriptor closes, so a holder killed with SIGKILL leaves no stale lock
behind; the file itself stays and is simply locked again. The holder writes
its pid, start time and command line into the file, so whoever is refused can
be told who holds it.

Held locks are counted per process: a function that takes the lock inside
a caller that already holds it (the CLI, then the local runner) just proceeds.
"""
import contextlib
import datetime
import fcntl
import json
import os
import sys
from typing import Callable, Dict, Iterator, Optional

from foundation.errors import DirectoryInUseError

LOCK_FILE = ".lock"

_held: Dict[str, int] = {}  # real path of a lock file -> nesting depth in this process


def _describe(holder: dict) -> str:
    if not holder:
        return "a process that has not yet said which"
    return f"pid {holder.get('pid')}, started {holder.get('started')}: {holder.get('command')}"


def read_holder(directory: str) -> dict:
    """What the current (or last) holder wrote; {} when unknown."""
    try:
        with open(os.path.join(directory, LOCK_FILE)) as f:
            return json.loads(f.read() or "{}")
    except (OSError, ValueError):
        return {}


@contextlib.contextmanager
def hold(directory: str, wait: Optional[Callable[[str], None]] = None) -> Iterator[None]:
    """Holds the lock on `directory` (created if missing) for the block.

    Refuses at once with DirectoryInUseError, naming the holder, when another
    process holds it; with `wait`, calls wait(description of the holder) and
    blocks until the lock is free instead.
    """
    os.makedirs(directory, exist_ok=True)
    path = os.path.realpath(os.path.join(directory, LOCK_FILE))
    if _held.get(path):
        _held[path] += 1
        try:
            yield
        finally:
            _held[path] -= 1
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _describe(read_holder(directory))
            if wait is None:
                raise DirectoryInUseError(
                    f"{directory} is in use by another run ({holder}). Wait for it to "
                    "finish, or use another output directory (--output-dir)."
                ) from None
            wait(holder)
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({
            "pid": os.getpid(),
            "started": datetime.datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }).encode(), 0)
        _held[path] = 1
        try:
            yield
        finally:
            del _held[path]
    finally:
        os.close(fd)  # releases the lock
