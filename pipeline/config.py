"""The pipeline's one configuration object, and how it is overridden.

Defaults live here. Environment variables override them (MNIST_DIR, and
MNIST_TFX_<FIELD> for any field, e.g. MNIST_TFX_EPOCHS=1), and the CLI's
flags override both. Every runner builds its pipeline from a PipelineConfig;
none keeps settings of its own.

Each setting is declared once, as its field (foundation/settings.py): what it
is, its default, the values it takes. That declaration checks every value,
gives the CLI its flag and --help, and docs/configuration.md its row
(pipeline/settings_doc.py). Settings that only the Kubeflow path reads (image,
trainer resources, the Kubeflow Pipelines endpoint) are in the `kubeflow`
group, so the local `run` command does not offer them as flags.
"""
import dataclasses
import os
import re
from typing import Any, Dict, List, Mapping, Optional

from foundation import settings
from foundation.errors import ConfigError
from foundation.fs import is_remote
from foundation.settings import setting
from pipeline import beam_profiles
from trainer_module import config as train_config
from trainer_module.config import TrainConfig
from trainer_module.hyperparameters import ENV, FLAG

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_PREFIX = "MNIST_TFX_"
# Environment names that predate the prefix convention, kept for users.
ENV_ALIASES = {"mnist_dir": "MNIST_DIR"}

# Where the Dockerfile puts the project inside the container image.
IMAGE_PROJECT_ROOT = "/app"


def _kubeflow(default: Any, help: str, **rule: Any) -> Any:
    """A setting only the Kubeflow path reads: `compile` and `deploy` take it, `run` does not."""
    return setting(default, help=help, group=settings.KUBEFLOW, **rule)


def _data_check(default: float, help: str) -> Any:
    """A data check's bound, a share or a divergence (components/data_checks.py)."""
    return setting(default, help=help, at_least=0, at_most=1, group=settings.DATA_CHECKS)


def _share(default: float, help: str) -> Any:
    return setting(default, help=help, at_least=0, at_most=1)


