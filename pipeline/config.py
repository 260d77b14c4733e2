"""The pipeline's one configuration object, and how it is overridden.

Defaults live here. Environment variables override them (MNIST_DIR, and
MNIST_TFX_<FIELD> for any field, e.g. MNIST_TFX_EPOCHS=1), and the CLI's
flags override both. Every runner builds its pipeline from a PipelineConfig;
none keeps settings of its own.

Settings that only the Kubeflow path reads (image, trainer resources, the
Kubeflow Pipelines endpoint) are marked with `kubeflow_field`, so the local
`run` command does not offer them as flags.
"""
import dataclasses
import os
import shlex
from typing import Any, Dict, List, Mapping, Optional

from foundation.errors import ConfigError
from foundation.fs import is_remote
from pipeline import beam_profiles
from trainer_module import config as train_config
from trainer_module.config import SOURCES_KEY, TrainConfig

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_PREFIX = "MNIST_TFX_"
# Environment names that predate the prefix convention, kept for users.
ENV_ALIASES = {"mnist_dir": "MNIST_DIR"}

# Where the Dockerfile puts the project inside the container image.
IMAGE_PROJECT_ROOT = "/app"


def kubeflow_field(default: Any) -> Any:
    return dataclasses.field(default=default, metadata={"kubeflow": True})


