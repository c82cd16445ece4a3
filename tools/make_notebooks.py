"""`make notebooks`: write every notebook from its Markdown source, and run in full those whose code changed.

The sources, in notebooks/source/, are MyST Markdown (read with jupytext): prose and formulas as Markdown,
code in ```{code-cell}``` blocks, cell tags after ``:tags:``. Nothing of the chapter is written here.

- word2vec-pretraining.md is the chapter, once for the four frameworks: it becomes
  notebooks/<framework>/word2vec-pretraining.ipynb for every framework with a chapter notebook. In it,
  ``{{ framework }}``, ``{{ title }}``, ``{{ siblings }}`` and ``{{ install }}`` stand for the framework's
  import name, its title, links to the other chapter notebooks and (a Python string) how to install the
  package with it. A ```{only} torch``` block of prose, and a code cell tagged ``only-torch``, are kept in
  the PyTorch notebook alone.
- The chapter is written twice per framework: the teacher's notebook (above, with the outputs of a full run)
  and the student's, notebooks/student/<framework>/word2vec-pretraining.ipynb, without outputs. The solution
  regions of the code cells (``# BEGIN SOLUTION`` ... ``# END SOLUTION``, tools/solutions.py) are solved in the
  first and outlines to fill in in the second; ```{only} teacher``` and ```{only} student``` blocks, and code
  cells tagged ``only-student``, go into that variant alone.
- compare-frameworks.md, extensions.md and approximate-training.md become notebooks/compare-frameworks.ipynb,
  extensions.ipynb and approximate-training.ipynb.
- ``<!-- ... -->`` comments are notes for authors and are left out.

The committed notebooks carry the outputs of a full run (5 epochs, on the CPU, in the book environment),
so that a reader sees results on GitHub before running anything. Writing a notebook keeps the outputs of
every code cell whose source did not change. Running one (``--execute``) records, in the notebook's
metadata, a hash of the code cells it ran; a notebook whose code no longer matches that hash is stale, and
``--execute`` runs exactly the stale ones. The tests fail on a stale notebook or one that differs from what
this writes.

    python tools/make_notebooks.py             write the notebooks, report the stale ones
    python tools/make_notebooks.py --execute   write them, then run the stale ones in full (book environment)
    python tools/make_notebooks.py --execute --all   run every one (the package changed what they show)
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import re
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import jupytext
import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
import solutions  # noqa: E402
from backends.common.frameworks import CHAPTER_FRAMEWORKS, REGISTRY  # noqa: E402
from backends.display.notebook import BUDGET  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent

SOURCES = ROOT / "notebooks" / "source"
CHAPTER = "word2vec-pretraining"
# What each notebook trains with (the tests run it only where that is installed); None: whatever is installed.
OTHERS = {"compare-frameworks": None, "extensions": "jax", "approximate-training": "torch"}
ONLY_TAG = "only-"  # a code cell tagged only-jax is written into the JAX notebook alone
TEACHER, STUDENT = "teacher", "student"  # the chapter's two variants: notebooks/<framework>/, notebooks/student/
MARKED = "marked"  # the student notebook with its solutions between markers, for nbgrader or otter-grader (--marked)
VARIANTS = (TEACHER, STUDENT)
STUDENT_DROPS = ("nbval-check-output",)  # a student notebook has no outputs for nbval to compare
ONLY = re.compile(r"```\{only\} (\w+)\n(.*?)\n```\n*", re.DOTALL)
COMMENT = re.compile(r"<!--.*?-->\n*", re.DOTALL)
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
ENVIRONMENT_MARKER = Path(sys.prefix) / "w2v-environment"


def _read(name: str) -> nbformat.NotebookNode:
    return jupytext.read(SOURCES / f"{name}.md", fmt="md:myst")


def _substitute(text: str, framework: str | None, variant: str = TEACHER) -> str:
    """Resolve ``{only}`` blocks and ``{{ ... }}`` for ``framework`` (None: a notebook of its own) and ``variant``."""
    text = COMMENT.sub("", text)
    if framework is None:
        return text
    text = ONLY.sub(lambda block: block.group(2) + "\n\n" if block.group(1) in (framework, variant) else "", text)
    siblings = [
        f"[{REGISTRY[name].title}](../{name}/{CHAPTER}.ipynb)" for name in CHAPTER_FRAMEWORKS if name != framework
    ]
    values = {
        "framework": framework,
        "title": REGISTRY[framework].title,
        "siblings": "Sibling notebooks in " + ", ".join(siblings[:-1]) + " and " + siblings[-1],
        "install": repr(REGISTRY[framework].notebook_install()),
    }
    return re.sub(r"\{\{ (\w+) \}\}", lambda field: values[field.group(1)], text).rstrip("\n")


def _for(cell: nbformat.NotebookNode, framework: str | None, variant: str) -> bool:
    """Whether ``cell`` belongs in ``framework``'s ``variant`` notebook: a cell tagged ``only-<framework>`` goes
    in that framework's alone, one tagged ``only-student`` in the student notebooks alone."""
    only = [tag.removeprefix(ONLY_TAG) for tag in cell.metadata.get("tags", []) if tag.startswith(ONLY_TAG)]
    frameworks, variants = [n for n in only if n not in VARIANTS], [n for n in only if n in VARIANTS]
    return (not frameworks or framework in frameworks) and (not variants or variant in variants)


