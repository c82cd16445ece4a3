"""Grading students' notebooks: ``python -m backends grade SUBMISSION.ipynb... --out DIR``.

Each submission (any of the chapter's frameworks, mixed in one call) runs in a process of its own
(:mod:`backends.grading.worker`), in a fresh temporary folder holding a copy of it, with a Jupyter kernel of its
own; the checks cell (:mod:`backends.grading.checks`) appended to it checks the student's ``my_skip_gram``,
``my_masked_bce`` and ``my_step`` and trains with those that agree. This module starts that process and watches it
from outside: past the wall-clock limit for the whole notebook, or with the resident memory of the worker and
everything it started (the kernel included) summed over the memory limit, it kills the whole process tree. A check
that wrote no answer (the run stopped before it) is "not attempted", with why.

After every submission, DIR's ``grades.jsonl``, ``grades.csv`` and ``grades.md`` are written again, whole and
atomically, so an interrupted grading keeps the rows it finished. ``DIR/<name>.executed.ipynb`` is the notebook as
it ran (as far as it got, its outputs cut short) and ``DIR/<name>.log`` the end of its worker's output.

Grading runs the students' code as the teacher's user, with the teacher's files reachable: a notebook can read,
change or delete whatever the teacher can. The limits (time, memory, a temporary working folder, outputs and
files cut short) stop runaway notebooks, not malicious ones. For code you do not trust, run the grading in a
container or under a throwaway account.
"""

from __future__ import annotations

import contextlib
import csv
import importlib.util
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

try:
    import psutil
except ImportError:  # the grade extra is missing: grade() says what to install before anything needs it
    psutil = None

import backends
from backends.common.errors import W2VError
from backends.common.files import to_json, writable_folder, write_text
from backends.common.frameworks import CHAPTER_FRAMEWORKS, Framework
from backends.common.messages import agreeing
from backends.grading.checks import CHECKS

EXTRA = ("nbclient", "nbformat", "ipykernel", "psutil")  # the grade extra's packages (each imported by that name)
GRADING = Framework("grade", "grading", EXTRA, "grade", chapter=False)  # described as a framework: how to install it
POLL_SECONDS = 0.5  # how often the memory of a submission's processes is summed, and the clock looked at
LOG_TAIL = 20_000  # bytes of the end of a worker's output kept in DIR/<name>.log
MAX_CELL_SECONDS = 300  # one student's cell's limit, at most; it is half the whole limit where that is less
EXECUTED = ".executed.ipynb"  # DIR/<name><EXECUTED>: a submission as it ran; a folder's such files are not graded


@dataclass(frozen=True)
class Limits:
    """What one submission may use: wall-clock seconds for the whole notebook, resident memory in MB (the
    process tree's total), and the step budget (``W2V_MAX_STEPS``) its own training cells run with."""

    seconds: float = 600
    memory_mb: int = 4096
    steps: int = 200

    @property
    def cell_seconds(self) -> float:
        """One student's cell's limit: where it runs past it, the cell is interrupted and the next ones still run,
        so a cell that hangs leaves time for the rest of the notebook and the checks."""
        return min(MAX_CELL_SECONDS, self.seconds / 2)


def _require_extra() -> None:
    """Refuse where the packages grading needs (the ``grade`` extra) are missing, naming them and the install."""
    missing = [package for package in EXTRA if importlib.util.find_spec(package) is None]
    if missing:
        raise W2VError(
            f"grading needs {', '.join(missing)}, which {agreeing(len(missing), 'is', 'are')} not "
            f"installed: the grade extra. {GRADING.how_to_install()} Nothing was graded."
        )


def _check_limits(limits: Limits) -> None:
    for option, value, what in (
        ("--timeout", limits.seconds, "the seconds each notebook may run"),
        ("--memory", limits.memory_mb, "the MB of memory each notebook may use"),
        ("--steps", limits.steps, "the training steps each notebook's cells may take"),
    ):
        if not value > 0:
            raise W2VError(f"{option} {value:g} is out of range: give {what}, more than 0. Nothing was graded.")


