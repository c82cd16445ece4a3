"""Merge notebooks that run the same cells in different frameworks into one MyST Markdown page.

The four chapter notebooks are written from one source, so they hold the same cells in the same order. The
page shows, cell by cell, what is the same in all of them once; where they differ it shows a sphinx-design
tab set with one tab per framework, all in the sync group ``framework``, so that choosing a framework in one
tab set switches every tab set on the page (and, as sphinx-design remembers it, on the other pages):

- a Markdown cell the same everywhere is copied as it is; in one that differs, the paragraphs all versions
  begin and end with are shown once and those between go in a tab set (a heading there becomes bold text,
  since a heading cannot sit inside a tab);
- a code cell the same everywhere is shown once; if its outputs differ (a loss curve, a speed), they alone
  go in a tab set; a code cell whose code differs (the import line) goes in a tab set, code and outputs.

Outputs become Markdown: text in ``text`` blocks, a PNG image as a file in the images folder (named by its
content, so equal pictures are stored once), Markdown as it is, a highlighted source (``show_source``) as a
Python block. Used by the site build; ``merge`` is the whole of it.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import nbformat

SYNC_GROUP = "framework"


def _fence(text: str, language: str) -> str:
    """``text`` in a fenced block, with a fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    return f"{fence}{language}\n{text.rstrip()}\n{fence}"


def _output(output: nbformat.NotebookNode, images: Path, link: str) -> str:
    """One output as Markdown; an image is written under ``images`` and linked as ``link``/name."""
    if output.output_type == "stream":
        return _fence(output.text, "text")
    if output.output_type == "error":
        return _fence(f"{output.ename}: {output.evalue}", "text")
    data = output.get("data", {})
    if "image/png" in data:
        png = base64.b64decode(data["image/png"])
        name = f"{hashlib.sha1(png).hexdigest()[:16]}.png"
        images.mkdir(parents=True, exist_ok=True)
        (images / name).write_bytes(png)
        return f"![output]({link}/{name})"
    if "text/markdown" in data:
        return data["text/markdown"].rstrip()
    if 'class="highlight' in data.get("text/html", ""):  # IPython's Code display: the source, highlighted
        return _fence(data["text/plain"], "python")
    return _fence(data.get("text/plain", ""), "text")


def _outputs(cell: nbformat.NotebookNode, images: Path, link: str) -> str:
    return "\n\n".join(_output(output, images, link) for output in cell.outputs)


def _code(cell: nbformat.NotebookNode) -> str:
    return _fence(cell.source, "ipython3")


def _in_a_tab(markdown: str) -> str:
    """Markdown that can sit inside a tab: headings become bold lines."""
    return re.sub(r"^#{1,6} +(.+)$", r"**\1**", markdown, flags=re.MULTILINE)


def tab_set(versions: dict[str, str], titles: dict[str, str]) -> str:
    """A tab set with one tab per framework (``versions``: framework → Markdown), in the sync group. An empty
    version is refused: Sphinx cannot build an empty tab, and a reader of that framework would see nothing."""
    empty = [titles[name] for name, body in versions.items() if not body.strip()]
    if empty:
        raise ValueError(
            f"the {', '.join(empty)} tab would be empty: where one framework's notebook has prose or "
            f"code of its own there, give every framework its version (an ``only`` block each)"
        )
    items = [
        f":::{{tab-item}} {titles[name]}\n:sync: {name}\n\n{_in_a_tab(body)}\n:::" for name, body in versions.items()
    ]
    return f"::::{{tab-set}}\n:sync-group: {SYNC_GROUP}\n\n" + "\n\n".join(items) + "\n::::"


def _once_or_tabs(versions: dict[str, str], titles: dict[str, str]) -> str:
    first = next(iter(versions.values()))
    return first if all(body == first for body in versions.values()) else tab_set(versions, titles)


def _markdown(versions: dict[str, str], titles: dict[str, str]) -> str:
    """A Markdown cell's versions: the paragraphs they open and end with in common shown once (so a section's
    heading stays a heading), the paragraphs between in a tab set."""
    paragraphs = [version.split("\n\n") for version in versions.values()]
    shortest = min(len(version) for version in paragraphs)
    same = lambda at: len({version[at] for version in paragraphs}) == 1  # noqa: E731
    head = next((at for at in range(shortest) if not same(at)), shortest)
    tail = next((at for at in range(shortest - head) if not same(-1 - at)), shortest - head)
    first = paragraphs[0]
    middles = {name: "\n\n".join(version[head : len(version) - tail]) for name, version in zip(versions, paragraphs)}
    parts = first[:head] + ([tab_set(middles, titles)] if any(middles.values()) else []) + first[len(first) - tail :]
    return "\n\n".join(parts)


def merge(
    notebooks: dict[str, nbformat.NotebookNode], titles: dict[str, str], images: Path, link: str = "_images"
) -> str:
    """The notebooks (framework → notebook, in tab order) as one MyST page; images go to ``images``, linked
    from the page as ``link``. The notebooks must hold the same kinds of cells in the same order."""
    columns = list(notebooks.values())
    shapes = {name: [cell.cell_type for cell in notebook.cells] for name, notebook in notebooks.items()}
    if len({tuple(shape) for shape in shapes.values()}) != 1:
        raise ValueError(
            "the notebooks do not hold the same cells in the same order: "
            + "; ".join(f"{name}: {len(shape)} cells" for name, shape in shapes.items())
        )
    blocks = []
    for row in zip(*(notebook.cells for notebook in columns)):
        cells = dict(zip(notebooks, row))
        if row[0].cell_type == "markdown":
            blocks.append(_markdown({name: cell.source for name, cell in cells.items()}, titles))
            continue
        codes = {name: _code(cell) for name, cell in cells.items()}
        outputs = {name: _outputs(cell, images, link) for name, cell in cells.items()}
        if len(set(codes.values())) == 1:
            blocks.append(codes[next(iter(codes))])
            if any(outputs.values()):
                blocks.append(_once_or_tabs(outputs, titles))
        else:
            blocks.append(
                tab_set({name: "\n\n".join(filter(None, (codes[name], outputs[name]))) for name in cells}, titles)
            )
    return "\n\n".join(blocks) + "\n"
