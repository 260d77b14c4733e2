"""The Tuner: the project's Tuner executor (TFX's, plus the search record) as
the DAG configures it, on a few hundred digits, two trials of one epoch. Every
trial trains and is scored on the training split alone (checked image by
image), the terminal gets one line per trial, and the Trainer then trains on
the whole training split with the best trial's values. The last test runs it
all through `python -m pipeline run --tune`, `runs show` and `report`. (The
DAG's wiring: tests/test_dag.py; compiled for Kubeflow:
tests/test_kubeflow_compile.py.)"""
import contextlib
import dataclasses
import io
import json
import os
import re
from pathlib import Path
from typing import List, Set

import numpy as np
import pytest

from components.mnist_example_gen import duplicates
from foundation import names
from foundation.names import TRAINING_SUMMARY_FILE
from pipeline import config as config_lib
from pipeline import dag
from tests.fixtures.data import ingest, run_cli
from trainer_module import hyperparameters, train_loop
from trainer_module.config import FIXED_KEY, SEARCHED

SUBSET = 600
# A quarter, so that the slice of 600 digits holds enough of each to pass the
# class-balance bound.
HOLDOUT_SHARE = 0.25
TRIALS = 2


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


def _cfg(**overrides) -> config_lib.PipelineConfig:
    return config_lib.from_env(
        {}, epochs=1, batch_size=64, tuner_trials=TRIALS, tuner_epochs=1, tuner_examples=200,
        tuner_holdout_share=HOLDOUT_SHARE, tune=True, **overrides,
    )


@pytest.fixture(scope="module")
def examples(mnist_dir, tmp_path_factory):
    return ingest(mnist_dir, tmp_path_factory.mktemp("tuner") / "examples", SUBSET)


@pytest.fixture(scope="module")
def split_hashes(mnist_source):
    """{split: the image hashes of the digits the examples hold}, as ingestion hashes them."""
    found = {split: set(duplicates.image_hashes(mnist_source.load(split).images[:SUBSET]))
             for split in names.SPLITS}
    # Otherwise an eval image could reach a trial as its copy in train.
    assert not found[names.TRAIN_SPLIT] & found[names.EVAL_SPLIT]
    return found


def _hashes(ds) -> List[bytes]:
    """The image hashes of every example a dataset of (images in [0, 1], labels) yields."""
    images = np.concatenate([np.rint(images.numpy() * 255).astype(np.uint8) for images, _ in ds])
    return duplicates.image_hashes(images)


def _artifact(kind, uri):
    artifact = kind()
    artifact.uri = str(uri)
    os.makedirs(artifact.uri, exist_ok=True)
    return artifact


def _spy(monkeypatch, target, name):
    """Records the (train, eval) datasets of each call of a training loop, which still runs."""
    calls = []
    real = target[name] if isinstance(target, dict) else getattr(target, name)

    def spy(model, train_ds, eval_ds, *args, **kwargs):
        calls.append((train_ds, eval_ds))
        return real(model, train_ds, eval_ds, *args, **kwargs)

    (monkeypatch.setitem if isinstance(target, dict) else monkeypatch.setattr)(target, name, spy)
    return calls


@dataclasses.dataclass
class Search:
    cfg: config_lib.PipelineConfig
    trials: list  # each trial's (train, scoring) datasets, in the order run
    terminal: str  # what the search printed to sys.stdout
    best: object  # the HyperParameters artifact
    results: object  # the TunerResults artifact
    context: object


@pytest.fixture(scope="module")
def search(examples, tmp_path_factory) -> Search:
    """The project's Tuner executor with the DAG's own Tuner settings, run once."""
    from tfx.dsl.components.base.base_executor import BaseExecutor
    from tfx.types import standard_artifacts

    from components.tuner import TunerExecutor

    cfg = _cfg()
    tmp = tmp_path_factory.mktemp("search")
    [node] = [c for c in dag.create_pipeline(cfg.replace(output_dir=str(tmp / "out"))).components
              if c.id == names.TUNER]
    # As the DAG sets them, with tuner_fn named rather than packaged in a wheel.
    properties = {k: v for k, v in node.exec_properties.items() if v is not None and k != "module_file"}
    properties["tuner_fn"] = "trainer_module.tuner.tuner_fn"
    best = _artifact(standard_artifacts.HyperParameters, tmp / "best")
    results = _artifact(standard_artifacts.TunerResults, tmp / "results")
    context = BaseExecutor.Context(tmp_dir=str(tmp / "tmp"), unique_id="1")
    terminal = io.StringIO()
    with pytest.MonkeyPatch.context() as patch, contextlib.redirect_stdout(terminal):
        trials = _spy(patch, train_loop, "train_custom")
        TunerExecutor(context).Do(
            {"examples": [examples]},
            {names.BEST_HYPERPARAMETERS_KEY: [best], names.TUNER_RESULTS_KEY: [results]},
            properties,
        )
    return Search(cfg, trials, terminal.getvalue(), best, results, context)


