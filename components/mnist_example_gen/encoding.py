"""MNIST digits <-> serialized tf.Example.

Each example has `image`, an int64 list of the row-major pixels (0..255), and
`label`, one int64. Int64 lists let the schema check both the pixel count and
the value range.
"""
from typing import Iterator

import numpy as np
import tensorflow as tf

from trainer_module import features


def encode(image: np.ndarray, label: int) -> bytes:
    example = tf.train.Example(
        features=tf.train.Features(
            feature={
                features.IMAGE_KEY: tf.train.Feature(
                    int64_list=tf.train.Int64List(value=image.reshape(-1).tolist())
                ),
                features.LABEL_KEY: tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[int(label)])
                ),
            }
        )
    )
    # Deterministic: protobuf writes the `feature` map in no fixed order
    # otherwise (it varied from one example to the next), and the same data
    # must give the same example files, byte for byte.
    return example.SerializeToString(deterministic=True)


def encode_all(images: np.ndarray, labels: np.ndarray) -> Iterator[bytes]:
    for image, label in zip(images, labels):
        yield encode(image, label)


def decode(serialized: bytes):
    """-> (pixels as a flat int64 array, label). The inverse of `encode`."""
    example = tf.train.Example.FromString(serialized)
    feature = example.features.feature
    pixels = np.array(feature[features.IMAGE_KEY].int64_list.value, dtype=np.int64)
    return pixels, int(feature[features.LABEL_KEY].int64_list.value[0])
