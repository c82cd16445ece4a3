"""Train several frameworks from one seed and compare them: the project's signature.

Each framework trains in a process of its own (``python -m backends train``). That keeps one
framework's crash or missing install from stopping the others, keeps their thread pools and memory
apart, and avoids a known segfault when TensorFlow is imported before MXNet in one process. Every run
writes ``OUT/<framework>/history.json`` and ``embeddings.txt``; :func:`report` then reads them back and
draws the figures and summaries, so a report can also be made from runs trained one by one.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from backends.cli.report import (
    NOT_INSTALLED,
    REPORT_FILES,
    format_loss,
    shown,
    max_relative_differences,
    move_report,
    read_history,
    recorded_settings,
    relative_differences,
    report,
)
from backends.common.errors import W2VError
from backends.common.files import os_error_message
from backends.common.frameworks import FRAMEWORKS, REGISTRY, framework
from backends.common.runs import CHECKPOINT, LONGEST, RUN_FILES, RunFolder
from backends.common.settings import Settings
from backends.common.signals import STOP_SIGNALS, handling
from backends.pipeline.dataset import load_data

PARITY_TOLERANCE = 1e-4
PR_SET_PDEATHSIG = 1  # Linux's prctl option: the signal a process gets when its parent dies
INTERRUPTED = "interrupted"
# What a comparison's staging folder holds: each framework's run (or what a killed one left) and the report.
COMPARISON_FILES = (*FRAMEWORKS, *(f"{name}.partial" for name in FRAMEWORKS), *REPORT_FILES, ".*.lock",
                    ".*.owner", ".*.old", ".report-*")


def check_frameworks(frameworks: Iterable[str] | None) -> list[str]:
    """The requested names, validated (an unknown one is the user's mistake); None means every framework."""
    frameworks = list(FRAMEWORKS if frameworks is None else frameworks)
    if not frameworks:
        raise W2VError(f"no framework given; choose from {', '.join(FRAMEWORKS)}.")
    twice = sorted({name for name in frameworks if frameworks.count(name) > 1})
    if twice:
        raise W2VError(f"{', '.join(twice)} named more than once in --frameworks; name each framework once.")
    return [framework(name).name for name in frameworks]


def train_isolated(name: str, out: Path, options: Sequence[str] = (), progress: bool = True,
                   started: Callable[[subprocess.Popen | None], None] = lambda process: None) -> dict:
    """Run ``python -m backends train`` for one framework in a fresh process; never raises for its failure.

    Returns the run's JSON summary with ``status`` "ok", or ``status`` "failed" and the error it printed,
    or, with no process started, ``status`` "not installed" and what to install. Progress bars pass
    through to this process's stderr as they come. ``started`` is told the process, and None when it ended.
    """
    if not REGISTRY[name].installed:
        return {"framework": name, "status": NOT_INSTALLED, "error": REGISTRY[name].how_to_install(), "wall_seconds": 0.0}
    command = [sys.executable, "-m", "backends", "train", "--framework", name, "--out", str(out), "--json"]
    command += list(options) + ([] if progress else ["--no-progress"])
    start = time.perf_counter()
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                          preexec_fn=_die_with_parent) as process:
        started(process)
        errors = _relay(process.stderr, sys.stderr if progress else None)
        output = process.stdout.read()
        code = process.wait()
        started(None)
    wall = time.perf_counter() - start
    if code == 0:
        return {**json.loads(output.strip().splitlines()[-1]), "status": "ok", "wall_seconds": wall}
    said = [line[len("error: "):] for line in errors.splitlines() if line.startswith("error: ")]
    message = said[-1] if said else (errors.strip().splitlines() or [f"exit code {code}"])[-1]
    if code < 0:
        message = f"the process died with signal {signal.Signals(-code).name}. {message}"
    status = INTERRUPTED if code == 130 or -code in STOP_SIGNALS else "failed"
    return {"framework": name, "status": status, "error": message, "wall_seconds": wall}


