"""What a reader sees when a notebook's framework is missing: one line saying what to install, no traceback."""

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "raises, said",
    [
        (
            "ModuleNotFoundError(\"No module named 'mxnet'\", name='mxnet')",
            "W2VError: MXNet is not installed. Install it",
        ),
        (
            "AttributeError(\"module 'numpy' has no attribute 'PZERO'\")",
            "W2VError: MXNet is installed but failed to import "
            "(AttributeError: module 'numpy' has no attribute 'PZERO').",
        ),
    ],
)
def test_the_first_code_cell_says_what_to_install(tmp_path, monkeypatch, raises, said):
    """The MXNet notebook's first code cell, run where MXNet is missing (or, as beside NumPy 2, broken)."""
    shadow = tmp_path / "shadow" / "mxnet"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text(f"raise {raises}\n")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(shadow.parent), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(ROOT / "notebooks" / "mxnet" / "word2vec-pretraining.ipynb", as_version=4)
    first = next(cell for cell in notebook.cells if cell.cell_type == "code")
    notebook.cells = [first]
    NotebookClient(
        notebook, kernel_name="python3", timeout=120, allow_errors=True, resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    errors = [output for output in first.outputs if output.output_type == "error"]
    assert len(errors) == 1 and len(errors[0].traceback) == 1, errors
    line = errors[0].traceback[0]
    assert line.startswith(said) and 'pip install -e ".[mxnet]"' in line and "make venv PROFILE=book" in line
    assert [output for output in first.outputs if output.output_type != "error"] == []
