"""Flags shared by the commands: every setting of the pipeline configuration."""
import argparse
from typing import List, Optional

from pipeline import config as config_lib


def add_config_options(
    parser: argparse.ArgumentParser, kubeflow: bool, only: Optional[List[str]] = None
) -> None:
    """One flag per setting (--epochs ...); unset, the environment's value or the default."""
    for name, field in config_lib.fields(kubeflow).items():
        if only is not None and name not in only:
            continue
        flag = "--" + name.replace("_", "-")
        env = config_lib.env_name(name)
        if field.type is bool:
            parser.add_argument(
                flag, dest=name, default=None, action=argparse.BooleanOptionalAction,
                help=f"(env {env})",
            )
        elif field.type == List[str]:
            parser.add_argument(
                flag, dest=name, default=None,
                type=lambda text, f=field: config_lib.parse_value(f, text),
                help=f"space-separated, e.g. '--direct_num_workers=2' (env {env})",
            )
        else:
            parser.add_argument(
                flag, dest=name, default=None,
                type=lambda text, f=field: config_lib.parse_value(f, text),
                help=f"(env {env})",
            )


def add_location_options(parser: argparse.ArgumentParser) -> None:
    """Where to read a local run's records from (the run command's defaults)."""
    for name in ("output_dir", "pipeline_name"):
        parser.add_argument(
            "--" + name.replace("_", "-"), dest=name, default=None,
            help=f"(env {config_lib.env_name(name)})",
        )


def config_from(args: argparse.Namespace) -> config_lib.PipelineConfig:
    """Defaults, then the environment, then the flags given."""
    return config_lib.from_env(
        **{name: getattr(args, name) for name in config_lib.fields() if hasattr(args, name)}
    )
