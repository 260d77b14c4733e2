"""The seed tutorial's Functional-API CNN, `Basic_CNN`, layer for layer."""
import tensorflow as tf
from tensorflow.keras import layers

from trainer_module import features


def build_model() -> tf.keras.Model:
    inputs = layers.Input(shape=features.IMAGE_SHAPE)

    # Feature extraction
    net = layers.Conv2D(32, 3, padding="SAME")(inputs)
    net = layers.Activation("relu")(net)
    net = layers.Conv2D(32, 3, padding="SAME")(net)
    net = layers.Activation("relu")(net)
    net = layers.MaxPool2D((2, 2))(net)
    net = layers.Dropout(0.25)(net)

    net = layers.Conv2D(64, 3, padding="SAME")(net)
    net = layers.Activation("relu")(net)
    net = layers.Conv2D(64, 3, padding="SAME")(net)
    net = layers.Activation("relu")(net)
    net = layers.MaxPool2D((2, 2))(net)
    net = layers.Dropout(0.25)(net)

    # Fully connected
    net = layers.Flatten()(net)
    net = layers.Dense(512)(net)
    net = layers.Activation("relu")(net)
    net = layers.Dropout(0.25)(net)

    # Output layer
    net = layers.Dense(features.NUM_CLASSES)(net)
    net = layers.Activation("softmax")(net)

    return tf.keras.Model(inputs=inputs, outputs=net, name="Basic_CNN")
