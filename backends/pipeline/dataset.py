"""A dataset: a corpus, the data settings, and the draws of examples served as fixed-shape batches.

Every framework in this project trains on the batches built here, so the pipeline imports no framework
and draws every random number from NumPy generators derived from one integer seed: the same seed gives
the same batches, bit for bit, whichever framework consumes them. That is what lets the four loss
curves agree to floating-point noise.

The first draw is made when the dataset is; with ``resample_each_epoch`` (the chapter's exercise) every
later epoch is served from a draw of its own, made from the seed and the epoch alone. Each epoch's order is
a permutation drawn from its own stream too, so epoch e's batches depend only on the seed and e: asking for
them twice gives the same batches, and a resumed run sees exactly the batches it would have seen.

With ``sample_each_batch`` (sampling at update time, the chapter's exercise 2) no epoch is drawn whole: the
dataset keeps the subsampled centers alone (a few numbers a token), shuffles them each epoch as above, and
draws each minibatch's windows, contexts and noise words when it is served, from a generator of the seed, the
epoch and the batch's number alone. So batch b of epoch e is the same whoever asks and however many batches
were skipped before it, and memory stays a few numbers a token plus the batch being drawn. The batch is drawn
on the training thread, between two steps (0.76 s an epoch on PTB, about 1 ms a batch): a thread drawing a few
batches ahead was measured, and on a 2-core machine it lost more to the framework's own threads (PyTorch's two)
than it overlapped (103 steps/s against 112 drawn in turn). The two settings together make the 2x2 that tells
their effects apart:

=========================  =======================================  ==========================================
..                         one subsampling                          ``resample_each_epoch``
=========================  =======================================  ==========================================
one draw an epoch          the chapter's: one draw for every epoch  a new draw each epoch
``sample_each_batch``      epoch 0's subsampling kept; new          subsampling redrawn each epoch; new
                           contexts and noise words every batch     contexts and noise words every batch
=========================  =======================================  ==========================================

Each center's row is laid out at a fixed width (skip-gram: ``contexts, noise words, padding`` at
``2 * max_window * (1 + K)``) with a mask for the real entries and a label for the context words. Fixed
widths (and a last batch padded with empty rows) give every batch the same shape, which compiled frameworks
(JAX's jit, TensorFlow's tf.function) need to trace the training step only once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from backends.common.errors import W2VError
from backends.common.resources import check_memory
from backends.common.seeds import STREAM_BATCH, STREAM_BUILD, STREAM_SHUFFLE, rng_for
from backends.common.settings import DATA, DEFAULTS, NOISE_POWERS, Settings
from backends.pipeline import objectives
from backends.pipeline.corpus import Corpus, Vocab, load_corpus
from backends.pipeline.draw import Draw, Subsampling
from backends.pipeline.examples import draw_centers, draw_examples, subsample
from backends.pipeline.huffman import HuffmanTree, huffman_tree
from backends.pipeline.models import MODELS, Batch, Model
from backends.pipeline.noise import NoiseSampler

# The bytes a token costs with sample_each_batch: subsampling's widest moment (a byte a token: whether it survived;
# the kept Subsampling, and one span of examples.SUBSAMPLE_TOKENS tokens' temporaries, about 35 MiB whatever the
# corpus' size), whatever the window and the noise words. tracemalloc's peak over the corpus' tokens on a Zipf corpus
# of 10 million (`tools/memory.py zipf`): 8.2 with the chapter's t, 12.1 with every known word kept (t = 1e9); a
# margin over the latter. (A corpus of one span, PTB's size, peaks at 31 a token: 27 MiB at most.)
SUBSAMPLING_BYTES_PER_WORD = 16


@dataclass(frozen=True)
class Dataset:
    """Made by :func:`make_dataset` or :func:`load_data`; nothing in it changes once made."""

    corpus: Corpus
    settings: Settings  # the data settings are the ones it was drawn with; the training ones are defaults
    model: Model
    noise: NoiseSampler = field(repr=False)
    # Epoch 0's draw, which every epoch uses unless resampling; with sample_each_batch, epoch 0's subsampling,
    # from which each batch is drawn (every epoch's, unless resampling).
    first: Draw | Subsampling = field(repr=False)
    build_seconds: float  # how long making it took (reading the corpus too, with load_data)
    tree: HuffmanTree | None = field(default=None, repr=False)  # hierarchical softmax's, over the vocabulary

    @property
    def vocab(self) -> Vocab:
        return self.corpus.vocab

    @property
    def num_centers(self) -> int:
        return self.first.num_centers

    @property
    def width(self) -> int:
        """How many entries each example's row holds (words, or with hierarchical softmax inner nodes)."""
        return objectives.width(self.settings, self.model, self.tree)

    @property
    def output_rows(self) -> int:
        """Rows of the table the output words are looked up in: a word's, or an inner node's of the tree."""
        return objectives.output_rows(self.settings, len(self.vocab))

    def draw(self, epoch: int = 0) -> Draw:
        """The examples epoch ``epoch`` trains on: the first draw, or with resampling, that epoch's own."""
        if isinstance(self.first, Subsampling):
            raise W2VError(
                "this dataset samples at update time (sample_each_batch): it draws each minibatch as it is "
                "served and never a whole epoch; use its batches(), or load the data without sample_each_batch."
            )
        if epoch == 0 or not self.settings.resample_each_epoch:
            return self.first
        return draw_examples(
            self.corpus, self.settings, self.model, self.noise, rng_for(self.settings.seed, STREAM_BUILD, epoch)
        )

    def subsampling(self, epoch: int = 0) -> Subsampling:
        """Epoch ``epoch``'s centers after subsampling: epoch 0's for every epoch unless resampling. With
        sample_each_batch, what the epoch's batches are drawn from; otherwise its draw's first step, made again
        (quickly: no windows, no noise words)."""
        if not self.settings.resample_each_epoch:
            epoch = 0
        if epoch == 0 and isinstance(self.first, Subsampling):
            return self.first
        return subsample(self.corpus, self.settings.subsample_t, rng_for(self.settings.seed, STREAM_BUILD, epoch))

    def num_batches(self, batch_size: int, epoch: int = 0) -> int:
        """Batches of ``batch_size`` centers in epoch ``epoch`` (all epochs have as many unless resampling)."""
        DEFAULTS.replace(batch_size=batch_size)  # its range, checked where the setting is declared
        if epoch == 0 or not self.settings.resample_each_epoch:
            return -(-self.first.num_centers // batch_size)
        return -(-self.subsampling(epoch).num_centers // batch_size)

    def batches(self, batch_size: int = DEFAULTS.batch_size, epoch: int = 0, start: int = 0) -> Iterator[Batch]:
        """The batches of one epoch from its batch ``start`` on (a resumed run's, which skips the others without
        drawing them), shuffled; the last is padded with empty rows to full size."""
        DEFAULTS.replace(batch_size=batch_size)
        if isinstance(self.first, Subsampling):
            yield from self._sampled_batches(batch_size, epoch, start)
        else:
            yield from self._drawn_batches(batch_size, epoch, start)

    def _drawn_batches(self, batch_size: int, epoch: int, start: int) -> Iterator[Batch]:
        """Batches cut from the epoch's whole draw."""
        draw = self.draw(epoch)
        order = _shuffled(self.settings.seed, epoch, draw.num_centers)
        for begin in range(start * batch_size, draw.num_centers, batch_size):
            rows = order[begin : begin + batch_size]
            yield self._finish(self.model.batch(draw, _padded(rows, batch_size), rows.size))

    def _sampled_batches(self, batch_size: int, epoch: int, start: int) -> Iterator[Batch]:
        """Batches each drawn as it is served, from the seed, the epoch and its number alone."""
        subsampling = self.subsampling(epoch)
        order = _shuffled(self.settings.seed, epoch, subsampling.num_centers)
        for begin in range(start * batch_size, subsampling.num_centers, batch_size):
            positions = order[begin : begin + batch_size]
            rng = rng_for(self.settings.seed, STREAM_BATCH, epoch, begin // batch_size)
            draw = draw_centers(subsampling, positions, self.settings, self.model, self.noise, rng)
            yield self._finish(self.model.batch(draw, _padded(np.arange(positions.size), batch_size), positions.size))

    def _finish(self, batch: Batch) -> Batch:
        """The model's batch as the objective trains on it (:func:`backends.pipeline.objectives.finish`)."""
        return objectives.finish(batch, self.tree, self.settings.objective == "full_softmax")

    def subsampled_sentences(self) -> list[list[str]]:
        """The first draw's sentences (after subsampling, at least two words each), as words."""
        words = np.array(self.vocab.tokens, dtype=object)[self.first.centers]
        breaks = np.flatnonzero(np.diff(self.first.sentence)) + 1
        return [list(sentence) for sentence in np.split(words, breaks)]

    def stats(self, batch_size: int = DEFAULTS.batch_size) -> dict[str, Any]:
        """The figures the chapter prints, plus how long making the dataset took. With sample_each_batch the
        pairs are drawn batch by batch, so their count is given as ``expected_pairs``, its mean over draws."""
        first = self.first
        pairs = (
            {"expected_pairs": round(first.expected_pairs(self.settings.max_window))}
            if isinstance(first, Subsampling)
            else {"pairs": first.num_pairs}
        )
        return {
            "vocab_size": len(self.vocab),
            "sentences": int(self.corpus.lengths.size),
            "tokens": self.corpus.num_tokens,
            "subsampled_tokens": first.subsampled_tokens,
            "centers": first.num_centers,
            **pairs,
            "batches": self.num_batches(batch_size),
            "build_seconds": round(self.build_seconds, 4),
        }


def make_dataset(
    corpus: Corpus, settings: Settings | None = None, *, started: float | None = None, **changes: Any
) -> Dataset:
    """Draw the dataset of ``corpus`` with ``settings`` (the chapter's, and the corpus' min count, by default)
    and ``changes`` to them.

    ``changes`` may only be data settings (the seed, the model, the window, ...); ``started`` is when the work
    began, for ``build_seconds``, if earlier than now (reading the corpus, say).
    """
    started = time.perf_counter() if started is None else started
    settings = (settings or Settings(min_count=corpus.min_count)).replace(**changes)
    training = sorted(set(changes) - set(settings.group(DATA)))
    if training:
        raise W2VError(f"{', '.join(training)} is a training setting, not the data's: give it to train().")
    if settings.min_count != corpus.min_count:
        raise W2VError(
            f"the corpus was indexed with min count {corpus.min_count}, the settings say "
            f"{settings.min_count}; index it again with load_corpus(min_count={settings.min_count})."
        )
    model = MODELS[settings.model]
    if settings.sample_each_batch:  # no epoch drawn whole: only the corpus' size counts
        what, fix = "subsampling the corpus", "give a smaller corpus (--data)."
    else:
        what = f"drawing the dataset with max window {settings.max_window} and {settings.num_noise} noise words"
        fix = f"{_draw_less(settings)}."
    check_memory(corpus.num_tokens * draw_bytes_per_word(settings), what, fix)
    noise = NoiseSampler(corpus.vocab.counts, NOISE_POWERS[settings.noise])
    rng = rng_for(settings.seed, STREAM_BUILD, 0)
    first = (
        subsample(corpus, settings.subsample_t, rng)
        if settings.sample_each_batch
        else draw_examples(corpus, settings, model, noise, rng)
    )
    if not first.num_centers:
        raise W2VError(_no_examples(corpus, settings))
    tree = huffman_tree(corpus.vocab.counts) if settings.objective == "hierarchical_softmax" else None
    return Dataset(corpus, settings, model, noise, first, time.perf_counter() - started, tree)


def draw_bytes_per_word(settings: Settings) -> int:
    """The draw's largest arrays, per token at most: its row of the table, its contexts and the noise draw's
    temporaries (an upper bound: docs/performance.md has the bytes measured a center); with sample_each_batch,
    which draws no epoch whole, the subsampling's few numbers a token."""
    if settings.sample_each_batch:
        return SUBSAMPLING_BYTES_PER_WORD
    width = MODELS[settings.model].width(settings.max_window, settings.noise_words)
    return 4 * width + 8 * settings.max_window + 16


def _draw_less(settings: Settings) -> str:
    """The settings that make a draw of ``settings`` smaller, for a message that it would not fit ("" with
    sample_each_batch, whose draw is the subsampling alone: only a smaller corpus makes it smaller)."""
    if settings.sample_each_batch:
        return ""
    return (
        "lower the max window (--max-window) or the number of noise words (--num-noise), or sample at update "
        "time (--sample-each-batch), which draws no epoch whole"
    )


def _shuffled(seed: int, epoch: int, size: int) -> np.ndarray:
    """0 to ``size - 1`` in epoch ``epoch``'s order: the order NumPy's ``permutation(size)`` gives, as int32
    (4 bytes a center where ``permutation`` gives 8)."""
    order = np.arange(size, dtype=np.int32)
    rng_for(seed, STREAM_SHUFFLE, epoch).shuffle(order)
    return order


def _padded(rows: np.ndarray, batch_size: int) -> np.ndarray:
    """A batch's ``rows`` followed by -1 (a padding row) up to ``batch_size`` rows."""
    if rows.size == batch_size:
        return rows
    return np.concatenate([rows, np.full(batch_size - rows.size, -1)])


def _no_examples(corpus: Corpus, settings: Settings) -> str:
    """Why a draw of ``corpus`` holds no center word (one needs a sentence with two words left), and the fix."""
    known = corpus.ids != 0
    sentence = np.repeat(np.arange(corpus.lengths.size), corpus.lengths)
    if (np.bincount(sentence[known], minlength=corpus.lengths.size) >= 2).any():
        why = (
            f"subsampling leaves no sentence with two words (it drops a word w with probability 1 - sqrt(t / "
            f"f(w)), f(w) its share of the corpus, and in a small corpus every word has a large share); raise the "
            f"subsampling threshold (--subsample-t, now {settings.subsample_t:g}) so that fewer are dropped, or "
            f"give more text"
        )
    elif settings.min_count > 1:
        why = (
            f"no sentence (line) has two words of the vocabulary, which holds the words seen at least "
            f"{settings.min_count} times (--min-count); lower the min count, or give text with several words a line"
        )
    else:
        why = "no sentence (line) has two words; give text with one sentence a line, several words in each"
    return f"the corpus gives no training example: a center word needs a context word in its sentence, but {why}."


def load_data(path: str | Path | None = None, settings: Settings | None = None, **changes: Any) -> Dataset:
    """Read the shipped PTB (or the zip at ``path``, else ``settings.data``) and draw its dataset."""
    started = time.perf_counter()
    settings = settings or Settings()
    wanted = settings.replace(**changes)
    corpus = load_corpus(
        path if path is not None else wanted.data, wanted.min_count, draw_bytes_per_word(wanted), _draw_less(wanted)
    )
    return make_dataset(corpus, settings, started=started, **changes)
