"""The one exception type for mistakes a user can fix.

Anything the user can act on (a missing data file, an unknown framework or word, a GPU asked for but
absent, a loss that diverged) raises :class:`W2VError` with a message that names the problem and the fix.
The command line turns it into exit code 2 and prints only the message; in a notebook IPython shows the
message alone, as one line, without a traceback. Genuine bugs keep raising ordinary exceptions with their
tracebacks.
"""


class W2VError(Exception):
    """A problem the user can fix; the message says what went wrong and what to do about it."""

    def _render_traceback_(self) -> list[str]:
        """IPython's hook for an exception's own display: the message, not a page of frames to read past."""
        return [f"{type(self).__name__}: {self}"]


class WriteError(W2VError):
    """A file could not be written (a full disk, a read-only folder, a name too long): the system's reason and
    the fix, as :func:`backends.common.files.os_error_message` words them."""
