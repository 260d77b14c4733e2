"""Training hyperparameters, as the pipeline configuration passes them in.

The pipeline's single configuration object embeds a `TrainConfig`; the Trainer
receives it as `custom_config` and rebuilds it here, so the fields are defined
once, each declared as a setting (foundation/settings.py: what it is, the
values it takes), and checked whoever builds one.

custom_config holds values only: it is the Trainer's and the Tuner's cache
key, so where a value came from (a default, a flag, the environment) stays out
of it (pipeline/config.py records that on the run instead).
"""
import dataclasses

from foundation import settings
from foundation.errors import ConfigError
from trainer_module import precision

# The Tuner's custom_config also holds its search budget (tuner.py), the
# share of train it holds out to score the trials, and the class-balance
# bound that slice is held to (holdout.py)...
TRIALS_KEY = "tuner_trials"
EPOCHS_KEY = "tuner_epochs"
EXAMPLES_KEY = "tuner_examples"
HOLDOUT_SHARE_KEY = "tuner_holdout_share"
MIN_CLASS_SHARE_KEY = "min_class_share"
# ...and the searched settings it must not search, because the user set them
# (a sorted list; the Trainer's custom_config has it too under --tune, so it
# reports those as set rather than tuned).
FIXED_KEY = "tuner_fixed"
# The TrainConfig fields the Tuner searches (tuner.py).
SEARCHED = ("learning_rate", "lr_schedule", "train_dropout", "batch_size")

LOOPS = ("custom", "fit")
# "constant": the seed's fixed learning rate. "cosine": cosine decay from
# learning_rate to 0 over all steps. "one_cycle": linear warm-up from
# learning_rate / 25 to learning_rate over the first 30% of the steps, then
# cosine decay to 0 (trainer_module/schedules.py).
LR_SCHEDULES = ("constant", "cosine", "one_cycle")
STRATEGIES = ("none", "mirrored", "multi_worker")


@dataclasses.dataclass
class TrainConfig:
    # Five clear the 99% bar with a margin (accuracy by epoch: docs/performance.md).
    epochs: int = settings.setting(5, help="epochs", at_least=1)
    batch_size: int = settings.setting(
        32, help="batch size (the global batch under a strategy)", at_least=1)
    learning_rate: float = settings.setting(0.001, help="learning rate", above=0)
    # NumPy's seeds are 32-bit unsigned.
    seed: int = settings.setting(42, help="seed", at_least=0, at_most=2**32 - 1)
    loop: str = settings.setting(
        "custom", help="training loop: custom, the seed tutorial's GradientTape loop; fit, model.fit",
        choices=LOOPS)
    shuffle_buffer: int = settings.setting(
        1000, help="shuffle buffer", at_least=1, default_text="1000 (the seed's)")
    # Dropout in the train step. The seed's code calls `model(images)`, which
    # leaves Keras' Dropout layers off, though its comment says the call puts
    # the model in train mode: True does what the comment says. False trains
    # as the seed's code does (bench/ compares the two with it). The custom
    # loop only: model.fit always trains with dropout on.
    train_dropout: bool = settings.setting(
        True, help="dropout in the train step (off: as the seed's code; the custom loop only)",
        see="seed-tutorial.md#two-fixes-to-its-loop")
    # It does not change the results (the test loss is the mean over
    # examples), and a larger batch makes the pass cheaper (docs/performance.md).
    eval_batch_size: int = settings.setting(256, help="batch of the per-epoch test pass", at_least=1)
    # tf.distribute, for the custom loop. "none": one device, no strategy
    # object; "mirrored": every local GPU (MirroredStrategy); "multi_worker":
    # the workers TF_CONFIG names (MultiWorkerMirroredStrategy).
    strategy: str = settings.setting(
        "none", help="distribution strategy, for the custom loop", choices=STRATEGIES,
        see="scaling.md#distributed-training---strategy")
    # trainer_module/precision.py. The exported model computes in float32 either way.
    precision: str = settings.setting(
        precision.AUTO, choices=precision.PRECISIONS, see="performance.md#mixed-precision-bfloat16",
        help="training precision: auto, mixed_bfloat16 where the CPU has bfloat16 units "
        "(amx_bf16 or avx512_bf16), else float32; the exported model computes in float32 either way")
    lr_schedule: str = settings.setting(
        "constant", choices=LR_SCHEDULES,
        help="learning-rate schedule: constant (the seed's), cosine decay to 0, or one-cycle "
        "(linear warm-up from rate/25 over 30% of the steps, then cosine to 0)")
    # The per-epoch scalars, the HParams record and the misclassified digits stay at 0.
    summary_every_steps: int = settings.setting(
        50, help="TensorBoard step scalars every N training steps (0: none)", at_least=0,
        see="inspecting-runs.md#tensorboard")
    # 1 calls the step from Python for every batch, as the seed does; the
    # weights are the same either way (trainer_module/step_groups.py). 50
    # divides summary_every_steps' 50, so no group is cut short for a scalar.
    steps_per_call: int = settings.setting(
        50, help="training and test steps per tf.function call in the custom loop", at_least=1,
        see="performance.md#several-steps-per-call")

    def __post_init__(self):
        settings.check(self)
        if self.strategy != "none" and self.loop != "custom":
            raise ConfigError(
                f"strategy {self.strategy!r} distributes the custom loop only: use loop 'custom'",
                settings=("strategy", "loop"),
            )
        if not self.train_dropout and self.loop != "custom":
            raise ConfigError(
                "train_dropout off needs loop 'custom': model.fit trains with dropout on",
                settings=("train_dropout", "loop"),
            )

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})
