"""Small helpers that make the notebooks read well: showing a backend's code, printing losses and what they are
means over, the step budget."""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from backends.common.book import BOOK_LOSS
from backends.common.errors import W2VError
from backends.common.settings import DEFAULTS, Settings
from backends.training.history import History

BUDGET = "W2V_MAX_STEPS"  # set by `make test` so that every notebook trains a short budget of steps
# The student notebooks' class budget: 2 of the chapter's 5 epochs of 670 steps, so that a whole student notebook
# runs in about two minutes on a laptop's CPU (docs/teaching.md: the times measured, and what it shows).
CLASS_STEPS = 1_340


def show_source(obj: Any):
    """Display the source of a function or class with syntax highlighting (plain text outside Jupyter)."""
    from IPython.display import Code

    class Source(Code):
        def _repr_latex_(self) -> None:  # HTML and plain text are enough: a LaTeX copy only fills the notebook
            return None

    return Source(inspect.getsource(obj), language="python")


def format_losses(losses: Sequence[float]) -> str:
    """Losses to four decimals, the same text whatever framework computed them."""
    return " ".join(f"{float(x):.4f}" for x in losses)


def max_steps() -> int | None:
    """The notebook's step budget: None (the full run) unless the environment variable W2V_MAX_STEPS sets one."""
    value = os.environ.get(BUDGET, "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise W2VError(f"{BUDGET}={value!r} is not a number of steps; set a positive whole number, or unset it.")
    return int(value)


def loss_summary(history: History) -> str:
    """The run's mean loss, saying what it is the mean over, and the book's beside it where the run is the book's.

    The book prints the mean over every example of all its epochs (its ``Accumulator`` is made once, before the
    epoch loop). Every epoch of the chapter's draw trains the same centers, so the mean of the epochs' means is
    that same number; with a redraw each epoch the epochs differ a little in size, so it is said as what it is.
    A run that stopped short (a step budget, Ctrl-C) gets the mean of the steps it trained, named as such.
    """
    settings = Settings.from_dict(history.settings)
    if history.steps < history.steps_per_epoch * settings.epochs or not history.epoch_losses:
        epoch = history.steps // max(history.steps_per_epoch, 1) + 1
        epochs = f"{history.steps / max(history.steps_per_epoch, 1):.1f}".removesuffix(".0")  # 2, not 2.0
        where = f"part of epoch 1 of {settings.epochs}" if epoch == 1 else f"{epochs} of {settings.epochs} epochs"
        mean = float(np.mean(history.step_losses)) if history.step_losses else float("nan")
        return (
            f"mean loss of the {history.steps:,} steps trained ({where}, each step's loss weighing alike): {mean:.4f}"
        )
    over = (
        f"over all {settings.epochs} epochs"
        if not settings.resample_each_epoch
        else f"of the {settings.epochs} epochs' means"
    )
    line = f"mean loss {over} {float(np.mean(history.epoch_losses)):.4f}, of the last epoch {history.loss:.4f}"
    if settings.replace(seed=DEFAULTS.seed, device=DEFAULTS.device, data=DEFAULTS.data) == DEFAULTS:
        line += f" (the book prints {BOOK_LOSS:.3f}, its mean over all {settings.epochs} epochs too)"
    return line


def epoch_halves(history: History, edge: float = 0.05) -> str:
    """A table of each epoch's mean loss in its first and second half, and of the change at its start: the mean
    of the last ``edge`` of the epoch before against the first ``edge`` of this one (single steps are noisy)."""
    per_epoch, losses = history.steps_per_epoch, np.asarray(history.step_losses, dtype=np.float64)
    if per_epoch < 2 or len(losses) < per_epoch:
        return f"no complete epoch to split in halves ({len(losses):,} steps trained, {per_epoch:,} in an epoch)"
    edge_steps = max(1, round(per_epoch * edge))
    lines = [
        f"epoch  steps           first half  second half  change | at its start: the last {edge_steps} steps "
        f"before against its first {edge_steps}"
    ]
    for epoch in range(len(losses) // per_epoch):
        start, middle, end = epoch * per_epoch, epoch * per_epoch + per_epoch // 2, (epoch + 1) * per_epoch
        first, second = losses[start:middle].mean(), losses[middle:end].mean()
        line = f"{epoch + 1:5}  {start + 1:>5,} to {end:<5,}  {first:10.4f}  {second:11.4f}  {second - first:+.4f}"
        if epoch:
            before, after = losses[start - edge_steps : start].mean(), losses[start : start + edge_steps].mean()
            line += f" | {before:.4f} → {after:.4f} ({after - before:+.4f})"
        lines.append(line)
    return "\n".join(lines)
