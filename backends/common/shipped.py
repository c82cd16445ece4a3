"""The data files the project ships (the PTB zip, WordSim-353), found alike in a clone and an installed package.

The repository keeps them in the top-level ``data/``, the one copy; ``backends/data`` is a symbolic link to
it, so the wheel and the sdist carry them inside the package (``package-data`` in pyproject.toml) and the
code reads them from the package in both layouts. A checkout without symbolic links (Windows with git's
default ``core.symlinks=false``) reads ``data/`` beside the package instead. How to restore a missing file
depends on the layout, and the messages say the one that applies.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

PACKAGED = Path(str(resources.files("backends"))) / "data"
DATA_DIR = (PACKAGED if PACKAGED.is_dir() else PACKAGED.parents[1] / "data").resolve()  # in a clone: data/
IN_CLONE = PACKAGED.is_symlink() or (DATA_DIR.resolve().parent / ".git").exists()  # else: an installed package


def restore_hint(name: str) -> str:
    """How to get the shipped file ``name`` back, for the layout this is."""
    if IN_CLONE:
        return f"Restore it with `git checkout -- data/{name}` (the repository ships it)."
    return (
        f"It is shipped inside the installed package: reinstall it (pip install --force-reinstall --no-deps with "
        f"what you installed it from) to restore {DATA_DIR / name}."
    )
