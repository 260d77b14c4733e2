"""The stand-in KFP API (tests/kfp/api_server.py) refuses what a KFP backend
refuses, with its status and words, as kfp.Client 2.5 receives them: each
test against 2.5.0 and 2.17.0 (conftest's backend_version).

Fast: small hand-written specs, no TensorFlow. The rules and their sources
(file:line at both tags) are in tests/kfp/contract.py and tests/kfp/versions.py.
"""
import copy
import json
from pathlib import Path

import kfp
import kfp_server_api
import pytest
import yaml

from tests.fixtures.kubeflow import SPEC_1729D50
from tests.kfp import contract as kfp_contract
from tests.kfp import gateway as kfp_gateway
from tests.kfp.api_server import FakeKfp
from tests.kfp.versions import V2_5_0, V2_17_0

UPLOAD = "Failed to create a pipeline and a pipeline version: Failed to create a pipeline and a pipeline version due to template creation error: "
UPLOAD_VERSION = "Failed to create a pipeline version: Failed to create a pipeline version due to template creation error: "
INVALID = ": pipeline spec is invalid"
SCHEMA_2_0_0 = "KFP only supports schema version 2.1.0, but the pipeline spec has version 2.0.0"


def template_refusal(version, details, sentinel=INVALID, wrapper=UPLOAD):
    """(status, body) of an upload refused by template.New: 2.5.0 answers 500
    with the error chain, 2.17.0 400 with the details alone."""
    message = f"{wrapper}InvalidInputError: {details}{sentinel}" if version is V2_5_0 else details
    return version.upload_invalid_status, {"error_message": message, "error_details": message}


def spec(**changes) -> dict:
    """A spec the backend takes: one container task, schema 2.1.0."""
    value = {
        "pipelineInfo": {"name": "mnist-tfx"},
        "schemaVersion": "2.1.0",
        "sdkVersion": "tfx-1.16.0",
        "root": {"dag": {"tasks": {"train": {"taskInfo": {"name": "train"}, "componentRef": {"name": "comp-train"}}}}},
        "components": {"comp-train": {"executorLabel": "exec-train"}},
        "deploymentSpec": {"executors": {"exec-train": {"container": {"image": "example.com/i:1", "command": ["python"]}}}},
    }
    value.update(changes)
    return value


def platform(executors=None) -> dict:
    executors = executors or {"exec-train": {"secretAsEnv": [{"secretName": "s3", "keyToEnv": [
        {"secretKey": "accesskey", "envVar": "AWS_ACCESS_KEY_ID"}]}]}}
    return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": executors}}}}


def write(tmp_path, *documents, name="pipeline.yaml"):
    path = tmp_path / name
    path.write_text("---\n".join(yaml.safe_dump(d, sort_keys=False) for d in documents))
    return str(path)


def refusal(error: kfp_server_api.ApiException):
    return error.status, json.loads(error.body)


@pytest.fixture
def kfp_api(backend_version):
    with FakeKfp(version=backend_version) as fake:
        yield fake, kfp.Client(host=fake.url)


def upload_refused(kfp_api, tmp_path, *documents, name="pipeline.yaml"):
    fake, client = kfp_api
    with pytest.raises(kfp_server_api.ApiException) as error:
        client.upload_pipeline(write(tmp_path, *documents, name=name), pipeline_name="mnist-tfx")
    assert not fake.pipelines  # nothing kept
    return refusal(error.value)


def test_a_spec_the_backend_takes_is_uploaded_with_its_platform_spec(kfp_api, tmp_path):
    fake, client = kfp_api
    pipeline = client.upload_pipeline(write(tmp_path, spec(), platform()), pipeline_name="mnist-tfx")
    assert fake.specs[f"{pipeline.pipeline_id}-version-1"] == (spec(), platform())


