"""`make gpu-verify` (tools/gpu_verify.py, backends/experiments/verify.py): the GPU check, run here with the CPU
standing in for the GPU so that it cannot rot before a GPU machine runs it; its refusals; its verdicts, with the
runs faked.

The stand-in trains PyTorch and JAX, the two frameworks a lent GPU machine has (TensorFlow and MXNet are not
there), which is the run the real check will make, and keeps this test near 40 s on two cores; every framework
is held to the same tolerance on the CPU by the parity and backend tests already.
"""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from backends.common.errors import W2VError
from backends.experiments import verify
from helpers import ROOT

SCRIPT = ROOT / "tools" / "gpu_verify.py"
STAND_IN = ["--device", "cpu", "--frameworks", "torch,jax"]


def gpu_verify(*args, timeout=300) -> subprocess.CompletedProcess:
    """tools/gpu_verify.py ARGS in a process of its own, as a GPU machine runs it (from the repository root)."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=ROOT, timeout=timeout
    )


@pytest.fixture(scope="module")
def stand_in(tmp_path_factory):
    """The check run once with the CPU standing in for the GPU: its process, its output folder and its wall time."""
    out = tmp_path_factory.mktemp("gpu-verify")
    start = time.perf_counter()
    done = gpu_verify(*STAND_IN, "--out", out)
    return done, out, time.perf_counter() - start


@pytest.mark.needs("torch")
@pytest.mark.needs("jax")
def test_the_cpu_stand_in_runs_every_step_and_agrees(stand_in):
    done, out, seconds = stand_in
    assert done.returncode == 0, done.stderr
    assert seconds < 180
    assert done.stderr.startswith("versions: torch ")  # the versions come first, before any work
    record = json.loads((out / "verify.json").read_text())
    assert record["complete"] and record["ok"] and record["problems"] == []
    assert record["device"] == "cpu" and record["stand_in"] and record["device_name"] == "cpu"
    assert record["package"] == str(ROOT / "backends")  # the working tree's package
    assert record["settings"]["book_centers_per_sec"] == pytest.approx(223_842 / 5)
    for name in ("torch", "jax"):
        found = record["frameworks"][name]
        assert found["status"] == "ok" and found["device"] == "cpu"
        for run in found["runs"].values():
            assert run["status"] == "ok" and run["steps"] == 100 and len(run["step_losses"]) == 20
            assert run["centers_per_sec"] > 1000 and 0.6 < run["loss"] < 0.7
    assert record["oracle"]["steps"] == 20
    pairs = {pair["pair"]: pair for pair in record["agreement"]}
    assert set(pairs) == {
        "torch: cpu as the gpu / cpu",
        "jax: cpu as the gpu / cpu",
        "torch / jax (cpu as the gpu)",
        "torch (cpu as the gpu) / numpy oracle (cpu)",
        "jax (cpu as the gpu) / numpy oracle (cpu)",
    }
    assert all(pair["max_relative_difference"] <= 1e-4 and pair["within"] for pair in pairs.values())
    speeds = {row["framework"]: row for row in record["speed"]}
    assert set(speeds) == {"torch", "jax"}
    for row in speeds.values():
        assert row["vs_cpu"] == pytest.approx(row["centers_per_sec"] / row["cpu_centers_per_sec"])
        assert row["vs_book"] == pytest.approx(row["centers_per_sec"] / (223_842 / 5))


@pytest.mark.needs("torch")
@pytest.mark.needs("jax")
def test_the_stand_in_runs_the_chapter_notebook(stand_in):
    done, out, _ = stand_in
    notebook = json.loads((out / "verify.json").read_text())["notebook"]
    assert notebook["status"] == "ran", notebook
    assert notebook["path"] == "notebooks/torch/word2vec-pretraining.ipynb" and notebook["max_steps"] == 20
    assert notebook["trained"].startswith("20 steps on cpu, ") and notebook["left_out"] == ""
    executed = json.loads((out / "torch-word2vec-pretraining.ipynb").read_text())
    outputs = [output for cell in executed["cells"] if cell["cell_type"] == "code" for output in cell["outputs"]]
    assert outputs and not [output for output in outputs if output["output_type"] == "error"]


@pytest.mark.needs("torch")
@pytest.mark.needs("jax")
def test_the_stand_in_writes_its_page_and_nothing_else(stand_in):
    done, out, _ = stand_in
    page = (out / "verify.md").read_text()
    assert done.stdout == page + f"\nwrote {out / 'verify.json'} and verify.md\n"
    assert page.startswith("# GPU check, with the CPU standing in for the GPU: ")
    assert "| pair | largest relative difference | within |" in page
    assert "| torch / jax (cpu as the gpu) | " in page
    assert "| framework | device | on it | on this machine's CPU | cpu as the gpu / CPU |" in page
    assert "prints 223,842 tokens/s" in page and "44,768 centers/s" in page
    assert "`notebooks/torch/word2vec-pretraining.ipynb` ran with at most 20 steps a run" in page
    assert "Passed: everything ran and agreed" in page
    assert sorted(path.name for path in out.iterdir()) == [
        "torch-word2vec-pretraining.ipynb",
        "verify.json",
        "verify.md",
    ]  # no temporary file left


@pytest.mark.needs("torch")
def test_no_gpu_is_one_paragraph_and_exit_2_before_any_training(tmp_path):
    import torch

    if torch.cuda.is_available() or torch.backends.mps.is_available():
        pytest.skip("this machine has a GPU")
    done = gpu_verify("--frameworks", "torch", "--out", tmp_path)
    assert done.returncode == 2
    *said, paragraph = done.stderr.strip().splitlines()
    assert paragraph.startswith(
        "error: no framework here sees a GPU, so there is nothing to check (torch: a GPU was "
        "asked for, but PyTorch sees none"
    )
    assert paragraph.endswith("or with --device cpu to run the same steps on the CPU. Nothing was trained.")
    assert said[0].startswith("versions: ") and "Traceback" not in done.stderr and done.stdout == ""
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, message",
    [
        (["--device", "tpu"], "error: unknown device 'tpu'; choose gpu, or cpu to stand in for it."),
        (["--steps", "many"], "error: argument --steps: invalid int value: 'many'"),
        (["--device", "cpu", "--frameworks", "torch,chainer"], "error: unknown framework 'chainer'"),
        (
            ["--device", "cpu", "--steps", "50", "--timing-steps", "10"],
            "error: compare at least 2 steps, and time at least as many",
        ),
    ],
)
def test_bad_options_are_refused_before_any_work(tmp_path, args, message):
    done = gpu_verify(*args, "--out", tmp_path / "out", timeout=60)
    assert done.returncode == 2 and done.stderr.startswith(message) and len(done.stderr.splitlines()) == 1
    assert not (tmp_path / "out" / "verify.json").exists()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
@pytest.mark.parametrize(
    "variables, python",
    [
        (["DEVICE=cpu", "PY=/some/venv/bin/python"], "/some/venv/bin/python"),
        (["PYTHON=python3"], "python3"),  # on a lent GPU machine: no venv, its own Python
    ],
)
def test_make_gpu_verify_uses_the_python_it_is_given_and_builds_nothing(variables, python):
    # Also under `make test`, whose make passes its level and flags on: the inner make then names its directory.
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHON", "PY", "DEVICE")}
    done = subprocess.run(
        ["make", "-n", "--no-print-directory", "gpu-verify", *variables],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    device = "cpu" if "DEVICE=cpu" in variables else "gpu"
    assert done.stdout.split() == [python, "tools/gpu_verify.py", "--device", device]  # no venv built first


# -- the verdicts, with the probes and runs faked: the GPU's side of the check, where no GPU is ------------------


def fake_run(name, losses, device):
    """A run's summary as train_each gives it: twice as fast on the fake GPU as on the CPU."""
    rate = 40_000.0 if device == "cpu" else 80_000.0
    return {
        "status": "ok",
        "device": device,
        "steps": 100,
        "loss": 0.65,
        "centers_per_sec": rate,
        "cores_busy": 1.0,
        "seconds": 1.0,
        "wall_seconds": 3.0,
        "step_losses": losses,
    }


