"""The seed tutorial's Functional-API CNN, `Basic_CNN`, layer for layer.

`policy` is the Keras dtype policy of every layer but the softmax, which
stays float32 under mixed precision (so do the loss and the metrics, which
read its output): bfloat16's 8-bit mantissa would round the probabilities.
"""
from typing import Optional

import tf_keras as keras
from tf_keras import layers

from trainer_module import features


def _conv_block(net, filters: int, policy: Optional[str]):
    """Two 3x3 same-padded ReLU convolutions, 2x2 max-pooling, dropout 0.25."""
    for _ in range(2):
        net = layers.Conv2D(filters, 3, padding="SAME", dtype=policy)(net)
        net = layers.Activation("relu", dtype=policy)(net)
    net = layers.MaxPool2D((2, 2), dtype=policy)(net)
    return layers.Dropout(0.25, dtype=policy)(net)


def build_model(policy: Optional[str] = None) -> keras.Model:
    """None: Keras' global policy (float32 unless someone changed it)."""
    inputs = layers.Input(shape=features.IMAGE_SHAPE)

    # Feature extraction: conv32-conv32-pool-dropout, conv64-conv64-pool-dropout
    net = _conv_block(inputs, 32, policy)
    net = _conv_block(net, 64, policy)

    # Fully connected
    net = layers.Flatten(dtype=policy)(net)
    net = layers.Dense(512, dtype=policy)(net)
    net = layers.Activation("relu", dtype=policy)(net)
    net = layers.Dropout(0.25, dtype=policy)(net)

    # Output layer
    net = layers.Dense(features.NUM_CLASSES, dtype=policy)(net)
    net = layers.Activation("softmax", dtype="float32")(net)

    return keras.Model(inputs=inputs, outputs=net, name="Basic_CNN")


def computes_in_float32(model: keras.Model) -> bool:
    return all(layer.compute_dtype == "float32" for layer in model.layers)
