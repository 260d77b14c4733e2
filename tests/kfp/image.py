"""The container image's Dockerfile, read as text (no Docker engine here)."""
import re
import shlex
from typing import Dict, List, Tuple

from pipeline import config as config_lib
from tests.fixtures.data import PROJECT_ROOT

TEXT = (PROJECT_ROOT / "Dockerfile").read_text()


def instructions() -> List[Tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", TEXT)
    lines = [line.strip() for line in text.splitlines()]
    return [tuple(line.split(None, 1)) for line in lines if line and not line.startswith("#")]


def env(project_root: str = config_lib.IMAGE_PROJECT_ROOT) -> Dict[str, str]:
    """The image's environment, from its ENV KEY=VALUE instructions; the
    project's directory in a value is `project_root` (a checkout standing for
    the image's copy, as --image-project-root makes it in a compiled spec)."""
    image_root = config_lib.IMAGE_PROJECT_ROOT
    found = {}
    for op, args in instructions():
        if op == "ENV":
            for pair in shlex.split(args):
                key, value = pair.split("=", 1)
                if value == image_root or value.startswith(image_root + "/"):
                    value = project_root + value[len(image_root):]
                found[key] = value
    return found
