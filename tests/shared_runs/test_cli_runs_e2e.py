"""The project CLI over ML Metadata, driven as a user would, on the shared
small runs (tests/fixtures/shared_runs.py: a blessed run, then a not-blessed one).

The resume test breaks the trainer module (and fixes it again) in a copy of
the project, and runs in a copy of the shared output directory.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from foundation import names
from pipeline import config as config_lib
from pipeline.inspection import metadata
from tests.fixtures.data import PROJECT_ROOT, run_cli
from tests.fixtures.shared_runs import LOW_BAR, SHARED_SUBSET

pytestmark = pytest.mark.e2e

TASK = Path("trainer_module") / "task.py"


def _cli(*args, output_dir, cwd=PROJECT_ROOT):
    return run_cli(*args, "--output-dir", output_dir, cwd=cwd, check=True).stdout


def _latest(output_dir):
    cfg = config_lib.PipelineConfig(output_dir=str(output_dir))
    store = metadata.open_store(cfg.metadata_path)
    runs = metadata.runs(store, cfg.pipeline_name)
    return [r.name for r in runs], metadata.executions(store, runs[-1])


@pytest.fixture(scope="module")
def shared(blessed_then_not_blessed):
    return blessed_then_not_blessed


def test_runs_list_and_compare_show_both_runs_and_their_difference(shared):
    first, second = shared.ids["blessed"], shared.ids["not_blessed"]
    listing = _cli("runs", "list", output_dir=shared.output_dir)
    assert listing.splitlines()[0].split() == ["RUN", "STARTED", "STATUS", "WALL", "ACCURACY", "BLESSED", "PUSHED"]
    [version] = [p.name for p in Path(shared.cfg().serving_dir).iterdir()]
    for name, blessed, pushed in ((first, "yes", version), (second, "no", "-")):
        [line] = [line for line in listing.splitlines() if line.startswith(name)]
        assert " complete " in line and "%" in line and f" {blessed} " in line, line
        assert line.split()[-1] == pushed, line

    compare = _cli("runs", "compare", first, second, output_dir=shared.output_dir)
    [epochs] = [line.split() for line in compare.splitlines() if line.startswith("hparam epochs")]
    assert epochs[-3:] == ["1", "2", "+1"]
    [sources] = [line.split() for line in compare.splitlines() if line.startswith("hparam sources")]
    assert sources[2:] == ["epochs:", "flag", "epochs:", "flag"]
    [accuracy] = [line.split() for line in compare.splitlines() if line.startswith("accuracy overall")]
    before, after, delta = map(float, accuracy[2:5])
    assert delta == pytest.approx(after - before, abs=1e-4)
    assert len([line for line in compare.splitlines() if line.startswith("accuracy digit")]) == 10
    [blessed] = [line.split() for line in compare.splitlines() if line.startswith("blessed")]
    assert blessed[1:] == ["True", "False", "changed"]
    # The second run's baseline is the first run's model, and its accuracy.
    [baseline] = [line.split() for line in compare.splitlines() if line.startswith("baseline accuracy")]
    assert baseline[2] == "-" and baseline[4] == "changed"
    assert float(baseline[3]) == pytest.approx(before, abs=1e-4)
    [pushed] = [line.split() for line in compare.splitlines() if line.startswith("pushed version")]
    assert pushed[2:] == [version, "-", "changed"]


def test_runs_show_explains_why_the_trainer_ran_and_why_not_blessed(shared):
    show = _cli("runs", "show", "latest", output_dir=shared.output_dir)
    [trainer] = [line for line in show.splitlines() if line.strip().startswith("Trainer")]
    assert "ran: parameter custom_config changed: epochs 1 -> 2" in trainer
    [stats] = [line for line in show.splitlines() if line.strip().startswith(names.STATISTICS_GEN)]
    assert stats.rstrip().endswith("cached")
    # Why not blessed, and against which model: as recorded when it ran; the
    # failed checks in a short line, each one's value below it.
    assert re.search(r"^Verdict: not blessed: failed accuracy >= 0\.999(;|$)", show, re.M), show
    assert re.search(r"^    sparse_categorical_accuracy 0\.\d{4}, needs >= 0\.999$", show, re.M), show
    # The Evaluator's own baseline_model input: the version the first run pushed.
    [version] = [p.name for p in Path(shared.cfg().serving_dir).iterdir()]
    baseline = _nodes(shared, shared.ids["not_blessed"])["Evaluator"].inputs["baseline_model"][0].uri
    assert f"  baseline model: version {version}, {baseline}" in show.splitlines(), show
    assert "  pushed: nothing (kept back by the Evaluator (not blessed))" in show.splitlines(), show
    assert re.search(r"^  serving check: passed \(p99 batch 1 [\d.]+ ms, batch 32 [\d.]+ ms\)$", show, re.M), show

    first = _cli("runs", "show", shared.ids["blessed"], output_dir=shared.output_dir)
    assert "Verdict: blessed: every threshold passed (no baseline yet" in first
    assert "  baseline model: none" in first.splitlines()
    assert re.search(r"^  pushed: version \d+ at /", first, re.M), first


def test_failed_trainer_then_resume_after_the_fix(shared, tmp_path):
    root = tmp_path / "project"
    for package in ("pipeline", "components", "trainer_module", "schemas", "system"):
        shutil.copytree(PROJECT_ROOT / package, root / package, ignore=shutil.ignore_patterns("__pycache__"))
    output_dir = shared.copy_to(tmp_path / "outputs")

    def run(*args, check=True):
        return run_cli("run", "--mnist-dir", shared.mnist_dir, "--output-dir", output_dir,
                       "--max-examples-per-split", SHARED_SUBSET, "--accuracy-lower-bound", LOW_BAR,
                       "--epochs", 2, *args, cwd=root, check=check)

    task = root / TASK
    original = task.read_text()
    task.write_text(original.replace(
        "    keras = keras_choice.require()\n",
        "    raise RuntimeError('injected failure for the resume test')\n", 1))
    failed = run(check=False)
    assert failed.returncode != 0
    _, nodes = _latest(output_dir)
    assert nodes["Trainer"].state == "failed"
    show = _cli("runs", "show", "latest", output_dir=output_dir, cwd=root)
    assert "injected failure for the resume test" in show

    # The fix: the original code, plus a comment (so its fingerprint is new).
    task.write_text(original + "\n# fixed\n")
    resumed = run("--resume", check=False)
    assert resumed.returncode in (0, 3), resumed.stderr[-3000:]  # finished: blessed, or not
    assert "resuming run" in resumed.stdout
    _, nodes = _latest(output_dir)
    assert nodes["Trainer"].state == "complete" and nodes["Pusher"].state == "complete"
    for upstream in ("MnistExampleGen", "StatisticsGen"):
        assert upstream not in nodes or nodes[upstream].state != "complete", (upstream, nodes[upstream].state)

    show = _cli("runs", "show", "latest", output_dir=output_dir, cwd=root)
    [trainer] = [line for line in show.splitlines() if line.strip().startswith("Trainer")]
    assert "trainer module fingerprint changed" in trainer


def test_lineage_of_the_pushed_model(shared):
    from components.mnist_example_gen import source

    [version] = [p.name for p in Path(shared.cfg().serving_dir).iterdir()]  # the blessed run's
    text = _cli("lineage", version, output_dir=shared.output_dir)
    assert f"  pushed by run {shared.ids['blessed']}" in text.splitlines()
    assert "    epochs = 1  (flag)" in text.splitlines()  # with its source
    assert "    learning_rate = 0.001  (default)" in text.splitlines()
    for digest in source.from_directory(str(shared.mnist_dir)).sha256.values():
        assert digest in text
    assert "blessed: yes" in text
    assert "    verdict: blessed: every threshold passed" in text
    assert f"  pushed version: {version}" in text.splitlines()


def test_predict_reads_pngs_of_known_test_digits(shared, mnist_source, tmp_path):
    from PIL import Image

    test = mnist_source.load("eval")
    picks = range(SHARED_SUBSET, SHARED_SUBSET + 20)  # beyond the subset the model saw
    paths = []
    for i in picks:
        path = tmp_path / f"digit_{i}.png"
        Image.fromarray(test.images[i]).save(path)
        paths.append(path)
    out = _cli("predict", *paths, output_dir=shared.output_dir)
    # A digit, or "uncertain: likeliest D (...)" when the model is not sure.
    predicted = {path: int(digit) for path, digit in
                 re.findall(r"^(\S+): (?:uncertain: likeliest )?(\d) \(", out, re.M)}
    assert len(predicted) == 20, out
    right = sum(predicted[str(p)] == test.labels[i] for p, i in zip(paths, picks))
    assert right >= 17, out  # a model at ~90% or more on 20 digits; chance would be 2


def _nodes(shared, run_id):
    store = metadata.open_store(shared.cfg().metadata_path)
    return metadata.executions(store, metadata.find_run(store, shared.cfg().pipeline_name, run_id))


def test_run_exits_0_when_its_model_is_pushed_and_3_when_not_blessed(shared):
    assert shared.status == {"blessed": 0, "not_blessed": 3}
    verdict = shared.stdout["not_blessed"].splitlines()
    first = verdict.index("Model: NOT blessed (accuracy >= 0.999, every digit >= 0.965)")
    assert verdict[first + 1].startswith("  not blessed: failed accuracy >= 0.999")
    assert verdict[first + 2].startswith("    sparse_categorical_accuracy 0.")


def _into_a_closed_pipe(*args):
    """The command as `... | head` leaves it: stdout's reader already gone."""
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], stdout=write,
                              stderr=subprocess.PIPE, text=True, cwd=PROJECT_ROOT, timeout=300)
    finally:
        os.close(write)


def test_every_inspection_command_keeps_its_status_into_a_closed_pipe(shared, tmp_path):
    from PIL import Image

    [version] = [p.name for p in Path(shared.cfg().serving_dir).iterdir()]
    Image.new("L", (28, 28), 0).save(tmp_path / "blank.png")
    out = ["--output-dir", shared.output_dir]
    for args, status in (
        (["report", shared.ids["blessed"]], 0),
        (["report", shared.ids["not_blessed"]], 1),
        (["report", "no-such-run"], 2),
        (["runs", "list"], 0),
        (["runs", "show", "latest"], 0),
        (["runs", "compare", shared.ids["blessed"], "latest"], 0),
        (["lineage", version], 0),
        (["predict", tmp_path / "blank.png"], 0),
        (["predict", tmp_path / "blank.png", tmp_path / "missing.png"], 1),
    ):
        result = _into_a_closed_pipe(*args, *out)
        assert result.returncode == status, (args, result.stderr)
        assert "Traceback" not in result.stderr and "Broken pipe" not in result.stderr, (args, result.stderr)
