"""The pipeline root's object store as KFP's launcher reads and writes it.

Sources: backend/src/ of kubeflow/pipelines, cited "2.5.0 path:line; 2.17.0
path:line"; the differences are facts of tests/kfp/versions.py.

Deviations, all because this runs on one machine instead of in pods:
  - the local paths the launcher uses (`/s3/BUCKET/KEY`) are under each
    task's own directory here, standing for the pod's own filesystem;
  - the store is opened "from env" (what a pipeline root on s3:// with no
    kfp-launcher `providers` config gets: 2.5.0 v2/config/s3.go:85-91; 2.17.0
    s3.go:87-95) with boto3 and the task's environment, where the launcher
    uses gocloud v0.40.0 over the AWS SDK for Go v2 at both tags (2.5.0
    through gocloud's URL opener, whose default is SDK v2: gocloud
    aws/aws.go:172-179, blob/s3blob/s3blob.go:106-110; 2.17.0 directly:
    v2/objectstore/object_store.go:91-105). Both SDKs take the endpoint from
    AWS_ENDPOINT_URL_S3, and boto3 is told to address the bucket as the Go
    SDK does with no path-style option: path-style for an IP endpoint (the
    tests' moto), virtual-hosted (BUCKET.HOST) for a host name, which an
    in-cluster MinIO or SeaweedFS does not resolve (boto3 alone would use
    path-style for any endpoint).
"""
import ipaddress
import os
import re
from typing import Dict, Optional, Tuple
from urllib.parse import urlsplit

from tests.kfp.launcher import LauncherError, q
from tests.kfp.versions import BackendVersion

# 2.5.0 v2/objectstore/config.go:103; 2.17.0 config.go:118
BUCKET_PATTERN = re.compile(r"(^[a-z][a-z0-9]+:///?)([^/?]+)(/[^?]*)?(\?.+)?\Z")


def bucket_config(pipeline_root: str) -> Tuple[str, str, str]:
    """(scheme, bucket, prefix) of a pipeline root: ParseBucketPathToConfig
    (2.5.0 objectstore/config.go:115-137; 2.17.0 :130-152), which the root DAG
    driver runs first (2.5.0 v2/config/env.go:105-108, driver/driver.go:174;
    2.17.0 env.go:118-121, driver/root_dag.go:115)."""
    match = BUCKET_PATTERN.match(pipeline_root)
    if not match:
        raise LauncherError(f"parse bucket config failed: unrecognized pipeline root format: {q(pipeline_root)}")
    scheme, bucket, path, _ = match.groups()
    if scheme not in ("gs://", "s3://", "minio://", "mem://"):
        raise LauncherError(f"parse bucket config failed: unsupported Cloud bucket: {q(pipeline_root)}")
    prefix = (path or "")[1:] if (path or "").startswith("/") else (path or "")
    if prefix and not prefix.endswith("/"):
        prefix += "/"
    return scheme, bucket, prefix


def local_path(uri: str, pod_root: str) -> Optional[str]:
    """LocalPathForURI (2.5.0 component/launcher_v2.go:882-896; 2.17.0
    :1239-1253), under `pod_root`; None for a scheme it does not map (the
    launcher then skips the artifact)."""
    for scheme, mount in (("gs://", "gcs"), ("minio://", "minio"), ("s3://", "s3")):
        if uri.startswith(scheme):
            return os.path.join(pod_root, mount, uri[len(scheme):])
    return None


def addressing_style(endpoint: Optional[str]) -> str:
    """How the AWS SDK for Go v2 addresses a bucket when not told to use
    path-style: by the bucket's host name unless the endpoint is an IP."""
    try:
        ipaddress.ip_address(urlsplit(endpoint or "").hostname or "")
        return "path"
    except ValueError:
        return "virtual"


class Bucket:
    """The pipeline root's bucket, opened from the task's environment."""

    def __init__(self, bucket: str, prefix: str, env: Dict[str, str], version: BackendVersion):
        import boto3
        from botocore.config import Config

        self.bucket, self.prefix, self.version = bucket, prefix, version
        endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
        self.client = boto3.client(
            "s3", endpoint_url=endpoint, region_name=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION"),
            aws_access_key_id=env.get("AWS_ACCESS_KEY_ID"), aws_secret_access_key=env.get("AWS_SECRET_ACCESS_KEY"),
            config=Config(s3={"addressing_style": addressing_style(endpoint)}),
        )

    def key(self, uri: str) -> str:
        """KeyFromURI (2.5.0 objectstore/config.go:86-97; 2.17.0 :101-112), as a key in the bucket."""
        prefixed = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        if not uri.startswith(prefixed):
            raise LauncherError(f"URI {q(uri)} does not have expected bucket prefix {q(prefixed)}")
        return self.prefix + uri[len(prefixed):].lstrip("/")

    def download(self, uri: str, local_dir: str) -> None:
        """DownloadBlob (2.5.0 objectstore/object_store.go:123-150; 2.17.0
        :176-205): every object the key lists, or, where the version keeps to
        the key, those at or under it."""
        key = self.key(uri)
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=key):
            for obj in page.get("Contents", []):
                if self.version.download_only_under_key:
                    if not (obj["Key"] == key.rstrip("/") or obj["Key"].startswith(key.rstrip("/") + "/")):
                        continue  # 2.17.0 object_store.go:170-173, 200-202
                    if ".." in obj["Key"].split("/"):  # 2.17.0 :146-149
                        raise LauncherError(f"path traversal detected: blob key {q(obj['Key'])} contains '..' component")
                # filepath.Rel gives "." for the key itself and for a "dir/" marker
                # object: both become the artifact's own local path (a file).
                relative = os.path.relpath(obj["Key"], key)
                target = local_dir if relative == "." else os.path.normpath(os.path.join(local_dir, relative))
                try:  # downloadFile (2.5.0 :180-213; 2.17.0 :235-270): MkdirAll of the parent, then os.Create
                    os.makedirs(os.path.dirname(target), exist_ok=True)
                    self.client.download_file(self.bucket, obj["Key"], target)
                except OSError as e:
                    raise LauncherError(
                        f"downloadFile(): unable to complete copying {q(obj['Key'])} to local storage {q(target)}: {e}"
                    ) from None

    def upload(self, local: str, uri: str) -> bool:
        """UploadBlob (2.5.0 object_store.go:88-121; 2.17.0 :111-144); False
        when `local` does not exist, which the launcher allows (2.5.0
        launcher_v2.go:565-572; 2.17.0 :824-835)."""
        if not os.path.exists(local):
            return False
        key = self.key(uri)
        if os.path.isfile(local):
            self.client.upload_file(local, self.bucket, key)
            return True
        for directory, _, files in os.walk(local):
            for name in files:
                path = os.path.join(directory, name)
                self.client.upload_file(path, self.bucket, f"{key}/{os.path.relpath(path, local)}")
        return True
