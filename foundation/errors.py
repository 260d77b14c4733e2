"""Errors a user can act on. Each message names the file, setting or feature at fault.

`UserError` is the project's one class for them: the process boundary
(pipeline/process/boundary.py) prints a UserError (any subclass) as one line,
`error: ...`, without a traceback, and any other exception, a bug or an
environment problem, with its traceback.

Kept free of TensorFlow and TFX imports, so the CLI can catch these cheaply.
"""


class UserError(Exception):
    """Bad input or a bad setting, or a state the user must change; the message says how."""

    # The process's exit status when this ends it: 1, failed; ConfigError's 2, bad usage.
    exit_status = 1


class MnistDataError(UserError, ValueError):
    """The MNIST source files are missing, unreadable or malformed."""


class MnistUnavailableError(UserError, RuntimeError):
    """No local copy was given and none could be downloaded."""


class DataValidationError(UserError, RuntimeError):
    """The examples do not match the curated schema."""


class DirectoryInUseError(UserError, RuntimeError):
    """Another process holds the lock on an output directory."""


class ConfigError(UserError, ValueError):
    """A setting (flag or environment variable) the pipeline cannot use: bad usage.

    `settings`: the names of the settings at fault, so that the configuration
    can say where each was set (a flag, a variable, the default).
    """

    exit_status = 2

    def __init__(self, message: str, settings=()):
        super().__init__(message)
        self.settings = tuple(settings)
