"""The committed notebooks: written from their Markdown sources, carrying the outputs of a full run of exactly
the code they hold, and checked by nbval where the chapter asks for it."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from backends.common.frameworks import REGISTRY
from backends.common.package import WHEEL

ROOT = Path(__file__).resolve().parent.parent
spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "tools" / "make_notebooks.py")
make_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_notebooks)
WRITTEN = make_notebooks.notebooks()


def committed(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / name, as_version=4)


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_notebook_is_what_its_source_writes(name):
    """Editing a source without `make notebooks` (or a notebook by hand) fails here."""
    text = (ROOT / "notebooks" / name).read_text(encoding="utf-8")
    assert text == make_notebooks.render(make_notebooks.keep_outputs(WRITTEN[name], committed(name))), (
        "run `make notebooks` and commit"
    )


def test_every_notebook_is_written_from_a_source():
    on_disk = {
        str(p.relative_to(ROOT / "notebooks"))
        for p in (ROOT / "notebooks").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in p.parts and "results" not in p.parts
    }
    assert on_disk == set(WRITTEN) | set(make_notebooks.student_notebooks())
    assert {name.split("/")[0] for name in WRITTEN if "/" in name} == {n for n, e in REGISTRY.items() if e.chapter}


@pytest.mark.parametrize("name", sorted(WRITTEN))
def test_committed_outputs_come_from_a_full_run_of_the_committed_code(name):
    notebook = committed(name)
    assert not make_notebooks.stale(notebook), "its code changed since its outputs were made: run `make notebooks`"
    executed = notebook.metadata["w2v"]["executed"]
    assert executed["environment"] == "book" and executed["max_steps"] is None
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert not any(output.output_type == "error" for cell in code for output in cell.outputs)
    assert "widgets" not in notebook.metadata
    for cell in code:
        if "draws" in cell.metadata.get("tags", []):
            assert any("image/png" in output.get("data", {}) for output in cell.outputs), cell.id


def test_editing_prose_keeps_the_outputs_and_editing_code_makes_the_notebook_stale():
    name = "torch/word2vec-pretraining.ipynb"
    assert not make_notebooks.stale(committed(name))
    edited = make_notebooks.notebooks()[name]
    next(cell for cell in edited.cells if cell.cell_type == "markdown").source += " More prose."
    assert not make_notebooks.stale(make_notebooks.keep_outputs(edited, committed(name)))
    edited = make_notebooks.notebooks()[name]
    changed = next(cell for cell in edited.cells if cell.cell_type == "code")
    changed.source += "\nprint('changed')"
    kept = make_notebooks.keep_outputs(edited, committed(name))
    assert make_notebooks.stale(kept)
    assert next(cell for cell in kept.cells if cell.id == changed.id).outputs == []


@pytest.mark.parametrize("name", [n for n in WRITTEN if "/" in n])
def test_chapter_notebooks_differ_only_where_the_framework_does(name):
    framework = name.split("/")[0]
    notebook = WRITTEN[name]
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert f"from backends import {framework} as w2v" in first.source
    text = "\n".join(cell.source for cell in notebook.cells)
    assert "{{" not in text and "{only}" not in text and "<!--" not in text
    assert REGISTRY[framework].title in notebook.cells[0].source
    others = [n for n, e in REGISTRY.items() if e.chapter and n != framework]
    assert all(f"../{other}/word2vec-pretraining.ipynb" in notebook.cells[0].source for other in others)
    checked = [cell for cell in notebook.cells if "nbval-check-output" in cell.metadata.get("tags", [])]
    assert len(checked) == 1 and "masked_bce" in checked[0].source


@pytest.mark.parametrize("name", [n for n in WRITTEN if "/" in n])
def test_each_chapter_notebook_has_its_own_try_it_cells_and_no_others(name):
    framework = name.split("/")[0]
    code = [cell for cell in WRITTEN[name].cells if cell.cell_type == "code"]
    mine = [cell for cell in code if "def my_" in cell.source]
    assert [cell.source.split("def ")[1].split("(")[0] for cell in mine] == ["my_skip_gram", "my_masked_bce", "my_step"]
    assert not any(tag.startswith("only-") for cell in code for tag in cell.metadata.get("tags", []))
    calls = {"torch": "torch", "mxnet": "mxnp.", "jax": "jnp.", "tensorflow": "tf."}  # how each one's code reads
    written = "\n".join(cell.source for cell in mine)
    assert calls[framework] in written or framework == "torch" and "F.softplus" in written
    assert not any(call in written for other, call in calls.items() if other != framework)
    assert sum("tryit.check(w2v" in cell.source for cell in code) == 3
    assert sum("tryit.train_with(w2v" in cell.source for cell in code) == 1


def test_a_cell_tagged_for_one_framework_goes_into_that_notebook_alone(tmp_path, monkeypatch):
    source = (make_notebooks.SOURCES / f"{make_notebooks.CHAPTER}.md").read_text(encoding="utf-8")
    source += "\n```{code-cell} ipython3\n:tags: [only-jax, draws]\n\nprint('jax alone')\n```\n"
    (tmp_path / f"{make_notebooks.CHAPTER}.md").write_text(source, encoding="utf-8")
    monkeypatch.setattr(make_notebooks, "SOURCES", tmp_path)
    for framework in make_notebooks.CHAPTER_FRAMEWORKS:
        cells = [
            cell
            for cell in make_notebooks.build(make_notebooks.CHAPTER, framework).cells
            if cell.source == "print('jax alone')"
        ]
        assert len(cells) == (framework == "jax")
        assert [cell.metadata["tags"] for cell in cells] == ([["draws"]] if framework == "jax" else [])


@pytest.mark.parametrize("name", [n for n in WRITTEN if "/" in n])
def test_the_chapters_loss_values_are_stored_for_nbval(name):
    checked = next(cell for cell in committed(name).cells if "nbval-check-output" in cell.metadata.get("tags", []))
    assert [output.text for output in checked.outputs] == ["0.9352 1.8462\n"]


def _nbval(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "--nbval-current-env",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(ROOT),
            "-c",
            str(ROOT / "pyproject.toml"),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "W2V_MAX_STEPS": "2"},
        timeout=600,
    )


@pytest.mark.needs("torch")
def test_nbvals_check_of_the_chapters_values_can_fail(tmp_path):
    """The chapter's check is real: a copy of the PyTorch notebook cut after the checked cell passes nbval
    as it is, and fails once the stored value differs from what the code prints."""
    notebook = committed("torch/word2vec-pretraining.ipynb")
    cut = next(i for i, cell in enumerate(notebook.cells) if "nbval-check-output" in cell.metadata.get("tags", []))
    notebook.cells = notebook.cells[: cut + 1]
    (tmp_path / "torch").mkdir()
    path = tmp_path / "torch" / "chapter.ipynb"
    nbformat.write(notebook, path)
    as_stored = _nbval(path)
    assert as_stored.returncode == 0, as_stored.stdout[-3000:]
    notebook.cells[cut].outputs[0].text = "0.9353 1.8462\n"
    nbformat.write(notebook, path)
    altered = _nbval(path)
    assert altered.returncode == 1 and re.search(r"Cell outputs differ", altered.stdout), altered.stdout[-3000:]


# The first code cell of a chapter notebook run by IPython, as a kernel without this package runs it: importing
# `backends` fails as it does where nothing provides it (None in sys.modules blocks the editable install).
WITHOUT_PACKAGE = """
import sys
sys.modules["backends"] = None
from IPython.testing.globalipapp import start_ipython
shell = start_ipython()
result = shell.run_cell(sys.stdin.read())
print("failed" if result.error_in_exec is not None else "passed")
"""


@pytest.mark.parametrize("framework", [n for n, e in REGISTRY.items() if e.chapter])
def test_the_first_cell_without_the_package_says_in_one_line_how_to_install_it(framework):
    first = next(
        cell for cell in committed(f"{framework}/word2vec-pretraining.ipynb").cells if cell.cell_type == "code"
    )
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_PACKAGE],
        input=first.source,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "MPLBACKEND": "agg"},
        timeout=120,
    )
    assert run.stdout.splitlines()[-1] == "failed"
    assert run.stderr.splitlines() == [f"UsageError: {REGISTRY[framework].notebook_install()}"]
    assert f'%pip install "{WHEEL}[{framework}]"' in run.stderr and "ADDRESS" not in run.stderr
    assert ("Python 3.11" in run.stderr) == (framework == "mxnet")


def test_running_a_notebook_by_a_name_it_does_not_have_is_refused_before_anything_is_written(capsys):
    before = {name: (ROOT / "notebooks" / name).stat().st_mtime_ns for name in WRITTEN}
    assert make_notebooks.main(run=True, every=False, named=["torch/word2vec.ipynb"]) == 2
    assert "error: no notebook torch/word2vec.ipynb: name one of " in capsys.readouterr().err
    assert {name: (ROOT / "notebooks" / name).stat().st_mtime_ns for name in WRITTEN} == before
