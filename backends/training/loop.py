"""The training loop, written once for every framework.

A backend supplies a ``Trainer`` whose ``step(batch)`` runs one optimisation step on its framework and
returns that batch's summed loss as a framework scalar, left on its device. Everything around the step lives
here: the shared seeded initial weights, the epochs over the shared batches, timing, the history and the
divergence guard; progress, checkpoints and interruption are hooks (:mod:`backends.training.hooks`). A fix to the
loop is then one fix, and the frameworks cannot drift apart.

The objective of a step is the *sum* over the batch of each example's masked loss, as in the chapter's
PyTorch code (``l.sum().backward()``); the losses recorded and shown are per-example means.

Losses are read back from the device every ``sync_every`` steps, not after each step, so that a GPU
never waits for the host between steps.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from backends.common.errors import W2VError
from backends.common.frameworks import REGISTRY
from backends.common.resources import check_memory
from backends.common.settings import DATA, Settings
from backends.pipeline.dataset import Dataset
from backends.pipeline.models import Batch
from backends.training import checkpoint
from backends.training.history import History, TrainingDiverged, package_versions
from backends.training.hooks import Checkpoints, Hook, Hooks, ProgressBar, Report, StopAfterStep, interrupts
from backends.training.state import TrainerState
from backends.training.weights import initial_weights, memory_needed


def fit(
    backend: ModuleType,
    data: Dataset,
    settings: Settings | None = None,
    *,
    progress: bool | Callable[[History], Any] = True,
    sync_every: int = 20,
    checkpoint: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str | Path = False,
    resume_finished: bool = False,
    **changes: Any,
) -> History:
    """Train ``backend``'s model on ``data`` and return its :class:`History`.

    ``settings`` default to the data's; ``changes`` are training settings (``epochs=1, max_steps=200``, ...).
    ``progress`` True shows one progress bar for the run, False nothing; a function is called instead with
    the history so far each time losses are read back, and once at the end (the notebooks pass
    :class:`backends.display.plotting.LiveLossPlot`, a loss curve redrawn in place). With ``checkpoint`` and
    ``checkpoint_every``, the run is saved there every that many steps (and when interrupted); ``resume``
    continues from that file (or from the file it names), ending exactly as an uninterrupted run would; a
    checkpoint taken at the run's last step is refused as finished, unless ``resume_finished`` (the run was
    stopped after its last step, before its outputs were written), which returns its history with no step trained.
    Ctrl-C (or SIGTERM) stops after the current step and returns what was trained so far; a second one stops
    at once.
    """
    settings = settings_for(data, settings, changes)
    if checkpoint_every is not None and (checkpoint_every < 1 or checkpoint is None):
        raise W2VError(f"checkpoint every {checkpoint_every} steps needs a positive number and a checkpoint file.")
    if resume is True and checkpoint is None:
        raise W2VError("resuming needs the checkpoint file to resume from.")
    resume_from = checkpoint if resume is True else resume or None
    chosen: list[Hook] = [ProgressBar()] if progress is True else [Report(progress)] if callable(progress) else []
    if checkpoint_every and checkpoint is not None:  # checked above: one comes with the other
        chosen.append(Checkpoints(checkpoint, checkpoint_every))
    hooks = Hooks(chosen)
    run = Run(backend, data, settings, sync_every, resume_from=resume_from, resume_finished=resume_finished)
    try:
        with interrupts() as interrupted:
            try:
                run.train(hooks, interrupted)
            except StopAfterStep:  # between two steps: the state is whole, so it can be saved
                run.read_back()
                hooks.emit("on_interrupt", run.view)
                run.stop("interrupted")
            except KeyboardInterrupt:  # mid-step: the last checkpoint stays the one to resume from
                run.read_back()
                run.stop("interrupted")
        run.finish()
        hooks.emit("on_end", run.view)
    finally:
        hooks.close()
    return run.history


def bind(backend: ModuleType) -> Callable[..., History]:
    """:func:`fit` with ``backend`` filled in: each backend module's ``train(data, settings=None, **options)``."""

    def train(data: Dataset, settings: Settings | None = None, **options: Any) -> History:
        return fit(backend, data, settings, **options)

    train.__doc__ = f"Train {backend.NAME}'s model on ``data`` with the shared loop; see backends.training.loop.fit."
    return train


