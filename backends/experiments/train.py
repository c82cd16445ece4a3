"""One framework, or gensim, trained into its run folder ``OUT/<name>/``: the work of ``python -m backends train``
and ``baseline``, apart from parsing their options and printing what came of them.

The run folder (:mod:`backends.experiments.runs`) decides whether the run resumes, takes what it writes and swaps
it in whole; what is read before training (the WordSim-353 pairs, the data) is read first, so that a missing
file is found before the training whose results it would score, not after.
"""

from __future__ import annotations

from pathlib import Path

from backends.common.errors import W2VError, WriteError
from backends.common.files import os_error_message, writable_folder
from backends.common.settings import Settings
from backends.experiments.runs import (
    CHECKPOINT,
    RunFolder,
    checkpoint_choice,
    put_in_place,
    read_wordsim,
    resumable,
    save_run,
)
from backends.pipeline.dataset import load_data
from backends.training.baseline import check_workers, train_gensim
from backends.training.history import History, TrainingDiverged
from backends.vectors import evaluation


def train_framework(
    name: str,
    backend,
    settings: Settings,
    out: Path,
    progress: bool = True,
    checkpoint_every: int | None = None,
    resume: bool = False,
    restart: bool = False,
) -> tuple[History, Path, bool]:
    """Train ``backend`` (framework ``name``'s loaded module) with ``settings`` into ``out/<name>/``; returns the
    run's history, its folder and whether Ctrl-C or SIGTERM came while its files were written.

    With ``checkpoint_every`` a checkpoint is saved every that many steps (and on Ctrl-C) and kept with the run;
    ``resume`` continues from the checkpoint there, ``restart`` replaces the earlier run it holds (one of them
    must be given where there is one). A run that diverged is put in place before its error is raised; one that
    failed writing (a checkpoint on a full disk) says what is left to resume.
    """
    with RunFolder(out / name) as run:
        resume_from = checkpoint_choice(run, resume, restart)
        evaluation.load_wordsim()  # read now, not found missing after the training it scores
        data = load_data(settings=settings)
        unfinished = resume_from is not None and resume_from == run.left_checkpoint()
        staging = run.stage(keep=unfinished)
        try:  # a run resumed from the finished folder's checkpoint writes its own in the staging folder
            history = backend.train(
                data,
                settings,
                progress=progress,
                checkpoint=staging / CHECKPOINT,
                checkpoint_every=checkpoint_every,
                resume=resume_from or False,
                resume_finished=unfinished,
            )  # killed after its last step: written now
        except TrainingDiverged as diverged:
            put_in_place(run, diverged.history, keep_checkpoint=bool(checkpoint_every))
            raise
        except (OSError, WriteError) as error:  # a checkpoint on a full or read-only disk: what is left to resume
            said = os_error_message(error) if isinstance(error, OSError) else str(error)
            raise W2VError(said + resumable(run)) from None
        folder, late_signal = put_in_place(run, history, keep_checkpoint=bool(checkpoint_every))
    return history, folder, late_signal


def train_baseline(settings: Settings, out: Path, workers: int) -> tuple[History, Path, dict]:
    """gensim's Word2Vec with ``settings``' epochs and embedding size on the same subsampled data, into
    ``out/gensim/``; returns its history, its folder and its WordSim-353 evaluation."""
    check_workers(workers)
    with RunFolder(writable_folder(out) / "gensim") as run:
        run.stage()
        evaluation.load_wordsim()
        history = train_gensim(
            load_data(settings=settings), epochs=settings.epochs, embed_size=settings.embed_size, workers=workers
        )
        folder = save_run(run, history)
    return history, folder, read_wordsim(folder)
