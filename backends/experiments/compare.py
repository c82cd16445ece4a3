"""Train several frameworks from one seed and compare them: the project's signature.

Each framework trains in a process of its own (:func:`backends.experiments.isolated.train_isolated`). Every run
writes ``OUT/<framework>/history.json`` and ``embeddings.txt``; :func:`backends.experiments.report.report`
then reads them back and draws the figures and summaries, so a report can also be made from runs trained one
by one.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path

from backends.common.errors import W2VError
from backends.common.files import os_error_message
from backends.common.frameworks import FRAMEWORKS, REGISTRY
from backends.common.settings import Settings
from backends.common.signals import handling
from backends.experiments.isolated import INTERRUPTED, check_frameworks, succeeded, train_isolated
from backends.experiments.report import REPORT_FILES, move_report, report
from backends.experiments.runs import CHECKPOINT, LONGEST, RUN_FILES, RunFolder
from backends.experiments.summary import format_loss, shown
from backends.pipeline.dataset import load_data

# What a comparison's staging folder holds: each framework's run (or what a killed one left) and the report.
COMPARISON_FILES = (
    *FRAMEWORKS,
    *(f"{name}.partial" for name in FRAMEWORKS),
    *REPORT_FILES,
    ".*.lock",
    ".*.owner",
    ".*.old",
    ".report-*",
)


def compare(
    frameworks: Sequence[str] | None, out: Path, settings: Settings | None = None, progress: bool = True
) -> dict:
    """Train each framework (None: every one) with ``settings`` in its own process, then
    :func:`backends.experiments.report.report`. Returns the summary; when the runs were not put in place, its
    ``kept_apart`` says where they are.

    The comparison is one unit: its runs and report are made in ``OUT/compare.partial/`` and moved into
    ``OUT`` only when it went well, so a failed or interrupted comparison leaves the previous one whole (and
    its own runs in ``compare.partial`` to look at). One line per framework says how it went; ``progress``
    also relays each run's progress bars. Ctrl-C or SIGTERM stops the framework training now (its run ends
    as an interrupted one) and starts no other.
    """
    settings = settings or Settings()
    names = check_frameworks(frameworks)
    load_data(settings=settings)  # the corpus and the settings checked once, before any framework trains on them
    with contextlib.ExitStack() as stack:
        deepest = max((f"{name}.partial/{LONGEST}" for name in names), key=len)  # each run's files, in its staging
        whole = stack.enter_context(
            RunFolder(out / "compare", holds=COMPARISON_FILES, deepest=deepest, inner=(*RUN_FILES, *REPORT_FILES))
        )
        folders = {name: stack.enter_context(RunFolder(out / name)) for name in names}
        _refuse_checkpoints(folders.values())
        staging = whole.stage()
        with _stop_signals() as (stopped, started):  # held until the end: a signal never cuts the moves in half
            runs = {name: _train_one(name, staging, settings, progress, stopped, started) for name in names}
            try:
                summary = report(staging, runs, settings)
            except (W2VError, OSError) as error:  # the runs trained: never lose them to a report that failed
                said = str(error) if isinstance(error, W2VError) else os_error_message(error)
                raise W2VError(
                    f"{said} The comparison's runs are kept in {whole.keep()}; nothing in {out} was replaced."
                ) from None
            except BaseException:  # a bug shows its traceback, after this line; the runs are kept all the same
                print(
                    f"The comparison's runs are kept in {whole.keep()}; nothing in {out} was replaced.", file=sys.stderr
                )
                raise
            if stopped() or not succeeded(runs, named=frameworks is not None):
                return {**summary, "interrupted": stopped(), "kept_apart": str(whole.keep())}
            for name, run in runs.items():
                if run["status"] == "ok":
                    os.replace(staging / name, folders[name].stage())
                    folders[name].commit()
            move_report(staging, out, summary)
    return summary


def _train_one(
    name: str,
    staging: Path,
    settings: Settings,
    progress: bool,
    stopped: Callable[[], bool],
    started: Callable[[subprocess.Popen | None], None],
) -> dict:
    """One framework of a comparison trained into its staging folder, unless the comparison was stopped; one
    line says how it went."""
    if stopped():
        return {
            "framework": name,
            "status": INTERRUPTED,
            "error": "not started, as the comparison was interrupted",
            "wall_seconds": 0.0,
        }
    if progress and REGISTRY[name].installed:
        print(f"--- {name}", file=sys.stderr, flush=True)
    run = train_isolated(name, staging, settings.argv(), progress, started)
    if run["status"] == "ok":
        print(
            f"{name}: {run['steps']} steps on {run['device']}, loss {format_loss(run['loss'])}, "
            f"{shown(run['centers_per_sec'], ',.0f')} centers/s ({run['wall_seconds']:.0f} s)",
            flush=True,
        )
    else:
        print(f"{name}: {run['status']}: {run['error']}", flush=True)
    return run


def _refuse_checkpoints(folders: Iterable[RunFolder]) -> None:
    """A comparison writes no checkpoints, so it must not replace a folder that holds one."""
    held = [
        str(path)
        for folder in folders
        for path in (folder.left_checkpoint(), folder.folder / CHECKPOINT)
        if path is not None and path.is_file()
    ]
    if held:
        raise W2VError(
            f"{', '.join(held)} hold{'s' if len(held) == 1 else ''} the checkpoint of a run that a "
            f"comparison would replace; continue it with `train --resume`, delete it, or compare into "
            f"another folder (--out DIR). Nothing was trained."
        )


@contextlib.contextmanager
def _stop_signals() -> Iterator[tuple[Callable[[], bool], Callable[[subprocess.Popen | None], None]]]:
    """While a comparison trains: Ctrl-C or SIGTERM raises a flag and is passed on to the framework training
    then (in a session of its own, a terminal's Ctrl-C reaches only the comparison), which ends its run as an
    interrupted one."""
    received: list[int] = []
    child: list[subprocess.Popen] = []

    def on_signal(signum, frame):
        received.append(signum)
        if child:
            child[0].send_signal(signum)

    def started(process: subprocess.Popen | None) -> None:
        child[:] = [process] if process is not None else []

    with handling(on_signal):
        yield (lambda: bool(received)), started
