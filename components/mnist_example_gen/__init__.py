"""An ExampleGen for the MNIST IDX files: reads, checks and writes tf.Examples.

The component is in `component.py`. This package imports nothing heavy, so
the CLI can check or download the data in a second, before TensorFlow loads.
"""
