"""Where the command line prints: standard output and standard error, made safe for wherever they lead.

A command's results are in its files; what it prints says what it did. So printing must never be what fails
a command, wherever the streams lead: a terminal that cannot show "ρ" (an ASCII locale), a pipe closed early
(``| head``), a full disk under a redirect, a stream closed by the caller (``2>&-``). Characters a stream
cannot encode are escaped; standard error (progress, warnings, the error paragraph) drops what it cannot
write; standard output stops the command quietly when its reader has gone (as ``head``'s writers do), and
otherwise names the problem in one paragraph.
"""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from backends.common.errors import W2VError


class ReaderGone(Exception):
    """Standard output's reader closed the pipe (``| head``): nothing more can or need be printed."""


class _Stream:
    """A text stream whose failures are handled as the module says; every other attribute is the stream's."""

    def __init__(self, stream: TextIO, forgiving: bool) -> None:
        self._stream, self._forgiving = stream, forgiving

    def write(self, text: str) -> int:
        self._guarded(self._stream.write, text)
        return len(text)

    def flush(self) -> None:
        self._guarded(self._stream.flush)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def _guarded(self, action, *args) -> None:
        try:
            action(*args)
        except (OSError, ValueError) as error:  # ValueError: the stream was closed
            if self._forgiving:
                return
            if isinstance(error, OSError) and error.errno == errno.EPIPE:
                raise ReaderGone from None
            why = error.strerror if isinstance(error, OSError) else "it is closed"
            raise W2VError(
                f"cannot print to the standard output ({why}); send it somewhere else (a disk with "
                f"room, say) and run the command again. Files the command wrote before are complete."
            ) from None


def _usable(stream: TextIO | None) -> TextIO:
    """``stream``, escaping what it cannot encode; a stream the caller closed (None) becomes the null device."""
    if stream is None:
        return open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (held for the process's life)
    reconfigure = getattr(stream, "reconfigure", None)  # a text file's; Jupyter's streams have none
    if reconfigure is not None:
        with contextlib.suppress(ValueError, OSError):
            reconfigure(errors="backslashreplace")
    return stream


@contextlib.contextmanager
def safe_streams() -> Iterator[None]:
    """Standard output and error wrapped as the module says while the block runs."""
    stdout, stderr = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _Stream(_usable(stdout), forgiving=False), _Stream(_usable(stderr), forgiving=True)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = stdout, stderr


def quiet_exit() -> None:
    """After :class:`ReaderGone`: point standard output at the null device, so the interpreter's last flush of
    what is still buffered for the gone reader raises nothing."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
