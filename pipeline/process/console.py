"""What a local run shows in the terminal, and what it keeps in a log file.

Quiet by default: TensorFlow's C++ core, Beam, absl and the child processes
TFX starts (wheel builds, pip) write to file descriptors 1 and 2, which are
sent to a log file under the output directory. Python's own sys.stdout and
sys.stderr keep the terminal, so the trainer's per-epoch lines, one line per
component, and errors are what a user sees. `--verbose` shows everything.
"""
import contextlib
import logging
import os
import sys
import time
import warnings
from typing import Callable, Iterator, TypeVar

from absl import logging as absl_logging

from pipeline.process import closed_pipe

# The LocalDagRunner's own messages when a component starts and ends
# (tfx/orchestration/local/local_dag_runner.py), and its launcher's once it
# knows whether the cache answers (tfx/orchestration/portable/launcher.py).
_STARTED, _FINISHED = "Component %s is running.", "Component %s is finished."
_CACHED, _EXECUTING = "A cached execution %d is used.", "Going to run a new execution %d"

T = TypeVar("T")


def quiet_before_tensorflow() -> None:
    """Must run before TensorFlow is imported to silence its C++ logging."""
    # 3: not even the CUDA-plugin "errors" every CPU-only start prints.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # for child processes
    for category in (FutureWarning, DeprecationWarning, UserWarning):
        warnings.filterwarnings("ignore", category=category)


class _ComponentProgress(logging.Handler):
    """One line when a component starts to run and one when it is done, or
    one line, `cached`, when TFX's cache answers for it. The LocalDagRunner
    runs one component at a time, so the launcher's messages between a
    component's start and end are that component's."""

    def __init__(self, stream):
        super().__init__(logging.INFO)
        self.stream = stream
        self.current = None
        self.started = 0.0
        self.cached = False

    def _line(self, text: str) -> None:
        print(f"  {self.current:31s} {text}", file=self.stream, flush=True)

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg == _STARTED and record.args:
            self.current, self.started, self.cached = record.args[0], time.monotonic(), False
        elif self.current is None:
            return
        elif record.msg == _CACHED:
            self.cached = True
            self._line("cached")
        elif record.msg == _EXECUTING:
            self._line("running...")
        elif record.msg == _FINISHED:
            if not self.cached:
                self._line(f"done in {time.monotonic() - self.started:.1f} s")
            self.current = None


@contextlib.contextmanager
def native_output_to(log_path: str) -> Iterator[None]:
    """Sends fds 1 and 2 to `log_path`; sys.stdout and sys.stderr keep the terminal."""
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    old_streams = sys.stdout, sys.stderr
    sys.stdout = closed_pipe.guard(open(saved[1], "w", buffering=1, closefd=False))
    sys.stderr = closed_pipe.guard(open(saved[2], "w", buffering=1, closefd=False))
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    # Python logging goes to the log too: the root logger gets a file handler
    # (which also turns libraries' later logging.basicConfig() into no-ops).
    log_stream = open(log_path, "a", buffering=1)
    to_file = logging.StreamHandler(log_stream)
    to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s:%(name)s:%(message)s"))
    root = logging.getLogger()
    old_handlers, root.handlers = root.handlers, [to_file]
    progress = _ComponentProgress(sys.stdout)
    absl_logger = absl_logging.get_absl_logger()
    # Through absl's verbosity flag, not the logger's level: TensorFlow's
    # SavedModel export sets the flag's value back on the logger, which
    # silenced every component after the Trainer.
    old_verbosity = absl_logging.get_verbosity()
    absl_logging.set_verbosity(absl_logging.INFO)
    absl_logger.addHandler(progress)
    try:
        os.dup2(log_fd, 1)
        os.dup2(log_fd, 2)
        yield
    finally:
        absl_logger.removeHandler(progress)
        absl_logging.set_verbosity(old_verbosity)
        root.handlers = old_handlers
        log_stream.close()
        for stream in (sys.stdout, sys.stderr, *old_streams):
            stream.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
        sys.stdout.close()
        sys.stderr.close()
        sys.stdout, sys.stderr = old_streams
        for fd in (log_fd, *saved.values()):
            os.close(fd)


def log_path(directory: str, kind: str) -> str:
    """<directory>/logs/<kind>-<date>-<time>.log"""
    return os.path.join(directory, "logs", time.strftime(f"{kind}-%Y%m%d-%H%M%S.log"))


def quietly(verbose: bool, log: str, fn: Callable[[], T]) -> T:
    """Calls fn(), its TensorFlow/TFX noise sent to `log` unless `verbose`."""
    if verbose:
        return fn()
    print(f"  log: {log}", flush=True)
    try:
        with native_output_to(log):
            return fn()
    except Exception:
        print(f"Full log: {log}", file=sys.stderr)
        raise
