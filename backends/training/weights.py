"""The initial tables, one seeded draw shared by every framework, and what a run's tables cost in memory."""

from __future__ import annotations

import math

import numpy as np

from backends.common.seeds import STREAM_INIT, rng_for
from backends.common.settings import Settings


def initial_weights(vocab_size: int, embed_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Xavier-uniform center and context tables as float32, one seeded draw shared by all frameworks.

    Each table is a (vocab_size, embed_size) matrix with entries uniform in ±sqrt(6 / (vocab_size +
    embed_size)), the bound PyTorch's ``xavier_uniform_`` uses; drawing it here rather than with each
    framework's initializer is what makes the four runs start from the same numbers.
    """
    bound = math.sqrt(6.0 / (vocab_size + embed_size))
    tables = rng_for(seed, STREAM_INIT).uniform(-bound, bound, size=(2, vocab_size, embed_size))
    center, context = tables.astype(np.float32)
    return center, context


def memory_needed(vocab_size: int, settings: Settings, width: int) -> int:
    """Bytes a training run holds at most, about: the initial draw (float64, then float32), the two tables with
    their gradients and Adam's two moments, and a batch's gathered vectors, their gradients and a product."""
    table = vocab_size * settings.embed_size
    return 2 * table * (8 + 4) + 2 * table * 4 * 4 + settings.batch_size * width * (3 * 4 * settings.embed_size + 16)
