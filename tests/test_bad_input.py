"""Mistakes are caught before the work, and said truly: one paragraph, exit code 2, nothing already written lost.

Each case is one a user met: an output folder that cannot be written, a setting that would need terabytes,
an input that is a device or a folder or a binary file, a resume with other data settings, a GPU asked of a
machine without one. A hypothesis test then drives `train` with random values of every numeric option.
"""

import contextlib
import io
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.cli import main as cli
from helpers import run, user_error


def one_paragraph(err: str) -> str:
    """The error a command printed, checked to be one paragraph from the project, not a traceback."""
    assert err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1, err
    return err


@pytest.fixture
def nothing_loaded(monkeypatch):
    """Fails the test if a command gets as far as loading a framework."""
    monkeypatch.setattr(cli, "load_backend", lambda name: pytest.fail("a framework was loaded before the check"))


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc")
def test_an_output_folder_that_cannot_be_made_is_refused_before_anything_runs(capsys, nothing_loaded):
    err = one_paragraph(user_error(capsys, "train", "--framework", "torch", "--max-steps", "5", "--out", "/proc/x"))
    assert "cannot write to the output folder /proc/x (No such file or directory)" in err
    assert "--out DIR" in err and "Nothing was trained or written" in err


@pytest.mark.parametrize("command", [["compare", "--frameworks", "numpy"], ["baseline", "gensim"]])  # bench: test_bench
def test_other_commands_check_their_output_folder_first(capsys, tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    err = one_paragraph(user_error(capsys, *command, "--out", blocker / "results"))
    assert f"({blocker} is a file, not a folder)" in err and blocker.read_text() == "mine"


@pytest.mark.parametrize(
    "option, value, fix",
    [
        ("--embed-size", "100000000", "lower the embedding size (--embed-size) or the batch size (--batch-size)"),
        ("--batch-size", "100000000", "lower the embedding size (--embed-size) or the batch size (--batch-size)"),
        ("--max-window", "100000", "lower the max window (--max-window) or the number of noise words (--num-noise)"),
        ("--num-noise", "1000000", "lower the max window (--max-window) or the number of noise words (--num-noise)"),
    ],
)
def test_settings_that_would_not_fit_in_memory_are_refused_with_the_estimate(capsys, tmp_path, option, value, fix):
    err = one_paragraph(user_error(capsys, "train", "--framework", "numpy", option, value, "--out", tmp_path))
    assert "would need about" in err and "TiB of memory, more than the" in err and fix in err
    assert not (tmp_path / "numpy" / "history.json").exists()


def test_input_files_are_described_as_they_are(capsys, tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    said = {
        path: one_paragraph(user_error(capsys, "similar", path, "chip"))
        for path in ("/dev/null", tmp_path, empty, tmp_path / "none.txt")
    }
    assert "/dev/null is not a regular file (it is a device, a pipe or a socket)" in said["/dev/null"]
    assert f"{tmp_path} is a folder, not a file" in said[tmp_path]
    assert f"{empty} is empty" in said[empty]
    assert f"{tmp_path / 'none.txt'} does not exist" in said[tmp_path / "none.txt"]
    assert "is a folder, not a file" in one_paragraph(user_error(capsys, "stats", "--data", tmp_path))


@pytest.mark.needs("gensim")
def test_gensims_binary_files_are_named_as_such(capsys, tmp_path):
    from gensim.models import KeyedVectors

    vectors = KeyedVectors(4)
    vectors.add_vectors(["chip", "intel"], np.ones((2, 4), dtype=np.float32))
    vectors.save_word2vec_format(str(tmp_path / "vectors.bin"), binary=True)
    vectors.save(str(tmp_path / "vectors.kv"))
    for name, line in (("vectors.bin", 2), ("vectors.kv", 1)):
        err = one_paragraph(user_error(capsys, "evaluate", tmp_path / name))
        assert f"line {line} is not text: this looks like a binary file" in err and "binary=False" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["stats", "--batch-size", "0"], "batch size 0 is out of range: it must be at least 1."),
        (["train", "--framework", "numpy", "--seed", "-1"], "seed -1 is out of range: it must be 0 or more."),
        (["stats", "--seed", "-1"], "seed -1 is out of range: it must be 0 or more."),
        (["train", "--framework", "numpy", "--min-count", "0"], "min count 0 is out of range: it must be at least 1."),
    ],
)
def test_settings_that_used_to_end_in_a_traceback(capsys, tmp_path, argv, message):
    assert message in one_paragraph(
        user_error(capsys, *argv, "--out", tmp_path) if argv[0] == "train" else user_error(capsys, *argv)
    )


