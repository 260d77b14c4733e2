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
from typing import List, Optional

if __name__ == "__main__" and __package__ in (None, ""):
    # Run as a script (by the tfx CLI): this file's directory is first on
    # sys.path; put the project root there instead so `pipeline` is the package.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

from pipeline import config as config_lib  # noqa: E402  (selects Keras first)
from pipeline import dag  # noqa: E402


def run(
    config: config_lib.PipelineConfig,
    from_nodes: Optional[List[str]] = None,
    base_run_id: Optional[str] = None,
) -> None:
    """Runs the whole pipeline, or (a partial run, for resuming) only
    `from_nodes` and what is downstream of them, reusing the other nodes'
    results from run `base_run_id`."""
    # Not `tfx.v1`: it also imports the Google Cloud extensions (aiplatform),
    # 3 s of every run's start, for nothing a local run uses.
    from tfx.orchestration import metadata as tfx_metadata
    from tfx.orchestration.local.local_dag_runner import LocalDagRunner
    from tfx.orchestration.pipeline import RunOptions

    os.makedirs(config.output_dir, exist_ok=True)
    run_options = None
    if from_nodes:
        run_options = RunOptions(from_nodes=from_nodes, base_pipeline_run_id=base_run_id)
    try:
        LocalDagRunner().run(
            dag.create_pipeline(
                config,
                metadata_connection_config=tfx_metadata.sqlite_metadata_connection_config(
                    config.metadata_path
                ),
            ),
            run_options=run_options,
        )
    except Exception as error:
        from pipeline import metadata

        metadata.record_failure(config.metadata_path, config.pipeline_name, error)
        raise


if __name__ == "__main__":
    run(config_lib.from_env())
