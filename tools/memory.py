"""Peak memory and time of reading a large corpus with ``sample_each_batch`` and training on it (issue 38).

    python tools/memory.py zipf FILE --tokens N [--vocab 100000]      write a synthetic Zipf corpus
    python tools/memory.py measure FILE [FILE ...] [--frameworks numpy,torch] [--steps 100] [--min-count 5]

A maintainers' tool beside tools/bench.py and tools/scaling.py, whose way it follows: every measurement in a fresh
process of its own (``python tools/memory.py task JSON``), so that the peak resident memory (``ru_maxrss``) is
that measurement's alone. A measurement reads FILE with ``load_data(FILE, sample_each_batch=True)``, notes the
peak and the seconds that took, then trains ``--steps`` steps of one framework with lazy Adam and notes the peak
again. ``zipf`` writes tools/bench.py's synthetic corpus (P(rank r) ∝ 1/r, about 20 words a sentence) ten million
tokens at a time, each piece from a seed of its own, so that a corpus of any size is written in bounded memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

from bench import synthetic_corpus

from backends.common.errors import W2VError
from backends.experiments.isolated import check_frameworks, run_json

PIECE_TOKENS = 10_000_000


def peak_mib() -> float:
    """This process's peak resident memory so far, in MiB (``ru_maxrss`` is in KiB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_zipf(path: Path, tokens: int, vocab_size: int) -> None:
    """Write a Zipf corpus of ``tokens`` tokens over ``vocab_size`` words to ``path``, a piece at a time."""
    with open(path, "w", encoding="utf-8") as handle:
        for seed, begin in enumerate(range(0, tokens, PIECE_TOKENS)):
            handle.write(synthetic_corpus(min(PIECE_TOKENS, tokens - begin), vocab_size, seed=seed) + "\n")


def task(spec: dict) -> dict:
    """One measurement, in this process: load ``spec["corpus"]`` sampling at update time, then train
    ``spec["steps"]`` steps of ``spec["framework"]`` with lazy Adam."""
    from backends import load_backend
    from backends.pipeline.dataset import load_data

    start = time.perf_counter()
    data = load_data(spec["corpus"], sample_each_batch=True, min_count=spec["min_count"])
    result = {
        "tokens": data.corpus.num_tokens,
        "vocab_size": len(data.vocab),
        "centers": data.num_centers,
        "load_seconds": time.perf_counter() - start,
        "load_peak_mib": peak_mib(),
    }
    load_backend(spec["framework"]).train(data, max_steps=spec["steps"], optimizer="lazy_adam", progress=False)
    return {**result, "peak_mib": peak_mib()}


def measure(corpora: list[str], frameworks: list[str] | None, steps: int, min_count: int, progress=print) -> list:
    """Every (corpus, framework) measured in its own process."""
    runs = []
    for corpus in corpora:
        for framework in check_frameworks(frameworks):
            progress(f"{corpus}: {framework}, {steps} steps ...")
            spec = {"corpus": corpus, "framework": framework, "steps": steps, "min_count": min_count}
            result = run_json([sys.executable, str(Path(__file__).resolve()), "task", json.dumps(spec)])
            runs.append({"corpus": corpus, "framework": framework, **result})
    return runs


def table(runs: list[dict]) -> str:
    """The runs as Markdown: tokens, vocabulary, seconds to load, peak MiB after loading and after training."""
    rows = [
        "| corpus | framework | tokens | vocabulary | load s | load peak MiB | peak MiB |",
        "|---|---|--:|--:|--:|--:|--:|",
    ]
    for run in runs:
        if "error" in run:
            rows.append(f"| {run['corpus']} | {run['framework']} | {run['error']} | | | | |")
            continue
        rows.append(
            f"| {run['corpus']} | {run['framework']} | {run['tokens']:,} | {run['vocab_size']:,} | "
            f"{run['load_seconds']:.1f} | {run['load_peak_mib']:,.0f} | {run['peak_mib']:,.0f} |"
        )
    return "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    from backends.cli.main import Parser, add_frameworks_option

    parser = Parser(prog="tools/memory.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    zipf = commands.add_parser("zipf", help="write a synthetic Zipf corpus")
    zipf.add_argument("file", type=Path)
    zipf.add_argument("--tokens", type=int, required=True)
    zipf.add_argument("--vocab", type=int, default=100_000, help="the words the tokens are drawn from")
    run = commands.add_parser("measure", help="measure loading and training on corpora, each in its own process")
    run.add_argument("files", nargs="+")
    add_frameworks_option(run)
    run.add_argument("--steps", type=int, default=100, help="training steps after loading")
    run.add_argument("--min-count", type=int, default=5)
    run.add_argument("--json", action="store_true", help="print the runs as JSON")
    return parser


def tool_main(argv: list[str] | None, task: Callable[[dict], dict], command: Callable[[list[str]], None]) -> int:
    """A measuring tool's entry (this one's and tools/scaling.py's): ``task JSON`` runs one measurement in this
    process and prints its JSON result (what the tool's ``run_json`` starts); anything else is the tool's
    command, run as the project's commands run (a mistake as one paragraph and exit code 2)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["task"]:
        print(json.dumps(task(json.loads(argv[1]))))
        return 0
    from backends.cli.main import guarded

    return guarded(lambda: command(argv))


def command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    if args.command == "zipf":
        if args.tokens < 1 or args.vocab < 1:
            raise W2VError("--tokens and --vocab must be at least 1; give positive whole numbers.")
        write_zipf(args.file, args.tokens, args.vocab)
        return
    runs = measure(args.files, args.frameworks, args.steps, args.min_count, lambda line: print(line, file=sys.stderr))
    print(json.dumps(runs) if args.json else table(runs))


def main(argv: list[str] | None = None) -> int:
    return tool_main(argv, task, command)


if __name__ == "__main__":
    sys.exit(main())
