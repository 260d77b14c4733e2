"""`predict`: classify image files with the latest pushed model.

PNG/JPEG files are read as greyscale and scaled to 28x28; a `.npy` file holds
a batch ([N, 28, 28], [N, 28, 28, 1] or [N, 784]; uint8 0..255 or floats in
[0, 1]). MNIST digits are light on dark: an image whose mean is above mid-grey
(dark ink on paper) is inverted first. Input that is none of these is refused
with a message naming the file (UserError), before the model is loaded.
"""
import os
from typing import List, Tuple

import numpy as np

from foundation.errors import UserError
from pipeline.config import PipelineConfig
from trainer_module.features import PREDICTIONS_KEY, SERVING_IMAGES


def latest_pushed_model(cfg: PipelineConfig) -> str:
    versions = [v for v in os.listdir(cfg.serving_dir) if v.isdigit()] if os.path.isdir(cfg.serving_dir) else []
    if not versions:
        raise UserError(f"No pushed model under {cfg.serving_dir}: run the pipeline first")
    return os.path.join(cfg.serving_dir, max(versions, key=int))


NPY_SHAPES = ((28, 28), (28, 28, 1), (784,))


def _as_unit_floats(pixels: np.ndarray) -> np.ndarray:
    pixels = pixels.astype(np.float32)
    return pixels / 255.0 if pixels.max(initial=0) > 1.0 else pixels


def _load_npy(path: str) -> np.ndarray:
    """A checked batch from a .npy file, as [N, 28, 28]."""
    try:
        array = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise UserError(f"{path}: not a readable .npy file ({e})") from None
    if array.dtype.kind not in "uif" or array.ndim < 2 or array.shape[1:] not in NPY_SHAPES:
        raise UserError(
            f"{path}: {array.dtype} array of shape {array.shape}; expected numbers "
            "shaped [N, 28, 28], [N, 28, 28, 1] or [N, 784]"
        )
    if not np.isfinite(array).all() or array.min(initial=0) < 0 or array.max(initial=0) > 255:
        raise UserError(
            f"{path}: values from {array.min()} to {array.max()}; expected 0..255 or [0, 1]"
        )
    return array.reshape(len(array), 28, 28)


def _load_picture(path: str) -> np.ndarray:
    """A PNG/JPEG/... file as greyscale [1, 28, 28] in [0, 1]."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            grey = np.asarray(image.convert("L").resize((28, 28)), dtype=np.float32) / 255.0
    except OSError as e:  # missing, unreadable, or not an image
        raise UserError(f"{path}: not a readable image ({e})") from None
    return grey[None]


def load_images(paths: List[str]) -> Tuple[List[str], np.ndarray]:
    """-> (a name per image, float32 [N, 28, 28, 1] in [0, 1])."""
    names, batches = [], []
    for path in paths:
        if path.endswith(".npy"):
            images = _as_unit_floats(_load_npy(path))
            names += [f"{path}[{i}]" for i in range(len(images))]
        else:
            images = _load_picture(path)
            names.append(path)
        inverted = np.where(images.mean(axis=(1, 2), keepdims=True) > 0.5, 1.0 - images, images)
        batches.append(inverted)
    return names, np.concatenate(batches)[..., None].astype(np.float32)


def predict(cfg: PipelineConfig, paths: List[str]) -> List[str]:
    # Bad input and a missing model are refused before TensorFlow loads.
    names, images = load_images(paths)
    model_dir = latest_pushed_model(cfg)

    import tensorflow as tf


    serve = tf.saved_model.load(model_dir).signatures[SERVING_IMAGES]
    probabilities = serve(images=tf.constant(images))[PREDICTIONS_KEY].numpy()
    lines = [f"model: {model_dir}"]
    for name, row in zip(names, probabilities):
        lines.append(f"{name}: {int(row.argmax())} ({row.max():.1%})")
    return lines
