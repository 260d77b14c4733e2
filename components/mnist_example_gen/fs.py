"""File access for local paths and object stores (gs://, s3://, ...).

Local paths use the standard library; URLs go through tf.io.gfile, which is
imported only then, so reading local MNIST does not pay for loading TensorFlow.
"""
import os
from typing import IO


def _gfile():
    import tensorflow as tf

    return tf.io.gfile


def _is_url(path: str) -> bool:
    return "://" in path


def exists(path: str) -> bool:
    return _gfile().exists(path) if _is_url(path) else os.path.exists(path)


def open_file(path: str, mode: str) -> IO:
    return _gfile().GFile(path, mode) if _is_url(path) else open(path, mode)


def makedirs(path: str) -> None:
    if _is_url(path):
        _gfile().makedirs(path)
    else:
        os.makedirs(path, exist_ok=True)
