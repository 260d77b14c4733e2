"""MnistExampleGen: the four IDX files in, an `Examples` artifact out.

It has no input channels, like TFX's own ExampleGens. Its execution properties
(directory, subset size, and a fingerprint of the files) form the cache key,
so changing the data re-runs ingestion and everything after it.
"""
from typing import Optional

from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, component_spec, standard_artifacts

from components.mnist_example_gen import executor, source
from foundation import fs
from foundation.names import EXAMPLES_KEY


class MnistExampleGenSpec(component_spec.ComponentSpec):
    PARAMETERS = {
        executor.MNIST_DIR_KEY: component_spec.ExecutionParameter(type=str, optional=True),
        executor.MAX_EXAMPLES_KEY: component_spec.ExecutionParameter(type=int, optional=True),
        executor.FINGERPRINT_KEY: component_spec.ExecutionParameter(type=str, optional=True),
    }
    INPUTS = {}
    OUTPUTS = {
        EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples)
    }


class MnistExampleGen(base_component.BaseComponent):
    SPEC_CLASS = MnistExampleGenSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, mnist_dir: Optional[str] = None, max_examples_per_split: int = 0):
        """Reads `mnist_dir`, or downloads MNIST when it is None.

        Args:
          mnist_dir: a directory (local or object store) with the four files.
          max_examples_per_split: keep only the first N of each split (0: all).
        """
        if mnist_dir and not fs.is_remote(mnist_dir):
            fingerprint = source.fingerprint(mnist_dir)
        elif mnist_dir:
            fingerprint = ""  # object stores: the path is the identity
        else:
            fingerprint = "download:" + ",".join(sorted(source.CANONICAL_SHA256.values()))
        super().__init__(
            spec=MnistExampleGenSpec(
                mnist_dir=mnist_dir or "",
                max_examples_per_split=max_examples_per_split,
                source_fingerprint=fingerprint,
                examples=channel.Channel(type=standard_artifacts.Examples),
            )
        )