def test_schema_version_2_0_0_is_refused_with_the_servers_words(kfp_api, tmp_path, backend_version):
    status, body = upload_refused(kfp_api, tmp_path, spec(schemaVersion="2.0.0"))
    # pipeline_upload_server.go: HTTP 500 at 2.5.0 (:142), 400 at 2.17.0 (:188-191).
    assert (status, body["error_message"]) == {
        "2.5.0": (500, UPLOAD + "InvalidInputError: " + SCHEMA_2_0_0 + INVALID),
        "2.17.0": (400, SCHEMA_2_0_0),
    }[backend_version.tag]


@pytest.mark.parametrize("documents, details", [
    # template.go does not recognize a spec without a name or a root, so
    # template.New answers before NewV2SpecTemplate's own checks.
    ([spec(pipelineInfo={"name": ""})], "unknown template format"),
    ([{k: v for k, v in spec().items() if k != "root"}], "unknown template format"),
    ([platform()], "unknown template format"),  # no spec at all
    ([spec(unknownField=1)], "unknown template format"),  # protojson refuses it
    ([spec(), spec()], "multiple pipeline specs provided"),
    ([spec(pipelineInfo={"name": "MNIST_TFX"})],
     "invalid v2 pipeline spec: name should consist of lower case alphanumeric characters, "
     "'-' or '.', and must start and end with an alphanumeric character"),
])
def test_template_errors_are_refused_with_the_servers_words(kfp_api, tmp_path, backend_version, documents, details):
    assert upload_refused(kfp_api, tmp_path, *documents) == template_refusal(backend_version, details)


def test_two_platform_specs_are_refused_in_each_versions_spelling(kfp_api, tmp_path, backend_version):
    sentinel = {"2.5.0": ": Platform spec is invalid", "2.17.0": ": platform spec is invalid"}[backend_version.tag]
    assert upload_refused(kfp_api, tmp_path, spec(), platform(), platform()) == template_refusal(
        backend_version, "multiple platform specs provided", sentinel)


@pytest.mark.parametrize("name", ["Mnist-tfx", "mnist.tfx", "mnist_tfx", "-mnist"])
def test_a_name_ml_metadata_cannot_take_is_refused(kfp_api, tmp_path, backend_version, name):
    """v2_template.go's regex finds a match anywhere in these; the MLMD check
    (common/utils.go, ValidatePipelineName) is anchored, and its error is not wrapped."""
    status, body = upload_refused(kfp_api, tmp_path, spec(pipelineInfo={"name": name}))
    words = ("pipeline's name must contain only lowercase alphanumeric characters or '-' and must start with "
             "alphanumeric characters")
    assert (status, body["error_message"]) == {
        "2.5.0": (500, "Failed to create a pipeline and a pipeline version: Invalid input error: " + words),
        "2.17.0": (400, words),
    }[backend_version.tag]


def test_a_name_too_long_for_the_database_is_refused_as_text_by_2_17(tmp_path):
    """2.17.0 checks the name in the query before reading the spec, and
    answers with Go's http.Error (pipeline_upload_server.go:174-177)."""
    with FakeKfp(version=V2_17_0) as fake:
        with pytest.raises(kfp_server_api.ApiException) as error:
            kfp.Client(host=fake.url).upload_pipeline(write(tmp_path, spec()), pipeline_name="m" * 129)
    assert (error.value.status, error.value.body) == (400, "Invalid input error: Pipeline.Name length cannot exceed 128\n")
    assert not fake.pipelines


def test_a_platform_document_the_server_cannot_read_is_dropped_not_refused(kfp_api, tmp_path):
    """v2_template.go (2.5.0 :204-218, 2.17.0 :244-258) only keeps a document that parses as a
    PlatformSpec with a kubernetes entry: a misspelled one vanishes, and with
    it every secretAsEnv (the pods would get no credentials)."""
    fake, client = kfp_api
    misspelled = {"platform": platform()["platforms"]}
    pipeline = client.upload_pipeline(write(tmp_path, spec(), misspelled), pipeline_name="mnist-tfx")
    assert fake.specs[f"{pipeline.pipeline_id}-version-1"] == (spec(), None)


