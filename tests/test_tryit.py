"""The chapter notebooks' "try it" cells (backends.display.tryit): the starting points each notebook gives agree
with their backend, a wrong function is caught and located, and training with the reader's functions goes
through the same loop and gives the backend back its own."""

import importlib.util

import pytest

from backends import load_backend
from backends.common.errors import W2VError
from backends.common.frameworks import CHAPTER_FRAMEWORKS
from backends.display import tryit
from helpers import ROOT

spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "tools" / "make_notebooks.py")
make_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_notebooks)


def starting_points(framework: str) -> dict:
    """The namespace the notebook's "try it" cells define (``my_skip_gram``, ``my_masked_bce``), run as written."""
    notebook = make_notebooks.build(make_notebooks.CHAPTER, framework)
    namespace = {}
    for cell in notebook.cells:
        if cell.cell_type == "code" and ("def my_skip_gram" in cell.source or "def my_masked_bce" in cell.source):
            exec(compile(cell.source, f"<{framework} try-it cell>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("framework", CHAPTER_FRAMEWORKS)
def test_each_notebooks_starting_points_agree_with_its_backend(framework, data):
    w2v, mine = load_backend(framework), starting_points(framework)
    for name in tryit.REPLACEABLE:
        agreement = tryit.check(w2v, name, mine[f"my_{name}"], data)
        assert agreement and agreement.agrees, repr(agreement)
        assert repr(agreement).startswith(f"my_{name} agrees with {framework}'s {name} on a batch of 64 centers")


@pytest.mark.parametrize("framework", ["torch"])
def test_a_wrong_function_is_caught_and_located(framework, data):
    w2v = load_backend(framework)
    import torch

    def over_the_width(scores, label, mask):  # the mean over all W entries: padding counted
        return (torch.nn.functional.softplus(scores) - label * scores).mul(mask).mean(dim=1)

    def no_reshape(centers, contexts_negatives, embed_center, embed_context):
        return (embed_center(centers) * embed_context(contexts_negatives)).sum(dim=-1)

    wrong = tryit.check(w2v, "masked_bce", over_the_width, data)
    assert not wrong
    assert "over_the_width does not agree with torch's masked_bce:" in repr(wrong)
    assert "values differ (by more than 1e-05 relative); the largest difference is at index (" in repr(wrong)
    shape = tryit.check(w2v, "skip_gram", no_reshape, data)
    assert not shape and repr(shape).endswith("it returns shape (64, 60), the backend's returns (64, 1, 60).")
    with pytest.raises(W2VError, match="'Trainer' is not one of the functions to try: choose skip_gram or masked_bce"):
        tryit.check(w2v, "Trainer", no_reshape, data)


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_training_with_the_readers_functions_runs_them_and_restores_the_backends(framework, data):
    w2v = load_backend(framework)
    own, mine = (w2v.skip_gram, w2v.masked_bce), starting_points(framework)
    reference = w2v.train(data, max_steps=12, progress=False)
    with tryit.using(w2v, skip_gram=mine["my_skip_gram"], masked_bce=mine["my_masked_bce"]):
        assert w2v.skip_gram is mine["my_skip_gram"]
        ours = w2v.train(data, max_steps=12, progress=False)
    assert (w2v.skip_gram, w2v.masked_bce) == own
    same = tryit.compare_runs(ours, reference)
    assert same and "over 12 steps the two runs' losses differ by at most" in repr(same)

    doubled = lambda *tensors: 2 * own[0](*tensors)  # noqa: E731 - a wrong score, to see a run that parts
    with pytest.raises(KeyboardInterrupt), tryit.using(w2v, skip_gram=doubled):
        raise KeyboardInterrupt  # however the block ends, the backend gets its own back
    assert w2v.skip_gram is own[0]
    with tryit.using(w2v, skip_gram=doubled):
        apart = w2v.train(data, max_steps=40, progress=False)
    parted = tryit.compare_runs(apart, w2v.train(data, max_steps=40, progress=False))
    assert not parted and "they part at step" in repr(parted)


def test_only_the_two_functions_can_be_replaced():
    w2v = load_backend("numpy")
    with pytest.raises(W2VError, match="Trainer cannot be replaced; replace skip_gram or masked_bce"):
        with tryit.using(w2v, Trainer=object):
            pass
    assert w2v.Trainer is not object
