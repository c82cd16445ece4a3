"""Train several frameworks from one seed and compare them: the project's signature.

Each framework trains in a process of its own (``python -m backends train``). That keeps one
framework's crash or missing install from stopping the others, keeps their thread pools and memory
apart, and avoids a known segfault when TensorFlow is imported before MXNet in one process. Every run
writes ``OUT/<framework>/history.json`` and ``embeddings.txt``; :func:`report` then reads them back and
draws the figures and summaries, so a report can also be made from runs trained one by one.
"""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from backends import FRAMEWORKS
from backends.errors import W2VError
from backends.files import write_json, write_text

PROBE_WORD = "chip"
PARITY_TOLERANCE = 1e-4
REFERENCE = "torch"


def check_frameworks(frameworks: Iterable[str]) -> list[str]:
    """The requested names, validated; an unknown one is the user's mistake."""
    frameworks = list(frameworks)
    unknown = [f for f in frameworks if f not in FRAMEWORKS]
    if unknown or not frameworks:
        raise W2VError(
            f"unknown framework {', '.join(map(repr, unknown)) or '(none given)'}; choose from {', '.join(FRAMEWORKS)}."
        )
    return frameworks


def train_isolated(framework: str, out: Path, options: Sequence[str] = (), progress: bool = True) -> dict:
    """Run ``python -m backends train`` for one framework in a fresh process; never raises for its failure.

    Returns the run's JSON summary with ``status`` "ok", or ``status`` "failed" / "not installed" and the
    error it printed. Progress bars pass through to this process's stderr as they come.
    """
    command = [sys.executable, "-m", "backends", "train", "--framework", framework, "--out", str(out), "--json"]
    command += list(options) + ([] if progress else ["--no-progress"])
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    errors = _relay(process.stderr, sys.stderr if progress else None)
    output = process.stdout.read()
    code = process.wait()
    wall = time.perf_counter() - start
    if code == 0:
        return {**json.loads(output.strip().splitlines()[-1]), "status": "ok", "wall_seconds": wall}
    said = [line[len("error: "):] for line in errors.splitlines() if line.startswith("error: ")]
    message = said[-1] if said else (errors.strip().splitlines() or [f"exit code {code}"])[-1]
    if code < 0:
        message = f"the process died with signal {-code}. {message}"
    status = "not installed" if "is not installed or failed to import" in message else "failed"
    return {"framework": framework, "status": status, "error": message, "wall_seconds": wall}


def _relay(stream, sink) -> str:
    """Copy ``stream`` to ``sink`` (if any) as it arrives; returns the last 20,000 characters read."""
    tail = ""
    for chunk in iter(lambda: stream.read(256), ""):
        if sink is not None:
            sink.write(chunk)
            sink.flush()
        tail = (tail + chunk)[-20_000:]
    return tail


def relative_differences(losses: Sequence[float], reference: Sequence[float]) -> np.ndarray:
    """|losses - reference| / |reference|, step by step, over the steps both ran."""
    n = min(len(losses), len(reference))
    x, y = np.asarray(losses[:n], dtype=np.float64), np.asarray(reference[:n], dtype=np.float64)
    return np.abs(x - y) / np.abs(y)


def max_relative_differences(step_losses: dict[str, Sequence[float]]) -> dict[str, float]:
    """For every pair "a/b", the largest |a - b| / |b| over the steps both ran."""
    result = {}
    for a, b in itertools.combinations(step_losses, 2):
        differences = relative_differences(step_losses[a], step_losses[b])
        if differences.size:
            result[f"{a}/{b}"] = float(differences.max())
    return result


def compare(
    frameworks: Sequence[str],
    out: Path,
    train_options: Sequence[str] = (),
    progress: bool = True,
    settings: dict | None = None,
) -> dict:
    """Train each framework in its own process into ``out``, then :func:`report`. Returns the summary.

    One line per framework says how it went; ``progress`` also relays each run's progress bars.
    """
    frameworks = check_frameworks(frameworks)
    runs = {}
    for framework in frameworks:
        if progress:
            print(f"--- {framework}", file=sys.stderr, flush=True)
        run = runs[framework] = train_isolated(framework, out, train_options, progress)
        if run["status"] == "ok":
            print(f"{framework}: {run['steps']} steps on {run['device']}, loss {run['loss']:.4f}, "
                  f"{run['centers_per_sec']:,.0f} centers/s ({run['wall_seconds']:.0f} s)", flush=True)
        else:
            print(f"{framework}: {run['status']}: {run['error']}", flush=True)
    return report(out, runs, settings or {})


