"""What a training run produced: its losses, speed and device, the settings it ran with, and the vectors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, fields
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from backends.common.errors import W2VError
from backends.common.files import readable_file
from backends.common.settings import NAMES, wrong_setting

# What a history.json must hold to be read back (the keys ``History.to_dict`` writes that every run, older ones
# included, has written), and of what kind, as JSON holds it. None (JSON's null) is the loss of a run stopped
# before its first step ended, the speed of a run finished from its checkpoint with no step left to time, and
# ``stopped`` of a run that trained its whole budget.
RECORD: dict[str, type | tuple[type, ...]] = {
    "framework": str,
    "device": str,
    "step_losses": list,
    "epoch_losses": list,
    "steps": int,
    "loss": (float, type(None)),
    "centers_per_sec": (float, type(None)),
    "seconds": float,
    "stopped": (str, type(None)),
}


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

    @staticmethod
    def read_record(path: Path) -> dict:
        """The JSON object of the history.json at ``path``, checked to hold every key of :data:`RECORD`: a
        truncated, empty or foreign file is a message, not a crash. Its values are checked by :meth:`from_record`."""
        path = readable_file(path, "the history", "Train that framework again (python -m backends train).")
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise W2VError(f"{path} is not a whole history ({error}); train that framework again.") from None
        missing = [key for key in RECORD if not isinstance(record, dict) or key not in record]
        if missing:
            raise W2VError(
                f"{path} is not a history of this project (it lacks {', '.join(missing)}); train that framework again."
            )
        return record

    @classmethod
    def from_record(cls, record: dict, path: Path) -> History:
        """The run that ``record`` (read from ``path`` by :meth:`read_record`) holds, its values checked to be of
        the kinds a history holds and its settings ones a run records; histories written before the settings were
        called so keep them under "config"."""
        settings = record.get("settings", record.get("config", {}))
        wrong = [key for key, kind in RECORD.items() if not _is(record[key], kind)]
        wrong += [] if isinstance(settings, dict) else ["settings"]
        wrong += ["loss"] if record["loss"] is None and record["step_losses"] and "loss" not in wrong else []
        if wrong:
            raise W2VError(
                f"{path} is damaged: {', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not hold "
                f"what a history holds (text, whole numbers, numbers or lists of numbers); train that "
                f"framework again."
            )
        for name, value in settings.items():
            why = wrong_setting(name, value) if name in NAMES else None
            if why:
                raise W2VError(
                    f"{path} is damaged: its setting {name} is {json.dumps(value)}, which no run records "
                    f"({why}); train that framework again."
                )
        known = {item.name for item in fields(cls)} - {"settings", "words", "embeddings"}
        return cls(settings=settings, **{key: value for key, value in record.items() if key in known})


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    """Whether a JSON ``value`` is of ``kind``: a whole number is a number too, a list must hold numbers, and
    true and false are neither."""
    if isinstance(value, bool):
        return False
    if kind is list:
        return isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    if isinstance(kind, tuple):
        return any(_is(value, one) for one in kind)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


class TrainingDiverged(W2VError):
    """The loss became NaN or infinite; ``history`` holds the run up to the last finite step."""

    def __init__(self, message: str, history: History) -> None:
        super().__init__(message)
        self.history = history

    @classmethod
    def at(cls, loss: float, history: History, lr: float) -> TrainingDiverged:
        """The error for a loss that became ``loss`` right after the steps ``history`` holds."""
        return cls(
            f"the {history.framework} loss became {loss} at step {history.steps + 1}; training stopped and "
            f"the {history.steps} steps before it are kept. Lower the learning rate (--lr, now {lr}) or check "
            f"the input data.",
            history,
        )
