"""A trainer's state in NumPy, the same for every framework: what a checkpoint holds and resumes from.

Each backend converts its trainer to and from a :class:`TrainerState` in two module functions, ``state`` and
``load_state``, kept apart from the ``Trainer`` class the chapter shows; the one place a backend reads an
optimizer's private attributes is a small named function beside them, covered by the state round-trip test.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TABLES = ("center", "context")
KEYS = (*TABLES, *(f"{table}_{moment}" for table in TABLES for moment in "mv"), "adam_step")


@dataclass(frozen=True)
class TrainerState:
    """Both tables, Adam's two moments of each (zeros before the first step) and Adam's step count."""

    tables: tuple[np.ndarray, ...]  # center, context
    moments: tuple[tuple[np.ndarray, ...], ...]  # (m, v) of each table
    step: int

    @classmethod
    def fresh(cls, tables: tuple[np.ndarray, ...]) -> TrainerState:
        """The state of an optimizer before its first step: the tables, zero moments, step 0."""
        return cls(tables, tuple((np.zeros_like(t), np.zeros_like(t)) for t in tables), 0)

    def arrays(self) -> dict[str, np.ndarray]:
        """The checkpoint's layout: center, context, center_m, center_v, context_m, context_v, adam_step."""
        named = {"adam_step": np.array(self.step)}
        for name, table, (m, v) in zip(TABLES, self.tables, self.moments):
            named.update({name: table, f"{name}_m": m, f"{name}_v": v})
        return {key: named[key] for key in KEYS}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> TrainerState:
        return cls(
            tuple(arrays[name] for name in TABLES),
            tuple((arrays[f"{name}_m"], arrays[f"{name}_v"]) for name in TABLES),
            int(arrays["adam_step"]),
        )
