"""Small helpers that make the notebooks read well: showing a backend's code, printing losses."""

from __future__ import annotations

import inspect
from typing import Any, Sequence


def show_source(obj: Any):
    """Display the source of a function or class with syntax highlighting (plain text outside Jupyter)."""
    from IPython.display import Code

    return Code(inspect.getsource(obj), language="python")


def format_losses(losses: Sequence[float]) -> str:
    """Losses to four decimals, the same text whatever framework computed them."""
    return " ".join(f"{float(x):.4f}" for x in losses)

