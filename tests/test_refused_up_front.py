"""The second fault-finding round: inputs and settings that ended in a traceback, a hang or a wrong message.

A loop of symbolic links, a baseline scored on no WordSim-353 pair, gensim asked for a million threads or a
billion-long vector, a benchmark's corpus too large to build, a zip that unpacks to gigabytes, a process under
``ulimit -v``, hand-edited histories and embeddings headers: each is one paragraph (exit code 2) before the
work, or the command's ordinary output.
"""

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import warnings
import zipfile

import pytest

from backends.cli.main import OUT_OF_MEMORY, main
from backends.common import resources
from backends.training.baseline import MAX_WORKERS
from helpers import ROOT, tool, user_error


def one_paragraph(err: str) -> str:
    """The error a command printed, checked to be one paragraph from the project, not a traceback."""
    assert err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1, err
    return err


def words_file(path, lines: int = 400, vocab: int = 60, seed: int = 0):
    """``lines`` lines of 12 random words from ``vocab``: a corpus with no WordSim-353 word in it."""
    rng = random.Random(seed)
    words = [f"w{i}" for i in range(vocab)]
    path.write_text("".join(" ".join(rng.choice(words) for _ in range(12)) + "\n" for _ in range(lines)))
    return path


@pytest.fixture
def loop(tmp_path):
    """Two symbolic links that point at each other."""
    (tmp_path / "loop1").symlink_to(tmp_path / "loop2")
    (tmp_path / "loop2").symlink_to(tmp_path / "loop1")
    return tmp_path / "loop1"


LOOP = "is a loop of symbolic links (following them leads back round to a link, never to a file)"


@pytest.mark.parametrize(
    "command", [["train", "--framework", "numpy", "--out"], ["stats", "--seed"], ["baseline", "gensim", "--out"]]
)
def test_a_loop_of_links_as_data_is_named_as_such(capsys, tmp_path, loop, command):
    value = "0" if command[-1] == "--seed" else tmp_path / "out"
    err = one_paragraph(user_error(capsys, *command, value, "--data", loop))
    assert f"the data file {loop} {LOOP}; point the link at the real file" in err


@pytest.mark.parametrize("command", [["similar"], ["evaluate"]])
def test_a_loop_of_links_as_embeddings_is_named_as_such_not_as_missing(capsys, loop, command):
    argv = [*command, loop] + (["chip"] if command == ["similar"] else [])
    err = one_paragraph(user_error(capsys, *argv))
    assert f"the embeddings file {loop} {LOOP}" in err and "does not exist" not in err


def test_diff_names_a_folder_that_is_missing_or_a_file(capsys, tmp_path):
    a_file = words_file(tmp_path / "a.txt", lines=2)
    err = one_paragraph(user_error(capsys, "diff", tmp_path / "missing", tmp_path))
    assert f"the results folder {tmp_path / 'missing'} does not exist. Give diff two folders" in err
    err = one_paragraph(user_error(capsys, "diff", tmp_path, a_file))
    assert f"the results folder {a_file} is a file, not a folder." in err


def test_a_baseline_scored_on_no_wordsim_pair_shows_a_dash(capsys, tmp_path):
    pytest.importorskip("gensim")
    corpus = words_file(tmp_path / "words.txt")
    assert main(["baseline", "gensim", "--data", str(corpus), "--min-count", "1", "--out", str(tmp_path)]) == 0
    said = capsys.readouterr().out
    assert ", WordSim-353 Spearman –; wrote" in said and (tmp_path / "gensim" / "embeddings.txt").is_file()


@pytest.mark.parametrize("workers", ["0", "1000000"])
def test_gensims_workers_are_refused_out_of_range_before_any_work(capsys, tmp_path, workers):
    err = one_paragraph(user_error(capsys, "baseline", "gensim", "--workers", workers, "--out", tmp_path / "out"))
    assert f"--workers {workers} is out of range: give 1 to {MAX_WORKERS} (four times this machine's" in err
    assert not (tmp_path / "out").exists()


