"""The benchmark's bookkeeping (tools/bench.py, `make bench`): medians over rounds, ratios, the table, and our
pipeline task; its options refused as the command line refuses them.

The timed tasks themselves (the book's code, every framework) run under ``make bench``, not here: speed
goals are benchmarks, never timed unit tests.
"""

import numpy as np
import pytest

from backends.common.errors import W2VError
from helpers import ROOT, tool

bench = tool("bench")


def test_median_of_rounds_keeps_the_median_and_the_range():
    rounds = [
        {"centers_per_sec": 30.0, "device": "cpu"},
        {"centers_per_sec": 10.0, "device": "cpu"},
        {"centers_per_sec": 20.0, "device": "cpu"},
    ]
    merged = bench.median_of_rounds(rounds, ("centers_per_sec",))
    assert merged == {"centers_per_sec": 20.0, "centers_per_sec_range": [10.0, 30.0], "device": "cpu", "rounds": 3}


def test_a_failed_round_fails_the_measurement():
    rounds = [{"centers_per_sec": 30.0}, {"error": "ModuleNotFoundError: No module named 'mxnet'"}]
    assert bench.median_of_rounds(rounds, ("centers_per_sec",)) == {"error": rounds[1]["error"]}


def record() -> dict:
    """A bench.json record as ``benchmark`` writes it, with made-up round numbers."""
    training = {
        "book": {"centers_per_sec": 10_000.0, "rounds": 1},
        "torch": bench.median_of_rounds(
            [
                {"centers_per_sec": r, "cores_busy": c, "device": "cpu", "steps": 500}
                for r, c in ((40_000.0, 1.9), (50_000.0, 1.7), (45_000.0, 1.8))
            ],
            ("centers_per_sec", "cores_busy"),
        ),
        "mxnet": {"error": "the process died with signal 11."},
    }
    ours = bench.median_of_rounds(
        [{"build_seconds": b, "pass_seconds": p} for b, p in ((0.5, 0.1), (0.4, 0.12), (0.7, 0.1))],
        ("build_seconds", "pass_seconds"),
    )
    result = {
        "pipeline": {"ours": ours, "book": {"build_seconds": 6.0, "pass_seconds": 8.0}},
        "training": training,
        "gensim": {"centers_per_sec": 500_000.0},
    }
    return {**result, "ratios": bench.ratios(result)}


def test_ratios_are_ours_over_the_books():
    ratios = record()["ratios"]
    assert ratios["pipeline_build"] == pytest.approx(12.0)
    assert ratios["pipeline_pass"] == pytest.approx(80.0)
    assert ratios["torch_vs_book"] == pytest.approx(4.5)
    assert ratios["torch_vs_gensim"] == pytest.approx(0.09)
    assert ratios["gensim_vs_book"] == pytest.approx(50.0)
    assert "mxnet_vs_book" not in ratios


def test_the_table_shows_medians_ranges_and_failures():
    text = bench.table(record())
    assert "| PTB pipeline build | 0.50 s (0.40–0.70) | 6.00 s | 12.0× |" in text
    assert "| one pass over all batches | 0.10 s (0.10–0.12) | 8.00 s | 80.0× |" in text
    assert "| training, torch (cpu) | 45,000 centers/s (40,000–50,000), 1.8 cores busy | | 4.5× |" in text
    assert "| training, the book's loop (torch) | | 10,000 centers/s | 1.0× |" in text
    assert "| training, mxnet | failed: the process died with signal 11. | | |" in text
    assert "| gensim, 2 workers (peer) | 500,000 centers/s | | 50.0× |" in text


def test_the_table_says_what_is_not_installed():
    """Today's environment has no MXNet and no d2l: their rows say so, and no ratio is made up."""
    result = record()
    result["training"]["mxnet"] = {"not_installed": "Install it with `make venv PROFILE=book`."}
    result["pipeline"]["book"] = result["training"]["book"] = {"not_installed": bench.PEERS["book"][1]}
    result["ratios"] = bench.ratios(result)
    text = bench.table(result)
    assert "| training, mxnet | not installed: Install it with `make venv PROFILE=book`. | | |" in text
    assert "| PTB pipeline build | 0.50 s (0.40–0.70) | not installed: d2l 1.0.3 is not installed" in text
    assert "| training, the book's loop (torch) | | not installed: d2l 1.0.3" in text
    assert set(result["ratios"]) == {"torch_vs_gensim"}


