"""The TFX Tuner's entry point, `tuner_fn(fn_args)`: KerasTuner's random
search over the training settings, each trial trained by the same custom
GradientTape loop as the Trainer (train_loop.train_custom), not model.fit.

The model's layers stay the seed's; the search space is the learning rate,
its schedule, dropout in training, and the batch size. A setting the user gave
explicitly (flag or environment) is fixed, not searched: custom_config names
them (FIXED_KEY), without saying how they were given. The budget (trials,
epochs and training examples per trial) and the held-out share come from
custom_config, the pipeline's tuner_* settings.

Every trial is scored on a slice held out of the training split
(trainer_module/holdout.py), never on eval; the DAG gives the Tuner the train
split alone. The terminal gets one line per trial and the chosen settings;
KerasTuner's own display (its tables, and the ANSI codes of its clear_output)
goes to the run log.
"""
import time
from typing import Any, Collection, Dict

import keras_tuner
import tensorflow as tf
import tf_keras
from tfx.components.tuner.component import TunerFnResult

from foundation import keras_choice, names
from trainer_module import hyperparameters, search_display, search_record, train_loop
from trainer_module.config import (
    EPOCHS_KEY,
    EXAMPLES_KEY,
    FIXED_KEY,
    HOLDOUT_SHARE_KEY,
    LR_SCHEDULES,
    MIN_CLASS_SHARE_KEY,
    TRIALS_KEY,
    TrainConfig,
)
from trainer_module.holdout import Slices, check_balance, label_counts
from trainer_module.model import build_model

OBJECTIVE = search_record.OBJECTIVE

LEARNING_RATES = [3e-4, 1e-3, 2e-3, 3e-3]
BATCH_SIZES = [32, 64, 128]


def search_space(hp: keras_tuner.HyperParameters, base: TrainConfig, fixed) -> None:
    """Declares the searched settings (config.SEARCHED) in `hp`, those in `fixed` fixed."""
    def choice(name, values):
        if name in fixed:
            hp.Fixed(name, getattr(base, name))
        else:
            hp.Choice(name, values)

    choice("learning_rate", LEARNING_RATES)
    choice("lr_schedule", list(LR_SCHEDULES))
    if "train_dropout" in fixed:
        hp.Fixed("train_dropout", base.train_dropout)
    else:
        hp.Boolean("train_dropout")
    choice("batch_size", BATCH_SIZES)


class GradientTapeHyperModel(keras_tuner.HyperModel):
    """Builds the seed's CNN; `fit` trains it with the Trainer's custom loop
    on the training split less the held-out slice, and scores it on the slice."""

    def __init__(self, base: TrainConfig, fixed: Collection[str], slices: Slices,
                 holdout_ds: tf.data.Dataset, examples: int):
        super().__init__(name="mnist_gradient_tape")
        self.base, self.fixed = base, fixed
        self.slices, self.holdout_ds, self.examples = slices, holdout_ds, examples

    def declare(self, hp: keras_tuner.HyperParameters) -> None:
        search_space(hp, self.base, self.fixed)

    def build(self, hp):
        self.declare(hp)
        # Every trial starts from the Trainer's initial weights and data order.
        tf_keras.utils.set_random_seed(self.base.seed)
        return build_model()

    def fit(self, hp, model, *args, **kwargs) -> Dict[str, Any]:
        config = TrainConfig.from_dict({**self.base.__dict__, **hp.values, "loop": "custom"})
        train_ds = self.slices.rest(
            config.batch_size, shuffle_buffer=config.shuffle_buffer, seed=config.seed,
            max_examples=self.examples,
        )
        started = time.monotonic()
        # Its per-epoch "Test" figures are the held-out slice's.
        history = train_loop.train_custom(model, train_ds, self.holdout_ds, config)
        last = history[-1]
        return {
            OBJECTIVE: last["test_accuracy"],
            "holdout_loss": last["test_loss"],
            search_record.SECONDS: time.monotonic() - started,
        }


# Batches for counting labels: the size changes nothing but the pass's speed.
_COUNT_BATCH = 4096


def _describe(slices: Slices, holdout_ds: tf.data.Dataset, examples: int,
              min_class_share: float) -> search_record.Holdout:
    """The held-out slice's size and class balance (checked), and the trials' share."""
    held = label_counts(holdout_ds)
    check_balance(held, min_class_share)
    others = sum(label_counts(slices.rest(_COUNT_BATCH)))
    return search_record.Holdout(
        split=names.TRAIN_SPLIT, share=slices.share, seed=slices.seed, examples=sum(held),
        label_counts=held, split_examples=sum(held) + others,
        trial_examples=min(examples, others) if examples else others,
        min_class_share=min_class_share,
    )


def tuner_fn(fn_args) -> TunerFnResult:
    keras_choice.require()
    custom = fn_args.custom_config or {}
    base, _ = hyperparameters.resolve(custom)
    base = TrainConfig.from_dict({**base.__dict__, "epochs": int(custom.get(EPOCHS_KEY, 1))})
    fixed = set(custom.get(FIXED_KEY) or ())
    tf_keras.utils.set_random_seed(base.seed)
    tf.config.experimental.enable_op_determinism()
    # The train split only: fn_args.eval_files is never read here.
    slices = Slices(fn_args.train_files, base.seed, float(custom[HOLDOUT_SHARE_KEY]))
    examples = int(custom.get(EXAMPLES_KEY, 0))
    # Built once: counting its labels fills its cache, which then serves every trial.
    holdout_ds = slices.holdout(base.eval_batch_size)
    holdout = _describe(slices, holdout_ds, examples, float(custom[MIN_CLASS_SHARE_KEY]))
    hypermodel = GradientTapeHyperModel(base, fixed, slices, holdout_ds, examples)
    tuner = search_display.tuner_class(keras_tuner.RandomSearch)(
        hypermodel,
        holdout=holdout,
        objective=keras_tuner.Objective(OBJECTIVE, "max"),
        max_trials=int(custom.get(TRIALS_KEY, 1)),
        seed=base.seed,
        directory=fn_args.working_dir,
        project_name="search",
        overwrite=True,
    )
    return TunerFnResult(tuner=tuner, fit_kwargs={})
