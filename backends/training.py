"""The training loop, written once for every framework.

A backend supplies a ``Trainer`` whose ``step(batch)`` runs one optimisation step on its framework and
returns that batch's summed loss as a framework scalar, left on its device, and whose ``state()`` /
``load_state()`` move its tables and Adam moments in and out as NumPy arrays. Everything around the
step lives here: the shared seeded initial weights, the epochs over the shared batches, progress
bars, timing, the history, the divergence guard, checkpoints and Ctrl-C handling. A fix to the loop
is then one fix, and the frameworks cannot drift apart.

The objective of a step is the *sum* over the batch of each example's masked loss, as in the chapter's
PyTorch code (``l.sum().backward()``); the losses recorded and shown are per-example means.

Losses are read back from the device every ``sync_every`` steps, not after each step, so that a GPU
never waits for the host between steps.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import signal
import threading
import time
from importlib import metadata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import numpy as np

from backends.checkpoint import load as load_checkpoint
from backends.checkpoint import save as save_checkpoint
from backends.errors import W2VError
from backends.frameworks import REGISTRY
from backends.ptb import STREAM_INIT, Word2VecData, rng_for
from backends.resources import check_memory

DEVICE_REQUESTS = ("auto", "cpu", "gpu")
ADAM_EPSILON, ADAM_BETA2 = 1e-8, 0.999


def package_versions(names) -> dict[str, str | None]:
    """The installed version of each distribution in ``names`` (None where it is not installed)."""
    versions = {}
    for name in dict.fromkeys(names):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def adam_epsilon_hat(step):
    """The epsilon that makes MXNet's and Keras' Adam take exactly PyTorch's (and optax's) step.

    PyTorch and optax add epsilon to the bias-corrected root sqrt(v / (1 - beta2^t)); MXNet and Keras
    fold the bias corrections into the learning rate and add epsilon to the raw sqrt(v). The two agree
    when the latter uses epsilon * sqrt(1 - beta2^t) at step t (counting from 1). Without this, rows
    with tiny gradients (rare words) move differently, visibly so in the trained vectors. ``step`` may
    be a number or a framework tensor.
    """
    return ADAM_EPSILON * (1 - ADAM_BETA2**step) ** 0.5


def memory_needed(vocab_size: int, config: TrainConfig, width: int) -> int:
    """Bytes a training run holds at most, about: the initial draw (float64, then float32), the two tables with
    their gradients and Adam's two moments, and a batch's gathered vectors, their gradients and a product."""
    table = vocab_size * config.embed_size
    return 2 * table * (8 + 4) + 2 * table * 4 * 4 + config.batch_size * width * (3 * 4 * config.embed_size + 16)


def initial_weights(vocab_size: int, embed_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Xavier-uniform center and context tables as float32, one seeded draw shared by all frameworks.

    Each table is a (vocab_size, embed_size) matrix with entries uniform in ±sqrt(6 / (vocab_size +
    embed_size)), the bound PyTorch's ``xavier_uniform_`` uses; drawing it here rather than with each
    framework's initializer is what makes the four runs start from the same numbers.
    """
    bound = math.sqrt(6.0 / (vocab_size + embed_size))
    tables = rng_for(seed, STREAM_INIT).uniform(-bound, bound, size=(2, vocab_size, embed_size))
    center, context = tables.astype(np.float32)
    return center, context


def forward(backend: ModuleType, embed_center, embed_context, arrays: dict):
    """A batch's scores, (B, 1, W), with ``backend``'s skip_gram or cbow, chosen by the batch's arrays.

    ``arrays`` holds a batch's arrays (``Batch.arrays()`` or ``CbowBatch.arrays()``) as the
    backend's tensors. The first table embeds the model's input words (the center in skip-gram, the
    contexts in CBOW), the second its output words (contexts and noise, or center and noise).
    """
    if "centers" in arrays:
        return backend.skip_gram(arrays["centers"], arrays["contexts_negatives"], embed_center, embed_context)
    return backend.cbow(arrays["contexts"], arrays["context_mask"], arrays["targets"], embed_center, embed_context)


