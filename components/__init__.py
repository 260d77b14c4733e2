"""Custom TFX components: MNIST ingestion, the data-validation gate, the
versioned Pusher and the evaluation report."""


def __getattr__(name):
    # TFX's Kubeflow entry point imports custom artifact types by their type
    # name, "components.EvaluationReport"; imported on demand so that
    # `components.errors` stays free of TFX for the CLI.
    if name == "EvaluationReport":
        from components.evaluation_report.artifacts import EvaluationReport

        return EvaluationReport
    if name == "DataChecks":
        from components.data_checks import DataChecks

        return DataChecks
    raise AttributeError(f"module 'components' has no attribute {name!r}")
