"""The Tuner: TFX's own Tuner and Trainer executors on a few hundred digits,
two trials of one epoch; the Trainer then trains with the best trial's values
and records where each value came from. (The DAG's wiring of the two:
tests/test_dag.py; compiled for Kubeflow: tests/test_kubeflow_compile.py.)"""
import json
import os

import pytest

from foundation.names import TRAINING_SUMMARY_FILE
from pipeline import config as config_lib
from tests.fixtures.data import ingest
from trainer_module import hyperparameters
from trainer_module.config import FIXED_KEY, SEARCHED

SUBSET = 300


def test_explicit_settings_win_over_tuned_ones_and_tuned_over_defaults():
    custom = {"epochs": 2, "learning_rate": 0.01, FIXED_KEY: ["learning_rate"]}
    tuned = {"values": {"learning_rate": 0.003, "batch_size": 64, "train_dropout": 0}}
    config, trainer_sources = hyperparameters.resolve(custom, tuned)
    assert (config.learning_rate, config.batch_size, config.train_dropout, config.epochs) == (0.01, 64, False, 2)
    assert config.train_dropout is False
    # The Trainer knows tuned from set; the run's record says how each was set.
    assert trainer_sources["batch_size"] == trainer_sources["train_dropout"] == hyperparameters.TUNED
    assert trainer_sources["learning_rate"] == trainer_sources["epochs"] == hyperparameters.SET
    sources = hyperparameters.merged(trainer_sources, {"learning_rate": "flag", "epochs": "env"})
    assert sources["learning_rate"] == "flag" and sources["epochs"] == "env"
    assert sources["batch_size"] == "tuned" and sources["train_dropout"] == "tuned"
    assert sources["seed"] == "default"
    assert hyperparameters.merged(hyperparameters.resolve(custom, None)[1], {})["batch_size"] == "default"
    assert hyperparameters.merged(trainer_sources, None)["seed"] == hyperparameters.UNKNOWN  # nothing recorded


def test_the_config_knows_which_settings_were_given_and_how():
    cfg = config_lib.from_env({"MNIST_TFX_BATCH_SIZE": "64"}, learning_rate=0.002, epochs=None, tune=True)
    assert cfg.explicit == {"batch_size": "env", "learning_rate": "flag", "tune": "flag"}
    # The Tuner keeps what the user set, but is not told how it was set.
    assert cfg.tuner_custom_config()[FIXED_KEY] == ["batch_size", "learning_rate"]
    assert cfg.trainer_custom_config()[FIXED_KEY] == ["batch_size", "learning_rate"]
    assert "explicit" not in config_lib.fields()  # not a setting: no flag, no env


def test_the_cache_keys_hold_values_only():
    """custom_config is the Trainer's and the Tuner's cache key: a default, the
    same value as a flag, or in the environment is one key."""
    same = [config_lib.from_env({}), config_lib.from_env({}, epochs="5", learning_rate=0.001),
            config_lib.from_env({"MNIST_TFX_EPOCHS": "5", "MNIST_TFX_LEARNING_RATE": "0.001"})]
    assert len({json.dumps(c.trainer_custom_config(), sort_keys=True) for c in same}) == 1
    assert same[1].explicit == {"epochs": "flag", "learning_rate": "flag"}  # still known, outside the keys
    # Under --tune, a searched setting the user gives is fixed: a real change
    # for the Tuner, however it was given; a setting it does not search is none.
    tuned = [config_lib.from_env({}, tune=True), config_lib.from_env({}, tune=True, epochs="5"),
             config_lib.from_env({}, tune=True, learning_rate="0.001"),
             config_lib.from_env({"MNIST_TFX_LEARNING_RATE": "0.001"}, tune=True)]
    for key in ("tuner_custom_config", "trainer_custom_config"):
        keys = [json.dumps(getattr(c, key)(), sort_keys=True) for c in tuned]
        assert keys[0] == keys[1] != keys[2] == keys[3], key


@pytest.fixture(scope="module")
def examples(mnist_dir, tmp_path_factory):
    return ingest(mnist_dir, tmp_path_factory.mktemp("tuner") / "examples", SUBSET)


def _artifact(kind, uri):
    artifact = kind()
    artifact.uri = str(uri)
    os.makedirs(artifact.uri, exist_ok=True)
    return artifact


def test_the_trainer_trains_with_the_best_trials_values(examples, tmp_path):
    from tfx.components.trainer import executor as trainer_executor
    from tfx.components.tuner import executor as tuner_executor
    from tfx.dsl.components.base.base_executor import BaseExecutor
    from tfx.proto import trainer_pb2
    from tfx.types import standard_artifacts
    from tfx.utils import proto_utils

    cfg = config_lib.from_env(
        {}, epochs=1, batch_size=64, tuner_trials=2, tuner_epochs=1, tuner_examples=200, tune=True
    )
    common = {
        "train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(splits=["train"])),
        "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs(splits=["eval"])),
    }
    best = _artifact(standard_artifacts.HyperParameters, tmp_path / "best")
    results = _artifact(standard_artifacts.TunerResults, tmp_path / "results")
    context = BaseExecutor.Context(tmp_dir=str(tmp_path / "tmp"), unique_id="1")
    tuner_executor.Executor(context).Do(
        {"examples": [examples]},
        {"best_hyperparameters": [best], "tuner_results": [results]},
        {**common, "tuner_fn": "trainer_module.tuner.tuner_fn",
         "custom_config": json.dumps(cfg.tuner_custom_config())},
    )
    with open(os.path.join(results.uri, "tuner_results.json")) as f:
        trials = json.load(f)
    assert len(trials) == 2
    top = max(trials, key=lambda t: t["score"])
    with open(os.path.join(best.uri, "best_hyperparameters.txt")) as f:
        best_values = json.load(f)["values"]
    assert set(best_values) == set(SEARCHED)
    assert {t["batch_size"] for t in trials} == {64}  # explicit: fixed, not searched
    for name in SEARCHED:
        assert best_values[name] == top[name]

    model = _artifact(standard_artifacts.Model, tmp_path / "model")
    model_run = _artifact(standard_artifacts.ModelRun, tmp_path / "model_run")
    trainer_executor.GenericExecutor(context).Do(
        {"examples": [examples], "hyperparameters": [best]},
        {"model": [model], "model_run": [model_run]},
        {**common, "run_fn": "trainer_module.task.run_fn",
         "custom_config": json.dumps(cfg.trainer_custom_config())},
    )
    with open(os.path.join(model_run.uri, TRAINING_SUMMARY_FILE)) as f:
        summary = json.load(f)
    used = summary["hyperparameters"]
    sources = hyperparameters.merged(summary["hyperparameter_sources"], cfg.explicit)
    for name in ("learning_rate", "lr_schedule"):
        assert used[name] == best_values[name] and sources[name] == "tuned", name
    assert used["train_dropout"] is bool(best_values["train_dropout"]) and sources["train_dropout"] == "tuned"
    assert used["batch_size"] == 64 and sources["batch_size"] == "flag"
    assert used["epochs"] == 1 and sources["epochs"] == "flag" and sources["seed"] == "default"
