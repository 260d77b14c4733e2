"""An ExampleGen for the MNIST IDX files: reads, checks and writes tf.Examples."""
from components.mnist_example_gen.component import MnistExampleGen

__all__ = ["MnistExampleGen"]
