"""Output whose reader may go away: `python -m pipeline report | head -2`.

When the reader closes the pipe, the next write raises BrokenPipeError (Python
ignores SIGPIPE). Uncaught, that is a traceback, and exit status 1, which is
`report`'s "not blessed". A guarded stream instead sends that write, and
every later one, to /dev/null (the file descriptor itself, so that the
interpreter's own flush at exit finds nothing to fail on either): the command
carries on and ends with its own exit status.

The process boundary guards sys.stdout and sys.stderr of every entry point,
and console.native_output_to the streams it makes during a run.
"""
import os
from typing import TextIO


class _Guarded:
    """A text stream that drops what it cannot write to a closed pipe."""

    def __init__(self, stream: TextIO):
        self._stream = stream
        self.reader_gone = False

    def write(self, text: str) -> int:
        if not self.reader_gone:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._to_devnull()
        return len(text)

    def writelines(self, lines) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if not self.reader_gone:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._to_devnull()

    def _to_devnull(self) -> None:
        self.reader_gone = True
        to_devnull(self._stream)

    def __getattr__(self, name: str):  # fileno, isatty, encoding, close, ...
        return getattr(self._stream, name)


def to_devnull(stream: TextIO) -> None:
    """Points the stream's file descriptor at /dev/null."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, stream.fileno())
    finally:
        os.close(devnull)


def guard(stream: TextIO) -> TextIO:
    return stream if isinstance(stream, _Guarded) else _Guarded(stream)