def submissions(paths: Iterable[str | Path]) -> list[Path]:
    """The notebooks to grade: each file given, and every ``*.ipynb`` inside each folder given, sorted (but a
    grading's own ``*.executed.ipynb``). Refuses no submission at all, a path that does not exist, a folder with no
    notebook, and two submissions of one name (their grades and executed copies would overwrite each other)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if not path.exists():
            raise W2VError(
                f"{path} does not exist: give submitted notebooks (.ipynb files) or folders of them. "
                f"Nothing was graded."
            )
        if path.is_dir():
            inside = sorted(p for p in path.glob("*.ipynb") if p.is_file() and not p.name.endswith(EXECUTED))
            if not inside:
                raise W2VError(
                    f"the folder {path} holds no notebook (*.ipynb): give the folder the submissions are "
                    f"in, or the notebooks themselves. Nothing was graded."
                )
            found += inside
        else:
            found.append(path)
    if not found:
        raise W2VError(
            "no submissions to grade: give notebooks (.ipynb files) or folders of them, e.g. "
            "`python -m backends grade submissions/ --out grades`."
        )
    by_name: dict[str, Path] = {}
    for path in found:
        if path.stem in by_name and by_name[path.stem].resolve() == path.resolve():
            raise W2VError(f"{path} is given twice: give each submission once. Nothing was graded.")
        if path.stem in by_name:
            raise W2VError(
                f"two submissions are named {path.stem} ({by_name[path.stem]} and {path}): their grades "
                f"and executed notebooks would overwrite each other in the output folder. Rename one, or "
                f"grade them in two calls with different --out folders. Nothing was graded."
            )
        by_name[path.stem] = path
    return found


def _output_folder(out: str | Path) -> Path:
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise W2VError(
            f"--out {out} is a file: the grades go into a folder. Give a folder's path (it is made where "
            f"it does not exist). Nothing was graded."
        )
    return writable_folder(out)


def grade(
    paths: Iterable[str | Path],
    out: str | Path,
    limits: Limits = Limits(),
    report: Callable[[dict[str, Any]], None] = lambda row: None,
) -> list[dict[str, Any]]:
    """Grade every submission of ``paths`` (files, or folders of ``*.ipynb``) one after the other, each within
    ``limits``, writing the grades into ``out`` after each and calling ``report`` with its row; returns the rows.

    Everything a user can get wrong is refused before the first submission runs."""
    _require_extra()
    _check_limits(limits)
    notebooks = submissions(paths)
    folder = _output_folder(out)
    rows: list[dict[str, Any]] = []
    for notebook in notebooks:
        rows.append(grade_one(notebook, folder, limits))
        write_grades(folder, rows)
        report(rows[-1])
    return rows


def grade_one(notebook: Path, out: Path, limits: Limits) -> dict[str, Any]:
    """Run one submission's worker in a fresh temporary folder within ``limits``, copy its executed notebook and
    the end of its log into ``out``, and return its grade row; the folder is removed however it ends.

    The notebook runs in a folder of its own inside it, which holds only its copy; the worker's files are beside."""
    folder = Path(tempfile.mkdtemp(prefix="w2v-grade-"))
    try:
        copy = folder / "notebook" / notebook.name
        copy.parent.mkdir()
        shutil.copyfile(notebook, copy)
        files = {
            name: folder / f"{name}.{kind}"
            for name, kind in (("state", "json"), ("checks", "jsonl"), ("executed", "ipynb"), ("worker", "log"))
        }
        command = [
            sys.executable,
            "-m",
            "backends.grading.worker",
            str(copy),
            "--state",
            str(files["state"]),
            "--checks",
            str(files["checks"]),
            "--executed",
            str(files["executed"]),
            "--cell-timeout",
            f"{limits.cell_seconds:g}",
        ]
        started = time.monotonic()
        with files["worker"].open("wb") as log:
            worker = subprocess.Popen(
                command,
                cwd=copy.parent,
                env=_environment(limits),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            stopped = _watch(worker, limits)
        seconds = time.monotonic() - started
        tail = _tail(files["worker"])
        write_text(out / f"{notebook.stem}.log", tail)
        if files["executed"].is_file():
            write_text(out / f"{notebook.stem}{EXECUTED}", files["executed"].read_text(encoding="utf-8"))
        state = _read_json(files["state"]) or {}
        stopped = stopped or _stopped_inside(state, worker.returncode, tail)
        return _row(notebook, state, _answers(files["checks"]), stopped, seconds)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _environment(limits: Limits) -> dict[str, str]:
    """The worker's (and so its kernel's) environment: the step budget, and this very package first on the path,
    so that the kernel, started in a temporary folder, imports the grader's ``backends``."""
    package_root = str(Path(backends.__file__).resolve().parent.parent)
    path = os.pathsep.join(filter(None, (package_root, os.environ.get("PYTHONPATH"))))
    return {**os.environ, "W2V_MAX_STEPS": str(limits.steps), "PYTHONPATH": path}


def _watch(worker: subprocess.Popen, limits: Limits) -> str | None:
    """Wait for ``worker`` to end, killing its whole process tree where it passes a limit first: why it was
    stopped ("time limit of N s", "memory limit of N MB"), or None. Whatever it started that is still running when
    it ends (a kernel it left behind, or all of them on Ctrl-C) is killed too."""
    root = psutil.Process(worker.pid)
    seen = {worker.pid: root}  # every descendant met: a kernel whose parent died is no longer its descendant
    deadline = time.monotonic() + limits.seconds
    try:
        while True:
            try:
                worker.wait(timeout=POLL_SECONDS)
                return None
            except subprocess.TimeoutExpired:
                pass
            tree = _tree(root, seen)
            if _resident(tree) > limits.memory_mb * 2**20:
                return f"memory limit of {limits.memory_mb:g} MB"
            if time.monotonic() >= deadline:
                return f"time limit of {limits.seconds:g} s"
    finally:
        _tree(root, seen)
        for process in seen.values():
            with contextlib.suppress(psutil.Error):  # ended meanwhile
                process.kill()  # psutil makes sure that it is still the process met, not a new one with its id
        psutil.wait_procs([process for pid, process in seen.items() if pid != worker.pid], timeout=10)
        worker.wait()  # the worker is reaped here, by its Popen, which keeps its exit code


def _tree(root: psutil.Process, seen: dict[int, psutil.Process]) -> list[psutil.Process]:
    """``root`` and its descendants now, each also recorded in ``seen``."""
    try:
        children = root.children(recursive=True)
    except psutil.NoSuchProcess:  # the worker has ended: its tree with it, or orphaned (and in ``seen``)
        return []
    for child in children:
        seen.setdefault(child.pid, child)
    return [root, *children]


def _resident(processes: list[psutil.Process]) -> int:
    """The resident memory of ``processes`` summed, in bytes (a process that ended meanwhile counts 0)."""
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.Error):
            total += process.memory_info().rss
    return total