def report(out: Path, runs: dict[str, dict] | None = None, settings: dict | None = None) -> dict:
    """Figures and summaries of the runs under ``out``; ``runs`` adds what only a comparison knows.

    Writes ``loss_curves.png``, ``divergence.png`` (when there is a reference to diverge from),
    ``summary.md`` and ``summary.json``, each atomically. Returns the summary.
    """
    from backends.embeddings import load_word2vec, similar
    from backends.evaluation import evaluate
    from backends.plotting import plot_divergence, plot_losses

    runs = dict(runs or {name: {"framework": name} for name in FRAMEWORKS if (out / name / "history.json").is_file()})
    if not runs:
        raise W2VError(f"no runs under {out}; train first, e.g. python -m backends train --framework torch.")
    histories, frameworks = {}, {}
    for name, run in runs.items():
        entry = {key: run[key] for key in ("status", "error", "wall_seconds") if key in run}
        if run.get("status", "ok") == "ok":
            history = json.loads((out / name / "history.json").read_text())
            words, matrix = load_word2vec(out / name / "embeddings.txt")
            histories[name] = history
            entry.update(
                status="ok",
                device=history["device"],
                steps=history["steps"],
                final_loss=history["loss"],
                centers_per_sec=history["centers_per_sec"],
                train_seconds=history["seconds"],
                neighbours=[[w, round(c, 4)] for w, c in similar(matrix, words, PROBE_WORD, 3)],
                wordsim=evaluate(words, matrix),
            )
        frameworks[name] = entry
    summary = {
        "settings": settings or {},
        "frameworks": frameworks,
        "max_relative_difference": max_relative_differences({n: h["step_losses"] for n, h in histories.items()}),
    }
    figures = []
    if histories:
        plot_losses(
            {n: h["step_losses"] for n, h in histories.items()},
            out / "loss_curves.png",
            epoch_losses={n: h["epoch_losses"] for n, h in histories.items()},
        )
        figures.append("loss_curves.png")
        reference = REFERENCE if REFERENCE in histories else next(iter(histories))
        others = {
            n: relative_differences(h["step_losses"], histories[reference]["step_losses"])
            for n, h in histories.items()
            if n != reference
        }
        if others:
            plot_divergence(others, reference, out / "divergence.png")
            figures.append("divergence.png")
    summary["figures"] = figures
    write_json(out / "summary.json", summary)
    write_text(out / "summary.md", summary_markdown(summary))
    return summary


def summary_markdown(summary: dict) -> str:
    """The summary as a Markdown page: one row per framework, then the pairwise agreement."""
    lines = ["# Comparison of the frameworks", ""]
    if summary["settings"]:
        lines += ["Settings: " + ", ".join(f"{k} {v}" for k, v in summary["settings"].items()), ""]
    lines += [
        f'| framework | status | device | steps | final loss | centers/s | train s | wall s | WordSim-353 ρ '
        f'| neighbours of "{PROBE_WORD}" |',
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, run in summary["frameworks"].items():
        wall = f"{run['wall_seconds']:.1f}" if "wall_seconds" in run else ""
        if run["status"] != "ok":
            lines.append(f"| {name} | {run['status']}: {run.get('error', '')} | | | | | | {wall} | | |")
            continue
        neighbours = ", ".join(f"{w} ({c:.3f})" for w, c in run["neighbours"])
        lines.append(
            f"| {name} | ok | {run['device']} | {run['steps']} | {run['final_loss']:.4f} | "
            f"{run['centers_per_sec']:,.0f} | {run['train_seconds']:.1f} | {wall} | {run['wordsim']['spearman']:.3f} | "
            f"{neighbours} |"
        )
    pairs = [run["wordsim"] for run in summary["frameworks"].values() if run["status"] == "ok"]
    if pairs:
        lines += ["", f"WordSim-353 ρ: Spearman correlation of cosine similarity with human ratings over the "
                      f"{pairs[0]['pairs']} of {pairs[0]['pairs_total']} pairs whose words are both in the vocabulary."]
    if summary["max_relative_difference"]:
        lines += ["", "Largest relative difference of the per-step losses, pair by pair:", "",
                  "| pair | max relative difference |", "|---|---:|"]
        lines += [f"| {pair} | {value:.2e} |" for pair, value in summary["max_relative_difference"].items()]
    lines += [""] + [f"![{figure}]({figure})" for figure in summary.get("figures", [])]
    return "\n".join(lines) + "\n"


def parity(frameworks: Sequence[str], steps: int, seed: int = 0, device: str = "cpu") -> dict:
    """Train each framework ``steps`` steps from one seed (own processes) and compare the per-step losses.

    Returns ``{"steps", "tolerance", "max_relative_difference", "failed", "ok"}``; ``ok`` is False when a
    pair differs by more than the float32 tolerance or a framework could not run.
    """
    frameworks = check_frameworks(frameworks)
    if steps < 1:
        raise W2VError(f"steps {steps} is out of range: it must be at least 1.")
    options = ["--max-steps", str(steps), "--seed", str(seed), "--device", device]
    with tempfile.TemporaryDirectory(prefix="w2v-parity-") as folder:
        runs = {f: train_isolated(f, Path(folder), options, progress=False) for f in frameworks}
        losses = {
            f: json.loads((Path(folder) / f / "history.json").read_text())["step_losses"]
            for f, run in runs.items()
            if run["status"] == "ok"
        }
    differences = max_relative_differences(losses)
    failed = {f: f"{run['status']}: {run['error']}" for f, run in runs.items() if run["status"] != "ok"}
    return {
        "steps": steps,
        "tolerance": PARITY_TOLERANCE,
        "max_relative_difference": differences,
        "failed": failed,
        "ok": not failed and all(d <= PARITY_TOLERANCE for d in differences.values()),
    }

