"""The corpus a run trains on, read and indexed: a vocabulary and the sentences as ids.

``--data`` (the ``data`` setting) names one of three kinds of file, told apart by their content, not their name:

- the book's Penn Treebank zip (the default, the shipped ``data/ptb.zip``), known by its sha1; its training
  split ``ptb/ptb.train.txt`` is read;
- a UTF-8 text file, one sentence a line, words separated by whitespace;
- a zip holding exactly one such text file, under any name (folders, ``__MACOSX/`` and hidden files such as
  ``.DS_Store`` are ignored).

Anything else is refused with a message that says what the file is instead (a zip of several files, a binary
file, text in another encoding) and how to turn it into one of these. A file named ``*.zip`` that is no zip is
refused as damaged rather than read as text (it is most often a truncated download or a saved web page). Nothing is
ever downloaded.

A reader's text is read, checked, decoded and indexed a chunk of lines at a time (:func:`read_corpus_chunks`,
:func:`corpus_from_chunks`): memory holds one chunk of text and its tokenizer's arrays, and then 4 bytes a token
(its id), whatever the corpus' size. The corpus is exactly the one its whole text gives (:func:`corpus_from_text`).
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
import shlex
import zipfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np

from backends.common.errors import W2VError
from backends.common.files import readable_file, refuse_compressed
from backends.common.messages import plural, truncated
from backends.common.resources import check_memory, describe_size
from backends.common.settings import DEFAULTS
from backends.common.shipped import DATA_DIR, restore_hint
from backends.pipeline.tokenizer import tokenize

PTB_ZIP = DATA_DIR / "ptb.zip"
PTB_SHA1 = "319d85e578af0cdc590547f26231e4e31cdf1e42"
PTB_SPLITS = ("train", "valid", "test")
UNK = "<unk>"
FACTS = ("vocab_size", "corpus_tokens", "corpus_sha1")  # the keys of Corpus.facts()
EXPECTED = (
    "--data expects the book's PTB zip, a UTF-8 text file with one sentence a line (words separated by "
    "whitespace), or a zip holding only such a text file."
)


def _is_shipped(path: str | Path | None) -> bool:
    """Whether ``path`` means the shipped data/ptb.zip (None does). ``os.path.realpath`` stops at a loop of
    symbolic links, where ``Path.resolve`` raises; such a path is not the shipped file, and is named as a loop
    when it is read."""
    return path is None or Path(os.path.realpath(path)) == PTB_ZIP


def _restore_hint(path: str | Path | None) -> str:
    """What to do when the PTB zip at ``path`` is missing or damaged."""
    if _is_shipped(path):
        return (
            f"{restore_hint('ptb.zip')} Or copy the book's ptb.zip (sha1 {PTB_SHA1}) to {PTB_ZIP}. Nothing is "
            f"downloaded."
        )
    return (
        "Leave the path out to read the shipped ptb.zip; to train on text of your own, give its file to --data "
        "(load_corpus(path) in Python). Nothing is downloaded."
    )


def read_ptb_text(path: str | Path | None = None, split: str = "train") -> str:
    """The raw text of one PTB split, read from the zip (the shipped one by default) after checking its sha1."""
    if split not in PTB_SPLITS:
        raise W2VError(f"unknown PTB split {split!r}; choose one of {', '.join(PTB_SPLITS)}.")
    path = readable_file(PTB_ZIP if path is None else path, "the PTB data file", _restore_hint(path))
    raw = path.read_bytes()
    digest = hashlib.sha1(raw).hexdigest()
    if digest != PTB_SHA1:
        raise W2VError(
            f"the PTB data file {path} is corrupt or not the book's: its sha1 is {digest}, expected "
            f"{PTB_SHA1}. {_restore_hint(path)}"
        )
    member = f"ptb/ptb.{split}.txt"
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.read(member).decode("utf-8")
    except (zipfile.BadZipFile, EOFError) as exc:
        raise W2VError(f"the PTB data file {path} is not a readable zip ({exc}). {_restore_hint(path)}") from None
    except KeyError:
        raise W2VError(f"the PTB data file {path} has no member {member}. {_restore_hint(path)}") from None


def read_corpus_text(path: str | Path | None = None, draw_per_word: int = 0) -> str:
    """The text ``--data`` names, whole: the PTB's training split, a text file's text, or the text file in a zip
    (read as :func:`read_corpus_chunks` reads it, checks included)."""
    return "".join(read_corpus_chunks(path, draw_per_word))


# Text is read, decoded and tokenized this many bytes at a time (cut at a line end), so that reading holds one such
# chunk of text at a time, not the whole corpus.
CHUNK_BYTES = 8 << 20


def read_corpus_chunks(
    path: str | Path | None = None, draw_per_word: int = 0, draw_fix: str = "", chunk_bytes: int = CHUNK_BYTES
) -> Iterator[str]:
    """The text ``--data`` names, in pieces of about ``chunk_bytes`` bytes, each ending at a line end ("\\n")
    but the last: the PTB's training split (one piece), a text file's text, or the text file in a zip.

    ``None`` (or the shipped file's path) reads the shipped PTB zip, whose damage is reported with how to
    restore it; any other file is the reader's own, and its kind is told by its content (see the module).
    Before a reader's text is read, the memory it will take is estimated from its size and refused if too
    much, counting ``draw_per_word`` bytes a word too: what the examples drawn from it will take (``draw_fix``
    says how to draw fewer). A file that is not UTF-8 text is refused as a whole file would be: pieces may have
    been given before the refusal, which comes once the whole file is read.
    """
    if path is None or _is_shipped(path):
        yield read_ptb_text(path)
        return
    path = readable_file(path, "the data file", f"{EXPECTED} Leave --data out to train on the shipped PTB.")
    if zipfile.is_zipfile(path):  # its text is checked once its member's size is known
        digest = _sha1_of(path)
        if digest == PTB_SHA1:
            yield read_ptb_text(path)
        else:
            yield from _zipped_chunks(path, digest, draw_per_word, draw_fix, chunk_bytes)
        return
    if path.suffix.lower() == ".zip":  # a damaged download, or a web page saved under the zip's name
        raise W2VError(
            f"the data file {path} is named like a zip but is not one: it is corrupt or truncated, or something "
            f"else saved under a .zip name (a web page, say). {EXPECTED} If it is text, rename it so that its "
            f"name does not end in .zip; to train on the book's PTB, leave --data out."
        )
    with open(path, "rb") as handle:
        size, source = path.stat().st_size, _text_file(path)
        _check_text_fits(size, handle.read(SAMPLE_BYTES), source, min(size, chunk_bytes), draw_per_word, draw_fix)
        handle.seek(0)
        yield from _decoded(_line_chunks(handle, chunk_bytes), source)


def _sha1_of(path: Path) -> str:
    """The sha1 of the file at ``path``, read a chunk at a time."""
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


def _line_chunks(handle: IO[bytes], chunk_bytes: int) -> Iterator[bytes]:
    """The bytes of ``handle`` in pieces of at least ``chunk_bytes`` (the last aside), each ending just after a
    "\\n": a cut there falls between two lines, never inside "\\r\\n" nor inside a UTF-8 character. A piece
    without "\\n" grows until one comes, or the end."""
    held: list[bytes] = []  # read since the last cut
    while block := handle.read(chunk_bytes):
        cut = block.rfind(b"\n") + 1
        if cut:
            yield b"".join([*held, block[:cut]])
            held = []
        held.append(block[cut:])
    if any(held):
        yield b"".join(held)


@dataclass(frozen=True)
class _Source:
    """Where bytes came from, as messages name it and as a shell command reads it (for the iconv advice)."""

    where: str  # "the data file my.txt", "corpus.txt in the data file my.zip"
    pipe: str  # a command whose output iconv reads ("unzip -p my.zip corpus.txt | "), or "" to read a file
    file: str  # the file iconv reads ("my.txt"), or "" when it reads the pipe
    target: Path  # where the converted text should go

    def convert(self, encoding: str) -> str:
        """The shell command that writes this text as UTF-8 to ``target``, read as ``encoding``."""
        arguments = f" {self.file}" if self.file else ""
        return f"{self.pipe}iconv -f {encoding} -t utf-8{arguments} > {_quoted(self.target)}"


def _quoted(path: str | Path) -> str:
    return shlex.quote(str(path))


def _text_file(path: Path) -> _Source:
    """A plain file given to --data."""
    return _Source(f"the data file {path}", "", _quoted(path), path.with_name(f"{path.stem}-utf8.txt"))


def _zipped_file(path: Path, member: str) -> _Source:
    """The one member of a zip given to --data."""
    return _Source(
        f"{member} in the data file {path}",
        f"unzip -p {_quoted(path)} {_quoted(member)} | ",
        "",
        path.with_name(f"{PurePosixPath(member).stem}-utf8.txt"),
    )


def _ignored(info: zipfile.ZipInfo) -> bool:
    """A zip entry that is no candidate for the corpus: a folder, macOS's ``__MACOSX/`` metadata, a hidden file."""
    parts = PurePosixPath(info.filename).parts
    return info.is_dir() or not parts or parts[0] == "__MACOSX" or any(part.startswith(".") for part in parts)


def _not_one_text_file(path: Path, digest: str, names: list[str], entries: list[str]) -> W2VError:
    """The error for a zip (of sha1 ``digest``) that is neither the book's PTB zip nor a zip of one text file."""
    if f"ptb/ptb.{PTB_SPLITS[0]}.txt" in names:
        return W2VError(
            f"the data file {path} holds the PTB's files but is not the book's zip (its sha1 is "
            f"{digest}, expected {PTB_SHA1}). To train on the book's PTB, leave --data out "
            f"(the shipped data/ptb.zip is read); to train on this copy, unzip ptb/ptb.train.txt and give --data "
            f"that text file."
        )
    if not names:
        held = f"only {truncated(entries)}, which are folders or hidden files" if entries else "nothing"
        return W2VError(
            f"the data file {path} is a zip with no text file in it: it holds {held}. {EXPECTED} "
            f"Zip the text file itself, or give --data the text file."
        )
    return W2VError(
        f"the data file {path} is a zip of {len(names)} files ({truncated(names)}), neither the book's PTB zip nor a "
        f"zip holding one text file. {EXPECTED} Give --data the one text file you mean to train on, unzipped, or "
        f"a zip holding only it."
    )


def _zipped_chunks(path: Path, digest: str, draw_per_word: int, draw_fix: str, chunk_bytes: int) -> Iterator[str]:
    """The text of the one text file in the zip at ``path`` (of sha1 ``digest``), in pieces as
    :func:`read_corpus_chunks` gives them."""
    member = None
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [info.filename for info in archive.infolist()]
            names = [info.filename for info in archive.infolist() if not _ignored(info)]
            if len(names) != 1:
                raise _not_one_text_file(path, digest, names, entries)
            member = names[0]
            source, size = _zipped_file(path, member), archive.getinfo(member).file_size
            with archive.open(member) as handle:
                head = handle.read(SAMPLE_BYTES)
            _check_text_fits(size, head, source, min(size, chunk_bytes), draw_per_word, draw_fix)
            with archive.open(member) as handle:
                yield from _decoded(_line_chunks(handle, chunk_bytes), source)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
        raise W2VError(
            f"the data file {path} is a damaged zip ({exc}). Zip the text file again, or give --data "
            f"the text file itself."
        ) from None
    except (RuntimeError, NotImplementedError) as exc:  # a password, or a compression method Python lacks
        raise W2VError(
            f"cannot unpack {member} from the data file {path} ({exc}). Unzip it yourself and give "
            f"--data the text file."
        ) from None


# The C0 control characters that are not whitespace to str.split (NUL aside, which is told apart as binary).
_CONTROL = re.compile(rb"[\x01-\x08\x0e-\x1b]")


def _refuse_binary(head: bytes, source: _Source) -> None:
    """An error if ``head``, a text's beginning, is plainly not UTF-8 text: compressed, UTF-16 or UTF-32, or
    binary."""
    _refuse_start(head, source)
    error = _nul_error(head, 0, source) or _control_error(head, 0, 0, source)
    if error:
        raise error


def _refuse_start(start: bytes, source: _Source) -> None:
    """An error if a text beginning with ``start`` is compressed, or UTF-16 or UTF-32 text."""
    refuse_compressed(start, source.where, "text", f"give --data the text file it holds. {EXPECTED}")
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # UTF-32's marks begin the same way
        encoding = "utf-32" if start.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)) else "utf-16"
        raise W2VError(
            f"{source.where} is {encoding.upper()} text (it starts with a {encoding.upper()} byte-order "
            f"mark), not UTF-8. Convert it with `{source.convert(encoding)}` and give --data the new file."
        )


