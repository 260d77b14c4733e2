"""The evaluation report of real (small) runs: its numbers are TFMA's, the
`report` command's exit status follows the blessing, the page loads in
headless Chromium with no error and no request, the notebook runs headless,
and the Kubeflow container writes the page where the KFP UI reads it.

On the shared runs (tests/fixtures/shared_runs.py): the first blessed (a low bar, 1
epoch), the second not (2 epochs, so a new model, and a bar no model reaches
here), with the first run's model as its baseline.
"""
import json
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml
from google.protobuf import json_format
from nbclient import NotebookClient

from components.evaluation_report import summary as summary_lib
from foundation import names
from foundation.names import REPORT_HTML_FILE, REPORT_SUMMARY_FILE
from pipeline.inspection import metadata
from pipeline.launch import local
from tests import chromium
from tests.fixtures.data import PROJECT_ROOT, run_cli, write_mnist_dir
from tests.fixtures.shared_runs import HIGH_BAR, LOW_BAR
from tests.fixtures.shared_runs import SHARED_SUBSET as SUBSET
from tests.synthetic_digits import make_digits

pytestmark = pytest.mark.e2e

SCREENSHOT_COPY = Path("/tmp/report-screenshot.png")


@pytest.fixture(scope="module")
def runs(blessed_then_not_blessed):
    """(config, {"blessed": run id, "not_blessed": run id})."""
    return blessed_then_not_blessed.cfg(), blessed_then_not_blessed.ids


def _tfma_accuracy(evaluation_uri):
    """(overall, {digit: accuracy}) of the candidate, straight from TFMA's
    files: the test's own reading, to check the report's reader against."""
    import tensorflow_model_analysis as tfma

    overall, per_digit = None, {}
    for metrics in tfma.load_metrics(evaluation_uri):
        for key_and_value in metrics.metric_keys_and_values:
            key = key_and_value.key
            # TFMA names the models "candidate" and "baseline" only when both exist.
            if key.name != "sparse_categorical_accuracy" or key.model_name == "baseline" or key.is_diff:
                continue
            value = key_and_value.value.double_value.value
            if metrics.slice_key.single_slice_keys:
                per_digit[int(metrics.slice_key.single_slice_keys[0].int64_value)] = value
            else:
                overall = value
    return overall, per_digit


def _nodes(cfg, run_id):
    store = metadata.open_store(cfg.metadata_path)
    return metadata.executions(store, metadata.find_run(store, cfg.pipeline_name, run_id))


def _report_dir(cfg, run_id) -> Path:
    return Path(_nodes(cfg, run_id)[names.EVALUATION_REPORTER].outputs["report"][0].uri)


def _summary(cfg, run_id):
    return summary_lib.read(str(_report_dir(cfg, run_id) / REPORT_SUMMARY_FILE))