@pytest.fixture
def faked(monkeypatch):
    """A GPU machine's answers: torch and JAX see a GPU, TensorFlow none, MXNet fails to import; JAX's GPU
    run ends at step 3 with an error, torch's GPU losses are off by 2e-4 at one step."""
    gpu = {"status": "ok", "device": "gpu (Fake H100)"}
    probes = {
        "torch": dict(gpu),
        "jax": dict(gpu),
        "tensorflow": {"status": verify.NO_GPU, "error": "a GPU was asked for, but TensorFlow sees none (...)."},
        "mxnet": {"status": "failed", "error": "MXNet is installed but failed to import (OSError: libcuda)."},
    }
    losses = [0.69, 0.68, 0.67]

    def train_each(frameworks, out, settings, done):
        runs = {}
        for name in frameworks:
            if name == "jax" and settings.device == "gpu":
                runs[name] = {"status": "failed", "error": "XlaRuntimeError: out of memory"}
            else:
                off = name == "torch" and settings.device == "gpu"
                runs[name] = fake_run(
                    name,
                    [losses[0] * (1 + 2e-4), *losses[1:]] if off else losses,
                    "gpu (Fake H100)" if settings.device == "gpu" else "cpu",
                )
            done(name, runs[name])
        return runs

    monkeypatch.setattr(verify, "probe_isolated", lambda name, request: probes[name])
    monkeypatch.setattr(verify, "train_each", train_each)


