"""The TFX Tuner's entry point, `tuner_fn(fn_args)`: KerasTuner's random
search over the training settings, each trial trained by the same custom
GradientTape loop as the Trainer (train_loop.train_custom), not model.fit.

The model's layers stay the seed's; the search space is the learning rate,
its schedule, dropout in training, and the batch size. A setting the user gave
explicitly (flag or environment) is fixed, not searched: custom_config names
them (FIXED_KEY), without saying how they were given. The budget (trials,
epochs and training examples per trial) comes from custom_config, the
pipeline's tuner_* settings.
"""
import time
from typing import Any, Collection, Dict

import keras_tuner
import tensorflow as tf
import tf_keras
from tfx.components.tuner.component import TunerFnResult

from foundation import compat, keras_choice
from trainer_module import hyperparameters, input_pipeline, train_loop
from trainer_module.config import EPOCHS_KEY, EXAMPLES_KEY, FIXED_KEY, LR_SCHEDULES, TRIALS_KEY, TrainConfig
from trainer_module.model import build_model

OBJECTIVE = "val_accuracy"

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
    """Builds the seed's CNN; `fit` trains it with the Trainer's custom loop."""

    def __init__(self, base: TrainConfig, fixed: Collection[str], train_files, eval_files, examples: int):
        super().__init__(name="mnist_gradient_tape")
        self.base, self.fixed = base, fixed
        self.train_files, self.eval_files, self.examples = train_files, eval_files, examples

    def declare(self, hp: keras_tuner.HyperParameters) -> None:
        search_space(hp, self.base, self.fixed)

    def build(self, hp):
        self.declare(hp)
        # Every trial starts from the Trainer's initial weights and data order.
        tf_keras.utils.set_random_seed(self.base.seed)
        return build_model()

    def fit(self, hp, model, *args, **kwargs) -> Dict[str, Any]:
        config = TrainConfig.from_dict({**self.base.__dict__, **hp.values, "loop": "custom"})
        train_ds = input_pipeline.make_dataset(
            self.train_files, config.batch_size, shuffle_buffer=config.shuffle_buffer, seed=config.seed,
            max_examples=self.examples,
        )
        eval_ds = input_pipeline.make_dataset(self.eval_files, config.eval_batch_size)
        print(f"Trial: {hp.values}", flush=True)
        started = time.monotonic()
        history = train_loop.train_custom(model, train_ds, eval_ds, config)
        seconds = time.monotonic() - started
        last = history[-1]
        print(f"Trial done in {seconds:.1f} s: {OBJECTIVE} {last['test_accuracy']:.4f}", flush=True)
        return {
            OBJECTIVE: last["test_accuracy"],
            "val_loss": last["test_loss"],
            "trial_seconds": seconds,
        }


def tuner_fn(fn_args) -> TunerFnResult:
    keras_choice.require()
    custom = fn_args.custom_config or {}
    base, _ = hyperparameters.resolve(custom)
    base = TrainConfig.from_dict({**base.__dict__, "epochs": int(custom.get(EPOCHS_KEY, 1))})
    fixed = set(custom.get(FIXED_KEY) or ())
    tf_keras.utils.set_random_seed(base.seed)
    tf.config.experimental.enable_op_determinism()
    hypermodel = GradientTapeHyperModel(
        base, fixed, fn_args.train_files, fn_args.eval_files, int(custom.get(EXAMPLES_KEY, 0))
    )

    tuner = compat.tuner_for_tf_keras(keras_tuner.RandomSearch)(
        hypermodel,
        objective=keras_tuner.Objective(OBJECTIVE, "max"),
        max_trials=int(custom.get(TRIALS_KEY, 1)),
        seed=base.seed,
        directory=fn_args.working_dir,
        project_name="search",
        overwrite=True,
    )
    return TunerFnResult(tuner=tuner, fit_kwargs={})
