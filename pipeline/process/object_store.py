"""s3:// (AWS S3, MinIO and other S3-compatible stores) for every process of a run.

Two filesystems read and write a run's files, and each needs S3 set up:
  - tf.io.gfile (TFX's artifacts, ingestion, the Trainer): tensorflow-io's
    plugin (foundation/fs.py registers it), configured by
    environment variables it reads when it first opens an s3:// path;
  - Beam's own filesystems (StatisticsGen, the Evaluator, ...): apache-beam's
    S3 filesystem (boto3), configured by Beam arguments.

`PipelineConfig.s3_endpoint` and `s3_region` configure both: `beam_args` for
Beam, `env` for tensorflow-io (and boto3 outside a Beam pipeline). The
Kubeflow tasks get `env` in their container spec; local processes get it in
`os.environ` (`configure_process`). Credentials are never part of either:
each process finds them where the AWS SDKs look (AWS_ACCESS_KEY_ID and
AWS_SECRET_ACCESS_KEY, ~/.aws, a pod's service account role). On Kubeflow,
`kubernetes_platform` names a secret they come from (what kfp-kubernetes'
use_secret_as_env writes for a KFP DSL pipeline).

A process that set s3:// up ends through pipeline/process/boundary.py's
exit_process (tensorflow-io 0.37.1 aborts at interpreter exit otherwise).
"""
import os
from typing import Dict, Iterable, List, Optional

from foundation.errors import ConfigError
from foundation.fs import register_filesystems

SCHEME = "s3://"
# Beam arguments that would put credentials into a compiled spec.
CREDENTIAL_ARGS = ("--s3_access_key_id", "--s3_secret_access_key", "--s3_session_token")


def uses_s3(cfg) -> bool:
    return any(
        path.startswith(SCHEME)
        for path in (cfg.output_dir, cfg.mnist_dir, cfg.beam_temp_location)
    )


def env(cfg) -> Dict[str, str]:
    """The environment tensorflow-io 0.37 (and boto3) read for the endpoint.

    tensorflow-io takes the endpoint's scheme from S3_ENDPOINT (http:// for a
    MinIO without TLS) and always addresses buckets path-style
    (http://HOST/BUCKET/KEY), as MinIO expects; the region comes from the AWS
    SDK's AWS_REGION. AWS_ENDPOINT_URL_S3 is boto3's, for Beam's S3 client
    when it is made without the pipeline's options.
    """
    variables = {}
    if cfg.s3_endpoint:
        variables.update(S3_ENDPOINT=cfg.s3_endpoint, AWS_ENDPOINT_URL_S3=cfg.s3_endpoint)
    if cfg.s3_region:
        variables["AWS_REGION"] = cfg.s3_region
    return variables


def beam_args(cfg) -> List[str]:
    """Beam's S3 options (apache_beam.options.pipeline_options.S3Options)."""
    args = []
    if cfg.s3_endpoint:
        args.append(f"--s3_endpoint_url={cfg.s3_endpoint}")
    if cfg.s3_region:
        args.append(f"--s3_region_name={cfg.s3_region}")
    return args


# A secret's keys -> the environment the AWS SDKs read. KFP's own MinIO
# secret (mlpipeline-minio-artifact) uses these key names.
SECRET_KEYS = {"accesskey": "AWS_ACCESS_KEY_ID", "secretkey": "AWS_SECRET_ACCESS_KEY"}


def kubernetes_platform(cfg, executor_labels: Iterable[str]) -> Optional[dict]:
    """The PipelineSpec's Kubernetes platform document: every executor gets
    the credentials from the `s3_credentials_secret` secret as env (KFP's
    secretAsEnv, read by the KFP 2 backend's launcher); None without one."""
    if not cfg.s3_credentials_secret:
        return None
    def secret_as_env():  # a copy each, so the YAML has no anchors
        return [{
            "secretName": cfg.s3_credentials_secret,
            "keyToEnv": [{"secretKey": key, "envVar": var} for key, var in SECRET_KEYS.items()],
        }]

    executors = {label: {"secretAsEnv": secret_as_env()} for label in executor_labels}
    return {"platforms": {"kubernetes": {"deploymentSpec": {"executors": executors}}}}


def check_no_credentials(cfg) -> None:
    """Refuses Beam arguments that would write S3 credentials into a spec."""
    found = [a.split("=", 1)[0] for a in cfg.beam_args if a.startswith(CREDENTIAL_ARGS)]
    if found:
        raise ConfigError(
            f"{', '.join(found)} in the Beam arguments would be written into the "
            "compiled spec: give the tasks their S3 credentials from a Kubernetes "
            "secret instead (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY; see the README)"
        )


def configure_process(cfg, keep_environment: bool = False) -> None:
    """Sets up this process for the config's s3:// paths (no-op without any).

    keep_environment: variables already set win over the config's. For the
    compiling machine, which may reach the store another way than the pods
    do (S3_ENDPOINT=http://localhost:9000 through a port-forward, while the
    spec says http://minio-service.kubeflow:9000).
    """
    if not (uses_s3(cfg) or cfg.s3_endpoint):
        return
    for name, value in env(cfg).items():
        if not (keep_environment and os.environ.get(name)):
            os.environ[name] = value
    register_filesystems()

