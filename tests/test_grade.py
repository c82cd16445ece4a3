"""``python -m backends grade`` (backends.grading): students' notebooks, each run in a process of its own within
limits, graded by the chapter's checks.

Two gradings, each over a folder of small submissions built here, are shared by the tests. The first grades
what students hand in: a correct notebook (every check passes), a wrong one, one with a syntax error, one that
hangs in a cell, one that prints megabytes, and a file that is not a notebook; each row is graded as far as its
notebook got, the others unaffected. The second, with small limits, has notebooks the grader must stop from
outside: one that ignores the interrupt (the time limit kills it and its kernel), one that eats memory, one whose
kernel dies, and one that names no framework. Then the refusals before any work, each one paragraph, exit code 2.
"""

import csv
import json
import re
import shutil

import nbformat
import psutil
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from backends.common.errors import W2VError
from backends.grading import run as grading
from backends.grading.checks import CHECKS
from helpers import ROOT, run

CHAPTER = ROOT / "notebooks" / "torch" / "word2vec-pretraining.ipynb"
IMPORTS = "from backends import torch as w2v\nimport torch, torch.nn.functional as F"
WRONG_SKIP_GRAM = """\
def my_skip_gram(centers, contexts_negatives, embed_center, embed_context):
    v, u = embed_center(centers), embed_context(contexts_negatives)
    return (v * u).sum(dim=1).unsqueeze(1)  # summed over the window, not over the embedding
"""
WRONG_MASKED_BCE = """\
def my_masked_bce(scores, label, mask):
    return (F.softplus(scores) - label * scores).mean(dim=1)  # the padding's entries counted too
"""
TIMEOUT = 100  # the first grading's limit per notebook: the correct one takes about 50 s on a busy laptop
LIMITS = ("--timeout", 20, "--memory", 500)  # the second grading's


def chapter_definition(name: str) -> str:
    """The source of the torch chapter's cell that defines ``name`` (the notebook's own starting point)."""
    cells = nbformat.read(CHAPTER, as_version=4).cells
    return next(cell.source for cell in cells if cell.cell_type == "code" and f"def {name}(" in cell.source)


def notebook(folder, name: str, *sources: str, trains: str | None = None):
    """A submission ``folder/name.ipynb`` of code cells ``sources``, its metadata naming ``trains`` if given."""
    submission = new_notebook(cells=[new_code_cell(source) for source in sources])
    if trains:
        submission.metadata["w2v"] = {"trains": trains}
    nbformat.write(submission, folder / f"{name}.ipynb")


def grade(folder, out, *options, tmp):
    """``python -m backends grade FOLDER --out OUT OPTIONS``, its temporary folders made in ``tmp``: the finished
    command and the rows of grades.jsonl, by file name."""
    tmp.mkdir()
    done = run("grade", folder, "--out", out, *options, env={"TMPDIR": str(tmp)})
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in (out / "grades.jsonl").read_text().splitlines()]
    return done, {row["file"]: row for row in rows}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The first grading: what students hand in."""
    root = tmp_path_factory.mktemp("handed-in")
    folder, out = root / "submissions", root / "grades"
    folder.mkdir()
    notebook(folder, "correct", IMPORTS, *map(chapter_definition, ("my_skip_gram", "my_masked_bce", "my_step")))
    notebook(folder, "wrong", IMPORTS, WRONG_SKIP_GRAM)
    notebook(folder, "broken", IMPORTS, "def my_skip_gram(centers contexts_negatives):\n    pass", WRONG_MASKED_BCE)
    notebook(folder, "hanging", IMPORTS, "while True:\n    pass", WRONG_SKIP_GRAM)
    notebook(folder, "chatty", IMPORTS, "for _ in range(5000):\n    print('x' * 1000)", WRONG_SKIP_GRAM)
    (folder / "unparsable.ipynb").write_text("{not json")
    done, rows = grade(folder, out, "--timeout", TIMEOUT, tmp=root / "tmp")
    return done, rows, out, root / "tmp"


@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """The second grading: notebooks the grader stops from outside (a time limit of 20 s, memory of 500 MB); the
    stubborn one writes its kernel's process id to ``pid``."""
    root = tmp_path_factory.mktemp("stopped")
    folder, out, pid = root / "submissions", root / "grades", root / "pid"
    folder.mkdir()
    notebook(
        folder,
        "stubborn",
        f"import os, pathlib, signal\npathlib.Path({str(pid)!r}).write_text(str(os.getpid()))",
        "signal.signal(signal.SIGINT, signal.SIG_IGN)  # the interrupt at the cell's limit is ignored (in this "
        "cell: the kernel sets its own handler again before each)\nwhile True:\n    pass",
        trains="torch",
    )
    notebook(
        folder,
        "greedy",
        "import time\nkept = []\nwhile True:\n    kept.append(b'x' * 20 * 2**20)\n    time.sleep(0.05)",
        trains="torch",
    )
    notebook(
        folder, "dying", "print('before')", "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", trains="torch"
    )
    notebook(folder, "unnamed", "print('no framework here')")
    done, rows = grade(folder, out, *LIMITS, tmp=root / "tmp")
    return done, rows, out, int(pid.read_text()), root / "tmp"


