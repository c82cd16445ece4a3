"""Signal handlers installed for a block and put back after it: how Ctrl-C and SIGTERM are deferred or turned
into flags while training, comparing or putting a run's files in place."""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Callable, Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # Ctrl-C, and a plain `kill`, `timeout` or a job scheduler


@contextlib.contextmanager
def handling(handler: Callable, signals: tuple[int, ...] = STOP_SIGNALS) -> Iterator[bool]:
    """``handler`` for ``signals`` while the block runs, the previous handlers afterwards. Signal handlers
    belong to the main thread: elsewhere nothing changes, and the block is told so (False)."""
    if threading.current_thread() is not threading.main_thread():
        yield False
        return
    previous = {number: signal.signal(number, handler) for number in signals}
    try:
        yield True
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
