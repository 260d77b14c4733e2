"""The real pipeline, end to end, on a small subset of MNIST (or drawn digits).

Runs the project's CLI in subprocesses as a user would, then checks what ML
Metadata recorded and what was pushed.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from foundation import names
from foundation.names import TRAINING_SUMMARY_FILE
from pipeline import config as config_lib
from pipeline.inspection import metadata, run_summary
from tests.fixtures.data import PROJECT_ROOT, run_cli
from trainer_module.features import SERVING_IMAGES

pytestmark = [pytest.mark.e2e, pytest.mark.cost(minutes=4)]

SUBSET = 3000
# Small subset, two epochs: well above chance, below the full run's 0.98 bar.
SMALL_RUN = ["--max-examples-per-split", SUBSET, "--epochs", 2, "--accuracy-lower-bound", 0.9,
             "--digit-accuracy-lower-bound", 0.5]
ALL_COMPONENTS = set(names.NODE_IDS)


def _latest_run(output_dir: Path):
    cfg = config_lib.PipelineConfig(output_dir=str(output_dir))
    store = metadata.open_store(cfg.metadata_path)
    run = metadata.runs(store, cfg.pipeline_name)[-1]
    return store, run, metadata.executions(store, run)


def _versions(output_dir: Path):
    serving = Path(config_lib.PipelineConfig(output_dir=str(output_dir)).serving_dir)
    return sorted(p.name for p in serving.iterdir()) if serving.exists() else []


def _keras_of(nodes) -> str:
    model_run = nodes["Trainer"].outputs["model_run"][0].uri
    with open(os.path.join(model_run, TRAINING_SUMMARY_FILE)) as f:
        return json.load(f)["keras"]


@pytest.fixture(scope="module")
def output_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e_outputs")


@pytest.fixture(scope="module")
def first_run(mnist_dir, output_dir):
    result = run_cli("run", "--mnist-dir", mnist_dir, "--output-dir", output_dir, *SMALL_RUN)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def test_every_component_completes_and_the_model_is_blessed_and_pushed(first_run, output_dir):
    store, run, nodes = _latest_run(output_dir)
    assert set(nodes) == ALL_COMPONENTS
    assert {n: e.state for n, e in nodes.items()} == {n: "complete" for n in ALL_COMPONENTS}
    summary = run_summary.summarize(store, run)
    assert summary.blessed is True
    assert summary.accuracy >= 0.9
    assert sorted(summary.accuracy_per_digit) == list(range(10))
    assert summary.pushed_to and Path(summary.pushed_to).is_dir()
    assert f"Test accuracy (TFMA, mnist-tfx): {summary.accuracy:.2%}" in first_run.stdout
    assert "Epoch 2, Loss :" in first_run.stdout  # the seed's per-epoch line


def test_pushed_model_classifies_held_out_digits(first_run, output_dir, mnist_source):
    [version] = _versions(output_dir)
    serving_dir = Path(config_lib.PipelineConfig(output_dir=str(output_dir)).serving_dir)
    model = tf.saved_model.load(str(serving_dir / version))
    # Test digits beyond the subset: seen by neither training nor evaluation.
    test = mnist_source.load("eval")
    images = test.images[SUBSET:SUBSET + 1000, ..., None].astype(np.float32) / 255.0
    probabilities = model.signatures[SERVING_IMAGES](images=tf.constant(images))["probabilities"]
    accuracy = float(np.mean(np.argmax(probabilities, axis=1) == test.labels[SUBSET:SUBSET + 1000]))
    assert accuracy > 0.85, accuracy  # chance is 0.10


def test_the_same_values_by_flag_by_environment_or_by_another_path_are_served_from_cache(
    first_run, mnist_dir, output_dir, tmp_path
):
    """The first run took the learning rate and seed by default; the second
    gives the same as flags, and the data through a symlink; the third gives
    every value in the environment, the data by a relative path. The cache
    keys hold values only, so every step of both is a cache hit. The cached
    Trainer's model is the newest pushed one, and the baseline leaves it out,
    so LatestBlessedModel chooses as before and is cached, and so is the
    Evaluator after it; the run exits 0, its model serving."""
    pushed_before = _versions(output_dir)
    link = tmp_path / "mnist-link"
    link.symlink_to(mnist_dir)
    second = run_cli("run", "--mnist-dir", link, "--output-dir", output_dir, *SMALL_RUN,
                     "--learning-rate", "0.001", "--seed", "42")
    given = dict(zip(SMALL_RUN[::2], SMALL_RUN[1::2]))
    env = {config_lib.env_name(flag[2:].replace("-", "_")): str(value) for flag, value in given.items()}
    third = run_cli("run", "--output-dir", output_dir, env={
        **env, "MNIST_DIR": os.path.relpath(mnist_dir, PROJECT_ROOT), "MNIST_TFX_LEARNING_RATE": "0.001"})
    for result in (second, third):
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        # Live, not only in the closing table: no component ran.
        for node in ALL_COMPONENTS:
            assert re.search(rf"^  {node} +cached$", result.stdout, re.M), (node, result.stdout)
        assert "running..." not in result.stdout and " done in " not in result.stdout
    nodes = _latest_run(output_dir)[2]
    assert {node: e.state for node, e in nodes.items()} == {node: "cached" for node in ALL_COMPONENTS}
    assert _versions(output_dir) == pushed_before

    # Where each value came from is kept all the same, outside the cache keys.
    show = run_cli("runs", "show", "latest", "--output-dir", output_dir).stdout
    assert [line for line in show.splitlines() if line.startswith("  ") and " s  " in line
            and not line.endswith("cached")] == []
    for line in ("  epochs = 2  (env)", "  learning_rate = 0.001  (env)", "  seed = 42  (default)"):
        assert line in show.splitlines(), show
    runs = metadata.runs(_latest_run(output_dir)[0], config_lib.PipelineConfig().pipeline_name)
    second_show = run_cli("runs", "show", runs[-2].name, "--output-dir", output_dir).stdout
    for line in ("  epochs = 2  (flag)", "  learning_rate = 0.001  (flag)", "  seed = 42  (flag)"):
        assert line in second_show.splitlines(), second_show

    # The pushed model's lineage is the run that pushed it, whichever run reused the push.
    [version] = pushed_before
    lineage = run_cli("lineage", version, "--output-dir", output_dir)
    assert lineage.returncode == 0, lineage.stderr
    assert f"  pushed by run {runs[0].name}" in lineage.stdout.splitlines()


def test_model_under_the_threshold_is_not_blessed_nothing_is_pushed_and_run_says_so(
    first_run, mnist_dir, output_dir
):
    pushed_before = _versions(output_dir)
    not_blessed = ["run", "--mnist-dir", mnist_dir, "--output-dir", output_dir,
                   *SMALL_RUN[:-1], 0.9999]  # a digit accuracy no model reaches here
    result = run_cli(*not_blessed)
    assert result.returncode == 3, result.stderr[-3000:]  # finished, not blessed, nothing pushed
    store, run, nodes = _latest_run(output_dir)
    assert nodes[names.TRAINER].state == "cached" and nodes[names.EVALUATOR].state == "complete"
    assert run_summary.summarize(store, run).blessed is False
    assert run_summary.summarize(store, run).pushed_to is None
    assert "Model: NOT blessed" in result.stdout and "nothing pushed" in result.stdout
    assert _versions(output_dir) == pushed_before
    # A short line naming the failed checks, each one's value below it.
    verdict = result.stdout[result.stdout.index("Model: NOT blessed"):].splitlines()
    assert verdict[1].startswith("  not blessed: failed ") and len(verdict[1]) < 120
    assert re.fullmatch(r"    (digit \d )?sparse_categorical_accuracy [0-9.]+, needs >= [0-9.]+", verdict[2])

    # What ran, and why: the one setting changed, the Evaluator's bound.
    show = run_cli("runs", "show", "latest", "--output-dir", output_dir).stdout
    reasons = {line.split()[0]: line.split("ran: ", 1)[1] for line in show.splitlines() if " ran: " in line}
    assert set(reasons) == {names.EVALUATOR, names.EVALUATION_REPORTER, names.PUSHER}, show
    assert reasons[names.EVALUATOR] == ("parameter eval_config changed: metrics_specs[0].metrics[2]."
                                        "per_slice_thresholds[1].threshold.value_threshold.lower_bound 0.5 -> 0.9999")

    # Into a closed pipe (`| head`): the same status, and no traceback.
    read, write = os.pipe()
    os.close(read)
    try:
        piped = subprocess.run([sys.executable, "-m", "pipeline", *map(str, not_blessed)], stdout=write,
                               stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT, timeout=900)
    finally:
        os.close(write)
    assert piped.returncode == 3 and "Traceback" not in piped.stderr, piped.stderr[-3000:]


# What must not reach the terminal of a run: TensorFlow's C++ log lines
# (the CUDA stubs among them), absl's, Python logging's, and setuptools'
# wheel build for the Trainer's module.
_NOISE = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] "  # TensorFlow C++
    r"|[IWEF]\d{4} \d\d:\d\d:\d\d\.\d+ "  # absl
    r"|(INFO|WARNING|ERROR):(absl|tensorflow|root|apache_beam)"  # Python logging
    r"|running (bdist_wheel|build|install|egg_info)|copying |creating build|installing to )"
)


def test_tfx_cli_run_shows_what_the_project_cli_shows_and_trains_with_the_same_keras(
    first_run, mnist_dir, output_dir, tmp_path
):
    """`tfx run create` executes pipeline/local_runner.py, which goes through the
    same process boundary and terminal output as `python -m pipeline run`; and
    `tfx run create` imports tensorflow_transform first, `python -m pipeline` does not.
    The run is not blessed: the runner exits 3, which the tfx CLI turns into its 1."""
    tfx = str(Path(sys.executable).parent / "tfx")
    runner = str(Path(__file__).resolve().parents[1] / "pipeline" / "local_runner.py")
    env = dict(
        os.environ,
        LOCAL_HOME=str(tmp_path / "tfx_home"),  # the tfx CLI's registry of pipelines
        MNIST_DIR=str(mnist_dir),
        MNIST_TFX_OUTPUT_DIR=str(tmp_path / "outputs"),
        MNIST_TFX_MAX_EXAMPLES_PER_SPLIT="500",
        MNIST_TFX_EPOCHS="1",
        MNIST_TFX_ACCURACY_LOWER_BOUND="0.9999",
        MNIST_TFX_DIGIT_ACCURACY_LOWER_BOUND="0",
    )
    # The entry points must set these themselves; the tfx CLI's own process
    # is quieted by the .pth file scripts/setup.sh writes.
    for name in ("TF_USE_LEGACY_KERAS", "TF_CPP_MIN_LOG_LEVEL", "PYTHONWARNINGS"):
        env.pop(name, None)
    outputs = []
    for command, status in (
        ([tfx, "pipeline", "create", "--engine=local", f"--pipeline_path={runner}"], 0),
        ([tfx, "run", "create", "--engine=local", "--pipeline_name=mnist-tfx"], 1),
    ):
        # One stream, in order: the tfx CLI's own lines, then the runner's.
        result = subprocess.run(
            command, env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=900,
        )
        assert result.returncode == status, result.stdout[-6000:]
        outputs.append(result.stdout)
        noise = [line for line in result.stdout.splitlines() if _NOISE.match(line)]
        assert not noise, "\n".join(noise[:20])

    output = outputs[-1]
    assert "Running mnist-tfx: output in" in output, output[-6000:]
    ours = output[output.index("Running mnist-tfx: output in"):]
    for node in names.NODE_IDS:
        assert re.search(rf"^  {node} +done in [0-9.]+ s$", ours, re.M), (node, ours)
    assert "Epoch 1, Loss :" in ours  # the trainer's per-epoch line
    assert "Model: NOT blessed" in ours and "Pushed to: nothing pushed" in ours
    # The tfx CLI's own words for any status but 0 (tfx/tools/cli/handler/base_handler.py).
    last = output.rstrip().splitlines()[-1]
    assert last.startswith('Error while running "') and last.endswith(f'{runner}"'), output[-500:]

    _, _, tfx_nodes = _latest_run(tmp_path / "outputs")
    assert tfx_nodes[names.TRAINER].state == "complete"
    _, _, cli_nodes = _latest_run(output_dir)
    assert _keras_of(tfx_nodes) == _keras_of(cli_nodes)
    assert _keras_of(tfx_nodes).startswith("tf_keras 2.")
