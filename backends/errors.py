"""The one exception type for mistakes a user can fix.

Anything the user can act on (a missing data file, an unknown framework or word, a GPU asked for but
absent, a loss that diverged) raises :class:`W2VError` with a message that names the problem and the fix.
The command line turns it into exit code 2 and prints only the message; notebooks show it as a short
error. Genuine bugs keep raising ordinary exceptions with their tracebacks.
"""


class W2VError(Exception):
    """A problem the user can fix; the message says what went wrong and what to do about it."""