@dataclasses.dataclass
class PipelineConfig:
    # KFP 2 takes no other pipeline name.
    pipeline_name: str = setting(
        "mnist-tfx", help="pipeline name", pattern=r"[a-z0-9][a-z0-9-]*",
        pattern_text="lowercase letters, digits and dashes, first a letter or digit "
        "(Kubeflow Pipelines takes no other name)")
    # Everything a run writes: pipeline root, ML Metadata (local runs), pushed
    # models. On Kubeflow, an object-store prefix (gs://bucket/mnist-tfx).
    output_dir: str = setting(
        os.path.join(PROJECT_ROOT, "outputs"), pattern=r"\S.*", pattern_text="a directory",
        help="output directory: pipeline root, ML Metadata, pushed models, logs (local for run)",
        default_text="`outputs/` in the checkout")
    mnist_dir: str = setting(
        "", help="MNIST directory, local or gs:// or s3:// (four IDX files, .gz or not)",
        default_text="empty: download and verify")
    max_examples_per_split: int = setting(
        0, help="first N examples per split, for quick runs", at_least=0, default_text="0: all")
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    # -- Hyperparameter search (TFX Tuner; trainer_module/tuner.py) --
    # Adds the Tuner before the Trainer, which then trains with its best
    # values for every train setting not set explicitly.
    tune: bool = setting(
        False, help="hyperparameter search: TFX's Tuner before the Trainer", see="design.md#the-tuner")
    tuner_trials: int = setting(6, help="Tuner: random-search trials", at_least=1)
    tuner_epochs: int = setting(1, help="Tuner: epochs per trial", at_least=1)
    tuner_examples: int = setting(
        20000, help="Tuner: training examples per trial (the first N of those not held out; 0: all)",
        at_least=0)
    # Never trained on by the trials (trainer_module/holdout.py); eval is never used.
    tuner_holdout_share: float = setting(
        0.1, help="Tuner: share of the training split held out to score the trials, never trained on "
        "by them", above=0, below=1, see="design.md#the-held-out-slice-that-scores-the-trials")

    # Model checks (README's "Model checks" has how the defaults were chosen).
    accuracy_lower_bound: float = _share(0.98, "blessing bar: eval accuracy at least")
    max_accuracy_drop: float = _share(0.002, "allowed accuracy drop vs. the last blessed model")
    digit_accuracy_lower_bound: float = _share(
        0.965, "every digit's accuracy at least (TFMA per-slice threshold)")
    max_digit_accuracy_drop: float = _share(0.02, "allowed drop per digit vs. the last blessed model")
    # The ServingCheck (components/serving_check/): it refuses a model whose
    # p99 latency in a fresh serving process exceeds these, per signature.
    serving_p99_ms_batch_1: float = setting(
        1000.0, help="ServingCheck: p99 latency bound at batch 1, per signature (ms)", above=0)
    serving_p99_ms_batch_32: float = setting(
        4000.0, help="ServingCheck: p99 latency bound at batch 32, per signature (ms)", above=0)
    # Compared with the Evaluator's route (serving_default, loaded in the pipeline's process).
    serving_check_examples: int = setting(
        256, help="ServingCheck: eval digits both signatures classify", at_least=1)

    # Where the Beam-based components run (pipeline/beam_profiles.py).
    beam_profile: str = setting(
        beam_profiles.LOCAL, help="Beam runner profile", choices=beam_profiles.PROFILES,
        see="scaling.md#beam-runner-profiles",
        default_text="`local`: `--direct_running_mode=in_memory --direct_num_workers=1`")
    beam_args: List[str] = setting(
        factory=list, help="Beam arguments, after the profile's, to add to or override them",
        default_text="none")
    beam_workers: int = setting(
        0, help="multi-process: SDK worker processes; flink: parallelism; dataflow: maximum workers",
        at_least=0, default_text="0: the runner's default (multi-process: one per core)")
    beam_job_endpoint: str = setting(
        "", help="flink: the Flink job server", pattern=r"[^\s:/]+:\d+", pattern_text="HOST:PORT",
        default_text="empty")
    spark_master_url: str = setting(
        "", help="spark: the Spark master", pattern=r"spark://[^\s:/]+:\d+",
        pattern_text="spark://HOST:PORT", default_text="empty")
    beam_sdk_image: str = setting(
        "", help="flink, spark: a Beam SDK image with the project's packages; dataflow: the workers' "
        "container", default_text="empty: LOOPBACK, this process (flink, spark)")
    gcp_project: str = setting("", help="dataflow: Google Cloud project", default_text="empty")
    gcp_region: str = setting("", help="dataflow: Google Cloud region", default_text="empty")
    beam_temp_location: str = setting(
        "", help="dataflow: temp location",
        default_text="`<output dir>/beam-temp` when the output dir is on `gs://`")
    # Credentials are never settings: see pipeline/process/object_store.py.
    s3_endpoint: str = setting(
        "", help="S3-compatible endpoint for s3:// (MinIO, SeaweedFS), with its scheme",
        pattern=r"https?://\S+", pattern_text="a URL, http://... or https://...",
        see="kubeflow.md#s3-minio-and-seaweedfs", default_text="empty: AWS S3")
    s3_region: str = setting("", help="S3 region, e.g. us-east-1", default_text="empty: the AWS SDKs' default")
    enable_cache: bool = setting(True, help="TFX caching")

    # Which settings were set explicitly, by name: "flag" or "env" (from_env
    # fills it). Not a setting, and in no cache key: the run records it
    # (pipeline/launch/local.py), and runs show reads it from there.
    explicit: Dict[str, str] = dataclasses.field(default_factory=dict, compare=False)

    # Data checks before the Trainer (components/data_checks.py); the run
    # stops on any. Defaults pass real MNIST and its first-N subsets (figures:
    # docs/data-checks.md).
    min_class_share: float = _data_check(
        0.04, "smallest share of any digit in each split, and in the Tuner's held-out slice")
    max_eval_copies_of_train: float = _data_check(
        0.01, "eval images that are exact copies of train images, share of eval")
    max_label_conflicts: float = _data_check(
        0.001, "distinct images with two or more labels, share of their split")
    # TFX's DistributionValidator, train vs eval and train vs the latest
    # blessed model's train.
    max_label_divergence: float = _data_check(
        0.05, "Jensen-Shannon divergence of the label histogram, train vs eval and vs the last "
        "blessed model's train")
    max_pixel_divergence: float = _data_check(
        0.02, "Jensen-Shannon divergence of the pixel-intensity histogram, the same pairs")

    image: str = _kubeflow(
        "", "container image of every task (see Dockerfile)", default_text="none: required")
    image_project_root: str = _kubeflow(
        IMAGE_PROJECT_ROOT, "where the image holds the project (schemas/ is read from there)",
        pattern=r"/.*", pattern_text="an absolute path")
    # The Trainer's pod resources on Kubeflow; 0 or empty: the cluster's default.
    trainer_cpu: float = _kubeflow(0.0, "Trainer's CPU", at_least=0, default_text="0: the cluster's default")
    trainer_memory_gb: float = _kubeflow(
        0.0, "Trainer's memory (GB)", at_least=0, default_text="0: the cluster's default")
    trainer_accelerator: str = _kubeflow(
        "", "Trainer's accelerator type, e.g. nvidia.com/gpu or NVIDIA_TESLA_T4",
        default_text="empty: none")
    trainer_accelerator_count: int = _kubeflow(
        0, "Trainer's accelerator count", at_least=0, default_text="0: one, when a type is given")
    s3_credentials_secret: str = _kubeflow(
        "", "a Kubernetes secret in the run's namespace whose keys accesskey and secretkey every "
        "task gets as AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (KFP's own store: "
        "mlpipeline-minio-artifact)", default_text="empty: the pods' own credentials")
    kfp_host: str = _kubeflow(
        "", "KFP API endpoint (deploy)",
        default_text="empty: `KF_PIPELINES_ENDPOINT`, else the current kubeconfig context's API-server proxy")
    kfp_namespace: str = _kubeflow("", "namespace, multi-user Kubeflow (deploy)", default_text="empty")
    kfp_experiment: str = _kubeflow(
        "mnist-tfx", "experiment (deploy)", pattern=r"\S.*", pattern_text="a name")
    kfp_token: str = _kubeflow("", "bearer token (deploy)", default_text="none: the kubeconfig's credentials")
    kube_context: str = _kubeflow(
        "", "kubeconfig context (deploy; KUBECONFIG names the file)", default_text="the current context")

    def __post_init__(self):
        settings.check(self)
        for name in ("output_dir", "mnist_dir"):
            path = getattr(self, name)
            if path and not is_remote(path):
                # Canonical, so that one directory reached by two paths (a
                # symlink, `..`) is one value in every cache key it enters.
                setattr(self, name, os.path.realpath(os.path.expanduser(path)))

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
        """What every Beam-based component gets (pipeline/beam_profiles.py)."""
        return beam_profiles.component_args(self, project_root)

    def tuner_fixed(self) -> List[str]:
        """The settings the Tuner searches that the user set (a flag or the
        environment), which it keeps as set: what it searches is a value of
        its cache key; how each was set is not."""
        return sorted(name for name in train_config.SEARCHED if name in self.explicit)

    def trainer_custom_config(self) -> Dict[str, Any]:
        """The Trainer's custom_config, part of its cache key: the train
        settings' values, and under --tune which of them the Tuner kept as set."""
        custom = dataclasses.asdict(self.train)
        if self.tune:
            custom[train_config.FIXED_KEY] = self.tuner_fixed()
        return custom

    def tuner_custom_config(self) -> Dict[str, Any]:
        return {
            **dataclasses.asdict(self.train),
            train_config.FIXED_KEY: self.tuner_fixed(),
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
    """Every setting by flat name, train fields in the place of `train`.

    kubeflow=False leaves out the settings only the Kubeflow path reads.
    """
    flat: Dict[str, dataclasses.Field] = {}
    for field in dataclasses.fields(PipelineConfig):
        if field.name == "train":
            flat.update((f.name, f) for f in settings.declared(TrainConfig))
        elif settings.rule_of(field) is not None:
            flat[field.name] = field
    if not kubeflow:
        flat = {name: f for name, f in flat.items() if settings.rule_of(f).group != settings.KUBEFLOW}
    return flat


def env_name(name: str) -> str:
    return ENV_ALIASES.get(name, ENV_PREFIX + name.upper())


def flag_name(name: str) -> str:
    return "--" + name.replace("_", "-")


def _quoted(text: str) -> str:
    """A value as typed, quoted only when it is empty or holds a space or a quote."""
    return text if re.fullmatch(r"[^\s'\"]+", text) else repr(text)


def _given(name: str, source: str, value: Any) -> str:
    """How a user gave a setting: `--epochs 0`, `--no-tune`, `MNIST_TFX_EPOCHS=0`."""
    text = _quoted(value if isinstance(value, str) else settings.shown(value))
    if source == ENV:
        return f"{env_name(name)}={text}"
    if source != FLAG:
        return f"{name} {text} (the default)"
    if isinstance(value, bool):
        return flag_name(name) if value else "--no-" + flag_name(name)[2:]
    return f"{flag_name(name)} {text}"


def from_env(
    environ: Optional[Mapping[str, str]] = None, **overrides: Any
) -> PipelineConfig:
    """Defaults, then the environment, then `overrides` (the CLI's flags:
    text as typed, or values). Every value is checked before anything uses
    it; a bad one is a ConfigError naming where it was given."""
    environ = os.environ if environ is None else environ
    declared = fields()
    values: Dict[str, Any] = {}
    explicit: Dict[str, str] = {}
    given: Dict[str, Any] = {}
    for name, field in declared.items():
        text = environ.get(env_name(name))
        if text:
            values[name] = settings.checked(field, text, _given(name, ENV, text))
            explicit[name], given[name] = ENV, text
    for name, value in overrides.items():
        if value is not None:
            values[name] = settings.checked(declared[name], value, _given(name, FLAG, value))
            explicit[name], given[name] = FLAG, value
    try:
        return PipelineConfig().replace(**values, explicit=explicit)
    except ConfigError as e:
        if not e.settings:
            raise
        # Settings that contradict each other: say where each was given.
        defaults = PipelineConfig()
        where = [_given(n, explicit.get(n, ""), given.get(n, getattr(defaults.train, n, None)))
                 for n in e.settings]
        raise ConfigError(f"{' with '.join(where)}: {e}", settings=e.settings) from None
