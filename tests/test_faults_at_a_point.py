"""Faults landed at an exact point of a real run: a signal between the two renames of the final swap, kill -9
right after a run's history is written, a disk made read-only between two checkpoints, Ctrl-C inside the first
step. Each child process is the real command line; a ``sitecustomize`` module on its path (``at_a_point``) wraps
one function to deliver the fault there, so the window is hit every time, not by timing luck. Also the files
the project writes in such cases read back (a run with no step, a run finished from its checkpoint), and
inputs refused before any work (a path too long, a corpus with no training example, a huge binary file)."""

import json
import os
import resource
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from helpers import ROOT, run

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="real signals and kill -9: POSIX only")


def at_a_point(tmp_path, code: str) -> dict:
    """The environment of a child whose start runs ``code`` (as its ``sitecustomize`` module)."""
    folder = tmp_path / "at-a-point"
    folder.mkdir(exist_ok=True)
    (folder / "sitecustomize.py").write_text(textwrap.dedent(code))
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder), os.environ.get("PYTHONPATH")]))}


# After the rename onto a path ending with a key of FAULTS, run its code (os.replace is how every file and folder
# of a run is put in place: its atomic writes and the final swap).
AFTER_RENAME = """
    import os, signal, subprocess
    FAULTS = {{}}
    for ending, code in {faults!r}.items():  # each fault a function: an exception raised straight from exec'd code
        exec("def fault():\\n    " + code, globals())  # would set CPython's 'unhandled Ctrl-C' flag, and the
        FAULTS[ending] = fault  # process would then end by SIGINT whatever its exit code
    _replace = os.replace
    def replace(source, target, *args, **kwargs):
        _replace(source, target, *args, **kwargs)
        for ending, fault in FAULTS.items():
            if str(target).endswith(ending):
                fault()
    os.replace = replace
"""


def after_rename(tmp_path, faults: dict[str, str]) -> dict:
    return at_a_point(tmp_path, AFTER_RENAME.format(faults=faults))


def history(folder):
    return json.loads((folder / "history.json").read_text())


def test_two_sigterms_during_the_final_swap_never_hide_the_runs(tmp_path):
    """One SIGTERM as the history is written, a second between the swap's two renames (the previous run just
    moved aside): the swap finishes first, so the run's folder holds the new run and nothing is left aside."""
    assert run("train", "--framework", "numpy", "--max-steps", "5", "--out", tmp_path, "--no-progress").returncode == 0
    sigterm = "os.kill(os.getpid(), signal.SIGTERM)"
    env = after_rename(tmp_path, {"numpy.partial/history.json": sigterm, ".numpy.old": sigterm})
    done = run("train", "--framework", "numpy", "--max-steps", "7", "--out", tmp_path, "--no-progress", env=env)
    assert done.returncode == 0, done.stderr
    assert "came while the run's files were written" in done.stderr and "Traceback" not in done.stderr
    assert history(tmp_path / "numpy")["steps"] == 7
    assert sorted(p.name for p in tmp_path.iterdir() if p.name != "at-a-point") == [".numpy.lock", "numpy"]


def test_kill_9_after_the_last_steps_history_is_written_is_finished_by_resume(tmp_path):
    """The last step is a checkpoint step; kill -9 once history.json is in the staging folder. The next plain
    run says to resume; --resume writes the run (no step left to train) with the losses of an uninterrupted run."""
    options = ("train", "--framework", "numpy", "--max-steps", "10", "--checkpoint-every", "5", "--no-progress")
    env = after_rename(tmp_path, {"numpy.partial/history.json": "os.kill(os.getpid(), signal.SIGKILL)"})
    killed = run(*options, "--out", tmp_path / "k", env=env)
    assert killed.returncode == -9
    assert (tmp_path / "k" / "numpy.partial" / "checkpoint.npz").is_file()

    told = run(*options, "--out", tmp_path / "k")
    assert told.returncode == 2 and "--resume" in told.stderr
    resumed = run(*options, "--out", tmp_path / "k", "--resume", "--json")
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout.splitlines()[-1])["centers_per_sec"] is None  # no step was timed
    whole = run(*options, "--out", tmp_path / "whole")
    assert history(tmp_path / "k" / "numpy")["step_losses"] == history(tmp_path / "whole" / "numpy")["step_losses"]
    assert not (tmp_path / "k" / "numpy.partial").exists()
    assert whole.returncode == 0
    report = run("report", "--out", tmp_path / "k")
    assert report.returncode == 0, report.stderr
    assert "| numpy | ok | cpu | 10 |" in report.stdout and "| – |" in report.stdout  # speed: none measured


