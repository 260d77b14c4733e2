"""The `precision` setting: what `auto` picks from a CPU's flags, and that a
model trained under mixed_bfloat16 trains correctly and exports a float32
SavedModel that predicts as the trained model does.

bfloat16 is emulated on CPUs without bfloat16 units: slow, but exact enough
for the few steps on a few digits these tests take, on either kind of CPU.
"""
import numpy as np
import pytest
import tensorflow as tf
import tf_keras as keras
from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2

from components.mnist_example_gen import encoding
from foundation import keras_choice
from foundation.errors import ConfigError
from pipeline import config as config_lib
from tests.synthetic_digits import make_digits
from trainer_module import export, precision, train_loop
from trainer_module import model as model_lib

# The trained model computes in bfloat16 (8 bits of mantissa: about 0.4%
# relative error per op); the export computes the same weights in float32.
# Probabilities in [0, 1] then differ by at most a few hundredths.
BF16_TOLERANCE = 0.03
# The float32 copy against the export: the same float32 arithmetic.
FLOAT32_TOLERANCE = 1e-5

EPYC_AVX2 = {"fpu", "sse4_2", "avx", "avx2", "fma", "avx512f"}


@pytest.mark.parametrize("flags, policy", [
    (EPYC_AVX2, "float32"),
    (set(), "float32"),
    (EPYC_AVX2 | {"avx512_bf16"}, "mixed_bfloat16"),  # Cooper Lake, Zen 4
    (EPYC_AVX2 | {"amx_bf16", "amx_tile", "amx_int8"}, "mixed_bfloat16"),  # Sapphire Rapids
    (EPYC_AVX2 | {"amx_tile"}, "float32"),  # AMX without its bfloat16 part
])
def test_auto_picks_bfloat16_only_on_cpus_with_bfloat16_units(flags, policy):
    choice = precision.choose("auto", flags)
    assert choice.policy == policy
    assert ("no bfloat16 units" in choice.reason) == (policy == "float32")


@pytest.mark.parametrize("setting", ["float32", "mixed_bfloat16"])
def test_an_explicit_precision_ignores_the_cpu(setting):
    assert precision.choose(setting, {"amx_bf16"}).policy == setting
    assert precision.choose(setting, set()).policy == setting


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu avx2 avx512_bf16\n\n"
        "processor\t: 1\nflags\t\t: fpu\n"
    )
    assert precision.cpu_flags(str(cpuinfo)) == {"fpu", "avx2", "avx512_bf16"}
    assert precision.cpu_flags(str(tmp_path / "missing")) == set()


def test_the_setting_is_a_flag_and_an_environment_variable():
    assert config_lib.from_env({}).train.precision == "auto"
    env = {"MNIST_TFX_PRECISION": "mixed_bfloat16"}
    assert config_lib.from_env(env).train.precision == "mixed_bfloat16"
    assert config_lib.from_env(env, precision="float32").train.precision == "float32"
    with pytest.raises(ConfigError, match="--precision float16: must be one of auto, float32, mixed_bfloat16"):
        config_lib.from_env({}, precision="float16")


def test_the_float32_model_is_unchanged():
    model = model_lib.build_model()
    assert model_lib.computes_in_float32(model)
    assert export.as_float32(model) is model


def _bfloat16_nodes(*node_lists):
    """Names of the nodes with a bfloat16 input, output or attribute."""
    bf16 = types_pb2.DT_BFLOAT16
    return [
        node.name for nodes in node_lists for node in nodes
        if any(a.type == bf16 or bf16 in a.list.type for a in node.attr.values())
    ]


@pytest.fixture(scope="module")
def bf16_trained():
    """Basic_CNN after 3 mixed_bfloat16 train steps on 32 synthetic digits."""
    keras_choice.require()  # as the Trainer does
    tf.keras.utils.set_random_seed(3)
    images, labels = make_digits(32, seed=11)
    batch = tf.constant(images[..., None] / 255.0, tf.float32)
    steps = train_loop.Steps(model_lib.build_model("mixed_bfloat16"), learning_rate=0.001)
    before = [v.numpy().copy() for v in steps.model.trainable_variables]
    for _ in range(3):
        steps.train_step(batch, tf.constant(labels, tf.int64))
    return steps, before, images, labels


def test_mixed_bfloat16_computes_in_bfloat16_and_keeps_float32_where_it_must(bf16_trained):
    steps, before, images, _ = bf16_trained
    model = steps.model
    assert model.layers[1].compute_dtype == "bfloat16"
    assert model.layers[-1].compute_dtype == "float32"  # the softmax
    assert model(images[:2, ..., None] / 255.0).dtype == tf.float32
    assert all(v.dtype == tf.float32 for v in model.trainable_variables)
    # No loss scaling for bfloat16: it has float32's exponent range. The
    # optimizer step changed every variable, in float32 (the Adam slots too).
    assert all(v.dtype != tf.bfloat16 for v in steps.optimizer.variables)
    for old, new in zip(before, model.trainable_variables):
        assert not np.array_equal(old, new.numpy())
    assert float(steps.train_loss.result()) > 0


def test_the_export_of_a_bfloat16_model_computes_in_float32(bf16_trained, tmp_path):
    steps, _, images, labels = bf16_trained
    export.export_serving_model(steps.model, str(tmp_path))

    saved = saved_model_pb2.SavedModel.FromString((tmp_path / "saved_model.pb").read_bytes())
    graph = saved.meta_graphs[0].graph_def
    assert _bfloat16_nodes(graph.node, *(f.node_def for f in graph.library.function)) == []
    # The check finds bfloat16 where there is some: the trained model's graph.
    traced = tf.function(steps.model).get_concrete_function(tf.TensorSpec([None, 28, 28, 1]))
    assert _bfloat16_nodes(traced.graph.as_graph_def().node)

    loaded = tf.saved_model.load(str(tmp_path))
    by_examples = loaded.signatures[export.SERVING_EXAMPLES](
        examples=tf.constant(list(encoding.encode_all(images, labels)))
    )["probabilities"].numpy()
    pixels = tf.constant(images[..., None] / 255.0, tf.float32)
    by_images = loaded.signatures[export.SERVING_IMAGES](images=pixels)["probabilities"].numpy()
    trained = steps.model(pixels, training=False).numpy()
    float32_copy = export.as_float32(steps.model)(pixels, training=False).numpy()

    np.testing.assert_allclose(by_examples, by_images, atol=FLOAT32_TOLERANCE)
    np.testing.assert_allclose(by_images, float32_copy, atol=FLOAT32_TOLERANCE)
    np.testing.assert_allclose(by_images, trained, atol=BF16_TOLERANCE)
    assert np.abs(by_images - trained).max() > 0  # it really was bfloat16 before


def test_the_fit_loop_needs_no_loss_scaling_under_mixed_bfloat16():
    """model.fit compiles as train_loop.train_fit does; one step, in float32 variables."""
    keras_choice.require()
    images, labels = make_digits(16, seed=12)
    model = model_lib.build_model("mixed_bfloat16")
    model.compile(optimizer=keras.optimizers.Adam(0.001),
                  loss=keras.losses.SparseCategoricalCrossentropy())
    before = model.layers[1].kernel.numpy().copy()
    loss = model.train_on_batch(images[..., None].astype(np.float32) / 255.0, labels.astype(np.int64))
    # tf_keras wraps the optimizer in a loss-scale optimizer for mixed_float16 only.
    assert type(model.optimizer).__name__ == "Adam"
    assert np.isfinite(loss)
    assert model.layers[1].kernel.dtype == tf.float32
    assert not np.array_equal(before, model.layers[1].kernel.numpy())
