"""The seed tutorial's training code, as-is: the baseline the pipeline must beat.

This is the notebook's data, model and custom-loop cells (../shared/seed/
tutorial.md), unchanged except for four things the benchmark needs:
  - `mnist.load_data()` reads the same four IDX files as the pipeline
    (load_data() would download them); the arrays are the same;
  - the epoch count comes from the command line (the notebook says 10);
  - the demo cells (plots, the throw-away `model.fit` of a first model) are
    left out: they are not part of training the model that gets used;
  - a mark before the loop and after each epoch prints the epoch's wall and
    CPU seconds (`_bench_mark`), so the benchmark can count stalled epochs.
Kept as the tutorial has them: the float64 `/ 255.0`, `from_tensor_slices`,
`shuffle(1000)`, `batch(32)`, and metrics that are never reset.

    python bench/bare_tutorial.py --mnist-dir ../shared/data/mnist --epochs 3
"""
import argparse
import gzip
import os
import time

import numpy as np
import tensorflow as tf  # noqa: E402
from tensorflow.keras import layers  # noqa: E402
from tensorflow.keras.layers import Activation, Conv2D, Dense, Dropout, Flatten, MaxPool2D  # noqa: E402


def load_data(mnist_dir):
    """mnist.load_data(), from the IDX files: ((X_train, y_train), (X_test, y_test))."""

    def read(name, offset):
        with gzip.open(os.path.join(mnist_dir, name + ".gz"), "rb") as f:
            return np.frombuffer(f.read(), np.uint8, offset=offset)

    x_train = read("train-images-idx3-ubyte", 16).reshape(-1, 28, 28)
    y_train = read("train-labels-idx1-ubyte", 8)
    x_test = read("t10k-images-idx3-ubyte", 16).reshape(-1, 28, 28)
    y_test = read("t10k-labels-idx1-ubyte", 8)
    return (x_train, y_train), (x_test, y_test)


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--mnist-dir", default=os.environ.get("MNIST_DIR", "../shared/data/mnist"))
parser.add_argument("--epochs", type=int, default=3)
args = parser.parse_args()

_last_mark = None


def _bench_mark():
    """The benchmark's, not the tutorial's: prints the wall and CPU seconds
    since the last mark, and the mark's time.monotonic() (one clock for the
    whole machine), so bench/run.py can place each epoch among its samples."""
    global _last_mark
    now = (time.monotonic(), time.process_time())
    if _last_mark:
        print(f"BENCH epoch wall={now[0] - _last_mark[0]:.3f} cpu={now[1] - _last_mark[1]:.3f} "
              f"end={now[0]:.3f}", flush=True)
    _last_mark = now


# ---- the tutorial, from here on ----
(X_train, y_train), (X_test, y_test) = load_data(args.mnist_dir)

X_train = X_train[..., tf.newaxis]
X_test = X_test[..., tf.newaxis]

X_train, X_test = X_train / 255.0, X_test / 255.0

train_ds = tf.data.Dataset.from_tensor_slices((X_train, y_train))
train_ds = train_ds.shuffle(1000)
train_ds = train_ds.batch(32)

test_ds = tf.data.Dataset.from_tensor_slices((X_test, y_test))
test_ds = test_ds.batch(32)

loss_object = tf.keras.losses.SparseCategoricalCrossentropy()
optimizer = tf.keras.optimizers.Adam()

train_loss = tf.keras.metrics.Mean(name="train_loss")
train_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="train_accuracy")

test_loss = tf.keras.metrics.Mean(name="test_loss")
test_accuracy = tf.keras.metrics.SparseCategoricalAccuracy(name="test_accuracy")


@tf.function
def train_step(images, labels):
    with tf.GradientTape() as tape:
        prediction = model(images)
        loss = loss_object(labels, prediction)

    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))

    train_loss(loss)
    train_accuracy(labels, prediction)


@tf.function
def test_step(images, labels):
    prediction = model(images)
    t_loss = loss_object(labels, prediction)

    test_loss(t_loss)
    test_accuracy(labels, prediction)


input_shape = (28, 28, 1)
num_classes = 10

inputs = layers.Input(shape=input_shape)

net = Conv2D(32, 3, padding="SAME")(inputs)
net = Activation("relu")(net)
net = Conv2D(32, 3, padding="SAME")(net)
net = Activation("relu")(net)
net = MaxPool2D((2, 2))(net)
net = layers.Dropout(0.25)(net)

net = Conv2D(64, 3, padding="SAME")(net)
net = Activation("relu")(net)
net = Conv2D(64, 3, padding="SAME")(net)
net = Activation("relu")(net)
net = MaxPool2D((2, 2))(net)
net = layers.Dropout(0.25)(net)

net = Flatten()(net)
net = Dense(512)(net)
net = Activation("relu")(net)
net = Dropout(0.25)(net)

net = Dense(num_classes)(net)
net = Activation("softmax")(net)

model = tf.keras.Model(inputs=inputs, outputs=net, name="Basic_CNN")

epochs = args.epochs
_bench_mark()  # the benchmark's
for epoch in range(epochs):
    for images, labels in train_ds:
        train_step(images, labels)

    for test_images, test_labels in test_ds:
        test_step(test_images, test_labels)

    template = "Epoch {}, Loss : {:.3f}, Accuracy: {:.3f}, Test Loss : {:.3f}, Test Accuracy: {:.3f}"
    print(template.format(epoch + 1, train_loss.result(), train_accuracy.result() * 100, test_loss.result(), test_accuracy.result() * 100), flush=True)
    _bench_mark()  # the benchmark's
# ---- end of the tutorial ----
_TRAINED = time.monotonic()

# The last epoch's test accuracy on its own (the tutorial's line accumulates
# over all epochs, because it never resets its metrics). The benchmark takes
# this pass's time off the script's wall time.
test_accuracy.reset_state()
for test_images, test_labels in test_ds:
    test_accuracy(test_labels, model(test_images))
print(f"BENCH final_test_accuracy={float(test_accuracy.result()):.6f}")
print(f"BENCH after_training_seconds={time.monotonic() - _TRAINED:.3f}")