@pytest.mark.parametrize("which", ["blessed", "not_blessed"])
def test_summary_numbers_are_tfmas_own(runs, which):
    cfg, ids = runs
    nodes = _nodes(cfg, ids[which])
    assert nodes[names.EVALUATION_REPORTER].state == "complete"
    summary = _summary(cfg, ids[which])
    evaluation_uri = nodes["Evaluator"].outputs["evaluation"][0].uri
    tfma_overall, tfma_per_digit = _tfma_accuracy(evaluation_uri)
    evaluation = summary["evaluation"]

    assert summary["schema_version"] == summary_lib.SCHEMA_VERSION
    assert summary["run_id"] == ids[which]
    assert summary["blessed"] is (which == "blessed")
    assert summary["blessed"] == (metadata.custom_value(nodes[names.EVALUATOR].outputs["blessing"][0], "blessed") == 1)
    assert evaluation["overall"]["candidate"]["sparse_categorical_accuracy"] == tfma_overall
    assert {d["digit"]: d["accuracy"] for d in evaluation["per_digit"]} == tfma_per_digit
    assert evaluation["overall"]["candidate"]["example_count"] == SUBSET

    # TFMA's confusion matrix: every eval digit once, each row its digit's count,
    # the diagonal its accuracy.
    matrix = evaluation["confusion_matrix"]
    assert len(matrix) == 10 and all(len(row) == 10 for row in matrix)
    assert sum(map(sum, matrix)) == SUBSET
    for d in evaluation["per_digit"]:
        row = matrix[d["digit"]]
        assert sum(row) == d["example_count"]
        assert row[d["digit"]] / sum(row) == pytest.approx(d["accuracy"], abs=1e-6)

    overall = [t for t in evaluation["thresholds"] if t["digit"] is None]
    # Per digit: a value threshold for each digit, TFMA's figure.
    digit_values = {t["digit"]: t for t in evaluation["thresholds"] if t["digit"] is not None and t["kind"] == "value"}
    assert sorted(digit_values) == sorted(tfma_per_digit)
    for digit, t in digit_values.items():
        assert t["value"] == pytest.approx(tfma_per_digit[digit])
        assert t["lower_bound"] == (LOW_BAR if which == "blessed" else cfg.digit_accuracy_lower_bound)
        assert t["passed"] is (t["value"] >= t["lower_bound"])
    [value] = [t for t in overall if t["kind"] == "value"]
    assert value["value"] == tfma_overall
    assert value["lower_bound"] == (LOW_BAR if which == "blessed" else HIGH_BAR)
    assert value["passed"] is (which == "blessed")
    changes = [t for t in overall if t["kind"] == "change"]
    if which == "blessed":
        assert evaluation["overall"]["baseline"] is None and changes == []
    else:  # the first run's model is the baseline
        first = _nodes(cfg, ids["blessed"])["Evaluator"].outputs["evaluation"][0].uri
        baseline_overall, _ = _tfma_accuracy(first)
        assert evaluation["overall"]["baseline"]["sparse_categorical_accuracy"] == pytest.approx(baseline_overall)
        [change] = changes
        assert change["value"] == pytest.approx(tfma_overall - baseline_overall, abs=1e-6)
        assert change["passed"] is (change["value"] >= -cfg.max_accuracy_drop)
        assert change["absolute"] == -cfg.max_accuracy_drop

    # The key figures, on the report artifact in ML Metadata: what `runs` shows.
    report = nodes["EvaluationReporter"].outputs["report"][0]
    recorded = {key: metadata.custom_value(report, key) for key in summary_lib.key_figures(summary)}
    assert recorded[summary_lib.ACCURACY_PROPERTY] == pytest.approx(tfma_overall)
    assert recorded[summary_lib.ACCURACY_PER_DIGIT_PROPERTY] == pytest.approx(
        {str(d): a for d, a in tfma_per_digit.items()})
    assert recorded[summary_lib.BLESSED_PROPERTY] == (which == "blessed")
    assert recorded[summary_lib.VERDICT_PROPERTY] == summary_lib.verdict(summary)
    if which == "blessed":
        assert recorded[summary_lib.BASELINE_ACCURACY_PROPERTY] is None
    else:
        assert recorded[summary_lib.VERDICT_PROPERTY].startswith("not blessed: failed accuracy >= 0.999")
        assert "\n  sparse_categorical_accuracy 0." in recorded[summary_lib.VERDICT_PROPERTY]
        assert recorded[summary_lib.BASELINE_ACCURACY_PROPERTY] == pytest.approx(baseline_overall)

    data = summary["data"]
    assert data["example_counts"] == {"train": SUBSET, "eval": SUBSET}
    assert {s: f["num_examples"] for s, f in data["splits"].items()} == {"train": SUBSET, "eval": SUBSET}
    assert sum(data["splits"]["eval"]["label_counts"]) == SUBSET
    assert data["splits"]["eval"]["label_counts"] == [d["example_count"] for d in evaluation["per_digit"]]
    assert data["anomalies"] == []
    assert len(summary["training"]["history"]) == (1 if which == "blessed" else 2)
    wrong = summary["misclassified"]
    assert 0 < len(wrong["digits"]) <= wrong["count"] <= wrong["examined"] <= SUBSET
    assert all(d["label"] != d["predicted"] for d in wrong["digits"])
    assert len(summary["samples"]) == 16


def _report(cfg, *args):
    return run_cli("report", *args, "--output-dir", cfg.output_dir, timeout=120)