def choose_device(request: str, framework: str, gpu_found: bool, why_not: str = "") -> str:
    """'gpu' or 'cpu' for a ``--device`` request of auto, cpu or gpu; a GPU asked for but absent is an error."""
    if request not in DEVICE_REQUESTS:
        raise W2VError(f"unknown device {request!r}; choose one of {', '.join(DEVICE_REQUESTS)}.")
    if request == "cpu" or (request == "auto" and not gpu_found):
        return "cpu"
    if not gpu_found:
        raise W2VError(
            f"a GPU was asked for, but {framework} sees none{f' ({why_not})' if why_not else ''}. "
            f"Use --device cpu (or auto, which falls back to the CPU)."
        )
    return "gpu"


@dataclass
class TrainConfig:
    """The chapter's settings; every field can be overridden from the notebook or the command line."""

    epochs: int = 5
    batch_size: int = 512
    lr: float = 0.002
    embed_size: int = 100
    seed: int = 0
    device: str = "auto"
    max_steps: int | None = None

    def __post_init__(self) -> None:
        checks = [
            ("epochs", self.epochs, self.epochs >= 1, "at least 1"),
            ("batch size", self.batch_size, self.batch_size >= 1, "at least 1"),
            ("learning rate", self.lr, math.isfinite(self.lr) and 0 < self.lr <= 10, "in (0, 10]"),
            ("embedding size", self.embed_size, self.embed_size >= 1, "at least 1"),
            ("seed", self.seed, self.seed >= 0, "0 or more"),
            ("max steps", self.max_steps, self.max_steps is None or self.max_steps >= 1, "at least 1"),
        ]
        for name, value, ok, expected in checks:
            if not ok:
                raise W2VError(f"{name} {value} is out of range: it must be {expected}.")


@dataclass
class History:
    """What a training run produced: losses, speed and the device, plus the trained center embeddings."""

    framework: str
    device: str
    config: dict
    step_losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    centers: int = 0
    seconds: float = 0.0
    centers_per_sec: float = 0.0
    planned_steps: int = 0  # the run's budget: every epoch's batches, or max_steps if fewer
    steps_per_epoch: int = 0
    cores_busy: float = 0.0  # this process's CPU time over the wall time of the timed steps: threads at work
    stopped: str | None = None  # None when every planned step ran, else why not
    versions: dict = field(default_factory=dict)  # of NumPy and the framework's packages: runs compare across releases
    words: tuple[str, ...] = field(default=(), repr=False)
    embeddings: np.ndarray | None = field(default=None, repr=False)

    @property
    def steps(self) -> int:
        return len(self.step_losses)

    @property
    def loss(self) -> float:
        """The mean per-example loss over the last epoch run (a partial one when stopped early)."""
        return self.epoch_losses[-1] if self.epoch_losses else float("nan")

    def to_dict(self) -> dict:
        """JSON-ready: everything except the embedding matrix and the word list."""
        record = {k: v for k, v in asdict(self).items() if k not in ("words", "embeddings")}
        return {**record, "steps": self.steps, "loss": self.loss}