def test_a_file_of_another_kind_is_refused_before_it_is_read(kfp_api, tmp_path, backend_version):
    status, body = upload_refused(kfp_api, tmp_path, spec(), name="pipeline.txt")
    assert (status, body["error_message"]) == (400, {
        "2.5.0": "Failed to read a pipeline spec file: Invalid input error: Unexpected pipeline file format. "
                 "Support .zip, .tar.gz, .json or YAML",
        "2.17.0": "Failed to read a pipeline spec file",  # the cause is only logged
    }[backend_version.tag])


def test_a_new_version_is_refused_in_the_version_handlers_words(kfp_api, tmp_path, backend_version):
    fake, client = kfp_api
    pipeline = client.upload_pipeline(write(tmp_path, spec()), pipeline_name="mnist-tfx")
    with pytest.raises(kfp_server_api.ApiException) as error:
        client.upload_pipeline_version(write(tmp_path, spec(schemaVersion="2.0.0")), "v2", pipeline_id=pipeline.pipeline_id)
    assert refusal(error.value) == template_refusal(backend_version, SCHEMA_2_0_0, wrapper=UPLOAD_VERSION)
    assert fake.versions[pipeline.pipeline_id] == [f"{pipeline.pipeline_id}-version-1"]


def with_executor(label: str, executor: dict) -> dict:
    value = spec()
    value = copy.deepcopy(value)
    value["root"]["dag"]["tasks"]["resolve"] = {"taskInfo": {"name": "resolve"}, "componentRef": {"name": "comp-resolve"}}
    value["components"]["comp-resolve"] = {"executorLabel": label}
    value["deploymentSpec"]["executors"][label] = executor
    return value


def start_run(client, path):
    pipeline = client.upload_pipeline(path, pipeline_name="mnist-tfx")
    [version] = client.list_pipeline_versions(pipeline.pipeline_id).pipeline_versions
    experiment = client.create_experiment("mnist-tfx")
    return client.run_pipeline(experiment.experiment_id, "run", pipeline_id=pipeline.pipeline_id,
                               version_id=version.pipeline_version_id)


def test_a_resolver_executor_is_refused_at_run_creation(kfp_api, tmp_path, backend_version):
    """Uploaded fine; the Argo compiler refuses it when the run is created
    (visitor.go, reached before argocompiler/dag.go's own refusal would be),
    and each gateway writes the status in its own body."""
    _, client = kfp_api
    resolver = {"resolver": {"outputArtifactQueries": {"model": {"filter": "artifact_type=\"tfx.Model\""}}}}
    with pytest.raises(kfp_server_api.ApiException) as error:
        start_run(client, write(tmp_path, with_executor("exec-resolve", resolver)))
    status, body = refusal(error.value)
    expected = (
        'Internal error: error processing component name="comp-resolve": executor(label="exec-resolve"): '
        "non-container and non-importer executor not implemented\n"
        "Failed to compile job\nFailed to generate the ExecutionSpec\nFailed to create a new run"
    )
    detail = {"@type": "type.googleapis.com/google.rpc.Status", "code": 2, "message": expected}
    assert (status, body) == (500, {
        "2.5.0": {"error": expected, "code": 13, "message": expected, "details": [detail]},  # grpc-gateway v1.16.0
        "2.17.0": {"code": 13, "message": expected, "details": [detail]},  # v2.28.0: a google.rpc.Status
    }[backend_version.tag])


def test_what_kfp_client_sends_to_create_a_run_is_taken_by_both_gateways(kfp_api, tmp_path):
    """2.17.0 refuses fields its messages lack; kfp.Client 2.5 sends none."""
    fake, client = kfp_api
    start_run(client, write(tmp_path, spec()))
    assert {"display_name", "pipeline_version_reference", "experiment_id"} <= set(fake.calls("POST", "/runs")[0].json())