def _die_with_parent() -> None:
    """In a framework's training process, before it starts: end with SIGTERM (as an interrupted run) when the
    comparison that started it dies, even by kill -9, where the system offers that (Linux's prctl); a training
    left running would hold its machine and write into a folder the next comparison removes."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def train_each(frameworks: Iterable[str], out: Path, settings: Settings,
               done: Callable[[str, dict], None] = lambda name, run: None) -> dict[str, dict]:
    """Train each framework with ``settings`` into ``out``, one after the other, each in its own process and
    quietly: their runs as :func:`train_isolated` returns them, with the ``step_losses`` of each that trained
    (read from its history). ``done`` is told each run as it ends."""
    runs = {}
    for name in frameworks:
        run = runs[name] = train_isolated(name, out, settings.argv(), progress=False)
        if run["status"] == "ok":
            run["step_losses"] = read_history(out / name / "history.json")["step_losses"]
        done(name, run)
    return runs


def succeeded(runs: dict[str, dict], named: bool) -> bool:
    """Whether every run went well: each trained, or, when the frameworks were not ``named`` by the user
    (the default of every framework), was simply not installed."""
    allowed = ("ok",) if named else ("ok", NOT_INSTALLED)
    return all(run["status"] in allowed for run in runs.values())


def _relay(stream, sink) -> str:
    """Copy ``stream`` to ``sink`` (if any) as it arrives; returns the last 20,000 characters read."""
    tail = ""
    for chunk in iter(lambda: stream.read(256), ""):
        if sink is not None:
            sink.write(chunk)
            sink.flush()
        tail = (tail + chunk)[-20_000:]
    return tail


def diff(first: Path, second: Path) -> dict[str, dict]:
    """The runs of the same frameworks in two result folders (two environments, say), side by side.

    For every framework trained into both: how many steps both ran, the largest relative difference of
    their per-step losses, whether they are identical, both final losses, the versions each run used, and
    whether they were trained with the same settings (otherwise the difference means little). A framework
    trained into one folder only (MXNet, which only the book environment has) is listed with ``only_in``.
    """
    result = {}
    for name in FRAMEWORKS:
        paths = (first / name / "history.json", second / name / "history.json")
        present = [path.is_file() for path in paths]
        if present.count(True) == 1:
            result[name] = {"only_in": str(first if present[0] else second)}
        if not all(present):
            continue
        runs = [read_history(path) for path in paths]
        relative = relative_differences(runs[0]["step_losses"], runs[1]["step_losses"])
        result[name] = {
            "steps": int(relative.size),
            "max_relative_difference": float(relative.max()) if relative.size else 0.0,
            "identical": runs[0]["step_losses"] == runs[1]["step_losses"],
            "losses": [run["loss"] for run in runs],
            "versions": [run.get("versions", {}) for run in runs],
            "same_settings": recorded_settings(runs[0]) == recorded_settings(runs[1]),
        }
    if all("only_in" in run for run in result.values()):
        raise W2VError(f"no framework was trained into both {first} and {second}; train the same framework into "
                       f"each first (python -m backends train --framework torch --out FOLDER).")
    return result


def compare(frameworks: Sequence[str] | None, out: Path, settings: Settings | None = None,
            progress: bool = True) -> dict:
    """Train each framework (None: every one) with ``settings`` in its own process, then
    :func:`backends.cli.report.report`. Returns the summary; when the runs were not put in place, its
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
        whole = stack.enter_context(RunFolder(out / "compare", holds=COMPARISON_FILES, deepest=deepest,
                                              inner=(*RUN_FILES, *REPORT_FILES)))
        folders = {name: stack.enter_context(RunFolder(out / name)) for name in names}
        _refuse_checkpoints(folders.values())
        staging = whole.stage()
        runs = {}
        with _stop_signals() as (stopped, started):  # held until the end: a signal never cuts the moves in half
            for name in names:
                if stopped():
                    runs[name] = {"framework": name, "status": INTERRUPTED, "error": "not started, as the comparison "
                                  "was interrupted", "wall_seconds": 0.0}
                    continue
                if progress and REGISTRY[name].installed:
                    print(f"--- {name}", file=sys.stderr, flush=True)
                run = runs[name] = train_isolated(name, staging, settings.argv(), progress, started)
                if run["status"] == "ok":
                    print(f"{name}: {run['steps']} steps on {run['device']}, loss {format_loss(run['loss'])}, "
                          f"{shown(run['centers_per_sec'], ',.0f')} centers/s ({run['wall_seconds']:.0f} s)", flush=True)
                else:
                    print(f"{name}: {run['status']}: {run['error']}", flush=True)
            try:
                summary = report(staging, runs, settings)
            except (W2VError, OSError) as error:  # the runs trained: never lose them to a report that failed
                said = str(error) if isinstance(error, W2VError) else os_error_message(error)
                raise W2VError(f"{said} The comparison's runs are kept in {whole.keep()}; nothing in {out} was "
                               f"replaced.") from None
            except BaseException:  # a bug shows its traceback, after this line; the runs are kept all the same
                print(f"The comparison's runs are kept in {whole.keep()}; nothing in {out} was replaced.",
                      file=sys.stderr)
                raise
            if stopped() or not succeeded(runs, named=frameworks is not None):
                return {**summary, "interrupted": stopped(), "kept_apart": str(whole.keep())}
            for name, run in runs.items():
                if run["status"] == "ok":
                    os.replace(staging / name, folders[name].stage())
                    folders[name].commit()
            move_report(staging, out, summary)
    return summary


def _refuse_checkpoints(folders: Iterable[RunFolder]) -> None:
    """A comparison writes no checkpoints, so it must not replace a folder that holds one."""
    held = [str(path) for folder in folders
            for path in (folder.left_checkpoint(), folder.folder / CHECKPOINT) if path is not None and path.is_file()]
    if held:
        raise W2VError(f"{', '.join(held)} hold{'s' if len(held) == 1 else ''} the checkpoint of a run that a "
                       f"comparison would replace; continue it with `train --resume`, delete it, or compare into "
                       f"another folder (--out DIR). Nothing was trained.")


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


def parity(frameworks: Sequence[str] | None, steps: int, seed: int = 0, device: str = "cpu") -> dict:
    """Train each framework (None: every one) ``steps`` steps from one seed, each in its own process, and
    compare the per-step losses.

    Returns ``{"steps", "tolerance", "max_relative_difference", "failed", "not_installed", "ok"}``; ``ok``
    is False when a pair differs by more than the float32 tolerance or a framework could not run (one that
    is not installed counts only when it was named).
    """
    named = frameworks is not None
    frameworks = check_frameworks(frameworks)
    if steps < 1:
        raise W2VError(f"steps {steps} is out of range: it must be at least 1.")
    with tempfile.TemporaryDirectory(prefix="w2v-parity-") as folder:
        runs = train_each(frameworks, Path(folder), Settings(seed=seed, max_steps=steps, device=device))
    differences = max_relative_differences({f: run["step_losses"] for f, run in runs.items() if run["status"] == "ok"})
    return {
        "steps": steps,
        "tolerance": PARITY_TOLERANCE,
        "max_relative_difference": differences,
        "failed": {f: run["error"] for f, run in runs.items() if run["status"] == "failed"},
        "not_installed": {f: run["error"] for f, run in runs.items() if run["status"] == NOT_INSTALLED},
        "ok": succeeded(runs, named) and all(d <= PARITY_TOLERANCE for d in differences.values()),
    }