@dataclasses.dataclass
class PipelineConfig:
    # Lowercase with dashes: Kubeflow Pipelines (KFP 2) requires it.
    pipeline_name: str = "mnist-tfx"
    # Everything a run writes: pipeline root, ML Metadata (local runs), pushed
    # models. On Kubeflow, an object-store prefix (gs://bucket/mnist-tfx).
    output_dir: str = os.path.join(PROJECT_ROOT, "outputs")
    # A directory (local or object store) with the four MNIST IDX files;
    # empty: download and verify.
    mnist_dir: str = ""
    # Keep only the first N examples of each split (0: all), for quick runs.
    max_examples_per_split: int = 0
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    # Bless only models at or above this eval accuracy...
    accuracy_lower_bound: float = 0.98
    # ...and no more than this below the latest blessed model's.
    max_accuracy_drop: float = 0.002
    # Model checks per digit and at serving (README's "Model checks" has how
    # the defaults were chosen). Every digit's accuracy at least this...
    digit_accuracy_lower_bound: float = 0.965
    # ...and no digit more than this below the latest blessed model's.
    max_digit_accuracy_drop: float = 0.02
    # The ServingCheck (components/serving_check/): it refuses a model whose
    # p99 latency in a fresh serving process exceeds these, per signature
    # (milliseconds, one batch of 1 or of 32 images or examples).
    serving_p99_ms_batch_1: float = 1000.0
    serving_p99_ms_batch_32: float = 4000.0
    # Eval examples both signatures classify, compared with the Evaluator's
    # route (serving_default, loaded in the pipeline's process).
    serving_check_examples: int = 256
    # Where the Beam-based components run (pipeline/beam_profiles.py):
    # local, multi-process, flink, spark or dataflow.
    beam_profile: str = beam_profiles.LOCAL
    # Beam arguments after the profile's, to add to or override them.
    beam_args: List[str] = dataclasses.field(default_factory=list)
    # multi-process: SDK worker processes; flink: parallelism; dataflow:
    # maximum workers. 0: the runner's default (multi-process: one per core).
    beam_workers: int = 0
    beam_job_endpoint: str = ""  # flink: the Flink job server, HOST:8099
    spark_master_url: str = ""  # spark: spark://HOST:7077
    # flink, spark: a Beam SDK container image with this project's packages
    # (empty: LOOPBACK, this process); dataflow: the workers' container.
    beam_sdk_image: str = ""
    gcp_project: str = ""  # dataflow
    gcp_region: str = ""  # dataflow
    beam_temp_location: str = ""  # dataflow; empty: <output_dir>/beam-temp on gs://
    # s3:// paths on MinIO, SeaweedFS or another S3-compatible store: its URL,
    # with the scheme (KFP 2.5's http://minio-service.kubeflow:9000, 2.15 and
    # later's http://seaweedfs.kubeflow:9000); empty: AWS S3. Credentials
    # are never settings: see pipeline/process/object_store.py.
    s3_endpoint: str = ""
    s3_region: str = ""  # e.g. us-east-1; empty: the AWS SDKs' default
    enable_cache: bool = True

    # -- Hyperparameter search (TFX Tuner; trainer_module/tuner.py) --
    # Adds the Tuner before the Trainer, which then trains with its best
    # values for every train setting not set explicitly.
    tune: bool = False
    tuner_trials: int = 6  # random-search trials
    tuner_epochs: int = 1  # epochs per trial
    tuner_examples: int = 20000  # training examples per trial (0: all)
    # The share of the training split held out to score the trials, never
    # trained on by them (trainer_module/holdout.py); eval is never used.
    tuner_holdout_share: float = 0.1
    # Which settings were set explicitly, by name: "flag" or "env" (from_env
    # fills it). Not a setting: hyperparameter provenance (default, flag, env,
    # tuned) is recorded from it.
    explicit: Dict[str, str] = dataclasses.field(
        default_factory=dict, compare=False, metadata={"internal": True}
    )
    # Data checks before the Trainer (components/data_checks.py); the run
    # stops on any. Defaults pass real MNIST and its first-N subsets (figures:
    # docs/data-checks.md).
    # Every digit at least this share of each split.
    min_class_share: float = 0.04
    # Eval images that are exact copies of train images, as a share of eval.
    max_eval_copies_of_train: float = 0.01
    # Distinct images carrying two or more labels, as a share of their split.
    max_label_conflicts: float = 0.001
    # TFX's DistributionValidator, train vs eval and train vs the latest
    # blessed model's train: Jensen-Shannon divergence of the label
    # histogram (the digits' shares)...
    max_label_divergence: float = 0.05
    # ...and of the pixel-intensity histogram.
    max_pixel_divergence: float = 0.02

    # The container image every Kubeflow task runs (see Dockerfile).
    image: str = kubeflow_field("")
    # Where that image holds the project (schemas/ is read from there).
    image_project_root: str = kubeflow_field(IMAGE_PROJECT_ROOT)
    # The Trainer's pod resources on Kubeflow; 0 or empty: the cluster's default.
    trainer_cpu: float = kubeflow_field(0.0)
    trainer_memory_gb: float = kubeflow_field(0.0)
    trainer_accelerator: str = kubeflow_field("")  # e.g. nvidia.com/gpu, NVIDIA_TESLA_T4
    trainer_accelerator_count: int = kubeflow_field(0)
    # The Kubeflow Pipelines API (`deploy`). Empty host: KF_PIPELINES_ENDPOINT,
    # else the cluster of the current kubeconfig context (through its API proxy).
    kfp_host: str = kubeflow_field("")
    kfp_namespace: str = kubeflow_field("")  # multi-user deployments only
    kfp_experiment: str = kubeflow_field("mnist-tfx")
    kfp_token: str = kubeflow_field("")  # a bearer token; empty: kubeconfig
    kube_context: str = kubeflow_field("")  # a kubeconfig context; empty: current
    # A Kubernetes secret in the run's namespace whose keys `accesskey` and
    # `secretkey` every task gets as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
    # (KFP's own store, MinIO or SeaweedFS: mlpipeline-minio-artifact). Empty:
    # the pods' own credentials.
    s3_credentials_secret: str = kubeflow_field("")

    def __post_init__(self):
        if not 0 < self.tuner_holdout_share < 1:
            raise ConfigError(
                f"tuner_holdout_share must be between 0 and 1, not {self.tuner_holdout_share}"
            )
        if self.beam_profile not in beam_profiles.PROFILES:
            raise ConfigError(
                f"beam_profile must be one of {beam_profiles.PROFILES}, "
                f"not {self.beam_profile!r}"
            )
        for name in ("output_dir", "mnist_dir"):
            path = getattr(self, name)
            if path and not is_remote(path):
                setattr(self, name, os.path.abspath(os.path.expanduser(path)))

    @property
    def pipeline_root(self) -> str:
        return os.path.join(self.output_dir, "pipeline_root")

    @property
    def metadata_path(self) -> str:
        return os.path.join(self.output_dir, "metadata.sqlite")

    @property
    def serving_dir(self) -> str:
        """Pushed models, one numbered version each (TF Serving's layout)."""
        return os.path.join(self.output_dir, "serving_model", self.pipeline_name)

    def check_local_output_dir(self) -> None:
        """Local runs only: refuses an object-store output directory."""
        if is_remote(self.output_dir):
            raise ConfigError(
                f"--output-dir {self.output_dir}: a local run keeps its ML Metadata "
                "(SQLite) and its run lock there, so it must be a local directory; "
                "the data can be on an object store (--mnist-dir s3://... or gs://...), "
                "and `compile` and `deploy` take an object-store --output-dir"
            )

    def beam_pipeline_args(self, project_root: str = PROJECT_ROOT) -> List[str]:
        """What every Beam-based component gets: the profile's arguments
        (pipeline/beam_profiles.py), then `beam_args`.

        Unless the args already say how Beam workers get their dependencies,
        TFX copies its whole installation to a temporary sdist for them, for
        every Beam component (docs/performance.md has the cost). The direct
        runner's workers are this process or its children, already set up,
        so for it the args name the lock file the environment came from (the
        image's copy on Kubeflow: `project_root`).
        """
        from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

        args = beam_profiles.pipeline_args(self)
        runner = PipelineOptions(args).view_as(StandardOptions).runner
        if runner not in (None, "DirectRunner", "direct"):
            return args
        lock = os.path.join(project_root, "requirements-runtime.lock")
        return args + [f"--requirements_file={lock}"]

    def trainer_custom_config(self) -> Dict[str, Any]:
        """The Trainer's and Tuner's custom_config: the train settings, and
        which of them were set explicitly."""
        train_names = {f.name for f in dataclasses.fields(TrainConfig)}
        sources = {k: v for k, v in sorted(self.explicit.items()) if k in train_names}
        return {**dataclasses.asdict(self.train), SOURCES_KEY: sources}

    def tuner_custom_config(self) -> Dict[str, Any]:
        return {
            **self.trainer_custom_config(),
            train_config.TRIALS_KEY: self.tuner_trials,
            train_config.EPOCHS_KEY: self.tuner_epochs,
            train_config.EXAMPLES_KEY: self.tuner_examples,
            train_config.HOLDOUT_SHARE_KEY: self.tuner_holdout_share,
            # The data gate's class-balance bound, held to the held-out slice too.
            train_config.MIN_CLASS_SHARE_KEY: self.min_class_share,
        }

    def replace(self, **overrides: Any) -> "PipelineConfig":
        """A copy with `overrides` applied; train fields may be given flat."""
        train_names = {f.name for f in dataclasses.fields(TrainConfig)}
        train = {k: overrides.pop(k) for k in list(overrides) if k in train_names}
        return dataclasses.replace(
            self, train=dataclasses.replace(self.train, **train), **overrides
        )


