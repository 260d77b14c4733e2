"""The pipeline file for the tfx CLI's Kubeflow V2 and Vertex engines (always pass --engine):

    MNIST_TFX_IMAGE=... MNIST_TFX_OUTPUT_DIR=gs://... \\
      tfx pipeline compile --engine=vertex --pipeline_path="$PWD/pipeline/kubeflow_runner.py"

Settings come from the environment, as for `python -m pipeline compile`. The
work is in pipeline/launch/kubeflow_compile.py; this file is only an entry point.
"""
from pipeline.process import boundary


def main() -> int:
    from pipeline import config as config_lib
    from pipeline.launch import kubeflow_compile

    kubeflow_compile.compile_pipeline(config_lib.from_env())
    return 0


if __name__ == "__main__":
    boundary.run_entry(main, script=__file__)
