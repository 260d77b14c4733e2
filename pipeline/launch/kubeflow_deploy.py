"""Uploads a compiled pipeline to Kubeflow Pipelines and starts a run.

Talks to the KFP v2 REST API through kfp.Client. Connection settings come from
the configuration object (flags or MNIST_TFX_KFP_* variables): the host, or
KF_PIPELINES_ENDPOINT, or the current kubeconfig context; a bearer token or
the kubeconfig's credentials; the namespace of multi-user deployments.
Every failure is raised as a DeployError that says which step failed and why.
"""
import dataclasses
import json
import time
from typing import Optional

from foundation import compat
from foundation.errors import UserError
from pipeline import config as config_lib


class DeployError(UserError, RuntimeError):
    """Kubeflow Pipelines could not be reached, refused us, or refused the spec."""


@dataclasses.dataclass
class Deployment:
    pipeline_id: str
    version_id: str
    run_id: Optional[str] = None
    run_url: Optional[str] = None


def _server_message(error) -> str:
    try:
        body = json.loads(error.body)
        # The upload handlers write `error_message` (kubeflow/pipelines,
        # backend/src/apiserver/server/pipeline_upload_server.go: 2.5.0
        # :298-307, 2.17.0 :423-432); the gRPC gateway writes `message` (and
        # at 2.5.0 `error` too); a 2.17.0 length check writes plain text.
        return body.get("error_message") or body.get("message") or body.get("error") or error.body
    except (TypeError, ValueError, AttributeError):
        return str(error.body or error.reason)


def _explain(step: str, where: str, error: Exception) -> Optional[DeployError]:
    """A DeployError naming the step and the cause; None for errors of ours."""
    import kfp_server_api
    import urllib3

    if isinstance(error, kfp_server_api.ApiException):
        if error.status in (401, 403):
            return DeployError(
                f"{step}: Kubeflow Pipelines at {where} refused the credentials "
                f"(HTTP {error.status} {error.reason}): {_server_message(error)}. "
                "Check --kfp-token (MNIST_TFX_KFP_TOKEN) or the kubeconfig context "
                "(--kube-context), and --kfp-namespace for multi-user deployments."
            )
        if not error.status:  # kfp_server_api's wrapping of SSL errors
            return DeployError(f"{step}: cannot reach Kubeflow Pipelines at {where}: {error.reason}")
        # An invalid spec is HTTP 500 from KFP 2.5.0's upload handler and 400
        # from 2.17.0's (pipeline_upload_server.go: 2.5.0 :142, 2.17.0 :188-191).
        if error.status in (400, 500) and step.startswith("uploading"):
            return DeployError(
                f"{step}: Kubeflow Pipelines at {where} rejected the pipeline spec: "
                f"{_server_message(error)}"
            )
        return DeployError(
            f"{step}: Kubeflow Pipelines at {where} answered HTTP {error.status} "
            f"{error.reason}: {_server_message(error)}"
        )
    if isinstance(error, (urllib3.exceptions.HTTPError, OSError)):
        return DeployError(f"{step}: cannot reach Kubeflow Pipelines at {where}: {error}")
    return None


def check_spec(package_path: str) -> None:
    """Fails on a file KFP would not take, before anything is sent."""
    from kfp import components

    try:
        components.load_component_from_file(package_path)
    except Exception as e:  # kfp raises bare ValueErrors, KeyErrors, yaml errors...
        raise DeployError(f"{package_path} is not a valid KFP pipeline spec: {e}") from e


def connect(config: config_lib.PipelineConfig):
    """A kfp.Client for the configured endpoint and credentials."""
    where = config.kfp_host or "the default endpoint (KF_PIPELINES_ENDPOINT or kubeconfig)"
    try:
        return compat.kfp_client_class()(
            host=config.kfp_host or None,
            namespace=config.kfp_namespace or "kubeflow",  # kfp's way to say "not set"
            existing_token=config.kfp_token or None,
            kube_context=config.kube_context or None,
        )
    except Exception as e:
        raise _explain("connecting", where, e) or e


def deploy(
    config: config_lib.PipelineConfig,
    package_path: str,
    version_name: Optional[str] = None,
    start_run: bool = False,
) -> Deployment:
    """Uploads `package_path` (a new version if the pipeline exists); optionally runs it."""
    check_spec(package_path)
    client = connect(config)
    where = compat.kfp_host(client)
    name = config.pipeline_name
    namespace = config.kfp_namespace or None
    version_name = version_name or f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"

    step = "uploading the pipeline"
    try:
        pipeline_id = client.get_pipeline_id(name)
        if pipeline_id is None:
            pipeline_id = client.upload_pipeline(
                package_path, pipeline_name=name, namespace=namespace
            ).pipeline_id
            # The upload created the pipeline's first version; runs name a version.
            versions = client.list_pipeline_versions(
                pipeline_id, page_size=1, sort_by="created_at desc"
            ).pipeline_versions
            version_id = versions[0].pipeline_version_id
        else:
            step = "uploading a new version of the pipeline"
            version_id = client.upload_pipeline_version(
                package_path, pipeline_version_name=version_name, pipeline_id=pipeline_id
            ).pipeline_version_id
        result = Deployment(pipeline_id, version_id)
        if start_run:
            step = f"creating the experiment {config.kfp_experiment!r}"
            experiment = client.create_experiment(config.kfp_experiment, namespace=namespace)
            step = "starting a run"
            run = client.run_pipeline(
                experiment_id=experiment.experiment_id,
                job_name=version_name,
                pipeline_id=pipeline_id,
                version_id=version_id,
                pipeline_root=config.pipeline_root,
            )
            result.run_id = run.run_id
            # The same UI address kfp prints (KF_PIPELINES_UI_ENDPOINT, else the host).
            result.run_url = f"{compat.kfp_ui_url_prefix(client)}/#/runs/details/{run.run_id}"
        return result
    except Exception as e:
        raise _explain(step, where, e) or e