def test_a_run_stopped_inside_its_first_step_is_written_and_read_back(tmp_path):
    """Two Ctrl-Cs inside the first step: the run has no step and no loss (null), and report and diff read it."""
    env = at_a_point(
        tmp_path,
        """
        import os, signal
        from backends.training import loop
        _step = loop.Run._step
        def step(self, batch):
            os.kill(os.getpid(), signal.SIGINT)
            os.kill(os.getpid(), signal.SIGINT)
            return _step(self, batch)
        loop.Run._step = step
    """,
    )
    for name in ("a", "b"):
        stopped = run("train", "--framework", "numpy", "--out", tmp_path / name, "--no-progress", env=env)
        assert stopped.returncode == 130, stopped.stderr
        assert "0 steps, loss none yet" in stopped.stdout
        assert history(tmp_path / name / "numpy")["loss"] is None
    report = run("report", "--out", tmp_path / "a")
    assert report.returncode == 0, report.stderr
    assert "| numpy | ok | cpu | 0 | none yet |" in report.stdout
    diff = run("diff", tmp_path / "a", tmp_path / "b")
    assert diff.returncode == 0, diff.stderr
    assert "final loss none yet / none yet" in diff.stdout


@pytest.fixture
def out(tmp_path):
    """A results folder that the test may make read-only (a read-only bind mount of itself: EROFS, which root
    cannot write past either); unmounted after the test."""
    folder = tmp_path / "out"
    folder.mkdir()
    yield folder
    while subprocess.run(["umount", str(folder)], capture_output=True).returncode == 0:
        pass


def test_a_folder_made_read_only_between_checkpoints_names_the_checkpoint_and_keeps_the_last(tmp_path, out):
    """After the first checkpoint, the results folder becomes read-only: the message names the checkpoint that could
    not be written (not the run's internal files) and the one kept to resume from, which --resume continues."""
    read_only = (
        f"subprocess.run(['mount', '--bind', {str(out)!r}, {str(out)!r}], check=True); "
        f"subprocess.run(['mount', '-o', 'remount,bind,ro', {str(out)!r}], check=True)"
    )
    if subprocess.run(["mount", "--bind", str(out), str(out)], capture_output=True).returncode:
        pytest.skip("cannot bind-mount here (needs root)")
    subprocess.run(["umount", str(out)], check=True)
    env = after_rename(tmp_path, {"numpy.partial/checkpoint.npz": read_only})
    options = (
        "train",
        "--framework",
        "numpy",
        "--max-steps",
        "20",
        "--checkpoint-every",
        "5",
        "--no-progress",
        "--out",
        out,
    )
    failed = run(*options, env=env)
    assert failed.returncode == 2, failed.stderr
    message = failed.stderr
    assert message.count("\n") == 1 and "Traceback" not in message and ".numpy.owner" not in message, message
    kept = out / "numpy.partial" / "checkpoint.npz"
    assert f"cannot use {kept}: the file system is read-only" in message
    assert f"The checkpoint saved before, {kept}, is kept" in message
    subprocess.run(["umount", str(out)], check=True)
    resumed = run(*options, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert history(out / "numpy")["steps"] == 20


def test_an_out_path_at_the_systems_length_limit_is_refused_before_training(tmp_path):
    out = tmp_path
    while len(str(out)) < os.pathconf("/", "PC_PATH_MAX") - 40:  # room for OUT/numpy but not for its files
        out = out / ("d" * min(200, os.pathconf("/", "PC_PATH_MAX") - 41 - len(str(out))))
    out.mkdir(parents=True)
    refused = run("train", "--framework", "numpy", "--out", out, "--no-progress")
    assert refused.returncode == 2
    assert "name is too long" in refused.stderr and "numpy.partial/.evaluation.json" in refused.stderr
    assert "centers/s" not in refused.stdout and sorted(p.name for p in out.iterdir()) == [".numpy.lock"]


def _under_3_gb():
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def test_a_2_gb_file_of_zeros_is_named_binary_without_reading_it_all(tmp_path):
    sparse = tmp_path / "zeros.bin"
    with open(sparse, "wb") as handle:
        handle.truncate(2 << 30)  # sparse: no disk used
    for command in ("similar", "evaluate"):
        args = [sys.executable, "-m", "backends", command, str(sparse), *(["chip"] if command == "similar" else [])]
        done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, preexec_fn=_under_3_gb, timeout=120)
        assert done.returncode == 2, done.stderr
        assert "is not text: this looks like a binary file" in done.stderr and "Traceback" not in done.stderr


