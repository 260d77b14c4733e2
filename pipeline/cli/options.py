"""Flags shared by the commands: every setting of the pipeline configuration,
each with its declaration's description, default and choices in --help."""
import argparse
from typing import List, Optional

from foundation import settings
from pipeline import config as config_lib


def help_text(name: str) -> str:
    """A setting's --help: what it is, what it takes, its default, its variable."""
    field = config_lib.fields()[name]
    rule = settings.rule_of(field)
    kind = settings.kind_of(field)
    parts = [rule.help]
    if kind in ("int", "float", "str") and not rule.choices:
        allowed = settings.allowed(field)
        if allowed != "text":
            parts.append(allowed)
    see = f"; docs/{rule.see.split('#')[0]}" if rule.see else ""
    return (f"{'; '.join(parts)} (default {settings.default_text(field)}; env {config_lib.env_name(name)}{see})"
            .replace("%", "%%"))  # argparse formats help with %


def _metavar(name: str, field) -> str:
    rule = settings.rule_of(field)
    if rule.choices:
        return "{" + ",".join(rule.choices) + "}"
    return {"int": "N", "float": "X", "list": "'ARGS'"}.get(settings.kind_of(field), name.split("_")[-1].upper())


def add_config_options(
    parser: argparse.ArgumentParser, kubeflow: bool, only: Optional[List[str]] = None
) -> None:
    """One flag per setting (--epochs ...); unset, the environment's value or
    the default. Values stay text here: config_lib.from_env checks them, so a
    bad one is one line naming the flag, the value and what it takes."""
    for name, field in config_lib.fields(kubeflow).items():
        if only is not None and name not in only:
            continue
        help_ = help_text(name).replace("`", "")
        if settings.kind_of(field) == "bool":
            parser.add_argument(
                config_lib.flag_name(name), dest=name, default=None,
                action=argparse.BooleanOptionalAction, help=help_,
            )
        else:
            parser.add_argument(
                config_lib.flag_name(name), dest=name, default=None, metavar=_metavar(name, field), help=help_,
            )


def add_location_options(parser: argparse.ArgumentParser) -> None:
    """Where to read a local run's records from (the run command's defaults)."""
    add_config_options(parser, kubeflow=False, only=["output_dir", "pipeline_name"])


def config_from(args: argparse.Namespace) -> config_lib.PipelineConfig:
    """Defaults, then the environment, then the flags given."""
    return config_lib.from_env(
        **{name: getattr(args, name) for name in config_lib.fields() if hasattr(args, name)}
    )
