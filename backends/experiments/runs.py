"""A run's outputs as one unit: staged in a folder of their own, swapped into place whole, one run at a time.

``OUT/torch/`` always holds one complete run (history, vectors, evaluation, checkpoint), never parts of two.
While a run works it holds a lock on ``OUT/.torch.lock`` (an OS lock, so the operating system releases it
however the process ends, ``kill -9`` included) and writes into ``OUT/torch.partial/``. Only when every file
is written is that folder swapped in: the previous ``OUT/torch/`` is renamed aside, the new one renamed into
its place, the old one removed. A second run into a folder that a live run holds is refused, naming the
holder. What a dead run left is dealt with by the next one: a swap cut between its two renames is finished
or undone, and a ``.partial`` folder is removed, unless it holds a checkpoint, which is the user's to
continue (``--resume``) or drop (``--restart``).

This module is the one owner of a run's files: besides the folder itself (:class:`RunFolder`), what a run writes
there (:func:`save_run`, :func:`put_in_place`), whether a run resumes or starts over (:func:`checkpoint_choice`,
:func:`resumable`) and how a run is read back (:func:`read_history`, :func:`read_run`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import getpass
import json
import os
import shutil
import socket
import sys
import time
import weakref
from collections.abc import Iterable
from pathlib import Path

import filelock
import numpy as np

from backends.common.errors import W2VError
from backends.common.files import RANDOM_CHARACTERS, write_json
from backends.common.signals import held
from backends.training.history import History
from backends.training.hooks import interrupts
from backends.vectors import embeddings, evaluation

CHECKPOINT = "checkpoint.npz"
HISTORY, EMBEDDINGS, EVALUATION = "history.json", "embeddings.txt", "evaluation.json"
RUN_NAMES = (HISTORY, EMBEDDINGS, EVALUATION, CHECKPOINT)
# All a run's folder may hold (patterns, as fnmatch reads them): its files, and the temporaries of atomic writes.
RUN_FILES = (*RUN_NAMES, ".*.tmp")
# The longest name a run writes: the temporary of an atomic write of its longest file (files.temporary_for).
LONGEST = f".{max(RUN_NAMES, key=len)}.{'x' * RANDOM_CHARACTERS}.tmp"


class RunFolder:
    """The folder ``OUT/<name>/`` of one run, locked while the run works and staged until it is complete.

    Use it as a context manager: entering takes the lock (or refuses) and tidies what a dead run left;
    :meth:`stage` gives the folder to write into, :meth:`commit` swaps it in, leaving without a commit
    drops what was staged (a checkpoint in it aside, as a run that failed can be resumed from it).
    """

    def __init__(
        self, folder: str | Path, holds: Iterable[str] = RUN_FILES, deepest: str = LONGEST, inner: Iterable[str] = ()
    ) -> None:
        self.folder, self.holds = Path(folder), frozenset(holds)  # holds: patterns of the names its files may have
        self.inner = frozenset(inner)  # and those of the files in its folders (a comparison's runs, say)
        self.deepest = deepest  # the longest path the run writes inside its staging folder
        self.staging = self.folder.with_name(self.folder.name + ".partial")
        self.aside = self.folder.with_name(f".{self.folder.name}.old")
        self.owner = self.folder.with_name(f".{self.folder.name}.owner")
        self._lock = filelock.FileLock(str(self.folder.with_name(f".{self.folder.name}.lock")), timeout=0)
        self.done = False  # committed, or kept for the user to look at

    def __enter__(self) -> RunFolder:
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        for own in (self.owner, Path(self._lock.lock_file)):  # written by the run: never through a user's link
            if own.is_symlink():
                raise W2VError(
                    f"{own} is a symbolic link, where a run keeps a file of its own (who holds the "
                    f"folder, and its lock); remove the link, or write to another folder (--out DIR). "
                    f"Nothing was done."
                )
        try:
            self._lock.acquire()
        except filelock.Timeout:
            raise W2VError(
                f"{self.folder} is being written by another run ({self.holder()}); wait for it to "
                f"finish or stop it, or write to another folder (--out DIR). Nothing was done."
            ) from None
        # Before the owner file exists, so that it goes wherever a signal lands from here on: in _release, or, where
        # a signal cut that short, when this object is freed or Python exits (first the finalizer, then the lock).
        self._owner_finalizer = weakref.finalize(self, self.owner.unlink, missing_ok=True)
        try:
            for folder in (self.aside, self.folder, self.staging):  # each one a run may remove or replace
                _check_replaceable(folder, self.holds, self.inner)
            self._finish_cut_swap()
            _probe(self.staging / self.deepest)
            self.owner.write_text(json.dumps(_whoami()), encoding="utf-8")
            return self  # within the try: a signal that lands before the return is undone too
        except BaseException:
            self._release()
            raise

    def __exit__(self, *exc_info) -> None:
        try:
            if not self.done and self.staging.exists() and not (self.staging / CHECKPOINT).exists():
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self._release()

    def _release(self) -> None:
        """Remove the owner file, then let go of the lock. In this order a signal may land anywhere: the finalizer
        is dropped only once the file is gone, and the lock, which guards the file, is let go last."""
        with contextlib.suppress(OSError):  # a folder made read-only meanwhile: the run's own error is the news
            self.owner.unlink(missing_ok=True)
        self._owner_finalizer.detach()
        self._lock.release()

    def holder(self) -> str:
        """Who holds the lock, in words, from what the holder wrote when it took it."""
        try:
            who = json.loads(self.owner.read_text(encoding="utf-8"))
            return f"process {who['pid']} of {who['user']} on {who['host']}, started {who['started']}: {who['command']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "a process that has not said who it is"

    def left_checkpoint(self) -> Path | None:
        """The checkpoint a run that did not finish left in the staging folder, if any."""
        path = self.staging / CHECKPOINT
        return path if path.is_file() else None

    def stage(self, keep: bool = False) -> Path:
        """The empty staging folder to write the run into (with ``keep``, what a dead run left stays)."""
        if self.staging.exists() and not keep:
            shutil.rmtree(self.staging)
        self.staging.mkdir(exist_ok=True)
        return self.staging

    def keep(self) -> Path:
        """Leave the staging folder as it is, uncommitted, for the user to look at; returns it."""
        self.done = True
        return self.staging

    def commit(self) -> Path:
        """Swap the staged run in for the previous one; returns the run's folder. Ctrl-C and SIGTERM wait for
        the swap (two renames, and the previous run removed), so no signal leaves the previous run aside with the
        new one not in its place; one that came meanwhile is acted on after it, with :attr:`done` already true."""
        with held():
            if self.folder.exists():
                os.replace(self.folder, self.aside)
            os.replace(self.staging, self.folder)
            self.done = True
            shutil.rmtree(self.aside, ignore_errors=True)
        return self.folder

    def _finish_cut_swap(self) -> None:
        """A run killed between the two renames of :meth:`commit` left the previous run aside: put it back if
        the new one did not get in, else drop it."""
        if self.aside.exists():
            if self.folder.exists():
                shutil.rmtree(self.aside)
            else:
                os.replace(self.aside, self.folder)


def _probe(path: Path) -> None:
    """Write and remove a file at ``path``, making and removing the folders above it that are missing: a path
    too long for the system (or a folder not writable) is found before any work, not when the results are written.
    Whatever instant a Ctrl-C lands, the next probe succeeds (one a signal left there is touched and removed)."""
    made = [folder for folder in reversed(path.parents) if not folder.exists()]
    try:
        for folder in made:
            folder.mkdir()
        path.touch()
    finally:
        with contextlib.suppress(OSError):  # where touch failed there is nothing to remove
            path.unlink(missing_ok=True)
        for folder in reversed(made):
            with contextlib.suppress(OSError):
                folder.rmdir()


def _check_replaceable(folder: Path, holds: frozenset[str], inner: frozenset[str] = frozenset()) -> None:
    """A run replaces its folder whole, so the folder must hold nothing but what a run writes (``holds``, patterns;
    in its own folders, ``inner``): nothing of the user's, hidden files included."""
    if not os.path.lexists(folder):
        return
    if folder.is_symlink():
        what = "is a symbolic link" + ("" if folder.exists() else " to nothing (a broken link)")
    elif not folder.is_dir():
        what = "is not a folder"
    else:
        others = _others(folder, holds)
        others += [
            f"{sub.name}/{name}"
            for sub in sorted(folder.iterdir())
            if inner and sub.is_dir() and not sub.is_symlink()
            for name in _others(sub, inner)
        ]
        if not others:
            return
        what = f"holds files that are not a run's ({', '.join(others[:5])})"
    raise W2VError(
        f"{folder} {what}, and a run replaces that folder whole; move it away, or write the run to "
        f"another folder (--out DIR). Nothing was done."
    )