def _tail(log: Path) -> str:
    """The last :data:`LOG_TAIL` bytes of a worker's log, as text."""
    with log.open("rb") as file:
        file.seek(max(0, log.stat().st_size - LOG_TAIL))
        return file.read().decode("utf-8", errors="replace")


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # not written: the worker was stopped before it wrote it
        return None


def _answers(path: Path) -> dict[str, dict[str, str]]:
    """The checks cell's answers, by check: a line cut short by a kill is left out."""
    answers: dict[str, dict[str, str]] = {}
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.is_file() else []
    for line in lines:
        with contextlib.suppress(ValueError):
            answer = json.loads(line)
            answers.setdefault(answer["check"], {"status": answer["status"], "message": answer["message"]})
    return answers


def _stopped_inside(state: dict[str, Any], returncode: int, log: str) -> str | None:
    """Why a worker that ended by itself did not grade its notebook to the end, or None where it did."""
    if state.get("unreadable"):
        return f"the notebook is not readable: {state['unreadable']}"
    if state.get("finished") and state.get("framework") is None:
        return (
            f"no framework: neither the notebook's metadata (w2v.trains) nor a line `from backends import "
            f"<framework> as w2v` names one of {', '.join(CHAPTER_FRAMEWORKS)}"
        )
    if state.get("kernel_died"):
        return f"kernel died in cell {state['kernel_died']}"
    if not state.get("finished"):
        last = next((line.strip() for line in reversed(log.splitlines()) if line.strip()), "no output")
        return f"the grader's worker failed (exit code {returncode}): {last}"
    return None


