"""File access for local paths and object stores (gs://, s3://, ...).

Local paths use the standard library; URLs go through tf.io.gfile, which is
imported only then, so reading local MNIST does not pay for loading TensorFlow.
"""
import os
from typing import IO


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def is_remote(path: str) -> bool:
    """gs://, s3://, ...: paths only tf.io.gfile can read."""
    return "://" in path


def exists(path: str) -> bool:
    return _gfile().exists(path) if is_remote(path) else os.path.exists(path)


def open_file(path: str, mode: str) -> IO:
    return _gfile().GFile(path, mode) if is_remote(path) else open(path, mode)


def makedirs(path: str) -> None:
    if is_remote(path):
        _gfile().makedirs(path)
    else:
        os.makedirs(path, exist_ok=True)
