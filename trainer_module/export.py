"""SavedModel export with the two serving signatures.

- `serving_default` takes serialized tf.Examples (what TFMA's Evaluator feeds),
- `serving_images` takes a float32 batch [N, 28, 28, 1] in [0, 1] (for clients).

Both return {"probabilities": [N, 10]} from the same model function.
"""
import tensorflow as tf

from trainer_module import features, input_pipeline

SERVING_EXAMPLES = "serving_default"
SERVING_IMAGES = "serving_images"


def export_serving_model(model: tf.keras.Model, export_dir: str) -> None:
    @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="examples")])
    def serve_examples(serialized):
        images = input_pipeline.parse_images(serialized)
        return {features.PREDICTIONS_KEY: model(images, training=False)}

    @tf.function(
        input_signature=[
            tf.TensorSpec((None,) + features.IMAGE_SHAPE, tf.float32, name="images")
        ]
    )
    def serve_images(images):
        return {features.PREDICTIONS_KEY: model(images, training=False)}

    tf.saved_model.save(
        model,
        export_dir,
        signatures={SERVING_EXAMPLES: serve_examples, SERVING_IMAGES: serve_images},
    )
