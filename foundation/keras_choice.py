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

`select()` also points both Keras versions at the project's copy of their
default config (keras_home/keras.json), unless KERAS_HOME names another.
Each writes that file when first imported if its directory lacks it:
tf_keras 2.16.0 into ~/.keras (tf_keras/src/backend.py:7292-7336), Keras
3.12.4 into ~/.keras, or /tmp/.keras whatever TMPDIR says when the home is
not writable (keras/src/backend/config.py:275-336). Every process imports
Keras 3: TFX 1.16's components import its Tuner, and so keras-tuner 1.4.8
(tfx/components/__init__.py:32, keras_tuner/src/backend/config.py:15). With
the file there, both read it and write nothing, so no process needs a home
it can write (a container run by an arbitrary uid:
docs/kubeflow.md#the-security-context), and a user's ~/.keras/keras.json
cannot change the float type the model is built with.
"""
import os

from foundation import compat

ENV_VAR = "TF_USE_LEGACY_KERAS"
VALUE = "1"
EXPECTED = "tf_keras"
HOME_VAR = "KERAS_HOME"
HOME = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_home")


def select() -> None:
    """Sets the Keras choice, and its config, for this process and every child it starts."""
    os.environ[ENV_VAR] = VALUE
    os.environ.setdefault(HOME_VAR, HOME)


def keep_autograph_out_of_keras() -> None:
    """Tells AutoGraph to leave Keras 2's own code alone (a private TensorFlow
    API: foundation/compat.py)."""
    compat.keep_autograph_out_of_tf_keras(EXPECTED)


def require() -> str:
    """Names the trainer's Keras, e.g. 'tf_keras 2.16.0', after keeping
    AutoGraph out of it (see above)."""
    import tf_keras

    keep_autograph_out_of_keras()
    return f"{EXPECTED} {tf_keras.__version__}"
