"""Shared fixtures: the PTB dataset is built once per test session (about a second).

MXNet is imported first where it is installed: importing TensorFlow before MXNet in one process segfaults
inside libmxnet's operator tuning, and the backend tests load every installed framework in this process.

A test parametrized over frameworks (a parameter named ``framework``) runs only where that framework is
installed; see ``installed.py`` for what a missing one means in each environment.
"""

import numpy as np
import pytest

from backends import ptb
from installed import missing, require

if missing("mxnet") is None:
    import backends.mxnet  # noqa: F401  (must precede TensorFlow)


@pytest.fixture(autouse=True)
def _framework_installed(request):
    callspec = getattr(request.node, "callspec", None)
    if callspec is not None and "framework" in callspec.params:
        require(callspec.params["framework"])


@pytest.fixture(scope="session")
def corpus() -> ptb.Corpus:
    return ptb.load_corpus()


@pytest.fixture(scope="session")
def data(corpus) -> ptb.Word2VecData:
    return ptb.Word2VecData(corpus, seed=0)


@pytest.fixture(scope="session")
def loss_example():
    """The chapter's two-row example: its per-example losses are 0.9352 and 1.8462."""
    scores = np.array([[1.1, -2.2, 3.3, -4.4]] * 2, dtype=np.float32)
    label = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=np.float32)
    return scores, label, mask
