"""The learning rate over a run: TrainConfig.lr_schedule as a Keras schedule."""
from typing import Union

import tensorflow as tf
import tf_keras as keras

from trainer_module.config import TrainConfig

# One-cycle: the peak is reached after this share of the steps, from
# learning_rate / _ONE_CYCLE_START_DIVISOR (fast.ai's defaults).
_ONE_CYCLE_WARMUP = 0.3
_ONE_CYCLE_START_DIVISOR = 25.0


def count_steps(train_ds: tf.data.Dataset) -> int:
    """Batches in one epoch (the TFRecord dataset does not know its length)."""
    return int(train_ds.reduce(tf.constant(0, tf.int64), lambda n, _: n + 1))


def learning_rate(
    config: TrainConfig, steps_per_epoch: int
) -> Union[float, keras.optimizers.schedules.LearningRateSchedule]:
    """A float for "constant" (the seed's optimizer, unchanged), else a schedule."""
    if config.lr_schedule == "constant":
        return config.learning_rate
    total = max(1, steps_per_epoch * config.epochs)
    if config.lr_schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(config.learning_rate, total)
    warmup = max(1, int(total * _ONE_CYCLE_WARMUP))
    return keras.optimizers.schedules.CosineDecay(
        config.learning_rate / _ONE_CYCLE_START_DIVISOR,
        decay_steps=max(1, total - warmup),
        warmup_target=config.learning_rate,
        warmup_steps=warmup,
    )


def current(optimizer: keras.optimizers.Optimizer) -> float:
    """The learning rate the optimizer's next step uses."""
    rate = optimizer.learning_rate
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule):
        rate = rate(optimizer.iterations)
    return float(rate)
