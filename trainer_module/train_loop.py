"""The two training loops: the seed tutorial's GradientTape loop, and model.fit.

Both return the same per-epoch history, so they can be compared run for run.
The custom loop follows the seed (and keras-io's "writing a training loop from
scratch"), with two corrections the seed needs: metrics are reset every epoch,
so each line reports that epoch alone, and by default the model is called with
`training=True` in the train step, so its Dropout layers are active
(`TrainConfig.train_dropout` says why, and how to train as the seed's code).
"""
import sys
import time
from typing import Callable, Dict, List, Optional

import tensorflow as tf
import tf_keras as keras

from trainer_module import schedules, step_groups
from trainer_module.config import TrainConfig
from trainer_module.summaries import Summaries

# The seed tutorial's per-epoch log line.
EPOCH_TEMPLATE = (
    "Epoch {}, Loss : {:.3f}, Accuracy: {:.3f}, Test Loss : {:.3f}, "
    "Test Accuracy: {:.3f}"
)

History = List[Dict[str, float]]


class Steps:
    """The seed's `train_step`/`test_step` with their loss, optimizer and metrics."""

    def __init__(
        self, model: keras.Model, learning_rate, dropout: bool = True, steps_per_call: int = 1
    ):
        self.model = model
        self.dropout = dropout
        # 1: the seed's loop, one step per call from Python; more: the
        # grouped calls of trainer_module/step_groups.py.
        self.steps_per_call = steps_per_call
        # Examples the grouped calls trained on, all epochs.
        self.examples_seen = 0
        self.loss_object = keras.losses.SparseCategoricalCrossentropy()
        self.optimizer = keras.optimizers.Adam(learning_rate)
        self.train_loss = keras.metrics.Mean(name="train_loss")
        self.train_accuracy = keras.metrics.SparseCategoricalAccuracy(
            name="train_accuracy"
        )
        self.test_loss = keras.metrics.Mean(name="test_loss")
        self.test_accuracy = keras.metrics.SparseCategoricalAccuracy(
            name="test_accuracy"
        )

    @tf.function
    def train_step(self, images, labels):
        with tf.GradientTape() as tape:
            prediction = self.model(images, training=self.dropout)
            loss = self.loss_object(labels, prediction)
        gradients = tape.gradient(loss, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
        self.train_loss(loss)
        self.train_accuracy(labels, prediction)

    @tf.function
    def test_step(self, images, labels):
        prediction = self.model(images, training=False)
        # Weighted by the batch's size, so the test loss is the mean over
        # examples whatever the eval batch size (a short last batch included).
        self.test_loss(
            self.loss_object(labels, prediction), sample_weight=tf.shape(labels)[0]
        )
        self.test_accuracy(labels, prediction)
        return prediction

    @tf.function
    def train_group(self, iterator, limit):
        return step_groups.run_group(self.train_step, iterator, limit, self.batch_examples)

    @tf.function
    def test_group(self, iterator, limit):
        return step_groups.run_group(self.test_step, iterator, limit, self.batch_examples)

    def batch_examples(self, labels):
        return tf.shape(labels)[0]

    def train_epoch(
        self,
        dataset,
        bar: Optional[keras.utils.Progbar] = None,
        summaries: Optional[Summaries] = None,
    ) -> int:
        """One pass over `dataset`; returns the number of steps."""
        if self.steps_per_call > 1:
            return step_groups.train_epoch(self, dataset, bar, summaries)
        step = 0
        for step, (images, labels) in enumerate(dataset, start=1):
            self.train_step(images, labels)
            if bar:
                bar.update(step)
            if summaries:
                summaries.train_step(self.read_step)
        return step

    def read_step(self):
        """(running loss, running accuracy, learning rate), for the step summaries."""
        return (
            float(self.train_loss.result()),
            float(self.train_accuracy.result()),
            schedules.current(self.optimizer),
        )

    def test_epoch(self, dataset, summaries: Optional[Summaries] = None) -> None:
        """The test pass; `summaries` sees its first batches' predictions, for
        the misclassified digits (so they need no inference of their own)."""
        if self.steps_per_call > 1:
            return step_groups.test_epoch(self, dataset, summaries)
        for images, labels in dataset:
            prediction = self.test_step(images, labels)
            if summaries:
                summaries.test_batch(images, labels, prediction)

    def reset(self):
        for metric in (
            self.train_loss,
            self.train_accuracy,
            self.test_loss,
            self.test_accuracy,
        ):
            metric.reset_state()

    def epoch_result(self, train_seconds: float) -> Dict[str, float]:
        return {
            "train_seconds": train_seconds,
            "loss": float(self.train_loss.result()),
            "accuracy": float(self.train_accuracy.result()),
            "test_loss": float(self.test_loss.result()),
            "test_accuracy": float(self.test_accuracy.result()),
        }


def log_epoch(epoch: int, result: Dict[str, float]) -> None:
    print(
        EPOCH_TEMPLATE.format(
            epoch,
            result["loss"],
            result["accuracy"] * 100,
            result["test_loss"],
            result["test_accuracy"] * 100,
        ),
        flush=True,
    )


def _progress_bar(steps_per_epoch: Optional[int]) -> Optional[keras.utils.Progbar]:
    """Keras' `1875/1875 [====]` bar, on a terminal only (logs stay clean)."""
    if not sys.stdout.isatty():
        return None
    return keras.utils.Progbar(steps_per_epoch, unit_name="step")


def run_epochs(
    steps: Steps,
    train_ds,
    eval_ds,
    epochs: int,
    summaries: Optional[Summaries] = None,
    sample_ds=None,
) -> History:
    """The seed's epoch loop, over any object with Steps' interface (the
    distributed steps too, with distributed datasets: they take no step
    summaries, their epoch is one tf.function). `sample_ds`: the undistributed
    eval data, for the misclassified digits when the test pass hands the
    summaries no predictions (the distributed one runs in the graph)."""
    history = []
    steps_per_epoch = None  # known after the first epoch
    for epoch in range(1, epochs + 1):
        steps.reset()
        if summaries:
            summaries.start_epoch()
        started = time.monotonic()
        steps_per_epoch = steps.train_epoch(train_ds, _progress_bar(steps_per_epoch), summaries)
        float(steps.train_loss.result())  # waits for the last step to finish
        train_seconds = time.monotonic() - started
        steps.test_epoch(eval_ds, summaries)
        result = steps.epoch_result(train_seconds)
        log_epoch(epoch, result)
        history.append(result)
        if summaries:
            summaries.end_epoch(epoch, result, steps.model, sample_ds)
    return history


def train_custom(
    model: keras.Model,
    train_ds: tf.data.Dataset,
    eval_ds: tf.data.Dataset,
    config: TrainConfig,
    summaries: Optional[Summaries] = None,
) -> History:
    steps = Steps(
        model, learning_rate_for(config, train_ds), config.train_dropout, config.steps_per_call
    )
    return run_epochs(steps, train_ds, eval_ds, config.epochs, summaries, eval_ds)


def learning_rate_for(config: TrainConfig, train_ds):
    """The seed's constant rate, or a schedule over the run's steps.

    Counting the steps is one extra pass over the training data, which
    advances its reshuffling: only a non-constant schedule does it, so the
    default run sees the data in the same order as before.
    """
    if config.lr_schedule == "constant":
        return config.learning_rate
    return schedules.learning_rate(config, schedules.count_steps(train_ds))


class _SummaryCallback(keras.callbacks.Callback):
    """model.fit's side of Summaries: step scalars from the batch logs
    (converted only every N steps), epoch scalars and digits after validation."""

    _supports_tf_logs = True

    def __init__(self, summaries: Summaries, eval_ds):
        super().__init__()
        self.summaries, self.eval_ds = summaries, eval_ds

    def on_epoch_begin(self, epoch, logs=None):
        self.summaries.start_epoch()

    def on_train_batch_end(self, batch, logs=None):
        self.summaries.train_step(lambda: (
            float(logs["loss"]), float(logs["accuracy"]), schedules.current(self.model.optimizer)
        ))

    def on_epoch_end(self, epoch, logs=None):
        result = {
            "loss": float(logs["loss"]), "accuracy": float(logs["accuracy"]),
            "test_loss": float(logs["val_loss"]), "test_accuracy": float(logs["val_accuracy"]),
        }
        self.summaries.end_epoch(epoch + 1, result, self.model, self.eval_ds)


class _TrainTimer(keras.callbacks.Callback):
    """Each epoch's training time, up to its validation pass."""

    def __init__(self):
        super().__init__()
        self.seconds: List[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.monotonic()

    def on_test_begin(self, logs=None):
        self.seconds.append(time.monotonic() - self._started)


def train_fit(
    model: keras.Model,
    train_ds: tf.data.Dataset,
    eval_ds: tf.data.Dataset,
    config: TrainConfig,
    summaries: Optional[Summaries] = None,
) -> History:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate_for(config, train_ds)),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )
    timer = _TrainTimer()
    callbacks = [timer]
    if summaries and summaries.enabled:
        callbacks.append(_SummaryCallback(summaries, eval_ds))
    fit = model.fit(
        train_ds, validation_data=eval_ds, epochs=config.epochs, verbose=0, callbacks=callbacks
    )
    history = []
    for epoch in range(config.epochs):
        result = {
            "train_seconds": timer.seconds[epoch],
            "loss": fit.history["loss"][epoch],
            "accuracy": fit.history["accuracy"][epoch],
            "test_loss": fit.history["val_loss"][epoch],
            "test_accuracy": fit.history["val_accuracy"][epoch],
        }
        log_epoch(epoch + 1, result)
        history.append(result)
    return history


LOOPS: Dict[str, Callable[..., History]] = {"custom": train_custom, "fit": train_fit}
