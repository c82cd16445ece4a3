"""How far two runs' per-step losses differ: the measure of whether frameworks agree, and the tolerance they are
held to. Used by the figures, ``compare``, ``parity``, ``diff``, the GPU check and the notebooks' "try it" cells."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

# float32 arithmetic in different orders: how far the same run's losses may drift between frameworks.
PARITY_TOLERANCE = 1e-4


def relative_differences(losses: Sequence[float], reference: Sequence[float]) -> np.ndarray:
    """|losses - reference| / |reference|, step by step, over the steps both ran."""
    n = min(len(losses), len(reference))
    x, y = np.asarray(losses[:n], dtype=np.float64), np.asarray(reference[:n], dtype=np.float64)
    return np.abs(x - y) / np.abs(y)


def max_relative_differences(step_losses: Mapping[str, Sequence[float]]) -> dict[str, float]:
    """For every pair "a/b", the largest |a - b| / |b| over the steps both ran."""
    result = {}
    for a, b in itertools.combinations(step_losses, 2):
        differences = relative_differences(step_losses[a], step_losses[b])
        if differences.size:
            result[f"{a}/{b}"] = float(differences.max())
    return result
