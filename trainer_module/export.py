"""SavedModel export with the two serving signatures.

- `serving_default` takes serialized tf.Examples (what TFMA's Evaluator feeds),
- `serving_images` takes a float32 batch [N, 28, 28, 1] in [0, 1] (for clients).

Both return {"probabilities": [N, 10]} from the same model function, and
refuse input a client got wrong rather than predict from it: shapes and
dtypes are fixed by the signatures, and pixel values out of range fail an
assertion (InvalidArgumentError, HTTP 400 in TF Serving).

The exported model computes in float32 whatever the training precision, so
it serves at full speed on CPUs without bfloat16 units: a model trained under
`mixed_bfloat16` is rebuilt in float32 and given the trained float32
variables first (`as_float32`).
"""
import tensorflow as tf
import tf_keras as keras

from trainer_module import features, input_pipeline
from trainer_module import model as model_lib
from trainer_module.features import SERVING_EXAMPLES, SERVING_IMAGES


def _in_unit_range(images: tf.Tensor, message: str) -> tf.Tensor:
    """`images`, once every value is checked to be in [0, 1] (NaN is not)."""
    checks = [
        tf.debugging.assert_greater_equal(images, 0.0, message=message),
        tf.debugging.assert_less_equal(images, 1.0, message=message),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(images)


def as_float32(model: keras.Model) -> keras.Model:
    """`model` if it computes in float32, else a float32 Basic_CNN holding its
    weights. Mixed precision keeps the variables in float32, so the copy is
    exact: only the arithmetic changes."""
    if model_lib.computes_in_float32(model):
        return model
    copy = model_lib.build_model("float32")
    copy.set_weights(model.get_weights())
    return copy


def export_serving_model(model: keras.Model, export_dir: str) -> None:
    model = as_float32(model)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized):
        # Parsing fails on an `image` that is not 784 int64 values.
        images = input_pipeline.parse_images(serialized)
        images = _in_unit_range(images, "tf.Example feature image: pixel values must be in 0..255")
        return {features.PREDICTIONS_KEY: model(images, training=False)}

    @tf.function(
        input_signature=[
            tf.TensorSpec((None,) + features.IMAGE_SHAPE, tf.float32, name="images")
        ]
    )
    def serve_images(images):
        # A loaded signature does not check the shape it declares: without
        # this, a wrong shape fails deep inside the model, saying nothing useful.
        images = tf.ensure_shape(images, (None,) + features.IMAGE_SHAPE, name="images_shape")
        images = _in_unit_range(images, "images: pixel values must be in [0, 1]")
        return {features.PREDICTIONS_KEY: model(images, training=False)}

    tf.saved_model.save(
        model,
        export_dir,
        signatures={SERVING_EXAMPLES: serve_examples, SERVING_IMAGES: serve_images},
    )
