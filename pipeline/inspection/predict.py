"""`predict`: classify image files with the latest pushed model.

PNG/JPEG files are read as greyscale and scaled to 28x28; a `.npy` file holds
a batch ([N, 28, 28], [N, 28, 28, 1] or [N, 784]; uint8 0..255 or floats in
[0, 1]). MNIST digits are light on dark: an image whose mean is above mid-grey
(dark ink on paper) is inverted first.

Each file is answered on its own: one that cannot be read is an error naming
it, and the others still get their answers. An answer is a digit only when
the input looks like a digit and the model is sure of it (`judge`); else it is
"no digit" (no ink) or "uncertain", with the likeliest digit. The rule and
what it catches, measured on real test digits and on blank, noise and other
images: bench/predict_uncertainty.py, docs/inspecting-runs.md#predict.
"""
import dataclasses
import os
from typing import List, Optional, Tuple

import numpy as np

from foundation import text
from foundation.errors import UserError
from pipeline.config import PipelineConfig
from trainer_module.features import PREDICTIONS_KEY, SERVING_IMAGES

# The rule, measured by bench/predict_uncertainty.py on the 10,000 test
# digits and on blank, noise and other images (docs/inspecting-runs.md#predict).
# A pixel at or above this intensity (0..1, after inversion) is ink.
INK_LEVEL = 0.5
# Less ink than this share of the image: blank, no digit. The faintest test
# digit has 2.4%.
MIN_INK_SHARE = 0.01
# More: not a digit's strokes on a dark ground (the boldest test digit has
# 32.9%; the margin is for digits drawn with a thicker pen).
MAX_INK_SHARE = 0.5
# A top probability under this is no answer: it marks 1.6% of the test
# digits, 46 of the 63 the model gets wrong among them, and every noise image
# and 72% of shapes and letters that passed the ink checks.
MIN_CONFIDENCE = 0.9


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


def as_model_input(images: np.ndarray) -> np.ndarray:
    """[N, 28, 28] in [0, 1] -> the model's [N, 28, 28, 1], light on dark."""
    inverted = np.where(images.mean(axis=(1, 2), keepdims=True) > 0.5, 1.0 - images, images)
    return inverted[..., None].astype(np.float32)


def load_file(path: str) -> Tuple[List[str], np.ndarray]:
    """-> (a name per image, float32 [N, 28, 28, 1] in [0, 1]); UserError naming the file."""
    if path.endswith(".npy"):
        images = _as_unit_floats(_load_npy(path))
        return [f"{path}[{i}]" for i in range(len(images))], as_model_input(images)
    return [path], as_model_input(_load_picture(path))


@dataclasses.dataclass
class Answer:
    digit: int  # the likeliest digit
    probability: float  # its probability
    ink_share: float  # pixels at or above INK_LEVEL, share of the image
    doubt: Optional[str]  # None: an answer; else why it is none ("no ink", ...)

    @property
    def no_digit(self) -> bool:
        return self.ink_share < MIN_INK_SHARE

    def line(self) -> str:
        """'7 (99.2%)', 'no digit: blank (...)' or 'uncertain: likeliest 3 (41.0%), but ...'."""
        likeliest = f"{self.digit} ({text.pct(self.probability, 1)})"
        if self.doubt is None:
            return likeliest
        if self.no_digit:
            return f"no digit: {self.doubt}"
        return f"uncertain: likeliest {likeliest}, but {self.doubt}"


def judge(image: np.ndarray, probabilities: np.ndarray) -> Answer:
    """The answer for one model input ([28, 28, 1]) and its probabilities."""
    ink = float(np.mean(image >= INK_LEVEL))
    digit, probability = int(probabilities.argmax()), float(probabilities.max())
    doubt = None
    if ink < MIN_INK_SHARE:
        doubt = f"blank (ink on {text.pct(ink, 1)} of the image)"
    elif ink > MAX_INK_SHARE:
        doubt = (f"ink covers {text.pct(ink, 0)} of the image "
                 f"(a digit's strokes: under {text.pct(MAX_INK_SHARE, 0)})")
    elif probability < MIN_CONFIDENCE:
        doubt = f"an answer needs {text.pct(MIN_CONFIDENCE, 0)}"
    return Answer(digit, probability, ink, doubt)


def classify(model_dir: str, images: np.ndarray) -> np.ndarray:
    """The model's probabilities, [N, 10], for model inputs [N, 28, 28, 1]."""
    import tensorflow as tf

    serve = tf.saved_model.load(model_dir).signatures[SERVING_IMAGES]
    return serve(images=tf.constant(images))[PREDICTIONS_KEY].numpy()


def predict(cfg: PipelineConfig, paths: List[str]) -> Tuple[List[str], List[str]]:
    """(answer lines, error lines): one answer per image read, one error per
    file that could not be. Unreadable files and a missing model are known
    before TensorFlow loads."""
    names, batches, errors = [], [], []
    for path in paths:
        try:
            found, images = load_file(path)
        except UserError as e:
            errors.append(str(e))
            continue
        names += found
        batches.append(images)
    if not batches:
        return [], errors
    model_dir = latest_pushed_model(cfg)
    images = np.concatenate(batches)
    lines = [f"model: {model_dir}"]
    for name, image, row in zip(names, images, classify(model_dir, images)):
        lines.append(f"{name}: {judge(image, row).line()}")
    return lines, errors
