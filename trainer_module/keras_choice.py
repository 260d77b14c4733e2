"""The one Keras this project trains with: Keras 2 (`tf_keras`), everywhere.

The trainer imports `tf_keras` explicitly, so its model is Keras 2 whatever
`tf.keras` resolves to. The rest of the process must agree with it: TFX 1.16,
TFMA 0.47 and tensorflow_transform 1.16 are built against Keras 2 and reach
it as `tf.keras`, and merely importing tensorflow_transform sets
TF_USE_LEGACY_KERAS=1 for the process and its children. So the process
boundary (pipeline/process/boundary.py) calls `select()` before TensorFlow is
imported, in every entry point and so for every child process it starts;
the container image sets the same variable for commands that do not start
through the boundary (the workers' printed command, run as-is by a TFJob).
"""
import os

ENV_VAR = "TF_USE_LEGACY_KERAS"
VALUE = "1"
EXPECTED = "tf_keras"


def select() -> None:
    """Sets the Keras choice for this process and every child it starts."""
    os.environ[ENV_VAR] = VALUE


def keep_autograph_out_of_keras() -> None:
    """Tells AutoGraph to leave Keras 2's own code alone (a private TensorFlow
    API: pipeline/process/compat.py)."""
    from pipeline.process import compat

    compat.keep_autograph_out_of_tf_keras(EXPECTED)


def require() -> str:
    """Names the trainer's Keras, e.g. 'tf_keras 2.16.0', after keeping
    AutoGraph out of it (see above)."""
    import tf_keras

    keep_autograph_out_of_keras()
    return f"{EXPECTED} {tf_keras.__version__}"