def test_no_eval_image_reaches_any_trial_for_training_or_scoring(search, split_hashes):
    assert len(search.trials) == TRIALS
    slices: List[Set[bytes]] = []
    for number, (train_ds, scoring_ds) in enumerate(search.trials, start=1):
        trained, scored = set(_hashes(train_ds)), set(_hashes(scoring_ds))
        assert len(trained) == 200 and scored  # tuner_examples; a slice to score on
        for what, seen in (("trained on", trained), ("scored on", scored)):
            leaked, foreign = seen & split_hashes[names.EVAL_SPLIT], seen - split_hashes[names.TRAIN_SPLIT]
            assert not leaked, f"trial {number} {what} {len(leaked)} eval images"
            assert not foreign, f"trial {number} {what} {len(foreign)} images not in train"
        assert not trained & scored, f"trial {number} scored on {len(trained & scored)} images it trained on"
        slices.append(scored)
    assert slices[0] == slices[1]  # every trial scored on the same slice
    record = search.results.get_json_value_custom_property(names.SEARCH_PROPERTY)
    holdout = record["holdout"]
    assert int(holdout["examples"]) == len(slices[0]) and int(holdout["split_examples"]) == SUBSET
    assert int(holdout["trial_examples"]) == 200 and holdout["split"] == names.TRAIN_SPLIT
    assert sum(int(n) for n in holdout["label_counts"]) == len(slices[0])


def test_the_slice_is_fixed_by_the_seed_and_follows_the_image(examples):
    import tensorflow as tf

    from trainer_module import holdout

    train_files = [os.path.join(examples.uri, "Split-train", "*")]

    def hashes(slices, held):
        return set(_hashes(slices.holdout(256) if held else slices.rest(256)))

    seed_42 = holdout.Slices(train_files, 42, HOLDOUT_SHARE)
    held, rest = hashes(seed_42, True), hashes(seed_42, False)
    assert held == hashes(holdout.Slices(train_files, 42, HOLDOUT_SHARE), True)
    assert held != hashes(holdout.Slices(train_files, 43, HOLDOUT_SHARE), True)
    assert not held & rest and len(held) + len(rest) == SUBSET
    assert 0.15 < len(held) / SUBSET < 0.35  # the share, give or take the draw
    # An image goes where its exact copies go: the rule reads its pixels alone.
    images = tf.constant(np.random.default_rng(0).integers(0, 256, (64, 28, 28, 1), dtype=np.uint8))
    twice = tf.concat([images, images], axis=0)
    decided = holdout.held_out(twice, 42, 0.5).numpy()
    assert (decided[:64] == decided[64:]).all() and 0 < decided.sum() < 128


def test_an_unbalanced_slice_stops_the_search_naming_the_digit():
    from trainer_module import holdout

    holdout.check_balance([10] * 10, 0.04)
    with pytest.raises(holdout.UnbalancedHoldout, match=r"digit 3 has 1 of 91 \(1\.10%\)"):
        holdout.check_balance([10, 10, 10, 1, 10, 10, 10, 10, 10, 10], 0.04)


def test_the_terminal_shows_one_line_per_trial_then_the_choice(search):
    lines = search.terminal.splitlines()
    assert len(lines) == 1 + TRIALS + 1, search.terminal
    assert re.fullmatch(r"    scored on \d+ of the 600 train examples \(.*\), trained on 200 others; eval not used",
                        lines[0]), lines[0]
    for number, line in enumerate(lines[1:-1], start=1):
        assert re.fullmatch(
            rf"    trial {number}/{TRIALS}: batch_size 64, learning_rate [\d.e-]+, lr_schedule \w+, "
            r"train_dropout (True|False): \d+\.\d s, holdout accuracy [01]\.\d{4}", line), line
    assert lines[-1].startswith("    chosen: trial ")
    assert "\x1b" not in search.terminal and "Best Value So Far" not in search.terminal


def test_the_record_holds_each_trial_and_the_choice_tfx_wrote(search):
    record = search.results.get_json_value_custom_property(names.SEARCH_PROPERTY)
    with open(os.path.join(search.results.uri, "tuner_results.json")) as f:
        scored = {round(t["score"], 6) for t in json.load(f)}
    assert {round(t["score"], 6) for t in record["trials"]} == scored
    assert [int(t["number"]) for t in record["trials"]] == list(range(1, TRIALS + 1))
    assert all(t["seconds"] > 0 and t["status"] == "COMPLETED" for t in record["trials"])
    with open(os.path.join(search.best.uri, "best_hyperparameters.txt")) as f:
        best_values = json.load(f)["values"]
    [chosen] = [t for t in record["trials"] if int(t["number"]) == int(record["chosen"])]
    assert chosen["values"] == best_values


