"""The MNIST TFX pipeline: configuration, DAG, runners and the project's CLI.

  config.py, beam_profiles.py  the one configuration object, and where Beam runs
  dag.py, evaluation.py        the pipeline's components and edges; the Evaluator's bar
  local_runner.py, kubeflow_runner.py  thin files for the tfx CLI
  cli/         `python -m pipeline ...`, one module per command group
  launch/      running it: here, on Kubeflow (compile, deploy, task command), on workers
  inspection/  reading runs back from ML Metadata; predictions
  process/     every process's start and end (boundary.py), compat.py, s3://, console

Importing this package has no side effects: entry points go through
pipeline/process/boundary.py.
"""