def test_report_command_exit_status_follows_the_blessing(runs):
    cfg, ids = runs
    blessed = _report(cfg, ids["blessed"])
    assert blessed.returncode == 0, blessed.stdout + blessed.stderr
    lines = blessed.stdout.splitlines()
    assert lines[1] == "Verdict: BLESSED"
    assert re.fullmatch(r"  sparse_categorical_accuracy 0\.\d{4} >= 0\.3 PASS", lines[2])

    not_blessed = _report(cfg, ids["not_blessed"])
    assert not_blessed.returncode == 1, not_blessed.stdout + not_blessed.stderr
    out = not_blessed.stdout
    assert "Verdict: NOT BLESSED" in out.splitlines()
    assert re.search(r"^  sparse_categorical_accuracy 0\.\d{4} >= 0\.999 FAIL$", out, re.M)
    assert re.search(r"^  sparse_categorical_accuracy change [+-]0\.\d{4} >= -0\.002 (PASS|FAIL)$", out, re.M)
    assert re.search(r"^  sparse_categorical_accuracy\s+0\.\d{4}\s+0\.\d{4}\s+[+-]0\.\d{4}$", out, re.M)
    # Per digit: accuracy, test digits, the baseline's accuracy, the change.
    assert len(re.findall(r"^  \d  +\d+\.\d\d%  +\d+  +\d+\.\d\d%  +[+-]\d\.\d{4}$", out, re.M)) == 10
    [path] = re.findall(r"^HTML report: (.+)$", out, re.M)
    page = Path(path).read_text()
    assert Path(path).parent == Path(cfg.output_dir) / "reports"
    assert "Verdict: NOT BLESSED" in page and "Wall time per component" in page

    missing = _report(cfg, "no-such-run")
    assert missing.returncode == 2 and "error: No run of mnist-tfx match 'no-such-run'" in missing.stderr


def test_report_of_a_run_that_failed_before_evaluation_exits_2(blessed_then_not_blessed, tmp_path):
    # In a copy: the shared output directory keeps its latest run.
    cfg = blessed_then_not_blessed.cfg().replace(
        output_dir=str(blessed_then_not_blessed.copy_to(tmp_path / "outputs")))
    images, labels = make_digits(20, seed=3)
    broken = write_mnist_dir(tmp_path / "broken", train=(images, labels[:-1]), test=(images, labels))
    with pytest.raises(Exception):
        local.run(cfg.replace(mnist_dir=str(broken)))
    result = _report(cfg)  # latest: the failed run
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Verdict: NOT EVALUATED" in result.stdout
    assert "the run failed at MnistExampleGen" in result.stdout


@pytest.fixture(scope="module")
def browser():
    if chromium.executable() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have Chromium: .ci/run installs Debian's `chromium` package")
        pytest.skip("no Chromium here: `apt-get install chromium` to run this test")
    browser = chromium.Chromium()
    yield browser
    browser.close()


def test_report_page_loads_in_headless_chromium_with_no_error_and_no_request(runs, browser, tmp_path):
    cfg, ids = runs
    assert _report(cfg, ids["not_blessed"]).returncode == 1  # renders the page with ML Metadata's facts
    pages = {
        "component": _report_dir(cfg, ids["not_blessed"]) / REPORT_HTML_FILE,
        "cli": Path(cfg.output_dir) / "reports" / (ids["not_blessed"].replace(":", "-") + ".html"),
    }
    for name, page in pages.items():
        url = page.resolve().as_uri()
        screenshot = tmp_path / f"{name}.png"
        visit, session = browser.visit(url, str(screenshot))
        assert visit.console_errors == [] and visit.exceptions == [] and visit.log_errors == [], name
        assert visit.requests[0] == url
        assert all(r.startswith("data:image/png;base64,") for r in visit.requests[1:]), name
        assert browser.evaluate(session, "document.getElementById('verdict').textContent").startswith(
            "Verdict: NOT BLESSED"
        )
        # One cell per (true, predicted) pair: its count written in it, and in its tooltip.
        cells = browser.evaluate(session, """[...document.querySelectorAll('#confusion-matrix svg rect')]
            .map(r => [r.querySelector('title').textContent, r.nextElementSibling.textContent])""")
        assert len(cells) == 100, name
        assert all(title.endswith(f": {text}") for title, text in cells), name
        assert sum(int(text) for _, text in cells) == SUBSET, name
        assert screenshot.stat().st_size > 50_000
    shutil.copy(screenshot, SCREENSHOT_COPY)  # the full report, for a person to look at


