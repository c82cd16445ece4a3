"""The course kit's pieces: solution regions made blanks (tools/solutions.py), the student notebooks written
from the chapter's source, a blank recognised as not attempted, hints in levels, and the predict-then-run answers."""

import importlib.util
import linecache
import math
import re
import sys

import nbformat
import pytest

from backends import load_backend
from backends.common.errors import W2VError
from backends.common.frameworks import CHAPTER_FRAMEWORKS
from backends.display import hints, questions, tryit
from helpers import ROOT, require

sys.path.insert(0, str(ROOT / "tools"))
import solutions  # noqa: E402

spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "tools" / "make_notebooks.py")
make_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_notebooks)
STUDENT = make_notebooks.student_notebooks()

MARKED = """import torch


def my_step(trainer, arrays):
    # BEGIN SOLUTION
    trainer.optimizer.zero_grad()  # clear first
    loss = my_masked_bce(scores.reshape(arrays["label"].shape), arrays["label"],
                         arrays["mask"]).sum()
    with torch.no_grad():  # a block
        total += loss
    # END SOLUTION
    kept = 1  # given code, outside the region
    # BEGIN SOLUTION
    return loss.detach(), (x[..., 0], None)
    # END SOLUTION"""


def test_a_region_becomes_an_outline_for_students_and_loses_its_markers_for_teachers():
    assert solutions.blanked(MARKED).splitlines()[3:] == [
        "def my_step(trainer, arrays):",
        "    ...  # clear first",
        "    loss = ...",
        "    with torch.no_grad():  # a block",
        "        total += ...",
        "    kept = 1  # given code, outside the region",
        "    return ...",
    ]
    assert solutions.solved(MARKED) == "\n".join(line for line in MARKED.splitlines() if "SOLUTION" not in line)
    assert solutions.blanked("x = 1") == "x = 1"


@pytest.mark.parametrize(
    "source, said",
    [
        ("# BEGIN SOLUTION\nx = 1", "line 1: # BEGIN SOLUTION with no # END SOLUTION after it"),
        ("x = 1\n# END SOLUTION", "line 2: # END SOLUTION out of order"),
        ("# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION", "line 2: # BEGIN SOLUTION out of order"),
    ],
)
def test_markers_out_of_order_are_refused_with_the_line(source, said):
    with pytest.raises(ValueError, match=re.escape(said)):
        solutions.solved(source)


@pytest.mark.parametrize("name", sorted(STUDENT))
def test_student_notebook_is_what_the_source_writes_without_outputs_or_answers(name):
    notebook = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    assert make_notebooks.render(STUDENT[name]) == (ROOT / "notebooks" / name).read_text(encoding="utf-8"), (
        "run `make notebooks` and commit"
    )
    framework = name.split("/")[1]
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    markdown = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert notebook.metadata["w2v"] == {"trains": framework, "student": True}
    assert not any(cell.get("outputs") for cell in notebook.cells)
    assert "SOLUTION" not in code and "extensions.ipynb" not in markdown and "compare-frameworks" not in markdown
    marked = make_notebooks.build(make_notebooks.CHAPTER, framework, make_notebooks.MARKED)
    answers = {
        line.split("#")[0].strip()
        for cell in marked.cells
        if cell.cell_type == "code"
        for begin, end in solutions.regions(cell.source)
        for line in cell.source.splitlines()[begin + 1 : end]
    }
    answers = {line for line in answers if line and not line.endswith(":")}  # a with or def line is the outline
    elsewhere = {
        line.split("#")[0].strip()
        for cell in marked.cells
        if cell.cell_type == "code" and not solutions.regions(cell.source)
        for line in cell.source.splitlines()
    }
    answers -= elsewhere  # a line the chapter shows in another cell too (MXNet's example calls loss.backward())
    shown = {line.split("#")[0].strip() for line in code.splitlines()}
    assert len(answers) >= 9 and not answers & shown, "a line of a solution is left in the student notebook"
    for function in ("my_skip_gram", "my_masked_bce", "my_step"):  # each a blank to fill in
        blank = next(cell.source for cell in notebook.cells if f"def {function}(" in cell.source)
        assert "return ..." in blank
    for name_ in ("skip_gram", "masked_bce", "step"):
        assert f'tryit.hint(w2v, "{name_}")' in code
    assert sorted(re.findall(r'questions\.reveal\("(\w+)"', code)) == sorted(questions.QUESTIONS)
    assert "MAX_STEPS = MAX_STEPS or CLASS_STEPS" in code


def test_teacher_notebooks_keep_their_code_and_have_no_student_cells():
    for framework in CHAPTER_FRAMEWORKS:
        teacher = make_notebooks.build(make_notebooks.CHAPTER, framework)
        code = "\n".join(cell.source for cell in teacher.cells if cell.cell_type == "code")
        assert "SOLUTION" not in code and "questions" not in code and "tryit.hint" not in code
        assert "= ...  #" not in code


def _defined(source: str, name: str):
    """The function ``name`` defined by ``source`` as a notebook cell defines it: its source readable."""
    filename = f"<cell {name} {len(linecache.cache)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)  # as IPython keeps a cell
    namespace = {}
    exec(compile(source, filename, "exec"), namespace)
    return namespace[name]


