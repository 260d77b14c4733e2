"""Errors a user can act on: each names the file and what is wrong with it."""


class MnistDataError(ValueError):
    """The MNIST source files are missing, unreadable or malformed."""


class MnistUnavailableError(RuntimeError):
    """No local copy was given and none could be downloaded."""
