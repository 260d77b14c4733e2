import gzip

import numpy as np
import pytest

from components.mnist_example_gen import idx, source
from foundation.errors import MnistDataError
from tests.fixtures.data import write_mnist_dir
from tests.synthetic_digits import make_digits


def _header(dtype=0x08, shape=(2, 28, 28)):
    return bytes([0, 0, dtype, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape)


@pytest.mark.parametrize("name", ["images.idx.gz", "images.idx"])
def test_write_then_read_round_trips(tmp_path, name):
    images = np.arange(3 * 28 * 28, dtype=np.uint64).astype(np.uint8).reshape(3, 28, 28)
    path = str(tmp_path / name)
    idx.write_idx(path, images)
    read = idx.read_idx(path, ndim=3)
    assert read.dtype == np.uint8
    np.testing.assert_array_equal(read, images)


def test_bad_magic_number_is_rejected():
    data = _header(dtype=0x0D) + bytes(2 * 28 * 28)
    with pytest.raises(MnistDataError, match="bad IDX magic number 0x00000d03"):
        idx.parse_idx(data, "x-images", ndim=3)


def test_labels_file_read_as_images_is_rejected():
    data = _header(shape=(5,)) + bytes(5)
    with pytest.raises(MnistDataError, match="1 dimensions|magic"):
        idx.parse_idx(data, "labels", ndim=3)


def test_truncated_data_is_rejected():
    data = _header() + bytes(2 * 28 * 28 - 1)
    with pytest.raises(MnistDataError, match=r"x: truncated: .*1568 bytes, file holds 1567"):
        idx.parse_idx(data, "x", ndim=3)


def test_trailing_bytes_are_rejected():
    with pytest.raises(MnistDataError, match="trailing bytes"):
        idx.parse_idx(_header() + bytes(2 * 28 * 28 + 3), "x", ndim=3)


def test_empty_file_is_rejected(tmp_path):
    path = tmp_path / "empty"
    path.write_bytes(b"")
    with pytest.raises(MnistDataError, match="0 bytes, too short"):
        idx.read_idx(str(path), ndim=1)


def test_truncated_gzip_is_rejected(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(gzip.compress(_header(shape=(1000,)) + bytes(1000))[:-20])
    with pytest.raises(MnistDataError, match=r"labels.gz: truncated or corrupt gzip"):
        idx.read_idx(str(path), ndim=1)


def test_non_gzip_file_named_gz_is_rejected(tmp_path):
    path = tmp_path / "labels.gz"
    path.write_bytes(_header(shape=(3,)) + bytes(3))
    with pytest.raises(MnistDataError, match="not a gzip file"):
        idx.read_idx(str(path), ndim=1)


def test_image_and_label_counts_must_match(tmp_path):
    images, labels = make_digits(10, seed=0)
    write_mnist_dir(tmp_path, train=(images, labels[:9]), test=(images, labels))
    with pytest.raises(MnistDataError, match="holds 10 images but .* holds 9 labels"):
        source.from_directory(str(tmp_path)).load("train")


def test_missing_files_are_named(tmp_path):
    images, labels = make_digits(4, seed=0)
    write_mnist_dir(tmp_path, train=(images, labels), test=(images, labels))
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(MnistDataError, match=r"missing MNIST file\(s\) t10k-labels-idx1-ubyte\[.gz\]"):
        source.locate(str(tmp_path))


def test_uncompressed_files_are_found(tmp_path):
    images, labels = make_digits(4, seed=0)
    write_mnist_dir(tmp_path, train=(images, labels), test=(images, labels), gz=False)
    split = source.from_directory(str(tmp_path)).load("eval")
    np.testing.assert_array_equal(split.labels, labels)


def test_the_real_mnist_is_recognised(mnist_source):
    train, test = mnist_source.load("train"), mnist_source.load("eval")
    if not mnist_source.is_canonical_mnist:
        pytest.skip("real MNIST not present; the tests use drawn digits")
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert np.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
