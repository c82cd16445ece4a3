"""Shared fixtures: the PTB dataset is built once per test session (about a second)."""

import numpy as np
import pytest

from backends import ptb


@pytest.fixture(scope="session")
def corpus() -> ptb.Corpus:
    return ptb.load_corpus()


@pytest.fixture(scope="session")
def data(corpus) -> ptb.SkipGramData:
    return ptb.SkipGramData(corpus, seed=0)


@pytest.fixture(scope="session")
def loss_example():
    """The chapter's two-row example: its per-example losses are 0.9352 and 1.8462."""
    scores = np.array([[1.1, -2.2, 3.3, -4.4]] * 2, dtype=np.float32)
    label = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=np.float32)
    return scores, label, mask
