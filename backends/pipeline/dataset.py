"""A dataset: a corpus, the data settings, and the draws of examples served as fixed-shape batches.

Every framework in this project trains on the batches built here, so the pipeline imports no framework
and draws every random number from NumPy generators derived from one integer seed: the same seed gives
the same batches, bit for bit, whichever framework consumes them. That is what lets the four loss
curves agree to floating-point noise.

The first draw is made when the dataset is; with ``resample_each_epoch`` (the chapter's exercise) every
later epoch is served from a draw of its own, made from the seed and the epoch alone. Each epoch's order is
a permutation drawn from its own stream too, so epoch e's batches depend only on the seed and e: asking for
them twice gives the same batches, and a resumed run sees exactly the batches it would have seen.

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
from backends.common.seeds import STREAM_BUILD, STREAM_SHUFFLE, rng_for
from backends.common.settings import DATA, DEFAULTS, NOISE_POWERS, Settings
from backends.pipeline.corpus import Corpus, Vocab, load_corpus
from backends.pipeline.draw import Draw
from backends.pipeline.examples import draw_examples
from backends.pipeline.models import MODELS, Batch, Model
from backends.pipeline.noise import NoiseSampler


@dataclass(frozen=True)
class Dataset:
    """Made by :func:`make_dataset` or :func:`load_data`; nothing in it changes once made."""

    corpus: Corpus
    settings: Settings  # the data settings are the ones it was drawn with; the training ones are defaults
    model: Model
    noise: NoiseSampler = field(repr=False)
    first: Draw = field(repr=False)  # epoch 0's draw, which every epoch uses unless resampling
    build_seconds: float  # how long making it took (reading the corpus too, with load_data)

    @property
    def vocab(self) -> Vocab:
        return self.corpus.vocab

    @property
    def num_centers(self) -> int:
        return self.first.num_centers

    @property
    def width(self) -> int:
        """How many words each example scores."""
        return self.model.width(self.settings.max_window, self.settings.num_noise)

    def draw(self, epoch: int = 0) -> Draw:
        """The examples epoch ``epoch`` trains on: the first draw, or with resampling, that epoch's own."""
        if epoch == 0 or not self.settings.resample_each_epoch:
            return self.first
        return draw_examples(
            self.corpus, self.settings, self.model, self.noise, rng_for(self.settings.seed, STREAM_BUILD, epoch)
        )

    def num_batches(self, batch_size: int, draw: Draw | None = None) -> int:
        """Batches of ``batch_size`` centers in one epoch (of ``draw``, or of the first draw)."""
        DEFAULTS.replace(batch_size=batch_size)  # its range, checked where the setting is declared
        return -(-(draw or self.first).num_centers // batch_size)

    def batches(self, batch_size: int = DEFAULTS.batch_size, epoch: int = 0) -> Iterator[Batch]:
        """The batches of one epoch, shuffled; the last is padded with empty rows to full size."""
        DEFAULTS.replace(batch_size=batch_size)
        draw = self.draw(epoch)
        order = rng_for(self.settings.seed, STREAM_SHUFFLE, epoch).permutation(draw.num_centers)
        for begin in range(0, draw.num_centers, batch_size):
            rows = order[begin : begin + batch_size]
            size = rows.size
            if size < batch_size:
                rows = np.concatenate([rows, np.full(batch_size - size, -1)])
            yield self.model.batch(draw, rows, size)

    def subsampled_sentences(self) -> list[list[str]]:
        """The first draw's sentences (after subsampling, at least two words each), as words."""
        words = np.array(self.vocab.tokens, dtype=object)[self.first.centers]
        breaks = np.flatnonzero(np.diff(self.first.sentence)) + 1
        return [list(sentence) for sentence in np.split(words, breaks)]

    def stats(self, batch_size: int = DEFAULTS.batch_size) -> dict[str, Any]:
        """The figures the chapter prints, plus how long making the dataset took."""
        return {
            "vocab_size": len(self.vocab),
            "sentences": int(self.corpus.lengths.size),
            "tokens": self.corpus.num_tokens,
            "subsampled_tokens": self.first.subsampled_tokens,
            "centers": self.first.num_centers,
            "pairs": self.first.num_pairs,
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
    check_memory(
        corpus.num_tokens * draw_bytes_per_word(settings),
        f"drawing the dataset with max window {settings.max_window} and {settings.num_noise} noise words",
        "lower the max window (--max-window) or the number of noise words (--num-noise).",
    )
    noise = NoiseSampler(corpus.vocab.counts, NOISE_POWERS[settings.noise])
    first = draw_examples(corpus, settings, model, noise, rng_for(settings.seed, STREAM_BUILD, 0))
    if not first.num_centers:
        raise W2VError(_no_examples(corpus, settings))
    return Dataset(corpus, settings, model, noise, first, time.perf_counter() - started)


def draw_bytes_per_word(settings: Settings) -> int:
    """The draw's largest arrays, per token at most: its row of the table, its contexts and the noise draw's
    temporaries (an upper bound: docs/performance.md has the bytes measured a center)."""
    width = MODELS[settings.model].width(settings.max_window, settings.num_noise)
    return 4 * width + 8 * settings.max_window + 16


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
    corpus = load_corpus(path if path is not None else wanted.data, wanted.min_count, draw_bytes_per_word(wanted))
    return make_dataset(corpus, settings, started=started, **changes)
