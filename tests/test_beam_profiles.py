"""Beam runner profiles: the arguments each forms, and the multi-process
profile running the real ingestion and statistics components.

Only `local` and `multi-process` can run here. The flink, spark and dataflow
profiles are checked by what Beam itself makes of their arguments: every flag
known to Beam, the runner Beam builds from them, each setting in the option
that runner reads, and Beam's own (offline) checks of Dataflow options.
"""
import os

import pytest
from apache_beam.options import pipeline_options as beam_options
from apache_beam.options.pipeline_options_validator import PipelineOptionsValidator

from foundation import names
from foundation.errors import UserError
from pipeline import config as config_lib
from tests.fixtures.kubeflow import run_data_components


def _options(args):
    options = beam_options.PipelineOptions(args)
    known = options.get_all_options(retain_unknown_options=False)
    everything = options.get_all_options(retain_unknown_options=True)
    assert set(everything) == set(known), f"flags Beam does not know: {set(everything) - set(known)}"
    return options


def _runner(options):
    """The runner Beam makes of the options (constructing it connects to nothing)."""
    from apache_beam.runners.runner import create_runner

    return create_runner(options.view_as(beam_options.StandardOptions).runner)


def test_local_is_the_default_and_keeps_the_earlier_arguments():
    # The same arguments as before profiles existed: earlier runs' cache stays valid.
    cfg = config_lib.from_env({})
    assert cfg.beam_profile == "local"
    assert cfg.beam_pipeline_args("/app") == [
        "--direct_running_mode=in_memory",
        "--direct_num_workers=1",
        "--requirements_file=/app/requirements-runtime.lock",
    ]


def test_multi_process_profile():
    cfg = config_lib.from_env({"MNIST_TFX_BEAM_PROFILE": "multi-process", "MNIST_TFX_BEAM_WORKERS": "2"})
    direct = _options(cfg.beam_pipeline_args()).view_as(beam_options.DirectOptions)
    assert (direct.direct_running_mode, direct.direct_num_workers) == ("multi_processing", 2)


def test_flink_profile_submits_to_the_job_server():
    cfg = config_lib.from_env(
        {}, beam_profile="flink", beam_job_endpoint="flink-jobserver:8099", beam_workers=8
    )
    options = _options(cfg.beam_pipeline_args())
    assert type(_runner(options)).__name__ == "PortableRunner"
    portable = options.view_as(beam_options.PortableOptions)
    assert (portable.job_endpoint, portable.environment_type) == ("flink-jobserver:8099", "LOOPBACK")
    assert options.view_as(beam_options.FlinkRunnerOptions).parallelism == 8

    # With an SDK image, the Python code runs in containers the cluster starts,
    # and TFX leaves the arguments alone instead of packaging itself for them.
    from tfx.utils import dependency_utils

    args = cfg.replace(beam_sdk_image="registry.example.com/beam-sdk-mnist:1").beam_pipeline_args()
    portable = _options(args).view_as(beam_options.PortableOptions)
    assert (portable.environment_type, portable.environment_config) == (
        "DOCKER", "registry.example.com/beam-sdk-mnist:1",
    )
    assert dependency_utils.make_beam_dependency_flags(args) == args


def test_spark_profile_names_the_master():
    cfg = config_lib.from_env({}, beam_profile="spark", spark_master_url="spark://spark-master:7077")
    options = _options(cfg.beam_pipeline_args())
    assert type(_runner(options)).__name__ == "SparkRunner"
    assert options.view_as(beam_options.SparkRunnerOptions).spark_master_url == "spark://spark-master:7077"


def _dataflow_errors(options):
    """Beam's own checks of Dataflow options, those that need no network
    (validate() as a whole also probes the GCS buckets)."""
    from apache_beam.runners.dataflow.dataflow_runner import DataflowRunner

    validator = PipelineOptionsValidator(options, DataflowRunner())
    gcp = options.view_as(beam_options.GoogleCloudOptions)
    worker = options.view_as(beam_options.WorkerOptions)
    return (
        validator.validate_gcs_path(gcp, "temp_location")
        + validator.validate_cloud_options(gcp)
        + validator.validate_num_workers(worker)
        + validator.validate_sdk_container_image_options(worker)
    )


