"""Several steps per tf.function call (trainer_module/step_groups.py) train
as one step per call does: the same steps, every example once an epoch, the
same weights and epoch lines, and step scalars at the same step numbers."""
import numpy as np
import pytest
import tensorflow as tf

from tests.synthetic_digits import make_digits
from trainer_module import train_loop
from trainer_module.config import TrainConfig
from trainer_module.model import build_model
from trainer_module.summaries import Summaries

# 23 batches of 8 and a short one of 3: groups of 5 end with a partial
# group (24 = 4 x 5 + 4), of 24 with one full group then an empty call, and
# of 4 with a full group then an empty call (24 = 6 x 4).
EXAMPLES, BATCH = 187, 8
# All batches full, as in the default run (60,000 = 1,875 x 32). A short last
# batch retraces the one-step-per-call train step, and the new trace's dropout
# ops start their random streams afresh, while a group keeps drawing from the
# same stream: with dropout on, the same masks need full batches.
FULL_BATCHES_EXAMPLES = 184
EPOCHS = 2


def _datasets(ids: bool = False, examples: int = EXAMPLES):
    images, labels = make_digits(examples, seed=11)
    images = images[..., None].astype(np.float32) / 255.0
    if ids:  # each image's first pixel is its index, so a step can tell which it saw
        images[:, 0, 0, 0] = np.arange(examples)
    train = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int64)))
    train = train.shuffle(50, seed=5, reshuffle_each_iteration=True).batch(BATCH)
    test = tf.data.Dataset.from_tensor_slices((images[:50], labels[:50].astype(np.int64))).batch(16)
    return train, test


def _train_with_summaries(steps_per_call: int, logdir: str) -> None:
    tf.keras.utils.set_random_seed(4)
    config = TrainConfig(epochs=EPOCHS, steps_per_call=steps_per_call, summary_every_steps=7)
    train, test = _datasets(examples=FULL_BATCHES_EXAMPLES)
    summaries = Summaries(logdir, config)
    train_loop.train_custom(build_model(), train, test, config, summaries)
    summaries.close()


class _Recording(train_loop.Steps):
    """Steps that count, per example, how often a train step saw it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = tf.Variable(tf.zeros([EXAMPLES], tf.int32))
        self.calls = 0

    @tf.function
    def train_step(self, images, labels):
        train_loop.Steps.train_step.python_function(self, images, labels)
        ids = tf.cast(images[:, 0, 0, 0], tf.int32)
        self.seen.scatter_nd_add(ids[:, None], tf.ones_like(ids))

    def train_group(self, iterator, limit):
        self.calls += 1
        return super().train_group(iterator, limit)


def _weights_and_history(steps_per_call: int, dropout: bool, examples: int):
    tf.keras.utils.set_random_seed(4)
    train, test = _datasets(examples=examples)
    steps = train_loop.Steps(build_model(), 0.001, dropout, steps_per_call)
    history = train_loop.run_epochs(steps, train, test, EPOCHS)
    return [v.numpy() for v in steps.model.weights], history


@pytest.mark.parametrize("steps_per_call", [4, 5, 24])
def test_each_epoch_runs_every_step_once_over_every_example(steps_per_call):
    train, _ = _datasets(ids=True)
    steps = _Recording(build_model(), 0.001, steps_per_call=steps_per_call)
    for epoch in range(1, EPOCHS + 1):
        assert steps.train_epoch(train) == 24  # 23 full batches and the short one
        np.testing.assert_array_equal(steps.seen.numpy(), np.full(EXAMPLES, epoch))
    assert steps.examples_seen == EXAMPLES * EPOCHS
    # Groups, not single steps: a group of 4 ends each epoch with an empty call.
    assert steps.calls == EPOCHS * (24 // steps_per_call + 1)


@pytest.mark.parametrize("dropout, examples", [
    (True, FULL_BATCHES_EXAMPLES),  # groups of 5 and 24: 23 = 4 x 5 + 3, and 23 + an empty call
    (False, EXAMPLES),  # a short last batch
])
def test_grouped_steps_give_one_step_per_calls_weights_and_epochs_bit_for_bit(dropout, examples):
    one, one_history = _weights_and_history(1, dropout, examples)
    for steps_per_call in (5, 24):
        grouped, grouped_history = _weights_and_history(steps_per_call, dropout, examples)
        assert [{k: v for k, v in e.items() if k != "train_seconds"} for e in grouped_history] == [
            {k: v for k, v in e.items() if k != "train_seconds"} for e in one_history
        ]
        for a, b in zip(one, grouped):
            np.testing.assert_array_equal(a, b)


def _step_scalars(logdir):
    found = {}
    for path in tf.io.gfile.glob(f"{logdir}/events.*"):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                if value.tag == "step/loss":
                    found[event.step] = float(tf.make_ndarray(value.tensor))
    return found


def test_step_scalars_come_at_the_same_steps_with_the_same_values(tmp_path):
    scalars = {}
    for steps_per_call in (1, 5):
        _train_with_summaries(steps_per_call, str(tmp_path / str(steps_per_call)))
        scalars[steps_per_call] = _step_scalars(tmp_path / str(steps_per_call))
    # Every 7th of 46 steps, though groups of 5 do not divide 7.
    assert sorted(scalars[1]) == [7, 14, 21, 28, 35, 42]
    assert scalars[5] == scalars[1]


def test_the_setting_must_be_at_least_one():
    with pytest.raises(ValueError, match="steps_per_call"):
        TrainConfig(steps_per_call=0)
