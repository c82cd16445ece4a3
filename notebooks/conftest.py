"""What nbval adds to `make test` here: notebooks run only where their framework is, and what a reader sees is checked.

nbval executes every cell, but in its lax mode never looks at what a cell shows. After each cell has run,
the outputs it produced are checked as a reader would see them:

- a cell tagged ``draws`` must leave a picture (an ``image/png`` output);
- no output may be a figure's text stand-in (``<Figure size 700x400 with 1 Axes>``), which is what a reader
  gets when a figure is displayed before the kernel knows how to draw it;
- nothing may reach stderr (warnings, log lines, progress bars), and no text may hold a terminal's control
  characters (carriage returns, escape sequences) that a notebook shows as garbage.

A notebook runs only where the framework it trains is installed (see tests/helpers.py): elsewhere its cells
are skipped with the install command as the reason, except in an environment that must carry that framework,
where the notebook runs and fails.
"""

from __future__ import annotations

import re

import pytest

from helpers import skip_reason

FIGURE_AS_TEXT = re.compile(r"<Figure size \d+x\d+ with \d+ Axes>")
CONTROL = re.compile(r"[\r\x08\x1b]")


def pytest_collection_modifyitems(items):
    for item in items:
        notebook = getattr(item.parent, "nb", None)  # nbval's notebook; the generator records what it trains
        trains = notebook.metadata.get("w2v", {}).get("trains") if notebook is not None else None
        reason = skip_reason(trains) if trains else None
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


def reader_problems(cell, outputs) -> list[str]:
    """What is wrong with ``outputs``, the outputs of ``cell`` as executed, for someone reading them."""
    problems = []
    pictures = [o for o in outputs if "image/png" in o.get("data", {})]
    if "draws" in cell.metadata.get("tags", []) and not pictures:
        problems.append("it should draw a picture, but left no image/png output")
    for output in outputs:
        text = output.get("text", "") or output.get("data", {}).get("text/plain", "")
        if "image/png" not in output.get("data", {}) and FIGURE_AS_TEXT.search(text):
            problems.append(f"it shows a figure as text: {FIGURE_AS_TEXT.search(text).group()}")
        if output.get("name") == "stderr":
            problems.append(f"it writes to stderr: {text.strip()[:300]!r}")
        elif CONTROL.search(text):
            problems.append(f"its text holds control characters: {text.strip()[:120]!r}")
    return problems


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    outputs = getattr(item, "test_outputs", None)  # nbval's cells keep what they just produced here
    if outputs is not None:
        problems = reader_problems(item.cell, outputs)
        if problems:
            item.raise_cell_error("What a reader sees is wrong", "; ".join(problems))
    return result
