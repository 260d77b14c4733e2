"""Runs the pipeline locally: TFX's LocalDagRunner, Beam in-process, and an
embedded SQLite ML Metadata store under the output directory.

`python -m pipeline run` (pipeline/cli/run.py) and the tfx CLI's runner file
(pipeline/local_runner.py) both run it through `run`.

One run at a time per output directory: a run holds the directory's lock
throughout, and first cleans up after any earlier run that was killed.
"""
import glob
import os
import shutil
import time
from typing import List, Optional

# Not `tfx.v1`: it also imports the Google Cloud extensions (aiplatform),
# slow to import and unused by a local run.
from tfx.orchestration import metadata as tfx_metadata
from tfx.orchestration.local.local_dag_runner import LocalDagRunner
from tfx.orchestration.pipeline import RunOptions

from components.serving_check import early
from foundation import dir_lock
from pipeline import config as config_lib
from pipeline import dag
from pipeline.inspection import metadata
from pipeline.process import object_store


def _recover_from_killed_runs(config: config_lib.PipelineConfig) -> None:
    """Closes the executions a killed run left open and deletes their
    half-written outputs, as TFX does for an execution that fails."""
    for node in metadata.close_interrupted(config.metadata_path, config.pipeline_name):
        # TFX's layout (tfx/orchestration/portable/outputs_utils.py):
        # <root>/<node>/<output key>/<execution id> and the executor's
        # scratch space <root>/<node>/.system/executor_execution/<execution id>.
        node_dir = os.path.join(config.pipeline_root, node.node_id)
        execution_id = str(node.execution.id)
        for partial in glob.glob(os.path.join(node_dir, "*", execution_id)) + [
            os.path.join(node_dir, ".system", "executor_execution", execution_id)
        ]:
            shutil.rmtree(partial, ignore_errors=True)


def run(
    config: config_lib.PipelineConfig,
    from_nodes: Optional[List[str]] = None,
    base_run_id: Optional[str] = None,
) -> None:
    """Runs the whole pipeline, or (a partial run, for resuming) only
    `from_nodes` and what is downstream of them, reusing the other nodes'
    results from run `base_run_id`."""
    run_options = None
    if from_nodes:
        run_options = RunOptions(from_nodes=from_nodes, base_pipeline_run_id=base_run_id)
    config.check_local_output_dir()
    object_store.configure_process(config)  # for --mnist-dir s3://...
    with dir_lock.hold(config.output_dir):
        _recover_from_killed_runs(config)
        started_ms = int(time.time() * 1000)
        try:
            # One process runs every executor here: the Evaluator's starts
            # the ServingCheck's probe (components/serving_check/early.py).
            with early.enabled():
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
            metadata.record_failure(config.metadata_path, config.pipeline_name, error)
            raise
        finally:
            metadata.record_settings_given(
                config.metadata_path, config.pipeline_name, started_ms, config.explicit)
