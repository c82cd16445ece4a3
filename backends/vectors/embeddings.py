"""Using trained word vectors: nearest neighbours by cosine, and the word2vec text format.

Framework-neutral: it works on the NumPy matrix every backend exports, so the neighbours of "chip"
are computed the same way for each framework.
"""

from __future__ import annotations

import difflib
import itertools
import re
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO, NoReturn

import numpy as np

from backends.common.errors import W2VError
from backends.common.files import atomic_path, readable_file, refuse_compressed
from backends.common.messages import counted, truncated
from backends.common.resources import check_memory


def similar(matrix: np.ndarray, words: Sequence[str], word: str, k: int = 3) -> list[tuple[str, float]]:
    """The ``k`` words whose vectors have the highest cosine similarity with ``word``'s, best first (every other
    word, when the vocabulary has fewer)."""
    words = list(words)
    vectors = np.asarray(matrix, dtype=np.float64)
    if vectors.ndim != 2 or vectors.shape[0] != len(words):
        raise W2VError(
            f"the vectors ({' x '.join(map(str, vectors.shape)) or 'a single number'}) are not one row "
            f"for each of the {len(words)} words; give the words and the matrix of the same file."
        )
    if word not in words:
        close = difflib.get_close_matches(word, words, n=5)
        hint = f" Close spellings in the vocabulary: {', '.join(close)}." if close else ""
        raise W2VError(f"the word {word!r} is not in the vocabulary ({len(words)} words).{hint}")
    row = words.index(word)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise W2VError(f"k {k!r} is out of range: it must be a whole number, at least 1.")
    norms = np.linalg.norm(vectors, axis=1) + 1e-9
    cosine = vectors @ vectors[row] / (norms * norms[row])
    cosine[row] = -np.inf
    best = np.argsort(-cosine, kind="stable")[: min(k, len(words) - 1)]
    return [(words[i], float(cosine[i])) for i in best]


def save_word2vec(path: str | Path, words: Sequence[str], matrix: np.ndarray) -> Path:
    """Write the vectors in word2vec's text format (a ``count size`` header, then ``word v1 v2 ...``); each
    number is written with 6 significant digits."""
    matrix = np.asarray(matrix, dtype=np.float32)
    if matrix.ndim != 2:
        raise W2VError(f"the vectors to save are {matrix.ndim}-dimensional, not a matrix of one row a word.")
    written = 0
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8") as out:
        out.write(f"{matrix.shape[0]} {matrix.shape[1]}\n")
        for word, vector in zip(words, matrix):
            if not word or len(word.split()) != 1 or word != word.strip():
                raise W2VError(
                    f"the word {word!r} cannot be written in word2vec's text format, where a space or "
                    f"a line end ends the word; give words without whitespace."
                )
            out.write(word + " " + " ".join(f"{x:.6g}" for x in vector) + "\n")
            written += 1
        if written != matrix.shape[0]:
            raise W2VError(
                f"{counted(written, 'word')} given for {counted(matrix.shape[0], 'vector')}; give one "
                f"word for each row of the matrix."
            )
    return Path(path)


FLOAT32_MAX = float(np.finfo(np.float32).max)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # what no text line holds: all C0 controls but \t \n \r


def load_word2vec(path: str | Path) -> tuple[list[str], np.ndarray]:
    """Read a word2vec text file as this project, gensim (with or without its header line) and the original
    word2vec tool write it (a trailing space on each line, Windows line ends, a byte-order mark, blank lines at
    the end); a malformed or binary line is reported with its number, and vectors that are not finite are
    refused with their words named."""
    path = readable_file(
        path, "the embeddings file", "Train first (python -m backends train), or give a word2vec text file."
    )
    with open(path, "rb") as handle:
        lines = (_text_line(path, number, raw) for number, raw in enumerate(_raw_lines(path, handle), start=1))
        first = next(lines).removeprefix("\ufeff")
        header = first.split()
        if len(header) == 2 and all(part.isascii() and part.isdigit() for part in header):
            longest = max(header, key=len)
            if len(longest) > MAX_HEADER_DIGITS:  # Python refuses to read a number of thousands of digits
                raise W2VError(
                    f"{path} line 1 is not a plausible 'COUNT SIZE' header: it holds a number of "
                    f"{len(longest):,} digits ({longest[:12]}...), more words or numbers than any file "
                    f"holds. Correct the count and size in line 1, or write the file again."
                )
            count, size = map(int, header)
            if count == 0 or size == 0:
                raise W2VError(
                    f"{path} line 1 says it holds {counted(count, 'word')} of "
                    f"{counted(size, 'number')}: there are no vectors to read. Give a file with vectors "
                    f"in it."
                )
            _check_header_fits(path, count, size)
            reader = _Rows(path, count, size)
        elif len(parts := first.rstrip().split(" ")) >= 2 and all(_is_number(part) for part in parts[1:]):
            reader = _Rows(path, None, len(parts) - 1)  # gensim's write_header=False: no 'COUNT SIZE' line
            reader.add(1, first)
        else:
            raise W2VError(
                f"{path} line 1 should be 'COUNT SIZE' (word2vec text format), got {_short(' '.join(header))}."
            )
        for number, line in enumerate(lines, start=2):
            reader.add(number, line)
    return reader.finish()


