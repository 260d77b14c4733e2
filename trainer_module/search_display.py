"""What the Tuner shows while it searches: the slice that scores the trials,
one line per trial (its settings, time and score), then the chosen settings.

KerasTuner's own display (a settings table before each trial, a block after
it, the search-space and results summaries) goes to the run log instead, with
the trials' per-epoch lines: a local run's console (pipeline/process/console.py)
keeps sys.stdout for the terminal and sends file descriptor 1 to the log, so
what is printed to the process's original stdout lands there. It also
wraps each trial's block in ANSI erase codes: KerasTuner 1.4.8 takes any
process where IPython imports for a notebook (keras_tuner/src/utils.py,
IS_NOTEBOOK), and IPython's clear_output outside a kernel prints `ESC[2K`.
"""
import contextlib
import sys
from typing import Dict, Iterator, TextIO

from foundation import compat
from trainer_module import search_record


@contextlib.contextmanager
def prints_to_log() -> Iterator[TextIO]:
    """Inside, print() writes to the process's original stdout: the run log
    during a quiet local run, else where sys.stdout writes too (with
    --verbose, or on Kubeflow: the terminal or the task's log). Yields the
    stream print() wrote to before, for the lines a user should see."""
    before = sys.stdout
    native = sys.__stdout__ or before
    try:
        with contextlib.redirect_stdout(native):
            yield before
    finally:
        native.flush()


def tuner_class(base):
    """`base` (a KerasTuner tuner class), able to tune this project's Keras 2
    model, that keeps a search_record.Record and prints as above."""
    class HoldoutSearch(compat.tuner_for_tf_keras(base)):
        def __init__(self, hypermodel, holdout: search_record.Holdout, **kwargs):
            super().__init__(hypermodel, **kwargs)
            self.search_record = search_record.Record(
                objective=search_record.OBJECTIVE, holdout=holdout, trials=[], chosen=None
            )
            self._numbers: Dict[str, int] = {}  # trial id -> number
            self._terminal = sys.stdout

        def _say(self, text: str) -> None:
            print(f"    {text}", file=self._terminal, flush=True)

        def search_space_summary(self, *args, **kwargs):
            with prints_to_log():
                super().search_space_summary(*args, **kwargs)

        def results_summary(self, *args, **kwargs):
            with prints_to_log():
                super().results_summary(*args, **kwargs)

        def search(self, *args, **kwargs):
            with prints_to_log() as terminal:
                self._terminal = terminal
                self._say(search_record.holdout_line(self.search_record["holdout"]))
                super().search(*args, **kwargs)
            best = self.oracle.get_best_trials(1)
            self.search_record["chosen"] = self._numbers.get(best[0].trial_id) if best else None
            self._say(search_record.chosen_line(self.search_record))

        def on_trial_end(self, trial):
            super().on_trial_end(trial)
            ended = self.oracle.get_trial(trial.trial_id)
            completed = ended.status == "COMPLETED"
            metrics = ended.metrics
            entry = search_record.Trial(
                number=len(self.search_record["trials"]) + 1,
                values=dict(ended.hyperparameters.values),
                seconds=(metrics.get_last_value(search_record.SECONDS)
                         if metrics.exists(search_record.SECONDS) else None),
                score=ended.score if completed else None,
                status=ended.status,
            )
            if not completed and ended.message:
                print(ended.message)  # KerasTuner's traceback of the failure: to the run log
            self._numbers[ended.trial_id] = entry["number"]
            self.search_record["trials"].append(entry)
            self._say(search_record.trial_line(entry, of=self.oracle.max_trials))

    HoldoutSearch.__name__ = f"Holdout{base.__name__}"
    return HoldoutSearch