def test_our_pipeline_task_builds_and_serves_every_center():
    result = bench.task_pipeline()
    assert result["centers"] == 342_957  # seed 0: every center of the draw, served once in one pass
    assert 0 < result["build_seconds"] < 60 and 0 < result["pass_seconds"] < 60


def test_the_synthetic_corpus_has_the_asked_size_and_zipf_shape():
    words = bench.synthetic_corpus(200_000, vocab_size=1_000).split()
    assert len(words) == 200_000
    _, counts = np.unique(words, return_counts=True)
    shares = np.sort(counts)[::-1] / len(words)
    harmonic = np.sum(1 / np.arange(1, 1_001))
    assert shares[0] == pytest.approx(1 / harmonic, rel=0.05)  # P(rank 1) = 1 / H(1000)
    assert shares[1] == pytest.approx(1 / (2 * harmonic), rel=0.05)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"steps": 5}, "steps 5 is out of range: time at least 10 steps"),
        ({"repeats": 0}, "repeats 0 is out of range: it must be at least 1"),
        ({"corpus_tokens": -1}, "corpus tokens -1 is out of range: time corpora of at least 1000 tokens"),
    ],
)
def test_bad_bench_settings_are_refused_before_anything_runs(options, message):
    settings = {"frameworks": ["torch"], "steps": 500, "corpus_tokens": None, "repeats": 1, **options}
    with pytest.raises(W2VError, match=message):
        bench.benchmark(**settings, progress=lambda line: pytest.fail(f"it started: {line}"))


def test_an_output_folder_that_is_a_file_is_one_paragraph_before_anything_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "run_task", lambda *args: pytest.fail("a task ran before the check"))
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    assert bench.main(["--out", str(blocker / "results")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1, err
    assert f"({blocker} is a file, not a folder)" in err and blocker.read_text() == "mine"


def test_a_mistake_in_the_options_is_one_paragraph(capsys):
    assert bench.main(["--steps", "many"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1, err
    assert "argument --steps: invalid int value: 'many' (`tools/bench.py --help` lists the options)." in err


@pytest.fixture
def scaling(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT / "tools"))  # the tool imports tools/bench.py and memory.py, beside it
    return tool("scaling")


def test_the_scaling_table_pairs_adam_and_lazy_adam_and_names_failures(scaling):
    def run(corpus, optimizer, **result):
        return {"corpus": corpus, "framework": "torch", "optimizer": optimizer, **result}

    measured = {"vocab_size": 6_719, "ms_per_step": 9.04, "peak_mib": 610.4}
    record = {
        "runs": [
            run("PTB", "adam", **measured),
            run("PTB", "lazy_adam", **{**measured, "ms_per_step": 12.5}),
            run("Zipf, 100,000 words", "adam", **{**measured, "vocab_size": 94_035, "ms_per_step": 48.4}),
            run("Zipf, 100,000 words", "lazy_adam", error="MemoryError"),
        ]
    }
    assert scaling.table(record).splitlines()[2:] == [
        "| PTB | 6,719 | torch | 9.0 | 12.5 | 610 | 610 |",
        "| Zipf, 100,000 words | | torch | failed: MemoryError | | | |",
    ]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--vocab", "20k"], "--vocab 20k is not a comma-separated list of whole numbers."),
        (["--steps", "5"], "time at least 20 steps, on corpora of at least 100,000 tokens and 1,000 words."),
    ],
)
def test_scaling_refuses_bad_options_before_any_work(capsys, tmp_path, monkeypatch, scaling, argv, message):
    monkeypatch.setattr(scaling, "run_task", lambda spec: pytest.fail("a measurement ran before the check"))
    monkeypatch.setattr(scaling, "write_zipf", lambda *args: pytest.fail("a corpus was written before the check"))
    assert scaling.main([*argv, "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err == f"error: {message}\n"