MAX_HEADER_DIGITS = 18  # a count or size of 10**18 is already beyond any disk
MAX_LINE = 1 << 24  # bytes: a line of a million numbers; a longer one holds no vector (a binary file, say)


def _raw_lines(path: Path, handle: BinaryIO) -> Iterator[bytes]:
    """The file's lines as bytes, none read beyond ``MAX_LINE``: a file with no line end in its first
    gigabytes (a binary file, a sparse one) is named as what it is before it fills the memory."""
    for number in itertools.count(1):
        raw = handle.readline(MAX_LINE)
        if not raw:
            return
        if len(raw) == MAX_LINE and not raw.endswith(b"\n"):
            if _CONTROL.search(raw.decode("utf-8", errors="replace")):
                _binary(path, number)
            raise W2VError(
                f"{path} line {number} is longer than {MAX_LINE:,} bytes, longer than a line of a million "
                f"numbers: the file is not in word2vec text format."
            )
        yield raw


class _Rows:
    """The words and vectors of a word2vec text file, line by line: ``count`` of ``size`` numbers each (the
    header's), or as many as there are when there is no header."""

    def __init__(self, path: Path, count: int | None, size: int) -> None:
        self.path, self.count, self.size = path, count, size
        self.words: list[str] = []
        self.lines: dict[str, int] = {}  # each word's line, to name both lines of a repeated word
        self.matrix = np.empty((count, size), dtype=np.float32) if count is not None else None
        self.rows: list[np.ndarray] = []  # without a header, the rows as they come
        self.blank: int | None = None  # the first blank line: only more blank lines may follow it

    def add(self, number: int, line: str) -> None:
        path, size = self.path, self.size
        if not line.strip(" \t\r\n"):
            self.blank = self.blank or number
            return
        if self.blank is not None:
            raise W2VError(
                f"{path} line {self.blank} is blank, between vectors (line {number} has one): remove "
                f"the blank line, or the file is not in word2vec text format."
            )
        if len(self.words) == self.count:
            raise W2VError(
                f"{path} line {number} is malformed: the header (line 1) promises "
                f"{counted(self.count, 'word')}, and this line holds one more. Correct the count in line "
                f"1, or remove the extra lines."
            )
        parts = line.rstrip().split(" ")
        if len(parts) != size + 1:
            hint = ", or its word holds a space" if len(parts) > size + 1 else ""
            raise W2VError(
                f"{path} line {number} is malformed: expected a word and {counted(size, 'number')} "
                f"({'as the header, line 1, says' if self.count is not None else 'as on line 1'}), found "
                f"{len(parts) - 1} after the word; the file may be truncated or not in word2vec text "
                f"format{hint}."
            )
        word = parts[0]
        if not word:
            raise W2VError(f"{path} line {number} is malformed: it begins with a space, not a word.")
        if word in self.lines:
            raise W2VError(
                f"{path} line {number} is malformed: the word {_short(word)} is on line "
                f"{self.lines[word]} too; each word has one vector. Remove one of them."
            )
        try:
            row = np.array([float(x) for x in parts[1:]])
        except ValueError:
            bad = next(x for x in parts[1:] if not _is_number(x))
            raise W2VError(
                f"{path} line {number} is malformed: it holds a value that is not a number ({_short(bad)})."
            ) from None
        finite = np.isfinite(row)
        if (np.abs(row[finite]) > FLOAT32_MAX).any():
            raise W2VError(
                f"{path} line {number} holds a number beyond float32's range (±3.4e38), which vectors "
                f"are read as: the file was not written as word2vec vectors are."
            )
        if self.matrix is not None:
            self.matrix[len(self.words)] = row
        else:
            self.rows.append(row.astype(np.float32))
        self.lines[word] = number
        self.words.append(word)

    def finish(self) -> tuple[list[str], np.ndarray]:
        path, words = self.path, self.words
        if self.count is not None and len(words) != self.count:
            read = f"lines 2 to {len(words) + 1}" if len(words) > 1 else "line 2" if words else "none"
            raise W2VError(
                f"{path} is truncated: the header promises {counted(self.count, 'word')} (line 1), the "
                f"file has {len(words):,} ({read}). Correct the count in line 1, or write the file again."
            )
        matrix = self.matrix if self.matrix is not None else np.array(self.rows, dtype=np.float32)
        broken = [words[i] for i in np.flatnonzero(~np.isfinite(matrix).all(axis=1))]
        if broken:
            raise W2VError(
                f"{path} holds vectors that are not finite (NaN or infinity) for {len(broken)} of "
                f"{len(words)} words ({truncated(broken)}): the run that wrote them diverged. Train again "
                f"with a lower learning rate (--lr)."
            )
        return words, matrix


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _short(text: str) -> str:
    """A piece of a file as a message quotes it: its repr, cut to a readable length."""
    return repr(text) if len(text) <= 40 else repr(text[:37]) + "..."


