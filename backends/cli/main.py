"""``python -m backends {stats,train,similar,evaluate,compare,diff,parity,baseline,report,grade}``: the command line.

Every command works offline on the shipped data. A mistake the user can fix (a :class:`W2VError`)
prints one paragraph naming the problem and the fix, and exits with code 2, without a traceback.
The options that are settings come from :class:`backends.common.settings.Settings`, with its defaults.
Each command parses its options, calls the library (:mod:`backends.experiments` for runs and comparisons) and
prints what came of it; the work itself is done there.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from backends import load_backend
from backends.cli import output
from backends.common import settings as settings_
from backends.common.errors import W2VError
from backends.common.files import existing_folder, os_error_message, to_json, writable_folder
from backends.common.frameworks import FRAMEWORKS, framework
from backends.common.settings import DATA, TRAINING
from backends.common.signals import handling
from backends.experiments.compare import compare
from backends.experiments.diff import diff
from backends.experiments.parity import parity
from backends.experiments.report import report
from backends.experiments.runs import CHECKPOINT
from backends.experiments.summary import format_loss, outcome, shown, summary_markdown
from backends.experiments.train import train_baseline, train_framework
from backends.grading import run as grading
from backends.pipeline.dataset import load_data
from backends.vectors import embeddings, evaluation

RESULTS = Path("results")
OUT_OF_MEMORY = (
    "the command ran out of memory: an allocation failed, as the machine (or a limit set on this process, "
    "such as `ulimit -v`) has less free memory than it needs. Lower what takes it: the embedding size "
    "(--embed-size), the batch size (--batch-size), the max window (--max-window) or the number of "
    "noise words (--num-noise), or give a smaller corpus (--data); or close other programs. Results "
    "written before are unchanged."
)


def add_frameworks_option(parser: argparse.ArgumentParser) -> None:
    """--frameworks, a comma-separated list (shared with the maintainers' tools, tools/bench.py)."""
    parser.add_argument(
        "--frameworks",
        type=lambda text: [name.strip() for name in text.split(",") if name.strip()],
        default=None,
        help=f"comma-separated, from {','.join(FRAMEWORKS)} (default: all; those not installed "
        f"are reported and skipped)",
    )


def add_output_options(parser: argparse.ArgumentParser, json_help: str | None = None) -> None:
    """--out (where results go) and, with ``json_help``, --json."""
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"the results folder (default: {RESULTS})")
    if json_help:
        parser.add_argument("--json", action="store_true", help=json_help)


class Parser(argparse.ArgumentParser):
    """argparse, with its complaints about the command line made the project's one paragraph and exit code 2."""

    def error(self, message: str):
        raise W2VError(f"{message} (`{self.prog} --help` lists the options).")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m backends", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    stats = commands.add_parser("stats", help="build the PTB pipeline and print its statistics")
    settings_.add_options(stats, DATA, only=("batch_size",))
    stats.add_argument("--json", action="store_true", help="print one JSON object")

    train = commands.add_parser("train", help="train one framework; writes OUT/<framework>/")
    train.add_argument("--framework", required=True, help=f"one of {', '.join(FRAMEWORKS)}")
    settings_.add_options(train, DATA, TRAINING)
    add_output_options(train, "end with one JSON line of the results")
    train.add_argument("--no-progress", action="store_true", help="no progress bars")
    train.add_argument(
        "--checkpoint-every",
        type=int,
        default=None,
        metavar="N",
        help="save OUT/<framework>/checkpoint.npz every N steps (and on Ctrl-C)",
    )
    train.add_argument("--resume", action="store_true", help="continue from OUT/<framework>/checkpoint.npz")
    train.add_argument(
        "--restart",
        action="store_true",
        help="start over where OUT/<framework>/checkpoint.npz holds an earlier run, replacing it",
    )

    similar = commands.add_parser("similar", help="nearest neighbours of a word by cosine similarity")
    similar.add_argument("embeddings", type=Path, help="a word2vec text file, e.g. results/torch/embeddings.txt")
    similar.add_argument("word")
    similar.add_argument("-k", type=int, default=3)

    evaluate = commands.add_parser("evaluate", help="WordSim-353 Spearman correlation of an embeddings file")
    evaluate.add_argument("embeddings", type=Path, help="a word2vec text file, e.g. results/torch/embeddings.txt")
    evaluate.add_argument("--json", action="store_true")

    comparison = commands.add_parser("compare", help="train several frameworks from one seed and compare them")
    add_frameworks_option(comparison)
    settings_.add_options(comparison, DATA, TRAINING)
    add_output_options(comparison)
    comparison.add_argument("--no-progress", action="store_true")

    parity = commands.add_parser("parity", help="check that the frameworks' per-step losses agree")
    add_frameworks_option(parity)
    parity.add_argument("--steps", type=int, default=100)
    settings_.add_options(parity, DATA, only=("optimizer",))
    parity.add_argument("--json", action="store_true")

    difference = commands.add_parser("diff", help="how far the same frameworks' runs in two result folders differ")
    difference.add_argument("first", type=Path, help="a folder of runs, e.g. results/cross-env/book")
    difference.add_argument("second", type=Path, help="another, e.g. results/cross-env/current")
    difference.add_argument("--json", action="store_true")

    baseline = commands.add_parser("baseline", help="train a peer baseline (gensim) on the same subsampled PTB")
    baseline.add_argument("trainer", choices=("gensim",))
    settings_.add_options(baseline, DATA, only=("epochs", "embed_size"))
    baseline.add_argument("--workers", type=int, default=2)
    add_output_options(baseline, "end with one JSON line of the results")

    summary = commands.add_parser("report", help="figures and a summary of the runs under OUT")
    add_output_options(summary)
    summary.add_argument(
        "--mixed",
        action="store_true",
        help="put runs trained with different settings in one table, listing the differences",
    )

    marking = commands.add_parser(
        "grade",
        help="run students' notebooks, each in a process of its own within "
        "limits, and grade them with the chapter's checks",
    )
    marking.add_argument(
        "submissions",
        nargs="*",
        type=Path,
        metavar="SUBMISSION",
        help="a submitted notebook, or a folder: every *.ipynb inside it",
    )
    marking.add_argument(
        "--out",
        type=Path,
        required=True,
        help="the folder for grades.jsonl, grades.csv, grades.md and the executed notebooks",
    )
    marking.add_argument(
        "--timeout",
        type=float,
        default=grading.Limits.seconds,
        metavar="SECONDS",
        help=f"wall-clock limit for each whole notebook (default: {grading.Limits.seconds:g}); one "
        f"cell may run half of it, at most {grading.MAX_CELL_SECONDS} s",
    )
    marking.add_argument(
        "--memory",
        type=int,
        default=grading.Limits.memory_mb,
        metavar="MB",
        help=f"resident memory limit for each notebook, its kernel included (default: {grading.Limits.memory_mb})",
    )
    marking.add_argument(
        "--steps",
        type=int,
        default=grading.Limits.steps,
        metavar="N",
        help=f"the W2V_MAX_STEPS each notebook's own training cells run with (default: {grading.Limits.steps})",
    )
    return parser