def test_notebook_executes_headless(runs, monkeypatch):
    cfg, ids = runs
    monkeypatch.setenv("MNIST_TFX_OUTPUT_DIR", cfg.output_dir)
    monkeypatch.setenv("MNIST_TFX_RUN", ids["not_blessed"])
    path = PROJECT_ROOT / "notebooks" / "inspect_run.ipynb"
    notebook = nbformat.read(path, as_version=4)
    assert all(not c.get("outputs") for c in notebook.cells if c.cell_type == "code")  # committed clean
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    ).execute()
    outputs = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs]
    kinds = {kind for o in outputs for kind in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in kinds  # tfma.view.render_slicing_metrics
    html = "".join(o["data"].get("text/html", "") for o in outputs if "data" in o)
    assert "facets-overview" in html and "facets-iframe" in html  # tfdv.visualize_statistics
    assert "No anomalies found" in html  # tfdv.display_anomalies
    assert html.count("data:image/png;base64,") >= 20  # the sample digits, the misclassified
    text = "".join(o.get("text", "") for o in outputs)
    assert f"Run {ids['not_blessed']}" in text and "Blessed: False" in text


def _runtime_artifact(artifact, artifact_type):
    """An ML Metadata artifact as KFP hands it to a task: its properties as metadata."""
    values = {**artifact.properties, **artifact.custom_properties}
    metadata = {key: json_format.MessageToDict(value.struct_value) if value.HasField("struct_value")
                else getattr(value, value.WhichOneof("value")) for key, value in values.items()}
    return {"name": f"artifacts/{artifact.id}", "type": artifact_type, "uri": artifact.uri, "metadata": metadata}


def test_kubeflow_task_writes_the_page_where_the_kfp_ui_reads_it(runs, kubeflow_compiled, tmp_path):
    """The compiled EvaluationReporter task, run by TFX's Kubeflow entry point
    (in this process, on the local run's artifacts): the `system.HTML` output
    is the page itself at the URI KFP gave, with a display name."""
    from foundation import compat

    cfg, ids = runs
    _, spec_path, _ = kubeflow_compiled
    spec = yaml.safe_load(Path(spec_path).read_text())
    task = spec["root"]["dag"]["tasks"][names.EVALUATION_REPORTER]
    component = spec["components"][task["componentRef"]["name"]]
    container = spec["deploymentSpec"]["executors"][component["executorLabel"]]["container"]
    nodes = _nodes(cfg, ids["not_blessed"])
    reporter = nodes[names.EVALUATION_REPORTER]
    inputs = {
        key: {"artifacts": [_runtime_artifact(reporter.inputs[key][0],
                                              component["inputDefinitions"]["artifacts"][key]["artifactType"])]}
        for key in component["inputDefinitions"]["artifacts"]
    }
    outputs = {key: {"artifacts": [{"name": f"EvaluationReporter-{key}", "type": d["artifactType"],
                                    "uri": str(tmp_path / key)}]}
               for key, d in component["outputDefinitions"]["artifacts"].items()}
    output_file = tmp_path / "executor_output.json"
    executor_input = {
        "inputs": {"artifacts": inputs},
        "outputs": {"artifacts": outputs, "outputFile": str(output_file)},
    }
    args = [json.dumps(executor_input) if a == "{{$}}" else a for a in container["args"]]
    main, parse_flags = compat.kubeflow_v2_executor()
    main(parse_flags(args))

    written = json.loads(output_file.read_text())["artifacts"]
    [html] = written["html"]["artifacts"]
    assert outputs["html"]["artifacts"][0]["type"] == {"instanceSchema": "title: system.HTML\ntype: object\n"}
    assert html["uri"] == str(tmp_path / "html") and html["metadata"]["display_name"] == "evaluation report"
    page = (tmp_path / "html").read_text()  # a file, not a directory: KFP's UI reads it as the page
    assert page.startswith("<!DOCTYPE html>") and "Verdict: NOT BLESSED" in page
    container_summary = json.loads((tmp_path / "report" / REPORT_SUMMARY_FILE).read_text())
    local_summary = _summary(cfg, ids["not_blessed"])
    for key in ("blessed", "evaluation", "data", "misclassified", "samples"):
        assert container_summary[key] == local_summary[key], key
