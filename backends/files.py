"""Atomic file writes: a file is either the old one or the complete new one, never half written.

Everything the project writes (histories, embeddings, figures, summaries) goes through here: the
bytes go to a temporary file in the same folder, which is then renamed over the target in one step.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

from backends.errors import W2VError


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yields a temporary path beside ``path``; on success it replaces ``path``, on error it vanishes."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise W2VError(
            f"cannot write to {path.parent} ({exc.strerror}); choose a writable output folder (--out DIR)."
        ) from None
    os.close(handle)
    temporary = Path(temporary)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, record: dict) -> dict:
    """Write ``record`` as indented JSON, atomically (NaN becomes null, as JSON has no NaN); returns it."""
    write_text(path, json.dumps(_no_nan(record), indent=1) + "\n")
    return record


def _no_nan(value):
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_no_nan(v) for v in value]
    return value
