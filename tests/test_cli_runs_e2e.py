"""The project CLI over ML Metadata, driven as a user would, on small real runs.

Runs happen in a copy of the project, so a test can break the trainer module
(and fix it again) without touching the checkout.
"""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import config as config_lib
from pipeline import dag
from pipeline.inspection import metadata
from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.e2e

SUBSET = 3000
COMMON = ["--max-examples-per-split", SUBSET, "--accuracy-lower-bound", 0.5]
TASK = Path("trainer_module") / "task.py"


class Project:
    def __init__(self, root: Path, output_dir: Path, mnist_dir: Path):
        self.root, self.output_dir, self.mnist_dir = root, output_dir, mnist_dir

    def cli(self, *args, check=True):
        result = subprocess.run(
            [sys.executable, "-m", "pipeline", *map(str, args)],
            cwd=self.root, capture_output=True, text=True, timeout=900,
        )
        if check:
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        return result

    def run(self, *args, check=True):
        return self.cli("run", "--mnist-dir", self.mnist_dir, "--output-dir", self.output_dir,
                        *COMMON, *args, check=check)

    def latest(self):
        cfg = config_lib.PipelineConfig(output_dir=str(self.output_dir))
        store = metadata.open_store(cfg.metadata_path)
        runs = metadata.runs(store, cfg.pipeline_name)
        return [r.name for r in runs], metadata.executions(store, runs[-1])


@pytest.fixture(scope="module")
def project(tmp_path_factory, mnist_dir):
    root = tmp_path_factory.mktemp("project")
    for package in ("pipeline", "components", "trainer_module", "schemas", "system"):
        shutil.copytree(PROJECT_ROOT / package, root / package,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return Project(root, root / "outputs", mnist_dir)


@pytest.fixture(scope="module")
def two_runs(project):
    project.run("--epochs", 1)
    project.run("--epochs", 2)
    names, nodes = project.latest()
    return names


def test_runs_list_and_compare_show_both_runs_and_their_difference(project, two_runs):
    first, second = two_runs
    listing = project.cli("runs", "list", "--output-dir", project.output_dir).stdout
    assert listing.splitlines()[0].split() == ["RUN", "STARTED", "STATUS", "WALL", "ACCURACY", "BLESSED", "PUSHED"]
    for name in (first, second):
        [line] = [line for line in listing.splitlines() if line.startswith(name)]
        assert " complete " in line and "%" in line and " yes " in line

    compare = project.cli("runs", "compare", first, second, "--output-dir", project.output_dir).stdout
    [epochs] = [line.split() for line in compare.splitlines() if line.startswith("hparam epochs")]
    assert epochs[-3:] == ["1", "2", "+1"]
    [accuracy] = [line.split() for line in compare.splitlines() if line.startswith("accuracy overall")]
    before, after, delta = map(float, accuracy[2:5])
    assert delta == pytest.approx(after - before, abs=1e-4)
    assert len([line for line in compare.splitlines() if line.startswith("accuracy digit")]) == 10


def test_runs_show_explains_why_the_trainer_ran(project, two_runs):
    show = project.cli("runs", "show", "latest", "--output-dir", project.output_dir).stdout
    [trainer] = [line for line in show.splitlines() if line.strip().startswith(dag.TRAINER)]
    assert "ran: parameter custom_config changed: epochs 1 -> 2" in trainer
    [stats] = [line for line in show.splitlines() if line.strip().startswith(dag.STATISTICS_GEN)]
    assert stats.rstrip().endswith("cached")


def test_failed_trainer_then_resume_after_the_fix(project, two_runs):
    task = project.root / TASK
    original = task.read_text()
    task.write_text(original.replace(
        "    keras = keras_choice.require()\n",
        "    raise RuntimeError('injected failure for the resume test')\n", 1))
    failed = project.run("--epochs", 2, check=False)
    assert failed.returncode != 0
    _, nodes = project.latest()
    assert nodes[dag.TRAINER].state == "failed"
    show = project.cli("runs", "show", "latest", "--output-dir", project.output_dir).stdout
    assert "injected failure for the resume test" in show

    # The fix: the original code, plus a comment (so its fingerprint is new).
    task.write_text(original + "\n# fixed\n")
    resumed = project.run("--epochs", 2, "--resume")
    assert "resuming run" in resumed.stdout
    _, nodes = project.latest()
    assert nodes[dag.TRAINER].state == "complete" and nodes[dag.PUSHER].state == "complete"
    for upstream in (dag.EXAMPLE_GEN, dag.STATISTICS_GEN):
        assert upstream not in nodes or nodes[upstream].state != "complete", (upstream, nodes[upstream].state)

    show = project.cli("runs", "show", "latest", "--output-dir", project.output_dir).stdout
    [trainer] = [line for line in show.splitlines() if line.strip().startswith(dag.TRAINER)]
    assert "trainer module fingerprint changed" in trainer


def test_lineage_of_the_pushed_model(project, two_runs):
    cfg = config_lib.PipelineConfig(output_dir=str(project.output_dir))
    versions = sorted(p.name for p in Path(cfg.serving_dir).iterdir())
    text = project.cli("lineage", versions[-1], "--output-dir", project.output_dir).stdout
    assert '"epochs": 2' in text
    for digest in metadata_source_digests(project):
        assert digest in text
    assert "blessed: yes" in text


def metadata_source_digests(project):
    from components.mnist_example_gen import source

    return source.from_directory(str(project.mnist_dir)).sha256.values()


def test_predict_reads_pngs_of_known_test_digits(project, two_runs, mnist_source, tmp_path):
    from PIL import Image

    test = mnist_source.load("eval")
    picks = range(SUBSET, SUBSET + 20)  # beyond the subset the model saw
    paths = []
    for i in picks:
        path = tmp_path / f"digit_{i}.png"
        Image.fromarray(test.images[i]).save(path)
        paths.append(path)
    out = project.cli("predict", *paths, "--output-dir", project.output_dir).stdout
    predicted = {line.split(":")[0]: int(line.split(":")[1].split()[0])
                 for line in out.splitlines() if line.startswith(str(tmp_path))}
    assert len(predicted) == 20
    right = sum(predicted[str(p)] == test.labels[i] for p, i in zip(paths, picks))
    assert right >= 17, out  # a model at ~96% on 20 digits; chance would be 2
