"""The command line: ``python -m backends {stats,train,similar,evaluate,compare,diff,parity,baseline,bench,report}``.

Every command works offline on the shipped data. A mistake the user can fix (a :class:`W2VError`)
prints one paragraph naming the problem and the fix, and exits with code 2, without a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from backends import load_backend
from backends.errors import W2VError
from backends.files import writable_folder
from backends.frameworks import FRAMEWORKS
from backends.ptb import MODELS, NOISE_POWERS

RESULTS = Path("results")


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=None, help="the PTB zip (default: data/ptb.zip)")
    parser.add_argument("--seed", type=int, default=0, help="one seed for the batches and the initial weights")


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", choices=MODELS, default="skipgram", help="skipgram (the chapter's) or cbow")
    parser.add_argument("--min-count", type=int, default=10, help="keep words seen at least this often")
    parser.add_argument("--max-window", type=int, default=5, help="largest context window on each side")
    parser.add_argument("--num-noise", type=int, default=5, help="noise words per context word (K)")
    parser.add_argument("--noise", choices=tuple(NOISE_POWERS), default="unigram75",
                        help="noise distribution: count**0.75 (the chapter's) or uniform")
    parser.add_argument("--resample-each-epoch", action="store_true",
                        help="redraw subsampling, windows and noise words every epoch")


def _model_options(args: argparse.Namespace) -> list[str]:
    """The model flags of ``args`` again, to hand on to a training subprocess."""
    flags = ["--model", args.model, "--noise", args.noise, "--min-count", str(args.min_count),
             "--max-window", str(args.max_window), "--num-noise", str(args.num_noise)]
    return flags + (["--resample-each-epoch"] if args.resample_each_epoch else [])


def _add_frameworks_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--frameworks", type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
                        default=None,
                        help=f"comma-separated, from {','.join(FRAMEWORKS)} (default: all; those not installed "
                             f"are reported and skipped)")


def _load_data(args: argparse.Namespace):
    from backends import ptb

    return ptb.load_data(
        args.data, seed=args.seed, model=args.model, noise=args.noise, resample_each_epoch=args.resample_each_epoch,
        min_count=args.min_count, max_window=args.max_window, num_noise=args.num_noise,
    )


class _Parser(argparse.ArgumentParser):
    """argparse, with its complaints about the command line made the project's one paragraph and exit code 2."""

    def error(self, message: str):
        raise W2VError(f"{message} (`{self.prog} --help` lists the options).")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m backends", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    stats = commands.add_parser("stats", help="build the PTB pipeline and print its statistics")
    _add_data_options(stats)
    stats.add_argument("--batch-size", type=int, default=512)
    stats.add_argument("--json", action="store_true", help="print one JSON object")
    _add_model_options(stats)

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
    train.add_argument("--checkpoint-every", type=int, default=None, metavar="N",
                       help="save OUT/<framework>/checkpoint.npz every N steps (and on Ctrl-C)")
    train.add_argument("--resume", action="store_true", help="continue from OUT/<framework>/checkpoint.npz")
    _add_data_options(train)
    _add_model_options(train)

    similar = commands.add_parser("similar", help="nearest neighbours of a word by cosine similarity")
    similar.add_argument("embeddings", type=Path, help="a word2vec text file, e.g. results/torch/embeddings.txt")
    similar.add_argument("word")
    similar.add_argument("-k", type=int, default=3)

    evaluate = commands.add_parser("evaluate", help="WordSim-353 Spearman correlation of an embeddings file")
    evaluate.add_argument("embeddings", type=Path, help="a word2vec text file, e.g. results/torch/embeddings.txt")
    evaluate.add_argument("--json", action="store_true")

    compare = commands.add_parser("compare", help="train several frameworks from one seed and compare them")
    _add_frameworks_option(compare)
    compare.add_argument("--epochs", type=int, default=5)
    compare.add_argument("--max-steps", type=int, default=None)
    compare.add_argument("--seed", type=int, default=0)
    compare.add_argument("--device", default="auto", help="auto, cpu or gpu")
    compare.add_argument("--out", type=Path, default=RESULTS)
    compare.add_argument("--no-progress", action="store_true")
    _add_model_options(compare)

    parity = commands.add_parser("parity", help="check that the frameworks' per-step losses agree")
    _add_frameworks_option(parity)
    parity.add_argument("--steps", type=int, default=100)
    parity.add_argument("--seed", type=int, default=0)
    parity.add_argument("--json", action="store_true")

    difference = commands.add_parser("diff", help="how far the same frameworks' runs in two result folders differ")
    difference.add_argument("first", type=Path, help="a folder of runs, e.g. results/cross-env/book")
    difference.add_argument("second", type=Path, help="another, e.g. results/cross-env/current")
    difference.add_argument("--json", action="store_true")

    baseline = commands.add_parser("baseline", help="train a peer baseline (gensim) on the same subsampled PTB")
    baseline.add_argument("trainer", choices=("gensim",))
    baseline.add_argument("--epochs", type=int, default=5)
    baseline.add_argument("--embed-size", type=int, default=100)
    baseline.add_argument("--workers", type=int, default=2)
    baseline.add_argument("--out", type=Path, default=RESULTS)
    baseline.add_argument("--json", action="store_true", help="end with one JSON line of the results")
    _add_data_options(baseline)
    _add_model_options(baseline)

    bench = commands.add_parser("bench", help="speed against the book's code and gensim; writes results/bench.json")
    _add_frameworks_option(bench)
    bench.add_argument("--steps", type=int, default=1000, help="training steps timed per framework")
    bench.add_argument("--repeats", type=int, default=1,
                       help="rounds of every pipeline and training measurement; the medians are reported")
    bench.add_argument("--corpus-tokens", type=int, default=None,
                       help="also time the pipeline on synthetic Zipf corpora of up to this many tokens")
    bench.add_argument("--out", type=Path, default=RESULTS)
    bench.add_argument("--json", action="store_true")

    report = commands.add_parser("report", help="figures and a summary of the runs under OUT")
    report.add_argument("--out", type=Path, default=RESULTS)
    return parser