def _row(
    notebook: Path, state: dict[str, Any], answers: dict[str, dict[str, str]], stopped: str | None, seconds: float
) -> dict[str, Any]:
    """One submission's grade: its checks, each answered or "not attempted" with why, and how its run went."""
    from backends.display.tryit import NOT_ATTEMPTED, PASSED  # where used: tryit imports the numpy backend and SciPy

    if state.get("unreadable"):
        missing = f"the file is not a notebook nbformat can read: {state['unreadable']}"
    elif stopped:
        missing = f"the run stopped before this check ({stopped})"
    else:
        missing = f"the checks cell recorded nothing for this check ({state.get('grading_error') or 'no error shown'})"
    checks = {check: answers.get(check, {"status": NOT_ATTEMPTED, "message": missing}) for check in CHECKS}
    return {
        "file": notebook.name,
        "framework": state.get("framework"),
        "checks": checks,
        "score": sum(answer["status"] == PASSED for answer in checks.values()),
        "seconds": round(seconds, 1),
        "stopped": stopped,
        "first_error": state.get("first_error"),
    }


def _first_error(row: dict[str, Any]) -> str | None:
    error = row["first_error"]
    return None if error is None else f"cell {error['cell']} raised {error['name']}: {error['value']}"


def write_grades(out: Path, rows: list[dict[str, Any]]) -> None:
    """``grades.jsonl``, ``grades.csv`` and ``grades.md`` in ``out``, each written whole and atomically."""
    write_text(out / "grades.jsonl", "".join(to_json(row) + "\n" for row in rows))
    table = io.StringIO()
    writer = csv.writer(table, lineterminator="\n")
    writer.writerow(["file", "framework", *CHECKS, "score", "seconds", "stopped"])
    for row in rows:
        writer.writerow(
            [
                row["file"],
                row["framework"] or "",
                *(row["checks"][check]["status"] for check in CHECKS),
                row["score"],
                row["seconds"],
                row["stopped"] or "",
            ]
        )
    write_text(out / "grades.csv", table.getvalue())
    write_text(out / "grades.md", markdown(rows))


def _cell(text: Any) -> str:
    """A value as a Markdown table cell shows it: one line, its pipes escaped."""
    return str(text).replace("\n", " ").replace("|", "\\|")


def markdown(rows: list[dict[str, Any]]) -> str:
    """The grades as Markdown: a table, one row per submission, then each submission's first error and the
    messages of its checks that did not pass."""
    from backends.display.tryit import PASSED  # where used, as in _row

    header = ["file", "framework", *CHECKS, "score", "seconds", "stopped"]
    lines = ["# Grades", "", f"| {' | '.join(header)} |", f"|{' --- |' * len(header)}"]
    for row in rows:
        cells = [
            row["file"],
            row["framework"] or "-",
            *(row["checks"][check]["status"] for check in CHECKS),
            f"{row['score']}/{len(CHECKS)}",
            f"{row['seconds']:.1f}",
            row["stopped"] or "",
        ]
        lines.append(f"| {' | '.join(map(_cell, cells))} |")
    for row in rows:
        lines += ["", f"## {row['file']}", ""]
        notes = [f"- first error: {_first_error(row)}"] if row["first_error"] else []
        said: dict[tuple[str, str], list[str]] = {}  # checks with the same answer (the run stopped, say) listed once
        for check, answer in row["checks"].items():
            if answer["status"] != PASSED:
                said.setdefault((answer["status"], answer["message"]), []).append(check)
        notes += [f"- {', '.join(checks)} ({status}): {message}" for (status, message), checks in said.items()]
        lines += notes or ["Every check passed."]
    return "\n".join(lines) + "\n"


def describe(row: dict[str, Any]) -> str:
    """One line on a graded submission, as the command prints it when the submission is done."""
    stopped = f", stopped: {row['stopped']}" if row["stopped"] else ""
    return (
        f"{row['file']}: {row['framework'] or 'no framework'}, {row['score']}/{len(CHECKS)}, "
        f"{row['seconds']:.1f} s{stopped}"
    )


def written(out: str | Path) -> str:
    """Where the grades are, as the command says at its end."""
    out = Path(out)
    return (
        f"wrote {out / 'grades.jsonl'}, grades.csv and grades.md; each submission's executed notebook is "
        f"{out}/<name>{EXECUTED} and the end of its run's log {out}/<name>.log"
    )
