"""The one way into a process of this project, and out of it.

Every entry point calls `run_entry(main)`: the CLI (`python -m pipeline`, the
`mnist-tfx` script), the runner files the tfx CLI executes
(pipeline/local_runner.py, pipeline/kubeflow_runner.py), the Kubeflow task
command (pipeline/launch/kubeflow_task.py) and bench/*.py. The entry module
imports nothing heavy at its top; `run_entry`, before `main` runs:

  - checks the pinned dependencies (foundation/pins.py);
  - selects Keras 2 for this process and its children
    (foundation/keras_choice.py: TFX 1.16 and TFMA 0.47 are built on it);
  - for a runner file run as a script, takes the file's own directory off
    sys.path, where Python put it: it is inside the `pipeline` package, and
    its modules would shadow others as top-level names;
  - optionally quiets TensorFlow's C++ logging (it must be set before
    TensorFlow loads), and sets up s3:// (tensorflow-io) up front;
  - guards sys.stdout and sys.stderr against a reader that goes away
    (closed_pipe.py), so `... | head` keeps the command's exit status;

then reports what `main` raised (a UserError as one line, anything else with
its traceback) and ends the process with main's status, through the
tensorflow-io workaround below.

A runner file is also executed *inside* the tfx CLI's own process by `tfx
pipeline create` (tfx/tools/cli/handler/base_handler.py, execute_dsl): there
`main` runs bare and the process is left to the tfx CLI, which must live on to
save the pipeline; only a UserError (a bad setting) is printed as one line,
and ends it with its status, since there is no pipeline to save.
"""
import logging
import os
import sys
import traceback
from typing import Callable, NoReturn, Optional

from foundation import fs, keras_choice, pins
from foundation.errors import UserError
from pipeline.process import closed_pipe

Main = Callable[[], Optional[int]]


def prepare() -> None:
    """What every process needs before TensorFlow loads (also for tests and notebooks)."""
    pins.check_versions()
    keras_choice.select()
    # TFX's Trainer and Tuner install the user-module wheel with `pip install
    # --target` (tfx/components/util/udf_utils.py, install_to_temp_directory,
    # at TFX 1.16.0), and pip then checks every installed distribution for
    # conflicts with it: most of the install's time, for a wheel with no
    # dependencies (docs/performance.md).
    os.environ.setdefault("PIP_NO_WARN_CONFLICTS", "1")


def is_program(script_file: str) -> bool:
    """Whether `script_file` is this process's program, rather than a file the
    tfx CLI executes inside its own process (`tfx pipeline create`)."""
    program = getattr(sys.modules.get("__main__"), "__file__", None) or ""
    return os.path.realpath(program) == os.path.realpath(script_file)


def _drop_script_directory(script_file: str) -> None:
    directory = os.path.dirname(os.path.realpath(script_file))
    sys.path[:] = [p for p in sys.path if os.path.realpath(p or os.curdir) != directory]


def print_user_error(error: UserError, verbose: bool = False) -> None:
    """One line, `error: ...`; its traceback too only when `verbose`."""
    if verbose:
        traceback.print_exc()
    print(f"error: {error}", file=sys.stderr, flush=True)


def report_errors(main: Main) -> int:
    """main()'s status; a UserError printed as `error: ...`, with its status
    (1, or 2 for a bad setting), anything else with its traceback, status 1."""
    try:
        return main() or 0
    except UserError as e:
        print_user_error(e)
        return e.exit_status
    except BrokenPipeError:  # a pipe written to unguarded (closed_pipe): no traceback for it
        closed_pipe.to_devnull(sys.stdout)
        return 1
    except Exception:
        # On the terminal, not only in the run's log: an unexpected error
        # is a bug report, and its traceback is what the report needs.
        traceback.print_exc()
        return 1


def run_entry(
    main: Main,
    script: Optional[str] = None,
    quiet: bool = False,
    s3: bool = False,
) -> None:
    """Runs `main` as this process's entry point, and exits with its status.

    script: the entry's `__file__`, for a file the tfx CLI executes.
    quiet: TensorFlow's C++ logs and Python warnings off, for a terminal.
    s3: set up s3:// before `main` (the Kubeflow tasks, whose paths come in
      flags); other entries set it up when the configuration names s3://.
    """
    if script is not None and not is_program(script):
        prepare()
        try:
            main()  # inside the tfx CLI: its other errors and its exit are the CLI's
        except UserError as e:  # e.g. a bad setting: the CLI cannot save the pipeline
            print_user_error(e)
            raise SystemExit(e.exit_status) from None
        return
    if script is not None:
        _drop_script_directory(script)
    # A reader that goes away (`| head`) ends no command, nor changes its status.
    sys.stdout, sys.stderr = closed_pipe.guard(sys.stdout), closed_pipe.guard(sys.stderr)
    status = report_errors(lambda: _prepared(main, quiet, s3))
    exit_process(status)


def _prepared(main: Main, quiet: bool, s3: bool) -> Optional[int]:
    prepare()
    if quiet:
        from pipeline.process import console

        console.quiet_before_tensorflow()
    if s3:
        fs.register_filesystems()
    return main()


def exit_process(status: int) -> NoReturn:
    """Ends the process with `status`, without C++ destructors once it has set up s3://.

    tensorflow-io 0.37.1 aborts ("pure virtual method called", status 134) in
    the AWS SDK's teardown at interpreter exit in any process that opened an
    s3:// path (github.com/tensorflow/io/issues/2039, fixed after its last
    release; pinned in foundation/pins.py), which would fail a task
    that succeeded. So a process that set s3:// up itself flushes its output
    and leaves with os._exit (no C++ destructors, no atexit handlers).
    Whether it did is this project's own flag (foundation/fs.py), not
    tensorflow_io's presence in sys.modules: TFMA imports tensorflow_io in
    every process, and those exit normally.
    """
    if fs.filesystems_registered():
        logging.shutdown()
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        os._exit(status)
    sys.exit(status)
