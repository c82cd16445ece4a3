"""Nearest neighbours and the word2vec text format, on small known matrices."""

import numpy as np
import pytest

from backends.vectors import embeddings
from backends.common.errors import W2VError
from backends.common.files import write_text

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
    [("5\n", "line 1 should be 'COUNT SIZE'"), ("2 3\na 1 2 3\n", "truncated: the header promises 2 words"),
     ("1 2\na 1 x\n", "line 2 is malformed: it holds a value that is not a number"),
     ("1 2\na 1 2\nb 3 4\n", "line 3 is malformed")],
)
def test_malformed_files(tmp_path, text, message):
    (tmp_path / "e.txt").write_text(text)
    with pytest.raises(W2VError, match=message):
        embeddings.load_word2vec(tmp_path / "e.txt")


def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    target = write_text(tmp_path / "e.txt", "old and complete\n")

    def words_then_failure():
        yield from WORDS[:2]
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        embeddings.save_word2vec(target, words_then_failure(), MATRIX)
    assert target.read_text() == "old and complete\n"
    assert [p.name for p in tmp_path.iterdir()] == ["e.txt"]