def _check_header_fits(path: Path, count: int, size: int) -> None:
    """Refuse a header whose sizes the file cannot hold (each number takes two bytes at least), before the
    matrix it announces is allocated."""
    least = count * (2 * size + 2)
    if least > path.stat().st_size:
        raise W2VError(
            f"{path} is truncated: the header promises {count:,} words of {size:,} numbers (at least "
            f"{least:,} bytes), and the file has only {path.stat().st_size:,} bytes; or the header is "
            f"wrong."
        )
    check_memory(count * size * 4, f"reading {path}", "give a smaller embeddings file.")


def _text_line(path: Path, number: int, raw: bytes) -> str:
    """Line ``number`` of ``path`` as text; a line that is not UTF-8 is named as text in another encoding or as
    binary data (control characters, which no text line holds, count as binary too)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        if b"\0" not in raw and raw.rstrip(b"\r\n").decode("latin-1").isprintable():
            raise W2VError(
                f"{path} line {number} is not UTF-8 (byte {error.start} of the line): the file is text in "
                f"another encoding, Latin-1 perhaps. Save it as UTF-8 and read that file."
            ) from None
        _binary(path, number)
    if _CONTROL.search(text):
        _binary(path, number)
    return text


def _is_checkpoint(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return "position.npy" in archive.namelist()
    except (zipfile.BadZipFile, OSError):
        return False


def _binary(path: Path, number: int) -> NoReturn:
    if number == 1:  # not even a header line: a pickled model, an .npy, an archive
        with open(path, "rb") as head:
            start = head.read(8)
        refuse_compressed(start, str(path), "word2vec's text format", "read the file it holds.")
        if start.startswith(b"PK\x03\x04") and _is_checkpoint(path):
            raise W2VError(
                f"{path} is a checkpoint of this project (train --checkpoint-every), not vectors: the "
                f"run's vectors are in embeddings.txt beside it."
            )
        raise W2VError(
            f"{path} line 1 is not text: this looks like a binary file (a gensim model saved with .save(), perhaps), "
            f"not word2vec's text format. Write its vectors as text with gensim, KeyedVectors.load(path)"
            f".save_word2vec_format(new_path, binary=False), and read that file."
        )
    raise W2VError(
        f"{path} line {number} is not text: this looks like a binary file in word2vec's binary format (the word2vec "
        f"tool's -binary 1, or gensim's binary=True). Convert it to text with gensim, "
        f"KeyedVectors.load_word2vec_format(path, binary=True).save_word2vec_format(new_path, binary=False), and "
        f"read that file."
    )
