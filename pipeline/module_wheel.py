"""The Trainer's and Tuner's user-module wheel, built once per source version.

TFX 1.16.0 builds the wheel (`setup.py bdist_wheel`, in a subprocess) every
time a pipeline with a `module_file` is compiled, a cached re-run included
(tfx/components/util/udf_utils.py, package_user_module_file). The wheel's
name carries the SHA-256 of the module directory's sources, and that name,
not its bytes, is what the component records (its module fingerprint, and
the cache key). So a wheel of that name already under the pipeline root is
used as it is, and only a new source version is built.
"""
import os
import re
from typing import Optional, Tuple

_installed = False


def _built(instance_name: str, module_path: str, pipeline_root: str) -> Optional[str]:
    """The wheel TFX would build, if it is already in <pipeline_root>/_wheels."""
    from tfx.components.util import udf_utils
    from tfx.dsl.io import fileio

    directory = os.path.dirname(os.path.abspath(module_path))
    sources = [name for name in os.listdir(directory) if name.endswith(".py")]
    version = udf_utils._get_version_hash(directory, sources)
    # As setuptools names the wheel of `tfx-user-code-<instance>`.
    project = re.sub(r"[-_.]+", "_", f"tfx-user-code-{instance_name}").lower()
    wheels = os.path.join(pipeline_root, "_wheels")
    name = f"{project}-0.0+{version}-py3-none-any.whl"
    if fileio.exists(wheels) and name in [n.lower() for n in fileio.listdir(wheels)]:
        return os.path.join(wheels, next(n for n in fileio.listdir(wheels) if n.lower() == name))
    return None


def reuse_built_wheels() -> None:
    """Makes TFX's packaging return an already built wheel of the same sources."""
    global _installed
    if _installed:
        return
    from tfx.components.util import udf_utils

    build = udf_utils.package_user_module_file

    def package_user_module_file(instance_name: str, module_path: str, pipeline_root: str) -> Tuple[str, str]:
        wheel = _built(instance_name, module_path, pipeline_root)
        if wheel is None:
            return build(instance_name, module_path, pipeline_root)
        module = re.sub(r"\.py$", "", os.path.basename(module_path))
        return wheel, f"{module}@{wheel}"

    udf_utils.package_user_module_file = package_user_module_file
    _installed = True
