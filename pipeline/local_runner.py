"""Runs the pipeline locally: TFX's LocalDagRunner, Beam in-process, and an
embedded SQLite ML Metadata store under the output directory.

This file is also what the tfx CLI takes:

    tfx pipeline create --engine=local --pipeline_path="$PWD/pipeline/local_runner.py"
    tfx run create --engine=local --pipeline_name=mnist-tfx

The tfx CLI runs it as a script with no arguments, so its settings come from
the environment (MNIST_DIR, MNIST_TFX_OUTPUT_DIR, MNIST_TFX_EPOCHS, ...).
"""
import os
import sys

if __name__ == "__main__" and __package__ in (None, ""):
    # Run as a script (by the tfx CLI): this file's directory is first on
    # sys.path; put the project root there instead so `pipeline` is the package.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from pipeline import config as config_lib  # noqa: E402  (selects Keras first)
from pipeline import dag  # noqa: E402


def run(config: config_lib.PipelineConfig) -> None:
    from tfx import v1 as tfx

    os.makedirs(config.output_dir, exist_ok=True)
    tfx.orchestration.LocalDagRunner().run(
        dag.create_pipeline(
            config,
            metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(
                config.metadata_path
            ),
        )
    )


if __name__ == "__main__":
    run(config_lib.from_env())