def statuses(row) -> dict:
    return {check: answer["status"] for check, answer in row["checks"].items()}


@pytest.mark.needs("torch")
def test_a_correct_submission_passes_every_check(graded):
    done, rows, out, _ = graded
    row = rows["correct.ipynb"]
    assert row["framework"] == "torch" and row["score"] == 4 and row["stopped"] is None and row["first_error"] is None
    assert set(statuses(row).values()) == {"passed"}
    assert "my_step agrees with torch's Trainer.step" in row["checks"]["step"]["message"]
    assert "they agree" in row["checks"]["training"]["message"]
    assert "correct.ipynb: torch, 4/4, " in done.stdout
    executed = nbformat.read(out / "correct.executed.ipynb", as_version=4)
    assert all(cell.execution_count for cell in executed.cells)


@pytest.mark.needs("torch")
def test_a_wrong_function_fails_with_the_checks_message_and_the_missing_ones_are_not_attempted(graded):
    row = graded[1]["wrong.ipynb"]
    assert statuses(row) == {
        "skip_gram": "failed",
        "masked_bce": "not attempted",
        "step": "not attempted",
        "training": "not attempted",
    }
    assert row["checks"]["skip_gram"]["message"].startswith("my_skip_gram does not agree with torch's skip_gram")
    assert row["checks"]["masked_bce"]["message"] == "the notebook defines no function my_masked_bce."
    assert row["score"] == 0 and row["stopped"] is None and row["first_error"] is None


@pytest.mark.needs("torch")
def test_a_syntax_error_is_a_cell_that_raised_and_the_other_cells_are_still_graded(graded):
    row = graded[1]["broken.ipynb"]
    assert row["first_error"]["cell"] == 2 and row["first_error"]["name"] == "SyntaxError"
    assert statuses(row)["skip_gram"] == "not attempted"  # its cell did not compile
    assert statuses(row)["masked_bce"] == "failed"  # defined in the next cell, and checked
    assert row["checks"]["masked_bce"]["message"].startswith("my_masked_bce does not agree with torch's masked_bce")
    assert row["stopped"] is None


@pytest.mark.needs("torch")
def test_a_hanging_cell_is_interrupted_and_the_cells_after_it_still_run(graded):
    row = graded[1]["hanging.ipynb"]
    error = row["first_error"]
    assert (error["cell"], error["name"]) == (2, "KeyboardInterrupt")
    assert f"ran longer than the per-cell limit of {TIMEOUT // 2} s" in error["value"]
    assert statuses(row)["skip_gram"] == "failed" and row["stopped"] is None
    assert TIMEOUT // 2 <= row["seconds"] < TIMEOUT


@pytest.mark.needs("torch")
def test_a_chatty_notebook_is_graded_and_its_executed_copy_cut_short(graded):
    _, rows, out, _ = graded
    assert statuses(rows["chatty.ipynb"])["skip_gram"] == "failed" and rows["chatty.ipynb"]["stopped"] is None
    executed = out / "chatty.executed.ipynb"
    assert executed.stat().st_size < 100_000  # of the 5 MB it printed
    printed = nbformat.read(executed, as_version=4).cells[1].outputs
    assert len(printed) == 1 and "characters cut by the grader" in printed[0].text
    assert printed[0].text.startswith("x" * 1000 + "\n") and len(printed[0].text) < 11_000


@pytest.mark.needs("torch")
def test_a_file_that_is_not_a_notebook_is_recorded_as_such(graded):
    _, rows, out, _ = graded
    row = rows["unparsable.ipynb"]
    assert row["framework"] is None and row["score"] == 0
    assert row["stopped"].startswith("the notebook is not readable: NotJSONError")
    for answer in row["checks"].values():
        assert answer["status"] == "not attempted"
        assert answer["message"].startswith("the file is not a notebook nbformat can read: NotJSONError")
    assert not (out / "unparsable.executed.ipynb").exists()


