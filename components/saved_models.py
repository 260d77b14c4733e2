"""The candidate SavedModel, loaded once per process for the components that
run it in the pipeline's own process: the ServingCheck's reference and the
report's misclassified digits. In a local run both execute in one process,
one after the other, and a SavedModel's load is most of either's work in it;
on Kubeflow each has its own pod, and this only loads.

One model is kept: the last one asked for. It is the same model while the
path's saved_model.pb is the same file (size and modification time), so a
new export to the same path loads anew.
"""
import os
from typing import Any, Optional, Tuple

import tensorflow as tf

_last: Optional[Tuple[Tuple[str, int, int], Any]] = None


def load(path: str) -> Any:
    """tf.saved_model.load(path), or the object it gave last time for this file."""
    global _last
    stat = tf.io.gfile.stat(os.path.join(path, "saved_model.pb"))
    key = (path, stat.length, stat.mtime_nsec)
    if _last is None or _last[0] != key:
        _last = (key, tf.saved_model.load(path))
    return _last[1]
