import pytest

from foundation.errors import ConfigError
from pipeline import config as config_lib
from pipeline.cli import build_parser, options


def test_defaults():
    cfg = config_lib.from_env({})
    assert cfg.pipeline_name == "mnist-tfx"
    assert (cfg.train.epochs, cfg.train.batch_size, cfg.train.loop) == (5, 32, "custom")
    assert cfg.accuracy_lower_bound == 0.98
    assert cfg.metadata_path.startswith(cfg.output_dir)


def test_environment_overrides_defaults_and_flags_override_environment(tmp_path):
    env = {
        "MNIST_DIR": str(tmp_path),
        "MNIST_TFX_EPOCHS": "5",
        "MNIST_TFX_BEAM_ARGS": "--direct_num_workers=2 --direct_running_mode=multi_processing",
        "MNIST_TFX_ENABLE_CACHE": "false",
    }
    cfg = config_lib.from_env(env, epochs=7)
    assert cfg.mnist_dir == str(tmp_path)
    assert cfg.train.epochs == 7
    assert cfg.beam_args == ["--direct_num_workers=2", "--direct_running_mode=multi_processing"]
    assert cfg.enable_cache is False


def test_cli_flags_cover_every_setting():
    args = build_parser().parse_args(
        ["run", "--epochs", "2", "--loop", "fit", "--max-examples-per-split", "100", "--no-enable-cache"]
    )
    # Flags stay text until the configuration checks them.
    assert (args.epochs, args.loop, args.max_examples_per_split, args.enable_cache) == ("2", "fit", "100", False)
    cfg = options.config_from(args)
    assert (cfg.train.epochs, cfg.train.loop, cfg.max_examples_per_split, cfg.enable_cache) == (2, "fit", 100, False)
    assert args.output_dir is None  # unset flags leave environment and defaults alone
    for name in config_lib.fields(kubeflow=False):
        assert hasattr(args, name)
    # Kubeflow-only settings are flags of compile and deploy, not of run.
    assert not hasattr(args, "image")
    for command in ("compile", "deploy"):
        args = build_parser().parse_args([command, "--image", "r/m:1", "--trainer-cpu", "4"])
        cfg = options.config_from(args)
        assert (cfg.image, cfg.trainer_cpu) == ("r/m:1", 4.0)
        for name in config_lib.fields():
            assert hasattr(args, name)


def test_object_store_paths_are_kept_as_given():
    cfg = config_lib.from_env({"MNIST_TFX_OUTPUT_DIR": "gs://bucket/mnist-tfx", "MNIST_DIR": "s3://data/mnist"})
    assert (cfg.output_dir, cfg.mnist_dir) == ("gs://bucket/mnist-tfx", "s3://data/mnist")
    assert cfg.pipeline_root == "gs://bucket/mnist-tfx/pipeline_root"
    assert cfg.serving_dir == "gs://bucket/mnist-tfx/serving_model/mnist-tfx"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"MNIST_TFX_EPOCHS": "three"}, "MNIST_TFX_EPOCHS=three: must be a whole number >= 1"),
        ({"MNIST_TFX_EPOCHS": "0"}, "MNIST_TFX_EPOCHS=0: must be a whole number >= 1"),
        ({"MNIST_TFX_LOOP": "keras"}, "MNIST_TFX_LOOP=keras: must be one of custom, fit"),
        ({"MNIST_TFX_ENABLE_CACHE": "maybe"}, "MNIST_TFX_ENABLE_CACHE=maybe: must be true or false"),
        ({"MNIST_TFX_STRATEGY": "horovod"}, "MNIST_TFX_STRATEGY=horovod: must be one of none, mirrored, multi_worker"),
        ({"MNIST_TFX_STRATEGY": "mirrored", "MNIST_TFX_LOOP": "fit"},
         "MNIST_TFX_STRATEGY=mirrored with MNIST_TFX_LOOP=fit: strategy 'mirrored' distributes the custom loop only"),
        ({"MNIST_TFX_TUNER_HOLDOUT_SHARE": "1"},
         "MNIST_TFX_TUNER_HOLDOUT_SHARE=1: must be a number above 0 and below 1"),
    ],
)
def test_bad_settings_are_reported(env, message):
    with pytest.raises(ConfigError) as raised:
        config_lib.from_env(env)
    assert str(raised.value).startswith(message)
    assert raised.value.exit_status == 2


def test_direct_runner_args_name_the_lock_so_tfx_builds_no_sdist():
    from tfx.utils import dependency_utils

    local = config_lib.PipelineConfig().beam_pipeline_args("/app")
    assert local[-1] == "--requirements_file=/app/requirements-runtime.lock"
    # TFX's own check: with this flag it leaves the args as they are
    # instead of packaging itself (which takes seconds, and litters /tmp).
    assert dependency_utils.make_beam_dependency_flags(local) == local
    remote = ["--runner=DataflowRunner", "--sdk_container_image=example/image:1"]
    args = config_lib.PipelineConfig(beam_args=remote).beam_pipeline_args()
    assert args[-2:] == remote  # after the (local) profile's, which they override
    assert not any(arg.startswith("--requirements_file") for arg in args)


def test_train_dropout_off_needs_the_custom_loop():
    from trainer_module.config import TrainConfig

    assert TrainConfig(train_dropout=False).train_dropout is False
    with pytest.raises(ConfigError, match="train_dropout off needs loop 'custom'"):
        TrainConfig(train_dropout=False, loop="fit")
