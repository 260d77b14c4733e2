"""`python -m pipeline tensorboard` over the shared two runs: the real
TensorBoard server, queried through its HTTP data API the way its front end
does, then loaded in headless Chromium; and Ctrl-C stops it cleanly."""
import base64
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from foundation.names import TENSORBOARD_DIR
from pipeline.inspection.tensorboard import run_name
from tests import chromium
from tests.fixtures.data import PROJECT_ROOT

pytestmark = pytest.mark.e2e

SCREENSHOT = os.environ.get("TENSORBOARD_SCREENSHOT")  # where to keep the page's picture


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def board(blessed_then_not_blessed):
    """(base URL, the two runs' TensorBoard names, the server process)."""
    runs = blessed_then_not_blessed
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "tensorboard", "--output-dir", str(runs.output_dir),
         "--port", str(port)],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    url, seen = None, []
    deadline = time.monotonic() + 300
    while url is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if line.startswith("TensorBoard at "):
            url = line.split()[2]
    if url is None:
        process.kill()
        pytest.fail(f"no URL printed: {''.join(seen)}{process.stderr.read()}")
    assert url == f"http://127.0.0.1:{port}/"  # loopback by default
    # --logdir_spec's name, then the events' directory under model_run.
    names = [f"{run_name(runs.ids[run])}/{TENSORBOARD_DIR}" for run in ("blessed", "not_blessed")]
    yield url, names, process
    if process.poll() is None:
        process.kill()


def _get(url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _wait_for_runs(url, names):
    """TensorBoard loads the event files in the background after it starts."""
    deadline = time.monotonic() + 120
    while True:
        tags = _get(url + "data/plugin/scalars/tags")
        if all(name in tags and "epoch/test_accuracy" in tags[name] for name in names) or time.monotonic() > deadline:
            return tags
        time.sleep(1)


def test_the_data_api_serves_both_runs_scalars_hparams_and_images(board):
    url, names, _ = board
    tags = _wait_for_runs(url, names)
    assert set(names) <= set(_get(url + "data/runs"))
    for name in names:
        assert {"step/loss", "step/accuracy", "step/learning_rate", "step/images_per_second",
                "epoch/loss", "epoch/accuracy", "epoch/test_loss", "epoch/test_accuracy"} <= set(tags[name])

    experiment = _get(url + "data/plugin/hparams/experiment", {"experimentName": ""})
    hparams = {h["name"] for h in experiment["hparamInfos"]}
    assert {"learning_rate", "batch_size", "epochs", "lr_schedule", "train_dropout"} <= hparams
    assert {m["name"]["tag"] for m in experiment["metricInfos"]} >= {"epoch/test_accuracy"}
    groups = _get(url + "data/plugin/hparams/session_groups", {
        "experimentName": "", "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS"],
        "colParams": [], "startIndex": 0, "sliceSize": 100,
    })
    assert groups["totalSize"] == 2
    epochs = sorted(g["hparams"]["epochs"] for g in groups["sessionGroups"])
    assert epochs == [1, 2]  # the fixture's two runs
    for group in groups["sessionGroups"]:
        [metric] = [m for m in group["metricValues"] if m["name"]["tag"] == "epoch/test_accuracy"]
        assert 0 <= metric["value"] <= 1 and metric["trainingStep"] == group["hparams"]["epochs"]

    images = _get(url + "data/plugin/images/tags")
    for name in names:
        assert "epoch/misclassified" in images[name]


def test_the_page_loads_in_headless_chromium_with_no_console_error(board, tmp_path):
    if chromium.executable() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI must have Chromium: .ci/run installs Debian's `chromium` package")
        pytest.skip("no Chromium here: `apt-get install chromium` to run this test")
    url, names, _ = board
    _wait_for_runs(url, names)
    browser = chromium.Chromium()
    try:
        visit, session = browser.visit(url + "#hparams", str(tmp_path / "hparams.png"))
        time.sleep(5)  # the app's own data requests after the load event
        text = browser.evaluate(session, "document.body.innerText")
        if SCREENSHOT:
            shot = browser.send("Page.captureScreenshot", session, format="png")
            with open(SCREENSHOT, "wb") as f:
                f.write(base64.b64decode(shot["data"]))
    finally:
        browser.close()
    assert visit.console_errors == [] and visit.exceptions == [] and visit.log_errors == []
    # The HParams plugin is active (its tab); its table renders in shadow DOM.
    assert "HPARAMS" in text.upper()


def test_ctrl_c_stops_the_server_cleanly(board):
    url, _, process = board
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 0
    assert "TensorBoard stopped" in process.stdout.read()
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=5)