def _nul_error(raw: bytes, offset: int, source: _Source) -> W2VError | None:
    """The error for the first NUL byte of ``raw`` (the text's bytes from byte ``offset`` on), if it holds one."""
    nul = raw.find(b"\x00")
    if nul < 0:
        return None
    return W2VError(
        f"{source.where} is a binary file, not text: it holds NUL bytes (the first at byte offset "
        f"{offset + nul}), which UTF-8 text never does. {EXPECTED}"
    )


def _control_error(raw: bytes, offset: int, lines: int, source: _Source) -> W2VError | None:
    """The error for the first control character of ``raw`` (the text's bytes from byte ``offset`` on, after
    ``lines`` lines), if it holds one."""
    control = _CONTROL.search(raw)
    if not control:  # a word holding one could not be written to, or read back from, word2vec's text format
        return None
    at = control.start()
    line = lines + raw.count(b"\n", 0, at) + 1
    return W2VError(
        f"{source.where} holds a control character (0x{raw[at]:02x} at byte offset {offset + at}, line "
        f"{line}), which text of sentences does not: it is a binary file, or "
        f"text with terminal codes in it. Remove them (`tr -d '\\001-\\010\\016-\\033' < FILE > NEW`) "
        f"and give --data the new file."
    )


def _decoded(pieces: Iterable[bytes], source: _Source) -> Iterator[str]:
    """Each piece of a text's bytes (cut between lines) as UTF-8 text, a leading byte-order mark dropped.

    The text is refused as a whole would be: compressed or UTF-16 by its start, then for its first NUL byte, then
    for its first control character, then for its first byte that is not UTF-8, wherever they lie. So once a
    piece holds a control character or is not UTF-8, no later piece is given, but the rest is read for the
    problems that come first.
    """
    offset = lines = 0
    control: W2VError | None = None
    undecodable: W2VError | None = None
    for raw in pieces:
        if offset == 0:
            _refuse_start(raw, source)
        nul = _nul_error(raw, offset, source)
        if nul:
            raise nul
        control = control or _control_error(raw, offset, lines, source)
        if not (control or undecodable):
            start = len(codecs.BOM_UTF8) if offset == 0 and raw.startswith(codecs.BOM_UTF8) else 0
            try:
                yield raw[start:].decode("utf-8")
            except UnicodeDecodeError as exc:
                undecodable = _undecodable(raw, start + exc.start, exc.reason, offset, lines, source)
        offset += len(raw)
        lines += raw.count(b"\n")
    if control or undecodable:
        raise control or undecodable  # type: ignore[misc]