def cmd_stats(args: argparse.Namespace) -> None:
    settings = settings_.from_args(args)
    stats = load_data(settings=settings).stats(settings.batch_size)
    if args.json:
        print(to_json(stats))
    else:
        for key, value in stats.items():
            print(f"{key:>17}: {value:,}" if isinstance(value, int) else f"{key:>17}: {value}")


def cmd_train(args: argparse.Namespace) -> int:
    settings = settings_.from_args(args)
    if args.resume and args.restart:
        raise W2VError("--resume continues the checkpoint's run and --restart replaces it: choose one.")
    if args.checkpoint_every is not None and args.checkpoint_every < 1:
        raise W2VError(
            f"--checkpoint-every {args.checkpoint_every} is out of range: save a checkpoint every N steps, "
            f"N at least 1."
        )
    framework(args.framework)  # a known name, before any folder is made for it
    out = writable_folder(args.out)  # now, not after the training it would hold
    backend = load_backend(args.framework)
    history, folder, late_signal = train_framework(
        args.framework,
        backend,
        settings,
        out,
        progress=not args.no_progress,
        checkpoint_every=args.checkpoint_every,
        resume=args.resume,
        restart=args.restart,
    )
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
        print(to_json(summary))
    else:
        print(
            f"{history.framework} on {history.device}: {history.steps} steps, "
            f"loss {format_loss(history.loss)}, "
            f"{history.centers_per_sec:,.0f} centers/s ({history.cores_busy:.1f} cores busy); "
            f"wrote {folder}/history.json and embeddings.txt"
        )
    if history.stopped != "interrupted":
        if late_signal:
            print(
                f"note: Ctrl-C or SIGTERM came while the run's files were written; the run was complete, so they "
                f"were written whole first ({folder}).",
                file=sys.stderr,
            )
        return 0
    how = (
        "run the same command with --resume to continue from its checkpoint"
        if (folder / CHECKPOINT).is_file()
        else "train with --checkpoint-every N to be able to continue an interrupted run"
    )
    print(
        f"interrupted after {history.steps:,} of {history.planned_steps:,} steps, which are kept; {how}.",
        file=sys.stderr if args.json else sys.stdout,
    )
    return 130


def cmd_baseline(args: argparse.Namespace) -> None:
    settings = settings_.from_args(args)
    history, folder, wordsim = train_baseline(settings, args.out, args.workers)
    summary = {
        "framework": "gensim",
        "seconds": history.seconds,
        "centers_per_sec": history.centers_per_sec,
        "wordsim353": wordsim,
        "out": str(folder),
    }
    if args.json:
        print(to_json(summary))
    else:
        print(
            f"gensim ({args.workers} worker{'s' if args.workers > 1 else ''}): {settings.epochs} epochs in "
            f"{history.seconds:.1f} s, {history.centers_per_sec:,.0f} centers/s, WordSim-353 Spearman "
            f"{shown(wordsim['spearman'], '.3f')}; wrote {folder}/"
        )


