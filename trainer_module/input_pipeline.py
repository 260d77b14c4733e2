"""tf.data input: gzipped TFRecords of tf.Example -> batches of (image, label).

Examples are parsed in large batches and cached as uint8 once, so every later
epoch only shuffles, batches and scales: the training step never waits on
protobuf parsing, and nothing goes through float64.
"""
import os
from typing import Callable, Iterable, List, Optional

import tensorflow as tf

from trainer_module import features

_PARSE_BATCH = 1024
# Parallelism fixed at one call per core, and tf.data's autotuning off: with
# autotuning on, deleting an epoch's iterator waits for the tuning thread, and
# some epochs stalled on it (the profile is in docs/performance.md). After the
# first epoch the work left per batch is a shuffle and a scale: nothing to tune.
_PARALLEL_CALLS = os.cpu_count() or 1
_PREFETCH = 2
_OPTIONS = tf.data.Options()
_OPTIONS.autotune.enabled = False
_IMAGE_SPEC = tf.io.FixedLenFeature([features.NUM_PIXELS], tf.int64)
_LABEL_SPEC = tf.io.FixedLenFeature([], tf.int64)


def expand_files(patterns: Iterable[str]) -> List[str]:
    """Expands the Trainer's file patterns (they are globs, not file names)."""
    patterns = list(patterns)
    files = sorted({f for pattern in patterns for f in tf.io.gfile.glob(pattern)})
    if not files:
        raise FileNotFoundError(f"No TFRecord files match {patterns}")
    return files


def scale_pixels(pixels: tf.Tensor) -> tf.Tensor:
    """Pixels in 0..255 (any int or float dtype) -> float32 [N, 28, 28, 1] in [0, 1]."""
    images = tf.cast(pixels, tf.float32) / 255.0
    return tf.reshape(images, (-1,) + features.IMAGE_SHAPE)


def parse_images(serialized: tf.Tensor) -> tf.Tensor:
    """Serialized tf.Examples -> model-ready images (labels not needed)."""
    parsed = tf.io.parse_example(serialized, {features.IMAGE_KEY: _IMAGE_SPEC})
    return scale_pixels(parsed[features.IMAGE_KEY])


def _decode(serialized: tf.Tensor):
    parsed = tf.io.parse_example(
        serialized, {features.IMAGE_KEY: _IMAGE_SPEC, features.LABEL_KEY: _LABEL_SPEC}
    )
    pixels = tf.reshape(
        tf.cast(parsed[features.IMAGE_KEY], tf.uint8), (-1,) + features.IMAGE_SHAPE
    )
    return pixels, parsed[features.LABEL_KEY]


def _scale(pixels: tf.Tensor, labels: tf.Tensor):
    return scale_pixels(pixels), labels


def _masked(pixels: tf.Tensor, labels: tf.Tensor, mask: tf.Tensor):
    return tf.boolean_mask(pixels, mask), tf.boolean_mask(labels, mask)


# A batch of uint8 images [N, 28, 28, 1] -> which of them to keep (bool [N]).
Keep = Callable[[tf.Tensor], tf.Tensor]


def make_dataset(
    file_patterns: Iterable[str],
    batch_size: int,
    shuffle_buffer: Optional[int] = None,
    seed: Optional[int] = None,
    max_examples: int = 0,
    keep: Optional[Keep] = None,
) -> tf.data.Dataset:
    """Batches of (float32 images in [0, 1], int64 labels) from TFRecord files.

    With `shuffle_buffer`, examples are reshuffled every epoch, like the seed
    tutorial's `shuffle(1000)`. `max_examples`: only the first N (0: all), of
    those `keep` keeps (None: every example).
    """
    files = expand_files(file_patterns)
    ds = tf.data.TFRecordDataset(files, compression_type="GZIP")
    ds = ds.batch(_PARSE_BATCH).map(_decode, num_parallel_calls=_PARALLEL_CALLS)
    if keep is not None:
        ds = ds.map(
            lambda pixels, labels: _masked(pixels, labels, keep(pixels)),
            num_parallel_calls=_PARALLEL_CALLS,
        )
    ds = ds.unbatch()
    if max_examples:
        ds = ds.take(max_examples)
    ds = ds.cache()
    if shuffle_buffer:
        ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size).map(_scale, num_parallel_calls=_PARALLEL_CALLS)
    return ds.prefetch(_PREFETCH).with_options(_OPTIONS)
