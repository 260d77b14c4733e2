"""Beam runner profiles: where the Beam-based components do their work.

A profile is a list of Beam pipeline arguments. The pipeline passes it to
every Beam-based component (StatisticsGen, Evaluator; through TFX's
`beam_pipeline_args`), followed by the configuration's `beam_args`, so
explicit arguments add to a profile or override it: Beam keeps the last value
of a repeated flag.

  local          DirectRunner, in-process, one worker (the default)
  multi-process  DirectRunner, one SDK worker process per core (or beam_workers)
  flink          PortableRunner, submitting to a Flink job server
  spark          SparkRunner, Beam's Spark job server on a Spark master
  dataflow       Google Cloud Dataflow

Only `local` and `multi-process` run on this machine (and in the tests); the
others need the services named in the README.
"""
import os
from typing import Callable, Dict, List

from foundation.errors import ConfigError
from pipeline.process import object_store

LOCAL = "local"
MULTI_PROCESS = "multi-process"
FLINK = "flink"
SPARK = "spark"
DATAFLOW = "dataflow"


def _require(cfg, profile: str, **needed: str) -> None:
    """Fails naming the flag of every missing setting."""
    missing = [
        f"--{name.replace('_', '-')} ({what})"
        for name, what in needed.items()
        if not getattr(cfg, name)
    ]
    if missing:
        raise ConfigError(f"the {profile} Beam profile needs " + ", ".join(missing))


def _local(cfg) -> List[str]:
    return ["--direct_running_mode=in_memory", "--direct_num_workers=1"]


def _multi_process(cfg) -> List[str]:
    # 0 workers: Beam starts one per CPU core.
    return [
        "--runner=DirectRunner",
        "--direct_running_mode=multi_processing",
        f"--direct_num_workers={cfg.beam_workers}",
    ]


def _sdk_harness(cfg) -> List[str]:
    """Where a portable runner runs the components' Python code."""
    if cfg.beam_sdk_image:
        return [
            "--environment_type=DOCKER",
            f"--environment_config={cfg.beam_sdk_image}",
            # Portable runners take the image from environment_config; this
            # tells TFX the workers' dependencies are in it, else TFX builds
            # and ships a package of itself to them.
            f"--sdk_container_image={cfg.beam_sdk_image}",
        ]
    # In this process, which the runner calls back: for a runner on this machine.
    return ["--environment_type=LOOPBACK"]


def _flink(cfg) -> List[str]:
    _require(cfg, FLINK, beam_job_endpoint="the Flink job server, HOST:8099")
    args = ["--runner=PortableRunner", f"--job_endpoint={cfg.beam_job_endpoint}"]
    if cfg.beam_workers:
        args.append(f"--parallelism={cfg.beam_workers}")
    return args + _sdk_harness(cfg)


def _spark(cfg) -> List[str]:
    _require(cfg, SPARK, spark_master_url="spark://HOST:7077, or local[*]")
    args = ["--runner=SparkRunner", f"--spark_master_url={cfg.spark_master_url}"]
    return args + _sdk_harness(cfg)


def _dataflow(cfg) -> List[str]:
    temp_location = cfg.beam_temp_location
    if not temp_location and cfg.output_dir.startswith("gs://"):
        temp_location = cfg.output_dir.rstrip("/") + "/beam-temp"
    _require(cfg, DATAFLOW, gcp_project="a Google Cloud project", gcp_region="e.g. us-central1")
    if not temp_location:
        raise ConfigError(
            "the dataflow Beam profile needs --beam-temp-location gs://BUCKET/tmp "
            "(or an --output-dir on gs://)"
        )
    args = [
        "--runner=DataflowRunner",
        f"--project={cfg.gcp_project}",
        f"--region={cfg.gcp_region}",
        f"--temp_location={temp_location}",
    ]
    if cfg.beam_workers:
        args.append(f"--max_num_workers={cfg.beam_workers}")
    if cfg.beam_sdk_image:
        args.append(f"--sdk_container_image={cfg.beam_sdk_image}")
    return args


_PROFILES: Dict[str, Callable[..., List[str]]] = {
    LOCAL: _local,
    MULTI_PROCESS: _multi_process,
    FLINK: _flink,
    SPARK: _spark,
    DATAFLOW: _dataflow,
}
PROFILES = tuple(_PROFILES)


def pipeline_args(cfg) -> List[str]:
    """The profile's arguments, the S3 endpoint's, then the explicit `beam_args`."""

    return _PROFILES[cfg.beam_profile](cfg) + object_store.beam_args(cfg) + list(cfg.beam_args)


def component_args(cfg, project_root: str) -> List[str]:
    """What every Beam-based component gets: pipeline_args, and for the
    direct runner the lock file its environment came from.

    Unless the args already say how Beam workers get their dependencies,
    TFX copies its whole installation to a temporary sdist for them, for
    every Beam component (docs/performance.md has the cost). The direct
    runner's workers are this process or its children, already set up, so
    for it the args name the lock file the environment came from (the
    image's copy on Kubeflow: `project_root`).
    """
    from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

    args = pipeline_args(cfg)
    runner = PipelineOptions(args).view_as(StandardOptions).runner
    if runner not in (None, "DirectRunner", "direct"):
        return args
    return args + [f"--requirements_file={os.path.join(project_root, 'requirements-runtime.lock')}"]
