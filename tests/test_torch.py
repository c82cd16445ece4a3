"""The PyTorch backend: shapes, the chapter's loss values, learning, determinism, device errors."""

import math

import numpy as np
import pytest

from backends import torch as w2v
from backends.errors import W2VError


def test_skip_gram_shapes():
    import torch

    embed = torch.nn.Embedding(20, 4)
    centers = w2v.tensor(np.ones((2, 1), dtype=np.int64))
    contexts_negatives = w2v.tensor(np.ones((2, 4), dtype=np.int64))
    assert tuple(w2v.skip_gram(centers, contexts_negatives, embed, embed).shape) == (2, 1, 4)


def test_masked_loss_on_the_chapters_example(loss_example):
    scores, label, mask = map(w2v.tensor, loss_example)
    losses = w2v.to_numpy(w2v.masked_bce(scores, label, mask))
    np.testing.assert_allclose(losses, [0.9352, 1.8462], atol=5e-5)


def test_an_all_padding_row_costs_exactly_zero(loss_example):
    scores, label, mask = (a.copy() for a in loss_example)
    mask[1] = 0
    label[1] = 0
    losses = w2v.to_numpy(w2v.masked_bce(*map(w2v.tensor, (scores, label, mask))))
    assert losses[1] == 0.0 and np.isfinite(losses).all()


@pytest.fixture(scope="module")
def short_run(data):
    return w2v.train(data, max_steps=60, progress=False)


def test_training_starts_at_log_two_and_lowers_the_loss(short_run):
    # Xavier-small initial vectors score every pair near 0, where sigmoid BCE is ln 2.
    assert short_run.step_losses[0] == pytest.approx(math.log(2), abs=2e-3)
    assert np.mean(short_run.step_losses[-10:]) < short_run.step_losses[0] - 0.01


def test_history_contents(short_run, data):
    record = short_run.to_dict()
    assert record["framework"] == "torch" and record["device"] == "cpu"
    assert record["steps"] == 60 and len(record["step_losses"]) == 60
    assert record["epoch_losses"] == [pytest.approx(np.mean(short_run.step_losses), rel=1e-3)]
    assert record["loss"] == record["epoch_losses"][-1]
    assert record["centers_per_sec"] > 0 and record["centers"] == 60 * 512
    assert short_run.embeddings.shape == (len(data.vocab), 100)


def test_same_seed_gives_identical_step_losses(short_run, data):
    again = w2v.train(data, max_steps=60, progress=False)
    assert again.step_losses == short_run.step_losses


def test_gpu_asked_for_but_absent():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(W2VError, match="GPU was asked for, but PyTorch sees none.*--device cpu"):
        w2v.resolve_device("gpu")
