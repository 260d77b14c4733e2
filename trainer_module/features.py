"""The tf.Example contract shared by ingestion, schema, trainer and serving."""
IMAGE_KEY = "image"
LABEL_KEY = "label"
IMAGE_SHAPE = (28, 28, 1)
NUM_PIXELS = 28 * 28
NUM_CLASSES = 10
PREDICTIONS_KEY = "probabilities"
# The exported model's two signatures (export.py): serialized tf.Examples
# (what TFMA's Evaluator feeds), and float images (for clients).
SERVING_EXAMPLES = "serving_default"
SERVING_IMAGES = "serving_images"
