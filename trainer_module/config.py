"""Training hyperparameters, as the pipeline configuration passes them in.

The pipeline's single configuration object embeds a `TrainConfig`; the Trainer
receives it as `custom_config` and rebuilds it here, so the fields are defined
once.
"""
import dataclasses

from trainer_module import precision

# custom_config's entry naming the TrainConfig fields set explicitly, and
# where ("flag" or "env"); any other field is a default, or tuned.
SOURCES_KEY = "hyperparameter_sources"
# The Tuner's custom_config also holds its search budget (tuner.py), the
# share of train it holds out to score the trials, and the class-balance
# bound that slice is held to (holdout.py).
TRIALS_KEY = "tuner_trials"
EPOCHS_KEY = "tuner_epochs"
EXAMPLES_KEY = "tuner_examples"
HOLDOUT_SHARE_KEY = "tuner_holdout_share"
MIN_CLASS_SHARE_KEY = "min_class_share"

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
    epochs: int = 5
    batch_size: int = 32
    learning_rate: float = 0.001
    seed: int = 42
    # "custom": the seed tutorial's GradientTape loop; "fit": model.fit.
    loop: str = "custom"
    # The seed tutorial's shuffle buffer.
    shuffle_buffer: int = 1000
    # Dropout in the train step. The seed's code calls `model(images)`, which
    # leaves Keras' Dropout layers off, though its comment says the call puts
    # the model in train mode: True does what the comment says. False trains
    # as the seed's code does (bench/ compares the two with it). The custom
    # loop only: model.fit always trains with dropout on.
    train_dropout: bool = True
    # The per-epoch test pass's batch. It does not change the results (the
    # test loss is the mean over examples), and a larger batch makes the pass
    # cheaper (docs/performance.md).
    eval_batch_size: int = 256
    # tf.distribute, for the custom loop. "none": one device, no strategy
    # object (the default); "mirrored": every local GPU (MirroredStrategy);
    # "multi_worker": the workers TF_CONFIG names (MultiWorkerMirroredStrategy).
    # Under a strategy, batch_size is the global batch, split among replicas.
    strategy: str = "none"
    # The Keras dtype policy: "auto" (mixed_bfloat16 where the CPU has
    # bfloat16 units, else float32), "float32" or "mixed_bfloat16"
    # (trainer_module/precision.py). The exported model computes in float32
    # either way.
    precision: str = precision.AUTO
    # How the learning rate moves over the run (LR_SCHEDULES above).
    lr_schedule: str = "constant"
    # TensorBoard step scalars every N training steps (0: none; the per-epoch
    # scalars, the HParams record and the misclassified digits stay).
    summary_every_steps: int = 50
    # Steps per tf.function call in the custom loop, training and the test
    # pass (trainer_module/step_groups.py); 1 calls the step from Python for
    # every batch, as the seed does. The weights are the same either way. 50
    # divides summary_every_steps' 50, so no group is cut short for a
    # scalar; how it was chosen: docs/performance.md.
    steps_per_call: int = 50

    def __post_init__(self):
        if self.loop not in LOOPS:
            raise ValueError(f"loop must be one of {LOOPS}, not {self.loop!r}")
        if self.strategy not in STRATEGIES:
            raise ValueError(
                f"strategy must be one of {STRATEGIES}, not {self.strategy!r}"
            )
        if self.precision not in precision.PRECISIONS:
            raise ValueError(
                f"precision must be one of {precision.PRECISIONS}, not {self.precision!r}"
            )
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule must be one of {LR_SCHEDULES}, not {self.lr_schedule!r}"
            )
        if self.summary_every_steps < 0:
            raise ValueError("summary_every_steps must be at least 0")
        if self.strategy != "none" and self.loop != "custom":
            raise ValueError(
                f"strategy {self.strategy!r} distributes the custom loop only: "
                "use loop 'custom'"
            )
        if not self.train_dropout and self.loop != "custom":
            raise ValueError("train_dropout off needs loop 'custom': model.fit trains with dropout on")
        for name in ("epochs", "batch_size", "shuffle_buffer", "eval_batch_size", "steps_per_call"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})
