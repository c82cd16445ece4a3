"""`make bench-scaling`: time per step and peak memory against the vocabulary, Adam against lazy Adam (issue 38).

    python tools/scaling.py [--frameworks torch,jax] [--vocab 20000,50000,100000] [--tokens 2000000]
                            [--steps 300] [--out results]

A maintainers' tool beside `make bench` (tools/bench.py), whose way it follows: every measurement in a fresh
process of its own (``python tools/scaling.py task JSON``), so that frameworks never share a process and the
peak memory is the measurement's alone. The corpora are PTB and synthetic Zipf corpora (P(rank r) ∝ 1/r, written
by tools/memory.py) of ``--tokens`` tokens over ``--vocab`` words, every word kept (min count 1), each framework
trained with Adam and with lazy Adam. Dense Adam touches every row of both tables and their moments at each
step, so its step grows with the vocabulary; lazy Adam touches the rows a batch looks up. (Memory against the
corpus's size is tools/memory.py's, `make bench-memory`.)

Each run trains ``--steps`` steps with the chapter's other settings; its speed counts the steps after the first,
which pays for compilation. Writes OUT/scaling.json and OUT/scaling.png (log-log).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
from pathlib import Path

from bench import machine
from memory import tool_main, write_zipf

from backends.common.errors import W2VError
from backends.common.files import to_json, writable_folder, write_json
from backends.common.settings import DEFAULTS, OPTIMIZERS
from backends.experiments.isolated import check_frameworks, run_json

PTB = "PTB"
NAMES = {"adam": "Adam", "lazy_adam": "lazy Adam"}  # the optimizers as the table and figure name them


def task(spec: dict) -> dict:
    """One measurement, in this process: read ``spec["corpus"]`` (a file, or PTB) and draw its data, train
    ``spec["steps"]`` steps of one framework with one optimizer, and report speed and peak memory."""
    from backends import load_backend
    from backends.pipeline.dataset import load_data

    min_count = DEFAULTS.min_count if spec["corpus"] == PTB else 1
    data = load_data(None if spec["corpus"] == PTB else spec["corpus"], min_count=min_count)
    history = load_backend(spec["framework"]).train(
        data, max_steps=spec["steps"], optimizer=spec["optimizer"], progress=False
    )
    return {
        "vocab_size": len(data.vocab),
        "centers_per_sec": history.centers_per_sec,
        "ms_per_step": 1000 * DEFAULTS.batch_size / history.centers_per_sec,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    }


def run_task(spec: dict) -> dict:
    return run_json([sys.executable, str(Path(__file__).resolve()), "task", json.dumps(spec)])


def scaling(frameworks: list[str] | None, vocabularies: list[int], tokens: int, steps: int, progress=print) -> dict:
    """Every (corpus, framework, optimizer) measured in its own process; the record written to scaling.json."""
    frameworks = check_frameworks(frameworks)
    if steps < 20 or tokens < 100_000 or min(vocabularies, default=0) < 1000:
        raise W2VError("time at least 20 steps, on corpora of at least 100,000 tokens and 1,000 words.")
    record: dict = {"machine": machine(), "steps": steps, "tokens": tokens, "runs": []}
    with tempfile.TemporaryDirectory(prefix="w2v-scaling-") as folder:
        corpora = {PTB: PTB}
        for size in vocabularies:
            corpora[f"Zipf, {size:,} words"] = str(Path(folder) / f"zipf-{size}.txt")
            write_zipf(Path(corpora[f"Zipf, {size:,} words"]), tokens, size)
        for name, corpus in corpora.items():
            for framework in frameworks:
                for optimizer in OPTIMIZERS:
                    progress(f"{name}: {framework}, {NAMES[optimizer]}, {steps} steps ...")
                    spec = {"corpus": corpus, "framework": framework, "optimizer": optimizer, "steps": steps}
                    record["runs"].append(
                        {"corpus": name, "framework": framework, "optimizer": optimizer, **run_task(spec)}
                    )
    return record


def table(record: dict) -> str:
    """Milliseconds a step and peak MiB by corpus, framework and optimizer, as Markdown."""
    rows = [
        "| corpus | words | framework | Adam: ms/step | lazy Adam: ms/step | Adam: peak MiB | lazy: peak MiB |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    by_key = {(run["corpus"], run["framework"], run["optimizer"]): run for run in record["runs"]}
    for corpus, framework in dict.fromkeys((run["corpus"], run["framework"]) for run in record["runs"]):
        dense, lazy = by_key[corpus, framework, "adam"], by_key[corpus, framework, "lazy_adam"]
        if "error" in dense or "error" in lazy:
            rows.append(f"| {corpus} | | {framework} | failed: {dense.get('error') or lazy.get('error')} | | | |")
            continue
        rows.append(
            f"| {corpus} | {dense['vocab_size']:,} | {framework} | {dense['ms_per_step']:.1f} | "
            f"{lazy['ms_per_step']:.1f} | {dense['peak_mib']:,.0f} | {lazy['peak_mib']:,.0f} |"
        )
    return "\n".join(rows)


def figure(record: dict, path: Path) -> None:
    """Milliseconds a step against the vocabulary, one line per framework and optimizer, log-log."""
    import matplotlib.pyplot as plt

    from backends.display.plotting import save_figure

    fig, ax = plt.subplots(figsize=(7.5, 4.8))
    frameworks = list(dict.fromkeys(run["framework"] for run in record["runs"]))
    colors = dict(zip(frameworks, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for framework in frameworks:
        for optimizer, style in zip(OPTIMIZERS, ("-", "--")):
            runs = [r for r in record["runs"] if (r["framework"], r["optimizer"]) == (framework, optimizer)]
            runs = sorted((r for r in runs if "error" not in r), key=lambda r: r["vocab_size"])
            ax.plot([r["vocab_size"] for r in runs], [r["ms_per_step"] for r in runs], style, marker="o",
                    color=colors[framework], label=f"{framework}, {NAMES[optimizer]}")  # fmt: skip
    ax.set(xscale="log", yscale="log", xlabel="vocabulary (words)", ylabel="milliseconds a step (512 centers)")
    ax.set_title("Time per step against the vocabulary: Adam (solid), lazy Adam (dashed)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, path)
    plt.close(fig)


def build_parser() -> argparse.ArgumentParser:
    from backends.cli.main import Parser, add_frameworks_option, add_output_options

    parser = Parser(prog="tools/scaling.py", description=__doc__.splitlines()[0])
    add_frameworks_option(parser)
    parser.add_argument("--vocab", default="20000,50000,100000", help="the Zipf corpora's vocabularies")
    parser.add_argument("--tokens", type=int, default=2_000_000, help="the Zipf corpora's tokens")
    parser.add_argument("--steps", type=int, default=300, help="training steps timed per measurement")
    add_output_options(parser, "print the record as one JSON object")
    return parser


def command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    try:
        vocabularies = [int(v) for v in args.vocab.split(",")]
    except ValueError:
        raise W2VError(f"--vocab {args.vocab} is not a comma-separated list of whole numbers.") from None
    writable_folder(args.out)
    progress = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    record = scaling(args.frameworks, vocabularies, args.tokens, args.steps, progress)
    write_json(args.out / "scaling.json", record)
    figure(record, args.out / "scaling.png")
    print(to_json(record) if args.json else table(record) + f"\n\nwrote {args.out / 'scaling.json'} and .png")


def main(argv: list[str] | None = None) -> int:
    return tool_main(argv, task, command)


if __name__ == "__main__":
    sys.exit(main())
