"""The pipeline definition, shared by every runner (the DAG is drawn in the README).

Every node has its id and every edge its artifact key from foundation/names.py,
the one place the rest of the project (ML Metadata, the CLI, the tests) takes
them from.
"""
import os
from typing import Any, Optional

from ml_metadata.proto import metadata_store_pb2
from tfx import components as tfx_components
from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
from tfx.orchestration import pipeline as tfx_pipeline
from tfx.proto import pusher_pb2, trainer_pb2

from components.baseline_model import Evaluator, LatestBlessedModel
from components.baseline_statistics import DistributionValidator, LatestBlessedStatistics
from components.evaluation_report.component import EvaluationReporter
from components.mnist_example_gen.component import MnistExampleGen
from components.serving_check.component import ServingCheck
from components.tuner import Tuner
from components.validation_gate import ValidationGate
from components.versioned_pusher import VersionedPusher
from foundation.names import (
    ANOMALIES_KEY,
    BASELINE_MODEL_KEY,
    BASELINE_STATISTICS,
    BASELINE_STATISTICS_KEY,
    BEST_HYPERPARAMETERS_KEY,
    BLESSING_KEY,
    DATA_CHECKS_KEY,
    DRIFT_VALIDATOR,
    EVAL_SPLIT,
    EVALUATION_KEY,
    EVALUATION_REPORTER,
    EVALUATOR,
    EXAMPLE_GEN,
    EXAMPLE_VALIDATOR,
    EXAMPLES_KEY,
    INFRA_BLESSING_KEY,
    MODEL_KEY,
    MODEL_RUN_KEY,
    PUSHER,
    SCHEMA_GEN,
    SCHEMA_KEY,
    SERVING_CHECK,
    SKEW_VALIDATOR,
    STATISTICS_GEN,
    STATISTICS_KEY,
    TRAIN_SPLIT,
    TRAINER,
    TUNER,
    TUNER_RESULTS_KEY,
    VALIDATION_GATE,
)
from pipeline import data_validation, evaluation
from pipeline.config import PROJECT_ROOT, PipelineConfig

SCHEMA_FILE = os.path.join("schemas", "schema.pbtxt")  # under the project root
# TFX packages this file's directory (trainer_module/) as the Trainer's
# user-module wheel, when the pipeline is compiled or launched, and stages it
# under the pipeline root; its hash is the module fingerprint in ML Metadata.
# So this path is always read where the pipeline is built, never in a container.
TRAINER_MODULE_FILE = os.path.join(PROJECT_ROOT, "trainer_module", "task.py")
# The Tuner's module: the same package (so the same wheel), its tuner_fn.
TUNER_MODULE_FILE = os.path.join(PROJECT_ROOT, "trainer_module", "tuner.py")


