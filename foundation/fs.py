"""File access for local paths and object stores (gs://, s3://, ...), for the
components and for the pipeline that configures them.

Local paths use the standard library; URLs go through tf.io.gfile, which is
imported only then, so reading local MNIST does not pay for loading TensorFlow.
TensorFlow itself reads gs:// (its GCS plugin is a dependency); s3:// needs
tensorflow-io's filesystem plugins, which `register_filesystems` loads.
"""
import os
from typing import IO

_registered = False


def register_filesystems() -> None:
    """Gives tf.io.gfile tensorflow-io's filesystems (s3://, ...), once per process.

    It reads the endpoint and region from the environment (S3_ENDPOINT,
    AWS_REGION) when it first opens an s3:// path. A process that registered
    them must end without running C++ destructors (tensorflow-io 0.37.1 aborts
    at interpreter exit otherwise): its entry point checks
    `filesystems_registered` to know.
    """
    global _registered
    import tensorflow_io  # noqa: F401  (registers the plugins on import)

    _registered = True


def filesystems_registered() -> bool:
    """Whether this process set up s3:// (TFMA imports tensorflow_io on its
    own, so its presence in sys.modules says nothing)."""
    return _registered


def _gfile(path: str = ""):
    import tensorflow as tf

    if path.startswith("s3://"):
        register_filesystems()
    return tf.io.gfile


def is_remote(path: str) -> bool:
    """gs://, s3://, ...: paths only tf.io.gfile can read."""
    return "://" in path


def exists(path: str) -> bool:
    return _gfile(path).exists(path) if is_remote(path) else os.path.exists(path)


def open_file(path: str, mode: str) -> IO:
    return _gfile(path).GFile(path, mode) if is_remote(path) else open(path, mode)


def makedirs(path: str) -> None:
    if is_remote(path):
        _gfile(path).makedirs(path)
    else:
        os.makedirs(path, exist_ok=True)
