"""The command line, end to end in subprocesses, and every bad input it must answer clearly."""

import json

import pytest

from helpers import run, user_error


def test_stats_json():
    done = run("stats", "--json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["vocab_size"] == 6719 and stats["batches"] == -(-stats["centers"] // 512)
    assert set(stats) == {
        "vocab_size",
        "sentences",
        "tokens",
        "subsampled_tokens",
        "centers",
        "pairs",
        "batches",
        "build_seconds",
    }


@pytest.mark.needs("torch")
def test_train_writes_history_and_embeddings(trained):
    out, summary = trained
    assert summary["framework"] == "torch" and summary["device"] == "cpu" and summary["steps"] == 40
    assert 0.5 < summary["loss"] < 0.7 and summary["centers_per_sec"] > 0 and summary["cores_busy"] > 0
    assert {"centers_per_sec", "cores_busy", "device", "steps"} <= set(summary)  # what the bench reads from it
    history = json.loads((out / "torch" / "history.json").read_text())
    assert len(history["step_losses"]) == 40 and history["loss"] == summary["loss"]
    header = (out / "torch" / "embeddings.txt").read_text().splitlines()[0]
    assert header == "6719 100"
    assert not list((out / "torch").glob(".*tmp"))  # no temporary files left behind


@pytest.mark.needs("torch")
def test_similar_and_report(trained):
    out, _ = trained
    done = run("similar", out / "torch" / "embeddings.txt", "chip", "-k", "4")
    assert done.returncode == 0, done.stderr
    rows = [line.split("\t") for line in done.stdout.strip().splitlines()]
    assert len(rows) == 4 and all(-1 <= float(c) <= 1 for _, c in rows) and "chip" not in [w for w, _ in rows]
    done = run("report", "--out", out)
    assert done.returncode == 0, done.stderr
    assert (out / "loss_curves.png").stat().st_size > 10_000
    summary = (out / "summary.md").read_text()
    assert "| torch | ok | cpu | 40 |" in summary and 'neighbours of "chip"' in summary


def test_train_with_the_chapters_extensions(tmp_path):
    done = run(
        "train",
        "--framework",
        "numpy",
        "--model",
        "cbow",
        "--noise",
        "uniform",
        "--resample-each-epoch",
        "--max-steps",
        "700",
        "--out",
        tmp_path,
        "--json",
        "--no-progress",
    )
    assert done.returncode == 0, done.stderr
    history = json.loads((tmp_path / "numpy" / "history.json").read_text())
    assert history["settings"]["model"] == "cbow" and history["settings"]["noise"] == "uniform"
    assert history["settings"]["resample_each_epoch"] and len(history["epoch_losses"]) == 2


@pytest.mark.parametrize(
    "raises, said",
    [
        (
            "ImportError('simulated broken install')",
            "PyTorch is installed but failed to import (ImportError: simulated broken install)",
        ),
        ("ModuleNotFoundError(\"No module named 'torch'\", name='torch')", "PyTorch is not installed. Install it with"),
    ],
)
def test_framework_that_fails_to_import_names_what_to_install(tmp_path, raises, said):
    fake = tmp_path / "torch"
    fake.mkdir()
    (fake / "__init__.py").write_text(f"raise {raises}\n")
    done = run("train", "--framework", "torch", "--max-steps", "1", env={"PYTHONPATH": tmp_path})
    assert done.returncode == 2
    assert said in done.stderr and 'Install it with `pip install -e ".[torch]"` in the project folder' in done.stderr
    assert "Traceback" not in done.stderr


def test_unknown_framework(capsys):
    assert "unknown framework 'pytorch'; choose one of torch, mxnet, jax, tensorflow, numpy." in user_error(
        capsys, "train", "--framework", "pytorch"
    )


@pytest.mark.needs("torch")
def test_gpu_requested_but_absent(capsys, tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    err = user_error(capsys, "train", "--framework", "torch", "--device", "gpu", "--out", tmp_path)
    assert "a GPU was asked for, but PyTorch sees none" in err


def test_missing_and_corrupt_data(capsys, tmp_path):
    assert "does not exist" in user_error(capsys, "stats", "--data", tmp_path / "ptb.zip")
    (tmp_path / "ptb.zip").write_bytes(b"not a zip")
    assert "is corrupt" in user_error(capsys, "stats", "--data", tmp_path / "ptb.zip")


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--epochs", "0", "epochs 0 is out of range"),
        ("--lr", "-1", "learning rate -1.0 is out of range"),
        ("--batch-size", "0", "batch size 0 is out of range"),
        ("--embed-size", "0", "embedding size 0 is out of range"),
    ],
)
def test_out_of_range_training_flags(capsys, flag, value, message):
    assert message in user_error(capsys, "train", "--framework", "torch", flag, value)


@pytest.mark.needs("torch")
def test_unknown_word_lists_close_spellings(capsys, trained):
    out, _ = trained
    err = user_error(capsys, "similar", out / "torch" / "embeddings.txt", "chipz")
    assert "'chipz' is not in the vocabulary" in err and "chip, chips" in err


def test_malformed_embeddings_file_reports_the_line(capsys, tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("2 3\nfoo 1 2 3\nbar 1 2\n")
    assert "line 3 is malformed" in user_error(capsys, "similar", bad, "foo")
    assert "does not exist" in user_error(capsys, "similar", tmp_path / "none.txt", "foo")


def test_output_folder_that_cannot_be_written(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    err = user_error(capsys, "train", "--framework", "torch", "--max-steps", "1", "--no-progress", "--out", blocker)
    assert f"cannot write to the output folder {blocker} ({blocker} is a file, not a folder)" in err
    assert "--out" in err and blocker.read_text() == ""


def test_report_without_runs(capsys, tmp_path):
    assert "no runs under" in user_error(capsys, "report", "--out", tmp_path)
