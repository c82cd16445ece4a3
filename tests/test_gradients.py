"""Autograd in every framework against the hand-derived gradient of the NumPy oracle, first batch."""

import numpy as np
import pytest

from backends import FRAMEWORKS, load_backend
from backends import numpy as oracle
from backends.pipeline import make_dataset
from backends.training.weights import initial_weights

FRAMEWORKS_WITH_AUTOGRAD = [f for f in FRAMEWORKS if f != "numpy"]


@pytest.fixture(scope="module", params=["skipgram", "cbow"])
def first_batch(request, corpus):
    return next(make_dataset(corpus, model=request.param, seed=0).batches(512))


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("framework", FRAMEWORKS_WITH_AUTOGRAD)
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-6), (np.float32, 1e-5)])
def test_autograd_matches_the_hand_derived_gradient(framework, dtype, tolerance, data, first_batch):
    center, context = (w.astype(dtype) for w in initial_weights(len(data.vocab), 100, seed=0))
    expected = oracle.gradients(center, context, first_batch)
    got = load_backend(framework).gradients(center, context, first_batch)
    for name, g, e in zip(("center", "context"), got, expected):
        assert g.dtype == dtype and g.shape == e.shape
        assert relative_error(g, e) < tolerance, f"{framework} {name} gradient off by {relative_error(g, e):.1e}"
    # Only the batch's input words get a gradient in the first table; every other row is exactly zero.
    inputs, input_mask, _ = first_batch.model.oracle_view(first_batch.arrays())
    inputs = inputs[input_mask > 0]
    assert np.array_equal(np.flatnonzero(np.abs(expected[0]).sum(1)), np.unique(inputs))


def test_oracle_gradient_matches_finite_differences(data, first_batch):
    center, context = (w.astype(np.float64) for w in initial_weights(len(data.vocab), 100, seed=0))

    def loss(c, u):
        return oracle.loss_and_gradients(c, u, first_batch)[0]

    _, grad_center, grad_context = oracle.loss_and_gradients(center, context, first_batch)
    step = 1e-4  # central differences: truncation error ~step², rounding ~1e-14/step
    for grad, which in ((grad_center, 0), (grad_context, 1)):
        row = int(np.argmax(np.abs(grad).sum(1)))
        for column in (0, 17, 99):
            bumped = [center.copy(), context.copy()]
            bumped[which][row, column] += step
            lowered = [center.copy(), context.copy()]
            lowered[which][row, column] -= step
            numeric = (loss(*bumped) - loss(*lowered)) / (2 * step)
            assert numeric == pytest.approx(grad[row, column], rel=1e-5, abs=1e-9)