def test_a_baseline_that_would_not_fit_in_memory_is_refused_with_the_estimate(capsys, tmp_path):
    pytest.importorskip("gensim")
    corpus = words_file(tmp_path / "words.txt")
    err = one_paragraph(
        user_error(
            capsys,
            "baseline",
            "gensim",
            "--data",
            corpus,
            "--min-count",
            "1",
            "--embed-size",
            "1000000000",
            "--out",
            tmp_path / "out",
        )
    )
    assert (
        "gensim's training with embedding size 1000000000 and 2 workers would need about 681.7 GiB of memory, "
        "more than the"
    ) in err and "lower the embedding size (--embed-size) or the number of workers" in err
    assert not (tmp_path / "out" / "gensim").exists()


def test_a_benchmark_corpus_too_large_is_refused_before_anything_is_timed(capsys, tmp_path, monkeypatch):
    bench = tool("bench")  # tools/bench.py, `make bench`
    monkeypatch.setattr(bench, "run_task", lambda *args: pytest.fail("a task ran before the check"))
    assert (
        bench.main(
            ["--frameworks", "numpy", "--steps", "10", "--corpus-tokens", "99999999999999", "--out", str(tmp_path)]
        )
        == 2
    )
    err = one_paragraph(capsys.readouterr().err)
    assert (
        "timing the pipeline on a synthetic Zipf corpus of 99,999,999,999,999 tokens would need about "
        "14,551.9 TiB of memory, more than the"
    ) in err and "lower --corpus-tokens" in err
    assert not (tmp_path / "bench.json").exists()


@pytest.fixture
def one_gib(monkeypatch):
    """A machine with 1 GiB of memory available."""
    monkeypatch.setattr(resources, "available_bytes", lambda: 1 << 30)


def test_a_zip_that_unpacks_to_more_than_fits_is_refused_before_it_is_read(capsys, tmp_path, one_gib, monkeypatch):
    bomb = tmp_path / "big.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.txt", "w " * 15_000_000)  # 30 MB of text in a zip of 30 KB
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda *args: pytest.fail("the member was read before the check"))
    err = one_paragraph(user_error(capsys, "stats", "--data", bomb, "--min-count", "1"))
    assert (
        f"reading a.txt in the data file {bomb} (28.6 MiB of text, about 15,000,000 words) and drawing its "
        f"examples would need about 4.7 GiB of memory, more than the 1.0 GiB available here; give a smaller "
        f"corpus (its first lines, say: `head -n N FILE > NEW`), or lower the max window (--max-window) or the "
        f"number of noise words (--num-noise), or sample at update time (--sample-each-batch), which draws no "
        f"epoch whole."
    ) in err


def test_a_text_file_larger_than_fits_is_refused_before_it_is_read(capsys, tmp_path, one_gib, monkeypatch):
    text = words_file(tmp_path / "words.txt", lines=200_000)  # 9.2 MB, 2.4 million words
    monkeypatch.setattr(type(text), "read_bytes", lambda self: pytest.fail("the text was read before the check"))
    err = one_paragraph(user_error(capsys, "stats", "--data", text, "--min-count", "1", "--max-window", "20"))
    assert (
        f"reading the data file {text} (8.8 MiB of text, about 2,400,048 words) and drawing its "
        f"examples would need about 2.8 GiB of memory"
    ) in err
    assert "lower the max window (--max-window) or the number of noise words (--num-noise)" in err


def limited(code: str, limit: int = 3 << 30) -> subprocess.CompletedProcess:
    """``code`` run by Python in a process whose address space is limited to ``limit`` bytes (`ulimit -v`)."""

    def set_limit():
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        preexec_fn=set_limit,
        env={**os.environ, "OPENBLAS_NUM_THREADS": "1"},
    )


TRAIN = (
    "['train', '--framework', 'numpy', '--data', {data!r}, '--min-count', '1', '--max-steps', '2', "
    "'--embed-size', {size!r}, '--out', {out!r}]"
)