def cmd_stats(args: argparse.Namespace) -> None:
    stats = _load_data(args).stats(args.batch_size)
    if args.json:
        print(json.dumps(stats))
    else:
        for key, value in stats.items():
            print(f"{key:>17}: {value:,}" if isinstance(value, int) else f"{key:>17}: {value}")


def cmd_train(args: argparse.Namespace) -> int:
    from backends import training

    config = training.TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        embed_size=args.embed_size,
        seed=args.seed,
        device=args.device,
        max_steps=args.max_steps,
    )
    folder = writable_folder(args.out / args.framework)  # now, not after the training it would hold
    backend = load_backend(args.framework)
    data = _load_data(args)
    checkpoint = folder / "checkpoint.npz"
    try:
        history = backend.train(data, config, progress=not args.no_progress, checkpoint=checkpoint,
                                checkpoint_every=args.checkpoint_every, resume=args.resume)
    except training.TrainingDiverged as diverged:
        _save_run(folder, diverged.history)
        raise
    _save_run(folder, history)
    summary = {
        "framework": history.framework,
        "device": history.device,
        "loss": history.loss,
        "centers_per_sec": history.centers_per_sec,
        "cores_busy": history.cores_busy,
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
            f"{history.centers_per_sec:,.0f} centers/s ({history.cores_busy:.1f} cores busy); "
            f"wrote {folder}/history.json and embeddings.txt"
        )
    return 130 if history.stopped == "interrupted" else 0


def _save_run(folder: Path, history) -> dict | None:
    """Write history.json, embeddings.txt and evaluation.json (WordSim-353) of a run; returns the evaluation."""
    from backends.embeddings import save_word2vec
    from backends.evaluation import evaluate
    from backends.files import write_json

    write_json(folder / "history.json", history.to_dict())
    if history.embeddings is None:
        return None
    save_word2vec(folder / "embeddings.txt", history.words, history.embeddings)
    return write_json(folder / "evaluation.json", {"wordsim353": evaluate(history.words, history.embeddings)})


def cmd_baseline(args: argparse.Namespace) -> None:
    from backends.baseline import train_gensim

    folder = writable_folder(args.out / "gensim")
    data = _load_data(args)
    history = train_gensim(data, epochs=args.epochs, embed_size=args.embed_size, workers=args.workers, seed=args.seed)
    wordsim = _save_run(folder, history)["wordsim353"]
    summary = {"framework": "gensim", "seconds": history.seconds, "centers_per_sec": history.centers_per_sec,
               "wordsim353": wordsim, "out": str(folder)}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"gensim ({args.workers} worker{'s' if args.workers > 1 else ''}): {args.epochs} epochs in {history.seconds:.1f} s, "
              f"{history.centers_per_sec:,.0f} centers/s, WordSim-353 Spearman {wordsim['spearman']:.3f}; wrote {folder}/")