def _undecodable(raw: bytes, at: int, reason: str, offset: int, lines: int, source: _Source) -> W2VError:
    """The error for the byte at ``at`` of ``raw`` (the text's bytes from byte ``offset`` on, after ``lines``
    lines), which is not valid UTF-8 for ``reason``."""
    line = lines + raw.count(b"\n", 0, at) + 1
    return W2VError(
        f"{source.where} is not UTF-8 text: the byte 0x{raw[at]:02x} at byte offset {offset + at} (line {line}) "
        f"is not valid UTF-8 ({reason}), so the text is in another encoding. If that is Latin-1, convert it "
        f"with `{source.convert('latin1')}` (or name its encoding after -f) and give --data the new file."
    )


# Reading and indexing a text a chunk at a time holds, at its widest, BYTES_PER_CHUNK_WORD bytes per word of the
# chunk being tokenized (its bytes and text, the tokenizer's arrays: up to 118 measured with 8 MiB chunks, on Zipf
# corpora, on one-letter words and on non-ASCII text), and for the whole text BYTES_PER_WORD per word (its id,
# int32, and a margin for the table of distinct words) and BYTES_PER_LINE per line (its length, int64, and their
# concatenation). Words and lines are counted in the first megabyte, as short words cost more than their bytes say.
BYTES_PER_CHUNK_WORD, BYTES_PER_WORD, BYTES_PER_LINE = 128, 8, 16
SAMPLE_BYTES = 1 << 20


