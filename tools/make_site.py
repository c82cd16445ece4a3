"""`make site`: the companion site, built offline with Sphinx into site/_build/html.

Nothing trains: the pages come from what is committed. This stages them under site/_build/src in the
repository's own layout, so that the relative links written for GitHub resolve on the site too, then runs
Sphinx with site/conf.py:

- index.md: the README (what this is, the loss curves, how to run it), then the list of every page;
- notebooks/word2vec-pretraining.md: the four chapter notebooks merged (tools/merge_notebooks.py): what is
  the same once, where they differ a tab per framework; the notebook files themselves are linked to download,
  with the student notebooks and the package's wheel (tools/make_wheel.py) beside them;
- notebooks/compare-frameworks.ipynb, extensions.ipynb and approximate-training.ipynb, rendered with their outputs
  by myst-nb, the frameworks' code side by side (``side_by_side.show``) as a tab set synced with the chapter's;
- docs/*.md, the pages on environments, the command line, results, performance, reliability and maintenance;
- backends/<framework>.py, copied into the built site as they are: the side-by-side code links to them.

    python tools/make_site.py      build, then print where the site is and how to open it
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_wheel import wheel_into  # noqa: E402
from merge_notebooks import merge, tab_set  # noqa: E402

from backends.common.frameworks import CHAPTER_FRAMEWORKS, REGISTRY  # noqa: E402
from backends.common.package import WHEEL  # noqa: E402
from backends.display import side_by_side  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "site" / "_build"
STAGE, HTML = BUILD / "src", BUILD / "html"
CHAPTER = "word2vec-pretraining"
BOOK = "https://d2l.ai/chapter_natural-language-processing-pretraining/word2vec-pretraining.html"
PAGES = [
    "notebooks/word2vec-pretraining",
    "notebooks/compare-frameworks",
    "notebooks/extensions",
    "notebooks/approximate-training",
    "docs/results",
    "docs/teaching",
    "docs/environments",
    "docs/command-line",
    "docs/performance",
    "docs/reliability",
    "docs/maintainers",
    "docs/summary",
]


def _chapter_page() -> str:
    """The merged chapter, under a title and the links to its notebook files and the book."""
    notebooks = {}
    for name in CHAPTER_FRAMEWORKS:
        notebook = nbformat.read(ROOT / "notebooks" / name / f"{CHAPTER}.ipynb", as_version=4)
        first = notebook.cells[0]
        first.source = re.sub(r"\A# .*\n+", "", first.source)  # the page has one title for the four
        notebooks[name] = notebook
    titles = {name: REGISTRY[name].title for name in CHAPTER_FRAMEWORKS}
    body = merge(notebooks, titles, STAGE / "notebooks" / "_images")
    body = body.replace("](../", "](")  # the notebooks sit one folder deeper than this page
    files = ", ".join(f"{{download}}`{titles[name]} <{name}/{CHAPTER}.ipynb>`" for name in CHAPTER_FRAMEWORKS)
    students = ", ".join(
        f"{{download}}`{titles[name]} <student/{name}/{CHAPTER}.ipynb>`" for name in CHAPTER_FRAMEWORKS
    )
    return (
        f"# Pretraining word2vec on the Penn Treebank, in four frameworks\n\n"
        f"The companion to [section 15.4 of Dive into Deep Learning]({BOOK}), with a tab per framework wherever "
        f"the four notebooks differ: choose one and every tab on the page (and on the other pages) follows. "
        f"The notebook files: {files}. The package they need, one file with the data inside: "
        f"{{download}}`{WHEEL} <{WHEEL}>`; put it in the notebook's folder (in Colab, upload it to the session's "
        f'files) and install it from a cell with `%pip install "{WHEEL}[torch]"` (or `[mxnet]`, `[jax]`, '
        f"`[tensorflow]`), then restart the kernel. The student notebooks, with blanks to fill in and no "
        f"outputs ([teaching with them](../docs/teaching.md)): {students}.\n\n{body}"
    )


def _code_in_tabs(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` with the output of each ``side_by_side.show`` (the frameworks' code one after the other, as
    Jupyter and GitHub show it) made a tab set instead, in the chapter page's sync group: choosing a framework in
    one tab set chooses it everywhere."""
    cells = []
    for cell in notebook.cells:
        cells.append(cell)
        for names in side_by_side.shown_in(cell.source) if cell.cell_type == "code" else []:
            cell.outputs = [output for output in cell.outputs if output.output_type != "execute_result"]
            titles = {name: REGISTRY[name].title for name in CHAPTER_FRAMEWORKS}
            versions = {name: _raw_link(code) for name, code in side_by_side.versions(*names).items()}
            cells.append(nbformat.v4.new_markdown_cell(tab_set(versions, titles)))
    notebook.cells = cells
    return notebook


