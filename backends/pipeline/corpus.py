"""The Penn Treebank text, read from the shipped zip, and indexed: a vocabulary and the sentences as ids.

The zip is checked against its sha1 before it is read, and nothing is ever downloaded.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from backends.common.errors import W2VError
from backends.common.files import readable_file
from backends.common.settings import DEFAULTS
from backends.pipeline.tokenizer import tokenize

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
PTB_ZIP = DATA_DIR / "ptb.zip"
PTB_SHA1 = "319d85e578af0cdc590547f26231e4e31cdf1e42"
PTB_SPLITS = ("train", "valid", "test")
UNK = "<unk>"


def _restore_hint(path: Path) -> str:
    return (
        f"Restore it with `git checkout -- data/ptb.zip` (the repository ships it), or copy the book's "
        f"ptb.zip (sha1 {PTB_SHA1}) to {path}. Nothing is downloaded."
    )


def read_ptb_text(path: str | Path | None = None, split: str = "train") -> str:
    """The raw text of one PTB split, read from the zip after checking the zip's sha1."""
    if split not in PTB_SPLITS:
        raise W2VError(f"unknown PTB split {split!r}; choose one of {', '.join(PTB_SPLITS)}.")
    path = readable_file(PTB_ZIP if path is None else path, "the PTB data file", _restore_hint(path or PTB_ZIP))
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
        raise W2VError(f"the PTB data file {path} is not a readable zip ({exc}). {_restore_hint(path)}")
    except KeyError:
        raise W2VError(f"the PTB data file {path} has no member {member}. {_restore_hint(path)}")


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

    def facts(self) -> dict[str, int]:
        """What identifies the corpus beside the settings: a checkpoint must come from the same one."""
        return {"vocab_size": len(self.vocab), "corpus_tokens": self.num_tokens}


def corpus_from_text(text: str, min_count: int = DEFAULTS.min_count) -> Corpus:
    """Tokenize ``text`` (one sentence a line, words split on whitespace) and index it."""
    DEFAULTS.replace(min_count=min_count)  # its range, checked where the setting is declared
    tokens = tokenize(text)
    if not tokens.ids.size:
        raise W2VError("the corpus is empty: it holds no words, only blank lines or whitespace.")
    counts = dict(zip(tokens.words, tokens.counts.tolist()))
    counts.pop(UNK, None)
    kept = sorted(w for w, c in counts.items() if c >= min_count)
    kept.sort(key=counts.__getitem__, reverse=True)  # most frequent first; stable, so ties stay alphabetical
    if not kept:
        top = max(counts.values()) if counts else 0
        raise W2VError(
            f"min count {min_count} leaves an empty vocabulary (the most frequent word occurs {top} "
            f"times); lower the min count."
        )
    words = (UNK, *kept)
    index = {w: i for i, w in enumerate(words)}
    to_vocab = np.array([index.get(w, 0) for w in tokens.words], dtype=np.int32)  # out-of-vocabulary: <unk>
    vocab_counts = np.zeros(len(words), dtype=np.int64)
    vocab_counts[1:] = [counts[w] for w in kept]
    return Corpus(Vocab(words, vocab_counts, index), to_vocab[tokens.ids], tokens.line_lengths, min_count)


def load_corpus(path: str | Path | None = None, min_count: int = DEFAULTS.min_count) -> Corpus:
    """The indexed PTB training split."""
    return corpus_from_text(read_ptb_text(path), min_count=min_count)
