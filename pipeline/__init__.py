"""The MNIST TFX pipeline: configuration, DAG, runners and the project's CLI."""
from trainer_module import keras_choice

# Every entry point (this package's CLI, the runner scripts the tfx CLI
# executes, the tests) imports this package before TensorFlow.
keras_choice.select()