def test_the_trainer_trains_on_all_of_train_with_the_best_trials_values(search, examples, split_hashes,
                                                                      tmp_path, monkeypatch):
    from tfx.components.trainer import executor as trainer_executor
    from tfx.proto import trainer_pb2
    from tfx.types import standard_artifacts
    from tfx.utils import proto_utils

    with open(os.path.join(search.best.uri, "best_hyperparameters.txt")) as f:
        best_values = json.load(f)["values"]
    assert set(best_values) == set(SEARCHED)
    with open(os.path.join(search.results.uri, "tuner_results.json")) as f:
        trials = json.load(f)
    assert {t["batch_size"] for t in trials} == {64}  # explicit: fixed, not searched

    model = _artifact(standard_artifacts.Model, tmp_path / "model")
    model_run = _artifact(standard_artifacts.ModelRun, tmp_path / "model_run")
    calls = _spy(monkeypatch, train_loop.LOOPS, "custom")
    trainer_executor.GenericExecutor(search.context).Do(
        {"examples": [examples], "hyperparameters": [search.best]},
        {"model": [model], "model_run": [model_run]},
        {"train_args": proto_utils.proto_to_json(trainer_pb2.TrainArgs(splits=[names.TRAIN_SPLIT])),
         "eval_args": proto_utils.proto_to_json(trainer_pb2.EvalArgs(splits=[names.EVAL_SPLIT])),
         "run_fn": "trainer_module.task.run_fn",
         "custom_config": json.dumps(search.cfg.trainer_custom_config())},
    )
    [(train_ds, eval_ds)] = calls
    assert set(_hashes(train_ds)) == split_hashes[names.TRAIN_SPLIT]  # the held-out slice included
    assert set(_hashes(eval_ds)) == split_hashes[names.EVAL_SPLIT]
    with open(os.path.join(model_run.uri, TRAINING_SUMMARY_FILE)) as f:
        summary = json.load(f)
    used = summary["hyperparameters"]
    sources = hyperparameters.merged(summary["hyperparameter_sources"], search.cfg.explicit)
    for name in ("learning_rate", "lr_schedule"):
        assert used[name] == best_values[name] and sources[name] == "tuned", name
    assert used["train_dropout"] is bool(best_values["train_dropout"]) and sources["train_dropout"] == "tuned"
    assert used["batch_size"] == 64 and sources["batch_size"] == "flag"
    assert used["epochs"] == 1 and sources["epochs"] == "flag" and sources["seed"] == "default"


def _between(text: str, first: str, last: str) -> List[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(first))
    end = next(i for i, line in enumerate(lines) if line.strip().startswith(last))
    return lines[start + 1:end]


@pytest.mark.e2e
def test_a_tuned_run_shows_its_trials_and_the_slice_that_scored_them(mnist_dir, tmp_path):
    out = tmp_path / "out"
    run = run_cli("run", "--tune", "--mnist-dir", mnist_dir, "--output-dir", out,
                  "--max-examples-per-split", SUBSET, "--epochs", 1, "--tuner-trials", TRIALS,
                  "--tuner-examples", 200, "--tuner-holdout-share", HOLDOUT_SHARE)
    # Finished: its model serving (0), or not blessed at the default bar (3).
    assert run.returncode in (0, 3), run.stdout[-3000:] + run.stderr[-3000:]
    shown = _between(run.stdout, "Tuner                           running", "Tuner                           done")
    assert len(shown) == 1 + TRIALS + 1, run.stdout
    slice_line, trial_lines = shown[0].strip(), [line.strip() for line in shown[1:-1]]
    assert "\x1b" not in run.stdout and "Search: Running Trial" not in run.stdout
    [log] = (out / "logs").glob("run-*.log")
    assert "Search: Running Trial #1" in log.read_text()  # KerasTuner's display: in the log

    show = run_cli("runs", "show", "latest", "--output-dir", out, check=True).stdout
    [heading] = [line for line in show.splitlines() if line.startswith("Tuner: ")]
    assert heading == f"Tuner: {TRIALS} trials, {slice_line}"
    for line in trial_lines:  # without the "/2" of the live count
        assert "  " + line.replace(f"/{TRIALS}:", ":", 1) in show.splitlines()
    held = int(re.match(r"scored on (\d+) of the 600 train examples", slice_line).group(1))

    report = run_cli("report", "latest", "--output-dir", out)
    assert report.returncode in (0, 1), report.stderr[-2000:]
    assert f"Tuner: {TRIALS} trials, {slice_line}" in report.stdout.splitlines()
    page = Path(report.stdout.splitlines()[-1].split(": ", 1)[1]).read_text()
    section = page[page.index('<section id="search">'):page.index('<section id="data">')]
    assert f"Trials scored on {held} of the 600 train examples" in section
    assert section.count("<tr") == 1 + TRIALS and section.count('class="chosen"') == 1
