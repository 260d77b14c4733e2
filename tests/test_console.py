"""The live lines of a local run (pipeline/process/console.py): a component
served from TFX's cache says `cached` when it is, not `running...` and `done`."""
import io
import logging

from pipeline.process import console


def _record(msg, *args):
    return logging.LogRecord("absl", logging.INFO, __file__, 1, msg, args, None)


def test_a_cached_component_says_cached_and_one_that_runs_says_so():
    out = io.StringIO()
    progress = console._ComponentProgress(out)
    # The messages TFX 1.16's LocalDagRunner and launcher log, in their order.
    for record in [
        _record("Component %s is running.", "Trainer"),
        _record("[%s] Resolved inputs: %s", "Trainer", "{}"),
        _record("A cached execution %d is used.", 7),
        _record("Component %s is finished.", "Trainer"),
        _record("Component %s is running.", "Evaluator"),
        _record("Going to run a new execution %d", 8),
        _record("Going to run a new execution: %s", "ExecutionInfo(...)"),
        _record("Component %s is finished.", "Evaluator"),
    ]:
        progress.emit(record)
    lines = out.getvalue().splitlines()
    assert [line.split() for line in lines[:2]] == [["Trainer", "cached"], ["Evaluator", "running..."]]
    assert lines[2].split()[:3] == ["Evaluator", "done", "in"] and len(lines) == 3


def test_the_messages_are_tfx_1_16s_own():
    """The lines depend on these strings: TFX must still log them."""
    import inspect

    from tfx.orchestration.local import local_dag_runner
    from tfx.orchestration.portable import launcher

    runner, launch = inspect.getsource(local_dag_runner), inspect.getsource(launcher)
    assert f"'{console._STARTED}'" in runner and f"'{console._FINISHED}'" in runner
    assert f"'{console._CACHED}'" in launch and f"'{console._EXECUTING}'" in launch
