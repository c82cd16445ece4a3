"""What a comparison shows: figures and a summary of the runs in a results folder.

The runs are read back from ``OUT/<framework>/history.json`` and ``embeddings.txt``, so a report can be made
from a comparison's runs or from runs trained one by one. Also here: the relative difference of two runs'
per-step losses, the measure of how far frameworks agree, used by the figures, ``compare`` and ``parity``.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path
from typing import Sequence

import numpy as np

from backends.common.errors import W2VError
from backends.common.files import readable_file, write_json, write_text
from backends.common.frameworks import FRAMEWORKS
from backends.common.runs import replace_files
from backends.common.settings import NAMES, Settings, wrong_setting
from backends.display.plotting import plot_divergence, plot_losses
from backends.vectors.embeddings import load_word2vec, similar
from backends.vectors.evaluation import evaluate

NOT_INSTALLED = "not installed"
PROBE_WORD = "chip"  # the chapter's: its neighbours are the summary's where the vocabulary has it
UNKNOWN = "<unk>"
REFERENCE = "torch"
FIGURES = ("loss_curves.png", "divergence.png")
SUMMARIES = ("summary.json", "summary.md")
REPORT_FILES = (*FIGURES, *SUMMARIES)
HISTORY_TYPES = {"framework": str, "device": str, "step_losses": list, "epoch_losses": list, "steps": int,
                 "loss": (float, type(None)), "centers_per_sec": (float, type(None)), "seconds": float,
                 "stopped": (str, type(None))}  # stopped: None for a run that trained its whole budget
# None (JSON's null): the loss of a run stopped before its first step ended, the speed of a run finished from its
# checkpoint with no step left to time
HISTORY_KEYS = tuple(HISTORY_TYPES)  # what a history must hold, and of what kind


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


def recorded_settings(history: dict) -> dict:
    """A history's settings; histories written before they were called so keep them under "config"."""
    return history.get("settings", history.get("config", {}))


def read_history(path: Path) -> dict:
    """A run's history.json, checked to be whole: a truncated, empty or foreign file is a message, not a crash."""
    path = readable_file(path, "the history", "Train that framework again (python -m backends train).")
    try:
        history = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise W2VError(f"{path} is not a whole history ({error}); train that framework again.") from None
    missing = [key for key in HISTORY_KEYS if not isinstance(history, dict) or key not in history]
    if missing:
        raise W2VError(f"{path} is not a history of this project (it lacks {', '.join(missing)}); train that "
                       f"framework again.")
    if history["stopped"] == "diverged":
        raise W2VError(f"the run in {path.parent} diverged after {history['steps']} steps (its loss became NaN or "
                       f"infinite), so there is nothing to compare: train it again with a lower --lr, or move "
                       f"{path.parent} away.")
    wrong = [key for key, kind in HISTORY_TYPES.items() if not _is(history[key], kind)]
    wrong += [] if isinstance(recorded_settings(history), dict) else ["settings"]
    wrong += ["loss"] if history["loss"] is None and history["step_losses"] and "loss" not in wrong else []
    if wrong:
        raise W2VError(f"{path} is damaged: {', '.join(wrong)} {'does' if len(wrong) == 1 else 'do'} not hold what a "
                       f"history holds (text, whole numbers, numbers or lists of numbers); train that framework again.")
    for name, value in recorded_settings(history).items():
        why = wrong_setting(name, value) if name in NAMES else None
        if why:
            raise W2VError(f"{path} is damaged: its setting {name} is {json.dumps(value)}, which no run records "
                           f"({why}); train that framework again.")
    return history


def read_run(folder: Path, tries: int = 3) -> tuple[dict, tuple[list[str], np.ndarray]]:
    """A run's history and vectors, both of one run: a run put in place meanwhile (a train into the same folder
    swaps its folder in whole) is noticed by the folder's identity, and read again."""
    for _ in range(tries):
        before = _identity(folder)
        history, vectors = read_history(folder / "history.json"), load_word2vec(folder / "embeddings.txt")
        if _identity(folder) == before:
            return history, vectors
    raise W2VError(f"{folder} changed {tries} times while it was read (a run trains into it, putting each result "
                   f"in place): report it when that run has finished.")


def _identity(folder: Path) -> tuple[int, int] | None:
    try:
        status = folder.stat()
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _is(value, kind: type | tuple[type, ...]) -> bool:
    """Whether a JSON ``value`` is of ``kind``: a whole number is a number too, a list must hold numbers, and
    true and false are neither."""
    if isinstance(value, bool):
        return False
    if kind is list:
        return isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
    if isinstance(kind, tuple):
        return any(_is(value, one) for one in kind)
    if kind is float:
        return isinstance(value, (int, float))
    return isinstance(value, kind)


