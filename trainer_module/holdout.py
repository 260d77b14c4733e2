"""The slice of the training split that scores the Tuner's trials.

The Evaluator judges the tuned model on the eval split, so the trials must
not be chosen on it: a choice made there carries its optimism into the
blessing, the more so the more trials. Each trial trains on the training
split less a held-out slice, and is scored on that slice.

An example is held out when TensorFlow's `tf.fingerprint` (FarmHash's
Fingerprint64, which FarmHash keeps unchanged across releases and platforms)
of the seed's 8 bytes followed by the image's 784 pixels falls in the lowest
`share` of its range: the rule of TFX's hash-bucket splits (a hash of the example, or of one
feature, against the buckets), on the image feature, keyed. So the slice
- is the same for the same seed and data, and another seed draws another;
- never shares an image with what the trials train on: an image and its exact
  copies fall on the same side, whatever their labels;
- holds every digit out at the same rate, since the fingerprint ignores the
  label. Its class balance is still checked, with the data gate's rule (every
  digit at least `min_class_share` of it), so that a slice too small to score
  on, or a change that made the rule depend on the label or the order, stops
  the Tuner rather than skewing the choice.

It is a filter in the Tuner's input pipeline only: the splits, their
statistics and data checks, the Trainer (which trains on the whole training
split) and the other components' cache keys are untouched.
"""
from typing import List, Optional

import numpy as np
import tensorflow as tf

from trainer_module import features, input_pipeline


class UnbalancedHoldout(ValueError):
    """The held-out slice misses a digit, or has too few of one to score on."""


# Each fingerprint byte's weight in [0, 1): the op writes its 8 bytes
# little-endian, read here by arithmetic so that any host reads the same value.
_BYTE_WEIGHTS = 256.0 ** np.arange(-8, 0)


def held_out(pixels: tf.Tensor, seed: int, share: float) -> tf.Tensor:
    """uint8 images [N, ...] -> bool [N]: which fall in the held-out slice."""
    flat = tf.reshape(pixels, (-1, features.NUM_PIXELS))
    key = tf.constant(np.frombuffer(np.int64(seed).tobytes(), np.uint8))
    keyed = tf.concat([tf.tile(key[tf.newaxis], [tf.shape(flat)[0], 1]), flat], axis=1)
    position = tf.linalg.matvec(tf.cast(tf.fingerprint(keyed), tf.float64), _BYTE_WEIGHTS)
    return position < share


class Slices:
    """The training split's two parts for one seed and share: the held-out
    slice (scores) and the rest (trains)."""

    def __init__(self, train_files: List[str], seed: int, share: float):
        if not 0 < share < 1:
            raise ValueError(f"the held-out share must be between 0 and 1, not {share}")
        self.train_files, self.seed, self.share = list(train_files), seed, share

    def _in(self, pixels):
        return held_out(pixels, self.seed, self.share)

    def _out(self, pixels):
        return tf.logical_not(held_out(pixels, self.seed, self.share))

    def holdout(self, batch_size: int) -> tf.data.Dataset:
        return input_pipeline.make_dataset(self.train_files, batch_size, keep=self._in)

    def rest(self, batch_size: int, shuffle_buffer: Optional[int] = None,
             seed: Optional[int] = None, max_examples: int = 0) -> tf.data.Dataset:
        return input_pipeline.make_dataset(
            self.train_files, batch_size, shuffle_buffer=shuffle_buffer, seed=seed,
            max_examples=max_examples, keep=self._out,
        )


def label_counts(ds: tf.data.Dataset) -> List[int]:
    """Examples per digit in batches of (images, labels): one pass (which
    fills the dataset's cache, if it has one)."""
    counts = np.zeros(features.NUM_CLASSES, np.int64)
    for _, labels in ds:
        counts += np.bincount(labels.numpy(), minlength=features.NUM_CLASSES)[:features.NUM_CLASSES]
    return counts.tolist()


def check_balance(counts: List[int], min_share: float) -> None:
    """The data gate's class-balance rule, on the held-out slice's label counts."""
    total = sum(counts)
    low = [(d, n) for d, n in enumerate(counts) if n < min_share * total]
    if total == 0 or low:
        found = "; ".join(f"digit {d} has {n} of {total} ({n / (total or 1):.2%})" for d, n in low)
        raise UnbalancedHoldout(
            f"the slice of the training split held out to score the trials is unbalanced: "
            f"{found or 'it is empty'}, below the bound {min_share:.2%} (min_class_share). "
            "Hold out a larger share (--tuner-holdout-share) or use more data."
        )
