"""The chapter notebooks' "try it" cells (backends.display.tryit): the starting points each notebook gives agree
with their backend, a wrong function is caught, located and explained (a table of typical mistakes and what a
student is told), an exception is an answer and never a traceback, and training with the reader's functions
goes through the same loop, only once they agreed, and gives the backend back its own."""

import importlib.util

import numpy as np
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
        assert repr(agreement).startswith(f"my_{name} agrees with {framework}'s {name} on a batch of 64 rows (56 "
                                          f"centers and 8 padding rows, as the last batch of an epoch has)")


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
    functions = {"skip_gram": mine["my_skip_gram"], "masked_bce": mine["my_masked_bce"]}
    refused = tryit.train_with(w2v, data, reference, **functions)  # not checked yet (in this process)
    assert not refused and repr(refused).startswith("not trained: my_skip_gram and my_masked_bce have not passed")
    for name, function in functions.items():
        assert tryit.check(w2v, name, function, data)
    trained = tryit.train_with(w2v, data, reference, **functions)
    assert trained and "over 12 steps the two runs' losses differ by at most" in repr(trained)
    assert (w2v.skip_gram, w2v.masked_bce) == own

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


# -- mistakes a student makes, and what the check tells them -----------------------------------------------------
# Written once for PyTorch (and the NumPy backend, which needs no framework); the diagnosis works on NumPy copies
# of the results (backends.display.diagnose), so it is the same in every framework: the last test shows it.

def torch_mistakes():
    import torch
    import torch.nn.functional as F

    def entries(s, y):
        return F.softplus(s) - y * s

    skip_gram = {
        "no_sum": (lambda c, cn, ec, ex: ec(c) * ex(cn),
                   "(64, 60, 100), that is (batch, row width, embedding size), where the backend's is (64, 1, 60), "
                   "that is (batch, 1, row width). The sum runs over the wrong axis, or is missing"),
        "sum_over_width": (lambda c, cn, ec, ex: (ec(c) * ex(cn)).sum(dim=1, keepdim=True),
                           "(64, 1, 100), that is (batch, 1, embedding size)"),
        "no_reshape": (lambda c, cn, ec, ex: (ec(c) * ex(cn)).sum(dim=-1),
                       "(64, 60), that is (batch, row width), where the backend's is (64, 1, 60), that is (batch, 1, "
                       "row width). The axis of length 1 in the middle is missing"),
        "other_way_round": (lambda c, cn, ec, ex: torch.bmm(ex(cn), ec(c).permute(0, 2, 1)),
                            "(64, 60, 1), that is (batch, row width, 1), where the backend's is (64, 1, 60), that "
                            "is (batch, 1, row width). The product is taken the other way round"),
        "tables_swapped": (lambda c, cn, ec, ex: torch.bmm(ex(c), ec(cn).permute(0, 2, 1)),
                           "it looks like it swaps the two tables"),
        "one_table": (lambda c, cn, ec, ex: torch.bmm(ec(c), ec(cn).permute(0, 2, 1)),
                      "it looks like it takes every vector from embed_center"),
        "cosine": (lambda c, cn, ec, ex: F.cosine_similarity(ec(c), ex(cn), dim=-1).unsqueeze(1),
                   "it looks like it divides by the vectors' lengths (a cosine)"),
        "doubled": (lambda c, cn, ec, ex: 2 * torch.bmm(ec(c), ex(cn).permute(0, 2, 1)),
                    "every value is 2 times the backend's: a constant factor"),
        "negated": (lambda c, cn, ec, ex: -torch.bmm(ec(c), ex(cn).permute(0, 2, 1)),
                    "every value has the opposite sign of the backend's"),
        "no_return": (lambda c, cn, ec, ex: None, "it returns None: the function needs a `return`"),
        "raises": (lambda c, cn, ec, ex: torch.bmm(ec(c), ex(cn)),
                   "raised RuntimeError: Expected size for first two dimensions of batch2 tensor"),
    }
    masked_bce = {
        "over_the_width": (lambda s, y, m: (entries(s, y) * m).mean(dim=1),
                           "it looks like it divides each row's sum by the row width instead of by the number of "
                           "real entries"),
        "summed": (lambda s, y, m: (entries(s, y) * m).sum(dim=1), "it sums each row's losses without dividing"),
        "mask_forgotten": (lambda s, y, m: entries(s, y).mean(dim=1), "it looks like it leaves out the mask"),
        "mask_only_to_divide": (lambda s, y, m: entries(s, y).sum(dim=1) / m.sum(dim=1).clamp(min=1),
                                "it adds up the padding entries too"),
        "labels_swapped": (lambda s, y, m: (entries(s, 1 - y) * m).sum(dim=1) / m.sum(dim=1).clamp(min=1),
                           "it swaps the labels, or the sign of the scores"),
        "no_clamp": (lambda s, y, m: (entries(s, y) * m).sum(dim=1) / m.sum(dim=1),
                     "it gives NaN or infinity on the padding rows"),
        "batch_mean": (lambda s, y, m: ((entries(s, y) * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)).mean(),
                       "it returns shape (), a single number, where the backend's is (64,), that is (batch). "
                       "The loss here is one number per center"),
        "entries": (lambda s, y, m: entries(s, y) * m,
                    "(64, 60), that is (batch, row width), where the backend's is (64,), that is (batch). These are "
                    "the entries' losses"),
        "negative": (lambda s, y, m: -(entries(s, y) * m).sum(dim=1) / m.sum(dim=1).clamp(min=1),
                     "every value has the opposite sign"),
        "tuple": (lambda s, y, m: (s, y), "it returns a tuple, not one array of torch"),
    }
    return {"skip_gram": skip_gram, "masked_bce": masked_bce}


