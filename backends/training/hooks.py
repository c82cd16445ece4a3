"""The parts of the training loop that are not training: each one job, called at fixed points of a run.

:func:`backends.training.loop.fit` builds the hooks a run asks for and calls each at the points below; a
hook reads the run (its history, position, settings) and never changes how it trains.

- :class:`ProgressBar`: one tqdm bar for the run (a widget in Jupyter, text in a terminal);
- :class:`Report`: a function given the history each time losses are read back, and at the end (the
  notebooks' live loss curve);
- :class:`Checkpoints`: the run saved every N steps, and when it is interrupted between two steps.

:func:`interrupts` turns Ctrl-C and SIGTERM into a flag the loop checks between steps.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from backends.common.errors import W2VError
from backends.common.signals import handling
from backends.training import checkpoint

if TYPE_CHECKING:
    from backends.training.history import History
    from backends.training.loop import Run


class Hook:
    """Called by the loop; every method does nothing unless a hook has something to do then."""

    def on_start(self, run: Run) -> None:
        """Before the first step (of this process: a resumed run starts where it stood)."""

    def on_epoch(self, run: Run) -> None:
        """Before the first step of each epoch."""

    def on_losses(self, run: Run) -> None:
        """After losses were read back from the device (every ``sync_every`` steps)."""

    def on_step(self, run: Run) -> None:
        """After every step."""

    def on_interrupt(self, run: Run) -> None:
        """After Ctrl-C was acted on between two steps: the trainer's state is whole."""

    def on_end(self, run: Run) -> None:
        """After the run ended, by its budget or by Ctrl-C: the history is complete."""

    def close(self) -> None:
        """Release what the hook holds, however the run ended (a diverged run too)."""


class ProgressBar(Hook):
    """One progress bar for the whole run: the epoch, the steps and the loss of the epoch so far."""

    def __init__(self) -> None:
        self.bar = None

    def on_start(self, run: Run) -> None:
        from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal: chosen when the bar is made

        self.bar = tqdm(total=run.history.planned_steps - run.steps_taken, desc=run.backend.NAME, unit="batch",
                        leave=True, mininterval=0.5)

    def on_epoch(self, run: Run) -> None:
        self.bar.set_description(f"{run.backend.NAME} epoch {run.position.epoch + 1}/{run.settings.epochs}",
                                 refresh=False)

    def on_losses(self, run: Run) -> None:
        self.bar.set_postfix(loss=f"{run.position.epoch_loss():.4f}", refresh=False)

    def on_step(self, run: Run) -> None:
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Report(Hook):
    """Calls ``function(history)`` each time losses are read back, and once when the run has ended."""

    def __init__(self, function: Callable[[History], Any]) -> None:
        self.function = function

    def on_losses(self, run: Run) -> None:
        self.function(run.history)

    def on_end(self, run: Run) -> None:
        self.function(run.history)


class Checkpoints(Hook):
    """Saves the run to ``path`` every ``every`` steps, and when Ctrl-C stops it between two steps."""

    def __init__(self, path: str | Path, every: int) -> None:
        self.path, self.every = Path(path), every

    def on_step(self, run: Run) -> None:
        if run.steps_taken % self.every == 0:
            self.save(run)

    def on_interrupt(self, run: Run) -> None:
        try:
            self.save(run)
        except W2VError as error:  # a full disk, say: the run's history and vectors may still fit, so go on
            print(f"warning: the checkpoint at the interrupt could not be saved, so the last one saved is the one to "
                  f"resume from. {error}", file=sys.stderr)

    def save(self, run: Run) -> None:
        run.read_back()  # the history must hold every step the trainer took
        checkpoint.save(self.path, run.backend.state(run.trainer), run.record())


class StopAfterStep(KeyboardInterrupt):
    """Ctrl-C, acted on between two steps."""


@contextlib.contextmanager
def interrupts() -> Iterator[Callable[[], bool]]:
    """While training, the first Ctrl-C or SIGTERM only raises a flag that the loop checks after each step, so
    a step is never cut in half (half-applied optimizer updates) and the run ends as after Ctrl-C, its steps
    kept; a second one interrupts at once. Outside the main thread both keep their usual effect."""
    received: list[int] = []

    def on_signal(signum, frame):
        if received:
            raise KeyboardInterrupt
        received.append(signum)

    with handling(on_signal):
        yield lambda: bool(received)
