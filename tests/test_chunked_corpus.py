"""A corpus read a chunk at a time is the corpus of its whole text, and sampling at update time stays small.

Reading cuts the text after a "\\n" every ``chunk_bytes`` bytes or so; tiny chunks put cuts everywhere (inside
"\\r\\n" pairs' neighbourhoods, beside multi-byte characters, after a last line without a line end), and the
corpus, its vocabulary's order, its facts and every refusal's words must not depend on where they fall.
"""

import codecs
import functools
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.common import resources
from backends.common.errors import W2VError
from backends.common.seeds import STREAM_BUILD, rng_for
from backends.pipeline import corpus as ptb
from backends.pipeline.dataset import load_data
from backends.pipeline.examples import subsample


def same_corpus(chunked: ptb.Corpus, whole: ptb.Corpus) -> None:
    assert chunked.vocab.tokens == whole.vocab.tokens
    assert chunked.vocab.counts.tolist() == whole.vocab.counts.tolist()
    assert chunked.ids.dtype == whole.ids.dtype == np.int32 and chunked.ids.tolist() == whole.ids.tolist()
    assert chunked.lengths.dtype == whole.lengths.dtype and chunked.lengths.tolist() == whole.lengths.tolist()
    assert chunked.facts() == whole.facts()


def chunked_from_file(path, chunk_bytes: int, min_count: int = 1) -> ptb.Corpus:
    return ptb.corpus_from_chunks(ptb.read_corpus_chunks(path, chunk_bytes=chunk_bytes), min_count)


def refusal(make) -> str:
    with pytest.raises(W2VError) as caught:
        make()
    return str(caught.value)


def test_ptb_read_from_a_file_in_small_chunks_is_the_corpus_of_its_whole_text(tmp_path):
    text = ptb.read_ptb_text()
    path = tmp_path / "ptb.txt"
    path.write_text(text, encoding="utf-8")
    chunks = list(ptb.read_corpus_chunks(path, chunk_bytes=100_000))
    assert len(chunks) == 52 and all(chunk.endswith("\n") for chunk in chunks) and "".join(chunks) == text
    whole = ptb.corpus_from_text(text, min_count=5)
    same_corpus(ptb.corpus_from_chunks(chunks, 5), whole)
    assert whole.facts()["corpus_sha1"] == ptb.load_corpus(min_count=5).facts()["corpus_sha1"]


def test_a_zip_member_is_read_in_chunks_too(tmp_path):
    text = "the cat sat\r\non the mat\nthé dog\u2028sat\n" * 50 + "last line without an end"
    path = tmp_path / "mine.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("corpus.txt", text)
    chunks = list(ptb.read_corpus_chunks(path, chunk_bytes=7))
    assert len(chunks) > 100 and "".join(chunks) == text
    same_corpus(chunked_from_file(path, 7), ptb.corpus_from_text(text, min_count=1))


# Words (one of them <unk>, others non-ASCII, one longer than the tokenizer's fast path), every kind of whitespace
# and line end a text file may hold, "\r\n", and characters of two to four bytes to fall across cuts.
pieces = st.sampled_from(
    ["a", "b", "ab", "<unk>", "é", "日本", "😀x", "x" * 70, " ", "\t", "\n", "\n", "\r", "\r\n", "\x0b", "\x0c"]
    + ["\x1c", "\x1f", "\x85", "\u2028", "\u3000", "\xa0"]
)


@settings(max_examples=150, deadline=None)
@given(st.lists(pieces, min_size=1, max_size=60).map("".join), st.integers(1, 12), st.booleans())
def test_any_text_file_read_in_chunks_is_the_corpus_of_its_whole_text(tmp_path_factory, text, chunk_bytes, bom):
    path = tmp_path_factory.mktemp("chunks") / "text.txt"
    path.write_bytes((codecs.BOM_UTF8 if bom else b"") + text.encode("utf-8"))
    assert "".join(ptb.read_corpus_chunks(path, chunk_bytes=chunk_bytes)) == text
    try:
        whole = ptb.corpus_from_text(text, min_count=1)
    except W2VError as exc:  # no words, or only <unk>: the same refusal
        assert refusal(lambda: chunked_from_file(path, chunk_bytes)) == str(exc)
    else:
        same_corpus(chunked_from_file(path, chunk_bytes), whole)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(pieces, max_size=12).map("".join), max_size=8), st.integers(1, 3))
