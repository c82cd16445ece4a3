"""compare and parity: each framework in its own process, failures reported, nothing lost."""

import dataclasses
import json
import os
import shutil

import numpy as np
import pytest

from backends.cli import main as cli
from backends.common import frameworks
from backends.common.errors import W2VError
from backends.common.frameworks import FRAMEWORKS
from backends.common.settings import Settings
from backends.experiments import compare, parity, runs
from backends.experiments.agreement import max_relative_differences
from backends.experiments.isolated import succeeded
from backends.experiments.summary import summary_markdown
from helpers import missing, run, user_error

INSTALLED = [name for name in FRAMEWORKS if missing(name) is None]


def test_parity_of_every_installed_framework_over_twenty_steps():
    done = run("parity", "--steps", "20", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"] and not result["failed"] and result["steps"] == 20
    assert sorted(result["not_installed"]) == sorted(set(FRAMEWORKS) - set(INSTALLED))
    assert len(result["max_relative_difference"]) == len(INSTALLED) * (len(INSTALLED) - 1) // 2
    assert all(difference < 1e-4 for difference in result["max_relative_difference"].values())  # none: NumPy alone


@pytest.fixture
def mxnet_absent(monkeypatch):
    """MXNet as it is in today's environment: not installed (its module cannot be found)."""
    absent = dataclasses.replace(frameworks.REGISTRY["mxnet"], modules=("no_such_module_w2v",))
    monkeypatch.setitem(frameworks.REGISTRY, "mxnet", absent)


def test_a_framework_not_installed_is_reported_without_starting_it(mxnet_absent, tmp_path, capsys):
    summary = compare.compare(["numpy", "mxnet"], tmp_path, Settings(max_steps=3), progress=False)
    printed = capsys.readouterr().out
    assert summary["frameworks"]["mxnet"]["status"] == "not installed"
    assert summary["frameworks"]["mxnet"]["wall_seconds"] == 0.0 and not (tmp_path / "mxnet").exists()
    assert "make venv PROFILE=book" in summary["frameworks"]["mxnet"]["error"]
    assert summary["frameworks"]["numpy"]["status"] == "ok" and summary["figures"] == ["loss_curves.png"]
    assert "mxnet: not installed: Install it with" in printed
    # Asked for by name, a missing framework fails the command; by default, it is only reported.
    assert not succeeded(summary["frameworks"], named=True)
    assert succeeded(summary["frameworks"], named=False)


def test_parity_fails_for_a_missing_framework_asked_for_by_name(mxnet_absent):
    result = parity.parity(["numpy", "mxnet"], 2)
    assert not result["ok"] and list(result["not_installed"]) == ["mxnet"] and not result["failed"]


def test_max_relative_differences_by_pair():
    result = max_relative_differences({"a": [1.0, 2.0, 4.0], "b": [1.0, 2.0, 5.0], "c": [1.0]})
    assert result == {"a/b": pytest.approx(0.2), "a/c": 0.0, "b/c": 0.0}


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    """torch trains; tensorflow is made to fail at import (a broken install shadowing the real one). Every test
    that uses it is marked ``needs("torch")``."""
    shadow = tmp_path_factory.mktemp("shadow")
    (shadow / "tensorflow").mkdir()
    (shadow / "tensorflow" / "__init__.py").write_text("raise ImportError('simulated broken install')\n")
    out = tmp_path_factory.mktemp("compare")
    (out / "notes.txt").write_text("mine\n")  # something the user already had there
    (out / "summary.md").write_text("a good comparison\n")  # one that went well, made before
    done = run(
        "compare",
        "--frameworks",
        "torch,tensorflow,numpy",
        "--max-steps",
        "25",
        "--out",
        out,
        "--no-progress",
        env={"PYTHONPATH": str(shadow) + os.pathsep + os.environ.get("PYTHONPATH", "")},
    )
    return out / "compare.partial", done  # a comparison with a failure replaces nothing: its results are apart


@pytest.mark.needs("torch")
def test_a_failing_framework_is_reported_and_the_others_finish(comparison):
    out, done = comparison
    assert done.returncode == 1  # not every framework ran
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frameworks"]["tensorflow"]["status"] == "failed"
    error = summary["frameworks"]["tensorflow"]["error"]
    assert "TensorFlow is installed but failed to import (ImportError: simulated broken install)" in error
    assert 'pip install -e ".[tensorflow]"' in error
    for name in ("torch", "numpy"):
        run_ = summary["frameworks"][name]
        assert run_["status"] == "ok" and run_["steps"] == 25 and len(run_["neighbours"]) == 3
        assert run_["wall_seconds"] >= run_["train_seconds"] > 0
    assert list(summary["max_relative_difference"]) == ["torch/numpy"]
    assert summary["max_relative_difference"]["torch/numpy"] < 1e-4
    results = out.parent
    assert (results / "notes.txt").read_text() == "mine\n"
    assert (results / "summary.md").read_text() == "a good comparison\n"
    assert sorted(p.name for p in results.iterdir() if not p.name.startswith(".")) == [
        "compare.partial",
        "notes.txt",
        "summary.md",
    ]
    assert done.stdout.strip().splitlines()[-1] == (
        f"2 of 3 frameworks trained (1 failed), so nothing in {results} was replaced: its previous results are as "
        f"they were. This comparison's runs and report are in {out}."
    )


@pytest.mark.needs("torch")
def test_comparison_files(comparison):
    out, _ = comparison
    assert (out / "loss_curves.png").stat().st_size > 10_000 and (out / "divergence.png").stat().st_size > 10_000
    markdown = (out / "summary.md").read_text()
    assert "| tensorflow | failed: TensorFlow is installed but failed" in markdown
    assert "| torch | ok | cpu | 25 |" in markdown
    settings_line = next(line for line in markdown.splitlines() if line.startswith("Settings: "))
    assert settings_line.startswith("Settings: 5 epochs, at most 25 steps, batches of 512 centers, Adam with")
    assert "None" not in settings_line and "False" not in settings_line and "min count" not in settings_line
    assert "words seen at least 10 times, context windows of 1 to 5, 5 noise words per context word" in settings_line
    assert "| torch/numpy |" in markdown
    assert not [p for p in out.rglob("*.tmp")]
    assert markdown.startswith("# Comparison of the frameworks\n")
    summary = json.loads((out / "summary.json").read_text())
    inside = summary_markdown(summary, figures=False, level=3)  # under a notebook's own headings
    assert inside.startswith("### Comparison of the frameworks\n") and "\n# " not in inside and "![" not in inside


def test_unknown_framework_in_a_comparison(capsys, tmp_path):
    assert "unknown framework 'caffe'" in user_error(
        capsys, "compare", "--frameworks", "torch,caffe", "--out", tmp_path
    )
    assert "unknown framework 'caffe'" in user_error(capsys, "parity", "--frameworks", "caffe")


@pytest.mark.needs("torch")
def test_diff_of_two_result_folders(comparison, tmp_path, capsys):
    """How the cross-environment figure is made: the same runs in two folders, framework by framework."""
    out, _ = comparison
    other = tmp_path / "other"
    shutil.copytree(out, other)
    history = json.loads((other / "numpy" / "history.json").read_text())
    history["step_losses"][7] *= 1.001
    history["versions"]["numpy"] = "9.9.9"
    history["config"] = history.pop("settings")  # as histories written before the settings' rename hold them
    (other / "numpy" / "history.json").write_text(json.dumps(history))
    (other / "torch" / "history.json").rename(other / "torch" / "elsewhere.json")
    assert cli.main(["diff", str(other), str(out)]) == 0
    assert f"torch: trained only into {out}\n" in capsys.readouterr().out
    (other / "torch" / "elsewhere.json").rename(other / "torch" / "history.json")
    assert cli.main(["diff", str(out), str(other)]) == 0
    printed = capsys.readouterr().out
    assert "torch: 25 steps, identical, final loss" in printed
    numpy_version = json.loads((out / "numpy" / "history.json").read_text())["versions"]["numpy"]
    assert (
        "numpy: 25 steps, largest relative difference 1.0e-03" in printed
        and f"numpy {numpy_version} / 9.9.9" in printed
    )
    assert "trained with different settings" not in printed
    (tmp_path / "empty").mkdir()
    assert "no framework was trained into both" in user_error(capsys, "diff", tmp_path / "empty", out)


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--epochs", "0", "epochs 0 is out of range"),
        ("--max-steps", "0", "max steps 0 is out of range"),
        ("--lr", "nan", "learning rate nan is out of range"),
        ("--num-noise", "0", "noise words 0 is out of range"),
        ("--data", "no-such-file.txt", "the data file no-such-file.txt does not exist"),
        ("--min-count", "100000", "min count 100000 leaves an empty vocabulary"),
    ],
)
def test_compare_checks_every_setting_before_the_first_framework_starts(
    capsys, tmp_path, monkeypatch, option, value, message
):
    monkeypatch.setattr(compare, "train_isolated", lambda *args, **kwargs: pytest.fail("a framework was started"))
    (tmp_path / "summary.md").write_text("a good summary\n")
    assert message in user_error(capsys, "compare", option, value, "--out", tmp_path)
    assert (tmp_path / "summary.md").read_text() == "a good summary\n"


