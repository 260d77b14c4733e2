"""Errors a user can act on. Each message names the file or feature at fault.

Kept free of TensorFlow and TFX imports, so the CLI can catch these cheaply.
"""


class MnistDataError(ValueError):
    """The MNIST source files are missing, unreadable or malformed."""


class MnistUnavailableError(RuntimeError):
    """No local copy was given and none could be downloaded."""


class DataValidationError(RuntimeError):
    """The examples do not match the curated schema."""


class DirectoryInUseError(RuntimeError):
    """Another process holds the lock on an output directory."""


USER_ERRORS = (MnistDataError, MnistUnavailableError, DataValidationError, DirectoryInUseError)
