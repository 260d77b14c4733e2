"""The seed tutorial's Functional-API CNN, `Basic_CNN`, layer for layer."""
import tf_keras as keras
from tf_keras import layers

from trainer_module import features


def _conv_block(net, filters: int):
    """Two 3x3 same-padded ReLU convolutions, 2x2 max-pooling, dropout 0.25."""
    for _ in range(2):
        net = layers.Conv2D(filters, 3, padding="SAME")(net)
        net = layers.Activation("relu")(net)
    net = layers.MaxPool2D((2, 2))(net)
    return layers.Dropout(0.25)(net)


def build_model() -> keras.Model:
    inputs = layers.Input(shape=features.IMAGE_SHAPE)

    # Feature extraction: conv32-conv32-pool-dropout, conv64-conv64-pool-dropout
    net = _conv_block(inputs, 32)
    net = _conv_block(net, 64)

    # Fully connected
    net = layers.Flatten()(net)
    net = layers.Dense(512)(net)
    net = layers.Activation("relu")(net)
    net = layers.Dropout(0.25)(net)

    # Output layer
    net = layers.Dense(features.NUM_CLASSES)(net)
    net = layers.Activation("softmax")(net)

    return keras.Model(inputs=inputs, outputs=net, name="Basic_CNN")
