"""What a comparison shows: figures and a summary of the runs in a results folder.

The runs are read back from ``OUT/<framework>/`` (:func:`backends.experiments.runs.read_run`), so a report can
be made from a comparison's runs or from runs trained one by one. Its files are made in a folder of their own
and moved in together, so a fault leaves the previous report whole.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from backends.common.errors import W2VError
from backends.common.files import write_json, write_text
from backends.common.frameworks import FRAMEWORKS
from backends.common.settings import NAMES, Settings
from backends.display.plotting import plot_divergence, plot_losses
from backends.experiments.agreement import max_relative_differences, relative_differences
from backends.experiments.runs import HISTORY, read_run, replace_files
from backends.experiments.summary import PROBE_WORD, summary_markdown
from backends.training.history import History
from backends.vectors.embeddings import similar
from backends.vectors.evaluation import evaluate

UNKNOWN = "<unk>"
REFERENCE = "torch"
FIGURES = ("loss_curves.png", "divergence.png")
SUMMARIES = ("summary.json", "summary.md")
REPORT_FILES = (*FIGURES, *SUMMARIES)


def settings_apart(histories: dict[str, History]) -> list[str]:
    """The settings (the device aside) in which the runs differ, each as 'lr (torch 0.002, jax 0.01)'."""
    apart = []
    for key in (key for key in NAMES if key != "device"):
        values = {name: history.settings.get(key) for name, history in histories.items()}
        if len(set(map(repr, values.values()))) > 1:
            apart.append(f"{key} ({', '.join(f'{name} {value}' for name, value in values.items())})")
    return apart


def report(
    out: Path, runs: dict[str, dict] | None = None, settings: Settings | None = None, mixed: bool = False
) -> dict:
    """Figures and summaries of the runs under ``out``; ``runs`` adds what only a comparison knows.

    Runs trained with different settings are refused unless ``mixed``, which lists the differences instead.
    Writes ``loss_curves.png``, ``divergence.png`` (when there is a reference to diverge from),
    ``summary.md`` and ``summary.json``: made in a folder of their own and moved in together, so a fault leaves
    the previous report whole (a figure the new one lacks is removed). Returns the summary.
    """
    runs = dict(runs or {name: {"framework": name} for name in FRAMEWORKS if (out / name / HISTORY).is_file()})
    if not runs:
        raise W2VError(f"no runs under {out}; train first, e.g. python -m backends train --framework torch.")
    histories, vectors = {}, {}
    for name, run in runs.items():
        if run.get("status", "ok") == "ok":
            histories[name], vectors[name] = read_run(out / name)
    word = probe_word([words for words, _ in vectors.values()])
    frameworks = {name: _entry(run, histories.get(name), vectors.get(name), word) for name, run in runs.items()}
    apart = settings_apart(histories)
    if apart and not mixed:
        raise W2VError(
            f"the runs under {out} were trained with different settings: {'; '.join(apart)}. Report them "
            f"from folders of their own, or pass --mixed to put them in one table all the same."
        )
    if settings is None and histories:
        settings = Settings.from_dict(next(iter(histories.values())).settings)
    summary = {
        "settings": settings.to_dict() if settings is not None else {},
        "probe_word": word,
        "settings_apart": apart,
        "frameworks": frameworks,
        "max_relative_difference": max_relative_differences({n: h.step_losses for n, h in histories.items()}),
    }
    with tempfile.TemporaryDirectory(prefix=".report-", dir=out) as written:  # the report's files, made whole
        summary["figures"] = _draw_figures(histories, Path(written))
        write_json(Path(written) / "summary.json", summary)
        write_text(Path(written) / "summary.md", summary_markdown(summary))
        move_report(Path(written), out, summary)
    return summary


def _entry(run: dict, history: History | None, vectors: tuple[list[str], np.ndarray] | None, word: str | None) -> dict:
    """A framework's row of the summary: what the comparison knows of its run, and, where it trained, its
    figures, the probe word's neighbours and its WordSim-353 evaluation."""
    entry = {key: run[key] for key in ("status", "error", "wall_seconds") if key in run}
    if history is not None and vectors is not None:  # read together
        words, matrix = vectors
        entry.update(
            status="ok",
            device=history.device,
            steps=history.steps,
            final_loss=history.loss,
            centers_per_sec=history.centers_per_sec,
            train_seconds=history.seconds,
            neighbours=_neighbours(words, matrix, word),
            wordsim=evaluate(words, matrix),
        )
    return entry


def _neighbours(words: list[str], matrix: np.ndarray, word: str | None, k: int = 3) -> list[list]:
    """``word``'s ``k`` nearest words with their cosines, ``<unk>`` left out (its vector is never trained)."""
    if word is None:
        return []
    found = similar(matrix, words, word, k + 1)
    return [[w, round(c, 4)] for w, c in found if w != UNKNOWN][:k]


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


def _draw_figures(histories: dict[str, History], folder: Path) -> list[str]:
    """Draw the loss curves and, when there is a reference to diverge from, the divergence into ``folder``;
    returns the files' names."""
    import matplotlib.pyplot as plt  # imported when figures are drawn: it takes a second

    if not histories:
        return []
    plt.close(
        plot_losses(
            {n: h.step_losses for n, h in histories.items()},
            folder / "loss_curves.png",
            epoch_losses={n: h.epoch_losses for n, h in histories.items()},
        )
    )  # written to a file, not shown: a notebook would otherwise show it again
    reference = REFERENCE if REFERENCE in histories else next(iter(histories))
    others = {
        n: relative_differences(h.step_losses, histories[reference].step_losses)
        for n, h in histories.items()
        if n != reference
    }
    if not others:
        return ["loss_curves.png"]
    plt.close(plot_divergence(others, reference, folder / "divergence.png"))
    return list(FIGURES)