def settings_for(data: Dataset, settings: Settings | None, changes: dict[str, Any]) -> Settings:
    """A run's settings: ``settings`` (else the data's) with ``changes``, whose data settings must be the data's."""
    settings = (settings or data.settings).replace(**changes)
    drawn = data.settings.group(DATA)
    differ = [name for name, value in drawn.items() if getattr(settings, name) != value]
    if differ:
        asked = ", ".join(f"{name}={getattr(settings, name)!r}" for name in differ)
        differ = [f"{name} {drawn[name]!r}" for name in differ]
        raise W2VError(
            f"the data was drawn with {', '.join(differ)}, and these settings shape the batches: draw "
            f"the data with them instead (load_data({asked}))."
        )
    return settings


@dataclass
class Position:
    """Where a run stands: its next step is batch ``batch`` of epoch ``epoch``; the epoch's losses so far."""

    epoch: int = 0
    batch: int = 0
    epoch_sum: float = 0.0  # summed per-example losses of the epoch's steps read back so far
    epoch_centers: float = 0.0  # and how many examples they were

    def epoch_loss(self) -> float:
        return self.epoch_sum / max(self.epoch_centers, 1)


class PendingLosses:
    """The loss handles of steps not yet read back from the device, with their batches' real sizes."""

    def __init__(self) -> None:
        self.handles: list[Any] = []
        self.sizes: list[int] = []

    def __len__(self) -> int:
        return len(self.handles)

    def add(self, handle: Any, size: int) -> None:
        self.handles.append(handle)
        self.sizes.append(size)

    def take(self, losses_to_numpy: Callable[[list], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The pending summed losses and sizes as float64 arrays, read back in one transfer; none are left."""
        sums = np.asarray(losses_to_numpy(self.handles), dtype=np.float64)
        sizes = np.asarray(self.sizes, dtype=np.float64)
        self.handles, self.sizes = [], []
        return sums, sizes


class Clock:
    """Wall and CPU time of a run; speed counts the steps after the first, which pays for compilation."""

    def __init__(self, centers: int) -> None:
        self.start, self.start_cpu = time.perf_counter(), time.process_time()
        self.warm: tuple[float, float, int] | None = None  # (wall, cpu, centers) after the first step
        self.centers_before = centers  # trained in an earlier process (a resumed run)

    def warm_up(self, centers: int) -> None:
        self.warm = (time.perf_counter(), time.process_time(), centers)

    def rates(self, centers: int) -> tuple[float, float, float]:
        """``(seconds, centers_per_sec, cores_busy)`` of the run so far."""
        end, cpu = time.perf_counter(), time.process_time()
        seconds = end - self.start
        wall, start_cpu, warm_centers = self.warm or (self.start, self.start_cpu, self.centers_before)
        timed_centers, timed_seconds, timed_cpu = centers - warm_centers, end - wall, cpu - start_cpu
        if centers <= self.centers_before:  # resumed with no step left to train: nothing was timed
            return seconds, float("nan"), float("nan")
        if timed_centers <= 0 or timed_seconds <= 0:  # a single step: nothing left to time after warm-up
            timed_centers, timed_seconds, timed_cpu = centers, seconds, cpu - self.start_cpu
        return seconds, timed_centers / max(timed_seconds, 1e-12), timed_cpu / max(timed_seconds, 1e-12)


class Run:
    """One training run: the trainer, its history and position, and the steps through the epochs."""

    def __init__(
        self,
        backend: ModuleType,
        data: Dataset,
        settings: Settings,
        sync_every: int,
        resume_from: str | Path | None = None,
        resume_finished: bool = False,
    ) -> None:
        check_memory(
            memory_needed(len(data.vocab), settings, data.width),
            f"training with embedding size {settings.embed_size} and batch size {settings.batch_size}",
            "lower the embedding size (--embed-size) or the batch size (--batch-size).",
        )
        self.backend, self.data, self.settings, self.sync_every = backend, data, settings, sync_every
        center, context = initial_weights(len(data.vocab), settings.embed_size, settings.seed)
        context = context[: data.output_rows]  # hierarchical softmax's inner nodes: the first V - 1 of the draw
        trainer = backend.LazyTrainer if settings.optimizer == "lazy_adam" else backend.Trainer
        self.trainer = trainer(center, context, lr=settings.lr, device=settings.device)
        self.history = _new_history(backend.NAME, self.trainer.device_name, data, settings)
        self.position = Position()
        self.pending = PendingLosses()
        if resume_from is not None:
            _resume(self, resume_from, resume_finished)
        self.clock = Clock(self.history.centers)
        self.view = View(self)

    @property
    def steps_taken(self) -> int:
        """Steps taken so far, resumed ones and those whose losses are still on the device included."""
        return self.history.steps + len(self.pending)

    @property
    def budget_spent(self) -> bool:
        return self.settings.max_steps is not None and self.steps_taken >= self.settings.max_steps

    def train(self, hooks: Hooks, interrupted: Callable[[], bool]) -> None:
        """Step through the epochs until every epoch ran or ``max_steps`` steps did; the hooks are called as
        :class:`backends.training.hooks.Hook` says."""
        hooks.emit("on_start", self.view)
        while self.position.epoch < self.settings.epochs and not self.budget_spent:
            hooks.emit("on_epoch", self.view)
            complete = self._epoch(hooks, interrupted)
            self._sync(hooks)
            if complete:
                self.history.epoch_losses.append(self.position.epoch_loss())
                self.position = Position(self.position.epoch + 1)
        self._close_partial_epoch()  # stopped by max_steps inside an epoch

    def _epoch(self, hooks: Hooks, interrupted: Callable[[], bool]) -> bool:
        """The rest of the current epoch, or as much of it as the budget allows; whether it ran to its end."""
        for batch in self.data.batches(self.settings.batch_size, epoch=self.position.epoch, start=self.position.batch):
            if self.budget_spent:
                return False
            self._step(batch)
            if self.clock.warm is None:  # the first step pays for compilation and allocation: time the rest
                self.read_back()
                self.clock.warm_up(self.history.centers)
            if len(self.pending) >= self.sync_every or self.budget_spent or hooks.want_losses(self.view):
                self._sync(hooks)
            hooks.emit("on_step", self.view)
            if interrupted():
                raise StopAfterStep
        return True

    def _sync(self, hooks: Hooks) -> None:
        """Read the pending losses back and tell the hooks, if there were any."""
        if self.read_back():
            hooks.emit("on_losses", self.view)

    def _step(self, batch: Batch) -> None:
        self.pending.add(self.trainer.step(batch), batch.size)
        self.history.centers += batch.size
        self.position.batch += 1

    def read_back(self) -> bool:
        """Read the pending losses back from the device (whether there were any); stop on a NaN or inf."""
        if not self.pending:
            return False
        sums, sizes = self.pending.take(self.backend.losses_to_numpy)
        means = sums / sizes
        bad = np.flatnonzero(~np.isfinite(means))
        if bad.size:
            self.history.step_losses.extend(means[: bad[0]].tolist())
            self.history.embeddings = self.trainer.embeddings()
            self.history.stopped = "diverged"
            raise TrainingDiverged.at(float(means[bad[0]]), self.history, self.settings.lr)
        self.history.step_losses.extend(means.tolist())
        self.position.epoch_sum += float(sums.sum())
        self.position.epoch_centers += float(sizes.sum())
        return True

    def stop(self, reason: str) -> None:
        """Wind down after Ctrl-C or SIGTERM: the partial epoch's mean is the last loss."""
        self._close_partial_epoch()
        self.history.stopped = reason

    def _close_partial_epoch(self) -> None:
        """An epoch cut short still counts: its steps' mean loss is the run's last loss."""
        if self.position.epoch_centers:
            self.history.epoch_losses.append(self.position.epoch_sum / self.position.epoch_centers)

    def finish(self) -> None:
        """Speed and vectors into the history: the run is over."""
        history = self.history
        history.seconds, history.centers_per_sec, history.cores_busy = self.clock.rates(history.centers)
        history.embeddings = self.trainer.embeddings()


def _new_history(name: str, device: str, data: Dataset, settings: Settings) -> History:
    """The empty record of a run of framework ``name`` on ``device``: its settings, plan, words and versions."""
    per_epoch = data.num_batches(settings.batch_size)
    planned = per_epoch * settings.epochs
    return History(
        name,
        device,
        {**settings.to_dict(), **data.corpus.facts()},
        planned_steps=min(planned, settings.max_steps or planned),
        steps_per_epoch=per_epoch,
        words=data.vocab.tokens,
        versions=package_versions(("numpy", *_modules(name))),
    )


def _resume(run: Run, path: str | Path, resume_finished: bool) -> None:
    """Put ``run`` where the checkpoint at ``path`` stood: the trainer's state, the losses and the position. A
    finished run is refused unless ``resume_finished``, as is one with more steps than the budget."""
    settings = run.settings

    def batches_in_epoch(epoch: int) -> int:  # the batch saved must lie in its epoch
        return run.data.num_batches(settings.batch_size, epoch)

    arrays, saved = checkpoint.load(path, run.history.settings, batches_in_epoch)
    if settings.max_steps is not None and len(saved["step_losses"]) > settings.max_steps:
        raise W2VError(
            f"the checkpoint {path} holds {len(saved['step_losses']):,} steps, more than max steps "
            f"{settings.max_steps}: resume with --max-steps {len(saved['step_losses'])} or more."
        )
    run.backend.load_state(run.trainer, TrainerState.from_arrays(arrays))
    run.history.step_losses, run.history.epoch_losses = saved["step_losses"], saved["epoch_losses"]
    run.history.centers = saved["centers"]
    run.position = Position(**{item.name: saved[item.name] for item in dataclasses.fields(Position)})
    finished = run.position.epoch >= settings.epochs or run.budget_spent
    if finished and not resume_finished:
        raise W2VError(
            f"the checkpoint {path} holds a finished run: its {run.history.steps:,} steps are "
            f"all that {settings.epochs} epochs (--epochs) and max steps {settings.max_steps} "
            f"(--max-steps) ask for, so there is nothing to resume. Raise --epochs or --max-steps "
            f"to train it longer."
        )


class View:
    """A run as its hooks see it (:class:`backends.training.hooks.RunView`): read, never changed."""

    def __init__(self, run: Run) -> None:
        self._run = run

    @property
    def name(self) -> str:
        return self._run.backend.NAME

    @property
    def settings(self) -> Settings:
        return self._run.settings

    @property
    def history(self) -> History:
        return self._run.history

    @property
    def epoch(self) -> int:
        return self._run.position.epoch

    @property
    def steps_taken(self) -> int:
        return self._run.steps_taken

    def epoch_loss(self) -> float:
        return self._run.position.epoch_loss()

    def state(self) -> TrainerState:
        return self._run.backend.state(self._run.trainer)

    def record(self) -> dict:
        history = self._run.history
        return {
            "settings": history.settings,
            **dataclasses.asdict(self._run.position),
            "centers": history.centers,
            "step_losses": history.step_losses,
            "epoch_losses": history.epoch_losses,
        }


def _modules(name: str) -> tuple[str, ...]:
    """The packages whose versions a run of framework ``name`` records (none for a test's fake backend)."""
    return REGISTRY[name].modules if name in REGISTRY else ()
