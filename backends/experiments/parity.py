"""Whether the frameworks agree: each trained a few steps from one seed in its own process, their per-step losses
held to :data:`backends.experiments.agreement.PARITY_TOLERANCE` (``python -m backends parity``, ``make parity``)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from backends.common.errors import W2VError
from backends.common.settings import Settings
from backends.experiments.agreement import PARITY_TOLERANCE, max_relative_differences
from backends.experiments.isolated import NOT_INSTALLED, check_frameworks, succeeded, train_each


def parity(frameworks: Sequence[str] | None, steps: int, settings: Settings | None = None, device: str = "cpu") -> dict:
    """Train each framework (None: every one) ``steps`` steps with ``settings`` (the chapter's by default: the
    seed, the model, the optimizer, ...), each in its own process, and compare the per-step losses.

    Returns ``{"steps", "tolerance", "max_relative_difference", "failed", "not_installed", "ok"}``; ``ok``
    is False when a pair differs by more than the float32 tolerance or a framework could not run (one that
    is not installed counts only when it was named).
    """
    named = frameworks is not None
    frameworks = check_frameworks(frameworks)
    if steps < 1:
        raise W2VError(f"steps {steps} is out of range: it must be at least 1.")
    with tempfile.TemporaryDirectory(prefix="w2v-parity-") as folder:
        settings = (settings or Settings()).replace(max_steps=steps, device=device)
        runs = train_each(frameworks, Path(folder), settings)
    differences = max_relative_differences({f: run["step_losses"] for f, run in runs.items() if run["status"] == "ok"})
    return {
        "settings": settings.describe(),
        "steps": steps,
        "tolerance": PARITY_TOLERANCE,
        "max_relative_difference": differences,
        "failed": {f: run["error"] for f, run in runs.items() if run["status"] == "failed"},
        "not_installed": {f: run["error"] for f, run in runs.items() if run["status"] == NOT_INSTALLED},
        "ok": succeeded(runs, named) and all(d <= PARITY_TOLERANCE for d in differences.values()),
    }
