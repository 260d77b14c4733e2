"""The MNIST model package: features, input pipeline, CNN, training loops, export.

`task.run_fn` is the TFX Trainer's entry point.
"""
from trainer_module import keras_choice

# The Trainer may import this package in a fresh process (Kubeflow's executor
# entry point); make the Keras choice before anything loads TensorFlow.
keras_choice.select()
