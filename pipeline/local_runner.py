"""The pipeline file for the tfx CLI's local engine:

    tfx pipeline create --engine=local --pipeline_path="$PWD/pipeline/local_runner.py"
    tfx run create --engine=local --pipeline_name=mnist-tfx

The tfx CLI runs it as a script with no arguments, so its settings come from
the environment (MNIST_DIR, MNIST_TFX_OUTPUT_DIR, MNIST_TFX_EPOCHS, ...).
`tfx run create` shows what `python -m pipeline run` shows: one line per
component, the trainer's epochs, the verdict; the rest goes to a log file.
`tfx pipeline create` executes this file inside its own process, where
LocalDagRunner.run only records the pipeline.

The work is in pipeline/launch/local.py; this file is only an entry point.
"""
from pipeline.process import boundary


def main() -> int:
    from pipeline import config as config_lib

    config = config_lib.from_env()
    if not boundary.is_program(__file__):  # inside `tfx pipeline create`
        from pipeline.launch import local

        local.run(config)
        return 0
    from pipeline.cli import run

    return run.run_in_terminal(config)


if __name__ == "__main__":
    boundary.run_entry(main, script=__file__, quiet=True)
