"""Interruption, resumption and divergence, with real processes: nothing trained is lost."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from backends.cli import main as cli
from backends.common.errors import W2VError
from backends.common.frameworks import FRAMEWORKS
from backends.training import checkpoint, loop
from backends.training.state import KEYS, TrainerState
from helpers import ROOT, interrupt_at_each_line, run, scripted_backend, user_error

STEPS = 200  # far beyond the first checkpoints, so the kill always lands before the end


def start_training(framework, out, *extra):
    command = [
        sys.executable,
        "-m",
        "backends",
        "train",
        "--framework",
        framework,
        "--max-steps",
        "3000",
        "--checkpoint-every",
        "10",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, process, timeout=180):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, f"no {path} after {timeout} s"
        time.sleep(0.01)


def saved_step(path) -> int:
    with np.load(path) as saved:
        return len(json.loads(str(saved["position"]))["step_losses"])


def finished_run(framework, out, *extra):
    done = run("train", "--framework", framework, "--max-steps", STEPS, "--out", out, "--json", "--no-progress", *extra)
    assert done.returncode == 0, done.stderr
    history = json.loads((out / framework / "history.json").read_text())
    return history, (out / framework / "embeddings.txt").read_text()


LAZY_PER_BATCH = ("--sample-each-batch", "--optimizer", "lazy_adam")  # issue 38's two settings together


HIERARCHICAL, FULL = ("--objective", "hierarchical_softmax"), ("--objective", "full_softmax")  # issue 39's


@pytest.mark.parametrize(
    "framework, extra",
    [
        *((framework, ()) for framework in FRAMEWORKS),
        ("torch", LAZY_PER_BATCH),
        ("jax", LAZY_PER_BATCH),
        ("tensorflow", HIERARCHICAL),
        ("jax", FULL),
    ],
    ids=[*FRAMEWORKS, "torch-lazy-per-batch", "jax-lazy-per-batch", "tensorflow-hierarchical", "jax-full-softmax"],
)
def test_a_killed_run_resumes_to_exactly_the_uninterrupted_result(framework, extra, tmp_path):
    process = start_training(framework, tmp_path / "killed", *extra)
    saved = tmp_path / "killed" / f"{framework}.partial" / "checkpoint.npz"  # a run works in a staging folder
    wait_for(saved, process)
    process.kill()  # SIGKILL: no chance to clean up
    process.wait()
    assert 10 <= saved_step(saved) < STEPS and saved_step(saved) % 10 == 0
    assert not (tmp_path / "killed" / framework).exists()  # nothing half made where a finished run goes
    resumed, resumed_vectors = finished_run(framework, tmp_path / "killed", "--resume", *extra)
    reference, reference_vectors = finished_run(framework, tmp_path / "reference", *extra)
    assert reference["settings"]["optimizer"] == ("lazy_adam" if "lazy_adam" in extra else "adam")
    assert reference["settings"]["objective"] == (extra[1] if "--objective" in extra else "negative_sampling")
    assert resumed["step_losses"] == reference["step_losses"]
    assert resumed["epoch_losses"] == reference["epoch_losses"]
    assert resumed_vectors == reference_vectors


@pytest.mark.needs("torch")
@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_or_sigterm_stops_after_a_step_and_keeps_everything(tmp_path, stop):
    process = start_training("torch", tmp_path)
    wait_for(tmp_path / "torch.partial" / "checkpoint.npz", process)
    process.send_signal(stop)
    printed, errors = process.communicate(timeout=120)
    assert process.returncode == 130, errors
    assert "Traceback" not in errors
    assert printed.strip().splitlines()[-1].startswith("interrupted after ")
    assert printed.strip().endswith(
        "of 3,000 steps, which are kept; run the same command with --resume to continue from its checkpoint."
    )
    history = json.loads((tmp_path / "torch" / "history.json").read_text())
    assert history["stopped"] == "interrupted" and 10 <= history["steps"] < 3000
    # The checkpoint written on Ctrl-C holds exactly the steps in the history.
    assert saved_step(tmp_path / "torch" / "checkpoint.npz") == history["steps"]
    assert (tmp_path / "torch" / "embeddings.txt").read_text().startswith("6719 100\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == [".torch.lock", "torch"]  # the staging folder swapped in


def test_resume_refuses_other_settings_and_broken_checkpoints(capsys, tmp_path):
    folder = tmp_path / "numpy"
    assert (
        cli.main(
            [
                "train",
                "--framework",
                "numpy",
                "--max-steps",
                "4",
                "--checkpoint-every",
                "2",
                "--out",
                str(tmp_path),
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    err = user_error(capsys, "train", "--framework", "numpy", "--resume", "--lr", "0.01", "--out", tmp_path)
    assert "other settings or on another corpus (lr 0.002 there, 0.01 now)" in err
    (folder / "checkpoint.npz").write_bytes(b"half a file")
    assert "is not a checkpoint" in user_error(capsys, "train", "--framework", "numpy", "--resume", "--out", tmp_path)
    other = tmp_path / "other"  # where no run has been
    assert "no checkpoint at" in user_error(capsys, "train", "--framework", "numpy", "--resume", "--out", other)


def test_a_diverging_run_keeps_its_history_and_vectors(capsys, tmp_path, monkeypatch):
    fake = scripted_backend([0.69] * 24 + [float("inf")] * 36)
    fake.train = lambda data, settings, **options: loop.fit(fake, data, settings, **options)
    monkeypatch.setattr(cli, "load_backend", lambda name: fake)
    err = user_error(capsys, "train", "--framework", "torch", "--max-steps", "60", "--out", tmp_path, "--no-progress")
    assert "loss became inf at step 25" in err and "Lower the learning rate (--lr" in err
    history = json.loads((tmp_path / "torch" / "history.json").read_text())
    assert history["stopped"] == "diverged" and history["steps"] == 24
    assert (tmp_path / "torch" / "embeddings.txt").is_file()


@pytest.mark.parametrize(
    "flag, value, message",
    [
        ("--min-count", "100000", "leaves an empty vocabulary"),
        ("--max-window", "0", "max window 0 is out of range"),
        ("--num-noise", "0", "noise words 0 is out of range"),
        (
            "--checkpoint-every",
            "0",
            "--checkpoint-every 0 is out of range: save a checkpoint every N steps, N at least 1.",
        ),
    ],
)
def test_more_out_of_range_settings(capsys, tmp_path, flag, value, message):
    assert message in user_error(capsys, "train", "--framework", "numpy", flag, value, "--out", tmp_path)


def test_checkpoints_are_written_atomically_and_read_back_whole(tmp_path):
    state = {name: np.full((3, 2), index, dtype=np.float32) for index, name in enumerate(KEYS[:-1])}
    saved = TrainerState.from_arrays({**state, "adam_step": np.array(4)})
    position = {
        "settings": {},
        "epoch": 0,
        "batch": 4,
        "epoch_sum": 2.8,
        "epoch_centers": 4.0,
        "centers": 4,
        "step_losses": [0.7] * 4,
        "epoch_losses": [],
    }
    path = checkpoint.save(tmp_path / "c.npz", saved, position)
    assert [p.name for p in tmp_path.iterdir()] == ["c.npz"]
    loaded, position = checkpoint.load(path, {})
    assert np.array_equal(loaded["context_v"], state["context_v"]) and position["format"] == checkpoint.FORMAT
    assert int(loaded["adam_step"]) == 4 and set(loaded) == set(KEYS)
    with np.load(path) as whole:
        arrays = {name: whole[name] for name in whole.files if name != "center_m"}
    np.savez(path, **arrays)
    with pytest.raises(W2VError, match="is incomplete"):
        checkpoint.load(path, {})


def test_written_files_get_the_usual_permissions_not_the_temporary_files_private_ones(tmp_path):
    from backends.common.files import write_text

    old = os.umask(0o022)
    try:
        path = write_text(tmp_path / "summary.md", "shared\n")
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o644 and path.read_text() == "shared\n"


def test_ctrl_c_at_any_instant_of_an_atomic_write_leaves_the_old_file_or_the_new_one_and_no_temporary(tmp_path):
    from backends.common import files

    path = files.write_text(tmp_path / "summary.md", "old\n")
    places = []
    for place in interrupt_at_each_line(lambda: files.write_text(path, "new\n"), files):
        places.append(place)
        assert [p.name for p in tmp_path.iterdir()] == ["summary.md"], place
        assert path.read_text() in ("old\n", "new\n"), place
    assert {place.split(":")[0] for place in places} >= {"write_text", "atomic_path"}


def test_an_interrupted_run_without_checkpoints_says_how_to_make_one(capsys, tmp_path, monkeypatch):
    fake = scripted_backend([0.69] * 60, interrupt_at=31)
    fake.train = lambda data, settings, **options: loop.fit(fake, data, settings, **options)
    monkeypatch.setattr(cli, "load_backend", lambda name: fake)
    code = cli.main(["train", "--framework", "torch", "--max-steps", "60", "--out", str(tmp_path), "--no-progress"])
    printed = capsys.readouterr().out.strip().splitlines()
    assert code == 130 and printed[-1] == (
        "interrupted after 30 of 60 steps, which are kept; train with "
        "--checkpoint-every N to be able to continue an interrupted run."
    )
    assert json.loads((tmp_path / "torch" / "history.json").read_text())["steps"] == 30


def test_a_checkpoint_is_never_replaced_or_resumed_silently(capsys, tmp_path):
    """Training again where a checkpoint is asks for --resume or --restart; resuming a finished run, or with
    fewer max steps than the checkpoint holds, says so; none of them touches what is on disk."""
    folder = tmp_path / "numpy"
    train = ["train", "--framework", "numpy", "--checkpoint-every", "2", "--out", tmp_path, "--no-progress"]
    assert cli.main([str(a) for a in train + ["--max-steps", "4"]]) == 0
    capsys.readouterr()
    written = {path.name: path.read_bytes() for path in folder.iterdir()}
    err = user_error(capsys, *train, "--max-steps", "6")
    assert (
        "holds an earlier run's checkpoint, which this run would replace: continue that run with --resume, "
        "or start over with --restart. Nothing was trained." in err
    )
    assert "holds a finished run: its 4 steps are all that 5 epochs (--epochs) and max steps 4" in user_error(
        capsys, *train, "--max-steps", "4", "--resume"
    )
    assert "holds 4 steps, more than max steps 3: resume with --max-steps 4 or more." in user_error(
        capsys, *train, "--max-steps", "3", "--resume"
    )
    assert "choose one" in user_error(capsys, *train, "--resume", "--restart")
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == written
    assert cli.main([str(a) for a in train + ["--max-steps", "2", "--restart"]]) == 0
    assert saved_step(folder / "checkpoint.npz") == 2
