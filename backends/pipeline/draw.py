"""One draw of training examples, as arrays: what :func:`backends.pipeline.examples.draw_examples` makes from a
corpus and the model's :meth:`~backends.pipeline.models.Model.batch` cuts batches from.

A draw is made once per epoch from a corpus, the data settings and one random generator (the seed's build
stream of that epoch), and never changes afterwards. Its examples come from the chapter's steps:

1. drop ``<unk>`` and subsample frequent words: a token of word w survives with probability
   ``min(1, sqrt(t / f(w)))``, f(w) being w's share of the (non-``<unk>``) tokens;
2. turn every token of a sentence with at least two survivors into a center word whose context is
   every word within a window drawn uniformly from 1..max_window on each side;
3. let the model lay out each center's output words (:meth:`backends.pipeline.models.Model.outputs`): for
   skip-gram its contexts and K noise words per context, never one of its context words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Draw:
    """The examples of one draw, in center order; the model's batches are cut from it."""

    centers: np.ndarray  # (N,) int32: the center words, sentence by sentence
    sentence: np.ndarray  # (N,): the sentence each center comes from
    contexts: np.ndarray  # (N, 2 * max_window) int32: each center's context words, left-aligned, zero-padded
    num_contexts: np.ndarray  # (N,): how many of them are real
    outputs: np.ndarray  # the model's rows of output words; center i's row is outputs[row_of[i]]
    row_of: np.ndarray  # (N,)
    num_noise: int  # K, the noise words per context word (skip-gram) or per center (CBOW)
    subsampled_tokens: int  # tokens left after dropping <unk> and subsampling

    @property
    def num_centers(self) -> int:
        return int(self.centers.size)

    @property
    def num_pairs(self) -> int:
        """Center-context pairs: the chapter's count of training examples."""
        return int(self.num_contexts.sum())

    def center_rows(self) -> np.ndarray:
        """Every center's row of output words in center order, as int32 (a new array, built on request)."""
        return self.outputs[self.row_of].astype(np.int32)