def test_any_chunks_index_as_their_concatenation(texts, min_count):
    chunks = [text + "\n" for text in texts]  # each chunk but the last ends at a line end, as reading cuts them
    try:
        whole = ptb.corpus_from_text("".join(chunks), min_count=min_count)
    except W2VError as exc:
        assert refusal(lambda: ptb.corpus_from_chunks(chunks, min_count)) == str(exc)
    else:
        same_corpus(ptb.corpus_from_chunks(chunks, min_count), whole)


@pytest.mark.parametrize(
    "content, said",
    [
        (b"one two\n\x07three\nfour\xff\n" + b"w " * 50 + b"\n\x00", "holds NUL bytes (the first at byte offset 122)"),
        (b"one\xfftwo\n" + b"w " * 50 + b"\nthree \x1b\n", "control character (0x1b at byte offset 115, line 3)"),
        (b"w " * 50 + b"\nok\n" + "caf\xe9".encode("latin-1") + b"\n", "the byte 0xe9 at byte offset 107 (line 3)"),
    ],
    ids=["nul-after-control-and-latin1", "control-after-latin1", "latin1-late"],
)
def test_a_problem_in_a_later_chunk_is_named_as_in_the_whole_file(tmp_path, content, said):
    path = tmp_path / "text.txt"
    path.write_bytes(content)
    messages = {refusal(functools.partial(chunked_from_file, path, size)) for size in (1, 5, 64, 1 << 20)}
    assert len(messages) == 1 and said in messages.pop()


@pytest.mark.parametrize("t", [1e-4, 1e-7, 1e9])
def test_subsampling_in_spans_draws_the_same_numbers(corpus, t):
    whole_rng = rng_for(0, STREAM_BUILD, 3)
    whole = subsample(corpus, t, whole_rng, span_tokens=corpus.num_tokens)
    assert 0 < whole.num_centers < corpus.num_tokens
    for span_tokens in (1, 999, 100_000):
        spans_rng = rng_for(0, STREAM_BUILD, 3)
        spans = subsample(corpus, t, spans_rng, span_tokens=span_tokens)
        for name in ("centers", "sentence", "bounds"):
            assert getattr(spans, name).dtype == np.int32
            assert getattr(spans, name).tolist() == getattr(whole, name).tolist(), name
        assert spans.subsampled_tokens == whole.subsampled_tokens
        assert spans_rng.bit_generator.state == whole_rng.bit_generator.state  # as many numbers drawn


def test_the_chapters_draw_too_large_to_read_names_sample_each_batch_which_fits(tmp_path, monkeypatch):
    # 200,000 tokens (955 KiB): the chapter's draw would need about 83 MiB with the text, sampling at update time
    # about 29 MiB; with 50 MiB available, the first is refused before reading, and the second loads
    path = tmp_path / "big.txt"
    path.write_text("".join(" ".join(f"w{(i * 20 + j) % 1000}" for j in range(20)) + "\n" for i in range(10_000)))
    monkeypatch.setattr(resources, "available_bytes", lambda: 50 << 20)
    said = refusal(lambda: load_data(path))
    assert said.startswith(f"reading the data file {path} (955.1 KiB of text, about 200,000 words) and drawing")
    assert "would need about 82.6 MiB" in said and "more than the 50.0 MiB available here" in said
    assert "or sample at update time (--sample-each-batch), which draws no epoch whole. Nothing was read" in said
    assert load_data(path, sample_each_batch=True).corpus.num_tokens == 200_000
    monkeypatch.setattr(resources, "available_bytes", lambda: 20 << 20)
    said = refusal(lambda: load_data(path, sample_each_batch=True))
    assert "would need about 29.1 MiB" in said and "give a smaller corpus (its first lines" in said
    assert "--sample-each-batch" not in said and "--max-window" not in said
