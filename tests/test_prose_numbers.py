"""Every number the notebooks' prose quotes is true of the committed outputs: a rerun that moves one fails here.

A number in the Markdown (a decimal such as 0.295 or +0.013, or one written with thousands commas such as
1,340) must appear in the text its notebook's own cells print, or be one of the few numbers below that come
from somewhere else (the book, a setting, a data file), each with where it comes from. Maths, code and
addresses are not prose. A chapter notebook's prose is checked against each framework's outputs, so a number
quoted for all four must be what all four printed.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"(?<![\w.,])[+\-−]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+\.\d+)(?![\w,.]?\d)")
NOT_PROSE = [
    re.compile(p, re.DOTALL)
    for p in (r"<!--.*?-->", r"\$\$.*?\$\$", r"\$[^$\n]*\$", r"`[^`\n]*`", r"\]\([^)]*\)", r"https?://\S+")
]
SECTIONS = {f"15.{n}": "a section of the book's chapter 15" for n in range(1, 5)}
ELSEWHERE = {  # numbers the prose may quote that no cell prints, and where each comes from
    "1301.3781": "the arXiv number of Mikolov et al. (2013a)",
    "0.002": "the chapter's learning rate (Settings)",
    "0.75": "the noise distribution's power (Mikolov et al. 2013b, NOISE_POWERS)",
    "0.1": "the learning rate of the four-word Adam example (the chapter, and its student question)",
    "42,000": "PTB's training sentences, rounded (data.stats() prints them exactly)",
    "890,000": "PTB's training tokens, rounded (data.stats() prints them exactly)",
    **SECTIONS,
}
WORDSIM = ROOT / "data" / "wordsim353.tsv"


def notebooks() -> list[Path]:
    return sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def prose(notebook: nbformat.NotebookNode) -> str:
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    for pattern in NOT_PROSE:
        text = pattern.sub(" ", text)
    return text


def printed(notebook: nbformat.NotebookNode) -> str:
    """The text the notebook's cells print (streams and plain-text results)."""
    texts = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            texts += [output["text"]] if "text" in output else []
            texts += [output["data"]["text/plain"]] if "text/plain" in output.get("data", {}) else []
    return "\n".join(texts)


def wordsim_ratings() -> set[str]:
    return {
        line.split("\t")[2].strip()
        for line in WORDSIM.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    }


def test_the_pattern_finds_what_prose_quotes_and_skips_the_rest():
    text = prose(
        nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_markdown_cell(
                    "ρ = 0.295, +0.013 against 0.308; steps 1,340 and 2,680; 5 epochs, $10^{-5}$, `lr=0.01`, "
                    "[15.4](https://d2l.ai/15.4.html), version 2.13.0."
                )
            ]
        )
    )
    assert NUMBER.findall(text) == ["0.295", "+0.013", "0.308", "1,340", "2,680", "15.4"]


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: str(p.relative_to(ROOT / "notebooks")))
def test_each_number_the_prose_quotes_is_printed_by_the_notebook(path):
    notebook = nbformat.read(path, as_version=4)
    text, output = prose(notebook), printed(notebook)
    ratings = wordsim_ratings()
    unsupported = [
        number
        for number in dict.fromkeys(NUMBER.findall(text))
        if number.lstrip("+-−") not in output and number not in ELSEWHERE and number not in ratings
    ]
    assert not unsupported, (
        f"{path.name}'s prose quotes {unsupported}, which none of its outputs print: compute "
        f"them in a cell, or correct the prose from the outputs"
    )


def test_every_number_from_elsewhere_is_still_quoted():
    """An entry no notebook quotes any more is dead: the list says only what the prose uses."""
    quoted = {n for path in notebooks() for n in NUMBER.findall(prose(nbformat.read(path, as_version=4)))}
    assert set(ELSEWHERE) - set(SECTIONS) <= quoted
