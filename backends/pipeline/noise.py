"""Noise words: drawn with probability proportional to a power of the word counts, never a word to avoid."""

from __future__ import annotations

import numpy as np

from backends.common.errors import W2VError
from backends.common.settings import DEFAULTS, NOISE_POWERS


def noise_distribution(counts: np.ndarray, power: float = NOISE_POWERS[DEFAULTS.noise]) -> np.ndarray:
    """P(w) ∝ count(w) ** power over the vocabulary (power 0: uniform); ``<unk>`` gets probability 0."""
    weights = counts.astype(np.float64) ** power
    weights[0] = 0.0
    return weights / weights.sum()


class AliasSampler:
    """Draws from a fixed discrete distribution in O(1) per draw (Walker's alias method).

    Noise words are the pipeline's largest draw (about 7.5 million per epoch on PTB), so each costs two
    uniform numbers and two table look-ups instead of a binary search over the cumulative distribution.
    """

    def __init__(self, probs: np.ndarray) -> None:
        size = probs.size
        scaled = (probs * size).tolist()  # the loop below does scalar arithmetic: Python floats, not NumPy's scalars
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
        return alias + keep * (column - alias)  # np.where(keep, column, alias) as arithmetic, which is quicker


class NoiseSampler:
    """Noise words from one distribution, each differing from every word its row must avoid."""

    def __init__(self, counts: np.ndarray, power: float) -> None:
        self.probs = noise_distribution(counts, power)
        self._alias = AliasSampler(self.probs)
        # The words noise can be, found once: sampling at update time asks avoiding() thousands of times an epoch.
        self._support = np.flatnonzero(self.probs)

    @property
    def vocab_size(self) -> int:
        return self.probs.size

    def avoiding(self, avoid: np.ndarray, per_row: int, rng: np.random.Generator) -> np.ndarray:
        """``per_row`` noise words for each row of ``avoid``, none equal to a word of that row.

        Draws the whole (rows, per_row) block at once, then draws again just the entries that hit a
        word to avoid, until none does.
        """
        if not per_row:  # the softmax objectives draw none (Settings.noise_words)
            return np.zeros((avoid.shape[0], 0), dtype=avoid.dtype)
        self._check_can_avoid(avoid)
        noise = self._alias.draw(rng, (avoid.shape[0], per_row))
        clash = noise == avoid[:, :1]
        for column in range(1, avoid.shape[1]):  # a few passes over 2-D arrays beat one 3-D comparison
            clash |= noise == avoid[:, column : column + 1]
        clash_row, clash_col = np.divmod(np.flatnonzero(clash), per_row)  # faster than np.nonzero here
        while clash_row.size:
            redraw = self._alias.draw(rng, clash_row.size)
            noise[clash_row, clash_col] = redraw
            again = (redraw[:, None] == avoid[clash_row]).any(axis=1)
            clash_row, clash_col = clash_row[again], clash_col[again]
        return noise

    def _check_can_avoid(self, avoid: np.ndarray) -> None:
        """Refuse rows whose words to avoid are every word noise can be: redrawing would never end."""
        support = self._support
        if support.size > avoid.shape[1] or avoid.shape[0] == 0:
            return  # more noise words than any row avoids: every row has some left
        covered = np.ones(avoid.shape[0], dtype=bool)
        for word in support:
            covered &= (avoid == word).any(axis=1)
        if covered.any():
            raise W2VError(
                f"the vocabulary has only {support.size} word(s), too few to draw noise words that differ from a "
                f"center's context words; give a corpus with more distinct words (a word seen fewer times than "
                f"the min count, --min-count, is left out of the vocabulary)."
            )
