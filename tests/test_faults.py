"""Real faults, really produced: two runs at once, kill -9, a full disk (a small tmpfs), a read-only one, a name
too long, SIGTERM to a comparison. Each must leave either the previous complete run or the new one, and say so."""

import contextlib
import errno
import gc
import inspect
import json
import os
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from backends.common.errors import W2VError
from backends.experiments import runs
from backends.training import checkpoint
from backends.training.state import TrainerState
from helpers import ROOT, interrupt_at_each_line, run, user_error

LONG_RUN = ("--max-steps", "3000")  # minutes of training: the tests stop it long before its end


def _ctrl_c_as_from_a_terminal() -> None:
    """In the child, before Python starts: Ctrl-C's default action. A job a shell starts in the background
    (`cmd &`, as CI may run the tests) inherits SIGINT ignored, and Python then keeps it ignored until the
    command installs its own handler, so a signal sent while the data loads would be lost."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Training:
    """``python -m backends ARGS`` in the background, its progress bars (stderr) read as they come."""

    def __init__(self, *args):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "backends", *map(str, args)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_ctrl_c_as_from_a_terminal,
        )
        self.errors: list[str] = []
        self.reader = threading.Thread(
            target=lambda: self.errors.extend(iter(lambda: self.process.stderr.read(64), ""))
        )
        self.reader.start()

    def wait_until_training(self, timeout=300):
        """Until a progress bar says an epoch has begun: the run holds its folder and its signal handlers."""
        deadline = time.monotonic() + timeout
        while " epoch 1/" not in "".join(self.errors):
            assert self.process.poll() is None, "".join(self.errors)
            assert time.monotonic() < deadline, f"no training after {timeout} s"
            time.sleep(0.05)

    def end(self, timeout=300):
        printed = self.process.stdout.read()
        code = self.process.wait(timeout)
        self.reader.join()
        return code, printed, "".join(self.errors)


@contextlib.contextmanager
def small_disk(folder, megabytes, read_only=False):
    """A real file system of ``megabytes`` (tmpfs, which needs root) mounted at ``folder`` for the test."""
    folder.mkdir()
    options = f"size={megabytes}m" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a small tmpfs here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(disk, leave_bytes=0):
    """Write a filler file until the disk has only ``leave_bytes`` free."""
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "wb") as filler:
        try:
            filler.write(b"\0" * max(free - leave_bytes, 0))
        except OSError as error:
            assert error.errno == errno.ENOSPC


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def one_paragraph(err):
    assert err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1, err
    return err


def test_a_second_run_into_a_live_runs_folder_is_refused_naming_the_holder(tmp_path):
    first = Training("train", "--framework", "numpy", *LONG_RUN, "--out", tmp_path)
    first.wait_until_training()
    second = run("train", "--framework", "numpy", "--max-steps", "5", "--out", tmp_path, "--no-progress")
    assert second.returncode == 2
    err = one_paragraph(second.stderr)
    assert f"{tmp_path / 'numpy'} is being written by another run (process {first.process.pid} of " in err
    assert "python -m backends train --framework numpy --max-steps 3000" in err and "Nothing was done" in err
    # A comparison needs the folder too, and is refused as well.
    assert "is being written by another run" in run("compare", "--frameworks", "numpy", "--out", tmp_path).stderr
    first.process.send_signal(signal.SIGTERM)
    code, printed, _ = first.end()
    assert code == 130 and printed.strip().splitlines()[-1].startswith("interrupted after ")
    assert json.loads((tmp_path / "numpy" / "history.json").read_text())["stopped"] == "interrupted"


def test_what_a_killed_run_left_is_cleaned_up_and_the_previous_run_stays(tmp_path):
    assert run("train", "--framework", "numpy", "--max-steps", "5", "--out", tmp_path, "--no-progress").returncode == 0
    before = (tmp_path / "numpy" / "history.json").read_text()
    killed = Training("train", "--framework", "numpy", *LONG_RUN, "--out", tmp_path)
    killed.wait_until_training()
    killed.process.kill()
    killed.end()
    assert (tmp_path / "numpy.partial").is_dir()  # what it left: a staging folder, no checkpoint in it
    assert (tmp_path / "numpy" / "history.json").read_text() == before  # the previous run, whole
    assert run("train", "--framework", "numpy", "--max-steps", "7", "--out", tmp_path, "--no-progress").returncode == 0
    assert not (tmp_path / "numpy.partial").exists()
    assert json.loads((tmp_path / "numpy" / "history.json").read_text())["steps"] == 7
    assert files_under(tmp_path / "numpy") == ["embeddings.txt", "evaluation.json", "history.json"]


def test_a_swap_cut_between_its_two_renames_is_undone(tmp_path):
    """kill -9 between the renames leaves the previous run aside and no run in place: the next run puts it back."""
    assert run("train", "--framework", "numpy", "--max-steps", "5", "--out", tmp_path, "--no-progress").returncode == 0
    (tmp_path / "numpy").rename(tmp_path / ".numpy.old")
    err = run("train", "--framework", "numpy", "--resume", "--out", tmp_path).stderr
    assert "no checkpoint at" in err  # refused, after putting the previous run back
    assert json.loads((tmp_path / "numpy" / "history.json").read_text())["steps"] == 5
    assert not (tmp_path / ".numpy.old").exists()


def test_a_full_disk_leaves_the_previous_run_whole(tmp_path):
    with small_disk(tmp_path / "disk", 12) as disk:  # one run's files (7.3 MB of vectors) fit, two do not
        assert run("train", "--framework", "numpy", "--max-steps", "5", "--out", disk, "--no-progress").returncode == 0
        before = {name: (disk / "numpy" / name).read_bytes() for name in files_under(disk / "numpy")}
        failed = run("train", "--framework", "numpy", "--max-steps", "9", "--out", disk, "--no-progress")
        assert failed.returncode == 2
        err = one_paragraph(failed.stderr)
        assert (
            f"cannot use {disk / 'numpy.partial' / 'embeddings.txt'}: the disk is full (No space left on device)" in err
        )
        assert "Free some space, or write somewhere else (--out DIR). Results written before are unchanged." in err
        assert {name: (disk / "numpy" / name).read_bytes() for name in before} == before
        assert files_under(disk) == [
            ".numpy.lock",
            "numpy",
            "numpy/embeddings.txt",
            "numpy/evaluation.json",
            "numpy/history.json",
        ]


def test_a_checkpoint_the_disk_cannot_hold_leaves_nothing_for_the_garbage_collector(tmp_path, monkeypatch):
    """The failed write's traceback keeps its frame alive until the garbage collector frees it; nothing it holds
    may then fail to close (Python 3.13 reported "Exception ignored in: <_io.BytesIO ...>: BufferError", a
    traceback on the interrupted run's stderr, while a view of the checkpoint's bytes outlived the write)."""
    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    tables = tuple(np.zeros((1000, 100), dtype=np.float32) for _ in range(2))  # 2.4 MB in all: more than the disk
    with small_disk(tmp_path / "disk", 1) as disk:
        with pytest.raises(W2VError, match="the disk is full"):
            checkpoint.save(disk / "checkpoint.npz", TrainerState.fresh(tables), {})
        gc.collect()
        assert [p.name for p in disk.iterdir()] == []
    assert [repr(u.exc_value) for u in unraisable] == []


def test_sigterm_on_a_full_disk_still_keeps_the_history_and_vectors(tmp_path):
    with small_disk(tmp_path / "disk", 12) as disk:  # the vectors fit, a checkpoint (16 MB) does not
        training = Training("train", "--framework", "numpy", *LONG_RUN, "--checkpoint-every", "100000", "--out", disk)
        training.wait_until_training()
        training.process.send_signal(signal.SIGTERM)
        code, printed, errors = training.end()
        assert code == 130 and "Traceback" not in errors
        assert "warning: the checkpoint at the interrupt could not be saved" in errors and "the disk is full" in errors
        assert printed.strip().endswith("train with --checkpoint-every N to be able to continue an interrupted run.")
        assert json.loads((disk / "numpy" / "history.json").read_text())["stopped"] == "interrupted"
        assert files_under(disk) == [
            ".numpy.lock",
            "numpy",
            "numpy/embeddings.txt",
            "numpy/evaluation.json",
            "numpy/history.json",
        ]


def test_a_report_that_cannot_be_written_leaves_the_previous_one(tmp_path):
    with small_disk(tmp_path / "disk", 12) as disk:
        assert run("train", "--framework", "numpy", "--max-steps", "5", "--out", disk, "--no-progress").returncode == 0
        assert run("report", "--out", disk).returncode == 0
        (disk / "summary.md").write_text("the previous report\n")
        fill(disk, leave_bytes=4096)
        failed = run("report", "--out", disk)
        assert failed.returncode == 2
        assert "the disk is full" in one_paragraph(failed.stderr)
        assert (disk / "summary.md").read_text() == "the previous report\n"
        assert [p.name for p in disk.iterdir() if p.name.startswith(".report")] == []


def test_a_read_only_disk_is_named(capsys, tmp_path):
    with small_disk(tmp_path / "disk", 1, read_only=True) as disk:
        err = one_paragraph(user_error(capsys, "train", "--framework", "numpy", "--max-steps", "2", "--out", disk))
        assert f"cannot write to the output folder {disk} (Read-only file system)" in err


def test_a_name_too_long_is_named(capsys, tmp_path):
    out = tmp_path / ("x" * 300)
    err = one_paragraph(user_error(capsys, "train", "--framework", "numpy", "--max-steps", "2", "--out", out))
    assert "(File name too long)" in err and "--out DIR" in err


def test_sigterm_to_a_comparison_replaces_nothing(tmp_path):
    (tmp_path / "summary.md").write_text("a good comparison\n")
    comparison = Training("compare", "--frameworks", "numpy,torch", *LONG_RUN, "--out", tmp_path)
    comparison.wait_until_training()
    comparison.process.send_signal(signal.SIGTERM)
    code, printed, errors = comparison.end()
    assert code == 130 and "Traceback" not in errors, errors
    assert "| numpy | interrupted: interrupted after " in printed
    assert "| torch | interrupted: not started, as the comparison was interrupted |" in printed
    assert printed.strip().splitlines()[-1].startswith("0 of 2 frameworks trained (2 interrupted), so nothing in ")
    assert (tmp_path / "summary.md").read_text() == "a good comparison\n"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == ["compare.partial", "summary.md"]
    kept = json.loads((tmp_path / "compare.partial" / "numpy" / "history.json").read_text())
    assert kept["stopped"] == "interrupted"


def test_a_folder_of_the_users_is_never_replaced_by_a_run(capsys, tmp_path):
    """`--out ~` with a ~/numpy checkout of one's own: a run replaces its folder whole, so it must refuse. Each kind
    of folder of the user's sits where the NumPy run's folder goes, in an --out folder of its own."""
    outs = {kind: tmp_path / kind for kind in ("checkout", "file", "hidden", "link")}
    for out in outs.values():
        out.mkdir()
    (outs["checkout"] / "numpy").mkdir()
    (outs["checkout"] / "numpy" / "setup.py").write_text("mine")
    (outs["file"] / "numpy").write_text("mine too")
    (outs["hidden"] / "numpy").mkdir()
    (outs["hidden"] / "numpy" / ".notes").write_text("hidden, and mine")  # a hidden file is the user's too
    (outs["link"] / "numpy").symlink_to(tmp_path / "nowhere")
    for kind, what in (
        ("checkout", "holds files that are not a run's (setup.py)"),
        ("file", "is not a folder"),
        ("hidden", "holds files that are not a run's (.notes)"),
        ("link", "is a symbolic link to nothing (a broken link)"),
    ):
        err = one_paragraph(
            user_error(capsys, "train", "--framework", "numpy", "--max-steps", "2", "--out", outs[kind])
        )
        assert f"{outs[kind] / 'numpy'} {what}, and a run replaces that folder whole; move it away" in err
    assert "holds files that are not a run's" in user_error(
        capsys, "compare", "--frameworks", "numpy", "--out", outs["checkout"]
    )
    assert (outs["checkout"] / "numpy" / "setup.py").read_text() == "mine"
    assert (outs["file"] / "numpy").read_text() == "mine too"
    assert (outs["hidden"] / "numpy" / ".notes").read_text() == "hidden, and mine"
    for out in outs.values():
        assert [p.name for p in out.iterdir() if not p.name.endswith(".lock")] == ["numpy"], out


def test_ctrl_c_while_the_data_loads_is_a_message_and_leaves_nothing(tmp_path):
    # A corpus of 3 million words takes seconds to read and index, so that the signal, sent as soon as the run
    # holds its folder, lands while the data loads even on a busy machine (PTB loads in half a second).
    words = np.random.default_rng(0).integers(0, 2_000, size=(150_000, 20))
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(" ".join(f"w{word}" for word in line) for line in words) + "\n")
    out = tmp_path / "out"
    training = Training("train", "--framework", "numpy", "--max-steps", "5", "--data", corpus, "--out", out)
    deadline = time.monotonic() + 120
    while not (out / ".numpy.owner").exists():  # written once the folder is locked, before the data loads
        assert training.process.poll() is None and time.monotonic() < deadline, "".join(training.errors)
        time.sleep(0.005)
    training.process.send_signal(signal.SIGINT)
    code, printed, errors = training.end()
    assert code == 130 and "Traceback" not in errors, errors
    assert errors.strip().splitlines()[-1] == (
        "error: interrupted (Ctrl-C or SIGTERM) before the command finished. "
        "Nothing is half written: what it had not put in place yet is as it "
        "was before."
    )
    assert sorted(p.name for p in out.iterdir()) == [".numpy.lock"]


def test_ctrl_c_at_any_instant_of_taking_or_leaving_a_runs_folder_leaves_nothing(tmp_path):
    """The window of the test above, and every other, hit in turn: a Ctrl-C at each line that RunFolder runs
    while a run takes its folder, stages it and leaves it. Once the interrupted run is gone (its object freed, as
    when Python exits), the folder is free and nothing of the run is left but the lock file, or, where the
    interrupt cut the leaving short, its staging folder, which the next run removes."""

    def a_run():
        with runs.RunFolder(tmp_path / "numpy") as folder:
            folder.stage()

    places = []
    for place in interrupt_at_each_line(a_run, runs):
        places.append(place)
        gc.collect()
        left = {p.name for p in tmp_path.iterdir()}
        assert left <= {".numpy.lock", "numpy.partial"}, (place, left)
        a_run()
        assert sorted(p.name for p in tmp_path.iterdir()) == [".numpy.lock"], place
    source, first = inspect.getsourcelines(runs.RunFolder.__enter__)
    written = first + next(i for i, line in enumerate(source) if "self.owner.write_text" in line)
    assert f"__enter__:{written + 1}" in places  # the owner file written, __enter__ not yet returned
    assert {place.split(":")[0] for place in places} >= {"__enter__", "stage", "__exit__", "_release"}


def test_sigterm_while_the_results_are_written_waits_for_them(tmp_path):
    training = Training("train", "--framework", "numpy", "--max-steps", "3", "--out", tmp_path)
    deadline = time.monotonic() + 120
    while not list((tmp_path / "numpy.partial").glob(".embeddings.txt.*.tmp")):
        assert training.process.poll() is None and time.monotonic() < deadline, "".join(training.errors)
        time.sleep(0.002)
    training.process.send_signal(signal.SIGTERM)
    code, printed, errors = training.end()
    assert code == 0 and "Traceback" not in errors, errors
    assert files_under(tmp_path) == [
        ".numpy.lock",
        "numpy",
        "numpy/embeddings.txt",
        "numpy/evaluation.json",
        "numpy/history.json",
    ]
    assert (tmp_path / "numpy" / "embeddings.txt").read_text().startswith("6719 100\n")


def test_a_history_of_the_wrong_kinds_is_a_message(capsys, tmp_path):
    assert run("train", "--framework", "numpy", "--max-steps", "3", "--out", tmp_path, "--no-progress").returncode == 0
    history = json.loads((tmp_path / "numpy" / "history.json").read_text())
    (tmp_path / "numpy" / "history.json").write_text(json.dumps({**history, "step_losses": "abc", "loss": "0.5"}))
    err = one_paragraph(user_error(capsys, "report", "--out", tmp_path))
    assert (
        f"{tmp_path / 'numpy' / 'history.json'} is damaged: step_losses, loss do not hold what a history holds" in err
    )


def test_a_framework_named_twice_is_refused(capsys, tmp_path):
    err = one_paragraph(user_error(capsys, "compare", "--frameworks", "numpy,torch,numpy", "--out", tmp_path))
    assert "numpy named more than once in --frameworks; name each framework once." in err
