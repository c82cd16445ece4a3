"""The Penn Treebank pipeline for skip-gram with negative sampling, in NumPy alone.

Every framework in this project trains on the batches built here, so this module imports no framework
and draws every random number from NumPy generators derived from one integer seed: the same seed gives
the same batches, bit for bit, whichever framework consumes them. That is what lets the four loss
curves agree to floating-point noise.

The steps are the chapter's, vectorized so that no Python loop runs once per token:

1. read ``ptb/ptb.train.txt`` straight from the shipped, sha1-checked ``data/ptb.zip``;
2. build a vocabulary of the words seen at least ``min_count`` times, ``<unk>`` at index 0;
3. drop ``<unk>`` and subsample frequent words: a token of word w survives with probability
   ``min(1, sqrt(t / f(w)))``, f(w) being w's share of the (non-``<unk>``) tokens;
4. turn every token of a sentence with at least two survivors into a center word whose context is
   every word within a window drawn uniformly from 1..max_window on each side;
5. draw K noise words per context word with probability proportional to ``count ** 0.75``, never one
   of that center's context words;
6. lay each center's row out as ``contexts, noise words, padding`` at the fixed width
   ``2 * max_window * (1 + K)``; a mask marks the real entries and a label marks the context words.

Fixed widths (and a last batch padded with empty rows) give every batch the same shape, which
compiled frameworks (JAX's jit, TensorFlow's tf.function) need to trace the training step only once.
"""

from __future__ import annotations

import hashlib
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Iterator

import numpy as np

from backends.errors import W2VError
from backends.files import readable_file
from backends.resources import check_memory
from backends.tokenizer import tokenize

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
PTB_ZIP = DATA_DIR / "ptb.zip"
PTB_SHA1 = "319d85e578af0cdc590547f26231e4e31cdf1e42"
PTB_SPLITS = ("train", "valid", "test")
UNK = "<unk>"

# Separate random streams derived from the one seed, so that drawing the batches never shifts the
# initial weights and one epoch's shuffle never depends on how many numbers an earlier step used.
STREAM_BUILD, STREAM_SHUFFLE, STREAM_INIT = 0, 1, 2