def test_a_framework_that_fails_is_reported_and_the_others_go_on(faked):
    saved, said = [], []
    record = verify.verify(
        "gpu",
        compared_steps=3,
        timing_steps=100,
        say=said.append,
        saved=lambda record: saved.append(verify.markdown(record)),
    )
    assert not record["ok"] and record["device_name"] == "gpu (Fake H100)"
    assert record["problems"] == [
        "mxnet: MXNet is installed but failed to import (OSError: libcuda).",
        "jax (on the gpu): XlaRuntimeError: out of memory",
        "torch: gpu / cpu differ by 2.0e-04, over the tolerance",
        "torch (gpu) / numpy oracle (cpu) differ by 2.0e-04, over the tolerance",
    ]
    assert record["frameworks"]["jax"]["runs"]["cpu"]["status"] == "ok"  # its CPU run went on
    assert [row["framework"] for row in record["speed"]] == ["torch"]
    assert record["speed"][0]["vs_cpu"] == 2.0 and record["speed"][0]["vs_book"] == pytest.approx(80_000 / 44_768.4)
    page = saved[-1]
    assert "| tensorflow |  | sees no GPU: a GPU was asked for, but TensorFlow sees none (...). |" in page
    assert "| torch: gpu / cpu | 2.0e-04 | **no** |" in page
    assert "| torch (gpu) / numpy oracle (cpu) | 2.0e-04 | **no** |" in page
    assert "| torch | gpu (Fake H100) | 80,000 | 40,000 | 2.0× | 1.8× |" in page
    assert "**Not passed**: mxnet: MXNet is installed but failed to import" in page
    assert "**Incomplete**" in saved[0] and "## Verdict" not in saved[0]  # saved after each stage, the first one early
    assert said[0].startswith("versions: ") and "jax: failed: XlaRuntimeError: out of memory" in said


def test_no_framework_sees_a_gpu(monkeypatch):
    monkeypatch.setattr(
        verify,
        "probe_isolated",
        lambda name, request: {
            "status": verify.NO_GPU,
            "error": f"a GPU was asked for, but {name} sees none (why). Use --device cpu.",
        },
    )
    with pytest.raises(
        W2VError,
        match=r"no framework here sees a GPU, so there is nothing to check \(torch: a GPU was "
        r"asked for, but torch sees none \(why\); mxnet: .*Nothing was trained\.$",
    ):
        verify.verify("gpu")


# -- the notebook part, with a package missing ----------------------------------------------------------------


@pytest.fixture
def tool(monkeypatch):
    """tools/gpu_verify.py as a module; what loading it changes in this process (sys.path, PYTHONPATH) is undone."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PYTHONPATH", os.environ.get("PYTHONPATH", ""))
    spec = importlib.util.spec_from_file_location("gpu_verify", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def without(monkeypatch, module, *names):
    """``module`` sees the packages ``names`` as not installed."""
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        module.importlib.util, "find_spec", lambda name, *rest: None if name in names else find_spec(name, *rest)
    )


def test_without_jupyter_the_notebook_is_skipped_saying_so(tool, monkeypatch, tmp_path):
    without(monkeypatch, tool, "nbclient")
    assert tool.run_notebook("torch", "gpu", None, tmp_path) == {
        "status": "skipped",
        "reason": "Jupyter is not installed here (nbclient missing)",
    }
    assert verify._notebook_sentence(tool.run_notebook("torch", "gpu", None, tmp_path)) == (
        "Skipped: Jupyter is not installed here (nbclient missing)."
    )


@pytest.mark.needs("torch")
def test_without_adjusttext_only_the_word_map_is_left_out(tool, monkeypatch, tmp_path):
    without(monkeypatch, tool, "adjustText")
    notebook = tool.run_notebook("torch", "cpu", 5, tmp_path)
    assert notebook["status"] == "ran", notebook
    assert notebook["left_out"] == "the word map, which needs adjustText (not installed)"
    assert notebook["trained"].startswith("5 steps on cpu, ")
    assert os.environ.get("W2V_MAX_STEPS") is None  # the budget was the notebook's alone
    executed = json.loads((tmp_path / "torch-word2vec-pretraining.ipynb").read_text())
    assert not [cell for cell in executed["cells"] if "plot_words(" in "".join(cell["source"])]
