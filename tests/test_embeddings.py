"""Nearest neighbours and the word2vec text format, on small known matrices."""

import numpy as np
import pytest

from backends.common.errors import W2VError
from backends.common.files import write_text
from backends.vectors import embeddings

WORDS = ["<unk>", "king", "queen", "apple", "pear"]
MATRIX = np.array([[0, 0, 1], [1, 0.1, 0], [0.9, 0.2, 0], [0, 1, 0.1], [0.1, 0.9, 0]], dtype=np.float32)


def test_similar_ranks_by_cosine():
    result = embeddings.similar(MATRIX, WORDS, "king", k=2)
    assert [w for w, _ in result] == ["queen", "pear"]
    expected = MATRIX[1] @ MATRIX[2] / np.linalg.norm(MATRIX[1]) / np.linalg.norm(MATRIX[2])
    assert result[0][1] == pytest.approx(float(expected), rel=1e-6)


def test_unknown_word():
    with pytest.raises(W2VError, match="'kings' is not in the vocabulary.*Close spellings.*king"):
        embeddings.similar(MATRIX, WORDS, "kings")


def test_word2vec_round_trip(tmp_path):
    path = embeddings.save_word2vec(tmp_path / "e.txt", WORDS, MATRIX)
    words, matrix = embeddings.load_word2vec(path)
    assert words == WORDS
    np.testing.assert_allclose(matrix, MATRIX, rtol=1e-5)
    assert path.read_text().splitlines()[0] == "5 3"


@pytest.mark.parametrize(
    "text, message",
    [
        ("5\n", "line 1 should be 'COUNT SIZE'"),
        ("2 3\na 1 2 3\n", "truncated: the header promises 2 words"),
        ("1 2\na 1 x\n", "line 2 is malformed: it holds a value that is not a number"),
        ("1 2\na 1 2\nb 3 4\n", "line 3 is malformed"),
    ],
)
def test_malformed_files(tmp_path, text, message):
    (tmp_path / "e.txt").write_text(text)
    with pytest.raises(W2VError, match=message):
        embeddings.load_word2vec(tmp_path / "e.txt")


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    target = write_text(tmp_path / "e.txt", "old and complete\n")

    def words_then_failure():
        yield from WORDS[:2]
        raise OSError(28, "No space left on device")

    with pytest.raises(W2VError, match=f"cannot use {target}: the disk is full"):
        embeddings.save_word2vec(target, words_then_failure(), MATRIX)
    assert target.read_text() == "old and complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["e.txt"]


def test_files_as_the_word2vec_tool_and_windows_write_them_load(tmp_path):
    """The original word2vec tool ends every vector line with a space; Windows ends lines with CR LF."""
    (tmp_path / "tool.txt").write_bytes(b"2 3\nking 1 0.1 0 \nqueen 0.9 0.2 0 \n")
    (tmp_path / "crlf.txt").write_bytes(b"2 3\r\nking 1 0.1 0\r\nqueen 0.9 0.2 0\r\n")
    for name in ("tool.txt", "crlf.txt"):
        words, matrix = embeddings.load_word2vec(tmp_path / name)
        assert words == ["king", "queen"] and matrix.shape == (2, 3) and matrix[1, 0] == pytest.approx(0.9)


def test_vectors_that_are_not_finite_are_refused_with_their_words(tmp_path):
    (tmp_path / "e.txt").write_text("3 2\nchip nan 1\n<unk> 1 inf\nintel 1 2\n")
    with pytest.raises(W2VError, match=r"not finite \(NaN or infinity\) for 2 of 3 words \(chip, <unk>\).*--lr"):
        embeddings.load_word2vec(tmp_path / "e.txt")


def test_a_header_larger_than_its_file_is_refused_before_anything_is_allocated(tmp_path):
    (tmp_path / "e.txt").write_text("100000000000 300\nchip 1 2\n")
    with pytest.raises(
        W2VError,
        match=r"truncated: the header promises 100,000,000,000 words of 300 numbers "
        r"\(at least .* bytes\), and the file has only 26 bytes",
    ):
        embeddings.load_word2vec(tmp_path / "e.txt")


def test_text_in_another_encoding_is_named_as_such(tmp_path):
    (tmp_path / "e.txt").write_bytes("2 2\ncafé 1 2\nthé 3 4\n".encode("latin-1"))
    with pytest.raises(W2VError, match="line 2 is not UTF-8 .*Latin-1 perhaps. Save it as UTF-8"):
        embeddings.load_word2vec(tmp_path / "e.txt")


def test_k_beyond_the_vocabulary_gives_every_other_word():
    assert [w for w, _ in embeddings.similar(MATRIX, WORDS, "king", k=50)] == ["queen", "pear", "apple", "<unk>"]
