"""The parts of the training loop that are not training: each one job, called at fixed points of a run.

:func:`backends.training.loop.fit` builds the hooks a run asks for into one :class:`Hooks`, the one place the
loop's events reach them. A hook sees the run through a :class:`RunView`, which can be read and not changed:
what a hook needs done to the run (every step's loss read back before a checkpoint) it asks for with
:meth:`Hook.wants_losses`, and the loop does it.

- :class:`ProgressBar`: one tqdm bar for the run (a widget in Jupyter, text in a terminal);
- :class:`Report`: a function given the history each time losses are read back, and at the end (the
  notebooks' live loss curve);
- :class:`Checkpoints`: the run saved every N steps, and when it is interrupted between two steps.

:func:`interrupts` turns Ctrl-C and SIGTERM into a flag the loop checks between steps.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

from backends.common.errors import W2VError
from backends.common.signals import handling
from backends.training import checkpoint

if TYPE_CHECKING:
    from backends.common.settings import Settings
    from backends.training.history import History
    from backends.training.state import TrainerState

Event = Literal["on_start", "on_epoch", "on_losses", "on_step", "on_interrupt", "on_end"]


class RunView(Protocol):
    """What a hook may read of a run (:class:`backends.training.loop.Run` gives one): nothing here changes it."""

    @property
    def name(self) -> str:
        """The framework's name."""

    @property
    def settings(self) -> Settings: ...

    @property
    def history(self) -> History:
        """The run's record so far: every step whose loss was read back from the device."""

    @property
    def epoch(self) -> int:
        """The epoch the next step belongs to, from 0."""

    @property
    def steps_taken(self) -> int:
        """Steps taken so far, resumed ones and those whose losses are still on the device included."""

    def epoch_loss(self) -> float:
        """The mean loss of the current epoch's steps read back so far."""

    def state(self) -> TrainerState:
        """The trainer's state (its weights and optimizer), as a checkpoint keeps it."""

    def record(self) -> dict:
        """Where the run stands, as a checkpoint keeps it beside the trainer's state."""


class Hook:
    """Called by the loop; every method does nothing unless a hook has something to do then."""

    def on_start(self, run: RunView) -> None:
        """Before the first step (of this process: a resumed run starts where it stood)."""

    def on_epoch(self, run: RunView) -> None:
        """Before the first step of each epoch."""

    def on_losses(self, run: RunView) -> None:
        """After losses were read back from the device (every ``sync_every`` steps, and where a hook wants them)."""

    def on_step(self, run: RunView) -> None:
        """After every step."""

    def on_interrupt(self, run: RunView) -> None:
        """After Ctrl-C was acted on between two steps: the trainer's state is whole, every loss read back."""

    def on_end(self, run: RunView) -> None:
        """After the run ended, by its budget or by Ctrl-C: the history is complete."""

    def wants_losses(self, run: RunView) -> bool:
        """Whether the step just taken must have its loss read back before :meth:`on_step` is called."""
        return False

    def close(self) -> None:
        """Release what the hook holds, however the run ended (a diverged run too)."""


class Hooks:
    """The hooks of one run, called together in the order given: the loop's one way to reach them."""

    def __init__(self, hooks: Iterable[Hook] = ()) -> None:
        self.hooks = tuple(hooks)

    def emit(self, event: Event, run: RunView) -> None:
        for hook in self.hooks:
            getattr(hook, event)(run)

    def want_losses(self, run: RunView) -> bool:
        return any(hook.wants_losses(run) for hook in self.hooks)

    def close(self) -> None:
        """Close every hook, each even if closing another failed (the first failure is then raised)."""
        with contextlib.ExitStack() as stack:
            for hook in reversed(self.hooks):  # the stack closes the last pushed first: these close in order
                stack.callback(hook.close)


class ProgressBar(Hook):
    """One progress bar for the whole run: the epoch, the steps and the loss of the epoch so far."""

    def __init__(self) -> None:
        self.bar: Any = None  # a tqdm bar while the run goes

    def on_start(self, run: RunView) -> None:
        from tqdm.auto import tqdm  # a widget in Jupyter, text in a terminal: chosen when the bar is made

        self.bar = tqdm(
            total=run.history.planned_steps - run.steps_taken, desc=run.name, unit="batch", leave=True, mininterval=0.5
        )

    def on_epoch(self, run: RunView) -> None:
        self.bar.set_description(f"{run.name} epoch {run.epoch + 1}/{run.settings.epochs}", refresh=False)

    def on_losses(self, run: RunView) -> None:
        self.bar.set_postfix(loss=f"{run.epoch_loss():.4f}", refresh=False)

    def on_step(self, run: RunView) -> None:
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class Report(Hook):
    """Calls ``function(history)`` each time losses are read back, and once when the run has ended."""

    def __init__(self, function: Callable[[History], Any]) -> None:
        self.function = function

    def on_losses(self, run: RunView) -> None:
        self.function(run.history)

    def on_end(self, run: RunView) -> None:
        self.function(run.history)


class Checkpoints(Hook):
    """Saves the run to ``path`` every ``every`` steps, and when Ctrl-C stops it between two steps."""

    def __init__(self, path: str | Path, every: int) -> None:
        self.path, self.every = Path(path), every

    def _due(self, run: RunView) -> bool:
        return run.steps_taken % self.every == 0

    def wants_losses(self, run: RunView) -> bool:
        return self._due(run)  # a checkpoint holds every step's loss

    def on_step(self, run: RunView) -> None:
        if self._due(run):
            self.save(run)

    def on_interrupt(self, run: RunView) -> None:
        try:
            self.save(run)
        except W2VError as error:  # a full disk, say: the run's history and vectors may still fit, so go on
            print(
                f"warning: the checkpoint at the interrupt could not be saved, so the last one saved is the one to "
                f"resume from. {error}",
                file=sys.stderr,
            )

    def save(self, run: RunView) -> None:
        checkpoint.save(self.path, run.state(), run.record())


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