def _raw_link(markdown: str) -> str:
    """``markdown`` with its links to the backend files as HTML anchors: Sphinx would take a Markdown link for a
    page of the site and find none, and the files are copied beside the pages once they are built."""
    return re.sub(r"\[`([^`]+)`\]\((\.\./backends/[^)]+)\)", r'<a href="\2"><code>\1</code></a>', markdown)


def _index() -> str:
    """The README as the front page, with the site's pages listed after it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    pages = "\n".join(PAGES)
    return f"{readme}\n## The pages of this site\n\n```{{toctree}}\n:maxdepth: 1\n\n{pages}\n```\n"


def stage() -> None:
    shutil.rmtree(STAGE, ignore_errors=True)
    (STAGE / "notebooks").mkdir(parents=True)
    shutil.copytree(ROOT / "docs", STAGE / "docs")
    for name in ("compare-frameworks", "extensions", "approximate-training"):
        notebook = _code_in_tabs(nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4))
        nbformat.write(notebook, STAGE / "notebooks" / f"{name}.ipynb")
    for name in CHAPTER_FRAMEWORKS:
        (STAGE / "notebooks" / name).mkdir()
        shutil.copy(ROOT / "notebooks" / name / f"{CHAPTER}.ipynb", STAGE / "notebooks" / name)
        (STAGE / "notebooks" / "student" / name).mkdir(parents=True)
        shutil.copy(ROOT / "notebooks" / "student" / name / f"{CHAPTER}.ipynb", STAGE / "notebooks" / "student" / name)
    wheel_into(STAGE / "notebooks")  # beside the notebooks, as the chapter page offers them
    (STAGE / "notebooks" / f"{CHAPTER}.md").write_text(_chapter_page(), encoding="utf-8")
    (STAGE / "index.md").write_text(_index(), encoding="utf-8")
    for page in [*STAGE.rglob("*.md"), *STAGE.glob("notebooks/*.ipynb")]:
        page.write_text(_relinked(page, page.read_text(encoding="utf-8")), encoding="utf-8")


def _relinked(page: Path, text: str) -> str:
    """``text`` of the staged ``page`` with its links to a chapter notebook led to the merged chapter page, and
    those to the README to the front page; every other link stays as GitHub has it."""
    moved = {STAGE / "README.md": STAGE / "index.md"}
    moved.update(
        {
            STAGE / "notebooks" / name / f"{CHAPTER}.ipynb": STAGE / "notebooks" / f"{CHAPTER}.md"
            for name in CHAPTER_FRAMEWORKS
        }
    )

    def relink(link: re.Match) -> str:
        target, anchor = link.group(1), link.group(2) or ""
        new = moved.get(Path(os.path.normpath(page.parent / target)))
        return link.group(0) if new is None else f"]({os.path.relpath(new, page.parent)}{anchor})"

    return re.sub(r"\]\(([^)#:\s]+)(#[^)\s]*)?\)", relink, text)


def build() -> Path:
    """Stage the pages and build the site; Sphinx's warnings (a broken link, a missing image) fail it."""
    start = time.perf_counter()
    stage()
    shutil.rmtree(HTML, ignore_errors=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-q",
            "-W",
            "--keep-going",
            "-c",
            str(ROOT / "site"),
            str(STAGE),
            str(HTML),
        ],
        cwd=ROOT,
    )
    if done.returncode:
        raise SystemExit(f"the site did not build (Sphinx said why, above); exit code {done.returncode}.")
    (HTML / "backends").mkdir()
    for name in CHAPTER_FRAMEWORKS:  # the side-by-side code links to the lines of these files
        shutil.copy(ROOT / "backends" / f"{name}.py", HTML / "backends")
    print(
        f"built the site in {time.perf_counter() - start:.0f} s: {HTML / 'index.html'}; serve it with "
        f"`python -m http.server -d {HTML.relative_to(ROOT)}` and open http://127.0.0.1:8000"
    )
    return HTML


if __name__ == "__main__":
    build()
