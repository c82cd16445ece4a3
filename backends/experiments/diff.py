"""How far the same frameworks' runs in two result folders differ (``python -m backends diff``): the runs of two
environments, say, trained from one seed (``make cross-env``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backends.common.errors import W2VError
from backends.common.frameworks import FRAMEWORKS
from backends.experiments.agreement import relative_differences
from backends.experiments.runs import HISTORY, read_history


def diff(first: Path, second: Path) -> dict[str, dict]:
    """The runs of the same frameworks in two result folders (two environments, say), side by side.

    For every framework trained into both: how many steps both ran, the largest relative difference of
    their per-step losses, whether they are identical, both final losses, the versions each run used, and
    whether they were trained with the same settings (otherwise the difference means little). A framework
    trained into one folder only (MXNet, which only the book environment has) is listed with ``only_in``.
    """
    result: dict[str, dict[str, Any]] = {}
    for name in FRAMEWORKS:
        paths = (first / name / HISTORY, second / name / HISTORY)
        present = [path.is_file() for path in paths]
        if present.count(True) == 1:
            result[name] = {"only_in": str(first if present[0] else second)}
        if not all(present):
            continue
        runs = [read_history(path) for path in paths]
        relative = relative_differences(runs[0].step_losses, runs[1].step_losses)
        result[name] = {
            "steps": int(relative.size),
            "max_relative_difference": float(relative.max()) if relative.size else 0.0,
            "identical": runs[0].step_losses == runs[1].step_losses,
            "losses": [run.loss for run in runs],
            "versions": [run.versions for run in runs],
            "same_settings": runs[0].settings == runs[1].settings,
        }
    if all("only_in" in run for run in result.values()):
        raise W2VError(
            f"no framework was trained into both {first} and {second}; train the same framework into "
            f"each first (python -m backends train --framework torch --out FOLDER)."
        )
    return result