def test_the_memory_estimate_respects_the_process_address_space_limit(tmp_path):
    argv = TRAIN.format(data=str(words_file(tmp_path / "words.txt")), size="40000", out=str(tmp_path / "out"))
    done = limited(f"import sys; from backends.cli.main import OUT_OF_MEMORY, main; sys.exit(main({argv}))")
    assert done.returncode == 2, done.stderr
    err = one_paragraph(done.stderr)
    assert "training with embedding size 40000 and batch size 512 would need about 13.9 GiB of memory" in err
    assert "GiB available here; lower the embedding size" in err and not (tmp_path / "out" / "numpy").exists()


def test_running_out_of_memory_regardless_is_one_paragraph(tmp_path):
    argv = TRAIN.format(data=str(words_file(tmp_path / "words.txt")), size="10000000", out=str(tmp_path / "out"))
    done = limited(
        "import sys; from backends.common import resources; resources.available_bytes = lambda: None; "
        f"from backends.cli.main import OUT_OF_MEMORY, main; sys.exit(main({argv}))"
    )  # as if no estimate foresaw it
    assert done.returncode == 2, done.stderr
    assert one_paragraph(done.stderr) == f"error: {OUT_OF_MEMORY}\n"
    assert "the embedding size (--embed-size), the batch size (--batch-size)" in OUT_OF_MEMORY


@pytest.fixture(scope="module")
def numpy_run(tmp_path_factory):
    """A two-step NumPy run on a small corpus: its results folder."""
    out = tmp_path_factory.mktemp("results")
    corpus = words_file(out / "words.txt")
    assert (
        main(
            [
                "train",
                "--framework",
                "numpy",
                "--data",
                str(corpus),
                "--min-count",
                "1",
                "--max-steps",
                "2",
                "--no-progress",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    return out


@pytest.mark.parametrize(
    "name, value, why",
    [
        ("epochs", "x", 'a whole number is expected, not "x"'),
        ("epochs", None, "a whole number is expected, not null"),
        ("lr", "fast", 'a number is expected, not "fast"'),
        ("seed", [1], "a whole number is expected, not [1]"),
        ("subsample_t", -1, "subsampling threshold -1 is out of range: it must be above 0"),
    ],
)
def test_a_hand_edited_setting_in_a_history_names_the_file_and_the_field(capsys, tmp_path, numpy_run, name, value, why):
    out = tmp_path / "results"
    shutil.copytree(numpy_run / "numpy", out / "numpy")
    history = out / "numpy" / "history.json"
    record = json.loads(history.read_text())
    record["settings"][name] = value
    history.write_text(json.dumps(record))
    err = one_paragraph(user_error(capsys, "report", "--out", out))
    assert err == (
        f"error: {history} is damaged: its setting {name} is {json.dumps(value)}, which no run records "
        f"({why}); train that framework again.\n"
    )


@pytest.mark.parametrize("command", [["similar", "FILE", "w1"], ["evaluate", "FILE"]])
def test_an_embeddings_header_of_thousands_of_digits_is_named(capsys, tmp_path, command):
    vectors = tmp_path / "e.txt"
    vectors.write_text("1" * 5001 + " 2\nw1 0.1 0.2\n")
    err = one_paragraph(user_error(capsys, *[vectors if part == "FILE" else part for part in command]))
    assert (
        f"{vectors} line 1 is not a plausible 'COUNT SIZE' header: it holds a number of 5,001 digits "
        f"(111111111111...), more words or numbers than any file holds. Correct"
    ) in err


def test_similar_in_a_vocabulary_of_one_word_says_there_is_no_other(capsys, tmp_path):
    vectors = tmp_path / "e.txt"
    vectors.write_text("1 2\nw1 0.1 0.2\n")
    err = one_paragraph(user_error(capsys, "similar", vectors, "w1"))
    assert err == (
        f"error: {vectors} holds the vector of 'w1' only: there is no other word to be similar to it. "
        f"Give the vectors of a larger vocabulary (train on more text, or with a lower --min-count).\n"
    )


def test_a_huge_subsampling_threshold_keeps_every_word_without_a_warning(capsys, tmp_path):
    corpus = words_file(tmp_path / "words.txt")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow warning would end the command with a traceback
        assert main(["stats", "--data", str(corpus), "--min-count", "1", "--subsample-t", "1e308", "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["tokens"] == stats["subsampled_tokens"] == 4800
