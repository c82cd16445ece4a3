"""The command line: ``python -m backends {stats,train,similar,report}``.

Every command works offline on the shipped data. A mistake the user can fix (a :class:`W2VError`)
prints one paragraph naming the problem and the fix, and exits with code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from backends import FRAMEWORKS, load_backend
from backends.errors import W2VError

RESULTS = Path("results")
PROBE_WORD = "chip"


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help="the PTB zip (default: data/ptb.zip)")
    parser.add_argument("--seed", type=int, default=0, help="one seed for the batches and the initial weights")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m backends", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    stats = commands.add_parser("stats", help="build the PTB pipeline and print its statistics")
    _add_data_options(stats)
    stats.add_argument("--batch-size", type=int, default=512)
    stats.add_argument("--json", action="store_true", help="print one JSON object")

    train = commands.add_parser("train", help="train one framework; writes OUT/<framework>/")
    train.add_argument("--framework", required=True, help=f"one of {', '.join(FRAMEWORKS)}")
    train.add_argument("--epochs", type=int, default=5)
    train.add_argument("--max-steps", type=int, default=None, help="stop after this many steps in all")
    train.add_argument("--batch-size", type=int, default=512)
    train.add_argument("--lr", type=float, default=0.002)
    train.add_argument("--embed-size", type=int, default=100)
    train.add_argument("--device", default="auto", help="auto, cpu or gpu")
    train.add_argument("--out", type=Path, default=RESULTS)
    train.add_argument("--json", action="store_true", help="end with one JSON line of the results")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_data_options(train)

    similar = commands.add_parser("similar", help="nearest neighbours of a word by cosine similarity")
    similar.add_argument("embeddings", type=Path, help="a word2vec text file, e.g. results/torch/embeddings.txt")
    similar.add_argument("word")
    similar.add_argument("-k", type=int, default=3)

    report = commands.add_parser("report", help="loss curves and a summary of the runs under OUT")
    report.add_argument("--out", type=Path, default=RESULTS)
    return parser


def cmd_stats(args: argparse.Namespace) -> None:
    from backends import ptb

    stats = ptb.load_data(args.data, seed=args.seed).stats(args.batch_size)
    if args.json:
        print(json.dumps(stats))
    else:
        for key, value in stats.items():
            print(f"{key:>17}: {value:,}" if isinstance(value, int) else f"{key:>17}: {value}")


def cmd_train(args: argparse.Namespace) -> int:
    from backends import ptb, training

    config = training.TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        embed_size=args.embed_size,
        seed=args.seed,
        device=args.device,
        max_steps=args.max_steps,
    )
    backend = load_backend(args.framework)
    data = ptb.load_data(args.data, seed=args.seed)
    folder = args.out / args.framework
    try:
        history = backend.train(data, config, progress=not args.no_progress)
    except training.TrainingDiverged as diverged:
        _save_run(folder, diverged.history)
        raise
    _save_run(folder, history)
    summary = {
        "framework": history.framework,
        "device": history.device,
        "loss": history.loss,
        "centers_per_sec": history.centers_per_sec,
        "steps": history.steps,
        "seconds": history.seconds,
        "stopped": history.stopped,
        "out": str(folder),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(
            f"{history.framework} on {history.device}: {history.steps} steps, loss {history.loss:.4f}, "
            f"{history.centers_per_sec:,.0f} centers/s; wrote {folder}/history.json and embeddings.txt"
        )
    return 130 if history.stopped == "interrupted" else 0


def _save_run(folder: Path, history) -> None:
    from backends.embeddings import save_word2vec
    from backends.files import write_json

    write_json(folder / "history.json", history.to_dict())
    if history.embeddings is not None:
        save_word2vec(folder / "embeddings.txt", history.words, history.embeddings)


def cmd_similar(args: argparse.Namespace) -> None:
    from backends.embeddings import load_word2vec, similar

    words, matrix = load_word2vec(args.embeddings)
    for word, cosine in similar(matrix, words, args.word, args.k):
        print(f"{word}\t{cosine:.3f}")


def cmd_report(args: argparse.Namespace) -> None:
    from backends.embeddings import load_word2vec, similar
    from backends.files import write_text
    from backends.plotting import plot_losses

    runs = {}
    for framework in FRAMEWORKS:
        path = args.out / framework / "history.json"
        if path.is_file():
            runs[framework] = json.loads(path.read_text())
    if not runs:
        raise W2VError(f"no runs under {args.out}; train first, e.g. python -m backends train --framework torch.")
    plot_losses({name: run["step_losses"] for name, run in runs.items()}, args.out / "loss_curves.png")
    lines = [
        "# Training summary",
        "",
        f"| framework | device | steps | final loss | centers/s | neighbours of \"{PROBE_WORD}\" |",
        "|---|---|---:|---:|---:|---|",
    ]
    for name, run in runs.items():
        words, matrix = load_word2vec(args.out / name / "embeddings.txt")
        neighbours = ", ".join(f"{w} ({c:.3f})" for w, c in similar(matrix, words, PROBE_WORD, 3))
        lines.append(
            f"| {name} | {run['device']} | {run['steps']} | {run['loss']:.4f} | "
            f"{run['centers_per_sec']:,.0f} | {neighbours} |"
        )
    write_text(args.out / "summary.md", "\n".join(lines) + "\n")
    print(f"wrote {args.out / 'loss_curves.png'} and {args.out / 'summary.md'}")
    print("\n".join(lines[2:]))


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (2 for a user's mistake)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    args = build_parser().parse_args(argv)
    handlers = {"stats": cmd_stats, "train": cmd_train, "similar": cmd_similar, "report": cmd_report}
    try:
        return handlers[args.command](args) or 0
    except W2VError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