@pytest.mark.parametrize("option, value", [("--min-count", "20"), ("--max-window", "3"), ("--num-noise", "4")])
def test_resume_refuses_other_data_settings_before_training_and_keeps_the_run(capsys, tmp_path, option, value):
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
    written = {
        name: (tmp_path / "numpy" / name).read_bytes() for name in ("history.json", "embeddings.txt", "checkpoint.npz")
    }
    err = one_paragraph(
        user_error(
            capsys, "train", "--framework", "numpy", "--resume", option, value, "--max-steps", "8", "--out", tmp_path
        )
    )
    key = option[2:].replace("-", "_")
    assert f"was trained with other settings or on another corpus ({key} " in err and f"{value} now" in err
    assert {name: (tmp_path / "numpy" / name).read_bytes() for name in written} == written


@pytest.mark.needs("torch")
def test_a_comparison_that_trains_nothing_says_so_and_replaces_nothing(tmp_path):
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    (tmp_path / "summary.md").write_text("a good comparison\n")
    done = run(
        "compare",
        "--frameworks",
        "torch,numpy",
        "--device",
        "gpu",
        "--max-steps",
        "2",
        "--no-progress",
        "--out",
        tmp_path,
    )
    assert done.returncode == 1
    last = done.stdout.strip().splitlines()[-1]
    assert last == (
        f"0 of 2 frameworks trained (2 failed), so nothing in {tmp_path} was replaced: its previous "
        f"results are as they were. This comparison's runs and report are in {tmp_path / 'compare.partial'}."
    )
    assert (tmp_path / "summary.md").read_text() == "a good comparison\n"
    assert "| numpy | failed: " in (tmp_path / "compare.partial" / "summary.md").read_text()
    assert not list(tmp_path.rglob("*.png"))


NUMBERS = st.one_of(st.integers(-(10**12), 10**12), st.sampled_from([0, 1, 2, -1, 10**9, 2**63]))
RATES = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([0.002, 0.0, -1.0, 1e300]))
OPTIONS = {
    "--epochs": NUMBERS,
    "--batch-size": NUMBERS,
    "--embed-size": NUMBERS,
    "--seed": NUMBERS,
    "--min-count": NUMBERS,
    "--max-window": NUMBERS,
    "--num-noise": NUMBERS,
    "--checkpoint-every": NUMBERS,
    "--lr": RATES,
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.fixed_dictionaries({}, optional=OPTIONS))
def test_any_numeric_option_trains_a_step_or_is_refused_in_one_paragraph(options):
    """With random values of every numeric option, `train` either trains its one step (exit 0) or exits 2
    with one paragraph; never a traceback, never another exit code."""
    argv = ["train", "--framework", "numpy", "--max-steps", "1", "--no-progress"]
    for option, value in options.items():
        argv += [option, str(value)]
    err = io.StringIO()
    with (
        tempfile.TemporaryDirectory() as folder,
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        code = cli.main(argv + ["--out", folder])
        history = Path(folder, "numpy", "history.json")
        trained = json.loads(history.read_text())["steps"] if history.is_file() else 0
    assert (code, trained) == (0, 1) or code == 2, (argv, code, err.getvalue())
    if code == 2:
        one_paragraph(err.getvalue())
