"""Drawing a corpus's training examples: the steps :mod:`backends.pipeline.draw` lists, vectorized so that no
Python loop runs once per token."""

from __future__ import annotations

import numpy as np

from backends.common.settings import Settings
from backends.pipeline.corpus import Corpus
from backends.pipeline.draw import Draw
from backends.pipeline.models import Model
from backends.pipeline.noise import NoiseSampler


def draw_examples(
    corpus: Corpus, settings: Settings, model: Model, noise: NoiseSampler, rng: np.random.Generator
) -> Draw:
    """Subsample ``corpus``, find every center's contexts, and let ``model`` lay out its output words."""
    tokens, sentence = _subsample(corpus, settings.subsample_t, rng)
    subsampled = int(tokens.size)
    centers, contexts, num_contexts, sentence = _centers_and_contexts(
        corpus, tokens, sentence, settings.max_window, rng
    )
    outputs, row_of = model.outputs(contexts, num_contexts, centers, settings.num_noise, noise, rng)
    return Draw(centers, sentence, contexts, num_contexts, outputs, row_of, settings.num_noise, subsampled)


def _subsample(corpus: Corpus, t: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Drop ``<unk>`` and thin out frequent words; returns surviving ids and their sentence index."""
    ids = corpus.ids
    sentence = np.repeat(np.arange(corpus.lengths.size, dtype=np.int32), corpus.lengths)
    known = ids != 0
    ids, sentence = ids[known], sentence[known]
    counts = corpus.vocab.counts
    freq = counts / max(int(counts.sum()), 1)
    with np.errstate(divide="ignore", over="ignore"):  # t / 0 and a huge t are inf: kept with probability 1
        keep_prob = np.minimum(1.0, np.sqrt(t / freq))
    keep = rng.random(ids.size) < keep_prob[ids]
    return ids[keep], sentence[keep]


def _centers_and_contexts(
    corpus: Corpus, tokens: np.ndarray, sentence: np.ndarray, max_window: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every token of a sentence with >= 2 tokens is a center; contexts come left-aligned."""
    lengths = np.bincount(sentence, minlength=corpus.lengths.size)
    usable = lengths[sentence] >= 2
    tokens, sentence = tokens[usable], sentence[usable]
    # int32 throughout: these (centers, 2 * max_window) arrays are the pipeline's largest
    ends = np.cumsum(lengths * (lengths >= 2)).astype(np.int32)
    end = ends[sentence]
    start = end - lengths[sentence].astype(np.int32)
    position = np.arange(tokens.size, dtype=np.int32)
    window = rng.integers(1, max_window + 1, size=tokens.size, dtype=np.int32)
    # The context is the run of words from `first` to `last` around the center, the center left out:
    # written left-aligned, column j holds the word at first + j, or first + j + 1 once j reaches the center.
    first, last = np.maximum(start, position - window), np.minimum(end - 1, position + window)
    left, num_contexts = position - first, last - first
    columns = np.arange(2 * max_window, dtype=np.int32)[None, :]
    where = first[:, None] + columns
    where += columns >= left[:, None]
    np.minimum(where, tokens.size - 1, out=where)
    contexts = tokens[where]
    contexts *= columns < num_contexts[:, None]  # zero past the last context word (in place: fewer passes)
    return tokens.astype(np.int32, copy=False), contexts, num_contexts, sentence
