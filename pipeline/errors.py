"""The project's errors for the user: one line, `error: ...`, and no traceback.

Raise `UserError` (or a subclass) for bad input, a bad setting or a state the
user must change, with a message that says how; the process boundary
(pipeline/process/boundary.py) prints it as one line and exits 1. Anything
else is a bug or an environment problem, printed with its traceback.
"""
from components.errors import UserError

__all__ = ["UserError", "ConfigError"]


class ConfigError(UserError, ValueError):
    """A setting (flag or environment variable) the pipeline cannot use.

    Also a ValueError, so that argparse reports a bad flag value as its own
    usage error when the flag's type conversion raises it.
    """