def cmd_similar(args: argparse.Namespace) -> None:
    words, matrix = embeddings.load_word2vec(args.embeddings)
    neighbours = embeddings.similar(matrix, words, args.word, args.k)
    if not neighbours:  # the word is the vocabulary's only one
        raise W2VError(
            f"{args.embeddings} holds the vector of {args.word!r} only: there is no other word to be "
            f"similar to it. Give the vectors of a larger vocabulary (train on more text, or with a lower "
            f"--min-count)."
        )
    for word, cosine in neighbours:
        print(f"{word}\t{cosine:.3f}")


def cmd_evaluate(args: argparse.Namespace) -> None:
    result = evaluation.evaluate(*embeddings.load_word2vec(args.embeddings))
    print(to_json(result) if args.json else evaluation.describe(result))


def cmd_compare(args: argparse.Namespace) -> int:
    settings = settings_.from_args(args)
    summary = compare(args.frameworks, writable_folder(args.out), settings, not args.no_progress)
    print(summary_markdown(summary))
    print(outcome(summary, args.out))
    if "kept_apart" not in summary:
        return 0
    return 130 if summary["interrupted"] else 1


def cmd_parity(args: argparse.Namespace) -> int:
    result = parity(args.frameworks, args.steps, settings_.from_args(args))
    if args.json:
        print(to_json(result))
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
    for folder in (args.first, args.second):
        existing_folder(
            folder,
            "the results folder",
            "Give diff two folders that runs were trained into (python -m backends train --out FOLDER).",
        )
    result = diff(args.first, args.second)
    if args.json:
        print(to_json(result))
        return
    for name, run in result.items():
        if "only_in" in run:
            print(f"{name:>10}: trained only into {run['only_in']}")
            continue
        versions = ", ".join(
            f"{package} {run['versions'][0].get(package)} / {run['versions'][1].get(package)}"
            for package in run["versions"][0]
        )
        agreement = (
            "identical" if run["identical"] else f"largest relative difference {run['max_relative_difference']:.1e}"
        )
        caution = "" if run["same_settings"] else "; trained with different settings"
        losses = " / ".join(map(format_loss, run["losses"]))
        print(f"{name:>10}: {run['steps']} steps, {agreement}, final loss {losses} ({versions}){caution}")


def cmd_report(args: argparse.Namespace) -> None:
    print(summary_markdown(report(args.out, mixed=args.mixed)))


def cmd_grade(args: argparse.Namespace) -> None:
    limits = grading.Limits(seconds=args.timeout, memory_mb=args.memory, steps=args.steps)
    grading.grade(args.submissions, args.out, limits, report=lambda row: print(grading.describe(row), flush=True))
    print(grading.written(args.out))


HANDLERS = {
    "stats": cmd_stats,
    "train": cmd_train,
    "similar": cmd_similar,
    "evaluate": cmd_evaluate,
    "compare": cmd_compare,
    "diff": cmd_diff,
    "baseline": cmd_baseline,
    "parity": cmd_parity,
    "report": cmd_report,
    "grade": cmd_grade,
}


def main(argv: list[str] | None = None) -> int:
    """Run one command; returns the exit code (2 for a user's mistake, 130 when Ctrl-C or SIGTERM stopped it)."""
    return guarded(lambda: _dispatch(argv))


def _dispatch(argv: list[str] | None) -> int:
    """Parse ``argv`` and run its command; returns its exit code."""
    args = build_parser().parse_args(argv)
    return HANDLERS[args.command](args) or 0


def guarded(command: Callable[[], int | None]) -> int:
    """Run ``command`` as every command of the project runs (the maintainers' tools too): printing made safe,
    the user's mistakes, system errors and interruptions as one paragraph; returns its exit code."""
    os.environ["MPLBACKEND"] = "Agg"  # figures go to files only: no window, whatever backend the user's setting names
    with output.safe_streams():
        try:
            return _run(command)
        except output.ReaderGone:  # `| head` had what it wanted: stop quietly, as a pipe's writer does
            output.quiet_exit()
            return 141


def _run(command: Callable[[], int | None]) -> int:
    """``command``, with the user's mistakes, system errors and interruptions as one paragraph."""
    try:
        with _sigterm_as_ctrl_c():
            code = command() or 0
            sys.stdout.flush()  # now, where a failure to print is still one paragraph
            return code
    except W2VError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # a full disk, a read-only folder, a name too long: the user's to fix
        print(f"error: {os_error_message(error)}", file=sys.stderr)
        return 2
    except MemoryError:  # an allocation no estimate foresaw (other programs took the memory meanwhile, say)
        print(f"error: {OUT_OF_MEMORY}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # outside training, which handles its own (loading the data, say)
        print(
            "error: interrupted (Ctrl-C or SIGTERM) before the command finished. Nothing is half written: what it "
            "had not put in place yet is as it was before.",
            file=sys.stderr,
        )
        return 130


def _sigterm_as_ctrl_c() -> contextlib.AbstractContextManager:
    """SIGTERM (a plain `kill`, `timeout`, a job scheduler) acts as Ctrl-C for the whole command, so that
    every stop goes through the same cleanup; training and the final writes defer both to a safe point."""
    return handling(signal.default_int_handler, (signal.SIGTERM,))
