"""Signal handlers installed for a block and put back after it: how Ctrl-C and SIGTERM are deferred, held back or
turned into flags while training, comparing or putting a run's files in place."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator

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


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Ctrl-C and SIGTERM held back while the block runs: one that comes meanwhile is recorded, and raised again
    once the block is over, for the handler it would have met to act on. For steps that must not be cut in
    half, such as the renames that put a run's or a report's files in place. (Masking the signals would not do:
    the system delivers a process's signal to any thread that has not masked it, and Python then runs the
    handler in the main thread at once.)"""
    received: list[int] = []
    with handling(lambda signum, frame: received.append(signum)):
        yield
    if received:
        signal.raise_signal(received[0])