@pytest.fixture
def two_runs(tmp_path, capsys):
    """A 3-step NumPy run, and a copy of it as if JAX had trained it (no framework needed to read them)."""
    assert cli.main(["train", "--framework", "numpy", "--max-steps", "3", "--out", str(tmp_path), "--no-progress"]) == 0
    shutil.copytree(tmp_path / "numpy", tmp_path / "jax")
    capsys.readouterr()
    return tmp_path


def test_report_refuses_runs_with_different_settings_unless_asked(two_runs, capsys):
    history = json.loads((two_runs / "jax" / "history.json").read_text())
    history["settings"].update(lr=0.01, min_count=20)
    (two_runs / "jax" / "history.json").write_text(json.dumps(history))
    err = user_error(capsys, "report", "--out", two_runs)
    assert "were trained with different settings: min_count (jax 20, numpy 10); lr (jax 0.01, numpy 0.002)." in err
    assert "--mixed" in err and not (two_runs / "summary.md").exists()
    assert cli.main(["report", "--out", str(two_runs), "--mixed"]) == 0
    assert (
        "The runs differ in: min_count (jax 20, numpy 10); lr (jax 0.01, numpy 0.002)."
        in (two_runs / "summary.md").read_text()
    )


@pytest.mark.parametrize(
    "content, said",
    [
        ("", "is empty"),
        ('{"framework": "numpy", "step_losses": [0.69', "is not a whole history"),
        ('{"framework": "numpy"}', "is not a history of this project (it lacks device, step_losses"),
        ("[1, 2]", "is not a history of this project"),
    ],
)
def test_report_and_diff_read_broken_histories_as_messages(two_runs, capsys, tmp_path_factory, content, said):
    (two_runs / "jax" / "history.json").write_text(content)
    assert said in user_error(capsys, "report", "--out", two_runs)
    assert said in user_error(capsys, "diff", two_runs, two_runs)


