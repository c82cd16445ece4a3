"""`--data` takes the reader's own corpus: a text file, a zip of one text file, or the book's PTB zip.

The kind is told by the file's content, not its name. Everything else (a zip of several files, a binary file, text
in another encoding, an empty text) is refused with one paragraph that says what the file is and what to do, and a
reader's own file is never met with the advice to overwrite it with the book's zip.
"""

import json
import math
import shutil
import zipfile

import numpy as np
import pytest

from backends.common.errors import W2VError
from backends.pipeline import corpus as ptb
from backends.pipeline import load_corpus
from helpers import run, user_error

TINY = "the cat sat on the mat\nthe dog sat\nend of the story\n"  # 13 tokens, 3 lines
# the: 4, sat: 2; cat, on, mat, dog, end, of, story: 1 each. Min count 1 keeps 9 words, min count 2 keeps 2.
EXPECTED_ONLY = "--data expects the book's PTB zip, a UTF-8 text file with one sentence a line"


def refused(path, min_count: int = 1) -> str:
    """The message load_corpus gives for ``path``; never the advice to overwrite a reader's file."""
    with pytest.raises(W2VError) as caught:
        load_corpus(path, min_count=min_count)
    message = str(caught.value)
    assert "copy the book's" not in message and "\n" not in message, message
    return message


def write_zip(path, members: dict) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, text in members.items():
            archive.writestr(name, text)


def random_text(lines: int, words: int, seed: int) -> str:
    """``lines`` sentences of 5 to 14 words drawn uniformly from ``words`` words, by a seeded generator."""
    rng = np.random.default_rng(seed)
    vocabulary = np.array([f"w{i:02d}" for i in range(words)])
    return "".join(" ".join(vocabulary[rng.integers(0, words, rng.integers(5, 15))]) + "\n" for _ in range(lines))


# -- what loads ---------------------------------------------------------------------------------------------------


