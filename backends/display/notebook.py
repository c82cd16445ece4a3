"""Small helpers that make the notebooks read well: showing a backend's code, printing losses, the step budget."""

from __future__ import annotations

import inspect
import os
from typing import Any, Sequence

from backends.common.errors import W2VError

BUDGET = "W2V_MAX_STEPS"  # set by `make test` so that every notebook trains a short budget of steps


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
