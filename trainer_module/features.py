"""The tf.Example contract shared by ingestion, schema, trainer and serving."""
IMAGE_KEY = "image"
LABEL_KEY = "label"
IMAGE_SHAPE = (28, 28, 1)
NUM_PIXELS = 28 * 28
NUM_CLASSES = 10
PREDICTIONS_KEY = "probabilities"
