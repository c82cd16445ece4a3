"""Synthetic corpora: text whose vocabulary is as large as asked, for measuring what grows with the vocabulary
(``make bench``, ``make bench-scaling``, the approximate-training notebook's cost against vocabulary size)."""

from __future__ import annotations

import numpy as np

from backends.pipeline.noise import AliasSampler


def synthetic_corpus(tokens: int, vocab_size: int = 50_000, seed: int = 0) -> str:
    """A seeded corpus of ``tokens`` Zipf-distributed words (P(rank r) ∝ 1/r) named w0, w1, ..., about 20 words a
    sentence, one sentence a line."""
    rng = np.random.default_rng(seed)
    ranks = np.arange(1, vocab_size + 1)
    ids = AliasSampler((1 / ranks) / (1 / ranks).sum()).draw(rng, tokens)
    words = np.array([f"w{i}" for i in range(vocab_size)], dtype=object)[ids]
    ends = np.cumsum(1 + rng.poisson(19, size=tokens // 10 + 1))
    ends = ends[ends < tokens]
    return "\n".join(" ".join(sentence) for sentence in np.split(words, ends))