def shown(value: float | None, spec: str, missing: str = "–") -> str:
    """A number as the tables print it (``spec``, a format spec), or ``missing`` where a run has none: the loss of
    a run stopped before its first step ended, the speed of one finished from its checkpoint with no step left."""
    return missing if value is None or value != value else format(value, spec)


def format_loss(loss: float | None) -> str:
    return shown(loss, ".4f", "none yet")


def settings_apart(histories: dict[str, dict]) -> list[str]:
    """The settings (the device aside) in which the runs differ, each as 'lr (torch 0.002, jax 0.01)'."""
    recorded = {name: recorded_settings(history) for name, history in histories.items()}
    apart = []
    for key in (key for key in NAMES if key != "device"):
        values = {name: settings.get(key) for name, settings in recorded.items()}
        if len(set(map(repr, values.values()))) > 1:
            apart.append(f"{key} ({', '.join(f'{name} {value}' for name, value in values.items())})")
    return apart


def report(out: Path, runs: dict[str, dict] | None = None, settings: Settings | None = None,
           mixed: bool = False) -> dict:
    """Figures and summaries of the runs under ``out``; ``runs`` adds what only a comparison knows.

    Runs trained with different settings are refused unless ``mixed``, which lists the differences instead.
    Writes ``loss_curves.png``, ``divergence.png`` (when there is a reference to diverge from),
    ``summary.md`` and ``summary.json``: made in a folder of their own and moved in together, so a fault leaves
    the previous report whole (a figure the new one lacks is removed). Returns the summary.
    """
    runs = dict(runs or {name: {"framework": name} for name in FRAMEWORKS if (out / name / "history.json").is_file()})
    if not runs:
        raise W2VError(f"no runs under {out}; train first, e.g. python -m backends train --framework torch.")
    histories, vectors, frameworks = {}, {}, {}
    for name, run in runs.items():
        if run.get("status", "ok") == "ok":
            histories[name], vectors[name] = read_run(out / name)
    word = probe_word([words for words, _ in vectors.values()])
    for name, run in runs.items():
        entry = {key: run[key] for key in ("status", "error", "wall_seconds") if key in run}
        if name in histories:
            history, (words, matrix) = histories[name], vectors[name]
            entry.update(
                status="ok",
                device=history["device"],
                steps=history["steps"],
                final_loss=history["loss"],
                centers_per_sec=history["centers_per_sec"],
                train_seconds=history["seconds"],
                neighbours=_neighbours(words, matrix, word),
                wordsim=evaluate(words, matrix),
            )
        frameworks[name] = entry
    apart = settings_apart(histories)
    if apart and not mixed:
        raise W2VError(f"the runs under {out} were trained with different settings: {'; '.join(apart)}. Report them "
                       f"from folders of their own, or pass --mixed to put them in one table all the same.")
    if settings is None and histories:
        settings = Settings.from_dict(recorded_settings(next(iter(histories.values()))))
    summary = {
        "settings": settings.to_dict() if settings is not None else {},
        "probe_word": word,
        "settings_apart": apart,
        "frameworks": frameworks,
        "max_relative_difference": max_relative_differences({n: h["step_losses"] for n, h in histories.items()}),
    }
    with tempfile.TemporaryDirectory(prefix=".report-", dir=out) as written:  # the report's files, made whole
        summary["figures"] = _draw_figures(histories, Path(written))
        write_json(Path(written) / "summary.json", summary)
        write_text(Path(written) / "summary.md", summary_markdown(summary))
        move_report(Path(written), out, summary)
    return summary


def _neighbours(words: list[str], matrix: np.ndarray, word: str | None, k: int = 3) -> list[list]:
    """``word``'s ``k`` nearest words with their cosines, ``<unk>`` left out (its vector is never trained)."""
    if word is None:
        return []
    found = similar(matrix, words, word, k + 1)
    return [[w, round(c, 4)] for w, c in found if w != UNKNOWN][:k]


def _cell(text: object) -> str:
    """``text`` as a Markdown table cell: its pipes escaped, so that a word like "a|b" stays in its cell."""
    return str(text).replace("|", "\\|")


def probe_word(vocabularies: Sequence[Sequence[str]]) -> str | None:
    """The word whose neighbours a summary shows: the chapter's "chip" where every run's vocabulary has it, else
    the most frequent word they share (a reader's own corpus), None where they share none."""
    shared = set.intersection(*map(set, vocabularies)) - {UNKNOWN} if vocabularies else set()
    if PROBE_WORD in shared:
        return PROBE_WORD
    return next((word for word in vocabularies[0] if word in shared), None) if shared else None