def _check_text_fits(
    size: int, head: bytes, source: _Source, chunk: int, draw_per_word: int = 0, draw_fix: str = ""
) -> None:
    """Refuse a text of ``size`` bytes (``head`` its beginning), read ``chunk`` bytes at a time, that would not
    fit in memory once read, indexed and drawn from (``draw_per_word`` bytes a word; ``draw_fix`` says how to
    draw less), before it is read; a beginning that is plainly no text is named as what it is first."""
    _refuse_binary(head, source)
    per_byte = len(head.split()) / max(len(head), 1)
    words, lines = per_byte * size, head.count(b"\n") * size / max(len(head), 1)
    fix = "give a smaller corpus (its first lines, say: `head -n N FILE > NEW`)"
    needed = per_byte * chunk * BYTES_PER_CHUNK_WORD + words * (BYTES_PER_WORD + draw_per_word) + lines * BYTES_PER_LINE
    check_memory(
        int(needed),
        f"reading {source.where} ({describe_size(size)} of text, about {words:,.0f} words) and drawing its examples",
        f"{fix}, or {draw_fix}. Nothing was read or trained." if draw_fix else f"{fix}. Nothing was read or trained.",
    )


@dataclass(frozen=True)
class Vocab:
    """Words seen at least ``min_count`` times, most frequent first; index 0 is ``<unk>``.

    ``counts[i]`` is how often word i occurs in the training text (0 for ``<unk>``): the statistic that
    both subsampling and the noise distribution are computed from.
    """

    tokens: tuple[str, ...]
    counts: np.ndarray
    index: dict[str, int] = field(repr=False)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, word: str) -> int:
        return self.index.get(word, 0)

    def __contains__(self, word: object) -> bool:
        return word in self.index and word != UNK


