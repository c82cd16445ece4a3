"""`make bench`: our pipeline and trainers against the book's own code and gensim; writes results/bench.json.

    python tools/bench.py [--frameworks torch,jax] [--steps 1000] [--repeats 1] [--corpus-tokens N]
                          [--out results] [--json]

A maintainers' tool, not part of the package readers install: the book's loop it times lives here alone.
Everything is measured in one run on one machine, each measurement in a fresh process of its own
(``python tools/bench.py task TASK``, or ``python -m backends train`` for a framework), so that frameworks never
share a process (TensorFlow before MXNet segfaults), imports and caches of one measurement never warm up
another, and peak memory is per task. Ratios between measurements taken this way are what the README reports,
not absolute times. It runs with the package of the Python it is given (``make bench``: this environment's).

On a shared machine one measurement can be a third slower than the next for reasons outside it. With
``repeats`` the whole set of pipeline and training measurements is taken that many times, in rounds (the
book, then each framework, then again), and each figure is the median of its rounds, with the range kept.

The book's side uses the pinned ``d2l`` package: ``d2l.load_data_ptb(512, 5, 5)`` and its DataLoader,
given the shipped zip where it looks for it (``../data/ptb.zip`` from its working folder) so nothing
downloads, and the chapter's PyTorch training step, timed honestly: center words per second over the
whole loop, the loop's own per-step host synchronisation (reading the loss) included.

A mistake in the options is one paragraph and exit code 2, as with ``python -m backends``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from backends.common.errors import W2VError
from backends.common.files import to_json, writable_folder, write_json
from backends.common.frameworks import REGISTRY
from backends.common.resources import check_memory
from backends.common.settings import DEFAULTS, Settings
from backends.experiments.isolated import NOT_INSTALLED, check_frameworks, run_json, train_isolated
from backends.pipeline.corpus import PTB_ZIP, corpus_from_text
from backends.pipeline.dataset import load_data, make_dataset
from backends.pipeline.synthetic import synthetic_corpus
from backends.training.baseline import train_gensim
from backends.training.history import package_versions

BOOK_BATCH, BOOK_WINDOW, BOOK_NOISE = DEFAULTS.batch_size, DEFAULTS.max_window, DEFAULTS.num_noise  # the book's
# The versions recorded with the figures: every framework's modules, and what the bench adds.
LIBRARIES = (
    *dict.fromkeys(module for entry in REGISTRY.values() for module in entry.modules),
    "jaxlib",
    "keras",
    "gensim",
    "d2l",
)
# The book's side needs its helper package, and gensim is an optional extra: missing, they are reported.
PEERS = {
    "book": (
        "d2l",
        "d2l 1.0.3 is not installed: the book's code is measured in the book environment (`make bench PROFILE=book`)",
    ),
    "gensim": ("gensim", 'gensim is not installed: `pip install -e ".[gensim]"`'),
}


# -- tasks, each run in its own process --------------------------------------------------------------


def task_pipeline() -> dict:
    """Our pipeline: one full build (reading the zip included), and one pass over all batches."""
    start = time.perf_counter()
    data = load_data()
    build = time.perf_counter() - start
    start = time.perf_counter()
    centers = sum(batch.size for batch in data.batches(BOOK_BATCH))
    return {"build_seconds": build, "pass_seconds": time.perf_counter() - start, "centers": centers}


def _import_d2l_torch():
    """d2l's PyTorch module. Beside the CPU torch wheel torchvision's compiled ops are missing and its
    import fails on 'torchvision::nms does not exist'; declaring those two operators first fixes it
    (d2l never calls them)."""
    import torch

    library = torch.library.Library("torchvision", "DEF")
    for op in ("nms", "qnms"):
        library.define(f"{op}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    from d2l import torch as d2l

    return d2l, library


def _book_data(folder: Path):
    """``d2l.load_data_ptb`` run from ``folder/work``, with the shipped zip where d2l looks for it."""
    d2l, _ = _import_d2l_torch()
    (folder / "data").mkdir(parents=True, exist_ok=True)
    (folder / "work").mkdir(exist_ok=True)
    shutil.copy(PTB_ZIP, folder / "data" / "ptb.zip")
    os.chdir(folder / "work")
    start = time.perf_counter()
    data_iter, vocab = d2l.load_data_ptb(BOOK_BATCH, BOOK_WINDOW, BOOK_NOISE)
    return data_iter, vocab, time.perf_counter() - start


def task_book_pipeline() -> dict:
    """The book's pipeline: ``load_data_ptb`` and one full pass over its DataLoader."""
    with tempfile.TemporaryDirectory(prefix="w2v-book-") as folder:
        data_iter, vocab, build = _book_data(Path(folder))
        start = time.perf_counter()
        centers = sum(int(batch[0].shape[0]) for batch in data_iter)
        return {
            "build_seconds": build,
            "pass_seconds": time.perf_counter() - start,
            "centers": centers,
            "vocab_size": len(vocab),
        }


