"""One submission executed: ``python -m backends.grading.worker NOTEBOOK --state S --checks C --executed E``.

The grader (:mod:`backends.grading.run`) starts this in a process of its own, in a temporary folder holding a copy
of the notebook, and enforces the limits on the whole run (time, memory) from outside. Here, the notebook is read,
its framework worked out, the checks cell (:data:`backends.grading.checks.CELL`) appended, and every cell executed
in a fresh Jupyter kernel, errors allowed: a student's cell that raises is recorded, and the cells after it run, so
that the functions defined elsewhere are still checked.

After every cell, ``S`` (JSON) says what is known so far and ``E`` holds the notebook as executed so far, its
outputs cut short (:data:`OUTPUT_LIMIT`): the grader reads both however the run ends, killed by a limit included.
The checks cell writes its answers to ``C``, one JSON line per check.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from backends.common.files import write_text
from backends.common.frameworks import CHAPTER_FRAMEWORKS
from backends.grading import checks

OUTPUT_LIMIT = 10_000  # characters of one output's text kept in the executed notebook: its start and its end
FIGURE_LIMIT = 500_000  # characters of one output's other data (a figure's PNG, in base64) kept; a larger is dropped
OUTPUTS_PER_CELL = 20  # a cell's outputs kept beyond its merged streams (a loop of display() calls, say)
FILE_LIMIT = 64 * 2**20  # bytes: the largest file this process and the kernel may write (a chatty log, say)
LINE_LIMIT = 300  # characters of an exception's value kept in the record
IMPORT = re.compile(rf"^\s*from\s+backends\s+import\s+({'|'.join(CHAPTER_FRAMEWORKS)})\s+as\s+w2v\b", re.MULTILINE)


def framework_of(notebook: nbformat.NotebookNode) -> str | None:
    """The framework a submission trains: its metadata's ``w2v.trains`` (as the chapter's notebooks have), else
    the first code line ``from backends import <framework> as w2v``; None when neither names one."""
    w2v = notebook.metadata.get("w2v")
    named = w2v.get("trains") if isinstance(w2v, dict) else None
    if named in CHAPTER_FRAMEWORKS:
        return named
    for cell in notebook.cells:
        found = IMPORT.search(cell.source) if cell.cell_type == "code" else None
        if found:
            return found.group(1)
    return None


def one_line(text: str) -> str:
    """The first line of ``text`` that says something, at most :data:`LINE_LIMIT` characters."""
    line = next((line.strip() for line in str(text).splitlines() if line.strip()), "")
    return line if len(line) <= LINE_LIMIT else line[: LINE_LIMIT - 3] + "..."


def _cut(text: str) -> str:
    """``text`` as it is, or its start and end, :data:`OUTPUT_LIMIT` characters in all, with a note between."""
    if len(text) <= OUTPUT_LIMIT:
        return text
    half = OUTPUT_LIMIT // 2
    return f"{text[:half]}\n[... {len(text) - 2 * half:,} characters cut by the grader ...]\n{text[-half:]}"


def trim_outputs(cell: nbformat.NotebookNode) -> None:
    """Cut a cell's outputs short, in place: each text to :data:`OUTPUT_LIMIT` characters, other data over
    :data:`FIGURE_LIMIT` dropped, and outputs beyond :data:`OUTPUTS_PER_CELL` replaced by a note, so that a
    chatty notebook's executed copy stays small enough to open."""
    outputs = cell.get("outputs", [])
    kept = outputs[:OUTPUTS_PER_CELL]
    for output in kept:
        if output.output_type == "stream":
            output.text = _cut(output.text)
        elif output.output_type == "error":
            output.evalue, output.traceback = _cut(output.evalue), [_cut("\n".join(output.traceback))]
        else:  # display_data, execute_result
            for kind, value in list(output.data.items()):
                if isinstance(value, str) and kind.startswith("text/"):
                    output.data[kind] = _cut(value)
                elif len(value if isinstance(value, str) else json.dumps(value)) > FIGURE_LIMIT:
                    del output.data[kind]
                    output.data.setdefault(
                        "text/plain", f"[{kind} output over {FIGURE_LIMIT:,} characters, dropped by the grader]"
                    )
    if len(outputs) > OUTPUTS_PER_CELL:
        kept.append(
            nbformat.v4.new_output(
                "stream",
                name="stderr",
                text=f"[{len(outputs) - OUTPUTS_PER_CELL:,} more outputs dropped by the grader]\n",
            )
        )
    cell.outputs = kept


