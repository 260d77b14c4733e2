"""Several training or test steps per `tf.function` call.

At the seed's batch of 32 a step is short, so the Python around it (the
iterator's `next`, the function call, the progress bar) is a measurable share
of it (docs/performance.md has the figures). A group draws its batches from
the dataset's iterator inside the function, in a `tf.range` loop, and runs
the same step function on each, in the same order: the weights and metrics
are those of one step per call.

An epoch's last group is cut short exactly where the data ends: each step
first asks the iterator for an optional batch, and the loop stops at the
first empty one. A group also ends at every step that takes a TensorBoard
scalar, so the scalars are read after the same steps as one step per call.
"""
from typing import Callable, Optional

import tensorflow as tf

from trainer_module.summaries import Summaries


def run_group(step: Callable, iterator, limit: tf.Tensor, count: Callable):
    """In a `tf.function`: up to `limit` calls of `step(images, labels)` on
    the iterator's next batches. Returns (steps run, examples seen); fewer
    than `limit` steps means the iterator is exhausted."""
    steps = tf.constant(0)
    examples = tf.constant(0)
    for _ in tf.range(limit):
        batch = iterator.get_next_as_optional()
        if not batch.has_value():
            break
        images, labels = batch.get_value()
        step(images, labels)
        steps += 1
        examples += count(labels)
    return steps, examples


def train_epoch(steps, dataset, bar=None, summaries: Optional[Summaries] = None) -> int:
    """One pass over `dataset` in groups of `steps.steps_per_call`; the bar
    and the summaries see every group's steps. Returns the number of steps."""
    iterator = iter(dataset)
    done = 0
    while True:
        limit = steps.steps_per_call
        if summaries:
            limit = min(limit, summaries.steps_to_next_scalar() or limit)
        ran, examples = steps.train_group(iterator, tf.constant(limit))
        ran = int(ran)
        steps.examples_seen += int(examples)
        done += ran
        if ran and bar:
            bar.update(done)
        if ran and summaries:
            summaries.train_step(steps.read_step, ran)
        if ran < limit:
            return done


def test_epoch(steps, dataset, summaries: Optional[Summaries] = None) -> None:
    """The test pass in groups. The batches whose predictions `summaries`
    keeps (for the misclassified digits) go one per call, as before."""
    iterator = iter(dataset)
    while summaries and summaries.wants_test_batches():
        batch = iterator.get_next_as_optional()
        if not batch.has_value():
            return
        images, labels = batch.get_value()
        summaries.test_batch(images, labels, steps.test_step(images, labels))
    limit = tf.constant(steps.steps_per_call)
    while int(steps.test_group(iterator, limit)[0]) == steps.steps_per_call:
        pass
