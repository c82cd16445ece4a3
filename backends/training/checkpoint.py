"""Checkpoints: everything needed to continue a run exactly where it stopped, in one atomic file.

A checkpoint holds the two tables, Adam's moments and step count (a backend's ``state(trainer)``, plain
NumPy arrays in the same layout for every framework, :class:`backends.training.state.TrainerState`) and
where the run stood: the epoch, the next batch of that epoch, the losses so far. The pipeline needs no saved
random state: an epoch's batches depend only on the seed and the epoch, so skipping the batches already
trained puts it exactly where it was.
The file is written to a temporary name and renamed, so a run killed while saving leaves the previous
checkpoint whole.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from backends.common.errors import W2VError
from backends.common.files import atomic_path, readable_file
from backends.common.settings import MUST_MATCH_ON_RESUME
from backends.training.state import KEYS, TrainerState

FORMAT = 3  # 3: the run's settings are recorded under "settings", every one of them
# What must match to continue a run: every setting but those a resumed run may change (epochs, max_steps, the
# device), and the corpus, by its size.
MUST_MATCH = (*MUST_MATCH_ON_RESUME, "vocab_size", "corpus_tokens")


def save(path: str | Path, state: TrainerState, position: dict) -> Path:
    """Write the trainer's ``state`` and the run's ``position`` to ``path`` atomically."""
    with atomic_path(path) as temporary, open(temporary, "wb") as out:
        np.savez(out, **state.arrays(), position=np.array(json.dumps({**position, "format": FORMAT})))
    return Path(path)


def load(path: str | Path, settings: dict) -> tuple[dict[str, np.ndarray], dict]:
    """The state and position saved at ``path``, after checking the run's ``settings`` match its own."""
    path = Path(path)
    if not path.exists():
        raise W2VError(f"there is no checkpoint at {path} to resume from; train with --checkpoint-every N first.")
    readable_file(path, "the checkpoint", "Delete it and train without --resume.")
    try:
        with np.load(path) as saved:
            arrays = {name: saved[name] for name in saved.files}
        position = json.loads(str(arrays.pop("position")))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise W2VError(f"the checkpoint {path} is unreadable ({exc}); delete it and train without --resume.") from None
    if position.get("format") != FORMAT:
        raise W2VError(f"the checkpoint {path} has format {position.get('format')}, not {FORMAT}; train afresh.")
    shapes = {name: arrays[name].shape for name in KEYS if name in arrays}
    if len(shapes) != len(KEYS) or len(set(shapes.values())) != 2:
        raise W2VError(f"the checkpoint {path} is incomplete (it holds {', '.join(arrays) or 'nothing'}); delete it "
                       f"and train without --resume.")
    differ = [f"{key} {position['settings'].get(key)!r} there, {settings.get(key)!r} now"
              for key in MUST_MATCH if position["settings"].get(key) != settings.get(key)]
    if differ:
        raise W2VError(f"the checkpoint {path} was trained with other settings ({'; '.join(differ)}); "
                       f"resume with the same settings, or train afresh without --resume.")
    return arrays, position
