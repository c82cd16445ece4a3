"""Autograd in every framework against the hand-derived gradient of the NumPy oracle, first batch, for each model
and objective."""

import numpy as np
import pytest

from backends import FRAMEWORKS, load_backend
from backends import numpy as oracle
from backends.common.settings import MODELS, OBJECTIVES
from backends.pipeline import make_dataset
from backends.training.weights import initial_weights

FRAMEWORKS_WITH_AUTOGRAD = [f for f in FRAMEWORKS if f != "numpy"]


KINDS = [(model, objective) for model in MODELS for objective in OBJECTIVES]


@pytest.fixture(scope="module", params=KINDS, ids=["-".join(kind) for kind in KINDS])
def dataset(request, corpus):
    model, objective = request.param
    return make_dataset(corpus, model=model, objective=objective, seed=0)


@pytest.fixture(scope="module")
def first_batch(dataset):
    return next(dataset.batches(512))


def tables(dataset, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """The run's initial tables: the context one has a row per output (a word's, or an inner node's)."""
    center, context = initial_weights(len(dataset.vocab), 100, seed=0)
    return center.astype(dtype), context[: dataset.output_rows].astype(dtype)


def relative_error(got: np.ndarray, expected: np.ndarray) -> float:
    return float(np.abs(got - expected).max() / np.abs(expected).max())


@pytest.mark.parametrize("framework", FRAMEWORKS_WITH_AUTOGRAD)
@pytest.mark.parametrize("dtype, tolerance", [(np.float64, 1e-6), (np.float32, 1e-5)])
def test_autograd_matches_the_hand_derived_gradient(framework, dtype, tolerance, dataset, first_batch):
    center, context = tables(dataset, dtype)
    expected = oracle.gradients(center, context, first_batch)
    got = load_backend(framework).gradients(center, context, first_batch)
    for name, g, e in zip(("center", "context"), got, expected):
        assert g.dtype == dtype and g.shape == e.shape
        assert relative_error(g, e) < tolerance, f"{framework} {name} gradient off by {relative_error(g, e):.1e}"
    # Only the batch's input words get a gradient in the first table; every other row is exactly zero.
    inputs, input_mask, _ = first_batch.model.oracle_view(first_batch.arrays())
    inputs = inputs[input_mask > 0]
    assert np.array_equal(np.flatnonzero(np.abs(expected[0]).sum(1)), np.unique(inputs))


def test_oracle_gradient_matches_finite_differences(dataset, first_batch):
    center, context = tables(dataset)

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