def task_book_train(steps: int) -> dict:
    """The chapter's PyTorch loop on the book's pipeline: ``steps`` steps after one warm-up step."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")  # the book's try_gpu()
    with tempfile.TemporaryDirectory(prefix="w2v-book-") as folder:
        data_iter, vocab, _ = _book_data(Path(folder))
        net = nn.Sequential(nn.Embedding(len(vocab), 100), nn.Embedding(len(vocab), 100))
        for table in net:
            nn.init.xavier_uniform_(table.weight)
        net = net.to(device)
        optimizer = torch.optim.Adam(net.parameters(), lr=0.002)
        timed_steps, centers, loss_sum, start, cpu = -1, 0, 0.0, None, None
        while timed_steps < steps:
            for batch in data_iter:
                center, contexts_negatives, mask, label = (tensor.to(device) for tensor in batch)
                optimizer.zero_grad()
                scores = torch.bmm(net[0](center), net[1](contexts_negatives).permute(0, 2, 1))
                mask, label = mask.float(), label.float()
                per_entry = F.binary_cross_entropy_with_logits(
                    scores.reshape(label.shape), label, weight=mask, reduction="none"
                )
                loss = per_entry.mean(dim=1) / mask.sum(dim=1) * mask.shape[1]
                loss.sum().backward()
                optimizer.step()
                loss_sum += loss.sum().item()  # the chapter accumulates the loss on the host every step
                timed_steps += 1
                if timed_steps == 0:
                    start, cpu = time.perf_counter(), time.process_time()  # after the warm-up step
                else:
                    centers += int(center.shape[0])
                if timed_steps == steps:
                    break
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {
        "centers_per_sec": centers / seconds,
        "cores_busy": cpu / seconds,
        "steps": steps,
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
    }


def task_gensim(workers: int) -> dict:
    """gensim's Word2Vec, the chapter's settings, 5 epochs on our subsampled PTB."""
    history = train_gensim(load_data(), epochs=5, workers=workers)
    return {"centers_per_sec": history.centers_per_sec, "seconds": history.seconds, "workers": workers}


# The Zipf task's peak, a token: its text, the corpus and the draw (docs/performance.md: 1,480 MiB for 10 million).
ZIPF_BYTES_PER_TOKEN = 160


def task_zipf(tokens: int) -> dict:
    """Our pipeline on a synthetic corpus: time and peak memory of the whole build from text."""
    import resource

    text = synthetic_corpus(tokens)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()
    data = make_dataset(corpus_from_text(text))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "tokens": tokens,
        "build_seconds": seconds,
        "centers": data.num_centers,
        "peak_mib": peak / 1024,
        "peak_mib_over_text": (peak - before) / 1024,
    }


TASKS: dict[str, Callable[..., dict]] = {
    "pipeline": task_pipeline,
    "book-pipeline": task_book_pipeline,
    "book-train": task_book_train,
    "gensim": task_gensim,
    "zipf": task_zipf,
}


def run_task(name: str, *args) -> dict:
    """Run one task in a fresh process (``python tools/bench.py task NAME ARGS``) and return its JSON result, or
    {"error": ...} if it failed."""
    return run_json([sys.executable, str(Path(__file__).resolve()), "task", name, *map(str, args)])


# -- the whole benchmark -----------------------------------------------------------------------------


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": package_versions(LIBRARIES),
    }


def median_of_rounds(rounds: list[dict], keys: Sequence[str]) -> dict:
    """One measurement's rounds as one entry: the median of each of ``keys`` with its range under
    ``<key>_range`` and the number of rounds under ``rounds``; the first error instead, if any round failed
    (or the reason it was not measured)."""
    failed = [entry for entry in rounds if "error" in entry or "not_installed" in entry]
    if failed:
        return failed[0]
    merged = {**rounds[-1], "rounds": len(rounds)}
    for key in keys:
        values = [entry[key] for entry in rounds]
        merged[key], merged[f"{key}_range"] = statistics.median(values), [min(values), max(values)]
    return merged


def peer_missing(peer: str) -> dict | None:
    """``{"not_installed": why}`` when the book's code or gensim cannot be measured here, else None."""
    module, why = PEERS[peer]
    return None if importlib.util.find_spec(module) is not None else {"not_installed": why}


