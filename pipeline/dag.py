"""The pipeline definition, shared by every runner.

  MnistExampleGen -> StatisticsGen -> ExampleValidator -> ValidationGate
        |                 |                ^ ImportSchemaGen (schemas/)      |
        |                 +-> TrainEvalSkewValidator ---------------+        |
        |  LatestBlessedStatistics -> DriftValidator ---------------+        |
        +--------------------------------------------------------> Trainer
        +-> Tuner (--tune only: KerasTuner search) -> best_hyperparameters -> Trainer
  Trainer -> LatestBlessedModel (newest pushed model, not the Trainer's)
          -> Evaluator (TFMA) -> Pusher
                      +-> EvaluationReporter (HTML + JSON)
  Trainer -> ServingCheck (a fresh TF-only process serves it) -> Pusher

The node ids and artifact keys below are how everything else names them (ML
Metadata, the CLI, the tests): use these constants, not the strings. This
module imports TFX only inside create_pipeline, so that the inspection
commands can import the names without loading TensorFlow.
"""
import os
from typing import TYPE_CHECKING, Any, Optional

from pipeline.config import PROJECT_ROOT, PipelineConfig

if TYPE_CHECKING:
    from ml_metadata.proto import metadata_store_pb2
    from tfx.orchestration import pipeline as tfx_pipeline

# Node ids, in the pipeline's order.
EXAMPLE_GEN = "MnistExampleGen"
STATISTICS_GEN = "StatisticsGen"
SCHEMA_GEN = "ImportSchemaGen"
EXAMPLE_VALIDATOR = "ExampleValidator"
# Data checks (components/data_checks.py): TFX's DistributionValidator twice,
# and the baseline statistics one of them compares with.
SKEW_VALIDATOR = "TrainEvalSkewValidator"
BASELINE_STATISTICS = "LatestBlessedStatistics"  # components/baseline_statistics.py
DRIFT_VALIDATOR = "DriftValidator"
VALIDATION_GATE = "ValidationGate"
TRAINER = "Trainer"
BASELINE = "LatestBlessedModel"  # components/baseline_model.py
EVALUATOR = "Evaluator"
EVALUATION_REPORTER = "EvaluationReporter"
PUSHER = "Pusher"
SERVING_CHECK = "ServingCheck"  # components/serving_check/
NODE_IDS = (
    EXAMPLE_GEN, STATISTICS_GEN, SCHEMA_GEN, EXAMPLE_VALIDATOR,
    SKEW_VALIDATOR, BASELINE_STATISTICS, DRIFT_VALIDATOR, VALIDATION_GATE,
    TRAINER, BASELINE, EVALUATOR, SERVING_CHECK, EVALUATION_REPORTER, PUSHER,
)
# Only with `--tune` (config.tune), between the ValidationGate and the Trainer.
TUNER = "Tuner"

# Artifact keys: a node's outputs (and the inputs fed from them) in ML Metadata.
EXAMPLES_KEY = "examples"  # MnistExampleGen; input of StatisticsGen, Trainer, Evaluator...
STATISTICS_KEY = "statistics"  # StatisticsGen
SCHEMA_KEY = "schema"  # ImportSchemaGen
ANOMALIES_KEY = "anomalies"  # ExampleValidator, and both DistributionValidators
BASELINE_STATISTICS_KEY = "baseline_statistics"  # LatestBlessedStatistics; DriftValidator's input
DATA_CHECKS_KEY = "data_checks"  # ValidationGate: every data check's value and bound
MODEL_KEY = "model"  # Trainer; LatestBlessedModel's input
MODEL_RUN_KEY = "model_run"  # Trainer: the training summary
BASELINE_MODEL_KEY = "baseline_model"  # LatestBlessedModel's output, the Evaluator's input
EVALUATION_KEY = "evaluation"  # Evaluator: TFMA's results
BLESSING_KEY = "blessing"  # Evaluator
REPORT_KEY = "report"  # EvaluationReporter: summary.json and the page
HTML_KEY = "html"  # EvaluationReporter: the page, for the KFP UI
PUSHED_MODEL_KEY = "pushed_model"  # Pusher
INFRA_BLESSING_KEY = "blessing"  # ServingCheck's output (TFX InfraValidator's key)
PUSHER_INFRA_BLESSING_KEY = "infra_blessing"  # the Pusher's input for it
BEST_HYPERPARAMETERS_KEY = "best_hyperparameters"  # Tuner; the Trainer's `hyperparameters` input
TUNER_RESULTS_KEY = "tuner_results"  # Tuner: each trial's values and score

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
    metadata_connection_config: Optional["metadata_store_pb2.ConnectionConfig"] = None,
    project_root: str = PROJECT_ROOT,
    trainer_platform_config: Optional[Any] = None,
) -> "tfx_pipeline.Pipeline":
    """The pipeline, for any runner.

    Args:
      project_root: where the executors find the project's files (the schema);
        a container image's copy for Kubeflow.
      trainer_platform_config: the orchestrator's resource request for the
        Trainer (a KFP ResourceSpec on Kubeflow); None: the default.
    """
    from tfx import components as tfx_components
    from tfx.components.schema_gen.import_schema_gen.component import ImportSchemaGen
    from tfx.orchestration import pipeline as tfx_pipeline
    from tfx.proto import pusher_pb2, trainer_pb2

    from components.baseline_model import Evaluator, LatestBlessedModel
    from components.baseline_statistics import DistributionValidator, LatestBlessedStatistics
    from components.evaluation_report.component import EvaluationReporter
    from components.mnist_example_gen.component import MnistExampleGen
    from components.serving_check.component import ServingCheck
    from components.validation_gate import ValidationGate
    from components.versioned_pusher import VersionedPusher
    from pipeline import data_validation, evaluation, module_wheel

    module_wheel.reuse_built_wheels()

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
        include_split_pairs=[("eval", "train")],
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
        include_split_pairs=[("train", "train")],
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

    tuner = None
    if config.tune:
        tuner = tfx_components.Tuner(
            module_file=TUNER_MODULE_FILE,
            examples=example_gen.outputs[EXAMPLES_KEY],
            schema=schema_gen.outputs[SCHEMA_KEY],
            train_args=trainer_pb2.TrainArgs(splits=["train"]),
            eval_args=trainer_pb2.EvalArgs(splits=["eval"]),
            custom_config=config.tuner_custom_config(),
        ).with_id(TUNER)
        tuner.add_upstream_node(validation_gate)
    trainer = tfx_components.Trainer(
        module_file=TRAINER_MODULE_FILE,
        examples=example_gen.outputs[EXAMPLES_KEY],
        schema=schema_gen.outputs[SCHEMA_KEY],
        train_args=trainer_pb2.TrainArgs(splits=["train"]),
        eval_args=trainer_pb2.EvalArgs(splits=["eval"]),
        custom_config=config.trainer_custom_config(),
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
        example_splits=["eval"],
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
    # No data passes on this edge. TFX runs a layer of the DAG in the order
    # of its node ids, so locally it puts the ServingCheck after the
    # Evaluator, whose executor starts the ServingCheck's probe meanwhile
    # (components/serving_check/early.py); on Kubeflow the ServingCheck
    # still runs beside the Evaluator, once the baseline is chosen.
    serving_check.add_upstream_node(baseline)
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