def test_a_diverged_run_is_reported_as_such(two_runs, capsys):
    history = json.loads((two_runs / "jax" / "history.json").read_text())
    history["stopped"] = "diverged"
    (two_runs / "jax" / "history.json").write_text(json.dumps(history))
    assert f"the run in {two_runs / 'jax'} diverged after 3 steps" in user_error(capsys, "report", "--out", two_runs)


def test_a_report_that_fails_after_training_keeps_the_comparisons_runs(tmp_path, monkeypatch, capsys):
    """Whatever makes the report fail once every framework trained, the runs are kept and the message says where."""

    def failing_report(*args, **kwargs):
        raise W2VError("the report failed.")

    monkeypatch.setattr(compare, "report", failing_report)
    code = cli.main(["compare", "--frameworks", "numpy", "--max-steps", "3", "--out", str(tmp_path), "--no-progress"])
    err = capsys.readouterr().err
    staging = tmp_path / "compare.partial"
    assert code == 2 and f"the report failed. The comparison's runs are kept in {staging}; nothing in" in err
    assert (staging / "numpy" / "history.json").is_file() and not (tmp_path / "numpy").exists()


def test_a_comparison_never_deletes_a_file_of_the_readers_inside_its_staging_folder(tmp_path, capsys):
    """The folder a failed comparison points to is the reader's to look in; a file they put there is refused."""
    (tmp_path / "compare.partial" / "numpy").mkdir(parents=True)
    (tmp_path / "compare.partial" / "numpy" / "notes.txt").write_text("mine")
    err = user_error(capsys, "compare", "--frameworks", "numpy", "--max-steps", "2", "--out", tmp_path)
    assert "compare.partial holds files that are not a run's (numpy/notes.txt)" in err
    assert (tmp_path / "compare.partial" / "numpy" / "notes.txt").read_text() == "mine"


