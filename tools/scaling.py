"""`make bench-scaling`: time per step and peak memory as the vocabulary and the corpus grow (issue 38).

    python tools/scaling.py [--frameworks torch,jax] [--vocab 20000,50000,100000] [--tokens 2000000]
                            [--corpus-tokens 1000000,10000000,100000000] [--steps 300] [--out results]

A maintainers' tool beside `make bench` (tools/bench.py), whose way it follows: every measurement in a fresh
process of its own (``python tools/scaling.py task JSON``), so that frameworks never share a process and the
peak memory (reading the text included) is the measurement's alone. Two studies:

- **vocabulary**: PTB and synthetic Zipf corpora (P(rank r) ∝ 1/r, tools/bench.py's) of ``--tokens`` tokens
  over ``--vocab`` words, every word kept (min count 1), each framework trained with Adam and with lazy Adam.
  Dense Adam touches every row of both tables and their moments at each step, so its step grows with the
  vocabulary; lazy Adam touches the rows a batch looks up.
- **corpus**: Zipf corpora of ``--corpus-tokens`` tokens over 100,000 words (min count 5), trained the chapter's
  way (one draw of every center's examples, Adam) and with sampling at update time and lazy Adam. A corpus
  the chapter's way cannot hold is refused before any work, and the refusal is recorded.

Each run trains ``--steps`` steps with the chapter's other settings; its speed counts the steps after the first,
which pays for compilation. Writes OUT/scaling.json and OUT/scaling.png (both studies, log-log).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # tools/bench.py, beside this file
from bench import machine, synthetic_corpus  # noqa: E402

from backends.common.errors import W2VError  # noqa: E402
from backends.common.files import to_json, writable_folder, write_json  # noqa: E402
from backends.common.settings import DEFAULTS  # noqa: E402
from backends.experiments.isolated import check_frameworks, run_json  # noqa: E402

PTB = "PTB"
CORPUS_VOCAB, CORPUS_MIN_COUNT = 100_000, 5
CHAPTERS_WAY_UP_TO = 10**7  # tokens: beyond, the chapter's way needs more memory than a laptop has (~150 B a token)
# The ways the studies compare, by name: the settings each adds to the chapter's.
WAYS = {
    "Adam": {},
    "lazy Adam": {"optimizer": "lazy_adam"},
    "the chapter's way": {},
    "update time + lazy Adam": {"sample_each_batch": True, "optimizer": "lazy_adam"},
}
STUDIES = {"vocabulary": ("Adam", "lazy Adam"), "corpus": ("the chapter's way", "update time + lazy Adam")}


def task(spec: dict) -> dict:
    """One measurement, in this process: read the corpus ``spec["corpus"]`` (a file, or PTB) and draw its data,
    train ``spec["steps"]`` steps of one framework with ``spec["settings"]``, and report speed and peak memory;
    a corpus refused (too large for memory, say) is reported with the message."""
    from backends import load_backend
    from backends.pipeline.dataset import load_data

    started = time.perf_counter()
    try:
        data = load_data(None if spec["corpus"] == PTB else spec["corpus"], **spec["data"])
    except W2VError as error:
        return {"refused": str(error)}
    loaded = time.perf_counter() - started
    history = load_backend(spec["framework"]).train(data, max_steps=spec["steps"], progress=False, **spec["training"])
    return {
        "vocab_size": len(data.vocab),
        "tokens": data.corpus.num_tokens,
        "load_seconds": loaded,
        "centers_per_sec": history.centers_per_sec,
        "ms_per_step": 1000 * DEFAULTS.batch_size / history.centers_per_sec,
        "loss": history.loss,
        "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    }


def _spec(corpus: str, framework: str, way: str, steps: int, min_count: int) -> dict:
    settings = {**WAYS[way], "min_count": min_count}
    training = {k: v for k, v in settings.items() if k == "optimizer"}
    data = {k: v for k, v in settings.items() if k != "optimizer"}
    return {"corpus": corpus, "framework": framework, "steps": steps, "data": data, "training": training}


def scaling(
    frameworks: list[str] | None,
    vocabularies: list[int],
    tokens: int,
    corpus_sizes: list[int],
    steps: int,
    progress=print,
) -> dict:
    """Every measurement of both studies, each in its own process; the record written to scaling.json."""
    frameworks = check_frameworks(frameworks)
    if steps < 20 or tokens < 100_000 or min([*vocabularies, 1000]) < 1000 or min([*corpus_sizes, 10**5]) < 10**5:
        raise W2VError("time at least 20 steps, on corpora of at least 100,000 tokens and 1,000 words.")
    record: dict = {"machine": machine(), "steps": steps, "tokens": tokens, "runs": []}
    with tempfile.TemporaryDirectory(prefix="w2v-scaling-") as folder:

        def written(name: str, size: int, vocab: int) -> str:
            path = Path(folder) / name
            with path.open("w", encoding="utf-8") as file:  # in pieces of 10 million tokens: bounded memory
                for piece, begin in enumerate(range(0, size, 10**7)):
                    file.write(synthetic_corpus(min(10**7, size - begin), vocab_size=vocab, seed=piece) + "\n")
            return str(path)

        plan = [("vocabulary", PTB, PTB, DEFAULTS.min_count)]
        plan += [("vocabulary", f"Zipf, {v:,} words", written(f"v{v}.txt", tokens, v), 1) for v in vocabularies]
        plan += [
            ("corpus", f"Zipf, {t:,} tokens", written(f"t{t}.txt", t, CORPUS_VOCAB), CORPUS_MIN_COUNT)
            for t in corpus_sizes
        ]
        for study, name, corpus, min_count in plan:
            for framework in frameworks:
                for way in STUDIES[study]:
                    size = Path(corpus).stat().st_size if corpus != PTB else 0
                    if way == "the chapter's way" and size > 6 * CHAPTERS_WAY_UP_TO:  # ~6 bytes a Zipf token
                        result = {"skipped": f"not run above {CHAPTERS_WAY_UP_TO:,} tokens"}
                    else:
                        progress(f"{name}: {framework}, {way}, {steps} steps ...")
                        result = run_task(_spec(corpus, framework, way, steps, min_count))
                    record["runs"].append(
                        {"study": study, "corpus": name, "framework": framework, "way": way, **result}
                    )
    return record


def run_task(spec: dict) -> dict:
    return run_json([sys.executable, str(Path(__file__).resolve()), "task", json.dumps(spec)])


def _cell(run: dict, key: str, style: str) -> str:
    if "refused" in run or "skipped" in run:
        return "refused" if "refused" in run else "not run"
    return "failed" if "error" in run else format(run[key], style)


def table(record: dict) -> str:
    """Each study as a Markdown table: milliseconds a step and peak MiB, for each way it compares."""
    lines = []
    for study, ways in STUDIES.items():
        runs = [run for run in record["runs"] if run["study"] == study]
        if not runs:
            continue
        header = " | ".join(f"{way}: ms/step | {way}: peak MiB" for way in ways)
        lines += ["", f"| corpus | words | tokens | framework | {header} |", "|---|---:|---:|---|" + "---:|" * 4]
        by_key = {(run["corpus"], run["framework"], run["way"]): run for run in runs}
        for corpus, framework in dict.fromkeys((run["corpus"], run["framework"]) for run in runs):
            pair = [by_key[corpus, framework, way] for way in ways]
            sized = next((run for run in pair if "vocab_size" in run), {})
            words, tokens = (f"{sized[k]:,}" if k in sized else "" for k in ("vocab_size", "tokens"))
            cells = " | ".join(f"{_cell(run, 'ms_per_step', '.1f')} | {_cell(run, 'peak_mib', ',.0f')}" for run in pair)
            lines.append(f"| {corpus} | {words} | {tokens} | {framework} | {cells} |")
    refusals = {run["refused"] for run in record["runs"] if "refused" in run}
    lines += ["", *(f"Refused: {message}" for message in sorted(refusals))] if refusals else []
    return "\n".join(lines).strip()


def figure(record: dict, path: Path) -> None:
    """Milliseconds a step against the vocabulary, and peak memory against the corpus's tokens, log-log."""
    import matplotlib.pyplot as plt

    from backends.display.plotting import save_figure

    fig, (by_vocab, by_corpus) = plt.subplots(1, 2, figsize=(12, 4.5))
    frameworks = list(dict.fromkeys(run["framework"] for run in record["runs"]))
    colors = dict(zip(frameworks, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    panels = {"vocabulary": (by_vocab, "vocab_size", "ms_per_step"), "corpus": (by_corpus, "tokens", "peak_mib")}
    for study, (ax, x, y) in panels.items():
        for framework in frameworks:
            for way, style in zip(STUDIES[study], ("-", "--")):
                runs = sorted(
                    (
                        r
                        for r in record["runs"]
                        if (r["study"], r["framework"], r["way"]) == (study, framework, way) and x in r
                    ),
                    key=lambda r: r[x],
                )
                if runs:
                    ax.plot([r[x] for r in runs], [r[y] for r in runs], style, marker="o", color=colors[framework],
                            label=f"{framework}, {way}")  # fmt: skip
        ax.set(xscale="log", yscale="log")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, ncol=2)
    by_vocab.set(xlabel="vocabulary (words)", ylabel="milliseconds a step (512 centers)",
                 title="Time per step: Adam (solid), lazy Adam (dashed)")  # fmt: skip
    by_corpus.set(xlabel="corpus (tokens)", ylabel="peak memory (MiB), reading included",
                  title="Peak memory: the chapter's way (solid), update time + lazy (dashed)")  # fmt: skip
    save_figure(fig, path)
    plt.close(fig)


def _numbers(text: str, option: str) -> list[int]:
    try:
        return [int(value) for value in text.split(",") if value]
    except ValueError:
        raise W2VError(f"{option} {text} is not a comma-separated list of whole numbers.") from None


def build_parser() -> argparse.ArgumentParser:
    from backends.cli.main import Parser, add_frameworks_option, add_output_options

    parser = Parser(prog="tools/scaling.py", description=__doc__.splitlines()[0])
    add_frameworks_option(parser)
    parser.add_argument("--vocab", default="20000,50000,100000", help="the vocabulary study's Zipf vocabularies")
    parser.add_argument("--tokens", type=int, default=2_000_000, help="the vocabulary study's corpus tokens")
    parser.add_argument("--corpus-tokens", default="1000000,10000000", help="the corpus study's sizes ('' for none)")
    parser.add_argument("--steps", type=int, default=300, help="training steps timed per measurement")
    add_output_options(parser, "print the record as one JSON object")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["task"]:
        print(json.dumps(task(json.loads(argv[1]))))
        return 0
    from backends.cli.main import guarded

    def command() -> None:
        args = build_parser().parse_args(argv)
        vocabularies, sizes = _numbers(args.vocab, "--vocab"), _numbers(args.corpus_tokens, "--corpus-tokens")
        writable_folder(args.out)
        record = scaling(
            args.frameworks,
            vocabularies,
            args.tokens,
            sizes,
            args.steps,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
        write_json(args.out / "scaling.json", record)
        figure(record, args.out / "scaling.png")
        print(to_json(record) if args.json else table(record) + f"\n\nwrote {args.out / 'scaling.json'} and .png")

    return guarded(command)


if __name__ == "__main__":
    sys.exit(main())
