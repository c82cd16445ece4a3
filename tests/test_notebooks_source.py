"""The committed notebooks are exactly what tools/make_notebooks.py writes, outputs cleared."""

import importlib.util
from pathlib import Path

import pytest

from backends.frameworks import FRAMEWORKS

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "tools" / "make_notebooks.py")
make_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_notebooks)


@pytest.mark.parametrize("name", sorted(make_notebooks.notebooks()))
def test_notebook_matches_its_generator(name):
    committed = (ROOT / "notebooks" / name).read_text(encoding="utf-8")
    assert committed == make_notebooks.render(make_notebooks.notebooks()[name]), "run `make notebooks`, commit"


def test_every_notebook_is_generated():
    on_disk = {str(p.relative_to(ROOT / "notebooks")) for p in (ROOT / "notebooks").rglob("*.ipynb")
               if ".ipynb_checkpoints" not in p.parts and "results" not in p.parts}
    assert on_disk == set(make_notebooks.notebooks())


def test_every_framework_has_a_chapter_notebook():
    assert set(make_notebooks.IDIOMS) == set(FRAMEWORKS) - {"numpy"}


@pytest.mark.parametrize("name", sorted(make_notebooks.IDIOMS))
def test_notebook_checks_the_chapters_loss_values(name):
    notebook = make_notebooks.build(name, make_notebooks.IDIOMS[name])
    checked = [c for c in notebook.cells if c.source.startswith("# NBVAL_CHECK_OUTPUT")]
    assert len(checked) == 1 and f"from backends import {name} as w2v" in notebook.cells[1].source