@pytest.mark.parametrize("framework", ["numpy", "torch"])
def test_a_blank_is_not_attempted_and_a_half_filled_one_is_said_unfinished(framework, data):
    require(framework)
    w2v = load_backend(framework)
    blank = _defined(
        "def my_skip_gram(centers, contexts_negatives, embed_center, embed_context):\n"
        "    v = ...  # (B, 1, E)\n    u = ...\n    return ...\n",
        "my_skip_gram",
    )
    agreement = tryit.check(w2v, "skip_gram", blank, data)
    assert (agreement.status, bool(agreement)) == ("not attempted", False)
    assert repr(agreement) == (
        "my_skip_gram is not written yet: each `...` is a blank for your code. "
        '`tryit.hint(w2v, "skip_gram")` gives a hint, and again for the next.'
    )
    half = _defined(
        "def my_skip_gram(centers, contexts_negatives, embed_center, embed_context):\n"
        "    v = embed_center(centers)\n    u = ...\n    return v[..., 0]\n",
        "my_skip_gram",
    )
    agreement = tryit.check(w2v, "skip_gram", half, data)
    assert agreement.status == "failed" and repr(agreement).startswith("my_skip_gram still has 1 blank (`...`) of 3")
    training = tryit.train_with(w2v, data, w2v.train(data, max_steps=2, progress=False), steps=2, skip_gram=blank)
    assert training.status == "not attempted" and repr(training).startswith("nothing to train with yet: my_skip_gram")


@pytest.mark.parametrize("name", sorted(STUDENT))
def test_every_blank_of_every_student_notebook_is_not_attempted_as_handed_out(name):
    """The outline's own lines (MXNet's and TensorFlow's epsilon rescale in the step) are not taken for work."""
    for cell in STUDENT[name].cells:
        defined = re.search(r"^def (my_(\w+))", cell.source, re.MULTILINE) if cell.cell_type == "code" else None
        if defined:
            function = _defined(
                "\n".join(line for line in cell.source.splitlines() if not line.startswith(("import ", "from "))),
                defined.group(1),
            )
            blank, statements = tryit._blanks(function)
            assert blank == statements > 0, (name, defined.group(1))


@pytest.mark.parametrize("framework", CHAPTER_FRAMEWORKS)
def test_hints_come_in_levels_for_every_framework(framework, monkeypatch):
    monkeypatch.setattr(hints, "_next", {})
    backend = type("Backend", (), {"NAME": framework})
    for name, levels in hints.HINTS.items():
        given = [tryit.hint(backend, name) for _ in range(len(levels) + 1)]
        assert [hint.level for hint in given] == [*range(1, len(levels) + 1), len(levels)]
        assert repr(given[0]).startswith(f"Hint 1 of {len(levels)} for {name} (run the cell again for the next): ")
        assert "(the last one)" in repr(given[-1]) and given[-1].text
    with pytest.raises(W2VError, match="there is no hint for 'skipgram': ask for one of skip_gram, masked_bce, step"):
        tryit.hint(backend, "skipgram")


def test_predict_then_run_asks_first_then_compares_with_the_computed_answer(data):
    w2v = load_backend("numpy")
    assert repr(questions.reveal("padding_row", ..., w2v, data)).startswith("First your prediction: write a number")
    assert "should be a number" in repr(questions.reveal("padding_row", "zero", w2v, data))
    first = repr(questions.reveal("first_loss", 0.69, w2v, data))
    answer = float(re.search(r"before any update: ([\d.]+)", first).group(1))
    assert first.startswith("You predicted 0.69: right.") and abs(answer - math.log(2)) < 2e-3
    assert "score 0.4506" in first  # what knowing only the share of noise words gives
    assert repr(questions.reveal("padding_row", 0.5, w2v, data)).startswith(
        "You predicted 0.5: off by +0.5000. The answer, masked_bce's loss of a padding row (mask all 0): 0.0000"
    )
    assert ": 0.1000 (numpy)" in repr(questions.reveal("adam_first_step", 0.2, w2v, data))
    with pytest.raises(W2VError, match="there is no question 'last_loss'"):
        questions.reveal("last_loss", 1, w2v, data)


def test_the_class_budgets_outputs_on_the_teaching_page_are_what_training_gives(data):
    """docs/teaching.md tells a teacher what a student notebook shows at the class budget: trained here, the same."""
    require("torch")
    from backends.display.notebook import CLASS_STEPS, epoch_halves, loss_summary
    from backends.vectors import embeddings, evaluation

    page = (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8")
    shown = re.search(r"```text\n(.*?)```", page, re.DOTALL).group(1).rstrip("\n")
    history = load_backend("torch").train(
        data, epochs=5, batch_size=512, lr=0.002, embed_size=100, max_steps=CLASS_STEPS, progress=False
    )
    neighbours = embeddings.similar(history.embeddings, history.words, "chip", k=3)
    width = max(len(word) for word, _ in neighbours)
    printed = [
        loss_summary(history),
        epoch_halves(history),
        *(f"{w:>{width}}  {c:.3f}" for w, c in neighbours),
        evaluation.describe(evaluation.evaluate(history.words, history.embeddings)),
    ]
    assert shown == "\n".join(printed)
    assert f"The first step's loss is {history.step_losses[0]:.4f}." in page
    assert f"Training stops after {CLASS_STEPS:,} steps, {CLASS_STEPS // history.steps_per_epoch} of" in page
    teacher = (ROOT / "notebooks" / "torch" / "word2vec-pretraining.ipynb").read_text(encoding="utf-8")
    full = re.search(r"a mean loss of ([\d.]+) over the 5 epochs and ρ = ([\d.]+)\.", page)
    assert f"mean loss over all 5 epochs {full.group(1)}," in teacher and f"ρ = {full.group(2)} over" in teacher
