"""A framework trained in a process of its own (``python -m backends train``), and any task run that way.

A process per framework keeps one framework's crash or missing install from stopping the others, keeps their
thread pools and memory apart, and avoids a known segfault when TensorFlow is imported before MXNet in one
process. Nothing here raises for the failure of what it started: it is returned, as a status and the error.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from backends.common.errors import W2VError
from backends.common.frameworks import FRAMEWORKS, REGISTRY, framework
from backends.common.settings import Settings
from backends.common.signals import STOP_SIGNALS
from backends.experiments.runs import read_history

NOT_INSTALLED = "not installed"
INTERRUPTED = "interrupted"
PR_SET_PDEATHSIG = 1  # Linux's prctl option: the signal a process gets when its parent dies


def check_frameworks(frameworks: Iterable[str] | None) -> list[str]:
    """The requested names, validated (an unknown one is the user's mistake); None means every framework."""
    frameworks = list(FRAMEWORKS if frameworks is None else frameworks)
    if not frameworks:
        raise W2VError(f"no framework given; choose from {', '.join(FRAMEWORKS)}.")
    twice = sorted({name for name in frameworks if frameworks.count(name) > 1})
    if twice:
        raise W2VError(f"{', '.join(twice)} named more than once in --frameworks; name each framework once.")
    return [framework(name).name for name in frameworks]


def train_isolated(
    name: str,
    out: Path,
    options: Sequence[str] = (),
    progress: bool = True,
    started: Callable[[subprocess.Popen | None], None] = lambda process: None,
) -> dict:
    """Run ``python -m backends train`` for one framework in a fresh process; never raises for its failure.

    Returns the run's JSON summary with ``status`` "ok", or ``status`` "failed" and the error it printed,
    or, with no process started, ``status`` "not installed" and what to install. Progress bars pass
    through to this process's stderr as they come. ``started`` is told the process, and None when it ended.
    """
    if not REGISTRY[name].installed:
        return {
            "framework": name,
            "status": NOT_INSTALLED,
            "error": REGISTRY[name].how_to_install(),
            "wall_seconds": 0.0,
        }
    command = [sys.executable, "-m", "backends", "train", "--framework", name, "--out", str(out), "--json"]
    command += list(options) + ([] if progress else ["--no-progress"])
    start = time.perf_counter()
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    ) as process:
        started(process)
        errors = _relay(process.stderr, sys.stderr if progress else None)
        output = process.stdout.read() if process.stdout else ""
        code = process.wait()
        started(None)
    wall = time.perf_counter() - start
    if code == 0:
        return {**json.loads(output.strip().splitlines()[-1]), "status": "ok", "wall_seconds": wall}
    said = [line[len("error: ") :] for line in errors.splitlines() if line.startswith("error: ")]
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


def train_each(
    frameworks: Iterable[str], out: Path, settings: Settings, done: Callable[[str, dict], None] = lambda name, run: None
) -> dict[str, dict]:
    """Train each framework with ``settings`` into ``out``, one after the other, each in its own process and
    quietly: their runs as :func:`train_isolated` returns them, with the ``step_losses`` of each that trained
    (read from its history). ``done`` is told each run as it ends."""
    runs = {}
    for name in frameworks:
        run = runs[name] = train_isolated(name, out, settings.argv(), progress=False)
        if run["status"] == "ok":
            run["step_losses"] = read_history(out / name / "history.json").step_losses
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


def run_json(command: Sequence[str]) -> dict:
    """Run ``command`` (a task that prints its result as a JSON line last) in a fresh process and return that
    result, or {"error": the last line it printed to stderr} if it failed."""
    done = subprocess.run(list(command), capture_output=True, text=True)
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit code {done.returncode}"]
        return {"error": lines[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])
