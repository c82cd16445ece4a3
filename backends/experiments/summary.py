"""A comparison's summary as text: the Markdown table (``summary.md``, the notebooks, ``compare`` and ``report``),
the comparison's last line, and numbers as every table prints them."""

from __future__ import annotations

from pathlib import Path

from backends.common.settings import Settings

PROBE_WORD = "chip"  # the chapter's: its neighbours are the summary's where the vocabulary has it


def shown(value: float | None, spec: str, missing: str = "–") -> str:
    """A number as the tables print it (``spec``, a format spec), or ``missing`` where a run has none: the loss of
    a run stopped before its first step ended, the speed of one finished from its checkpoint with no step left."""
    return missing if value is None or value != value else format(value, spec)


def format_loss(loss: float | None) -> str:
    return shown(loss, ".4f", "none yet")


def _cell(text: object) -> str:
    """``text`` as a Markdown table cell: its pipes escaped, so that a word like "a|b" stays in its cell."""
    return str(text).replace("|", "\\|")


def outcome(summary: dict, out: Path) -> str:
    """The comparison's last line: how many frameworks trained, how the others went, and what was written."""
    statuses = [run["status"] for run in summary["frameworks"].values()]
    others = ", ".join(f"{statuses.count(s)} {s}" for s in dict.fromkeys(statuses) if s != "ok")
    trained = f"{statuses.count('ok')} of {len(statuses)} frameworks trained{f' ({others})' if others else ''}"
    if "kept_apart" in summary:
        if summary["interrupted"] and "interrupted" not in statuses:  # stopped after its last run had finished
            trained += ", then the comparison was interrupted"
        return (
            f"{trained}, so nothing in {out} was replaced: its previous results are as they were. This "
            f"comparison's runs and report are in {summary['kept_apart']}."
        )
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
        f"| framework | status | device | steps | final loss | centers/s | train s | wall s | WordSim-353 ρ "
        f"| {f'neighbours of {chr(34)}{_cell(word)}{chr(34)}' if word else 'neighbours'} |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, run in summary["frameworks"].items():
        wall = f"{run['wall_seconds']:.1f}" if "wall_seconds" in run else ""
        if run["status"] != "ok":
            lines.append(f"| {name} | {run['status']}: {_cell(run.get('error', ''))} | | | | | | {wall} | | |")
            continue
        neighbours = ", ".join(f"{_cell(w)} ({c:.3f})" for w, c in run["neighbours"])
        cells = [
            name,
            "ok",
            run["device"],
            run["steps"],
            format_loss(run["final_loss"]),
            shown(run["centers_per_sec"], ",.0f"),
            f"{run['train_seconds']:.1f}",
            wall,
            shown(run["wordsim"]["spearman"], ".3f"),
            neighbours,
        ]
        lines.append("| " + " | ".join(map(str, cells)) + " |")
    pairs = [run["wordsim"] for run in summary["frameworks"].values() if run["status"] == "ok"]
    if pairs:
        lines += [
            "",
            f"WordSim-353 ρ: Spearman correlation of cosine similarity with human ratings over the "
            f"{pairs[0]['pairs']} of {pairs[0]['pairs_total']} pairs whose words are both in the vocabulary.",
        ]
    if summary["max_relative_difference"]:
        lines += [
            "",
            "Largest relative difference of the per-step losses, pair by pair:",
            "",
            "| pair | max relative difference |",
            "|---|---:|",
        ]
        lines += [f"| {pair} | {value:.2e} |" for pair, value in summary["max_relative_difference"].items()]
    lines += [""] + [f"![{figure}]({figure})" for figure in summary.get("figures", []) if figures]
    return "\n".join(lines) + "\n"