def rng_for(seed: int, stream: int, epoch: int = 0) -> np.random.Generator:
    """The generator of one random stream (build, shuffle or init) of one epoch under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, epoch)))


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
    min_count: int = 10  # the count a word needed to enter the vocabulary

    @property
    def num_tokens(self) -> int:
        return int(self.ids.size)


def corpus_from_text(text: str, min_count: int = 10) -> Corpus:
    """Tokenize ``text`` (one sentence a line, words split on whitespace) and index it."""
    if min_count < 1:
        raise W2VError(f"min count {min_count} is out of range: it must be at least 1.")
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


def load_corpus(path: str | Path | None = None, min_count: int = 10) -> Corpus:
    """The indexed PTB training split."""
    return corpus_from_text(read_ptb_text(path), min_count=min_count)


MODELS = ("skipgram", "cbow")
NOISE_POWERS = {"unigram75": 0.75, "uniform": 0.0}


class _NamedArrays:
    """What both kinds of batch share: their arrays by name, in the order ``NAMES`` gives."""

    NAMES: ClassVar[tuple[str, ...]] = ()

    def arrays(self, float_dtype: np.dtype | type = np.float32) -> dict[str, np.ndarray]:
        """The arrays by name, for a backend to convert to its tensors: indices as they are, masks and
        labels in ``float_dtype`` (the tables' dtype: float64 in the gradient checks)."""
        named = {name: getattr(self, name) for name in self.NAMES}
        return {name: a.astype(float_dtype, copy=False) if a.dtype.kind == "f" else a for name, a in named.items()}


@dataclass(frozen=True)
class Batch(_NamedArrays):
    """One skip-gram minibatch as plain NumPy arrays; every batch of a dataset has the same shapes.

    ``size`` counts the real rows: a padded last batch ends in rows whose mask is all zero, which
    contribute exactly zero to the loss and its gradient.
    """

    centers: np.ndarray  # (B, 1) int32
    contexts_negatives: np.ndarray  # (B, W) int32
    mask: np.ndarray  # (B, W) float32, 1 = a real context or noise word
    label: np.ndarray  # (B, W) float32, 1 = a context word
    size: int

    NAMES = ("centers", "contexts_negatives", "mask", "label")


@dataclass(frozen=True)
class CbowBatch(_NamedArrays):
    """One CBOW minibatch: the context words predict their center against K noise words.

    Each row's targets are ``center, noise words``; its label is 1 for the center alone. The context
    mask marks the real context words, whose vectors are averaged.
    """

    contexts: np.ndarray  # (B, 2 * max_window) int32
    context_mask: np.ndarray  # (B, 2 * max_window) float32
    targets: np.ndarray  # (B, 1 + K) int32
    mask: np.ndarray  # (B, 1 + K) float32, all ones on real rows
    label: np.ndarray  # (B, 1 + K) float32, 1 for the center
    size: int

    NAMES = ("contexts", "context_mask", "targets", "mask", "label")


def noise_distribution(counts: np.ndarray, power: float = 0.75) -> np.ndarray:
    """P(w) ∝ count(w) ** power over the vocabulary (power 0: uniform); ``<unk>`` gets probability 0."""
    weights = counts.astype(np.float64) ** power
    weights[0] = 0.0
    return weights / weights.sum()


class AliasSampler:
    """Draws from a fixed discrete distribution in O(1) per draw (Walker's alias method).

    Noise words are the pipeline's largest draw (about 7.5 million per epoch on PTB); a binary search
    over the cumulative distribution per draw costs several times more than two uniform numbers and
    two table look-ups.
    """

    def __init__(self, probs: np.ndarray) -> None:
        size = probs.size
        scaled = (probs * size).tolist()  # Python floats: the loop below is faster on them than on NumPy's
        accept, alias = [1.0] * size, list(range(size))
        small = [i for i in range(size) if scaled[i] < 1.0]
        large = [i for i in range(size) if scaled[i] >= 1.0]
        while small and large:
            lo, hi = small.pop(), large.pop()
            accept[lo], alias[lo] = scaled[lo], hi
            scaled[hi] -= 1.0 - scaled[lo]
            (small if scaled[hi] < 1.0 else large).append(hi)
        self.accept = np.array(accept, dtype=np.float32)
        self.alias = np.array(alias, dtype=np.int32)

    def draw(self, rng: np.random.Generator, shape: int | tuple[int, ...]) -> np.ndarray:
        column = rng.integers(0, self.accept.size, size=shape, dtype=np.int32)
        keep = rng.random(shape, dtype=np.float32) < self.accept[column]
        alias = self.alias[column]
        return alias + keep * (column - alias)  # np.where(keep, column, alias), three times faster here


class Word2VecData:
    """Centers, contexts and noise words drawn from a corpus, served as fixed-shape batches.

    ``model`` picks the batches: "skipgram" (a center scores its contexts against K noise words per
    context word) or "cbow" (the averaged contexts score the center against K noise words). ``noise``
    picks the noise distribution: "unigram75" (count ** 0.75, the chapter's) or "uniform".

    The draw (subsampling, windows, noise words) happens once at construction; with
    ``resample_each_epoch`` (the chapter's exercise) every epoch after the first draws anew. Each
    epoch's order is a permutation drawn from its own stream, so epoch e's batches depend only on the
    seed and e: a second call of :meth:`batches` with the same epoch gives the same batches.
    """

    def __init__(
        self,
        corpus: Corpus,
        *,
        model: str = "skipgram",
        max_window: int = 5,
        num_noise: int = 5,
        noise: str = "unigram75",
        subsample_t: float = 1e-4,
        seed: int = 0,
        resample_each_epoch: bool = False,
    ) -> None:
        if model not in MODELS:
            raise W2VError(f"unknown model {model!r}; choose one of {', '.join(MODELS)}.")
        if noise not in NOISE_POWERS:
            raise W2VError(f"unknown noise distribution {noise!r}; choose one of {', '.join(NOISE_POWERS)}.")
        if max_window < 1:
            raise W2VError(f"max window {max_window} is out of range: it must be at least 1.")
        if num_noise < 1:
            raise W2VError(f"the number of noise words {num_noise} is out of range: it must be at least 1.")
        if seed < 0:
            raise W2VError(f"seed {seed} is out of range: it must be 0 or more.")
        width = 2 * max_window * (1 + num_noise)
        # The draw's largest arrays, per token at most: its row of the table, its contexts and the noise draw's
        # temporaries (measured: ~280 bytes a center with the chapter's settings, where this says ~300).
        check_memory(corpus.num_tokens * (4 * width + 8 * max_window + 16),
                     f"drawing the dataset with max window {max_window} and {num_noise} noise words",
                     "lower the max window (--max-window) or the number of noise words (--num-noise).")
        self.corpus, self.vocab, self.model, self.noise = corpus, corpus.vocab, model, noise
        self.max_window, self.num_noise, self.subsample_t = max_window, num_noise, subsample_t
        self.seed, self.resample_each_epoch = seed, resample_each_epoch
        self.width = width
        self.noise_probs = noise_distribution(corpus.vocab.counts, NOISE_POWERS[noise])
        self._sampler = AliasSampler(self.noise_probs)
        start = time.perf_counter()
        self._draw(rng_for(seed, STREAM_BUILD, 0))
        self._drawn_for = 0
        self.build_seconds = time.perf_counter() - start

    # -- the draw -------------------------------------------------------------------------------------

    def _draw(self, rng: np.random.Generator) -> None:
        tokens, sentence = self._subsample(rng)
        self.subsampled_tokens = int(tokens.size)
        self.centers, self.contexts, self.num_contexts, self.center_sentence = self._centers_and_contexts(
            tokens, sentence, rng
        )
        if self.model == "skipgram":
            self._with_noise(self.contexts, self.num_contexts, rng)
        else:
            self.noise_words = self._noise_avoiding(self.centers[:, None], self.num_noise, rng)

    def _subsample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Drop ``<unk>`` and thin out frequent words; returns surviving ids and their sentence index."""
        ids = self.corpus.ids
        sentence = np.repeat(np.arange(self.corpus.lengths.size, dtype=np.int32), self.corpus.lengths)
        known = ids != 0
        ids, sentence = ids[known], sentence[known]
        freq = self.vocab.counts / max(int(self.vocab.counts.sum()), 1)
        with np.errstate(divide="ignore"):
            keep_prob = np.minimum(1.0, np.sqrt(self.subsample_t / freq))
        keep = rng.random(ids.size) < keep_prob[ids]
        return ids[keep], sentence[keep]

    def _centers_and_contexts(
        self, tokens: np.ndarray, sentence: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every token of a sentence with >= 2 tokens is a center; contexts come left-aligned."""
        lengths = np.bincount(sentence, minlength=self.corpus.lengths.size)
        usable = lengths[sentence] >= 2
        tokens, sentence = tokens[usable], sentence[usable]
        # int32 throughout: these (centers, 2 * max_window) arrays are the pipeline's largest
        ends = np.cumsum(lengths * (lengths >= 2)).astype(np.int32)
        end = ends[sentence]
        start = end - lengths[sentence].astype(np.int32)
        position = np.arange(tokens.size, dtype=np.int32)
        window = rng.integers(1, self.max_window + 1, size=tokens.size, dtype=np.int32)
        # The context is the run of words from `first` to `last` around the center, the center left out:
        # written left-aligned, column j holds the word at first + j, or first + j + 1 once j reaches the center.
        first, last = np.maximum(start, position - window), np.minimum(end - 1, position + window)
        left, num_contexts = position - first, last - first
        columns = np.arange(2 * self.max_window, dtype=np.int32)[None, :]
        where = first[:, None] + columns
        where += columns >= left[:, None]
        np.minimum(where, tokens.size - 1, out=where)
        contexts = tokens[where]
        contexts *= columns < num_contexts[:, None]  # zero past the last context word (in place: fewer passes)
        return tokens.astype(np.int32, copy=False), contexts, num_contexts, sentence

    def _noise_avoiding(self, avoid: np.ndarray, per_row: int, rng: np.random.Generator) -> np.ndarray:
        """``per_row`` noise words for each row of ``avoid``, none equal to a word of that row.

        Draws the whole (rows, per_row) block at once, then draws again just the entries that hit a
        word to avoid, until none does.
        """
        self._check_noise_can_avoid(avoid)
        noise = self._sampler.draw(rng, (avoid.shape[0], per_row))
        clash = noise == avoid[:, :1]
        for column in range(1, avoid.shape[1]):  # a few passes over 2-D arrays beat one 3-D comparison
            clash |= noise == avoid[:, column : column + 1]
        clash_row, clash_col = np.divmod(np.flatnonzero(clash), per_row)  # faster than np.nonzero here
        while clash_row.size:
            redraw = self._sampler.draw(rng, clash_row.size)
            noise[clash_row, clash_col] = redraw
            again = (redraw[:, None] == avoid[clash_row]).any(axis=1)
            clash_row, clash_col = clash_row[again], clash_col[again]
        return noise

    def _check_noise_can_avoid(self, avoid: np.ndarray) -> None:
        """Refuse rows whose words to avoid are every word noise can be: redrawing would never end."""
        support = np.flatnonzero(self.noise_probs)
        if support.size > avoid.shape[1] or avoid.shape[0] == 0:
            return  # more noise words than any row avoids: every row has some left
        covered = np.ones(avoid.shape[0], dtype=bool)
        for word in support:
            covered &= (avoid == word).any(axis=1)
        if covered.any():
            raise W2VError(
                f"the vocabulary has only {support.size} word(s), too few to draw noise words that differ from a "
                f"center's context words; use a larger corpus or a lower min count."
            )

    def _with_noise(self, contexts: np.ndarray, num_contexts: np.ndarray, rng: np.random.Generator) -> None:
        """Skip-gram rows of ``contexts, K noise words per context, zeros`` at the fixed width.

        Rows are handled in groups of equal context count n, so that each group is one dense
        (rows, n * K) draw that avoids exactly its (rows, n) contexts. The table keeps the rows in
        that group order, each group one contiguous block (writing blocks is several times faster than
        scattering rows back to their centers' places); ``_row_of[i]`` is center i's row in it.
        """
        counts = num_contexts.astype(np.min_scalar_type(contexts.shape[1]))  # small ints: NumPy radix-sorts them
        order = np.argsort(counts, kind="stable")
        group_ends = np.cumsum(np.bincount(num_contexts, minlength=contexts.shape[1] + 1))
        # This table is the pipeline's largest array, and the first writes into fresh memory cost more than
        # the rest of its filling: uint16 where the vocabulary allows (41 MB on PTB, not 82), and np.full, not
        # np.zeros, whose calloc'd memory NumPy does not ask the kernel to back with huge pages (10,000 page
        # faults on PTB instead of a few hundred).
        dtype = np.uint16 if len(self.vocab) <= np.iinfo(np.uint16).max + 1 else np.int32
        table = np.full((contexts.shape[0], self.width), 0, dtype=dtype)
        for n in range(1, contexts.shape[1] + 1):
            begin, end = group_ends[n - 1], group_ends[n]
            if end > begin:
                own = np.take(contexts, order[begin:end], axis=0)[:, :n]  # take: 3x faster than [rows, :n]
                table[begin:end, :n] = own
                table[begin:end, n : n * (1 + self.num_noise)] = self._noise_avoiding(own, n * self.num_noise, rng)
        self._skipgram_rows = table
        self._row_of = np.empty_like(order)
        self._row_of[order] = np.arange(order.size)

    @property
    def contexts_negatives(self) -> np.ndarray:
        """Every center's skip-gram row, (centers, width), in center order (a new array, built on request)."""
        return self._skipgram_rows[self._row_of].astype(np.int32)

    def settings(self) -> dict:
        """Everything that shapes this dataset's batches, as recorded with a run (a checkpoint must match it)."""
        return {"model": self.model, "noise": self.noise, "resample_each_epoch": self.resample_each_epoch,
                "min_count": self.corpus.min_count, "max_window": self.max_window, "num_noise": self.num_noise,
                "subsample_t": self.subsample_t, "vocab_size": len(self.vocab), "corpus_tokens": self.corpus.num_tokens}

    # -- serving --------------------------------------------------------------------------------------

    @property
    def num_centers(self) -> int:
        return int(self.centers.size)

    @property
    def num_pairs(self) -> int:
        return int(self.num_contexts.sum())

    def num_batches(self, batch_size: int) -> int:
        if batch_size < 1:
            raise W2VError(f"batch size {batch_size} is out of range: it must be at least 1.")
        return -(-self.num_centers // batch_size)

    def subsampled_sentences(self) -> list[list[str]]:
        """The sentences as drawn (after subsampling, at least two words each), as words."""
        words = np.array(self.vocab.tokens, dtype=object)[self.centers]
        breaks = np.flatnonzero(np.diff(self.center_sentence)) + 1
        return [list(sentence) for sentence in np.split(words, breaks)]

    def batches(self, batch_size: int = 512, epoch: int = 0) -> Iterator[Batch | CbowBatch]:
        """The batches of one epoch, shuffled; the last is padded with empty rows to full size."""
        if batch_size < 1:
            raise W2VError(f"batch size {batch_size} is out of range: it must be at least 1.")
        if self.resample_each_epoch and epoch != self._drawn_for:
            self._draw(rng_for(self.seed, STREAM_BUILD, epoch))
            self._drawn_for = epoch
        order = rng_for(self.seed, STREAM_SHUFFLE, epoch).permutation(self.num_centers)
        serve = self._skipgram_batch if self.model == "skipgram" else self._cbow_batch
        for begin in range(0, self.num_centers, batch_size):
            rows = order[begin : begin + batch_size]
            size = rows.size
            if size < batch_size:
                rows = np.concatenate([rows, np.full(batch_size - size, -1)])
            yield serve(rows, size)

    def _skipgram_batch(self, rows: np.ndarray, size: int) -> Batch:
        real = (rows >= 0)[:, None]
        n = np.where(real[:, 0], self.num_contexts[rows], 0)[:, None]
        columns = np.arange(self.width)[None, :]
        return Batch(
            centers=np.where(real, self.centers[rows][:, None], 0).astype(np.int32),
            contexts_negatives=np.where(real, self._skipgram_rows[self._row_of[rows]], 0).astype(np.int32),
            mask=(columns < n * (1 + self.num_noise)).astype(np.float32),
            label=(columns < n).astype(np.float32),
            size=size,
        )

    def _cbow_batch(self, rows: np.ndarray, size: int) -> CbowBatch:
        real = (rows >= 0)[:, None]
        n = np.where(real[:, 0], self.num_contexts[rows], 0)[:, None]
        targets = np.concatenate([self.centers[rows][:, None], self.noise_words[rows]], axis=1)
        label = np.zeros(targets.shape, dtype=np.float32)
        label[:, 0] = 1
        return CbowBatch(
            contexts=np.where(real, self.contexts[rows], 0),
            context_mask=(np.arange(self.contexts.shape[1])[None, :] < n).astype(np.float32),
            targets=np.where(real, targets, 0).astype(np.int32),
            mask=np.broadcast_to(real, targets.shape).astype(np.float32),
            label=label * real,
            size=size,
        )

    def stats(self, batch_size: int = 512) -> dict:
        """The figures the chapter prints, plus how long the draw took."""
        return {
            "vocab_size": len(self.vocab),
            "sentences": int(self.corpus.lengths.size),
            "tokens": self.corpus.num_tokens,
            "subsampled_tokens": self.subsampled_tokens,
            "centers": self.num_centers,
            "pairs": self.num_pairs,
            "batches": self.num_batches(batch_size),
            "build_seconds": round(self.build_seconds, 4),
        }


def load_data(
    path: str | Path | None = None,
    *,
    min_count: int = 10,
    model: str = "skipgram",
    max_window: int = 5,
    num_noise: int = 5,
    noise: str = "unigram75",
    seed: int = 0,
    resample_each_epoch: bool = False,
) -> Word2VecData:
    """Read the shipped PTB and draw its dataset; ``build_seconds`` covers all of it."""
    start = time.perf_counter()
    data = Word2VecData(
        load_corpus(path, min_count),
        model=model,
        max_window=max_window,
        num_noise=num_noise,
        noise=noise,
        seed=seed,
        resample_each_epoch=resample_each_epoch,
    )
    data.build_seconds = time.perf_counter() - start
    return data