def test_dataflow_profile_passes_dataflows_own_validation():
    cfg = config_lib.from_env(
        {},
        beam_profile="dataflow",
        output_dir="gs://bucket/mnist-tfx",
        gcp_project="my-project",
        gcp_region="europe-west1",
        beam_workers=4,
        beam_sdk_image="europe-docker.pkg.dev/my-project/ml/beam-sdk-mnist:1",
    )
    options = _options(cfg.beam_pipeline_args())
    assert type(_runner(options)).__name__ == "DataflowRunner"
    assert _dataflow_errors(options) == []
    gcp = options.view_as(beam_options.GoogleCloudOptions)
    assert (gcp.project, gcp.region, gcp.temp_location) == (
        "my-project", "europe-west1", "gs://bucket/mnist-tfx/beam-temp",
    )
    worker = options.view_as(beam_options.WorkerOptions)
    assert worker.max_num_workers == 4
    assert worker.sdk_container_image == cfg.beam_sdk_image

    # The same checks refuse what Dataflow could not use.
    local_temp = _options(cfg.replace(beam_temp_location="/tmp/beam").beam_pipeline_args())
    assert _dataflow_errors(local_temp) != []


@pytest.mark.parametrize(
    "settings, message",
    [
        (dict(beam_profile="flink"), "needs --beam-job-endpoint"),
        (dict(beam_profile="spark"), "needs --spark-master-url"),
        (dict(beam_profile="dataflow", gcp_region="r"), "needs --gcp-project"),
        (dict(beam_profile="dataflow", gcp_project="p", gcp_region="r"), "needs --beam-temp-location"),
    ],
)
def test_missing_settings_are_named(settings, message):
    cfg = config_lib.from_env({}, **settings)
    with pytest.raises(UserError, match=message):
        cfg.beam_pipeline_args()


def test_unknown_profile_is_refused():
    with pytest.raises(UserError, match="MNIST_TFX_BEAM_PROFILE=yarn: must be one of local, multi-process, flink"):
        config_lib.from_env({"MNIST_TFX_BEAM_PROFILE": "yarn"})


def test_explicit_beam_args_override_the_profile():
    cfg = config_lib.from_env(
        {}, beam_profile="flink", beam_job_endpoint="a:8099",
        beam_args=["--environment_type=EXTERNAL", "--environment_config=localhost:50000"],
    )
    portable = _options(cfg.beam_pipeline_args()).view_as(beam_options.PortableOptions)
    assert (portable.environment_type, portable.environment_config) == ("EXTERNAL", "localhost:50000")


# --- the multi-process profile, running the real components -----------------

SUBSET = 500
SPLITS = ("train", "eval")


def _statistics(statistics_dir, split):
    from tensorflow_metadata.proto.v0 import statistics_pb2

    stats = statistics_pb2.DatasetFeatureStatisticsList()
    with open(os.path.join(statistics_dir, f"Split-{split}", "FeatureStats.pb"), "rb") as f:
        stats.ParseFromString(f.read())
    return stats


def _example_files(examples_dir, split):
    import tensorflow as tf

    return sorted(tf.io.gfile.glob(os.path.join(examples_dir, f"Split-{split}", "*")))


def _count_records(files):
    import tensorflow as tf

    return sum(1 for _ in tf.data.TFRecordDataset(files, compression_type="GZIP"))


@pytest.mark.e2e
def test_multi_process_profile_writes_what_the_local_profile_writes(
    mnist_dir, tmp_path, monkeypatch
):
    from apache_beam.runners.portability import local_job_service

    # Spy on (not replace) how Beam starts SDK worker processes.
    sdk_workers = []
    real_popen = local_job_service.subprocess.Popen

    def popen(command, *args, **kwargs):
        if "sdk_worker_main" in str(command):
            sdk_workers.append(command)
        return real_popen(command, *args, **kwargs)

    monkeypatch.setattr(local_job_service.subprocess, "Popen", popen)

    base = config_lib.from_env(
        {}, mnist_dir=str(mnist_dir), max_examples_per_split=SUBSET, beam_workers=2
    )
    local = run_data_components(base.replace(output_dir=str(tmp_path / "local")))
    assert sdk_workers == []
    multi = run_data_components(
        base.replace(output_dir=str(tmp_path / "multi"), beam_profile="multi-process")
    )
    # StatisticsGen's Beam pipeline ran in 2 SDK worker processes.
    assert len(sdk_workers) == 2, sdk_workers

    for split in SPLITS:
        files = _example_files(local[names.EXAMPLE_GEN], split)
        assert _count_records(files) == SUBSET
        # Byte for byte: ingestion's output does not depend on the profile.
        multi_files = _example_files(multi[names.EXAMPLE_GEN], split)
        assert [open(f, "rb").read() for f in multi_files] == [open(f, "rb").read() for f in files]
        local_stats = _statistics(local[names.STATISTICS_GEN], split)
        assert local_stats.datasets[0].num_examples == SUBSET
        assert _statistics(multi[names.STATISTICS_GEN], split) == local_stats
