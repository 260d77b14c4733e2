"""TensorBoard summaries of a training run, in the Trainer's model_run directory.

What TensorBoard shows for a run (TFX's convention: `fn_args.model_run_dir`):
- `step/loss`, `step/accuracy` (the epoch's running means), `step/learning_rate`
  and `step/images_per_second`, every `summary_every_steps` training steps;
- `epoch/loss`, `epoch/accuracy`, `epoch/test_loss`, `epoch/test_accuracy`;
- the HParams plugin's record: the run's hyperparameters, and these epoch
  metrics as its metrics (their last values are the final ones);
- `epoch/misclassified`: a grid of the eval digits the model gets wrong, from
  a fixed sample of the eval split, after every epoch.

Only the chief writes (`Summaries.off()` elsewhere). Nothing here draws random
numbers or runs inside the training step: the misclassified digits come from
the per-epoch test pass's own predictions in the custom loop, or from an
extra inference pass (training=False, so no dropout, as in the test pass)
under model.fit and the distributed loop, and the step scalars read the
metrics between steps. The same seed trains the same weights with
summaries on or off (tests/test_tensorboard_summaries.py), and the cost is in
docs/performance.md.
"""
import dataclasses
import time
from typing import Dict, Optional

import numpy as np
import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

from trainer_module.config import TrainConfig

EPOCH_METRICS = ("epoch/loss", "epoch/accuracy", "epoch/test_loss", "epoch/test_accuracy")
MISCLASSIFIED_TAG = "epoch/misclassified"
# The eval digits searched for mistakes each epoch, and how many are shown.
_SAMPLE_SIZE = 2048
_GRID_SIDE = 6
_PAD = 2


def _grid(images: np.ndarray) -> np.ndarray:
    """Up to _GRID_SIDE² digits [N, 28, 28, 1] -> one image [1, H, W, 1], white lines between."""
    side, (h, w) = _GRID_SIDE, images.shape[1:3]
    grid = np.ones((side * (h + _PAD) + _PAD, side * (w + _PAD) + _PAD, 1), np.float32)
    for i, image in enumerate(images[: side * side]):
        row, col = divmod(i, side)
        top, left = _PAD + row * (h + _PAD), _PAD + col * (w + _PAD)
        grid[top:top + h, left:left + w] = image
    return grid[np.newaxis]


class Summaries:
    def __init__(self, logdir: Optional[str], config: TrainConfig, run_name: str = ""):
        self.config = config
        self.run_name = run_name
        self._writer = tf.summary.create_file_writer(logdir) if logdir else None
        self._sample = None  # (images, labels), numpy: taken after the first test pass
        self._tested = []  # this epoch's first test batches: (images, labels, predicted)
        self.step = 0
        self._mark = (0, time.monotonic())

    @classmethod
    def off(cls, config: TrainConfig) -> "Summaries":
        return cls(None, config)

    @property
    def enabled(self) -> bool:
        return self._writer is not None

    def hparams(self, values: Dict[str, object]) -> None:
        """The HParams record: hyperparameters (bool, int, float or str) and metric tags."""
        if not self.enabled:
            return
        with self._writer.as_default():
            hp.hparams_config(
                hparams=[hp.HParam(name) for name in values],
                metrics=[hp.Metric(tag) for tag in EPOCH_METRICS],
            )
            # One session group per run, even when two runs share their values.
            hp.hparams(values, trial_id=self.run_name or None)
        self._writer.flush()

    def start_epoch(self) -> None:
        self._mark = (self.step, time.monotonic())
        self._tested = []

    def wants_test_batches(self) -> bool:
        """Whether the grid still needs test batches' predictions this epoch."""
        return self.enabled and sum(len(kept[1]) for kept in self._tested) < _SAMPLE_SIZE

    def test_batch(self, images, labels, prediction) -> None:
        """Each test-pass batch (custom loop): the first _SAMPLE_SIZE digits
        and what the pass predicted for them."""
        if not self.wants_test_batches():
            return
        self._tested.append((images.numpy(), labels.numpy(), np.argmax(prediction.numpy(), axis=-1)))

    def steps_to_next_scalar(self) -> Optional[int]:
        """Training steps until the next step scalars (None: none to take), so
        that a group of steps can end there."""
        every = self.config.summary_every_steps
        if not self.enabled or not every:
            return None
        return every - self.step % every

    def train_step(self, read, steps: int = 1) -> None:
        """After each training step, or group of `steps` steps that ends at
        or before the next scalar step; every N steps, `read()` gives
        (running loss, running accuracy, learning rate)."""
        self.step += steps
        every = self.config.summary_every_steps
        if not self.enabled or not every or self.step % every:
            return
        loss, accuracy, learning_rate = read()
        steps, started = self._mark
        now = time.monotonic()
        self._mark = (self.step, now)
        with self._writer.as_default(step=self.step):
            tf.summary.scalar("step/loss", loss)
            tf.summary.scalar("step/accuracy", accuracy)
            tf.summary.scalar("step/learning_rate", learning_rate)
            tf.summary.scalar(
                "step/images_per_second", (self.step - steps) * self.config.batch_size / max(now - started, 1e-9)
            )

    def end_epoch(self, epoch: int, result: Dict[str, float], model, eval_ds) -> None:
        """The misclassified digits come from the test batches seen this epoch
        or, without any (model.fit, the distributed loop), from running
        `model` on `eval_ds`'s first digits."""
        if not self.enabled:
            return
        with self._writer.as_default(step=epoch):
            for tag in EPOCH_METRICS:
                tf.summary.scalar(tag, result[tag.split("/", 1)[1]])
            if self._tested:
                images, labels, predicted = (np.concatenate(parts)[:_SAMPLE_SIZE] for parts in zip(*self._tested))
                self._misclassified_grid(images, labels, predicted)
            elif model is not None and eval_ds is not None:
                self._misclassified(model, eval_ds)
        self._writer.flush()

    def _misclassified(self, model, eval_ds) -> None:
        if self._sample is None:
            images, labels = [], []
            for batch_images, batch_labels in eval_ds.unbatch().take(_SAMPLE_SIZE).batch(256):
                images.append(batch_images.numpy())
                labels.append(batch_labels.numpy())
            self._sample = (np.concatenate(images), np.concatenate(labels))
        images, labels = self._sample
        # A plain call, not predict_on_batch: under a multi-worker strategy
        # only the chief gets here, and Keras' predict would start a
        # collective the other workers never join (a hang, or a dtype
        # mismatch in the next collective). Nor does it trace a new predict
        # function each time.
        predicted = np.concatenate([
            np.argmax(model(images[i:i + 256], training=False).numpy(), axis=-1)
            for i in range(0, len(images), 256)
        ])
        self._misclassified_grid(images, labels, predicted)

    def _misclassified_grid(self, images: np.ndarray, labels: np.ndarray, predicted: np.ndarray) -> None:
        wrong = np.flatnonzero(predicted != labels)
        shown = wrong[: _GRID_SIDE * _GRID_SIDE]
        pairs = ", ".join(f"{labels[i]}→{predicted[i]}" for i in shown)
        tf.summary.image(
            MISCLASSIFIED_TAG,
            _grid(images[shown]),
            description=(
                f"{len(wrong)} of the first {len(labels)} eval digits misclassified; "
                f"shown row by row (true→predicted): {pairs or 'none'}"
            ),
        )

    def close(self) -> None:
        if self.enabled:
            self._writer.close()


def hparam_values(config: TrainConfig) -> Dict[str, object]:
    return {k: v for k, v in dataclasses.asdict(config).items() if isinstance(v, (bool, int, float, str))}