def cmd_similar(args: argparse.Namespace) -> None:
    from backends.embeddings import load_word2vec, similar

    words, matrix = load_word2vec(args.embeddings)
    for word, cosine in similar(matrix, words, args.word, args.k):
        print(f"{word}\t{cosine:.3f}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    from backends.embeddings import load_word2vec
    from backends.evaluation import describe, evaluate

    result = evaluate(*load_word2vec(args.embeddings))
    print(json.dumps(result) if args.json else describe(result))


def cmd_compare(args: argparse.Namespace) -> int:
    from backends.compare import compare, outcome, succeeded, summary_markdown

    options = ["--epochs", str(args.epochs), "--seed", str(args.seed), "--device", args.device] + _model_options(args)
    if args.max_steps is not None:
        options += ["--max-steps", str(args.max_steps)]
    settings = {"epochs": args.epochs, "max_steps": args.max_steps, "seed": args.seed, "device": args.device,
                "model": args.model, "noise": args.noise, "resample_each_epoch": args.resample_each_epoch}
    summary = compare(args.frameworks, writable_folder(args.out), options, not args.no_progress, settings)
    print(summary_markdown(summary))
    print(outcome(summary, args.out))
    return 0 if succeeded(summary["frameworks"], named=args.frameworks is not None) else 1


def cmd_parity(args: argparse.Namespace) -> int:
    from backends.compare import parity

    result = parity(args.frameworks, args.steps, args.seed)
    if args.json:
        print(json.dumps(result))
    else:
        for pair, value in result["max_relative_difference"].items():
            print(f"{pair:>22}: {value:.2e}{'' if value <= result['tolerance'] else '  over the tolerance'}")
        for framework, why in result["failed"].items():
            print(f"{framework:>22}: failed: {why}")
        for framework, why in result["not_installed"].items():
            print(f"{framework:>22}: not installed: {why}")
        verdict = "agree" if result["ok"] else "DO NOT agree"
        print(f"{result['steps']} steps: the frameworks {verdict} within a relative {result['tolerance']:g}")
    return 0 if result["ok"] else 1


def cmd_diff(args: argparse.Namespace) -> None:
    from backends.compare import diff

    result = diff(args.first, args.second)
    if args.json:
        print(json.dumps(result))
        return
    for name, run in result.items():
        if "only_in" in run:
            print(f"{name:>10}: trained only into {run['only_in']}")
            continue
        versions = ", ".join(f"{package} {run['versions'][0].get(package)} / {run['versions'][1].get(package)}"
                             for package in run["versions"][0])
        agreement = "identical" if run["identical"] else f"largest relative difference {run['max_relative_difference']:.1e}"
        caution = "" if run["same_settings"] else "; trained with different settings"
        print(f"{name:>10}: {run['steps']} steps, {agreement}, final loss {run['losses'][0]:.4f} / "
              f"{run['losses'][1]:.4f} ({versions}){caution}")


def cmd_bench(args: argparse.Namespace) -> None:
    from backends.bench import benchmark, table
    from backends.files import write_json

    writable_folder(args.out)
    record = benchmark(args.frameworks, args.steps, args.corpus_tokens, args.repeats,
                       progress=lambda line: print(line, file=sys.stderr, flush=True))
    write_json(args.out / "bench.json", record)
    print(json.dumps(record) if args.json else table(record) + f"\n\nwrote {args.out / 'bench.json'}")


def cmd_report(args: argparse.Namespace) -> None:
    from backends.compare import report, summary_markdown

    print(summary_markdown(report(args.out)))


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (2 for a user's mistake)."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    handlers = {
        "stats": cmd_stats,
        "train": cmd_train,
        "similar": cmd_similar,
        "evaluate": cmd_evaluate,
        "compare": cmd_compare,
        "diff": cmd_diff,
        "baseline": cmd_baseline,
        "bench": cmd_bench,
        "parity": cmd_parity,
        "report": cmd_report,
    }
    try:
        args = build_parser().parse_args(argv)
        return handlers[args.command](args) or 0
    except W2VError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
