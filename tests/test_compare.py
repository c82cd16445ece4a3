"""compare and parity: each framework in its own process, failures reported, nothing lost."""

import json
import os

import pytest

from backends import FRAMEWORKS
from backends.compare import max_relative_differences
from test_cli import run


def test_parity_of_all_frameworks_over_twenty_steps():
    done = run("parity", "--steps", "20", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["ok"] and not result["failed"] and result["steps"] == 20
    assert len(result["max_relative_difference"]) == len(FRAMEWORKS) * (len(FRAMEWORKS) - 1) // 2
    assert max(result["max_relative_difference"].values()) < 1e-4


def test_max_relative_differences_by_pair():
    result = max_relative_differences({"a": [1.0, 2.0, 4.0], "b": [1.0, 2.0, 5.0], "c": [1.0]})
    assert result == {"a/b": pytest.approx(0.2), "a/c": 0.0, "b/c": 0.0}


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    """torch trains; tensorflow is made to fail at import (a broken install shadowing the real one)."""
    shadow = tmp_path_factory.mktemp("shadow")
    (shadow / "tensorflow").mkdir()
    (shadow / "tensorflow" / "__init__.py").write_text("raise ImportError('simulated broken install')\n")
    out = tmp_path_factory.mktemp("compare")
    (out / "notes.txt").write_text("mine\n")  # something the user already had there
    done = run("compare", "--frameworks", "torch,tensorflow,numpy", "--max-steps", "25", "--out", out,
               "--no-progress", env={"PYTHONPATH": str(shadow) + os.pathsep + os.environ.get("PYTHONPATH", "")})
    return out, done


def test_a_failing_framework_is_reported_and_the_others_finish(comparison):
    out, done = comparison
    assert done.returncode == 1  # not every framework ran
    summary = json.loads((out / "summary.json").read_text())
    assert summary["frameworks"]["tensorflow"]["status"] == "not installed"
    assert "pip install tensorflow==2.17.1" in summary["frameworks"]["tensorflow"]["error"]
    for name in ("torch", "numpy"):
        run_ = summary["frameworks"][name]
        assert run_["status"] == "ok" and run_["steps"] == 25 and len(run_["neighbours"]) == 3
        assert run_["wall_seconds"] >= run_["train_seconds"] > 0
    assert list(summary["max_relative_difference"]) == ["torch/numpy"]
    assert summary["max_relative_difference"]["torch/numpy"] < 1e-4
    assert (out / "notes.txt").read_text() == "mine\n"


def test_comparison_files(comparison):
    out, _ = comparison
    assert (out / "loss_curves.png").stat().st_size > 10_000 and (out / "divergence.png").stat().st_size > 10_000
    markdown = (out / "summary.md").read_text()
    assert "| tensorflow | not installed:" in markdown and "| torch | ok | cpu | 25 |" in markdown
    assert "| torch/numpy |" in markdown
    assert not [p for p in out.rglob("*.tmp")]


def test_unknown_framework_in_a_comparison(capsys, tmp_path):
    from test_cli import user_error

    assert "unknown framework 'caffe'" in user_error(capsys, "compare", "--frameworks", "torch,caffe", "--out", tmp_path)
    assert "unknown framework 'caffe'" in user_error(capsys, "parity", "--frameworks", "caffe")