def test_an_unknown_field_in_a_request_body_is_refused_by_2_17(backend_version):
    body = {"display_name": "run", "runtime_config": {"pipeline_root": "s3://b/r", "pipelineRootTypo": "x"}}
    if backend_version is V2_5_0:
        assert kfp_gateway.check_request_body("run", body, backend_version) is None
        return
    with pytest.raises(kfp_contract.Refusal) as refused:
        kfp_gateway.check_request_body("run", body, backend_version)
    assert (refused.value.status, refused.value.body) == (400, {"code": 3, "message": 'proto: unknown field "pipelineRootTypo"'})
    kfp_gateway.check_request_body("run", {"displayName": "run", "runtimeConfig": {"pipelineRoot": "s3://b/r"}},
                                    backend_version)  # protojson takes JSON names too


def test_importer_and_container_executors_run(kfp_api, tmp_path):
    _, client = kfp_api
    importer = {"importer": {"artifactUri": {"constant": "s3://b/k"}, "typeSchema": {"schemaTitle": "system.Artifact"}}}
    assert start_run(client, write(tmp_path, with_executor("exec-import", importer))).run_id == "run-1"


def test_a_missing_executor_is_refused_at_run_creation(kfp_api, tmp_path):
    value = spec(deploymentSpec={"executors": {}})
    assert kfp_contract.compile_errors(value) == (
        'error processing component name="comp-train": executor(label="exec-train") not found in deployment config'
    )


def test_executor_kinds_lists_what_a_spec_holds():
    resolver = {"resolver": {"outputArtifactQueries": {}}}
    assert kfp_contract.executor_kinds(with_executor("exec-r", resolver)) == {
        "container": ["exec-train"], "resolver": ["exec-r"],
    }


def test_the_docs_point_the_pipeline_at_each_versions_object_store(backend_version):
    store = backend_version.object_store
    docs = (Path(__file__).parents[1] / "docs" / "kubeflow.md").read_text()
    for words in (f"svc/{store.service} {store.port}:{store.port}", f"http://{store.service}.kubeflow:{store.port}",
                  f"s3://{store.bucket}/", f"--s3-credentials-secret {store.secret}",
                  f"accessKeyKey: {store.access_key}", f"secretKeyKey: {store.secret_key}"):
        assert words in docs, words


# The spec `python -m pipeline compile` wrote at commit 1729d50 (main on the
# day this stand-in was written), compiled for MinIO (--output-dir
# s3://mlpipeline/mnist-tfx, --s3-credentials-secret mlpipeline-minio-artifact):
# what a KFP 2.5.0 backend would have been handed.


def test_the_spec_compiled_at_1729d50_is_refused_at_upload(kfp_api, backend_version):
    fake, client = kfp_api
    with pytest.raises(kfp_server_api.ApiException) as error:
        client.upload_pipeline(str(SPEC_1729D50), pipeline_name="mnist-tfx")
    assert refusal(error.value) == template_refusal(backend_version, SCHEMA_2_0_0)


def test_the_spec_compiled_at_1729d50_with_2_1_0_is_refused_for_its_resolvers(kfp_api, tmp_path):
    """Past the schema version, the run fails on TFX's Resolver: it compiles
    to two `resolver` executors, which the Argo compiler does not run."""
    _, client = kfp_api
    spec_1729d50, platform_1729d50 = yaml.safe_load_all(SPEC_1729D50.read_text())
    assert kfp_contract.executor_kinds(spec_1729d50)["resolver"] == [
        "latest_blessed_model_resolver-model-blessing-resolver_executor",
        "latest_blessed_model_resolver-model-resolver_executor",
    ]
    patched = write(tmp_path, dict(spec_1729d50, schemaVersion="2.1.0"), platform_1729d50)
    with pytest.raises(kfp_server_api.ApiException) as error:
        start_run(client, patched)
    status, body = refusal(error.value)
    label = "latest_blessed_model_resolver-model-blessing-resolver"  # the first in sorted order
    assert status == 500 and body["message"].startswith(
        f'Internal error: error processing component name="{label}": executor(label="{label}_executor"): '
        "non-container and non-importer executor not implemented\nFailed to compile job\n"
    )