FINGERPRINT_SLICE = 1 << 20  # ids and lengths hashed this many at a time


@dataclass(frozen=True)
class Corpus:
    """Sentences as one flat array of word indices plus each sentence's length."""

    vocab: Vocab
    ids: np.ndarray
    lengths: np.ndarray
    min_count: int  # the count a word needed to enter the vocabulary

    @property
    def num_tokens(self) -> int:
        return int(self.ids.size)

    def facts(self) -> dict[str, int | str]:
        """What identifies the corpus beside the settings (its sizes, and a fingerprint of its words and
        sentences): a checkpoint must come from the same one."""
        fingerprint = hashlib.sha1("\n".join(self.vocab.tokens).encode("utf-8"))
        for array in (self.ids, self.lengths):  # as int64, a slice at a time: not 8 bytes a token at once
            for begin in range(0, array.size, FINGERPRINT_SLICE):
                fingerprint.update(
                    np.ascontiguousarray(array[begin : begin + FINGERPRINT_SLICE], dtype=np.int64).tobytes()
                )
        return {"vocab_size": len(self.vocab), "corpus_tokens": self.num_tokens, "corpus_sha1": fingerprint.hexdigest()}


def corpus_from_text(text: str, min_count: int = DEFAULTS.min_count, source: str = "the text") -> Corpus:
    """Tokenize ``text`` (one sentence a line, words split on whitespace) and index it.

    ``source`` names the text in the messages for an empty corpus or vocabulary ("the data file my.txt").
    """
    return corpus_from_chunks([text], min_count, source)


