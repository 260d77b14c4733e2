"""The exported model refuses input a client got wrong, and so does `predict`.

The SavedModel is exported by trainer_module.export, as the Trainer does, from
an untrained model: what is checked is the signatures, not the weights.
"""
import numpy as np
import pytest
import tensorflow as tf

from tests.fixtures.data import run_cli
from trainer_module.export import export_serving_model
from trainer_module.features import SERVING_EXAMPLES, SERVING_IMAGES
from trainer_module.model import build_model

GOOD = np.full((2, 28, 28, 1), 0.5, np.float32)


@pytest.fixture(scope="module")
def serving_dir(tmp_path_factory):
    """An output directory whose serving_model holds one exported version."""
    out = tmp_path_factory.mktemp("out")
    export_serving_model(build_model(), str(out / "serving_model" / "mnist-tfx" / "1"))
    return out


@pytest.fixture(scope="module")
def signatures(serving_dir):
    return tf.saved_model.load(str(serving_dir / "serving_model" / "mnist-tfx" / "1")).signatures


def test_a_good_batch_is_classified(signatures):
    probabilities = signatures[SERVING_IMAGES](images=tf.constant(GOOD))["probabilities"].numpy()
    assert probabilities.shape == (2, 10)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("images, says", [
    (GOOD[..., 0], r"Shape of tensor images \[2,28,28\] is not compatible with expected shape \[\?,28,28,1\]"),
    (GOOD[:, :27, :27], r"Shape of tensor images \[2,27,27,1\] is not compatible"),
    ((GOOD * 255).astype(np.uint8), "expected to be a float tensor but is a uint8 tensor"),
    (GOOD.astype(np.float64), "expected to be a float tensor but is a double tensor"),
    (GOOD * 255, r"images: pixel values must be in \[0, 1\]"),
    (GOOD - 1, r"images: pixel values must be in \[0, 1\]"),
    (GOOD * np.nan, r"images: pixel values must be in \[0, 1\]"),
], ids=["rank 3", "27x27", "uint8", "float64", "0..255", "negative", "NaN"])
def test_the_image_signature_refuses_wrong_input(signatures, images, says):
    with pytest.raises(tf.errors.InvalidArgumentError, match=says):
        signatures[SERVING_IMAGES](images=tf.constant(images))


def _example(pixels):
    """A client's tf.Example, built by hand: any int64 values, any count."""
    feature = {
        "image": tf.train.Feature(int64_list=tf.train.Int64List(value=np.ravel(pixels).tolist())),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[3])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


@pytest.mark.parametrize("serialized, says", [
    (_example(np.zeros((28, 25), np.int64)), "Key: image.*Values size: 700 but output shape: \\[784\\]"),
    (_example(np.full((28, 28), 300)), "tf.Example feature image: pixel values must be in 0..255"),
    (_example(np.full((28, 28), -1)), "tf.Example feature image: pixel values must be in 0..255"),
    (tf.train.Example().SerializeToString(), "Feature: image .* is required but could not be found"),
    (b"not a tf.Example", "Could not parse example input"),
], ids=["700 pixels", "pixel 300", "pixel -1", "no image", "not a proto"])
def test_the_example_signature_refuses_wrong_examples(signatures, serialized, says):
    good = _example(np.zeros((28, 28), np.int64))
    with pytest.raises(tf.errors.InvalidArgumentError, match=says):
        signatures[SERVING_EXAMPLES](examples=tf.constant([good, serialized]))


@pytest.mark.parametrize("array, says", [
    (np.zeros((2, 27, 27), np.float32), "float32 array of shape (2, 27, 27); expected numbers shaped [N, 28, 28], [N, 28, 28, 1] or [N, 784]"),
    (np.zeros((784,), np.uint8), "uint8 array of shape (784,); expected numbers shaped [N, 28, 28], [N, 28, 28, 1] or [N, 784]"),
    (np.array([["a"] * 784]), "<U1 array of shape (1, 784); expected numbers shaped [N, 28, 28], [N, 28, 28, 1] or [N, 784]"),
    (np.full((1, 28, 28), 256), "values from 256 to 256; expected 0..255 or [0, 1]"),
    (np.full((1, 28, 28), np.nan), "values from nan to nan; expected 0..255 or [0, 1]"),
], ids=["27x27", "one flat image", "strings", "256", "NaN"])
def test_predict_refuses_a_bad_batch_naming_the_file(serving_dir, tmp_path, array, says):
    path = tmp_path / "batch.npy"
    np.save(path, array)
    result = run_cli("predict", path, "--output-dir", serving_dir, timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr == f"error: {path}: {says}\n"


@pytest.mark.parametrize("content, says", [
    ("not a picture", "not a readable image (cannot identify image file"),
    (None, "not a readable image ([Errno 2] No such file or directory"),
], ids=["text", "missing"])
def test_predict_refuses_a_file_that_is_not_an_image(serving_dir, tmp_path, content, says):
    path = tmp_path / "digit.png"
    if content:
        path.write_text(content)
    result = run_cli("predict", path, "--output-dir", serving_dir, timeout=120)
    assert result.returncode == 1 and result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"error: {path}: {says}")


def test_predict_answers_each_file_even_when_another_fails(serving_dir, tmp_path):
    from PIL import Image

    from tests.synthetic_digits import make_digits

    images, _ = make_digits(1, seed=3)
    good, notes, missing = tmp_path / "good.png", tmp_path / "notes.txt", tmp_path / "missing.png"
    Image.fromarray(images[0]).save(good)
    notes.write_text("not a picture")
    result = run_cli("predict", good, notes, missing, "--output-dir", serving_dir, timeout=120)
    assert result.returncode == 1
    [answer] = [line for line in result.stdout.splitlines() if line.startswith(f"{good}: ")]
    assert "likeliest" in answer or answer.split(": ")[1][0].isdigit()
    first, second = result.stderr.splitlines()
    assert first.startswith(f"error: {notes}: not a readable image")
    assert second.startswith(f"error: {missing}: not a readable image ([Errno 2]")


def test_predict_says_a_blank_picture_holds_no_digit(serving_dir, tmp_path):
    from PIL import Image

    white = tmp_path / "white.png"
    Image.new("L", (64, 64), 255).save(white)
    result = run_cli("predict", white, "--output-dir", serving_dir, timeout=120)
    assert result.returncode == 0, result.stderr
    assert f"{white}: no digit: blank (ink on 0.0% of the image)" in result.stdout.splitlines()


def _stroke() -> np.ndarray:
    """A model input with a digit's amount of ink: a bar 3 pixels wide."""
    image = np.zeros((28, 28, 1), np.float32)
    image[4:24, 12:15] = 1.0
    return image


@pytest.mark.parametrize("image, top, says", [
    (np.zeros((28, 28, 1), np.float32), 0.99, "no digit: blank (ink on 0.0% of the image)"),
    (np.ones((28, 28, 1), np.float32), 0.99, "uncertain: likeliest 7 (99.0%), but ink covers 100% of the image"),
    (_stroke(), 0.5, "uncertain: likeliest 7 (50.0%), but an answer needs 90%"),
    (_stroke(), 0.99, "7 (99.0%)"),
], ids=["blank", "all ink", "unsure", "sure"])
def test_an_answer_is_a_digit_only_for_ink_like_a_digits_and_a_sure_model(image, top, says):
    from pipeline.inspection import predict

    probabilities = np.full(10, (1 - top) / 9, np.float32)
    probabilities[7] = top
    assert predict.judge(image, probabilities).line().startswith(says)
