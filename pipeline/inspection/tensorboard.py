"""Which TensorBoard logdirs the local runs wrote: each run's Trainer
`model_run` directory, found through ML Metadata (no TensorFlow here)."""
from typing import List, Sequence, Tuple

from foundation import names
from foundation.errors import UserError
from pipeline.config import PipelineConfig
from pipeline.inspection import metadata


def run_name(run_id: str) -> str:
    """A run id as a TensorBoard run name: --logdir_spec splits NAME:PATH at
    the first colon, and TFX's local run ids (ISO times) hold colons."""
    return run_id.replace(":", "-")


def model_runs(cfg: PipelineConfig, refs: Sequence[str] = ()) -> List[Tuple[str, str]]:
    """(run id, model_run URI) of the runs named (default: every run whose
    Trainer produced one, oldest first). A cached Trainer's run points at the
    directory of the run that trained."""
    store = metadata.open_store(cfg.metadata_path)
    chosen = [metadata.find_run(store, cfg.pipeline_name, ref) for ref in refs]
    found = []
    for run in chosen or metadata.runs(store, cfg.pipeline_name):
        trainer = metadata.executions(store, run).get(names.TRAINER)
        outputs = trainer.outputs.get(names.MODEL_RUN_KEY) if trainer else None
        if outputs:
            found.append((run.name, outputs[0].uri))
        elif chosen:
            raise UserError(f"Run {run.name} has no Trainer output (model_run): see `runs show {run.name}`")
    if not found:
        raise UserError(f"No run of {cfg.pipeline_name} in {cfg.output_dir} has trained a model yet")
    return found


def logdir_spec(runs: Sequence[Tuple[str, str]]) -> str:
    """TensorBoard's --logdir_spec: NAME:PATH,NAME:PATH."""
    for _, uri in runs:
        if "," in uri:
            raise UserError(f"TensorBoard's --logdir_spec cannot hold a path with a comma: {uri}")
    return ",".join(f"{run_name(run_id)}:{uri}" for run_id, uri in runs)
