"""Compiles the pipeline for Kubeflow Pipelines (KFP 2) and Vertex AI Pipelines.

TFX's KubeflowV2DagRunner turns the same pipeline definition (pipeline/dag.py)
and configuration object as the local runner into:
  - a KFP 2 PipelineSpec (YAML), which the KFP UI's "Upload pipeline" and
    kfp.Client().upload_pipeline() take;
  - optionally, a PipelineJob (JSON), which Vertex AI Pipelines takes.

Every task runs `config.image` (see Dockerfile), which holds the project under
`config.image_project_root`, with the command `COMMAND` (TFX's executor entry
point, with s3:// registered) and, for an S3-compatible store, the endpoint's
environment (pipeline/process/object_store.py). Compiling also builds the Trainer module's wheel
and stages it under the pipeline root, so the compiling machine needs write
access to `config.output_dir` (e.g. gs://bucket/mnist-tfx).

`python -m pipeline compile` (pipeline/cli/kubeflow.py) and the tfx CLI's
runner file (pipeline/kubeflow_runner.py) both compile through
`compile_pipeline`.
"""
import itertools
import os
from typing import Dict, List, Optional

from foundation import fs, names
from foundation.errors import ConfigError, UserError
from pipeline import config as config_lib
from pipeline.process import object_store

# Every task's container command (pipeline/launch/kubeflow_task.py).
COMMAND = ["python", "-m", "pipeline.launch.kubeflow_task"]
UNCACHED_TASKS = (names.BASELINE, names.BASELINE_STATISTICS)


def default_package_path(config: config_lib.PipelineConfig) -> str:
    return os.path.join(config_lib.PROJECT_ROOT, "build", "kubeflow", config.pipeline_name + ".yaml")


def trainer_resources(config: config_lib.PipelineConfig):
    """The Trainer's KFP ResourceSpec, or None to leave the cluster's default."""
    from kfp.pipeline_spec import pipeline_spec_pb2

    spec = pipeline_spec_pb2.PipelineDeploymentConfig.PipelineContainerSpec.ResourceSpec(
        cpu_limit=config.trainer_cpu,
        memory_limit=config.trainer_memory_gb,
    )
    if config.trainer_accelerator:
        spec.accelerator.type = config.trainer_accelerator
        spec.accelerator.count = config.trainer_accelerator_count or 1
    return spec if spec.ByteSize() else None


def check(config: config_lib.PipelineConfig) -> None:
    """Fails before compiling on settings the cluster could not run."""
    if not config.image:
        raise ConfigError(
            "no container image for the Kubeflow tasks: build and push the "
            "Dockerfile's image, then pass --image REGISTRY/mnist-tfx:TAG "
            "(or set MNIST_TFX_IMAGE)"
        )
    object_store.check_no_credentials(config)


def build_pipeline(config: config_lib.PipelineConfig):
    """The shared pipeline, with the paths and resources it has in the image."""
    from pipeline import dag  # loads TensorFlow and TFX: not needed by check()

    return dag.create_pipeline(
        config,
        project_root=config.image_project_root,
        trainer_platform_config=trainer_resources(config),
    )


def _container_env(spec: dict, env: Dict[str, str]) -> None:
    """Adds `env` to every executor container of a PipelineSpec (a dict)."""
    for executor in spec["deploymentSpec"]["executors"].values():
        if "container" in executor and env:
            executor["container"]["env"] = [{"name": k, "value": v} for k, v in env.items()]


def _uncached(spec: dict) -> None:
    """Turns caching off for the tasks whose result depends on more than their
    inputs: the baselines are chosen from the serving directory when the task
    runs (components/baseline_model.py, components/baseline_statistics.py;
    the local runner's driver has no counterpart on Kubeflow)."""
    for name, task in spec["root"]["dag"]["tasks"].items():
        if name in UNCACHED_TASKS:
            task["cachingOptions"] = {"enableCache": False}


