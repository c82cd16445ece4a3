"""One integer seed, several independent random streams.

The batches and the initial weights all come from NumPy generators derived from one seed, so the same seed
gives the same numbers, bit for bit, whichever framework consumes them. Each use draws from a stream of its
own, so that drawing the batches never shifts the initial weights and one epoch's shuffle never depends on
how many numbers an earlier step used. Sampling at update time (the ``sample_each_batch`` setting) goes one
level further: each minibatch draws from a generator of its own epoch and number, so that batch b of epoch e
can be drawn without drawing the batches before it (a resumed run skips them).
"""

from __future__ import annotations

import numpy as np

STREAM_BUILD, STREAM_SHUFFLE, STREAM_INIT = 0, 1, 2
STREAM_CHECK = 3  # the scores the notebooks' "try it" check feeds a reader's loss (backends.display.tryit)
STREAM_BATCH = 4  # one minibatch's windows and noise words, with sample_each_batch (backends.pipeline.dataset)


def rng_for(seed: int, stream: int, epoch: int = 0, batch: int | None = None) -> np.random.Generator:
    """The generator of one random stream (build, shuffle, init, check or batch) of one epoch under ``seed``, and
    of one batch of that epoch where ``batch`` is given (the batch stream's)."""
    key = (stream, epoch) if batch is None else (stream, epoch, batch)
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))
