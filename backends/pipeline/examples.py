"""Drawing a corpus's training examples: the steps :mod:`backends.pipeline.draw` lists, vectorized so that no
Python loop runs once per token.

:func:`subsample` takes step 1 for a whole epoch; :func:`draw_centers` takes steps 2 and 3 for any centers of a
subsampling, all of them (the chapter's draw, :func:`draw_examples`) or one minibatch's (sampling at update time).
"""

from __future__ import annotations

import numpy as np

from backends.common.settings import Settings
from backends.pipeline.corpus import Corpus
from backends.pipeline.draw import Draw, Subsampling
from backends.pipeline.models import Model
from backends.pipeline.noise import NoiseSampler


def draw_examples(
    corpus: Corpus, settings: Settings, model: Model, noise: NoiseSampler, rng: np.random.Generator
) -> Draw:
    """Subsample ``corpus``, find every center's contexts, and let ``model`` lay out its output words."""
    subsampling = subsample(corpus, settings.subsample_t, rng)
    every = np.arange(subsampling.num_centers, dtype=np.int32)
    return draw_centers(subsampling, every, settings, model, noise, rng)


# Tokens subsampled at a time (whole sentences): the temporaries of one such span (a random number and a keeping
# probability a token, 8 bytes each) rather than the corpus'.
SUBSAMPLE_TOKENS = 1 << 20


def subsample(corpus: Corpus, t: float, rng: np.random.Generator, span_tokens: int = SUBSAMPLE_TOKENS) -> Subsampling:
    """Drop ``<unk>`` and thin out frequent words; the survivors of sentences left with two or more are the
    centers.

    The corpus is taken a span of whole sentences (about ``span_tokens`` tokens) at a time, twice: once to draw
    which tokens survive (one random number a known token, in corpus order, so the numbers are those of one draw
    for the whole corpus), once to lay the centers out. Besides the result, that holds a byte a token (which
    survived) and the temporaries of one span.
    """
    counts = corpus.vocab.counts
    freq = counts / max(int(counts.sum()), 1)
    with np.errstate(divide="ignore", over="ignore"):  # t / 0 and a huge t are inf: kept with probability 1
        keep_prob = np.minimum(1.0, np.sqrt(t / freq))
    bounds = np.concatenate([[0], np.cumsum(corpus.lengths)])  # sentence s is tokens bounds[s]:bounds[s + 1]
    cuts = np.searchsorted(bounds, np.arange(0, corpus.num_tokens, span_tokens))
    edges = np.unique(np.concatenate([[0], cuts, [corpus.lengths.size]])).tolist()
    spans = list(zip(edges[:-1], edges[1:]))  # ranges of sentences
    keep = np.zeros(corpus.num_tokens, dtype=bool)
    lengths = np.zeros(corpus.lengths.size, dtype=np.int64)  # survivors a sentence
    for first, last in spans:
        begin, end = bounds[first], bounds[last]
        ids, kept = corpus.ids[begin:end], keep[begin:end]
        known = ids != 0
        kept[known] = rng.random(int(known.sum())) < keep_prob[ids[known]]
        survivors = np.concatenate([[0], np.cumsum(kept)])
        lengths[first:last] = survivors[bounds[first + 1 : last + 1] - begin] - survivors[bounds[first:last] - begin]
    usable = lengths >= 2
    starts = np.concatenate([[0], np.cumsum(lengths * usable)]).astype(np.int32)  # each sentence's first center
    centers, sentence = np.empty(starts[-1], dtype=np.int32), np.empty(starts[-1], dtype=np.int32)
    for first, last in spans:
        begin, end = bounds[first], bounds[last]
        line = np.repeat(np.arange(first, last, dtype=np.int32), corpus.lengths[first:last])
        taken = keep[begin:end] & usable[line]
        where = slice(starts[first], starts[last])
        centers[where], sentence[where] = corpus.ids[begin:end][taken], line[taken]
    return Subsampling(centers, sentence, starts, int(lengths.sum()))


def draw_centers(
    subsampling: Subsampling,
    positions: np.ndarray,
    settings: Settings,
    model: Model,
    noise: NoiseSampler,
    rng: np.random.Generator,
) -> Draw:
    """The examples of the centers at ``positions`` of ``subsampling``, in that order: each one's window, drawn
    from ``rng``, gives its contexts within its sentence, and ``model`` lays out its output words from ``rng``."""
    window = rng.integers(1, settings.max_window + 1, size=positions.size, dtype=np.int32)
    contexts, num_contexts = _contexts(subsampling, positions, window, settings.max_window)
    centers = subsampling.centers[positions]
    outputs, row_of = model.outputs(contexts, num_contexts, centers, settings.noise_words, noise, rng)
    return Draw(
        centers,
        subsampling.sentence[positions],
        contexts,
        num_contexts,
        outputs,
        row_of,
        settings.noise_words,
        subsampling.subsampled_tokens,
    )


def _contexts(
    subsampling: Subsampling, positions: np.ndarray, window: np.ndarray, max_window: int
) -> tuple[np.ndarray, np.ndarray]:
    """The contexts of the centers at ``positions`` with their ``window``: left-aligned, zero-padded (int32 throughout:
    these (centers, 2 * max_window) arrays are the chapter's draw's largest), and how many are real."""
    tokens, sentence = subsampling.centers, subsampling.sentence[positions]
    start, end = subsampling.bounds[sentence], subsampling.bounds[sentence + 1]
    # The context is the run of words from `first` to `last` around the center, the center left out:
    # written left-aligned, column j holds the word at first + j, or first + j + 1 once j reaches the center.
    first, last = np.maximum(start, positions - window), np.minimum(end - 1, positions + window)
    left, num_contexts = positions - first, last - first
    columns = np.arange(2 * max_window, dtype=np.int32)[None, :]
    where = first[:, None] + columns
    where += columns >= left[:, None]
    np.minimum(where, tokens.size - 1, out=where)
    contexts = tokens[where]
    contexts *= columns < num_contexts[:, None]  # zero past the last context word (in place: fewer passes)
    return contexts, num_contexts
