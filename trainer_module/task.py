"""The TFX Trainer's entry point: `run_fn(fn_args)`.

TFX packages this directory as the Trainer's user-module wheel (its hash is the
module's fingerprint in ML Metadata) and calls `run_fn` in the executor.
"""
import dataclasses
import json
import os
import time

import tensorflow as tf
import tf_keras

from foundation import keras_choice
from foundation.names import MODEL_RUN_KEY, TENSORBOARD_DIR, TRAINING_SUMMARY_FILE
from trainer_module import distribution, hyperparameters, input_pipeline, precision
from trainer_module.export import export_serving_model
from trainer_module.model import build_model
from trainer_module.summaries import Summaries, hparam_values
from trainer_module.train_loop import LOOPS


def trial_name(model_run_dir: str) -> str:
    """What tells this Trainer execution's model_run from others': its own
    directory locally (<root>/Trainer/model_run/<execution id>), its parent on
    Kubeflow (<root>/Trainer/<task uuid>/model_run), where every run's ends
    in the output key."""
    path = model_run_dir.rstrip("/")
    name = os.path.basename(path)
    return os.path.basename(os.path.dirname(path)) if name == MODEL_RUN_KEY else name


def run_fn(fn_args) -> None:
    keras = keras_choice.require()
    # custom_config, with the Tuner's best values (when it ran) for the
    # settings the user did not set.
    config, sources = hyperparameters.resolve(fn_args.custom_config, fn_args.hyperparameters)
    chosen = precision.choose(config.precision)
    print(f"Trainer: {chosen.describe()}", flush=True)
    # First: the multi-worker strategy must be made before any TensorFlow op.
    strategy = distribution.create_strategy(config.strategy)
    tf_keras.utils.set_random_seed(config.seed)
    # The same seed and data then give the same model, bit for bit, on the
    # same machine and software (tests/test_determinism.py), at no measurable
    # cost on the CPU (docs/performance.md).
    tf.config.experimental.enable_op_determinism()

    train_ds = input_pipeline.make_dataset(
        fn_args.train_files,
        config.batch_size,
        shuffle_buffer=config.shuffle_buffer,
        seed=config.seed,
    )
    eval_ds = input_pipeline.make_dataset(fn_args.eval_files, config.eval_batch_size)

    with distribution.scope(strategy):
        model = build_model(chosen.policy)
    print(
        f"Training {model.name} with the {config.loop!r} loop on {keras}: "
        f"{config.epochs} epoch{'' if config.epochs == 1 else 's'}, batch {config.batch_size}, "
        f"strategy {config.strategy!r}",
        flush=True,
    )
    tuned = {k: getattr(config, k) for k, source in sources.items() if source == hyperparameters.TUNED}
    if tuned:
        print(f"Tuned hyperparameters (the Tuner's best trial): {tuned}", flush=True)
    # TensorBoard's run: the chief's model_run directory, named after the
    # Trainer execution in the HParams view.
    summaries = (
        Summaries(
            os.path.join(fn_args.model_run_dir, TENSORBOARD_DIR), config,
            run_name=trial_name(fn_args.model_run_dir),
        )
        if distribution.is_chief(strategy)
        else Summaries.off(config)
    )
    summaries.hparams(hparam_values(config))
    started = time.monotonic()
    if strategy is None:
        history = LOOPS[config.loop](model, train_ds, eval_ds, config, summaries)
    else:
        history = distribution.train(strategy, model, train_ds, eval_ds, config, summaries)
    train_seconds = time.monotonic() - started
    summaries.close()

    with distribution.export_dir(strategy, fn_args.serving_model_dir) as export_dir:
        export_serving_model(model, export_dir)
    if distribution.is_chief(strategy):
        summary = {
            "keras": keras,
            "tensorflow": tf.__version__,
            "hyperparameters": dataclasses.asdict(config),
            # Each one's source: default, flag, env or tuned (hyperparameters.py).
            "hyperparameter_sources": sources,
            "distribution": distribution.describe(strategy),
            "precision": chosen._asdict(),
            "history": history,
            "train_seconds": round(train_seconds, 3),
        }
        if not tf.io.gfile.isdir(fn_args.model_run_dir):  # see components/serving_check/executor.py:mark
            tf.io.gfile.makedirs(fn_args.model_run_dir)
        with tf.io.gfile.GFile(os.path.join(fn_args.model_run_dir, TRAINING_SUMMARY_FILE), "w") as f:
            json.dump(summary, f, indent=2)
    if strategy is not None:
        distribution.wait_for_all_workers(strategy)