def raised(cell: nbformat.NotebookNode) -> tuple[str, str] | None:
    """The exception an executed cell raised, as (name, value on one line), or None where it raised none."""
    error = next((output for output in cell.get("outputs", []) if output.output_type == "error"), None)
    return None if error is None else (error.ename, one_line(error.evalue))


def execute(notebook: nbformat.NotebookNode, framework: str, args: argparse.Namespace, state: dict[str, Any]) -> None:
    """Execute ``notebook`` with the checks cell appended, recording into ``state`` (and its file) the first
    error of the student's cells, an error of the checks cell, and the cell where the kernel died if it did."""
    notebook.cells.append(nbformat.v4.new_code_cell(checks.CELL.format(framework=framework, path=str(args.checks))))
    grading = notebook.cells[-1]
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        allow_errors=True,
        interrupt_on_timeout=True,
        coalesce_streams=True,
        resources={"metadata": {"path": str(args.notebook.parent)}},
        # the checks cell has its own limit per check, and the grader's on the whole run
        timeout_func=lambda cell: None if cell is grading else args.cell_timeout,
    )
    with client.setup_kernel():
        for index, cell in enumerate(notebook.cells):
            started = time.monotonic()
            try:
                client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
            except DeadKernelError:
                state["kernel_died"] = index + 1
                break
            finally:
                trim_outputs(cell)
                write_text(args.executed, nbformat.writes(notebook))
            error = raised(cell)
            if error is not None and cell is grading:
                state["grading_error"] = ": ".join(error)
            elif error is not None and state["first_error"] is None:
                name, value = error
                if name == "KeyboardInterrupt" and time.monotonic() - started >= args.cell_timeout:
                    value = (
                        f"the cell ran longer than the per-cell limit of {args.cell_timeout:g} s and was interrupted"
                    )
                state["first_error"] = {"cell": index + 1, "name": name, "value": value}
            write_text(args.state, json.dumps(state))


def main(argv: list[str] | None = None) -> int:
    """Read, execute and record one submission (see the module's docstring); returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m backends.grading.worker", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path, help="the submission's copy, in the folder it runs in")
    parser.add_argument("--state", type=Path, required=True, help="where what is known so far goes (JSON)")
    parser.add_argument("--checks", type=Path, required=True, help="where the checks cell writes its JSON lines")
    parser.add_argument("--executed", type=Path, required=True, help="where the executed notebook goes")
    parser.add_argument("--cell-timeout", type=float, required=True, help="seconds one student's cell may run")
    args = parser.parse_args(argv)
    hard = resource.getrlimit(resource.RLIMIT_FSIZE)[1]
    limit = FILE_LIMIT if hard == resource.RLIM_INFINITY else min(FILE_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))  # inherited by the kernel
    state: dict[str, Any] = {
        "framework": None,
        "unreadable": None,
        "first_error": None,
        "grading_error": None,
        "kernel_died": None,
        "finished": False,
    }
    try:
        notebook = nbformat.read(args.notebook, as_version=4)
    except Exception as error:  # noqa: BLE001 - broken JSON, a schema nbformat does not know, bytes not UTF-8...
        state["unreadable"] = f"{type(error).__name__}: {one_line(str(error))}"
    else:
        state["framework"] = framework_of(notebook)
        write_text(args.state, json.dumps(state))
        if state["framework"] is not None:
            execute(notebook, state["framework"], args, state)
    state["finished"] = True
    write_text(args.state, json.dumps(state))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
