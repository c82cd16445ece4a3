"""What a training run produced: its losses, speed and device, the settings it ran with, and the vectors."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from importlib import metadata
from typing import Iterable

import numpy as np

from backends.common.errors import W2VError


def package_versions(names: Iterable[str]) -> dict[str, str | None]:
    """The installed version of each distribution in ``names`` (None where it is not installed)."""
    versions: dict[str, str | None] = {}
    for name in dict.fromkeys(names):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


@dataclass
class History:
    """A run's record, filled in as it trains; ``to_dict`` is what ``history.json`` holds."""

    framework: str
    device: str
    settings: dict  # every setting (Settings.to_dict()) and the corpus' size (Corpus.facts())
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

    @classmethod
    def at(cls, loss: float, history: History, lr: float) -> TrainingDiverged:
        """The error for a loss that became ``loss`` right after the steps ``history`` holds."""
        return cls(f"the {history.framework} loss became {loss} at step {history.steps + 1}; training stopped and "
                   f"the {history.steps} steps before it are kept. Lower the learning rate (--lr, now {lr}) or check "
                   f"the input data.", history)