def _others(folder: Path, holds: frozenset[str]) -> list[str]:
    """The names in ``folder`` that match none of the patterns ``holds``."""
    return sorted(p.name for p in folder.iterdir() if not any(fnmatch.fnmatch(p.name, h) for h in holds))


def replace_files(source: Path, folder: Path, names: Iterable[str], stale: Iterable[str] = ()) -> None:
    """Move the files ``names`` from ``source`` into ``folder``, and remove the ``stale`` ones there that the new
    set lacks. Each move is a rename within one file system, which a full disk cannot stop, and Ctrl-C or
    SIGTERM waits for them all, so a set of files written whole in ``source`` arrives whole."""
    names = list(names)
    with held():  # a signal waits for the moves: never half the new files beside half the old ones
        for name in names:
            os.replace(source / name, folder / name)
        for name in set(stale) - set(names):
            (folder / name).unlink(missing_ok=True)


def checkpoint_choice(run: RunFolder, resume: bool, restart: bool) -> Path | None:
    """The checkpoint to resume from, if any. A run where an earlier run's checkpoint is must be told to
    continue it (``resume``, --resume) or to replace it (``restart``, --restart), as this run's folder replaces
    the earlier one's."""
    left, finished = run.left_checkpoint(), run.folder / CHECKPOINT
    if resume:
        if left or finished.is_file():
            return left or finished
        raise W2VError(
            f"there is no checkpoint at {finished} to resume from; train with --checkpoint-every N "
            f"first. Nothing was trained."
        )
    if restart:
        return None
    if left:
        raise W2VError(
            f"{left} holds the checkpoint of a run into {run.folder} that did not finish (it was "
            f"stopped or failed): continue it with --resume, or start over with --restart. Nothing was "
            f"trained."
        )
    if finished.is_file():
        raise W2VError(
            f"{finished} holds an earlier run's checkpoint, which this run would replace: continue that "
            f"run with --resume, or start over with --restart. Nothing was trained."
        )
    return None


