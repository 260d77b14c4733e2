"""The one Keras this project trains with: Keras 2 (`tf_keras`), everywhere.

TFX 1.16, TFMA 0.47 and tensorflow_transform 1.16 are built against Keras 2,
and merely importing tensorflow_transform sets TF_USE_LEGACY_KERAS=1 for the
process and its children. Left implicit, the same trainer would run with
Keras 3 under `python -m pipeline` and with Keras 2 under `tfx run create`.
So every entry point calls `select()` before TensorFlow is imported, the
container image sets the same variable, and the trainer checks it with
`require()` before it builds a model.
"""
import os

ENV_VAR = "TF_USE_LEGACY_KERAS"
VALUE = "1"
EXPECTED = "tf_keras"


def select() -> None:
    """Sets the Keras choice for this process and every child it starts."""
    os.environ[ENV_VAR] = VALUE


def active_keras() -> str:
    """Names the Keras that `tf.keras` resolves to, e.g. 'tf_keras 2.16.0'."""
    import tensorflow as tf

    # By what the layers are: tf.keras's module name varies with import order.
    if tf.keras.layers.Layer.__module__.startswith("tf_keras"):
        import tf_keras

        return f"tf_keras {tf_keras.__version__}"
    import keras

    return f"keras {keras.__version__}"


def keep_autograph_out_of_keras() -> None:
    """Tells AutoGraph to leave Keras 2's own code alone (a private TensorFlow
    API: pipeline/process/compat.py)."""
    from pipeline.process import compat

    compat.keep_autograph_out_of_tf_keras(EXPECTED)


def require() -> str:
    """Fails loudly when TensorFlow was loaded before the choice was made;
    then keeps AutoGraph out of Keras (see above)."""
    active = active_keras()
    if not active.startswith(EXPECTED):
        raise RuntimeError(
            f"tf.keras is {active}, but this project trains with Keras 2 "
            f"({EXPECTED}). Set {ENV_VAR}={VALUE} before TensorFlow is "
            "imported (every entry point of this project does)."
        )
    keep_autograph_out_of_keras()
    return active
