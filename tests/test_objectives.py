"""Section 15.2's objectives: hierarchical softmax's batches and probabilities, the full softmax against a direct
computation, where each run starts, and every framework's steps against the oracle's for each objective."""

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from backends import FRAMEWORKS, load_backend
from backends import numpy as oracle
from backends.pipeline import make_dataset
from backends.pipeline.huffman import huffman_tree
from backends.pipeline.models import SKIP_GRAM, SkipGramBatch
from backends.pipeline.objectives import along_paths
from helpers import installed_runs, missing

STEPS = 30
OBJECTIVES = ("hierarchical_softmax", "full_softmax")
OTHERS = [f for f in FRAMEWORKS if f != "numpy"]


@pytest.fixture(scope="module", params=OBJECTIVES)
def objective(request):
    return request.param


@pytest.fixture(scope="module")
def dataset(corpus, objective):
    return make_dataset(corpus, objective=objective, seed=0)


@pytest.fixture(scope="module")
def runs(dataset):
    """Each installed framework's first STEPS steps with the objective, from seed 0."""
    return installed_runs(dataset, STEPS)


def test_the_three_objectives_see_the_same_centers_and_contexts(corpus, data):
    first = next(data.batches(512))
    hierarchical = next(make_dataset(corpus, objective="hierarchical_softmax", seed=0).batches(512))
    full = next(make_dataset(corpus, objective="full_softmax", seed=0).batches(512))
    np.testing.assert_array_equal(full.centers, first.centers)
    np.testing.assert_array_equal(hierarchical.centers, first.centers)
    contexts = first.contexts_negatives * first.label  # the chapter's row: contexts first, then noise words
    np.testing.assert_array_equal(full.contexts_negatives, contexts[:, : full.contexts_negatives.shape[1]])
    assert (full.mask == full.label).all() and full.model.full_softmax and not first.model.full_softmax


def test_a_hierarchical_row_holds_each_context_words_path(corpus):
    data = make_dataset(corpus, objective="hierarchical_softmax", seed=0)
    tree, batch = data.tree, next(data.batches(64))
    depth = tree.nodes.shape[1]
    assert data.output_rows == len(data.vocab) - 1 and data.width == 10 * depth
    assert batch.contexts_negatives.shape == (64, data.width) and batch.contexts_negatives.max() < data.output_rows
    words = next(make_dataset(corpus, objective="full_softmax", seed=0).batches(64))  # the same contexts
    for row in (0, 1, 63):
        for j in np.flatnonzero(words.mask[row]):
            word, columns = words.contexts_negatives[row, j], slice(j * depth, (j + 1) * depth)
            length = tree.lengths[word]
            assert batch.mask[row, columns].tolist() == [1] * length + [0] * (depth - length)
            assert batch.contexts_negatives[row, columns][:length].tolist() == tree.nodes[word, :length].tolist()
            assert tree.code(word) == "".join(str(int(b)) for b in batch.label[row, columns][:length])
    assert batch.mask.sum() == tree.lengths[words.contexts_negatives][words.mask > 0].sum()


def test_hierarchical_softmax_probabilities_sum_to_one_through_the_batch_and_the_loss():
    """Each word of a small vocabulary as the one context word of a center, laid out by ``along_paths`` and
    scored by ``skip_gram`` and ``masked_bce``: exp(-loss * code length) is P(word | center), and they sum to 1."""
    counts = np.array([40, 1, 7, 7, 3, 12, 25, 2, 9])
    tree = huffman_tree(counts)
    rng = np.random.default_rng(3)
    center, inner = rng.normal(size=(counts.size, 4)), rng.normal(size=(tree.num_inner, 4))
    words = np.arange(counts.size, dtype=np.int32)[:, None]
    batch = along_paths(
        SkipGramBatch(
            np.full((counts.size, 1), 5, np.int32),
            words,
            np.ones_like(words, np.float32),
            np.ones_like(words, np.float32),
            counts.size,
        ),
        tree,
    )
    arrays = batch.arrays(np.float64)
    scores = SKIP_GRAM.scores(oracle, oracle.embedding(center), oracle.embedding(inner), arrays)[:, 0]
    losses = oracle.masked_bce(scores, arrays["label"], arrays["mask"])
    probability = np.exp(-losses * tree.lengths)
    assert probability.sum() == pytest.approx(1.0, abs=1e-12)
    assert (probability > 0).all()


@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_softmax_cross_entropy_is_the_direct_computation(framework):
    if missing(framework):
        pytest.skip(missing(framework))
    w2v = load_backend(framework)
    rng = np.random.default_rng(0)
    inputs, table = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(11, 4)).astype(np.float32)
    targets = np.array([[1, 4, 4], [10, 0, 0], [2, 3, 0]], dtype=np.int32)
    mask = np.array([[1, 1, 1], [1, 0, 0], [0, 0, 0]], dtype=np.float32)  # the last row is padding
    scores = inputs.astype(np.float64) @ table.T.astype(np.float64)
    minus_log_p = logsumexp(scores, axis=1, keepdims=True) - np.take_along_axis(scores, targets, axis=1)
    expected = (minus_log_p * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)
    got = w2v.to_numpy(
        w2v.softmax_cross_entropy(w2v.tensor(inputs), w2v.tensor(targets), w2v.tensor(mask), w2v.embedding(table))
    )
    assert got.shape == (3,) and got[2] == 0.0
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_each_objective_starts_where_its_loss_says(runs, dataset):
    """Xavier-small vectors score every word near 0: each inner node's branch is a coin toss (ln 2), and the
    softmax over V words is uniform (ln V)."""
    first = runs["numpy"].step_losses[0]
    start = math.log(2) if dataset.settings.objective == "hierarchical_softmax" else math.log(len(dataset.vocab))
    assert first == pytest.approx(start, abs=2e-3)
    # Hierarchical softmax starts slowly: the nodes near the root are on most words' paths, and their gradients
    # pull against each other (about 2e-4 lower after 30 steps; the full softmax about 4e-3).
    lower = 1e-4 if dataset.settings.objective == "hierarchical_softmax" else 1e-3
    assert np.mean(runs["numpy"].step_losses[-5:]) < first - lower


@pytest.mark.parametrize("framework", OTHERS)
def test_step_losses_agree_with_the_oracle_for_each_objective(framework, runs, objective):
    if framework not in runs:
        pytest.skip(missing(framework))
    ours, reference = np.array(runs[framework].step_losses), np.array(runs["numpy"].step_losses)
    assert (np.abs(ours - reference) / reference).max() < 1e-4
    assert runs[framework].settings["objective"] == objective
    apart = np.abs(runs[framework].embeddings - runs["numpy"].embeddings)
    assert np.median(apart) < 1e-6 and (apart > 1e-4).mean() < 1e-4


def test_lazy_adam_trains_hierarchical_softmax_as_the_oracle_does(corpus):
    data = make_dataset(corpus, objective="hierarchical_softmax", seed=0)
    lazy = installed_runs(data, 20, optimizer="lazy_adam")
    reference = np.array(lazy.pop("numpy").step_losses)
    for name, history in lazy.items():
        assert (np.abs(np.array(history.step_losses) - reference) / reference).max() < 1e-4, name
