"""The backend code the committed notebooks show (``show_source(w2v.X)`` in the chapter, ``side_by_side.show``
in the comparison and the approximate-training notebook) is the code in backends/ now: a reader on GitHub or the
site reads what runs. A change to a shown function (a reformat too) must be followed by `make notebooks` for the
notebooks that show it.

The expected text is read from the backend files (``side_by_side``, which parses them), so every framework is
checked whether or not it is installed here."""

from __future__ import annotations

import ast
import inspect

import nbformat
import pytest

from backends.common.frameworks import CHAPTER_FRAMEWORKS
from backends.display import side_by_side
from backends.pipeline import objectives
from tests.helpers import ROOT


def _calls(source: str, function: str) -> list[tuple[str, ...]]:
    """The string or ``w2v.<name>`` arguments of each call to ``function`` (a bare or dotted name) in ``source``."""
    python = "\n".join(line for line in source.splitlines() if not line.lstrip().startswith(("%", "!")))  # magics
    found = []
    for node in ast.walk(ast.parse(python)):
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith(function):
            found.append(tuple(arg.value if isinstance(arg, ast.Constant) else arg.attr for arg in node.args))
    return found


def _shown(cell) -> str:
    """The text a code cell's result shows: its Markdown, else its plain text."""
    data = next(output["data"] for output in cell.outputs if output.output_type == "execute_result")
    return data.get("text/markdown", data["text/plain"])


@pytest.mark.parametrize("framework", CHAPTER_FRAMEWORKS)
def test_the_chapter_shows_the_backends_code_as_it_is(framework):
    notebook = nbformat.read(ROOT / "notebooks" / framework / "word2vec-pretraining.ipynb", as_version=4)
    checked = 0
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for (name,) in _calls(cell.source, "show_source"):
            assert _shown(cell).rstrip("\n") == side_by_side.source(framework, name), (
                f"{framework}'s notebook shows an older {name}: run `make notebooks`"
            )
            checked += 1
    assert checked == 3  # skip_gram, masked_bce, Trainer


def test_the_comparison_shows_the_backends_code_as_it_is():
    notebook = nbformat.read(ROOT / "notebooks" / "compare-frameworks.ipynb", as_version=4)
    shown = [
        (names, cell)
        for cell in notebook.cells
        if cell.cell_type == "code"
        for names in _calls(cell.source, "side_by_side.show")
    ]
    assert [names for names, _ in shown] == [("skip_gram",), ("_sigmoid_bce", "masked_bce"), ("objective", "Trainer")]
    for names, cell in shown:
        assert _shown(cell).strip() == side_by_side.markdown(*names).strip(), f"{names}: run `make notebooks`"


def test_the_approximate_training_notebook_shows_the_code_as_it_is():
    notebook = nbformat.read(ROOT / "notebooks" / "approximate-training.ipynb", as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    (side,) = [cell for cell in code if _calls(cell.source, "side_by_side.show")]
    assert _calls(side.source, "side_by_side.show") == [("softmax_cross_entropy",)]
    assert _shown(side).strip() == side_by_side.markdown("softmax_cross_entropy").strip(), "run `make notebooks`"
    (own,) = [cell for cell in code if _calls(cell.source, "show_source")]
    assert _shown(own).rstrip("\n") == inspect.getsource(objectives.along_paths).rstrip("\n"), "run `make notebooks`"
