"""Using trained word vectors: nearest neighbours by cosine, and the word2vec text format.

Framework-neutral: it works on the NumPy matrix every backend exports, so the neighbours of "chip"
are computed the same way for each framework.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Sequence

import numpy as np

from backends.common.errors import W2VError
from backends.common.files import atomic_path, readable_file
from backends.common.resources import check_memory


def similar(matrix: np.ndarray, words: Sequence[str], word: str, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` words whose vectors have the highest cosine similarity with ``word``'s, best first (every other
    word, when the vocabulary has fewer)."""
    words = list(words)
    if word not in words:
        close = difflib.get_close_matches(word, words, n=5)
        hint = f" Close spellings in the vocabulary: {', '.join(close)}." if close else ""
        raise W2VError(f"the word {word!r} is not in the vocabulary ({len(words)} words).{hint}")
    row = words.index(word)
    if k < 1:
        raise W2VError(f"k {k} is out of range: it must be at least 1.")
    vectors = np.asarray(matrix, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1) + 1e-9
    cosine = vectors @ vectors[row] / (norms * norms[row])
    cosine[row] = -np.inf
    best = np.argsort(-cosine, kind="stable")[: min(k, len(words) - 1)]
    return [(words[i], float(cosine[i])) for i in best]


def save_word2vec(path: str | Path, words: Sequence[str], matrix: np.ndarray) -> Path:
    """Write the vectors in word2vec's text format (a ``count size`` header, then ``word v1 v2 ...``)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        out.write(f"{matrix.shape[0]} {matrix.shape[1]}\n")
        for word, vector in zip(words, matrix):
            out.write(word + " " + " ".join(f"{x:.6g}" for x in vector) + "\n")
    return Path(path)


def load_word2vec(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read a word2vec text file as this project, gensim and the original word2vec tool write it (a trailing
    space on each line, Windows line ends); a malformed or binary line is reported with its number, and vectors
    that are not finite are refused with their words named."""
    path = readable_file(path, "the embeddings file", "Train first (python -m backends train), or give a word2vec "
                                                      "text file.")
    with open(path, "rb") as raw_lines:
        lines = (_text_line(path, number, raw) for number, raw in enumerate(raw_lines, start=1))
        header = next(lines).split()
        if len(header) != 2 or not all(part.isdigit() for part in header):
            raise W2VError(f"{path} line 1 should be 'COUNT SIZE' (word2vec text format), got {' '.join(header)!r}.")
        count, size = map(int, header)
        _check_header_fits(path, count, size)
        words, matrix = [], np.empty((count, size), dtype=np.float32)
        for number, line in enumerate(lines, start=2):
            parts = line.rstrip().split(" ")
            if len(words) == count or len(parts) != size + 1:
                raise W2VError(
                    f"{path} line {number} is malformed: expected a word and {size} numbers"
                    f"{' and no more lines' if len(words) == count else ''}; the file may be truncated or not "
                    f"in word2vec text format."
                )
            try:
                matrix[len(words)] = [float(x) for x in parts[1:]]
            except ValueError:
                raise W2VError(f"{path} line {number} is malformed: it holds a value that is not a number.") from None
            words.append(parts[0])
    if len(words) != count:
        raise W2VError(f"{path} is truncated: the header promises {count} words, the file has {len(words)}.")
    broken = [words[i] for i in np.flatnonzero(~np.isfinite(matrix).all(axis=1))]
    if broken:
        named = ", ".join(broken[:5]) + (f" and {len(broken) - 5} more" if len(broken) > 5 else "")
        raise W2VError(f"{path} holds vectors that are not finite (NaN or infinity) for {len(broken)} of {count} "
                       f"words ({named}): the run that wrote them diverged. Train again with a lower learning rate "
                       f"(--lr).")
    return words, matrix


def _check_header_fits(path: Path, count: int, size: int) -> None:
    """Refuse a header whose sizes the file cannot hold (each number takes two bytes at least), before the
    matrix it announces is allocated."""
    least = count * (2 * size + 2)
    if least > path.stat().st_size:
        raise W2VError(f"{path} is truncated: the header promises {count:,} words of {size:,} numbers (at least "
                       f"{least:,} bytes), and the file has only {path.stat().st_size:,} bytes; or the header is wrong.")
    check_memory(count * size * 4, f"reading {path}", "give a smaller embeddings file.")


def _text_line(path: Path, number: int, raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        if b"\0" not in raw and raw.rstrip(b"\r\n").decode("latin-1").isprintable():
            raise W2VError(f"{path} line {number} is not UTF-8 (byte {error.start} of the line): the file is text in "
                           f"another encoding, Latin-1 perhaps. Save it as UTF-8 and read that file.") from None
        raise W2VError(
            f"{path} line {number} is not text: this looks like a binary file (gensim's binary word2vec format, or a "
            f"model saved with .save()). Save the vectors as text, with KeyedVectors.save_word2vec_format(path, "
            f"binary=False), and read that file."
        ) from None