def _code(text: str, variant: str) -> str:
    """A code cell's text in ``variant``: the solution regions solved (teacher), left as outlines (student), or
    kept with their markers (marked: nbgrader's and otter-grader's source notebook)."""
    return {STUDENT: solutions.blanked, MARKED: lambda code: code}.get(variant, solutions.solved)(text)


def _nbgrader(cell: nbformat.NotebookNode, framework: str) -> dict:
    """nbgrader's metadata of a cell with solution regions: an ungraded solution cell (nbgrader refuses regions in
    a cell not marked so), named by the function it defines."""
    name = re.search(r"^def (\w+)", cell.source, re.MULTILINE)
    return {
        "grade": False,
        "grade_id": f"{framework}-{name.group(1) if name else cell.id}",
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }


def build(name: str, framework: str | None = None, variant: str = TEACHER) -> nbformat.NotebookNode:
    """The notebook written from source ``name`` (for ``framework``, if the chapter), without outputs: the
    teacher's (the committed notebooks with their outputs) or the student's (blanks to fill in, no outputs)."""
    source = _read(name)
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": KERNELSPEC,
        "language_info": {"name": "python"},
        "w2v": {"trains": framework or OTHERS[name], **({"student": True} if variant != TEACHER else {})},
    }
    audience = TEACHER if variant == TEACHER else STUDENT  # whose prose and cells: the marked notebook is a student's
    kept = (
        cell
        for cell in source.cells
        if _for(cell, framework, audience) and _substitute(cell.source, framework, audience).strip()
    )
    for index, cell in enumerate(kept):
        text = _substitute(cell.source, framework, audience)
        new = (
            nbformat.v4.new_code_cell(_code(text, variant))
            if cell.cell_type == "code"
            else nbformat.v4.new_markdown_cell(text)
        )
        dropped = STUDENT_DROPS if variant != TEACHER else ()
        tags = [tag for tag in cell.metadata.get("tags", []) if not tag.startswith(ONLY_TAG) and tag not in dropped]
        if tags:
            new.metadata["tags"] = tags
        new.id = f"{framework or name.split('-')[0]}-{index:02d}"
        if variant == MARKED and solutions.regions(new.source):
            new.metadata["nbgrader"] = _nbgrader(new, framework)
        notebook.cells.append(new)
    return notebook


def notebooks() -> dict[str, nbformat.NotebookNode]:
    """Every notebook as written from its source, by its path under notebooks/, without outputs."""
    result = {f"{framework}/{CHAPTER}.ipynb": build(CHAPTER, framework) for framework in CHAPTER_FRAMEWORKS}
    result.update({f"{name}.ipynb": build(name) for name in OTHERS})
    return result


def student_notebooks() -> dict[str, nbformat.NotebookNode]:
    """The student notebooks, by their path under notebooks/: the chapter with blanks, one per framework."""
    return {
        f"{STUDENT}/{framework}/{CHAPTER}.ipynb": build(CHAPTER, framework, STUDENT) for framework in CHAPTER_FRAMEWORKS
    }


def code_hash(notebook: nbformat.NotebookNode) -> str:
    """A hash of the notebook's code cells, in order: what its outputs must come from."""
    code = [cell.source for cell in notebook.cells if cell.cell_type == "code"]
    return hashlib.sha1("\n\0".join(code).encode()).hexdigest()


def stale(notebook: nbformat.NotebookNode) -> bool:
    """Whether the notebook's outputs were not made by the code it now holds (or it was never run)."""
    return notebook.metadata.get("w2v", {}).get("executed", {}).get("code") != code_hash(notebook)