@pytest.mark.needs("torch")
def test_the_grades_are_written_as_jsonl_csv_and_markdown_in_order(graded):
    done, rows, out, tmp = graded
    names = ["broken.ipynb", "chatty.ipynb", "correct.ipynb", "hanging.ipynb", "unparsable.ipynb", "wrong.ipynb"]
    assert list(rows) == names
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == names and lines[-1].startswith(f"wrote {out}")
    with (out / "grades.csv").open() as file:
        table = list(csv.DictReader(file))
    assert list(table[0]) == ["file", "framework", *CHECKS, "score", "seconds", "stopped"]
    assert [(r["file"], r["skip_gram"], r["score"]) for r in table][1:3] == [
        ("chatty.ipynb", "failed", "0"),
        ("correct.ipynb", "passed", "4"),
    ]
    markdown = (out / "grades.md").read_text()
    assert "| correct.ipynb | torch | passed | passed | passed | passed | 4/4 |" in markdown
    wrong = markdown.split("## wrong.ipynb")[1]
    assert "- skip_gram (failed): my_skip_gram does not agree" in wrong and "- training (not attempted)" in wrong
    assert "- first error: cell 2 raised SyntaxError" in markdown.split("## broken.ipynb")[1]
    assert not list(tmp.glob("w2v-grade-*"))  # every submission's temporary folder removed


@pytest.mark.needs("torch")
def test_the_time_limit_kills_the_worker_and_its_kernel(stopped):
    _, rows, out, pid, _ = stopped
    row = rows["stubborn.ipynb"]
    assert row["stopped"] == "time limit of 20 s" and row["framework"] == "torch"
    assert 20 <= row["seconds"] < 40
    for answer in row["checks"].values():
        assert answer == {
            "status": "not attempted",
            "message": "the run stopped before this check (time limit of 20 s)",
        }
    assert not psutil.pid_exists(pid) or "ipykernel" not in " ".join(psutil.Process(pid).cmdline())
    executed = nbformat.read(out / "stubborn.executed.ipynb", as_version=4)  # as far as it got
    assert executed.cells[0].execution_count == 1


@pytest.mark.needs("torch")
def test_the_memory_limit_kills_a_notebook_that_eats_memory(stopped):
    row = stopped[1]["greedy.ipynb"]
    assert row["stopped"] == "memory limit of 500 MB" and row["seconds"] < 20
    assert statuses(row) == dict.fromkeys(CHECKS, "not attempted")


@pytest.mark.needs("torch")
def test_a_kernel_that_dies_and_a_notebook_naming_no_framework_are_recorded(stopped):
    done, rows, _, _, tmp = stopped
    assert rows["dying.ipynb"]["stopped"] == "kernel died in cell 2"
    died = rows["dying.ipynb"]["checks"]["step"]
    assert died["message"] == "the run stopped before this check (kernel died in cell 2)"
    unnamed = rows["unnamed.ipynb"]
    assert unnamed["framework"] is None
    assert unnamed["stopped"].startswith("no framework: neither the notebook's metadata")
    assert "unnamed.ipynb: no framework, 0/4" in done.stdout
    assert not list(tmp.glob("w2v-grade-*"))


def filled_in(framework: str) -> nbformat.NotebookNode:
    """The student notebook of ``framework`` with each blank replaced by the teacher notebook's cell that defines
    the same function, as a student who solved them hands it in."""
    student = nbformat.read(ROOT / "notebooks" / "student" / framework / "word2vec-pretraining.ipynb", as_version=4)
    teacher = nbformat.read(ROOT / "notebooks" / framework / "word2vec-pretraining.ipynb", as_version=4)
    solved = {
        re.search(r"^def (my_\w+)", cell.source, re.MULTILINE).group(1): cell.source
        for cell in teacher.cells
        if cell.cell_type == "code" and re.search(r"^def my_", cell.source, re.M)
    }
    for cell in student.cells:
        defined = re.search(r"^def (my_\w+)", cell.source, re.MULTILINE) if cell.cell_type == "code" else None
        if defined:
            cell.source = solved.pop(defined.group(1))
    assert not solved  # every solution found its blank
    return student


