"""One integer seed, several independent random streams.

The batches and the initial weights all come from NumPy generators derived from one seed, so the same seed
gives the same numbers, bit for bit, whichever framework consumes them. Each use draws from a stream of its
own, so that drawing the batches never shifts the initial weights and one epoch's shuffle never depends on
how many numbers an earlier step used.
"""

from __future__ import annotations

import numpy as np

STREAM_BUILD, STREAM_SHUFFLE, STREAM_INIT = 0, 1, 2
STREAM_CHECK = 3  # the scores the notebooks' "try it" check feeds a reader's loss (backends.display.tryit)


def rng_for(seed: int, stream: int, epoch: int = 0) -> np.random.Generator:
    """The generator of one random stream (build, shuffle, init or check) of one epoch under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(stream, epoch)))
