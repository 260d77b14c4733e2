"""The Trainer's TensorBoard summaries: what they hold, and that writing them
changes nothing in training (same seed, same weights, bit for bit)."""
import glob

import numpy as np
import pytest
import tensorflow as tf

from tests.fixtures.data import ingest

SUBSET = 300


@pytest.fixture(scope="module")
def examples(mnist_dir, tmp_path_factory):
    return ingest(mnist_dir, tmp_path_factory.mktemp("summaries") / "examples", SUBSET).uri


def _train(examples, loop, logdir, lr_schedule="constant"):
    import tf_keras

    from trainer_module import input_pipeline, train_loop
    from trainer_module.config import TrainConfig
    from trainer_module.model import build_model
    from trainer_module.summaries import Summaries, hparam_values

    config = TrainConfig(epochs=2, loop=loop, summary_every_steps=3, lr_schedule=lr_schedule)
    tf_keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    train_ds = input_pipeline.make_dataset(
        [f"{examples}/Split-train/*"], config.batch_size, config.shuffle_buffer, config.seed
    )
    eval_ds = input_pipeline.make_dataset([f"{examples}/Split-eval/*"], config.eval_batch_size)
    model = build_model()
    summaries = Summaries(logdir, config, run_name="r") if logdir else Summaries.off(config)
    summaries.hparams(hparam_values(config))
    history = train_loop.LOOPS[loop](model, train_ds, eval_ds, config, summaries)
    summaries.close()
    return model.get_weights(), history


def _tags(logdir):
    from tensorboard.backend.event_processing import event_accumulator

    acc = event_accumulator.EventAccumulator(logdir, size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    return acc


@pytest.mark.parametrize("loop", ["custom", "fit"])
def test_summaries_do_not_change_the_trained_weights(examples, tmp_path, loop):
    off_weights, off_history = _train(examples, loop, None)
    on_weights, on_history = _train(examples, loop, str(tmp_path / "on"))
    assert len(off_weights) == len(on_weights)
    for a, b in zip(off_weights, on_weights):
        np.testing.assert_array_equal(a, b)
    assert [h["test_accuracy"] for h in off_history] == [h["test_accuracy"] for h in on_history]

    acc = _tags(str(tmp_path / "on"))
    scalars = set(acc.Tags()["scalars"]) | set(acc.Tags()["tensors"])
    for tag in ("step/loss", "step/accuracy", "step/learning_rate", "step/images_per_second",
                "epoch/loss", "epoch/accuracy", "epoch/test_loss", "epoch/test_accuracy"):
        assert tag in scalars, (tag, scalars)
    assert "epoch/misclassified" in scalars  # image summaries are tensors in TF2
    assert [e.step for e in acc.Tensors("epoch/test_accuracy")] == [1, 2]
    final = tf.make_ndarray(acc.Tensors("epoch/test_accuracy")[-1].tensor_proto)
    assert float(final) == pytest.approx(on_history[-1]["test_accuracy"])
    assert glob.glob(str(tmp_path / "on" / "events.out.tfevents.*"))


def test_the_custom_loops_grid_from_its_test_pass_is_the_grid_inference_gives(examples, tmp_path):
    """The custom loop draws the misclassified digits from the test pass's own
    predictions; the other loops run the model on the same first eval digits.
    Both must show the same digits, predictions and count."""
    from trainer_module import input_pipeline
    from trainer_module.config import TrainConfig
    from trainer_module.model import build_model
    from trainer_module.summaries import MISCLASSIFIED_TAG, Summaries

    weights, history = _train(examples, "custom", str(tmp_path / "test_pass"))
    model = build_model()
    model.set_weights(weights)
    config = TrainConfig(epochs=2)
    eval_ds = input_pipeline.make_dataset([f"{examples}/Split-eval/*"], config.eval_batch_size)
    inference = Summaries(str(tmp_path / "inference"), config, run_name="r")
    inference.end_epoch(2, history[-1], model, eval_ds)  # no test batches seen: its own inference
    inference.close()

    grids = {}
    for name in ("test_pass", "inference"):
        final = _tags(str(tmp_path / name)).Tensors(MISCLASSIFIED_TAG)[-1]
        assert final.step == 2
        grids[name] = tf.make_ndarray(final.tensor_proto).tolist()  # [width, height, PNG]
    assert grids["test_pass"] == grids["inference"]
    # The description is written with a tag's first event only (epoch 1's in
    # the trained run), so the epoch-2 count is read from the inference run:
    # the epoch-2 test pass's errors.
    description = _tags(str(tmp_path / "inference")).SummaryMetadata(MISCLASSIFIED_TAG).summary_description
    wrong = round((1 - history[-1]["test_accuracy"]) * SUBSET)
    assert wrong > 0
    assert description.startswith(f"{wrong} of the first {SUBSET} eval digits misclassified")


def test_a_schedule_moves_the_learning_rate(examples, tmp_path):
    _train(examples, "custom", str(tmp_path / "cos"), lr_schedule="cosine")
    rates = [float(tf.make_ndarray(e.tensor_proto)) for e in _tags(str(tmp_path / "cos")).Tensors("step/learning_rate")]
    assert len(rates) >= 2 and rates == sorted(rates, reverse=True) and rates[0] > rates[-1]


def test_each_trainer_execution_is_its_own_hparams_trial_locally_and_on_kubeflow():
    from trainer_module.task import trial_name

    assert trial_name("/out/pipeline_root/Trainer/model_run/23") == "23"
    assert trial_name("s3://b/kfp/pipeline_root/Trainer/6f991c74-4d01/model_run") == "6f991c74-4d01"
    assert trial_name("gs://b/root/Trainer/1f2e/model_run/") == "1f2e"
