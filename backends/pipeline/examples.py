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


def subsample(corpus: Corpus, t: float, rng: np.random.Generator) -> Subsampling:
    """Drop ``<unk>`` and thin out frequent words; the survivors of sentences left with two or more are the
    centers."""
    ids = corpus.ids
    sentence = np.repeat(np.arange(corpus.lengths.size, dtype=np.int32), corpus.lengths)
    known = ids != 0
    ids, sentence = ids[known], sentence[known]
    counts = corpus.vocab.counts
    freq = counts / max(int(counts.sum()), 1)
    with np.errstate(divide="ignore", over="ignore"):  # t / 0 and a huge t are inf: kept with probability 1
        keep_prob = np.minimum(1.0, np.sqrt(t / freq))
    keep = rng.random(ids.size) < keep_prob[ids]
    tokens, sentence = ids[keep], sentence[keep]
    lengths = np.bincount(sentence, minlength=corpus.lengths.size)
    usable = lengths[sentence] >= 2
    centers, sentence = tokens[usable], sentence[usable]
    ends = np.cumsum(lengths * (lengths >= 2)).astype(np.int32)
    end = ends[sentence]
    start = end - lengths[sentence].astype(np.int32)
    return Subsampling(centers.astype(np.int32, copy=False), sentence, start, end, int(tokens.size))


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
    outputs, row_of = model.outputs(contexts, num_contexts, centers, settings.num_noise, noise, rng)
    return Draw(
        centers,
        subsampling.sentence[positions],
        contexts,
        num_contexts,
        outputs,
        row_of,
        settings.num_noise,
        subsampling.subsampled_tokens,
    )


def _contexts(
    subsampling: Subsampling, positions: np.ndarray, window: np.ndarray, max_window: int
) -> tuple[np.ndarray, np.ndarray]:
    """The contexts of the centers at ``positions`` with their ``window``: left-aligned, zero-padded (int32 throughout:
    these (centers, 2 * max_window) arrays are the chapter's draw's largest), and how many are real."""
    tokens = subsampling.centers
    start, end = subsampling.start[positions], subsampling.end[positions]
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