def move_report(source: Path, out: Path, summary: dict) -> None:
    """Move a report's files (its figures and summaries) from ``source`` into ``out`` together, removing a
    figure of the previous report that this one lacks."""
    replace_files(source, out, [*summary["figures"], *SUMMARIES], stale=FIGURES)


def _draw_figures(histories: dict[str, dict], folder: Path) -> list[str]:
    """Draw the loss curves and, when there is a reference to diverge from, the divergence into ``folder``;
    returns the files' names."""
    import matplotlib.pyplot as plt  # imported when figures are drawn: it takes a second

    if not histories:
        return []
    plt.close(plot_losses(
        {n: h["step_losses"] for n, h in histories.items()},
        folder / "loss_curves.png",
        epoch_losses={n: h["epoch_losses"] for n, h in histories.items()},
    ))  # written to a file, not shown: a notebook would otherwise show it again
    reference = REFERENCE if REFERENCE in histories else next(iter(histories))
    others = {
        n: relative_differences(h["step_losses"], histories[reference]["step_losses"])
        for n, h in histories.items()
        if n != reference
    }
    if not others:
        return ["loss_curves.png"]
    plt.close(plot_divergence(others, reference, folder / "divergence.png"))
    return list(FIGURES)


def outcome(summary: dict, out: Path) -> str:
    """The comparison's last line: how many frameworks trained, how the others went, and what was written."""
    statuses = [run["status"] for run in summary["frameworks"].values()]
    others = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses) if s != "ok")
    trained = f"{statuses.count('ok')} of {len(statuses)} frameworks trained{f' ({others})' if others else ''}"
    if "kept_apart" in summary:
        if summary["interrupted"] and "interrupted" not in statuses:  # stopped after its last run had finished
            trained += ", then the comparison was interrupted"
        return (f"{trained}, so nothing in {out} was replaced: its previous results are as they were. This "
                f"comparison's runs and report are in {summary['kept_apart']}.")
    files = [str(out / "summary.md"), "summary.json", *summary["figures"]]
    written = ", ".join(files[:-1]) + " and " + files[-1]
    nothing = "" if summary["figures"] else "; no figures, as nothing trained"
    return f"{trained}; wrote {written}{nothing}."


def summary_markdown(summary: dict, figures: bool = True, level: int = 1) -> str:
    """The summary as Markdown: one row per framework, then the pairwise agreement, then (unless ``figures``
    is False, where they are shown another way) the figures beside it. Its heading is of ``level`` (1: a page
    of its own; deeper inside a notebook, under the notebook's own headings)."""
    lines = ["#" * level + " Comparison of the frameworks", ""]
    if summary["settings"]:
        lines += ["Settings: " + Settings.from_dict(summary["settings"]).describe() + ".", ""]
    if summary.get("settings_apart"):
        lines += ["The runs differ in: " + "; ".join(summary["settings_apart"]) + ".", ""]
    word = summary.get("probe_word", PROBE_WORD)
    lines += [
        f'| framework | status | device | steps | final loss | centers/s | train s | wall s | WordSim-353 ρ '
        f'| {f"neighbours of {chr(34)}{_cell(word)}{chr(34)}" if word else "neighbours"} |',
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, run in summary["frameworks"].items():
        wall = f"{run['wall_seconds']:.1f}" if "wall_seconds" in run else ""
        if run["status"] != "ok":
            lines.append(f"| {name} | {run['status']}: {_cell(run.get('error', ''))} | | | | | | {wall} | | |")
            continue
        neighbours = ", ".join(f"{_cell(w)} ({c:.3f})" for w, c in run["neighbours"])
        cells = [name, "ok", run["device"], run["steps"], format_loss(run["final_loss"]),
                 shown(run["centers_per_sec"], ",.0f"), f"{run['train_seconds']:.1f}", wall,
                 shown(run["wordsim"]["spearman"], ".3f"), neighbours]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    pairs = [run["wordsim"] for run in summary["frameworks"].values() if run["status"] == "ok"]
    if pairs:
        lines += ["", f"WordSim-353 ρ: Spearman correlation of cosine similarity with human ratings over the "
                      f"{pairs[0]['pairs']} of {pairs[0]['pairs_total']} pairs whose words are both in the vocabulary."]
    if summary["max_relative_difference"]:
        lines += ["", "Largest relative difference of the per-step losses, pair by pair:", "",
                  "| pair | max relative difference |", "|---|---:|"]
        lines += [f"| {pair} | {value:.2e} |" for pair, value in summary["max_relative_difference"].items()]
    lines += [""] + [f"![{figure}]({figure})" for figure in summary.get("figures", []) if figures]
    return "\n".join(lines) + "\n"
