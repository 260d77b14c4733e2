"""EvaluationReporter: the report of one run, after the Evaluator, blessed or not."""
from tfx.dsl.components.base import base_component, executor_spec
from tfx.types import channel, component_spec, standard_artifacts

import system
from components.data_checks import DataChecks
from components.evaluation_report import executor
from components.evaluation_report.artifacts import EvaluationReport
from foundation import names


class EvaluationReporterSpec(component_spec.ComponentSpec):
    PARAMETERS = {}
    INPUTS = {
        names.EVALUATION_KEY: component_spec.ChannelParameter(type=standard_artifacts.ModelEvaluation),
        names.BLESSING_KEY: component_spec.ChannelParameter(type=standard_artifacts.ModelBlessing),
        names.STATISTICS_KEY: component_spec.ChannelParameter(type=standard_artifacts.ExampleStatistics),
        names.ANOMALIES_KEY: component_spec.ChannelParameter(type=standard_artifacts.ExampleAnomalies),
        names.MODEL_KEY: component_spec.ChannelParameter(type=standard_artifacts.Model),
        names.MODEL_RUN_KEY: component_spec.ChannelParameter(type=standard_artifacts.ModelRun),
        names.EXAMPLES_KEY: component_spec.ChannelParameter(type=standard_artifacts.Examples),
        # The ServingCheck's: its latencies and verdict go on the page.
        names.INFRA_BLESSING_INPUT_KEY: component_spec.ChannelParameter(
            type=standard_artifacts.InfraBlessing, optional=True
        ),
        # The ValidationGate's record of every data check (components/data_checks.py).
        names.DATA_CHECKS_KEY: component_spec.ChannelParameter(type=DataChecks, optional=True),
        # The Tuner's (with --tune): what scored its trials, and each trial.
        names.TUNER_RESULTS_KEY: component_spec.ChannelParameter(
            type=standard_artifacts.TunerResults, optional=True
        ),
    }
    OUTPUTS = {
        names.REPORT_KEY: component_spec.ChannelParameter(type=EvaluationReport),
        names.HTML_KEY: component_spec.ChannelParameter(type=system.HTML),
    }


class EvaluationReporter(base_component.BaseComponent):
    SPEC_CLASS = EvaluationReporterSpec
    EXECUTOR_SPEC = executor_spec.ExecutorClassSpec(executor.Executor)

    def __init__(self, *, evaluation, blessing, statistics, anomalies, model, model_run, examples,
                 infra_blessing=None, data_checks=None, tuner_results=None):
        """Every input is a channel of the run's own artifacts (see pipeline/dag.py)."""
        super().__init__(
            spec=EvaluationReporterSpec(
                evaluation=evaluation, blessing=blessing, statistics=statistics,
                anomalies=anomalies, model=model, model_run=model_run, examples=examples,
                infra_blessing=infra_blessing,
                data_checks=data_checks,
                tuner_results=tuner_results,
                report=channel.Channel(type=EvaluationReport),
                html=channel.Channel(type=system.HTML),
            )
        )
