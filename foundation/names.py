"""The names that cross module boundaries, each defined once: the examples'
splits, the pipeline's node ids, its artifact keys, and the files inside
artifacts that one component writes and another, or the CLI, reads.

ML Metadata, the CLI, the components, the Trainer and the tests all name
things through these constants, never by their strings. Imports nothing, so
the inspection commands can use it without loading TensorFlow or TFX.
"""

# The examples' splits: MnistExampleGen writes both; the Trainer trains on
# TRAIN_SPLIT; the Evaluator, the ServingCheck and the report judge on EVAL_SPLIT.
TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"
SPLITS = (TRAIN_SPLIT, EVAL_SPLIT)

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
INFRA_BLESSING_INPUT_KEY = "infra_blessing"  # the Pusher's and EvaluationReporter's input for it
BEST_HYPERPARAMETERS_KEY = "best_hyperparameters"  # Tuner; the Trainer's `hyperparameters` input
TUNER_RESULTS_KEY = "tuner_results"  # Tuner: each trial's values and score; the search record; the EvaluationReporter's input

# Files inside artifacts.
# The Trainer's model_run: its training summary (trainer_module/task.py), and
# the TensorBoard event files' directory. Not model_run itself: TensorBoard
# names events in a logdir's own directory "RUN/.", and its HParams plugin
# then finds no metrics for them (it normalizes the path).
TRAINING_SUMMARY_FILE = "training_summary.json"
TENSORBOARD_DIR = "tensorboard"
# The ServingCheck's blessing: what it measured (components/serving_check/).
SERVING_CHECK_RESULT_FILE = "serving_check.json"
# The EvaluationReporter's report: the summary (its types:
# components/evaluation_report/summary_types.py) and the page.
REPORT_SUMMARY_FILE = "summary.json"
REPORT_HTML_FILE = "report.html"

# Custom properties that one component writes and another, or the CLI, reads
# from ML Metadata.
# LatestBlessedModel's and LatestBlessedStatistics' outputs: the served
# version they were taken from.
BASELINE_VERSION_PROPERTY = "baseline_version"
# The ServingCheck's blessing: why it refused ("; "-joined, "" when blessed),
# and its latencies, JSON {"1": {"p50_ms", "p99_ms"}, "32": ...} (the
# slowest signature's).
SERVING_REASON_PROPERTY = "reason"
SERVING_LATENCY_PROPERTY = "latency_ms"
# The Tuner's tuner_results (components/tuner.py): the search's record, JSON
# (trainer_module/search_record.Record: the held-out slice that scored the
# trials, each trial, the chosen one).
SEARCH_PROPERTY = "search"