def test_a_bare_folder_named_backends_in_the_working_folder_is_named(tmp_path):
    """With the package installed as a clone's editable install, a bare ``backends/`` folder where the command
    runs hides it; the message says so (a regular install is not hidden, and then the command just works)."""
    (tmp_path / "backends").mkdir()
    done = run("stats", "--batch-size", "512", cwd=tmp_path)
    assert "Traceback" not in done.stderr
    if done.returncode:
        assert done.returncode == 2 and f"the folder {tmp_path / 'backends'} (named backends" in done.stderr
    else:
        assert "vocab_size: 6,719" in done.stdout


def test_printing_never_fails_a_command_wherever_its_output_goes(tmp_path):
    """A reader gone (| head), a full disk under the redirect, standard error closed, an ASCII-only terminal."""

    def backends(*args, **kwargs):
        return subprocess.run([sys.executable, "-m", "backends", *map(str, args)], cwd=ROOT, **kwargs)

    assert run("train", "--framework", "numpy", "--max-steps", "3", "--out", tmp_path, "--no-progress").returncode == 0
    vectors = tmp_path / "numpy" / "embeddings.txt"
    with subprocess.Popen(
        [sys.executable, "-m", "backends", "similar", vectors, "chip", "-k", "6000"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as head:
        head.stdout.readline()
        head.stdout.close()  # what `| head -1` does once it has its line
        assert head.wait(60) == 141 and head.stderr.read() == ""
    with open("/dev/full", "w") as full:
        done = backends("stats", stdout=full, stderr=subprocess.PIPE, text=True)
    assert done.returncode == 2 and done.stderr.startswith("error: cannot print to the standard output (No space")
    closed = backends(
        "train",
        "--framework",
        "numpy",
        "--max-steps",
        "3",
        "--out",
        tmp_path / "closed",
        preexec_fn=lambda: os.close(2),
        capture_output=False,
        stdout=subprocess.DEVNULL,
    )
    assert closed.returncode == 0 and history(tmp_path / "closed" / "numpy")["steps"] == 3
    ascii_only = backends(
        "evaluate", vectors, capture_output=True, text=True, env={**os.environ, "PYTHONIOENCODING": "ascii"}
    )
    assert ascii_only.returncode == 0 and ascii_only.stdout.startswith("WordSim-353 Spearman \\u03c1 = ")


def test_a_signal_while_a_report_moves_its_files_in_waits_for_all_of_them(tmp_path):
    """SIGTERM right after the first of the report's files is moved in: the others follow before it is acted on,
    so the folder never holds the new figure beside the old summary."""
    assert run("train", "--framework", "numpy", "--max-steps", "4", "--out", tmp_path, "--no-progress").returncode == 0
    assert run("report", "--out", tmp_path).returncode == 0
    assert run("train", "--framework", "numpy", "--max-steps", "5", "--out", tmp_path, "--no-progress").returncode == 0
    env = after_rename(tmp_path, {f"{tmp_path}/loss_curves.png": "os.kill(os.getpid(), signal.SIGTERM)"})
    stopped = run("report", "--out", tmp_path, env=env)
    assert stopped.returncode == 130 and "Nothing is half written" in stopped.stderr, stopped.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["frameworks"]["numpy"]["steps"] == 5  # the new summary came in with the new figure


def test_a_comparison_stopped_by_a_signal_to_it_alone_stops_its_training_now(tmp_path):
    """SIGINT to the comparison's process only (a `kill -INT`, Jupyter's interrupt): the framework training is
    told too, and stops after its step, not at the end of its run; kill -9 of the comparison ends it too."""
    for how in (signal.SIGINT, signal.SIGKILL):
        out = tmp_path / how.name
        with subprocess.Popen(
            [
                sys.executable,
                "-m",
                "backends",
                "compare",
                "--frameworks",
                "numpy",
                "--max-steps",
                "100000",
                "--epochs",
                "1000",
                "--out",
                out,
                "--no-progress",
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as comparison:
            checkpointless = out / "compare.partial" / ".numpy.owner"
            deadline = time.monotonic() + 120
            while not checkpointless.exists() or not checkpointless.read_text():
                assert comparison.poll() is None and time.monotonic() < deadline
                time.sleep(0.05)
            child = json.loads(checkpointless.read_text())["pid"]
            time.sleep(2)  # into its training
            comparison.send_signal(how)
            code = comparison.wait(60)
            errors = comparison.stderr.read()
        deadline = time.monotonic() + 60
        while _alive(child):
            assert time.monotonic() < deadline, f"the training of a {how.name}ed comparison still runs"
            time.sleep(0.1)
        if how == signal.SIGINT:
            assert code == 130, errors
            steps = history(out / "compare.partial" / "numpy")["steps"]
            assert 0 < steps < 100000


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return not open(f"/proc/{pid}/stat").read().split(")")[-1].split()[0] == "Z"
