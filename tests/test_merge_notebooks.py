"""The site's merge of the chapter notebooks (tools/merge_notebooks.py): the same shown once, differences as
one tab set per cell, in one sync group."""

import base64
import importlib.util

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from helpers import ROOT

spec = importlib.util.spec_from_file_location("merge_notebooks", ROOT / "tools" / "merge_notebooks.py")
merge_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(merge_notebooks)
TITLES = {"torch": "PyTorch", "jax": "JAX", "mxnet": "MXNet", "tensorflow": "TensorFlow"}
PNG = base64.b64encode(bytes.fromhex("89504e470d0a1a0a") + b"a picture").decode()


def notebook(import_line: str) -> nbformat.NotebookNode:
    return new_notebook(
        cells=[
            new_markdown_cell("# A chapter\n\nThe same prose, $x^2$."),
            new_code_cell(import_line),
            new_code_cell("print(1 + 1)", outputs=[new_output("stream", name="stdout", text="2\n")]),
            new_code_cell(
                "plot()", outputs=[new_output("display_data", data={"image/png": PNG, "text/plain": "<Fig>"})]
            ),
        ]
    )


def test_two_notebooks_that_differ_in_one_cell_give_one_tab_set(tmp_path):
    page = merge_notebooks.merge(
        {"torch": notebook("from backends import torch as w2v"), "jax": notebook("from backends import jax as w2v")},
        TITLES,
        tmp_path / "img",
    )
    assert page.count("{tab-set}") == 1 and page.count("{tab-item}") == 2
    assert page.startswith(
        "# A chapter\n\nThe same prose, $x^2$.\n\n::::{tab-set}\n:sync-group: framework\n\n"
        ":::{tab-item} PyTorch\n:sync: torch\n\n```ipython3\nfrom backends import torch as w2v\n```"
    )
    assert ":::{tab-item} JAX\n:sync: jax\n\n```ipython3\nfrom backends import jax as w2v\n```\n:::\n::::" in page
    assert page.count("```ipython3\nprint(1 + 1)\n```\n\n```text\n2\n```") == 1  # shown once, output too
    pictures = list((tmp_path / "img").iterdir())
    assert len(pictures) == 1 and page.count(f"![output](_images/{pictures[0].name})") == 1  # equal images: one file


def test_outputs_that_differ_under_the_same_code_are_tabbed_alone(tmp_path):
    torch, jax = notebook("import x"), notebook("import x")
    jax.cells[2].outputs[0].text = "3\n"
    jax.cells[0].source = "# A chapter\n\nOther prose."
    page = merge_notebooks.merge({"torch": torch, "jax": jax}, TITLES, tmp_path)
    assert page.count("{tab-set}") == 2
    assert page.startswith("# A chapter\n\n::::{tab-set}")  # the heading both begin with: once, outside the tabs
    assert ":sync: jax\n\nOther prose.\n:::" in page and ":sync: torch\n\nThe same prose, $x^2$.\n:::" in page
    assert merge_notebooks._in_a_tab("## A section\n\ntext") == "**A section**\n\ntext"
    assert page.count("```ipython3\nprint(1 + 1)\n```") == 1
    assert "```ipython3\nprint(1 + 1)\n```\n\n::::{tab-set}" in page
    assert ":sync: torch\n\n```text\n2\n```\n:::" in page and ":sync: jax\n\n```text\n3\n```\n:::" in page


def test_notebooks_with_other_cells_are_refused(tmp_path):
    short = notebook("import x")
    short.cells.pop()
    with pytest.raises(ValueError, match="do not hold the same cells in the same order: torch: 4 cells; jax: 3 cells"):
        merge_notebooks.merge({"torch": notebook("import x"), "jax": short}, TITLES, tmp_path)


def test_prose_one_framework_alone_has_is_refused_before_sphinx_sees_an_empty_tab(tmp_path):
    torch, jax = notebook("import x"), notebook("import x")
    torch.cells[0].source += "\n\nOnly PyTorch says this."
    with pytest.raises(ValueError, match="the JAX tab would be empty: where one framework's notebook has prose"):
        merge_notebooks.merge({"torch": torch, "jax": jax}, TITLES, tmp_path)


def test_the_chapter_merges_with_tabs_where_the_frameworks_differ(tmp_path):
    chapter = {
        name: nbformat.read(ROOT / "notebooks" / name / "word2vec-pretraining.ipynb", as_version=4) for name in TITLES
    }
    page = merge_notebooks.merge(chapter, TITLES, tmp_path)
    assert page.count("{tab-set}") >= 8 and page.count("{tab-set}") * 4 == page.count("{tab-item}")
    assert page.count("```\n\n```text\n  the:  50770 tokens, kept with probability 0.040\n") == 1  # the same: once
    assert "```ipython3\ndata = pipeline.load_data(seed=0)\ndata.stats()\n```\n\n::::{tab-set}" in page  # its time
    assert '```ipython3\ntryit.check(w2v, "skip_gram", my_skip_gram, data)\n```\n\n::::{tab-set}' in page
    assert all(f"from backends import {name} as w2v" in page for name in TITLES)
    assert len(list(tmp_path.glob("*.png"))) == 8  # a loss curve and a word map per framework