def test_a_comparison_draws_its_figures_whatever_matplotlib_backend_the_reader_set(tmp_path):
    done = run(
        "compare",
        "--frameworks",
        "numpy",
        "--max-steps",
        "2",
        "--out",
        tmp_path,
        "--no-progress",
        env={"MPLBACKEND": "no-such-backend"},
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "loss_curves.png").read_bytes().startswith(b"\x89PNG")


def test_a_report_reads_each_run_whole_when_a_run_is_put_in_place_meanwhile(two_runs, monkeypatch):
    """Between the history and the vectors of one run, a train into the same folder swaps in another run: the
    report notices the folder changed and reads that run again, history and vectors together."""
    newer = two_runs / "newer"
    assert cli.main(["train", "--framework", "numpy", "--max-steps", "5", "--out", str(newer), "--no-progress"]) == 0
    read_vectors, swapped = runs.embeddings.load_word2vec, []

    def vectors_after_a_swap(path):
        if not swapped:  # as RunFolder.commit does: the old run aside, the new one into its place
            os.replace(two_runs / "numpy", two_runs / "old-numpy")
            os.replace(newer / "numpy", two_runs / "numpy")
            swapped.append(path)
        return read_vectors(path)

    monkeypatch.setattr(runs.embeddings, "load_word2vec", vectors_after_a_swap)
    history, (words, matrix) = runs.read_run(two_runs / "numpy")
    assert swapped and history.steps == 5
    assert matrix.tolist() == read_vectors(two_runs / "numpy" / "embeddings.txt")[1].tolist()


def test_a_path_that_is_not_utf8_is_compared_and_written_escaped(tmp_path):
    """A Linux path may hold any bytes; the summary names it with the odd bytes escaped, and the runs are kept."""
    rng = np.random.default_rng(0)
    corpus = tmp_path / os.fsdecode(b"corpus-\xff\xfe.txt")
    corpus.write_text("".join(" ".join(f"w{i}" for i in rng.integers(0, 40, 9)) + "\n" for _ in range(400)))
    out = tmp_path / os.fsdecode(b"runs-\xff")
    done = run(
        "compare",
        "--frameworks",
        "numpy",
        "--max-steps",
        "2",
        "--data",
        corpus,
        "--min-count",
        "1",
        "--subsample-t",
        "0.05",
        "--out",
        out,
        "--no-progress",
    )
    assert done.returncode == 0, done.stderr
    assert (out / "numpy" / "history.json").is_file() and "Traceback" not in done.stderr
    assert "corpus-\\udcff\\udcfe.txt" in (out / "summary.md").read_text(encoding="utf-8")