@pytest.fixture(scope="module")
def students(tmp_path_factory):
    """The student notebooks as handed out: PyTorch's run unchanged, and JAX's with its blanks filled in from the
    teacher notebook, graded in one call."""
    root = tmp_path_factory.mktemp("students")
    folder, out = root / "submissions", root / "grades"
    folder.mkdir()
    shutil.copy(ROOT / "notebooks" / "student" / "torch" / "word2vec-pretraining.ipynb", folder / "unchanged.ipynb")
    nbformat.write(filled_in("jax"), folder / "solved.ipynb")
    return grade(folder, out, "--timeout", 600, tmp=root / "tmp")[1]


@pytest.mark.needs("torch")
@pytest.mark.needs("jax")
def test_student_notebooks_unchanged_are_not_attempted_and_filled_in_pass(students):
    unchanged, solved = students["unchanged.ipynb"], students["solved.ipynb"]
    assert (unchanged["framework"], solved["framework"]) == ("torch", "jax")
    assert unchanged["first_error"] is None and unchanged["stopped"] is None  # run unchanged, nothing raises
    assert statuses(unchanged) == dict.fromkeys(CHECKS, "not attempted") and unchanged["score"] == 0
    assert unchanged["checks"]["skip_gram"]["message"].startswith("my_skip_gram is not written yet: each `...` is")
    assert solved["first_error"] is None and solved["stopped"] is None
    assert statuses(solved) == dict.fromkeys(CHECKS, "passed") and solved["score"] == 4


def one_paragraph(done) -> str:
    assert done.returncode == 2 and done.stdout == "", done
    assert done.stderr.startswith("error: ") and "Traceback" not in done.stderr and done.stderr.count("\n") == 1
    return done.stderr


@pytest.mark.parametrize(
    "arguments, said",
    [
        ((), "no submissions to grade"),
        (("{tmp}/missing.ipynb",), "{tmp}/missing.ipynb does not exist"),
        (("{tmp}/empty",), "the folder {tmp}/empty holds no notebook"),
        (("{tmp}/a/x.ipynb", "{tmp}/b/x.ipynb"), "two submissions are named x"),
        (("{tmp}/a/x.ipynb", "{tmp}/a/x.ipynb"), "{tmp}/a/x.ipynb is given twice"),
        (("{tmp}/a", "--out", "{tmp}/a/x.ipynb"), "--out {tmp}/a/x.ipynb is a file"),
        (("{tmp}/a", "--timeout", "0"), "--timeout 0 is out of range"),
    ],
)
def test_bad_input_is_refused_before_any_grading(tmp_path, arguments, said):
    for folder in ("a", "b", "empty"):
        (tmp_path / folder).mkdir()
    notebook(tmp_path / "a", "x", "print(1)")
    notebook(tmp_path / "b", "x", "print(2)")
    arguments = [argument.format(tmp=tmp_path) for argument in arguments]
    out = ["--out", tmp_path / "grades"] if "--out" not in arguments else []
    assert said.format(tmp=tmp_path) in one_paragraph(run("grade", *arguments, *out))
    assert not (tmp_path / "grades").exists()


def test_a_missing_grade_extra_is_named_with_its_install(monkeypatch):
    monkeypatch.setattr(grading, "EXTRA", ("psutil", "no_such_module_for_w2v"))
    with pytest.raises(
        W2VError,
        match=r"grading needs no_such_module_for_w2v, which is not installed: the grade "
        r"extra\. Install it with .*\[grade\]",
    ):
        grading.grade([__file__], "unused")


@pytest.mark.needs("torch")
def test_a_step_that_fails_after_a_function_it_calls_failed_says_which(tmp_path):
    from backends.grading import checks

    namespace = {}
    exec(
        "def my_skip_gram(centers, contexts_negatives, embed_center, embed_context):\n    return None\n\n"
        "def my_step(trainer, arrays):\n    return my_skip_gram(None, None, None, None)\n",
        namespace,
    )
    checks.record(namespace, "torch", str(tmp_path / "checks.jsonl"))
    answers = {line["check"]: line for line in map(json.loads, (tmp_path / "checks.jsonl").read_text().splitlines())}
    assert [answers[check]["status"] for check in CHECKS] == ["failed", "not attempted", "failed", "not attempted"]
    assert answers["step"]["message"].startswith("my_step returns None")
    assert answers["step"]["message"].endswith(
        "(my_step calls my_skip_gram, which did not pass its check: fix that first.)"
    )
