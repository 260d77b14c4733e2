"""The same data and seed give the same examples, byte for byte, and the same
trained model, bit for bit (the README's tolerance: none, on one machine).

Two whole pipeline runs writing the same examples: tests/test_crash_safety_e2e.py.
"""
import filecmp
import gzip
import json
import time

import numpy as np
import tensorflow as tf

from foundation.names import TRAINING_SUMMARY_FILE
from tests.fixtures.data import ingest

SUBSET = 200


def test_an_example_is_always_serialized_to_the_same_bytes():
    """Protobuf writes map fields (a tf.Example's features) in no fixed order
    unless asked; the encoder writes them in one (tests/test_encoding.py)."""
    from components.mnist_example_gen import encoding

    images = (np.arange(784) % 256).reshape(1, 28, 28).astype(np.uint8)
    assert len({encoding.encode_all(images, np.array([3]))[0] for _ in range(50)}) == 1


def _ingest(mnist_dir, examples_uri):
    ingest(mnist_dir, examples_uri, SUBSET)
    return sorted(p for p in examples_uri.rglob("*") if p.is_file())


def test_ingestion_writes_the_same_bytes_every_time(mnist_dir, tmp_path):
    first = _ingest(mnist_dir, tmp_path / "first")
    time.sleep(1.1)  # a timestamp in the files would now differ
    second = _ingest(mnist_dir, tmp_path / "second")
    assert [p.relative_to(tmp_path / "first") for p in first] == [p.relative_to(tmp_path / "second") for p in second]
    for a, b in zip(first, second):
        assert filecmp.cmp(a, b, shallow=False), a
        header = a.read_bytes()[:10]
        assert header[:3] == b"\x1f\x8b\x08" and header[3] == 0  # gzip, no name, comment or extra
        assert header[4:8] == bytes(4)  # MTIME 0: no timestamp
        assert gzip.decompress(a.read_bytes())  # a whole gzip stream


def _train(examples, out):
    from tfx.components.trainer.fn_args_utils import FnArgs

    from trainer_module import task

    task.run_fn(FnArgs(  # TFX's own: every field the executor sets
        train_files=[f"{examples}/Split-train/*"], eval_files=[f"{examples}/Split-eval/*"],
        custom_config={"epochs": 1, "seed": 7}, serving_model_dir=str(out / "model"),
        model_run_dir=str(out / "run"),
    ))
    history = json.loads((out / "run" / TRAINING_SUMMARY_FILE).read_text())["history"]
    return [{k: v for k, v in epoch.items() if k != "train_seconds"} for epoch in history]


def test_training_twice_with_the_same_seed_gives_the_same_model(mnist_dir, tmp_path):
    _ingest(mnist_dir, tmp_path / "examples")
    first = _train(tmp_path / "examples", tmp_path / "a")
    second = _train(tmp_path / "examples", tmp_path / "b")
    assert first == second  # every metric of every epoch, exactly
    a, b = (tf.train.load_checkpoint(str(tmp_path / name / "model" / "variables" / "variables")) for name in "ab")
    # Every weight, bit for bit. (The checkpoint's object graph, also in the
    # file, holds Keras layer names, which count up within one process.)
    names = sorted(set(a.get_variable_to_shape_map()) - {"_CHECKPOINTABLE_OBJECT_GRAPH"})
    assert len(names) == 12  # 6 layers with a kernel and a bias
    for name in names:
        np.testing.assert_array_equal(a.get_tensor(name), b.get_tensor(name), err_msg=name)
