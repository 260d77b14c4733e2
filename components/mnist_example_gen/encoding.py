"""MNIST digits <-> serialized tf.Example.

Each example has `image`, an int64 list of the row-major pixels (0..255), and
`label`, one int64. Int64 lists let the schema check both the pixel count and
the value range.

`encode_all` writes the protobuf wire format directly, with every digit's
pixels varint-packed at once in numpy. It gives exactly the bytes of
`tf.train.Example.SerializeToString(deterministic=True)` (map keys sorted),
several times faster (docs/performance.md). Byte-for-byte repeatable output is the point: protobuf's
default serialization and tfx_bsl's C++ coder both order the feature map
differently from call to call, so the same digits would give different files.
"""
import functools
from typing import List

import numpy as np
import tensorflow as tf

from trainer_module import features


def _varint(value: int) -> bytes:
    out = bytearray()
    while value >= 0x80:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _header(number: int, length: int) -> bytes:
    """What precedes `length` bytes of a length-delimited protobuf field."""
    return _varint(number << 3 | 2) + _varint(length)


def _field(number: int, payload: bytes) -> bytes:
    return _header(number, len(payload)) + payload


def _int64_feature_header(key: str, packed_length: int) -> bytes:
    """The bytes before an int64 feature's packed values, in an entry of
    Features.feature (field 1, a map<string, Feature>): key (1), then Feature
    (2) holding int64_list (3) holding the packed values (1)."""
    int64_list = _header(1, packed_length)
    feature = _header(3, len(int64_list) + packed_length)
    value_length = len(feature) + len(int64_list) + packed_length
    entry = _field(1, key.encode()) + _header(2, value_length)
    return _header(1, len(entry) + value_length) + entry + feature + int64_list


def _packed_pixels(images: np.ndarray) -> List[bytes]:
    """uint8 [N, ...] -> each image's pixels as packed varints: one byte for
    values below 128, two (low 7 bits | 0x80, then 1) for the others."""
    flat = images.reshape(len(images), -1)
    high = flat >= 0x80
    pairs = np.empty(flat.shape + (2,), np.uint8)
    pairs[..., 0] = np.where(high, (flat & 0x7F) | 0x80, flat)
    pairs[..., 1] = 1
    keep = np.stack([np.ones_like(high), high], axis=-1).reshape(len(flat), -1)
    packed = pairs.reshape(len(flat), -1)[keep].tobytes()
    ends = np.cumsum(keep.sum(axis=1)).tolist()
    return [packed[start:end] for start, end in zip([0] + ends[:-1], ends)]


def encode_all(images: np.ndarray, labels: np.ndarray) -> List[bytes]:
    """uint8 images [N, 28, 28] and labels [N] -> N serialized tf.Examples."""
    # Headers depend only on lengths, and labels take few values: build each
    # once, so the loop below only joins bytes.
    image_headers = functools.lru_cache(maxsize=None)(
        lambda length: _int64_feature_header(features.IMAGE_KEY, length)
    )
    label_entries = {
        label: _int64_feature_header(features.LABEL_KEY, len(_varint(label))) + _varint(label)
        for label in set(labels.tolist())
    }
    examples = []
    for pixels, label in zip(_packed_pixels(images), labels.tolist()):
        entries = image_headers(len(pixels)) + pixels + label_entries[label]
        examples.append(_field(1, entries))
    return examples


def decode(serialized: bytes):
    """-> (pixels as a flat int64 array, label). The inverse of `encode_all`."""
    example = tf.train.Example.FromString(serialized)
    feature = example.features.feature
    pixels = np.array(feature[features.IMAGE_KEY].int64_list.value, dtype=np.int64)
    return pixels, int(feature[features.LABEL_KEY].int64_list.value[0])