def fields(kubeflow: bool = True) -> Dict[str, dataclasses.Field]:
    """Every overridable setting by flat name (train fields included).

    kubeflow=False leaves out the settings only the Kubeflow path reads.
    """
    flat = {
        f.name: f for f in dataclasses.fields(PipelineConfig)
        if f.name != "train" and not f.metadata.get("internal")
    }
    flat.update({f.name: f for f in dataclasses.fields(TrainConfig)})
    if not kubeflow:
        flat = {name: f for name, f in flat.items() if not f.metadata.get("kubeflow")}
    return flat


def env_name(name: str) -> str:
    return ENV_ALIASES.get(name, ENV_PREFIX + name.upper())


def parse_value(field: dataclasses.Field, text: str) -> Any:
    """Parses a setting given as text (environment or CLI)."""
    kind = field.type
    if kind is bool:
        lowered = text.strip().lower()
        if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ConfigError(f"{field.name}: expected true or false, not {text!r}")
        return lowered in ("1", "true", "yes", "on")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise ConfigError(f"{field.name}: expected a number, not {text!r}") from None
    if kind == List[str]:
        return shlex.split(text)
    return text


def from_env(
    environ: Optional[Mapping[str, str]] = None, **overrides: Any
) -> PipelineConfig:
    """Defaults, then the environment, then `overrides` (e.g. CLI flags)."""
    environ = os.environ if environ is None else environ
    values, explicit = {}, {}
    for name, field in fields().items():
        text = environ.get(env_name(name))
        if text:
            values[name] = parse_value(field, text)
            explicit[name] = "env"
    given = {k: v for k, v in overrides.items() if v is not None}
    values.update(given)
    explicit.update({k: "flag" for k in given if k in fields()})
    try:
        return PipelineConfig().replace(**values, explicit=explicit)
    except ConfigError:
        raise
    except ValueError as e:  # TrainConfig's checks (trainer_module stays free of pipeline)
        raise ConfigError(str(e)) from None
