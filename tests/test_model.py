from pathlib import Path

import numpy as np
import tensorflow as tf

from components.mnist_example_gen import encoding
from foundation import keras_choice
from tests.synthetic_digits import make_digits
from trainer_module import export, train_loop
from trainer_module.model import build_model


def test_keras_2_is_active():
    assert keras_choice.require().startswith("tf_keras 2.")


def test_both_kerases_read_the_projects_config_which_holds_their_own_defaults(tmp_path):
    """So that neither writes one (foundation/keras_choice.py), and the
    model is what it would be with a fresh home: what each Keras writes into
    an empty KERAS_HOME is the project's file, value for value."""
    import json
    import os
    import subprocess
    import sys

    assert os.environ[keras_choice.HOME_VAR] == keras_choice.HOME  # conftest went through the boundary
    script = (
        "import os, sys\n"
        "os.environ['KERAS_HOME'] = sys.argv[1]\n"
        "import tf_keras\n"
        "os.environ['KERAS_HOME'] = sys.argv[2]\n"
        "import keras\n"
        "print(tf_keras.__version__, keras.__version__)\n"
    )
    homes = [tmp_path / "keras_2", tmp_path / "keras_3"]
    subprocess.run([sys.executable, "-c", script, *map(str, homes)], check=True, capture_output=True)
    ours = json.loads((Path(keras_choice.HOME) / "keras.json").read_text())
    for home in homes:
        assert json.loads((home / "keras.json").read_text()) == ours, home


def test_model_shapes():
    model = build_model()
    assert model.name == "Basic_CNN"
    assert model.input_shape == (None, 28, 28, 1)
    assert model.output_shape == (None, 10)
    probabilities = model(tf.zeros([3, 28, 28, 1])).numpy()
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # The seed's layers: 4 convolutions and 2 dense layers, with biases.
    assert model.count_params() == 1_676_266
    assert [type(layer).__name__ for layer in model.layers] == (
        ["InputLayer"]
        + ["Conv2D", "Activation", "Conv2D", "Activation", "MaxPooling2D", "Dropout"] * 2
        + ["Flatten", "Dense", "Activation", "Dropout", "Dense", "Activation"]
    )


def test_train_step_lowers_the_loss_on_a_fixed_batch():
    tf.keras.utils.set_random_seed(0)
    images, labels = make_digits(32, seed=6)
    images = tf.constant(images[..., None] / 255.0, tf.float32)
    labels = tf.constant(labels, tf.int64)
    steps = train_loop.Steps(build_model(), learning_rate=0.001)

    def loss():
        return float(steps.loss_object(labels, steps.model(images, training=False)))

    before = loss()
    for _ in range(5):
        steps.train_step(images, labels)
    assert loss() < before * 0.8


def test_both_serving_signatures_give_the_same_predictions(tmp_path):
    tf.keras.utils.set_random_seed(1)
    model = build_model()
    export.export_serving_model(model, str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    images, labels = make_digits(8, seed=7)

    by_examples = loaded.signatures[export.SERVING_EXAMPLES](
        examples=tf.constant(list(encoding.encode_all(images, labels)))
    )["probabilities"].numpy()
    by_images = loaded.signatures[export.SERVING_IMAGES](
        images=tf.constant(images[..., None] / 255.0, tf.float32)
    )["probabilities"].numpy()

    assert by_examples.shape == (8, 10)
    np.testing.assert_allclose(by_examples, by_images, atol=1e-6)
    np.testing.assert_allclose(by_images, model(images[..., None] / 255.0).numpy(), atol=1e-6)


def test_fit_loop_reports_the_same_history_as_the_custom_loop():
    from trainer_module.config import TrainConfig

    images, labels = make_digits(64, seed=8)
    ds = tf.data.Dataset.from_tensor_slices((images[..., None] / 255.0, labels.astype(np.int64))).batch(32)
    config = TrainConfig(epochs=2, loop="fit")
    fit = train_loop.LOOPS["fit"](build_model(), ds, ds, config)
    custom = train_loop.LOOPS["custom"](build_model(), ds, ds, TrainConfig(epochs=2))
    assert len(fit) == len(custom) == 2
    assert set(fit[0]) == set(custom[0]) == {
        "loss", "accuracy", "test_loss", "test_accuracy", "train_seconds"
    }
    assert all(0 < epoch["train_seconds"] < 60 for epoch in fit + custom)


def _train_predictions(dropout: bool):
    """The loss the train step saw, and the loss in inference mode."""
    tf.keras.utils.set_random_seed(2)
    images, labels = make_digits(32, seed=9)
    images = tf.constant(images[..., None] / 255.0, tf.float32)
    steps = train_loop.Steps(build_model(), learning_rate=0.0, dropout=dropout)
    steps.train_step(images, tf.constant(labels, tf.int64))
    # A zero learning rate leaves the weights as they were during the step.
    seen = float(steps.train_loss.result())
    inference = float(steps.loss_object(labels, steps.model(images, training=False)))
    return seen, inference


def test_train_dropout_off_trains_as_the_seeds_code_does():
    seen, inference = _train_predictions(dropout=False)
    assert seen == inference  # the seed's `model(images)`: dropout off, same graph
    seen, inference = _train_predictions(dropout=True)
    assert abs(seen - inference) > 1e-4  # dropout on: the train step sees other activations


def test_test_loss_is_the_mean_over_examples_whatever_the_eval_batch():
    tf.keras.utils.set_random_seed(3)
    images, labels = make_digits(100, seed=10)
    ds = tf.data.Dataset.from_tensor_slices(
        (tf.constant(images[..., None] / 255.0, tf.float32), labels.astype(np.int64))
    )
    steps = train_loop.Steps(build_model(), learning_rate=0.001)
    results = []
    for batch in (32, 256, 7):  # 100 = 3 x 32 + 4: a short last batch
        steps.reset()
        steps.test_epoch(ds.batch(batch))
        results.append(float(steps.test_loss.result()))
    exact = float(tf.reduce_mean(tf.keras.losses.sparse_categorical_crossentropy(
        labels, steps.model(images[..., None] / 255.0, training=False))))
    np.testing.assert_allclose(results, [exact] * 3, rtol=1e-5)


def test_autograph_leaves_keras_2_alone():
    from tensorflow.python.autograph.impl import conversion

    keras_choice.require()
    assert conversion.is_allowlisted(tf.keras.layers.Dense(1).call)


def test_the_train_step_traces_in_seconds_not_tens_of_seconds():
    # A fresh process: AutoGraph caches what it converted, so in this one an
    # earlier test may already have paid for it.
    import subprocess
    import sys

    script = (
        "import time, tensorflow as tf\n"
        "from foundation import keras_choice\nfrom trainer_module import train_loop\n"
        "from trainer_module.model import build_model\n"
        "keras_choice.require()\n"
        "steps = train_loop.Steps(build_model(), 0.001)\n"
        "started = time.process_time()\n"
        "steps.train_step(tf.zeros([32, 28, 28, 1]), tf.zeros([32], tf.int64))\n"
        "print(time.process_time() - started)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    seconds = float(out.stdout.split()[-1])
    # Measured: 1.0 s of CPU; 10.9 s when AutoGraph converted Keras' code.
    assert seconds < 5, seconds
