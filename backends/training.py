"""The training loop, written once for every framework.

A backend supplies a ``Trainer`` whose ``step(batch)`` runs one optimisation step on its framework and
returns that batch's summed loss as a framework scalar, left on its device. Everything around the
step lives here: the shared seeded initial weights, the epochs over the shared batches, progress
bars, timing, the history, the divergence guard and Ctrl-C handling. A fix to the loop is then one
fix, and the frameworks cannot drift apart.

The objective of a step is the *sum* over the batch of each example's masked loss, as in the chapter's
PyTorch code (``l.sum().backward()``); the losses recorded and shown are per-example means.

Losses are read back from the device every ``sync_every`` steps, not after each step, so that a GPU
never waits for the host between steps.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from types import ModuleType
from typing import Any, Callable

import numpy as np

from backends.errors import W2VError
from backends.ptb import STREAM_INIT, Word2VecData, rng_for

DEVICE_REQUESTS = ("auto", "cpu", "gpu")
ADAM_EPSILON, ADAM_BETA2 = 1e-8, 0.999


def adam_epsilon_hat(step):
    """The epsilon that makes MXNet's and Keras' Adam take exactly PyTorch's (and optax's) step.

    PyTorch and optax add epsilon to the bias-corrected root sqrt(v / (1 - beta2^t)); MXNet and Keras
    fold the bias corrections into the learning rate and add epsilon to the raw sqrt(v). The two agree
    when the latter uses epsilon * sqrt(1 - beta2^t) at step t (counting from 1). Without this, rows
    with tiny gradients (rare words) move differently, visibly so in the trained vectors. ``step`` may
    be a number or a framework tensor.
    """
    return ADAM_EPSILON * (1 - ADAM_BETA2**step) ** 0.5


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
    """A batch's scores, (B, W), with ``backend``'s skip_gram or cbow, chosen by the batch's arrays.

    ``arrays`` holds a batch's arrays (``Batch.arrays()`` or ``CbowBatch.arrays()``) as the
    backend's tensors. The first table embeds the model's input words (the center in skip-gram, the
    contexts in CBOW), the second its output words (contexts and noise, or center and noise).
    """
    if "centers" in arrays:
        scores = backend.skip_gram(arrays["centers"], arrays["contexts_negatives"], embed_center, embed_context)
    else:
        scores = backend.cbow(arrays["contexts"], arrays["context_mask"], arrays["targets"], embed_center, embed_context)
    return scores[:, 0, :]


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
    stopped: str | None = None  # None when every planned step ran, else why not
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
    progress: bool = True,
    callback: Callable[[History], Any] | None = None,
    sync_every: int = 20,
    **overrides: Any,
) -> History:
    """Train ``backend``'s model on ``data`` and return its :class:`History`.

    ``overrides`` are :class:`TrainConfig` fields (``epochs=1, max_steps=200``, ...). ``callback`` is
    called with the history so far each time losses are read back (the notebooks' live plot uses it).
    Ctrl-C stops after the current step and returns what was trained so far.
    """
    config = TrainConfig(**{**asdict(config or TrainConfig()), **overrides})
    center, context = initial_weights(len(data.vocab), config.embed_size, config.seed)
    trainer = backend.Trainer(center, context, lr=config.lr, device=config.device)
    settings = {**asdict(config), "model": data.model, "noise": data.noise, "resample_each_epoch": data.resample_each_epoch}
    history = History(backend.NAME, trainer.device_name, settings, words=data.vocab.tokens)
    total = data.num_batches(config.batch_size) * config.epochs
    budget = min(total, config.max_steps or total)

    pending: list[Any] = []  # loss handles not yet read back from the device
    sizes: list[int] = []
    epoch_sum = epoch_centers = 0.0
    warm_centers, warm_time = 0, 0.0
    start = time.perf_counter()

    def read_back() -> None:
        nonlocal epoch_sum, epoch_centers
        if not pending:
            return
        sums = np.asarray(backend.losses_to_numpy(pending), dtype=np.float64)
        means = sums / np.asarray(sizes, dtype=np.float64)
        bad = np.flatnonzero(~np.isfinite(means))
        if bad.size:
            good = history.steps + int(bad[0])
            history.step_losses.extend(means[: bad[0]].tolist())
            history.embeddings = trainer.embeddings()
            history.stopped = "diverged"
            raise TrainingDiverged(
                f"the {backend.NAME} loss became {means[bad[0]]} at step {good + 1}; training stopped and "
                f"the {good} steps before it are kept. Lower the learning rate (--lr, now {config.lr}) "
                f"or check the input data.",
                history,
            )
        history.step_losses.extend(means.tolist())
        epoch_sum += float(sums.sum())
        epoch_centers += float(sum(sizes))
        pending.clear()
        sizes.clear()

    steps_run = epoch = 0
    bar = None
    try:
        for epoch in range(config.epochs):
            if steps_run >= budget:
                break
            steps_this_epoch = min(data.num_batches(config.batch_size), budget - steps_run)
            bar = _progress_bar(progress, steps_this_epoch, f"{backend.NAME} epoch {epoch + 1}/{config.epochs}")
            epoch_sum = epoch_centers = 0.0
            for batch in data.batches(config.batch_size, epoch=epoch):
                pending.append(trainer.step(batch))
                sizes.append(batch.size)
                history.centers += batch.size
                steps_run += 1
                if steps_run == 1:  # the first step pays for compilation and allocation: time the rest
                    read_back()
                    warm_centers, warm_time = history.centers, time.perf_counter()
                if len(pending) >= sync_every or steps_run == budget:
                    read_back()
                    if bar is not None:
                        bar.set_postfix(loss=f"{epoch_sum / max(epoch_centers, 1):.4f}", refresh=False)
                    if callback is not None:
                        callback(history)
                if bar is not None:
                    bar.update(1)
                if steps_run >= budget:
                    break
            read_back()
            history.epoch_losses.append(epoch_sum / max(epoch_centers, 1))
            if bar is not None:
                bar.close()
    except KeyboardInterrupt:
        read_back()
        if epoch_centers and len(history.epoch_losses) == epoch:
            history.epoch_losses.append(epoch_sum / epoch_centers)
        history.stopped = "interrupted"
        if bar is not None:
            bar.close()
    end = time.perf_counter()
    history.seconds = end - start
    timed_centers, timed_seconds = history.centers - warm_centers, end - warm_time
    if timed_centers <= 0 or timed_seconds <= 0:  # a single step: nothing left to time after warm-up
        timed_centers, timed_seconds = history.centers, history.seconds
    history.centers_per_sec = timed_centers / max(timed_seconds, 1e-12)
    history.embeddings = trainer.embeddings()
    if callback is not None:
        callback(history)
    return history


def _progress_bar(enabled: bool, total: int, description: str):
    """A tqdm bar (a widget in Jupyter, text in a terminal), or None when progress is off."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, unit="batch", leave=True, mininterval=0.5)
