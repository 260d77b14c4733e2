"""The serving probe started early: while the Evaluator runs, in a local run.

The probe's fresh interpreter spends most of its time importing TensorFlow
and loading the model, and the Evaluator (TFMA, in-process Beam) leaves the
machine's other cores idle meanwhile. In a local run both components'
executors run one after the other in the same process, so the Evaluator's
executor starts the probe for the candidate (`start`) and the ServingCheck's
takes it over (`take`). The probe waits for its digits before it answers
or times anything (probe.py), so its latencies are measured after the
Evaluator, as before.

Only a run that opted in (`enabled`, around LocalDagRunner.run) does this:
on Kubeflow each component runs in its own pod, where a probe started by the
Evaluator would only be killed with it. Whatever is left unclaimed when the
run ends (a failed Evaluator, a ServingCheck served from the cache) is stopped.
"""
import contextlib
from typing import Dict, Iterator, Optional

from components.serving_check import check

_started: Optional[Dict[str, check.Probe]] = None  # by model path; None: not enabled


@contextlib.contextmanager
def enabled() -> Iterator[None]:
    global _started
    _started = {}
    try:
        yield
    finally:
        started, _started = _started, None
        for probe in started.values():
            probe.close()


def start(model_path: str) -> None:
    """Starts the probe for `model_path`, if this run opted in."""
    if _started is not None and model_path not in _started:
        _started[model_path] = check.Probe(model_path)


def take(model_path: str) -> Optional[check.Probe]:
    """The probe started for `model_path`, now the caller's to close; None if none."""
    return _started.pop(model_path, None) if _started is not None else None
