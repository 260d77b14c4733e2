"""The pipeline's one configuration object, and how it is overridden.

Defaults live here. Environment variables override them (MNIST_DIR, and
MNIST_TFX_<FIELD> for any field, e.g. MNIST_TFX_EPOCHS=1), and the CLI's
flags override both. Every runner builds its pipeline from a PipelineConfig;
none keeps settings of its own.
"""
import dataclasses
import os
import shlex
from typing import Any, Dict, List, Mapping, Optional

from trainer_module.config import TrainConfig

PROJECT_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV_PREFIX = "MNIST_TFX_"
# Environment names that predate the prefix convention, kept for users.
ENV_ALIASES = {"mnist_dir": "MNIST_DIR"}

DEFAULT_BEAM_ARGS = ("--direct_running_mode=in_memory", "--direct_num_workers=1")


@dataclasses.dataclass
class PipelineConfig:
    # Lowercase with dashes: Kubeflow Pipelines (KFP 2) requires it.
    pipeline_name: str = "mnist-tfx"
    # Everything a local run writes: pipeline root, ML Metadata, pushed models.
    output_dir: str = os.path.join(PROJECT_ROOT, "outputs")
    # A directory with the four MNIST IDX files; empty: download and verify.
    mnist_dir: str = ""
    # Keep only the first N examples of each split (0: all), for quick runs.
    max_examples_per_split: int = 0
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
    # Bless only models at or above this eval accuracy...
    accuracy_lower_bound: float = 0.98
    # ...and no more than this below the latest blessed model's.
    max_accuracy_drop: float = 0.002
    beam_args: List[str] = dataclasses.field(default_factory=lambda: list(DEFAULT_BEAM_ARGS))
    enable_cache: bool = True

    def __post_init__(self):
        self.output_dir = os.path.abspath(os.path.expanduser(self.output_dir))
        if self.mnist_dir and "://" not in self.mnist_dir:
            self.mnist_dir = os.path.abspath(os.path.expanduser(self.mnist_dir))

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

    def replace(self, **overrides: Any) -> "PipelineConfig":
        """A copy with `overrides` applied; train fields may be given flat."""
        train_names = {f.name for f in dataclasses.fields(TrainConfig)}
        train = {k: overrides.pop(k) for k in list(overrides) if k in train_names}
        return dataclasses.replace(
            self, train=dataclasses.replace(self.train, **train), **overrides
        )


def fields() -> Dict[str, dataclasses.Field]:
    """Every overridable setting by flat name (train fields included)."""
    flat = {f.name: f for f in dataclasses.fields(PipelineConfig) if f.name != "train"}
    flat.update({f.name: f for f in dataclasses.fields(TrainConfig)})
    return flat


def env_name(name: str) -> str:
    return ENV_ALIASES.get(name, ENV_PREFIX + name.upper())


def parse_value(field: dataclasses.Field, text: str) -> Any:
    """Parses a setting given as text (environment or CLI)."""
    kind = field.type
    if kind is bool:
        lowered = text.strip().lower()
        if lowered not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ValueError(f"{field.name}: expected true or false, not {text!r}")
        return lowered in ("1", "true", "yes", "on")
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            raise ValueError(f"{field.name}: expected a number, not {text!r}") from None
    if kind == List[str]:
        return shlex.split(text)
    return text


def from_env(
    environ: Optional[Mapping[str, str]] = None, **overrides: Any
) -> PipelineConfig:
    """Defaults, then the environment, then `overrides` (e.g. CLI flags)."""
    environ = os.environ if environ is None else environ
    values = {}
    for name, field in fields().items():
        text = environ.get(env_name(name))
        if text:
            values[name] = parse_value(field, text)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return PipelineConfig().replace(**values)