def test_a_plain_text_file_is_a_corpus(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text(TINY, encoding="utf-8")
    corpus = load_corpus(path, min_count=1)
    assert corpus.num_tokens == 13 and corpus.lengths.tolist() == [6, 3, 4]
    assert corpus.vocab.tokens[:3] == ("<unk>", "the", "sat") and len(corpus.vocab) == 10
    assert corpus.vocab.counts[1:3].tolist() == [4, 2]
    words = np.array(corpus.vocab.tokens, dtype=object)[corpus.ids]
    assert " ".join(words) == " ".join(TINY.split())  # min count 1: every word is its own, none is <unk>
    kept = load_corpus(path, min_count=2)
    assert kept.vocab.tokens == ("<unk>", "the", "sat") and kept.num_tokens == 13
    assert int((kept.ids == 0).sum()) == 7  # the seven words seen once


def test_the_kind_is_told_by_content_not_name(tmp_path):
    """A text file called corpus.dat, a zip called corpus.txt and a UTF-8 byte-order mark all read as meant."""
    text = tmp_path / "corpus.dat"
    text.write_bytes(b"\xef\xbb\xbf" + TINY.encode())
    zipped = tmp_path / "corpus.txt"
    write_zip(zipped, {"inner.txt": TINY})
    for path in (text, zipped):
        corpus = load_corpus(path, min_count=1)
        assert corpus.vocab.tokens[:2] == ("<unk>", "the") and corpus.num_tokens == 13
        assert "\ufeff" not in "".join(corpus.vocab.tokens)


def test_a_zip_of_one_text_file_reads_that_file_whatever_else_the_zipper_added(tmp_path):
    plain = tmp_path / "plain.txt"
    plain.write_text(TINY)
    zipped = tmp_path / "mine.zip"
    write_zip(
        zipped,
        {
            "corpus/": "",
            "corpus/my story.txt": TINY,
            "__MACOSX/corpus/._my story.txt": "\x00\x05",
            ".DS_Store": "\x00\x00",
            "corpus/.hidden": "x y z",
        },
    )
    expected, got = load_corpus(plain, min_count=1), load_corpus(zipped, min_count=1)
    assert got.vocab.tokens == expected.vocab.tokens and got.vocab.counts.tolist() == expected.vocab.counts.tolist()
    assert np.array_equal(got.ids, expected.ids) and np.array_equal(got.lengths, expected.lengths)


def test_the_ptb_loads_by_default_and_from_a_copy_known_by_its_sha1(tmp_path, corpus):
    assert corpus.num_tokens == 887521 and len(corpus.vocab) == 6719  # the chapter's figures
    assert load_corpus(ptb.PTB_ZIP).facts() == corpus.facts()
    copy = tmp_path / "my-ptb.bin"  # the sha1 says what it is, not the name
    shutil.copyfile(ptb.PTB_ZIP, copy)
    assert ptb.read_corpus_text(copy) == ptb.read_ptb_text() and load_corpus(copy).facts() == corpus.facts()


# -- what is refused, and what it is told -------------------------------------------------------------------------


def test_a_zip_of_several_files_names_them_and_the_kinds_expected(tmp_path):
    path = tmp_path / "books.zip"
    write_zip(path, {f"book{i}.txt": "a b c" for i in range(7)})
    message = refused(path)
    assert f"{path} is a zip of 7 files (book0.txt, book1.txt, book2.txt, book3.txt, book4.txt and 2 more)" in message
    assert EXPECTED_ONLY in message and "a zip holding only it" in message


def test_a_zip_with_no_file_in_it_says_what_it_holds(tmp_path):
    path = tmp_path / "hollow.zip"
    write_zip(path, {"folder/": "", ".DS_Store": "\x00"})
    message = refused(path)
    assert f"{path} is a zip with no text file in it: it holds only folder/, .DS_Store" in message
    assert EXPECTED_ONLY in message


def test_a_rezipped_ptb_is_told_apart_from_the_books(tmp_path):
    path = tmp_path / "ptb-again.zip"
    with zipfile.ZipFile(ptb.PTB_ZIP) as book:
        write_zip(path, {name: book.read(name) for name in book.namelist() if not name.endswith("/")})
    message = refused(path, min_count=10)
    assert "holds the PTB's files but is not the book's zip" in message and f"expected {ptb.PTB_SHA1}" in message
    assert "leave --data out" in message and "unzip ptb/ptb.train.txt" in message


def test_text_in_another_encoding_says_where_and_how_to_convert(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("the café is open\nthe end\n".encode("latin1"))
    message = refused(path)
    assert f"{path} is not UTF-8 text: the byte 0xe9 at byte offset 7 (line 1) is not valid UTF-8" in message
    assert f"iconv -f latin1 -t utf-8 {path} > {tmp_path / 'latin-utf8.txt'}" in message

    zipped = tmp_path / "latin.zip"
    write_zip(zipped, {"texts/old.txt": "fine\nna\xefve\n".encode("latin1")})
    message = refused(zipped)
    assert (
        f"texts/old.txt in the data file {zipped} is not UTF-8 text: the byte 0xef at byte offset 7 (line 2)" in message
    )
    assert f"unzip -p {zipped} texts/old.txt | iconv -f latin1 -t utf-8 > {tmp_path / 'old-utf8.txt'}" in message


def test_utf16_text_is_named_as_such(tmp_path):
    path = tmp_path / "wide.txt"
    path.write_text(TINY, encoding="utf-16")  # Python writes the byte-order mark
    message = refused(path)
    assert f"{path} is UTF-16 text (it starts with a UTF-16 byte-order mark), not UTF-8" in message
    assert "iconv -f utf-16 -t utf-8" in message


def test_binary_and_compressed_files_are_named_as_such(tmp_path):
    import gzip

    binary = tmp_path / "vectors.npy"
    np.save(binary, np.arange(10))
    message = refused(binary)
    assert f"{binary} is a binary file, not text: it holds NUL bytes (the first at byte offset" in message
    assert EXPECTED_ONLY in message
    packed = tmp_path / "corpus.txt.gz"
    packed.write_bytes(gzip.compress(TINY.encode()))
    message = refused(packed)
    assert f"{packed} is gzip-compressed, not text. Unpack it first (with gunzip)" in message


def test_a_file_named_zip_that_is_not_one_is_called_corrupt_without_restore_advice(tmp_path):
    path = tmp_path / "ptb.zip"
    path.write_bytes(ptb.PTB_ZIP.read_bytes()[:100_000])  # a truncated download
    message = refused(path)
    assert f"{path} is named like a zip but is not one: it is corrupt or truncated" in message
    assert "git checkout" not in message and "to train on the book's PTB, leave --data out" in message


def test_empty_texts_and_empty_vocabularies_name_the_file(tmp_path):
    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n\t\n")
    assert f"the corpus is empty: the data file {blank} holds no words, only blank lines" in refused(blank)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    assert f"the data file {empty} is empty. {EXPECTED_ONLY}" in refused(empty)
    tiny = tmp_path / "tiny.txt"
    tiny.write_text(TINY)
    message = refused(tiny, min_count=5)
    assert (
        f"min count 5 leaves an empty vocabulary: the most frequent word of the data file {tiny} occurs 4 times"
        in message
        and "Lower the min count (--min-count) to 4 or less" in message
    )


def test_a_missing_file_says_what_data_expects(tmp_path):
    message = refused(tmp_path / "nowhere.txt")
    assert f"{tmp_path / 'nowhere.txt'} does not exist. {EXPECTED_ONLY}" in message


def test_a_damaged_shipped_ptb_keeps_the_restore_advice(tmp_path, monkeypatch):
    damaged = tmp_path / "ptb.zip"
    damaged.write_bytes(ptb.PTB_ZIP.read_bytes()[:100_000])
    monkeypatch.setattr(ptb, "PTB_ZIP", damaged.resolve())
    for path in (None, damaged):
        with pytest.raises(W2VError) as caught:
            load_corpus(path)
        message = str(caught.value)
        assert f"{damaged} is corrupt or not the book's: its sha1 is" in message
        assert (
            "`git checkout -- data/ptb.zip`" in message and f"copy the book's ptb.zip (sha1 {ptb.PTB_SHA1})" in message
        )


# -- the command line -----------------------------------------------------------------------------------------------


def test_stats_counts_a_readers_corpus(tmp_path):
    path = tmp_path / "mine.txt"
    path.write_text(TINY)
    for min_count, vocab_size in ((1, 10), (2, 3)):
        done = run("stats", "--data", path, "--min-count", min_count, "--subsample-t", "1", "--json")  # t = 1 keeps all
        assert done.returncode == 0, done.stderr
        stats = json.loads(done.stdout.strip().splitlines()[-1])
        assert (stats["vocab_size"], stats["tokens"], stats["sentences"]) == (vocab_size, 13, 3)


def test_train_runs_on_a_readers_corpus(tmp_path):
    path = tmp_path / "generated.txt"
    path.write_text(random_text(lines=400, words=40, seed=7))  # ~3,800 tokens, each word ~95 times
    out = tmp_path / "results"
    # Subsampling at t = 0.05 keeps every token of 40 equally frequent words (t / f = 2), so the 20 steps of
    # 512 centers fit within the five epochs.
    done = run(
        "train",
        "--framework",
        "numpy",
        "--data",
        path,
        "--subsample-t",
        "0.05",
        "--max-steps",
        "20",
        "--out",
        out,
        "--json",
        "--no-progress",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    history = json.loads((out / "numpy" / "history.json").read_text())
    losses = history["step_losses"]
    assert len(losses) == 20 and all(math.isfinite(loss) and loss > 0 for loss in losses)
    assert abs(losses[0] - math.log(2)) < 0.01  # small initial weights: every score near 0, each loss near ln 2
    assert losses[-1] < losses[0] - 0.02  # and it learns
    assert (summary["framework"], summary["steps"]) == ("numpy", 20)


def test_a_bad_data_file_is_exit_code_2_and_one_paragraph(capsys, tmp_path):
    path = tmp_path / "books.zip"
    write_zip(path, {"a.txt": "a b", "b.txt": "c d"})
    err = user_error(capsys, "stats", "--data", path)
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert f"{path} is a zip of 2 files (a.txt, b.txt)" in err and EXPECTED_ONLY in err


def test_a_checkpoint_resumes_only_on_its_own_corpus(capsys, tmp_path):
    """Same sizes, other words: the corpus' fingerprint tells them apart."""
    path = tmp_path / "generated.txt"
    text = random_text(lines=400, words=40, seed=7)
    path.write_text(text)
    options = ("--framework", "numpy", "--data", path, "--subsample-t", "0.05", "--no-progress", "--out", tmp_path)
    assert run("train", *options, "--max-steps", "4", "--checkpoint-every", "2").returncode == 0
    path.write_text(text.replace("w", "z"))  # every word renamed: the same counts, sizes and sentences
    err = user_error(capsys, "train", *options, "--max-steps", "6", "--resume")
    assert "was trained with other settings or on another corpus (corpus_sha1 '" in err
    assert "resume with the same settings and --data, or start over with --restart." in err


# -- a corpus that gives no example, a vocabulary without "chip" ---------------------------------------------------


@pytest.mark.parametrize(
    "text, options, cause",
    [
        ("alone\n" * 50, ("--min-count", "1"), "no sentence (line) has two words; give text with one sentence a line"),
        (
            "".join(f"common rare{i}\n" for i in range(6)),
            ("--min-count", "3"),  # one word a line in the vocabulary
            "no sentence (line) has two words of the vocabulary, which holds the words seen at least 3 times",
        ),
        ("a b c d e\n", ("--min-count", "1"), "subsampling leaves no sentence with two words"),
    ],
)
def test_a_corpus_with_no_training_example_is_refused_before_any_work(capsys, tmp_path, text, options, cause):
    path = tmp_path / "corpus.txt"
    path.write_text(text)
    for command in ("stats", "train"):
        extra = ("--framework", "numpy", "--out", tmp_path / "out") if command == "train" else ()
        err = user_error(capsys, command, "--data", path, *options, *extra)
        assert err.startswith("error: the corpus gives no training example: a center word needs a context word")
        assert cause in err and err.count("\n") == 1
    assert not (tmp_path / "out" / "numpy").exists() and not (tmp_path / "out" / "numpy.partial").exists()


def test_too_few_words_for_noise_names_min_count_as_a_cause_not_a_cure(capsys, tmp_path):
    path = tmp_path / "two.txt"
    path.write_text("same same\n" * 200)  # one word, its own context: no noise word is left to draw
    err = user_error(capsys, "stats", "--data", path, "--min-count", "1", "--subsample-t", "1")
    assert "the vocabulary has only 1 word(s), too few to draw noise words" in err
    assert "give a corpus with more distinct words" in err and "lower min count" not in err


def test_a_comparison_of_a_corpus_without_chip_shows_its_own_most_frequent_word(tmp_path):
    path = tmp_path / "generated.txt"
    path.write_text(random_text(lines=400, words=40, seed=7))
    out = tmp_path / "cmp"
    done = run(
        "compare",
        "--frameworks",
        "numpy",
        "--data",
        path,
        "--subsample-t",
        "0.05",
        "--max-steps",
        "5",
        "--out",
        out,
        "--no-progress",
    )
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    first = (out / "numpy" / "embeddings.txt").read_text().splitlines()[2].split()[0]  # after the header, <unk>
    assert summary["probe_word"] == first and len(summary["frameworks"]["numpy"]["neighbours"]) == 3
    assert f'neighbours of "{first}"' in (out / "summary.md").read_text()
    assert run("report", "--out", out).returncode == 0