def corpus_from_chunks(chunks: Iterable[str], min_count: int = DEFAULTS.min_count, source: str = "the text") -> Corpus:
    """Tokenize and index a text given in ``chunks``, each ending at a line end but the last: the corpus of their
    concatenation, held a chunk at a time.

    Each chunk's distinct words join one table of the words seen so far, and its tokens are appended to one int32
    array as numbers into that table (the array grows in place: NumPy's resize reallocates, which for an array this
    large moves no bytes); once every chunk is read, the vocabulary is made from the table's counts and the numbers
    renumbered into it in place, a slice at a time. So the text's own memory is one chunk's, and the tokens' 4
    bytes each. ``source`` names the text in the messages for an empty corpus or vocabulary ("the data file
    my.txt").
    """
    DEFAULTS.replace(min_count=min_count)  # its range, checked where the setting is declared
    seen: dict[str, int] = {}  # every word met so far, numbered in the order met
    seen_counts = np.zeros(0, dtype=np.int64)
    ids = np.zeros(0, dtype=np.int32)
    lengths: list[np.ndarray] = []
    for text in chunks:
        tokens = tokenize(text)
        to_seen = np.fromiter((seen.setdefault(w, len(seen)) for w in tokens.words), np.int32, len(tokens.words))
        seen_counts = np.concatenate([seen_counts, np.zeros(len(seen) - seen_counts.size, dtype=np.int64)])
        seen_counts[to_seen] += tokens.counts  # the numbers are distinct: one addition each
        done = ids.size
        ids.resize(done + tokens.ids.size, refcheck=False)  # ids is this function's alone
        np.take(to_seen, tokens.ids, out=ids[done:])
        lengths.append(tokens.line_lengths)
    vocab = _vocab(dict(zip(seen, seen_counts.tolist())), ids.size, min_count, source)
    to_vocab = np.array([vocab.index.get(w, 0) for w in seen], dtype=np.int32)  # out-of-vocabulary: <unk>
    for begin in range(0, ids.size, RENUMBER_SLICE):
        piece = ids[begin : begin + RENUMBER_SLICE]
        piece[:] = to_vocab[piece]
    return Corpus(vocab, ids, np.concatenate(lengths), min_count)  # no chunk, no word: refused by _vocab


RENUMBER_SLICE = 1 << 20  # tokens renumbered into the vocabulary at a time


def _vocab(counts: dict[str, int], tokens: int, min_count: int, source: str) -> Vocab:
    """The vocabulary of a text of ``tokens`` tokens whose words occur ``counts`` times: <unk>, then the words
    seen at least ``min_count`` times, most frequent first, ties in alphabetical order."""
    counts.pop(UNK, None)
    if not counts:
        held = "only <unk> tokens" if tokens else "only blank lines or whitespace"
        raise W2VError(
            f"the corpus is empty: {source} holds no words, {held}. A corpus is text, one sentence a "
            f"line, words separated by whitespace."
        )
    kept = sorted(w for w, c in counts.items() if c >= min_count)
    kept.sort(key=counts.__getitem__, reverse=True)  # most frequent first; stable, so ties stay alphabetical
    if not kept:
        top = max(counts.values())
        raise W2VError(
            f"min count {min_count} leaves an empty vocabulary: the most frequent word of {source} occurs {top} "
            f"{plural(top, 'time')}. Lower the min count (--min-count) to {top} or less, or give more text."
        )
    words = (UNK, *kept)
    vocab_counts = np.zeros(len(words), dtype=np.int64)
    vocab_counts[1:] = [counts[w] for w in kept]
    return Vocab(words, vocab_counts, {w: i for i, w in enumerate(words)})


def load_corpus(
    path: str | Path | None = None, min_count: int = DEFAULTS.min_count, draw_per_word: int = 0, draw_fix: str = ""
) -> Corpus:
    """The corpus ``--data`` names, indexed: the shipped PTB's training split by default (see the module), read a
    chunk at a time (:func:`read_corpus_chunks`). ``draw_per_word`` is what the examples drawn from it will take,
    a word, to count before reading it, and ``draw_fix`` how to draw less, for the message if it is too much."""
    source = "the shipped PTB" if _is_shipped(path) else f"the data file {path}"
    return corpus_from_chunks(read_corpus_chunks(path, draw_per_word, draw_fix), min_count, source)
