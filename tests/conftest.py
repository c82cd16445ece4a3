"""Shared fixtures (the PTB dataset is built once per test session, about a second) and the one way a test
that needs a framework or gensim is skipped where it is missing (see ``helpers.require``): a parameter named
``framework``, or the marker ``needs("torch")``, ``needs("gensim")`` (one marker per need).

MXNet is imported first where it is installed: importing TensorFlow before MXNet in one process segfaults
inside libmxnet's operator tuning, and the backend tests load every installed framework in this process.
"""

import json

import numpy as np
import pytest

from backends.pipeline import Corpus, Dataset, load_corpus, make_dataset
from helpers import missing, require, run

if missing("mxnet") is None:
    import backends.mxnet  # noqa: F401  (must precede TensorFlow)


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "needs(name): the test runs only where that framework, or gensim, is installed (helpers.NEEDS)"
    )


def pytest_runtest_setup(item):
    """Before any fixture is set up (a module's fixture may load the framework): skip or fail as require says."""
    callspec = getattr(item, "callspec", None)
    names = [marker.args[0] for marker in item.iter_markers("needs")]
    if callspec is not None and "framework" in callspec.params:
        names.append(callspec.params["framework"])
    for name in names:
        require(name)


@pytest.fixture(scope="session")
def corpus() -> Corpus:
    return load_corpus()


@pytest.fixture(scope="session")
def data(corpus) -> Dataset:
    return make_dataset(corpus, seed=0)


@pytest.fixture(scope="session")
def loss_example():
    """The chapter's two-row example: its per-example losses are 0.9352 and 1.8462."""
    scores = np.array([[1.1, -2.2, 3.3, -4.4]] * 2, dtype=np.float32)
    label = np.array([[1, 0, 0, 0], [0, 1, 0, 0]], dtype=np.float32)
    mask = np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=np.float32)
    return scores, label, mask


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """A 40-step PyTorch run trained by the command line: its results folder and its JSON summary (a test that
    uses it is marked ``needs("torch")``)."""
    out = tmp_path_factory.mktemp("results")
    done = run("train", "--framework", "torch", "--max-steps", "40", "--out", out, "--json")
    assert done.returncode == 0, done.stderr
    return out, json.loads(done.stdout.strip().splitlines()[-1])
