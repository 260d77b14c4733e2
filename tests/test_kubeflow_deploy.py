"""`deploy` against a local stand-in for the Kubeflow Pipelines API (tests/kfp/api_server.py),
as a 2.5.0 and as a 2.17.0 backend (conftest's backend_version).

The requests kfp.Client sends are checked: the compiled spec's bytes, the
pipeline name, the experiment, the run's version and pipeline root, the token.
No real cluster is involved.
"""
import socket

import pytest

from pipeline.launch.kubeflow_deploy import DeployError, deploy
from tests.fixtures.data import run_cli
from tests.fixtures.kubeflow import KUBEFLOW_IMAGE, KUBEFLOW_SUBSET, SPEC_1729D50
from tests.kfp.api_server import FakeKfp


@pytest.mark.e2e
def test_deploy_compiles_uploads_and_starts_a_run(tmp_path, mnist_dir, backend_version):
    spec_path = tmp_path / "mnist-tfx.yaml"
    store = tmp_path / "object_store"
    with FakeKfp(token="s3cret", version=backend_version) as kfp:
        result = run_cli(
            "deploy", "--image", KUBEFLOW_IMAGE, "--output-dir", store,
            "--mnist-dir", mnist_dir, "--max-examples-per-split", KUBEFLOW_SUBSET,
            "--package-path", spec_path, "--kfp-experiment", "nightly", "--run",
            env={"MNIST_TFX_KFP_HOST": kfp.url, "MNIST_TFX_KFP_TOKEN": "s3cret", "HOME": str(tmp_path)},
        )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]

    [upload] = kfp.calls("POST", "/pipelines/upload")
    assert upload.uploaded_file() == spec_path.read_bytes()
    assert upload.query["name"] == ["mnist-tfx"]
    [experiment] = kfp.calls("POST", "/experiments")
    assert experiment.json()["display_name"] == "nightly"
    [run] = kfp.calls("POST", "/runs")
    assert run.json()["experiment_id"] == "experiment-1"
    assert run.json()["pipeline_version_reference"] == {
        "pipeline_id": "pipeline-1", "pipeline_version_id": "pipeline-1-version-1",
    }
    assert run.json()["runtime_config"] == {
        "parameters": {}, "pipeline_root": str(store / "pipeline_root"),
    }
    assert {r.headers.get("authorization") for r in kfp.requests} == {"Bearer s3cret"}
    assert f"Run: {kfp.url}/#/runs/details/run-1" in result.stdout


def test_an_existing_pipeline_gets_a_new_version(kubeflow_compiled, backend_version):
    cfg, spec_path, _ = kubeflow_compiled
    with FakeKfp(version=backend_version) as kfp:
        kfp.pipelines["mnist-tfx"] = "pipeline-7"
        kfp.versions["pipeline-7"] = ["pipeline-7-version-1"]
        result = deploy(cfg.replace(kfp_host=kfp.url), spec_path, version_name="retrained", start_run=True)

    assert not kfp.calls("POST", "/pipelines/upload")
    [upload] = kfp.calls("POST", "/pipelines/upload_version")
    assert upload.query == {"name": ["retrained"], "pipelineid": ["pipeline-7"]}
    with open(spec_path, "rb") as f:
        assert upload.uploaded_file() == f.read()
    assert (result.pipeline_id, result.version_id) == ("pipeline-7", "pipeline-7-version-2")
    [run] = kfp.calls("POST", "/runs")
    assert run.json()["pipeline_version_reference"]["pipeline_version_id"] == "pipeline-7-version-2"
    assert run.json()["display_name"] == "retrained"


def test_without_run_nothing_is_started(kubeflow_compiled, backend_version):
    cfg, spec_path, _ = kubeflow_compiled
    with FakeKfp(version=backend_version) as kfp:
        result = deploy(cfg.replace(kfp_host=kfp.url), spec_path)
    assert result.run_url is None
    assert kfp.calls("POST", "/pipelines/upload") and not kfp.calls("POST", "/runs")


@pytest.mark.parametrize("status, reason", [(401, "Unauthorized"), (403, "Forbidden")])
def test_a_refused_token_is_reported(kubeflow_compiled, status, reason):
    cfg, spec_path, _ = kubeflow_compiled
    with FakeKfp(token="the-right-one", refuse_with=status) as kfp:
        with pytest.raises(DeployError) as error:
            deploy(cfg.replace(kfp_host=kfp.url, kfp_token="a-stale-one"), spec_path)
    message = str(error.value)
    assert message.startswith(f"connecting: Kubeflow Pipelines at {kfp.url} refused the credentials")
    assert f"(HTTP {status} {reason})" in message
    assert "Unauthenticated: invalid bearer token" in message  # the server's own words
    assert "--kfp-token" in message
    [healthz] = kfp.requests  # asked once, sent nothing
    assert (healthz.path, healthz.headers["authorization"]) == ("/apis/v2beta1/healthz", "Bearer a-stale-one")


def test_an_unreachable_host_is_reported(kubeflow_compiled):
    cfg, spec_path, _ = kubeflow_compiled
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(DeployError, match=f"connecting: cannot reach Kubeflow Pipelines at {url}"):
        deploy(cfg.replace(kfp_host=url), spec_path)


def test_a_spec_the_server_rejects_is_reported(kubeflow_compiled, backend_version):
    """The spec compiled before pipeline spec 2.1, refused in the server's
    words (HTTP 500 from 2.5.0, 400 from 2.17.0)."""
    cfg, _, _ = kubeflow_compiled
    with FakeKfp(version=backend_version) as kfp:
        with pytest.raises(DeployError, match="uploading the pipeline: .* rejected the pipeline spec: .*"
                                              "KFP only supports schema version 2.1.0, but the pipeline "
                                              "spec has version 2.0.0"):
            deploy(cfg.replace(kfp_host=kfp.url), str(SPEC_1729D50))


def test_a_run_the_server_refuses_is_reported(kubeflow_compiled, backend_version, tmp_path):
    """The spec compiled before this project dropped TFX's Resolver, with
    schema 2.1.0: uploaded, then refused at run creation in either gateway's
    body."""
    import yaml

    cfg, _, _ = kubeflow_compiled
    spec_1729d50, platform_1729d50 = yaml.safe_load_all(SPEC_1729D50.read_text())
    patched = tmp_path / "mnist-tfx.yaml"
    patched.write_text(yaml.safe_dump_all([dict(spec_1729d50, schemaVersion="2.1.0"), platform_1729d50]))
    with FakeKfp(version=backend_version) as kfp:
        with pytest.raises(DeployError, match=r"starting a run: .* answered HTTP 500 Internal Server Error: Internal "
                                              r"error: error processing component .*non-container and non-importer"):
            deploy(cfg.replace(kfp_host=kfp.url), str(patched), start_run=True)


def test_a_file_that_is_no_spec_is_caught_before_anything_is_sent(kubeflow_compiled, tmp_path):
    cfg, _, _ = kubeflow_compiled
    not_a_spec = tmp_path / "notes.yaml"
    not_a_spec.write_text("just: some yaml\n")
    with FakeKfp() as kfp:
        with pytest.raises(DeployError, match="notes.yaml is not a valid KFP pipeline spec"):
            deploy(cfg.replace(kfp_host=kfp.url), str(not_a_spec))
    assert kfp.requests == []
