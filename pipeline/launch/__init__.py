"""Starting the pipeline: here (local), on Kubeflow Pipelines (compile,
deploy, each task's command), and training on local worker processes."""
