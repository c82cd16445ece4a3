"""Drawing the next batches while the current one trains: a background thread fills a bounded queue.

Sampling at update time draws each minibatch when it is served; drawing it on the training thread would add
the draw to every step. The drawing is NumPy work that releases the interpreter's lock for most of its time,
so a thread overlaps it with the framework's step. The queue holds at most ``depth`` batches, so memory stays
bounded whatever the epoch's length, and the thread stops as soon as the consumer does: the generator's
``finally`` tells it to, and waits for it (at most the one item it is making), whether the consumer ran to the
end, stopped early (a step budget, ``close()``) or was interrupted (Ctrl-C, an exception).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import TypeVar

Item = TypeVar("Item")
_WAKE_SECONDS = 0.05  # how often a thread waiting for room in the queue looks whether it should stop


@dataclass(frozen=True)
class _Failed:
    """What the thread hands over in place of an item that ``make`` raised on."""

    error: BaseException


def prefetched(make: Callable[[int], Item], numbers: Iterable[int], depth: int) -> Generator[Item, None, None]:
    """``make(n)`` for each of ``numbers`` in order, made ahead on a background thread, at most ``depth`` of them
    waiting; an exception ``make`` raises is raised here, where the item it was making would have come."""
    numbers = list(numbers)
    stop = threading.Event()
    ready: queue.Queue[Item | _Failed] = queue.Queue(maxsize=depth)

    def hand_over(entry: Item | _Failed) -> bool:
        """Put ``entry`` in the queue once there is room; False if told to stop first."""
        while not stop.is_set():
            try:
                ready.put(entry, timeout=_WAKE_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for number in numbers:
                if not hand_over(make(number)):
                    return
        except BaseException as error:  # every kind, Ctrl-C's included: the consumer decides what it means
            hand_over(_Failed(error))

    thread = threading.Thread(target=work, name="w2v-prefetch", daemon=True)
    thread.start()
    try:
        for _ in numbers:
            item = ready.get()
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()