def create_pipeline(
    config: PipelineConfig,
    metadata_connection_config: Optional[metadata_store_pb2.ConnectionConfig] = None,
    project_root: str = PROJECT_ROOT,
    trainer_platform_config: Optional[Any] = None,
) -> tfx_pipeline.Pipeline:
    """The pipeline, for any runner.

    Args:
      project_root: where the executors find the project's files (the schema);
        a container image's copy for Kubeflow.
      trainer_platform_config: the orchestrator's resource request for the
        Trainer (a KFP ResourceSpec on Kubeflow); None: the default.
    """

    example_gen = MnistExampleGen(
        mnist_dir=config.mnist_dir or None,
        max_examples_per_split=config.max_examples_per_split,
    ).with_id(EXAMPLE_GEN)
    statistics_gen = tfx_components.StatisticsGen(
        examples=example_gen.outputs[EXAMPLES_KEY]
    ).with_id(STATISTICS_GEN)
    schema_gen = ImportSchemaGen(
        schema_file=os.path.join(project_root, SCHEMA_FILE)
    ).with_id(SCHEMA_GEN)
    example_validator = tfx_components.ExampleValidator(
        statistics=statistics_gen.outputs[STATISTICS_KEY],
        schema=schema_gen.outputs[SCHEMA_KEY],
    ).with_id(EXAMPLE_VALIDATOR)
    distribution_config = data_validation.config(
        config.max_label_divergence, config.max_pixel_divergence
    )
    skew_validator = DistributionValidator(
        statistics=statistics_gen.outputs[STATISTICS_KEY],
        baseline_statistics=statistics_gen.outputs[STATISTICS_KEY],
        config=distribution_config,
        include_split_pairs=[(EVAL_SPLIT, TRAIN_SPLIT)],
    ).with_id(SKEW_VALIDATOR)
    baseline_statistics = LatestBlessedStatistics(
        statistics=statistics_gen.outputs[STATISTICS_KEY], serving_dir=config.serving_dir
    ).with_id(
        BASELINE_STATISTICS
    )
    drift_validator = DistributionValidator(
        statistics=statistics_gen.outputs[STATISTICS_KEY],
        baseline_statistics=baseline_statistics.outputs[BASELINE_STATISTICS_KEY],
        config=distribution_config,
        include_split_pairs=[(TRAIN_SPLIT, TRAIN_SPLIT)],
    ).with_id(DRIFT_VALIDATOR)
    validation_gate = ValidationGate(
        anomalies=example_validator.outputs[ANOMALIES_KEY],
        examples=example_gen.outputs[EXAMPLES_KEY],  # to name the source file at fault
        skew_anomalies=skew_validator.outputs[ANOMALIES_KEY],
        drift_anomalies=drift_validator.outputs[ANOMALIES_KEY],
        min_class_share=config.min_class_share,
        max_eval_copies_of_train=config.max_eval_copies_of_train,
        max_label_conflicts=config.max_label_conflicts,
    ).with_id(VALIDATION_GATE)

    # The Trainer's data (and the Tuner's, but for its eval split): one module
    # package, the same splits.
    training_data = dict(
        examples=example_gen.outputs[EXAMPLES_KEY],
        schema=schema_gen.outputs[SCHEMA_KEY],
        train_args=trainer_pb2.TrainArgs(splits=[TRAIN_SPLIT]),
        eval_args=trainer_pb2.EvalArgs(splits=[EVAL_SPLIT]),
    )
    tuner = None
    if config.tune:
        # The train split alone: the trials are scored on a slice held out of
        # it (trainer_module/holdout.py), and eval, which the Evaluator judges
        # the tuned model on, never reaches the Tuner.
        tuner = Tuner(
            module_file=TUNER_MODULE_FILE, custom_config=config.tuner_custom_config(),
            **{**training_data, "eval_args": trainer_pb2.EvalArgs(splits=[TRAIN_SPLIT])},
        ).with_id(TUNER)
        tuner.add_upstream_node(validation_gate)
    trainer = tfx_components.Trainer(
        module_file=TRAINER_MODULE_FILE,
        custom_config=config.trainer_custom_config(),
        **training_data,
        hyperparameters=tuner.outputs[BEST_HYPERPARAMETERS_KEY] if tuner else None,
    ).with_id(TRAINER)
    # The gate has no outputs to consume; this edge keeps the Trainer from
    # starting unless it passed.
    trainer.add_upstream_node(validation_gate)
    if trainer_platform_config is not None:
        trainer.with_platform_config(trainer_platform_config)

    # The same rule on every runner: see components/baseline_model.py.
    baseline = LatestBlessedModel(model=trainer.outputs[MODEL_KEY], serving_dir=config.serving_dir)

    evaluator = Evaluator(
        examples=example_gen.outputs[EXAMPLES_KEY],
        model=trainer.outputs[MODEL_KEY],
        baseline_model=baseline.outputs[BASELINE_MODEL_KEY],
        example_splits=[EVAL_SPLIT],
        eval_config=evaluation.eval_config(
            config.accuracy_lower_bound, config.max_accuracy_drop,
            config.digit_accuracy_lower_bound, config.max_digit_accuracy_drop,
        ),
    ).with_id(EVALUATOR)
    serving_check = ServingCheck(
        model=trainer.outputs[MODEL_KEY],
        examples=example_gen.outputs[EXAMPLES_KEY],
        p99_ms_batch_1=config.serving_p99_ms_batch_1,
        p99_ms_batch_32=config.serving_p99_ms_batch_32,
        num_examples=config.serving_check_examples,
    ).with_id(SERVING_CHECK)
    # Staged and renamed into place; the same model is not pushed twice.
    pusher = VersionedPusher(
        model=trainer.outputs[MODEL_KEY],
        model_blessing=evaluator.outputs[BLESSING_KEY],
        infra_blessing=serving_check.outputs[INFRA_BLESSING_KEY],
        push_destination=pusher_pb2.PushDestination(
            filesystem=pusher_pb2.PushDestination.Filesystem(base_directory=config.serving_dir)
        ),
        # Kept with the pushed version: the next runs' drift baseline.
        statistics=statistics_gen.outputs[STATISTICS_KEY],
    ).with_id(PUSHER)

    # Runs whether or not the model was blessed: the report says why.
    reporter = EvaluationReporter(
        evaluation=evaluator.outputs[EVALUATION_KEY],
        blessing=evaluator.outputs[BLESSING_KEY],
        statistics=statistics_gen.outputs[STATISTICS_KEY],
        anomalies=example_validator.outputs[ANOMALIES_KEY],
        model=trainer.outputs[MODEL_KEY],
        model_run=trainer.outputs[MODEL_RUN_KEY],
        examples=example_gen.outputs[EXAMPLES_KEY],
        infra_blessing=serving_check.outputs[INFRA_BLESSING_KEY],
        data_checks=validation_gate.outputs[DATA_CHECKS_KEY],
        tuner_results=tuner.outputs[TUNER_RESULTS_KEY] if tuner else None,
    ).with_id(EVALUATION_REPORTER)

    return tfx_pipeline.Pipeline(
        pipeline_name=config.pipeline_name,
        pipeline_root=config.pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            example_validator,
            skew_validator,
            baseline_statistics,
            drift_validator,
            validation_gate,
            *([tuner] if tuner else []),
            trainer,
            baseline,
            evaluator,
            serving_check,
            reporter,  # before the Pusher: a failed push still leaves the report
            pusher,
        ],
        enable_cache=config.enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=config.beam_pipeline_args(project_root),
    )