@pytest.mark.needs("torch")
@pytest.mark.parametrize("name", tryit.REPLACEABLE)
def test_each_typical_mistake_is_named(name, data):
    w2v = load_backend("torch")
    for mistake, (function, said) in torch_mistakes()[name].items():
        function.__name__ = f"my_{mistake}"
        agreement = tryit.check(w2v, name, function, data)
        message = repr(agreement)
        assert not agreement and said in message, (mistake, message)
        assert "Traceback" not in message and "\n" not in message


def test_a_mistake_is_named_alike_in_every_framework(data):
    """The same mistake written for the NumPy backend gets the same diagnosis: it is made from NumPy copies."""
    w2v = load_backend("numpy")

    def over_the_width(scores, label, mask):
        return ((np.logaddexp(0, scores) - label * scores) * mask).mean(axis=1)

    message = repr(tryit.check(w2v, "masked_bce", over_the_width, data))
    assert message.startswith("over_the_width does not agree with numpy's masked_bce: 54 of 64 values differ; it "
                              "looks like it divides each row's sum by the row width instead of by the number of "
                              "real entries")


def test_differences_at_float32_rounding_are_no_mistake(data):
    w2v = load_backend("numpy")

    def rounded(centers, contexts_negatives, embed_center, embed_context):
        scores = w2v.skip_gram(centers, contexts_negatives, embed_center, embed_context)
        return (scores.astype(np.float32) * np.float32(1 + 2e-7)).astype(np.float32)  # the last bits differ

    assert tryit.check(w2v, "skip_gram", rounded, data)


@pytest.mark.needs("torch")
def test_a_function_that_fails_inside_training_is_an_answer(data):
    """It agrees on the check's batch, but takes the tensors out of PyTorch's graph: training says so."""
    w2v = load_backend("torch")
    import torch

    def through_numpy(centers, contexts_negatives, embed_center, embed_context):
        v, u = embed_center(centers).detach().numpy(), embed_context(contexts_negatives).detach().numpy()
        return torch.from_numpy(v @ u.transpose(0, 2, 1))

    assert tryit.check(w2v, "skip_gram", through_numpy, data)
    reference = w2v.train(data, max_steps=3, progress=False)
    answer = tryit.train_with(w2v, data, reference, skip_gram=through_numpy)
    assert not answer and repr(answer).startswith("training with through_numpy stopped with RuntimeError: element 0 "
                                                  "of tensors does not require grad")
    assert w2v.skip_gram is not through_numpy


def test_only_the_two_functions_can_be_checked(data):
    with pytest.raises(W2VError, match="'Trainer' is not one of the functions to try: choose skip_gram or masked_bce"):
        tryit.check(load_backend("numpy"), "Trainer", print, data)