def keep_outputs(new: nbformat.NotebookNode, old: nbformat.NotebookNode | None) -> nbformat.NotebookNode:
    """``new`` with the outputs of ``old``'s code cells whose id and source are unchanged, and ``old``'s record
    of its run (which then tells whether those outputs still belong to this code)."""
    if old is None:
        return new
    previous = {cell.id: cell for cell in old.cells if cell.cell_type == "code"}
    for cell in new.cells:
        match = previous.get(cell.id)
        if cell.cell_type == "code" and match is not None and match.source == cell.source:
            cell.outputs, cell.execution_count = match.outputs, match.execution_count
    if "executed" in old.metadata.get("w2v", {}):
        new.metadata["w2v"]["executed"] = old.metadata["w2v"]["executed"]
    return new


def render(notebook: nbformat.NotebookNode) -> str:
    return nbformat.writes(notebook) + "\n"


def execute(notebook: nbformat.NotebookNode, folder: Path) -> nbformat.NotebookNode:
    """Run every cell in full (the chapter's 5 epochs) in ``folder`` and record what made the outputs."""
    from nbclient import NotebookClient

    environment = ENVIRONMENT_MARKER.read_text().strip() if ENVIRONMENT_MARKER.is_file() else None
    if environment != "book":
        raise SystemExit(
            "the committed outputs come from the book environment, which has every framework: "
            "run `make notebooks PROFILE=book`."
        )
    os.environ.pop(BUDGET, None)
    start = time.perf_counter()
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=3600,
        record_timing=False,
        resources={"metadata": {"path": str(folder)}},
    ).execute()
    notebook.metadata.pop("widgets", None)  # no widget state in the repository
    notebook.metadata["language_info"] = {"name": "python"}  # as written, not the kernel's details of the day
    notebook.metadata["w2v"]["executed"] = {
        "code": code_hash(notebook),
        "environment": environment,
        "python": platform.python_version(),
        "max_steps": None,
    }
    print(f"  ran in {time.perf_counter() - start:.0f} s")
    return notebook


def write_marked(folder: Path) -> None:
    """The student notebooks with the solutions in place between their markers, to ``folder``/<framework>/: the
    source notebooks nbgrader's generate_assignment (or otter-grader) makes its own student version from."""
    for framework in CHAPTER_FRAMEWORKS:
        notebook = build(CHAPTER, framework, MARKED)
        path = folder / framework / f"{CHAPTER}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(notebook), encoding="utf-8")
        print(f"wrote {path}")


def main(run: bool, every: bool, named: Sequence[str] = ()) -> int:
    """Write every notebook, keeping the outputs of unchanged code; with ``run``, run the stale ones in full,
    and every one (``every``) or those ``named`` (paths under notebooks/) whatever their state."""
    unknown = sorted(set(named) - set(notebooks()))
    if unknown:
        print(f"error: no notebook {', '.join(unknown)}: name one of {', '.join(notebooks())}", file=sys.stderr)
        return 2
    left_stale = []
    for name, notebook in notebooks().items():
        path = ROOT / "notebooks" / name
        old = nbformat.read(path, as_version=4) if path.is_file() else None
        notebook = keep_outputs(notebook, old)
        if run and (every or name in named or stale(notebook)):
            print(f"running {path.relative_to(ROOT)} in full ...", flush=True)
            notebook = execute(notebook, path.parent)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(notebook), encoding="utf-8")
        print(
            f"wrote {path.relative_to(ROOT)}{' (stale: its outputs are not from this code)' if stale(notebook) else ''}"
        )
        left_stale += [name] if stale(notebook) else []
    if left_stale:
        print(f"{len(left_stale)} notebook(s) stale; `make notebooks` runs them (tests fail until then).")
    for name, notebook in student_notebooks().items():  # handed out without outputs: nothing to keep or run
        path = ROOT / "notebooks" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(notebook), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--execute", action="store_true", help="run the stale notebooks in full")
    parser.add_argument(
        "--all",
        action="store_true",
        help="with --execute: run every notebook, stale or not (after "
        "a change to the package that changes their outputs)",
    )
    parser.add_argument(
        "--marked",
        type=Path,
        metavar="DIR",
        help="write only the student notebooks with their solutions between markers, for nbgrader or "
        "otter-grader, to DIR/<framework>/",
    )
    parser.add_argument(
        "--run",
        nargs="+",
        default=(),
        metavar="NOTEBOOK",
        help="with --execute: run these too (paths under notebooks/, such as torch/word2vec-pretraining.ipynb), "
        "stale or not: those that show backend code which changed (tests/test_shown_code.py names them)",
    )
    arguments = parser.parse_args()
    if arguments.marked:
        write_marked(arguments.marked)
        sys.exit(0)
    sys.exit(main(arguments.execute, arguments.all, arguments.run))
