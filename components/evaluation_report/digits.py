"""Digits for the report's picture grids: test digits the model gets wrong
(by the exported model's own predictions) and sample training digits.

Each digit travels as a small base64 PNG (Pillow), so the summary JSON is the
report's only input and the HTML needs no other file.
"""
import base64
import io
import os
from typing import Any, Dict, Iterator, List, Tuple

import numpy as np
import tensorflow as tf
from PIL import Image
from tfx import types
from tfx.types import artifact_utils
from tfx.utils import path_utils

from components import saved_models
from trainer_module import features, input_pipeline
from trainer_module.features import SERVING_IMAGES

# Two rows of eight. The search for them runs the model again (the Evaluator's
# predictions are not kept), in small batches, so it stops soon after it has
# found enough.
MAX_MISCLASSIFIED = 16
NUM_SAMPLES = 16
_BATCH = 256
_SPEC = {
    features.IMAGE_KEY: tf.io.FixedLenFeature([features.NUM_PIXELS], tf.int64),
    features.LABEL_KEY: tf.io.FixedLenFeature([], tf.int64),
}


def _batches(examples: types.Artifact, split: str, batch_size: int) -> Iterator[Tuple[np.ndarray, np.ndarray]]:
    """(uint8 pixels [n, 28, 28], int64 labels [n]) batches of a split, in file order."""
    pattern = os.path.join(artifact_utils.get_split_uri([examples], split), "*")
    ds = tf.data.TFRecordDataset(input_pipeline.expand_files([pattern]), compression_type="GZIP")
    for batch in ds.batch(batch_size).map(lambda s: tf.io.parse_example(s, _SPEC)):
        pixels = batch[features.IMAGE_KEY].numpy().astype(np.uint8).reshape(-1, 28, 28)
        yield pixels, batch[features.LABEL_KEY].numpy()


def png_base64(pixels: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", optimize=True)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def misclassified(examples: types.Artifact, split: str, model: types.Artifact) -> Dict[str, Any]:
    """Test digits the exported model (`serving_images`) gets wrong, the most
    confident mistakes first: the first MAX_MISCLASSIFIED or more in file order."""
    serve = saved_models.load(path_utils.serving_model_path(model.uri)).signatures[SERVING_IMAGES]
    examined, wrong = 0, []
    for pixels, labels in _batches(examples, split, _BATCH):
        probabilities = serve(images=input_pipeline.scale_pixels(tf.constant(pixels)))[features.PREDICTIONS_KEY].numpy()
        predicted = probabilities.argmax(axis=1)
        for i in np.flatnonzero(predicted != labels):
            wrong.append({
                "index": examined + int(i),
                "label": int(labels[i]),
                "predicted": int(predicted[i]),
                "confidence": float(probabilities[i].max()),
                "png": png_base64(pixels[i]),
            })
        examined += len(labels)
        if len(wrong) >= MAX_MISCLASSIFIED:
            break
    wrong.sort(key=lambda d: -d["confidence"])
    return {"count": len(wrong), "examined": examined, "digits": wrong[:MAX_MISCLASSIFIED]}


def samples(examples: types.Artifact, split: str) -> List[Dict[str, Any]]:
    """The split's first NUM_SAMPLES digits and their labels."""
    pixels, labels = next(_batches(examples, split, NUM_SAMPLES))
    return [{"label": int(label), "png": png_base64(image)} for image, label in zip(pixels, labels)]
