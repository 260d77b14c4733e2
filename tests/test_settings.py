"""Every setting is declared once (foundation/settings.py), and that one
declaration checks each value whoever gives it, gives --help its
description, default and choices, and docs/configuration.md its rows."""
import dataclasses
import math

import pytest

from foundation import settings
from foundation.errors import ConfigError
from pipeline import config as config_lib
from pipeline import settings_doc
from pipeline.cli import build_parser, options
from trainer_module.config import TrainConfig

FIELDS = config_lib.fields()
NUMERIC = [name for name, f in FIELDS.items() if settings.kind_of(f) in ("int", "float")]


def test_every_field_of_both_configs_is_a_declared_setting():
    undeclared = [f.name for cls in (config_lib.PipelineConfig, TrainConfig) for f in dataclasses.fields(cls)
                  if settings.rule_of(f) is None and f.name not in ("train", "explicit")]
    assert not undeclared
    assert all(settings.rule_of(f).help for f in FIELDS.values())
    assert set(FIELDS) >= {f.name for f in dataclasses.fields(TrainConfig)}


def _outside(rule, kind):
    """(a value just outside each bound, a value on each bound the setting takes)."""
    step = 1 if kind == "int" else 0.001
    bad, good = [], []
    if rule.at_least is not None:
        bad.append(rule.at_least - step)
        good.append(rule.at_least)
    if rule.above is not None:
        bad.append(rule.above)
        good.append(rule.above + step)
    if rule.at_most is not None:
        bad.append(rule.at_most + step)
        good.append(rule.at_most)
    return bad, good


def _text(value, kind):
    return str(int(value)) if kind == "int" else repr(float(value))


@pytest.mark.parametrize("name", NUMERIC)
def test_a_number_outside_its_bounds_is_refused_naming_flag_or_variable_value_and_bounds(name):
    field = FIELDS[name]
    kind, rule = settings.kind_of(field), settings.rule_of(field)
    bad, good = _outside(rule, kind)
    assert bad, f"{name}: a number with no bound"
    allowed = settings.allowed(field)
    for value in bad:
        text = _text(value, kind)
        with pytest.raises(ConfigError) as by_flag:
            config_lib.from_env({}, **{name: text})
        assert str(by_flag.value) == f"{config_lib.flag_name(name)} {text}: must be {allowed}"
        with pytest.raises(ConfigError) as by_env:
            config_lib.from_env({config_lib.env_name(name): text})
        assert str(by_env.value) == f"{config_lib.env_name(name)}={text}: must be {allowed}"
        assert by_flag.value.exit_status == by_env.value.exit_status == 2
    for value in good:
        config_lib.from_env({}, **{name: _text(value, kind)})


@pytest.mark.parametrize("name, value, allowed", [
    ("learning_rate", "-0.01", "a number > 0"),
    ("learning_rate", "0", "a number > 0"),
    ("learning_rate", "nan", "a number > 0"),
    ("batch_size", "0", "a whole number >= 1"),
    ("eval_batch_size", "0", "a whole number >= 1"),
    ("epochs", "1.5", "a whole number >= 1"),
    ("accuracy_lower_bound", "1.5", "a number from 0 to 1"),
    ("digit_accuracy_lower_bound", "-0.1", "a number from 0 to 1"),
    ("min_class_share", "inf", "a number from 0 to 1"),
    ("serving_p99_ms_batch_1", "0", "a number > 0"),
    ("serving_p99_ms_batch_32", "inf", "a number > 0"),
    ("tuner_trials", "0", "a whole number >= 1"),
    ("seed", "4294967296", "a whole number from 0 to 4294967295"),
    ("loop", "keras", "one of custom, fit"),
    ("beam_profile", "direct", "one of local, multi-process, flink, spark, dataflow"),
    ("pipeline_name", "MNIST_tfx", "lowercase letters, digits and dashes"),
    ("output_dir", "", "a directory"),
    ("s3_endpoint", "minio:9000", "a URL, http://... or https://..."),
    ("beam_job_endpoint", "flink", "HOST:PORT"),
    ("beam_args", "'--unclosed", "arguments, quoted as a shell would"),
])
def test_each_kind_of_setting_refuses_what_it_does_not_take(name, value, allowed):
    with pytest.raises(ConfigError, match="must be " + allowed.replace(".", r"\.")):
        config_lib.from_env({}, **{name: value})


def test_a_dataclass_built_directly_checks_itself_too():
    with pytest.raises(ConfigError, match=r"learning_rate '-1': must be a number > 0"):
        TrainConfig(learning_rate=-1)
    with pytest.raises(ConfigError, match="serving_p99_ms_batch_1 '0': must be a number > 0"):
        config_lib.PipelineConfig(serving_p99_ms_batch_1=0)
    assert not math.isnan(config_lib.PipelineConfig().accuracy_lower_bound)


def test_a_directory_reached_by_two_paths_is_one_value(tmp_path, monkeypatch):
    real = tmp_path / "data" / "mnist"
    real.mkdir(parents=True)
    (tmp_path / "link").symlink_to(real)
    monkeypatch.chdir(tmp_path / "data")
    given = [str(real), str(tmp_path / "link"), "mnist", "../data/mnist", str(tmp_path / "data" / ".." / "link")]
    assert {config_lib.from_env({}, mnist_dir=path).mnist_dir for path in given} == {str(real.resolve())}
    assert config_lib.from_env({"MNIST_DIR": "../link"}).mnist_dir == str(real.resolve())


def _help_of(command):
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return {a.dest: a for a in sub._actions}


@pytest.mark.parametrize("command", ["run", "compile"])
def test_every_flag_has_its_description_default_choices_and_variable_in_help(command):
    actions = _help_of(command)
    for name, field in config_lib.fields(kubeflow=command == "compile").items():
        rule, action = settings.rule_of(field), actions[name]
        help_ = action.help.replace("%%", "%")
        assert help_.startswith(rule.help), name
        assert f"(default {settings.default_text(field).replace('`', '')}; env {config_lib.env_name(name)}" in help_
        if rule.choices:
            assert action.metavar == "{" + ",".join(rule.choices) + "}"
        elif settings.kind_of(field) in ("int", "float"):
            assert settings.allowed(field) in help_, name


def test_run_help_lists_the_exit_statuses():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["run"]
    text = sub.format_help()
    for status in ("0", "1", "2", "3"):
        assert f"\n  {status}  " in text[text.index("exit status:"):]


def test_the_configuration_doc_tables_are_what_the_declarations_give():
    with open(settings_doc.DOC) as f:
        found = settings_doc.tables(f.read())
    assert set(found) == set(settings.GROUPS)
    for group, rows in found.items():
        assert rows == settings_doc.rows(group), (
            f"docs/configuration.md's {group} table differs from the declarations: "
            "run .venv/bin/python -m pipeline.settings_doc")
    listed = [row.split(" | ")[1] for rows in found.values() for row in rows[2:]]
    assert len(listed) == len(FIELDS)  # every setting, once


def test_the_inspection_commands_location_flags_are_settings_too(tmp_path):
    args = build_parser().parse_args(["runs", "list", "--output-dir", str(tmp_path)])
    assert options.config_from(args).output_dir == str(tmp_path.resolve())
