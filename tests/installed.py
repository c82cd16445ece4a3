"""Which frameworks this test run has, and what a missing one means here.

`make venv` records the environment it built (book or current) in the virtual environment's folder.
A framework that environment must carry fails every test that needs it when it is missing, so MXNet
cannot silently drop out of the book environment's CI; elsewhere (today's releases, a reader's own
environment) the tests that need a missing framework are skipped with the install command as the reason.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from backends.frameworks import REGISTRY

MARKER = Path(sys.prefix) / "w2v-environment"
ENVIRONMENT = MARKER.read_text().strip() if MARKER.is_file() else None


def missing(name: str) -> str | None:
    """Why the tests of ``name`` cannot run here, or None when they can."""
    entry = REGISTRY[name]
    return None if entry.installed else f"{entry.title} is not installed. {entry.how_to_install()}"


def skip_reason(name: str) -> str | None:
    """Why tests of ``name`` are skipped here: it is missing and this environment need not carry it."""
    return None if ENVIRONMENT in REGISTRY[name].environments else missing(name)


def require(name: str) -> None:
    """Skip the calling test when ``name`` is missing, or fail it where this environment must carry it."""
    why = missing(name)
    if why is None:
        return
    if skip_reason(name) is None:
        pytest.fail(f"the {ENVIRONMENT} environment must carry {REGISTRY[name].title}, but: {why}", pytrace=False)
    pytest.skip(why)