def benchmark(
    frameworks: Sequence[str] | None, steps: int, corpus_tokens: int | None, repeats: int = 1, progress=print
) -> dict:
    """Every measurement, each in its own process, ``repeats`` rounds of them; returns the record written
    to bench.json. A framework, the book's code or gensim that is not installed is recorded as such."""
    frameworks = check_frameworks(frameworks)
    if steps < 10:
        raise W2VError(f"steps {steps} is out of range: time at least 10 steps.")
    if repeats < 1:
        raise W2VError(f"repeats {repeats} is out of range: it must be at least 1.")
    if corpus_tokens is not None and corpus_tokens < 1000:
        raise W2VError(f"corpus tokens {corpus_tokens} is out of range: time corpora of at least 1000 tokens.")
    if corpus_tokens is not None:
        check_memory(
            corpus_tokens * ZIPF_BYTES_PER_TOKEN,
            f"timing the pipeline on a synthetic Zipf corpus of {corpus_tokens:,} tokens",
            "lower --corpus-tokens (10,000,000 take about 1.5 GiB). Nothing was timed.",
        )
    record: dict = {"machine": machine(), "steps": steps, "repeats": repeats}
    pipeline: dict[str, list[dict]] = {"ours": [], "book": []}
    training: dict[str, list[dict]] = {name: [] for name in ("book", *frameworks)}
    with tempfile.TemporaryDirectory(prefix="w2v-bench-") as folder:
        for round_ in range(1, repeats + 1):
            progress(f"round {round_}/{repeats}: pipeline, ours and the book's ...")
            pipeline["ours"].append(run_task("pipeline"))
            pipeline["book"].append(peer_missing("book") or run_task("book-pipeline"))
            progress(f"round {round_}/{repeats}: training, the book's loop, {steps} steps ...")
            training["book"].append(peer_missing("book") or run_task("book-train", steps))
            for framework in frameworks:
                progress(f"round {round_}/{repeats}: training, {framework}, {steps} steps ...")
                run = train_isolated(framework, Path(folder), Settings(max_steps=steps).argv(), progress=False)
                if run["status"] == "ok":
                    training[framework].append(
                        {key: run[key] for key in ("centers_per_sec", "cores_busy", "device", "steps")}
                    )
                else:
                    training[framework].append(
                        {"not_installed" if run["status"] == NOT_INSTALLED else "error": run["error"]}
                    )
    record["pipeline"] = {
        name: median_of_rounds(rounds, ("build_seconds", "pass_seconds")) for name, rounds in pipeline.items()
    }
    record["training"] = {
        name: median_of_rounds(rounds, ("centers_per_sec", "cores_busy")) for name, rounds in training.items()
    }
    progress("gensim, 5 epochs ...")
    record["gensim"] = peer_missing("gensim") or run_task("gensim", 2)
    if corpus_tokens:
        sizes = sorted({max(corpus_tokens // 10, 1000), max(corpus_tokens // 3, 1000), corpus_tokens})
        record["zipf"] = []
        for tokens in sizes:
            progress(f"pipeline on a synthetic Zipf corpus of {tokens:,} tokens ...")
            record["zipf"].append(run_task("zipf", tokens))
    record["ratios"] = ratios(record)
    return record


def ratios(record: dict) -> dict:
    """The headline figures: how many times faster than the book's code (and gensim) each part is."""
    ours, book = record["pipeline"]["ours"], record["pipeline"]["book"]
    result = {}
    if unmeasured(ours) is None and unmeasured(book) is None:
        result["pipeline_build"] = book["build_seconds"] / ours["build_seconds"]
        result["pipeline_pass"] = book["pass_seconds"] / ours["pass_seconds"]
    book_rate = record["training"]["book"].get("centers_per_sec")
    gensim_rate = record["gensim"].get("centers_per_sec")
    if book_rate and gensim_rate:
        result["gensim_vs_book"] = gensim_rate / book_rate
    for name, run in record["training"].items():
        if name != "book" and "centers_per_sec" in run:
            if book_rate:
                result[f"{name}_vs_book"] = run["centers_per_sec"] / book_rate
            if gensim_rate:
                result[f"{name}_vs_gensim"] = run["centers_per_sec"] / gensim_rate
    return result


def unmeasured(entry: dict) -> str | None:
    """Why a measurement has no figures ("failed: ..." or "not installed: ..."), or None when it has them."""
    for key, said in (("error", "failed"), ("not_installed", "not installed")):
        if key in entry:
            return f"{said}: {entry[key]}"
    return None


def spread(entry: dict, key: str = "centers_per_sec", style: str = ",.0f") -> str:
    """`` (a–b)``, the range of ``entry[key]`` over several rounds, formatted with ``style``; else nothing."""
    low, high = entry.get(f"{key}_range", (None, None))
    return f" ({low:{style}}–{high:{style}})" if entry.get("rounds", 1) > 1 else ""


def rate(entry: dict) -> str:
    """A training rate for the table: centers per second, its range, and how many cores were at work."""
    cores = f", {entry['cores_busy']:.1f} cores busy" if "cores_busy" in entry else ""
    return f"{entry.get('centers_per_sec', float('nan')):,.0f} centers/s{spread(entry)}{cores}"


def table(record: dict) -> str:
    """The record as a Markdown table, for the terminal and the README; training rates are medians over
    the rounds, with their range when there were several."""
    ours, book = record["pipeline"]["ours"], record["pipeline"]["book"]
    rows = ["| measurement | ours | book (d2l 1.0.3) | ratio |", "|---|---:|---:|---:|"]

    def seconds(entry, key):
        return unmeasured(entry) or f"{entry[key]:.2f} s{spread(entry, key, '.2f')}"

    rows.append(
        f"| PTB pipeline build | {seconds(ours, 'build_seconds')} | {seconds(book, 'build_seconds')} | "
        f"{record['ratios'].get('pipeline_build', float('nan')):.1f}× |"
    )
    rows.append(
        f"| one pass over all batches | {seconds(ours, 'pass_seconds')} | {seconds(book, 'pass_seconds')} | "
        f"{record['ratios'].get('pipeline_pass', float('nan')):.1f}× |"
    )
    book_loop = record["training"]["book"]
    rows.append(f"| training, the book's loop (torch) | | {unmeasured(book_loop) or rate(book_loop)} | 1.0× |")
    for name, run in record["training"].items():
        if name == "book":
            continue
        if unmeasured(run):
            rows.append(f"| training, {name} | {unmeasured(run)} | | |")
        else:
            rows.append(
                f"| training, {name} ({run['device']}) | {rate(run)} | | "
                f"{record['ratios'].get(f'{name}_vs_book', float('nan')):.1f}× |"
            )
    gensim = record["gensim"]
    if unmeasured(gensim):
        rows.append(f"| gensim, 2 workers (peer) | {unmeasured(gensim)} | | |")
    else:
        rows.append(
            f"| gensim, 2 workers (peer) | {gensim['centers_per_sec']:,.0f} centers/s | | "
            f"{record['ratios'].get('gensim_vs_book', float('nan')):.1f}× |"
        )
    for run in record.get("zipf", []):
        if "error" in run:
            rows.append(f"| synthetic Zipf corpus | failed: {run['error']} | | |")
        else:
            per_center = run["build_seconds"] / run["centers"] * 1e6
            rows.append(
                f"| pipeline, Zipf corpus of {run['tokens']:,} tokens ({run['centers']:,} centers) | "
                f"{run['build_seconds']:.2f} s ({per_center:.2f} µs a center), "
                f"peak {run['peak_mib']:,.0f} MiB | | |"
            )
    return "\n".join(rows)


def build_parser() -> argparse.ArgumentParser:
    """The options of ``make bench``, as ``python -m backends bench`` had them."""
    from backends.cli.main import Parser, add_frameworks_option, add_output_options  # not in a task's process

    parser = Parser(prog="tools/bench.py", description=__doc__.splitlines()[0])
    add_frameworks_option(parser)
    parser.add_argument("--steps", type=int, default=1000, help="training steps timed per framework")
    parser.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="rounds of every pipeline and training measurement; the medians are reported",
    )
    parser.add_argument(
        "--corpus-tokens",
        type=int,
        default=None,
        help="also time the pipeline on synthetic Zipf corpora of up to this many tokens",
    )
    add_output_options(parser, "print the record as one JSON object")
    return parser


def bench(argv: list[str] | None) -> None:
    """Every measurement, written to OUT/bench.json, and printed as the table (or, with --json, the record)."""
    args = build_parser().parse_args(argv)
    writable_folder(args.out)
    record = benchmark(
        args.frameworks,
        args.steps,
        args.corpus_tokens,
        args.repeats,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    write_json(args.out / "bench.json", record)
    print(to_json(record) if args.json else table(record) + f"\n\nwrote {args.out / 'bench.json'}")


def main(argv: list[str] | None = None) -> int:
    """The benchmark (exit code 0; 2 for a mistake in its options), or with ``task NAME [ARG]`` one task, run
    here, its JSON result printed (what :func:`run_task` starts)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["task"]:
        name, args = argv[1], [int(a) for a in argv[2:]]
        print(json.dumps(TASKS[name](*args)))
        return 0
    from backends.cli.main import guarded  # a mistake as one paragraph, Ctrl-C and SIGTERM as the commands have them

    return guarded(lambda: bench(argv))


if __name__ == "__main__":
    sys.exit(main())