def _finish_spec(package_path: str, vertex_job_path: Optional[str], config) -> None:
    """What the runner leaves out of the spec it writes.

    - the pipeline root, as the spec's defaultPipelineRoot: the runner puts
      it only in the Vertex PipelineJob; without it, KFP would write this
      pipeline's artifacts under the cluster's default root, which a run from
      the UI's "Upload pipeline" could not override;
    - the S3 endpoint's environment in every task's container (the runner's
      container spec has no env), in the Vertex PipelineJob's copy too;
    - with `s3_credentials_secret`, the Kubernetes platform document that
      gives every task the secret's credentials (KFP only; Vertex AI runs
      with its service account's).
    """
    import json

    import yaml
    from tfx.dsl.io import fileio

    env = object_store.env(config)
    if fileio.exists(package_path):  # not when `tfx pipeline create` redirected the runner
        with fileio.open(package_path, "r") as f:
            text = f.read()
        # The runner's header comments are kept; the rest is rewritten.
        lines = text.splitlines(True)
        header = "".join(itertools.takewhile(lambda line: line.startswith("#"), lines))
        spec = yaml.safe_load(text)
        _container_env(spec, env)
        _uncached(spec)
        spec["defaultPipelineRoot"] = config.pipeline_root
        text = header + yaml.safe_dump(spec, sort_keys=False)
        executors = spec["deploymentSpec"]["executors"]
        platform = object_store.kubernetes_platform(
            config, [label for label, e in executors.items() if "container" in e]
        )
        if platform:  # a second YAML document, as KFP writes it
            text += "---\n" + yaml.safe_dump(platform, sort_keys=False)
        with fileio.open(package_path, "w") as f:
            f.write(text)
    if vertex_job_path:
        with fileio.open(vertex_job_path, "r") as f:
            job = json.load(f)
        _container_env(job["pipelineSpec"], env)
        _uncached(job["pipelineSpec"])
        with fileio.open(vertex_job_path, "w") as f:
            f.write(json.dumps(job, indent=2, sort_keys=True))


def compile_pipeline(
    config: config_lib.PipelineConfig,
    package_path: Optional[str] = None,
    vertex_job_path: Optional[str] = None,
) -> List[str]:
    """Writes the PipelineSpec YAML (and the Vertex PipelineJob JSON); returns the paths."""
    from tfx import v1 as tfx

    check(config)
    package_path = package_path or default_package_path(config)
    if not package_path.endswith((".yaml", ".yml")):
        raise UserError(f"{package_path}: the PipelineSpec file must end in .yaml")
    if vertex_job_path and not vertex_job_path.endswith(".json"):
        raise UserError(f"{vertex_job_path}: the Vertex PipelineJob file must end in .json")
    # The Trainer's wheel is staged under the pipeline root from here: through
    # S3_ENDPOINT when it is set (a port-forward), else the pods' endpoint.
    object_store.configure_process(config, keep_environment=True)
    pipeline = build_pipeline(config)
    runner_config = tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
        default_image=config.image,
        default_commands=COMMAND,
        # Open-source KFP 2.x takes 2.1.0 only (kubeflow/pipelines,
        # backend/src/apiserver/template/v2_template.go: 2.5.0 :190-191,
        # 2.17.0 :230-231), and its driver reads parameters from
        # runtimeValue.constant, which 2.1 writes (backend/src/v2/driver/:
        # 2.5.0 driver.go:1637-1660, 2.17.0 resolve.go:422-457). Vertex takes it too.
        use_pipeline_spec_2_1=True,
    )
    written = []
    # The runner picks the format from the name: .yaml is the bare PipelineSpec
    # KFP 2 takes, .json the PipelineJob Vertex takes. The Trainer's wheel is
    # built by the first run only: it replaces the module file with the wheel.
    for path in filter(None, (package_path, vertex_job_path)):
        if not fs.is_remote(path):
            path = os.path.abspath(path)
        tfx.orchestration.experimental.KubeflowV2DagRunner(
            config=runner_config,
            output_dir=os.path.dirname(path),
            output_filename=os.path.basename(path),
        ).run(pipeline)
        written.append(path)
    _finish_spec(written[0], vertex_job_path and written[-1], config)
    return written
