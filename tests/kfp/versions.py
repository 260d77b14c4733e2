"""What differs between the Kubeflow Pipelines backends the stand-ins model.

One BackendVersion per tag of kubeflow/pipelines; the stand-ins
(contract.py, gateway.py, api_server.py, driver.py, launcher.py,
objectstore.py, mlmd.py) take one and read its
facts, so that a rule that did not change is written once; the object store
is what docs/kubeflow.md tells users to point the pipeline at. Each fact cites the source at both tags,
as path:line under backend/src/ unless said, or says which tag alone has it.
"""
import dataclasses
from typing import Optional, Tuple


@dataclasses.dataclass(frozen=True)
class ObjectStore:
    """The object store the kustomize manifests deploy, as a pipeline reaches it."""

    service: str  # in the kubeflow namespace
    port: int
    secret: str  # its credentials, with the keys below
    access_key: str
    secret_key: str
    bucket: str


@dataclasses.dataclass(frozen=True)
class BackendVersion:
    tag: str

    # -- upload (apiserver/server/pipeline_upload_server.go) --
    # An invalid spec or name: 2.5.0 answers 500 with the handler's wrapper
    # and the whole error chain (:142, :238); 2.17.0 answers 400 with the
    # error's external message alone (:188-191, :344-346).
    upload_invalid_status: int
    upload_words_wrapped: bool
    # A file of another kind: 2.5.0 wraps ReadPipelineFile's error (:104,
    # :196); 2.17.0 says only which step failed (:111-115, :262-266).
    bad_file_detailed: bool
    # template.go:54 (2.5.0) and template.go:56 (2.17.0) spell it differently.
    platform_sentinel: str
    # 2.17.0 only: the name in the query is length-checked before the spec is
    # parsed, and refused as plain text by http.Error (:174-177 for a pipeline,
    # :284-288 for a version; apiserver/validation/length.go:47, 51, 91-104).
    name_limits: Optional[Tuple[int, int]]  # (pipeline, version) or None

    # -- the gRPC gateway in front of the API (go.mod:29 at both tags) --
    # v1.16.0 writes {error, code, message, details} (its runtime/errors.go:
    # 113-160); v2.28.0 writes the google.rpc.Status alone, {code, message,
    # details} (its runtime/errors.go:108-170).
    gateway_v2: bool
    # 2.17.0 only: apiserver/main.go:405-407 installs a marshaler with
    # DiscardUnknown false (apiserver/common/utils.go:150-167), so a request
    # body naming a field the proto lacks is InvalidArgument
    # (api/v2beta1/go_client/run.pb.gw.go:45-46). v1.16.0 allows unknown
    # fields by default (its runtime/marshal_jsonpb.go:255) and 2.5.0 keeps
    # that (apiserver/main.go:244).
    refuses_unknown_fields: bool

    # -- the driver (v2/driver/) --
    # The executor output file: 2.5.0 always /tmp/kfp_outputs/output_metadata
    # .json (driver.go:2020, component/launcher_v2.go:458); 2.17.0 under the
    # task root, /s3/<bucket>/<prefix>/<task>/<uuid>/output_metadata.json
    # (driver.go:800-807).
    output_file_in_task_root: bool
    # 2.17.0 only: each output artifact carries `name: <output key>`
    # (driver.go:779-790); 2.5.0 leaves it empty (driver.go:2040-2052).
    names_outputs: bool
    # Output URIs are under <root>/<task>/<uuid>/: 2.5.0 names the task by its
    # taskInfo.name (driver.go:316-318), 2.17.0 by its key in the DAG
    # (container.go:115-122, the driver's --task_name).
    task_dir_from_key: bool
    # 2.17.0 only: {{$.inputs.parameters['x']}} in command and args are
    # resolved by the driver, and an unknown x fails the task (driver.go:
    # 307-319, util.go:166-177, 263-289); 2.5.0 copies them (driver.go:471-473).
    driver_resolves_arguments: bool

    # -- the launcher (v2/component/launcher_v2.go, v2/objectstore/) --
    # 2.17.0 only: the log artifact's URI gets the retry index, "-0" for a
    # task without retries (:420, 538-600).
    logs_suffix: str
    # 2.17.0 only: the log artifact is the launcher's own: uploaded and
    # recorded even when the command fails (:446-457, 785-790), and never
    # merged with the executor's output (:802-808); 2.5.0 returns at once on
    # failure (:390-392) and merges every output alike (:551-554).
    logs_managed: bool
    # 2.17.0 only: DownloadBlob takes only keys at or under the artifact's
    # key, and refuses a key with a ".." part (objectstore/object_store.go:
    # 146-175, 192-202); 2.5.0 takes every key the prefix lists, a sibling
    # sharing it ("model_run" for "model") landing beside the artifact
    # (object_store.go:139-146).
    download_only_under_key: bool
    # 2.17.0 only: metadata key _kfp_workspace is not recorded (metadata/
    # converter.go:122-126).
    drops_workspace_flag: bool

    # -- what the kustomize manifests (manifests/kustomize/) deploy --
    object_store: ObjectStore
    # 2.17.0 only: the user container runs with allowPrivilegeEscalation
    # false and every capability dropped (v2/compiler/argocompiler/
    # container.go:575, security_context.go:92-123, 176-198). Not modeled:
    # the stand-in runs commands as the test's own user.
    drops_capabilities: bool


V2_5_0 = BackendVersion(
    tag="2.5.0",
    upload_invalid_status=500, upload_words_wrapped=True, bad_file_detailed=True,
    platform_sentinel="Platform spec is invalid", name_limits=None,
    gateway_v2=False, refuses_unknown_fields=False,
    output_file_in_task_root=False, names_outputs=False, task_dir_from_key=False,
    driver_resolves_arguments=False,
    logs_suffix="", logs_managed=False, download_only_under_key=False, drops_workspace_flag=False,
    # manifests/kustomize/third-party/minio/base/minio-service.yaml:4, 8;
    # .../minio/base/mlpipeline-minio-artifact-secret.yaml:4-7; the bucket:
    # base/installs/generic/pipeline-install-config.yaml:23, made by the API
    # server (apiserver/client_manager/client_manager.go:535-557)
    object_store=ObjectStore("minio-service", 9000, "mlpipeline-minio-artifact", "accesskey", "secretkey", "mlpipeline"),
    drops_capabilities=False,
)

V2_17_0 = BackendVersion(
    tag="2.17.0",
    upload_invalid_status=400, upload_words_wrapped=False, bad_file_detailed=False,
    platform_sentinel="platform spec is invalid", name_limits=(128, 127),
    gateway_v2=True, refuses_unknown_fields=True,
    output_file_in_task_root=True, names_outputs=True, task_dir_from_key=True,
    driver_resolves_arguments=True,
    logs_suffix="-0", logs_managed=True, download_only_under_key=True, drops_workspace_flag=True,
    # manifests/kustomize/third-party/seaweedfs/base/seaweedfs/
    # seaweedfs-service.yaml:6, 18-21 (port 9000 forwards to SeaweedFS's S3
    # port 8333); .../seaweedfs/mlpipeline-minio-artifact-secret.yaml:7-10;
    # the bucket is made at start-up (seaweedfs-deployment.yaml:60-62)
    object_store=ObjectStore("seaweedfs", 9000, "mlpipeline-minio-artifact", "accesskey", "secretkey", "mlpipeline"),
    drops_capabilities=True,
)

VERSIONS = (V2_5_0, V2_17_0)
NEWEST = V2_17_0
