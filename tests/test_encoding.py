import numpy as np
import tensorflow as tf

from components.mnist_example_gen import encoding
from tests.synthetic_digits import make_digits
from trainer_module import features, input_pipeline


def _protobuf_example(image: np.ndarray, label: int) -> bytes:
    """The reference: one tf.train.Example built field by field."""
    return tf.train.Example(
        features=tf.train.Features(
            feature={
                features.IMAGE_KEY: tf.train.Feature(
                    int64_list=tf.train.Int64List(value=image.reshape(-1).tolist())
                ),
                features.LABEL_KEY: tf.train.Feature(
                    int64_list=tf.train.Int64List(value=[int(label)])
                ),
            }
        )
    ).SerializeToString(deterministic=True)


def test_encode_decode_round_trip():
    images, labels = make_digits(5, seed=3)
    for (image, label), serialized in zip(zip(images, labels), encoding.encode_all(images, labels)):
        pixels, got_label = encoding.decode(serialized)
        assert got_label == label
        np.testing.assert_array_equal(pixels, image.reshape(-1))
        assert pixels.shape == (features.NUM_PIXELS,)


def test_encoder_writes_protobufs_deterministic_bytes():
    images, labels = make_digits(20, seed=6)
    images[0, 0, :3] = [0, 127, 255]  # one- and two-byte varints
    encoded = encoding.encode_all(images, labels)
    reference = [_protobuf_example(image, label) for image, label in zip(images, labels)]
    parse = tf.train.Example.FromString
    assert [parse(e) for e in encoded] == [parse(r) for r in reference]
    assert encoded == reference  # byte for byte


def test_trainer_parses_what_ingestion_writes():
    images, labels = make_digits(6, seed=4)
    serialized = tf.constant(list(encoding.encode_all(images, labels)))
    parsed = input_pipeline.parse_images(serialized).numpy()
    assert parsed.shape == (6, 28, 28, 1) and parsed.dtype == np.float32
    np.testing.assert_allclose(parsed[..., 0], images / 255.0, atol=1e-7)


def test_dataset_from_tfrecords_yields_scaled_batches(tmp_path):
    from components.mnist_example_gen.executor import write_split

    images, labels = make_digits(70, seed=5)
    path = write_split(images, labels, str(tmp_path / "Split-train"))
    dataset = input_pipeline.make_dataset([str(tmp_path / "Split-train" / "*")], 32)
    # Autotuning off: with it, deleting an epoch's iterator stalled training
    # for 29 s in the pipeline's process (trainer_module/input_pipeline.py).
    assert dataset.options().autotune.enabled is False
    batches = list(dataset)
    assert path.endswith(".gz")
    assert [b[0].shape[0] for b in batches] == [32, 32, 6]
    got_images = np.concatenate([b[0].numpy() for b in batches])
    got_labels = np.concatenate([b[1].numpy() for b in batches])
    np.testing.assert_array_equal(got_labels, labels)
    np.testing.assert_allclose(got_images[..., 0], images / 255.0, atol=1e-7)


def test_a_split_is_written_in_chunks_with_the_same_bytes_and_bounded_memory(tmp_path, monkeypatch):
    """encode_all peaks near 6 KB per digit: a whole split at once held
    gigabytes at 10x MNIST. Chunks keep the peak to one chunk's worth."""
    import tracemalloc

    from components.mnist_example_gen import executor

    images, labels = make_digits(2000, seed=21)
    whole = b"".join(encoding.encode_all(images, labels))
    monkeypatch.setattr(executor, "ENCODE_CHUNK", 150)
    tracemalloc.start()
    try:
        path = executor.write_split(images, labels, str(tmp_path / "train"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # A whole-split encode here peaks near 2000 x 6 KB = 12 MB.
    assert peak < 4_000_000
    records = [r.numpy() for r in tf.data.TFRecordDataset(path, compression_type="GZIP")]
    assert len(records) == 2000 and b"".join(records) == whole
