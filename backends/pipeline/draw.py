"""The drawn examples, as arrays: an epoch's subsampled centers (a :class:`Subsampling`) and a draw of examples
from them (a :class:`Draw`), which the model's :meth:`~backends.pipeline.models.Model.batch` cuts batches from.

Both are made by :mod:`backends.pipeline.examples` from a corpus, the data settings and random generators, and
never change afterwards. The examples come from the chapter's steps:

1. drop ``<unk>`` and subsample frequent words: a token of word w survives with probability
   ``min(1, sqrt(t / f(w)))``, f(w) being w's share of the (non-``<unk>``) tokens; every survivor of a
   sentence with at least two survivors is a center word (the :class:`Subsampling`);
2. give each center a context of every word within a window drawn uniformly from 1..max_window on each side;
3. let the model lay out each center's output words (:meth:`backends.pipeline.models.Model.outputs`): for
   skip-gram its contexts and K noise words per context, never one of its context words.

The chapter takes steps 2 and 3 for every center at once, one :class:`Draw` per epoch (or one for all epochs).
Sampling at update time (``sample_each_batch``) takes them for one minibatch's centers at a time: each batch is
then a small :class:`Draw` of its own, and the epoch keeps only its :class:`Subsampling`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Subsampling:
    """An epoch's center words after step 1, in corpus order, with where each one's sentence lies among them:
    two int32 numbers a center and one a sentence, whatever the window and the number of noise words."""

    centers: np.ndarray  # (N,) int32: the center words, sentence by sentence
    sentence: np.ndarray  # (N,) int32: the sentence each center comes from
    bounds: np.ndarray  # (sentences + 1,) int32: sentence s's centers are centers[bounds[s]:bounds[s + 1]]
    subsampled_tokens: int  # tokens left after dropping <unk> and subsampling (those of one-word sentences too)

    @property
    def num_centers(self) -> int:
        return int(self.centers.size)

    def expected_pairs(self, max_window: int) -> float:
        """The center-context pairs a draw of windows gives on average: with the window w uniform on
        1..max_window, a side with room for r words gives E[min(w, r)] of them. Summed a slice of centers at a
        time (the terms are whole numbers, so the sum is exact in any order)."""
        total = 0.0
        for begin in range(0, self.num_centers, EXPECTED_PAIRS_SLICE):
            position = np.arange(begin, min(begin + EXPECTED_PAIRS_SLICE, self.num_centers))
            sentence = self.sentence[position]
            start, end = self.bounds[sentence], self.bounds[sentence + 1]
            room = np.minimum(np.concatenate([position - start, end - 1 - position]), max_window)
            total += float((room * (room + 1) / 2 + (max_window - room) * room).sum())
        return total / max_window


EXPECTED_PAIRS_SLICE = 1 << 20  # centers at a time


@dataclass(frozen=True)
class Draw:
    """The examples of one draw (an epoch's, or one minibatch's), in center order; batches are cut from it."""

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