class TrainingDiverged(W2VError):
    """The loss became NaN or infinite; ``history`` holds the run up to the last finite step."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history


def fit(
    backend: ModuleType,
    data: Word2VecData,
    config: TrainConfig | None = None,
    *,
    progress: bool | Callable[[History], Any] = True,
    sync_every: int = 20,
    checkpoint: str | Path | None = None,
    checkpoint_every: int | None = None,
    resume: bool = False,
    **overrides: Any,
) -> History:
    """Train ``backend``'s model on ``data`` and return its :class:`History`.

    ``overrides`` are :class:`TrainConfig` fields (``epochs=1, max_steps=200``, ...). ``progress`` True
    shows one progress bar for the run (a widget in Jupyter, text in a terminal), False nothing; a function
    is called instead with the history so far each time losses are read back, and once at the end (the
    notebooks pass :class:`backends.plotting.LiveLossPlot`, a loss curve redrawn in place).
    With ``checkpoint`` and ``checkpoint_every``, the run is saved there every that many steps (and when
    interrupted); ``resume`` continues from that file, ending exactly as an uninterrupted run would.
    Ctrl-C stops after the current step and returns what was trained so far; a second Ctrl-C stops at once.
    """
    config = TrainConfig(**{**asdict(config or TrainConfig()), **overrides})
    if checkpoint_every is not None and (checkpoint_every < 1 or checkpoint is None):
        raise W2VError(f"checkpoint every {checkpoint_every} steps needs a positive number and a checkpoint file.")
    run = _Run(backend, data, config, sync_every, progress if callable(progress) else None)
    if resume:
        if checkpoint is None:
            raise W2VError("resuming needs the checkpoint file to resume from.")
        run.restore(checkpoint)
    keep = checkpoint if checkpoint_every else None
    with _interrupts_between_steps() as interrupted:
        try:
            run.train(progress is True, interrupted, keep, checkpoint_every)
        except _StopAfterStep:
            run.stop("interrupted", keep)  # between two steps: the state is whole, so it can be saved
        except KeyboardInterrupt:
            run.stop("interrupted", None)  # mid-step: the last checkpoint stays the one to resume from
    return run.finish()


class _StopAfterStep(KeyboardInterrupt):
    """Ctrl-C, acted on between two steps."""


class _Run:
    """One training run's moving parts: the trainer, the history, and where in the epochs it stands."""

    def __init__(self, backend: ModuleType, data: Word2VecData, config: TrainConfig, sync_every: int, show):
        self.backend, self.data, self.config, self.sync_every, self.show = backend, data, config, sync_every, show
        check_memory(memory_needed(len(data.vocab), config, data.width),
                     f"training with embedding size {config.embed_size} and batch size {config.batch_size}",
                     "lower the embedding size (--embed-size) or the batch size (--batch-size).")
        center, context = initial_weights(len(data.vocab), config.embed_size, config.seed)
        self.trainer = backend.Trainer(center, context, lr=config.lr, device=config.device)
        settings = {**asdict(config), **data.settings()}
        self.history = History(backend.NAME, self.trainer.device_name, settings, words=data.vocab.tokens,
                               versions=package_versions(("numpy", *getattr(REGISTRY.get(backend.NAME), "modules", ()))))
        self.per_epoch = data.num_batches(config.batch_size)
        self.budget = min(self.per_epoch * config.epochs, config.max_steps or self.per_epoch * config.epochs)
        self.history.planned_steps, self.history.steps_per_epoch = self.budget, self.per_epoch
        self.pending: list[Any] = []  # loss handles not yet read back from the device
        self.sizes: list[int] = []
        self.epoch, self.batch = 0, 0  # the next step is batch `batch` of epoch `epoch`
        self.epoch_sum = self.epoch_centers = 0.0
        self.steps_run = 0  # steps taken, resumed ones included
        self.start = self.warm_time = time.perf_counter()
        self.start_cpu = self.warm_cpu = time.process_time()
        self.warm_centers, self.warmed_up = 0, False
        self.bar = None

    def restore(self, path) -> None:
        state, position = load_checkpoint(path, self.history.config)
        self.trainer.load_state(state)
        history = self.history
        history.step_losses, history.epoch_losses = position["step_losses"], position["epoch_losses"]
        history.centers = position["centers"]
        self.epoch, self.batch = position["epoch"], position["batch"]
        self.epoch_sum, self.epoch_centers = position["epoch_sum"], position["epoch_centers"]
        self.steps_run, self.warm_centers = history.steps, history.centers

    def save(self, path) -> None:
        self.read_back()
        save_checkpoint(path, self.trainer.state(), {
            "config": self.history.config, "epoch": self.epoch, "batch": self.batch, "epoch_sum": self.epoch_sum,
            "epoch_centers": self.epoch_centers, "centers": self.history.centers,
            "step_losses": self.history.step_losses, "epoch_losses": self.history.epoch_losses,
        })

    def read_back(self) -> None:
        """Read the pending losses back from the device; stop the run if one is NaN or infinite."""
        if not self.pending:
            return
        sums = np.asarray(self.backend.losses_to_numpy(self.pending), dtype=np.float64)
        means = sums / np.asarray(self.sizes, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(means))
        if bad.size:
            good = self.history.steps + int(bad[0])
            self.history.step_losses.extend(means[: bad[0]].tolist())
            self.history.embeddings = self.trainer.embeddings()
            self.history.stopped = "diverged"
            raise TrainingDiverged(
                f"the {self.backend.NAME} loss became {means[bad[0]]} at step {good + 1}; training stopped and "
                f"the {good} steps before it are kept. Lower the learning rate (--lr, now {self.config.lr}) "
                f"or check the input data.",
                self.history,
            )
        self.history.step_losses.extend(means.tolist())
        self.epoch_sum += float(sums.sum())
        self.epoch_centers += float(sum(self.sizes))
        self.pending.clear()
        self.sizes.clear()

    def train(self, bar: bool, interrupted: Callable[[], bool], checkpoint, checkpoint_every) -> None:
        config = self.config
        self.bar = _progress_bar(bar, self.budget - self.steps_run, self.backend.NAME)
        while self.epoch < config.epochs and self.steps_run < self.budget:
            todo = min(self.per_epoch - self.batch, self.budget - self.steps_run)
            if self.bar is not None:
                self.bar.set_description(f"{self.backend.NAME} epoch {self.epoch + 1}/{config.epochs}", refresh=False)
            batches = itertools.islice(self.data.batches(config.batch_size, epoch=self.epoch), self.batch, None)
            for batch in itertools.islice(batches, todo):
                self.pending.append(self.trainer.step(batch))
                self.sizes.append(batch.size)
                self.history.centers += batch.size
                self.steps_run += 1
                self.batch += 1
                if not self.warmed_up:  # the first step pays for compilation and allocation: time the rest
                    self.read_back()
                    self.warm_centers, self.warm_time, self.warmed_up = self.history.centers, time.perf_counter(), True
                    self.warm_cpu = time.process_time()
                if len(self.pending) >= self.sync_every or self.steps_run == self.budget:
                    self.read_back()
                    if self.bar is not None:
                        self.bar.set_postfix(loss=f"{self.epoch_sum / max(self.epoch_centers, 1):.4f}", refresh=False)
                    if self.show is not None:
                        self.show(self.history)
                if self.bar is not None:
                    self.bar.update(1)
                if checkpoint_every and self.steps_run % checkpoint_every == 0:
                    self.save(checkpoint)
                if interrupted():
                    raise _StopAfterStep
            self.read_back()
            if self.batch == self.per_epoch:  # the epoch is complete: record it, start the next
                self.history.epoch_losses.append(self.epoch_sum / max(self.epoch_centers, 1))
                self.epoch, self.batch, self.epoch_sum, self.epoch_centers = self.epoch + 1, 0, 0.0, 0.0
        if self.epoch_centers:  # stopped by max_steps inside an epoch: its partial mean is the last loss
            self.history.epoch_losses.append(self.epoch_sum / self.epoch_centers)
        self._close_bar()

    def stop(self, reason: str, checkpoint) -> None:
        """Wind down after Ctrl-C: keep every step taken, save a checkpoint if the run keeps them."""
        self.read_back()
        if checkpoint is not None:
            self.save(checkpoint)
        if self.epoch_centers:
            self.history.epoch_losses.append(self.epoch_sum / self.epoch_centers)
        self.history.stopped = reason
        self._close_bar()

    def _close_bar(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def finish(self) -> History:
        history, end, cpu = self.history, time.perf_counter(), time.process_time()
        history.seconds = end - self.start
        timed_centers, timed_seconds, timed_cpu = history.centers - self.warm_centers, end - self.warm_time, cpu - self.warm_cpu
        if timed_centers <= 0 or timed_seconds <= 0:  # a single step: nothing left to time after warm-up
            timed_centers, timed_seconds, timed_cpu = history.centers, history.seconds, cpu - self.start_cpu
        history.centers_per_sec = timed_centers / max(timed_seconds, 1e-12)
        history.cores_busy = timed_cpu / max(timed_seconds, 1e-12)
        history.embeddings = self.trainer.embeddings()
        if self.show is not None:
            self.show(history)
        return history


@contextlib.contextmanager
def _interrupts_between_steps() -> Iterator[Callable[[], bool]]:
    """While training, the first Ctrl-C only raises a flag that the loop checks after each step, so a
    step is never cut in half (half-applied optimizer updates); a second Ctrl-C interrupts at once.
    Signal handlers belong to the main thread: elsewhere Ctrl-C keeps its usual effect."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    pressed: list[bool] = []

    def on_interrupt(signum, frame):
        if pressed:
            raise KeyboardInterrupt
        pressed.append(True)

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield lambda: bool(pressed)
    finally:
        signal.signal(signal.SIGINT, previous)


def _progress_bar(enabled: bool, total: int, description: str):
    """A tqdm bar (a widget in Jupyter, text in a terminal), or None when progress is off."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="batch", leave=True, mininterval=0.5)
