"""The MNIST model package: features, input pipeline, CNN, training loops, export.

`task.run_fn` is the TFX Trainer's entry point. The model is Keras 2: every
module imports `tf_keras` itself (foundation/keras_choice.py says why).
"""