def resumable(run: RunFolder) -> str:
    """What a failed run leaves to resume from, as a sentence to add to its message (nothing where it left none)."""
    left = run.left_checkpoint()
    return (
        f" The checkpoint saved before, {left}, is kept: once that is fixed, continue the run with --resume."
        if left
        else ""
    )


def save_run(run: RunFolder, history: History, keep_checkpoint: bool = False) -> Path:
    """Write history.json, embeddings.txt and evaluation.json (WordSim-353) into the run's staging folder,
    then swap it in whole; a checkpoint this run did not write (one it resumed from) is not kept."""
    staging = run.stage(keep=True)
    if not keep_checkpoint:
        (staging / CHECKPOINT).unlink(missing_ok=True)
    write_json(staging / HISTORY, history.to_dict())
    if history.embeddings is not None:
        embeddings.save_word2vec(staging / EMBEDDINGS, history.words, history.embeddings)
        write_json(staging / EVALUATION, {"wordsim353": evaluation.evaluate(history.words, history.embeddings)})
    return run.commit()


def put_in_place(run: RunFolder, history: History, keep_checkpoint: bool) -> tuple[Path, bool]:
    """:func:`save_run` with Ctrl-C and SIGTERM waiting for it (a second one stops at once, leaving no file half
    written and the previous run in place); returns the run's folder and whether a signal came meanwhile."""
    try:
        with interrupts() as interrupted:
            folder = save_run(run, history, keep_checkpoint)
        return folder, interrupted()
    except KeyboardInterrupt:
        if not run.done:  # stopped before the swap: the previous run is in place, this one's files are dropped
            raise
        return run.folder, True  # came during the swap, which it waited for: the run is in place, whole


def read_history(path: Path) -> History:
    """A run's history.json, checked to be whole and of a run that can be compared (not one that diverged)."""
    record = History.read_record(path)
    if record["stopped"] == "diverged":
        raise W2VError(
            f"the run in {path.parent} diverged after {record['steps']} steps (its loss became NaN or "
            f"infinite), so there is nothing to compare: train it again with a lower --lr, or move "
            f"{path.parent} away."
        )
    return History.from_record(record, path)


def read_run(folder: Path, tries: int = 3) -> tuple[History, tuple[list[str], np.ndarray]]:
    """A run's history and vectors, both of one run: a run put in place meanwhile (a train into the same folder
    swaps its folder in whole) is noticed by the folder's identity, and read again."""
    for _ in range(tries):
        before = _identity(folder)
        history, vectors = read_history(folder / HISTORY), embeddings.load_word2vec(folder / EMBEDDINGS)
        if _identity(folder) == before:
            return history, vectors
    raise W2VError(
        f"{folder} changed {tries} times while it was read (a run trains into it, putting each result "
        f"in place): report it when that run has finished."
    )


def read_wordsim(folder: Path) -> dict:
    """The WordSim-353 evaluation a run wrote into ``folder`` (its evaluation.json)."""
    return json.loads((folder / EVALUATION).read_text(encoding="utf-8"))["wordsim353"]


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        status = folder.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _whoami() -> dict:
    """Who this process is, for a second run's message: pid, user, host, start time and command line."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "an unnamed user"
    command = ["python -m backends", *sys.argv[1:]] if sys.argv[0].endswith("__main__.py") else sys.argv
    return {
        "pid": os.getpid(),
        "user": user,
        "host": socket.gethostname(),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": " ".join(command),
    }
