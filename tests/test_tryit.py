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
from backends.pipeline.dataset import make_dataset
from helpers import ROOT

spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "tools" / "make_notebooks.py")
make_notebooks = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_notebooks)


STARTERS = ("def my_skip_gram", "def my_masked_bce", "def my_step")


def starting_points(framework: str) -> dict:
    """The namespace the notebook's "try it" cells define (``my_skip_gram``, ``my_masked_bce``, ``my_step``), run
    as written and in order (the step uses the other two), with the backend as the notebook imports it."""
    notebook = make_notebooks.build(make_notebooks.CHAPTER, framework)
    namespace = {"w2v": load_backend(framework)}
    for cell in notebook.cells:
        if cell.cell_type == "code" and any(starter in cell.source for starter in STARTERS):
            exec(compile(cell.source, f"<{framework} try-it cell>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("framework", CHAPTER_FRAMEWORKS)
def test_each_notebooks_starting_points_agree_with_its_backend(framework, data):
    w2v, mine = load_backend(framework), starting_points(framework)
    assert set(tryit.REPLACEABLE) == {"skip_gram", "masked_bce", "step"}
    for name in ("skip_gram", "masked_bce"):
        agreement = tryit.check(w2v, name, mine[f"my_{name}"], data)
        assert agreement and agreement.agrees, repr(agreement)
        assert repr(agreement).startswith(
            f"my_{name} agrees with {framework}'s {name} on a batch of 64 rows (56 "
            f"centers and 8 padding rows, as the last batch of an epoch has)"
        )
    agreement = tryit.check(w2v, "step", mine["my_step"], data)
    assert agreement and agreement.agrees, repr(agreement)
    assert repr(agreement).startswith(
        f"my_step agrees with {framework}'s Trainer.step over 2 steps from the tables "
        f"training starts from (a batch of 64 rows with 8 padding rows, then 64 more "
        f"centers): the losses, both gradients, the updated tables and Adam's moments"
    )
    assert float(repr(agreement).rsplit("at most ", 1)[1].rstrip(".")) < 1e-6


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


def test_only_the_three_functions_can_be_replaced():
    w2v = load_backend("numpy")
    with pytest.raises(W2VError, match="Trainer cannot be replaced; replace skip_gram, masked_bce or step"):
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
        "no_sum": (
            lambda c, cn, ec, ex: ec(c) * ex(cn),
            "(64, 60, 100), that is (batch, row width, embedding size), where the backend's is (64, 1, 60), "
            "that is (batch, 1, row width). The sum runs over the wrong axis, or is missing",
        ),
        "sum_over_width": (
            lambda c, cn, ec, ex: (ec(c) * ex(cn)).sum(dim=1, keepdim=True),
            "(64, 1, 100), that is (batch, 1, embedding size)",
        ),
        "no_reshape": (
            lambda c, cn, ec, ex: (ec(c) * ex(cn)).sum(dim=-1),
            "(64, 60), that is (batch, row width), where the backend's is (64, 1, 60), that is (batch, 1, "
            "row width). The axis of length 1 in the middle is missing",
        ),
        "other_way_round": (
            lambda c, cn, ec, ex: torch.bmm(ex(cn), ec(c).permute(0, 2, 1)),
            "(64, 60, 1), that is (batch, row width, 1), where the backend's is (64, 1, 60), that "
            "is (batch, 1, row width). The product is taken the other way round",
        ),
        "tables_swapped": (
            lambda c, cn, ec, ex: torch.bmm(ex(c), ec(cn).permute(0, 2, 1)),
            "it looks like it swaps the two tables",
        ),
        "one_table": (
            lambda c, cn, ec, ex: torch.bmm(ec(c), ec(cn).permute(0, 2, 1)),
            "it looks like it takes every vector from embed_center",
        ),
        "cosine": (
            lambda c, cn, ec, ex: F.cosine_similarity(ec(c), ex(cn), dim=-1).unsqueeze(1),
            "it looks like it divides by the vectors' lengths (a cosine)",
        ),
        "doubled": (
            lambda c, cn, ec, ex: 2 * torch.bmm(ec(c), ex(cn).permute(0, 2, 1)),
            "every value is 2 times the backend's: a constant factor",
        ),
        "negated": (
            lambda c, cn, ec, ex: -torch.bmm(ec(c), ex(cn).permute(0, 2, 1)),
            "every value has the opposite sign of the backend's",
        ),
        "no_return": (lambda c, cn, ec, ex: None, "it returns None: the function needs a `return`"),
        "raises": (
            lambda c, cn, ec, ex: torch.bmm(ec(c), ex(cn)),
            "raised RuntimeError: Expected size for first two dimensions of batch2 tensor",
        ),
    }
    masked_bce = {
        "over_the_width": (
            lambda s, y, m: (entries(s, y) * m).mean(dim=1),
            "it looks like it divides each row's sum by the row width instead of by the number of real entries",
        ),
        "summed": (lambda s, y, m: (entries(s, y) * m).sum(dim=1), "it sums each row's losses without dividing"),
        "mask_forgotten": (lambda s, y, m: entries(s, y).mean(dim=1), "it looks like it leaves out the mask"),
        "mask_only_to_divide": (
            lambda s, y, m: entries(s, y).sum(dim=1) / m.sum(dim=1).clamp(min=1),
            "it adds up the padding entries too",
        ),
        "labels_swapped": (
            lambda s, y, m: (entries(s, 1 - y) * m).sum(dim=1) / m.sum(dim=1).clamp(min=1),
            "it swaps the labels, or the sign of the scores",
        ),
        "no_clamp": (
            lambda s, y, m: (entries(s, y) * m).sum(dim=1) / m.sum(dim=1),
            "it gives NaN or infinity on the padding rows",
        ),
        "batch_mean": (
            lambda s, y, m: ((entries(s, y) * m).sum(dim=1) / m.sum(dim=1).clamp(min=1)).mean(),
            "it returns shape (), a single number, where the backend's is (64,), that is (batch). "
            "The loss here is one number per center",
        ),
        "entries": (
            lambda s, y, m: entries(s, y) * m,
            "(64, 60), that is (batch, row width), where the backend's is (64,), that is (batch). These are "
            "the entries' losses",
        ),
        "all_contexts": (
            lambda s, y, m: (entries(s, torch.ones_like(y)) * m).sum(dim=1) / m.sum(dim=1).clamp(min=1),
            "it treats every entry as a context word (label 1)",
        ),
        "all_noise": (
            lambda s, y, m: (entries(s, torch.zeros_like(y)) * m).sum(dim=1) / m.sum(dim=1).clamp(min=1),
            "it treats every entry as a noise word (label 0)",
        ),
        "negative": (
            lambda s, y, m: -(entries(s, y) * m).sum(dim=1) / m.sum(dim=1).clamp(min=1),
            "every value has the opposite sign",
        ),
        "tuple": (lambda s, y, m: (s, y), "it returns a tuple, not one array of torch"),
    }
    return {"skip_gram": skip_gram, "masked_bce": masked_bce}


@pytest.mark.needs("torch")
@pytest.mark.parametrize("name", ["skip_gram", "masked_bce"])
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
    assert message.startswith(
        "over_the_width does not agree with numpy's masked_bce: 54 of 64 values differ; it "
        "looks like it divides each row's sum by the row width instead of by the number of "
        "real entries"
    )


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
    assert not answer and repr(answer).startswith(
        "training with through_numpy stopped with RuntimeError: element 0 of tensors does not require grad"
    )
    assert w2v.skip_gram is not through_numpy


def test_only_the_three_functions_can_be_checked(data):
    with pytest.raises(
        W2VError, match="'Trainer' is not one of the functions to try: choose skip_gram, masked_bce or step"
    ):
        tryit.check(load_backend("numpy"), "Trainer", print, data)


@pytest.mark.parametrize("name", ["skip_gram", "step"])
def test_checking_on_cbow_data_says_to_load_the_chapters_skip_gram_data(corpus, name):
    with pytest.raises(W2VError, match=r"load it with the skip-gram model \(load_data\(\), or .*not CBOW\."):
        tryit.check(load_backend("numpy"), name, lambda *arguments: None, make_dataset(corpus, model="cbow"))


@pytest.mark.parametrize("objective", ["hierarchical_softmax", "full_softmax"])
def test_checking_on_another_objectives_data_says_to_load_negative_sampling(corpus, objective):
    with pytest.raises(W2VError, match=rf"train with negative sampling: load the data .* not {objective}\."):
        tryit.check(load_backend("numpy"), "masked_bce", print, make_dataset(corpus, objective=objective))


# -- a reader's training step --------------------------------------------------------------------------------------


def torch_step_mistakes():
    """Wrong versions of the chapter's step in PyTorch, each with what the check must tell a student."""
    import torch

    w2v = load_backend("torch")

    def losses(trainer, arrays):  # each center's loss, as the backend computes it
        scores = w2v.skip_gram(
            arrays["centers"], arrays["contexts_negatives"], trainer.embed_center, trainer.embed_context
        )
        return w2v.masked_bce(scores.reshape(arrays["label"].shape), arrays["label"], arrays["mask"])

    def gradients(trainer):
        return trainer.embed_center.weight.grad, trainer.embed_context.weight.grad

    def step(zero_grad=True, reduce=torch.sum, sign=1.0, update="adam"):
        def my_step(trainer, arrays):
            if zero_grad:
                trainer.optimizer.zero_grad()
            loss = reduce(losses(trainer, arrays))
            (sign * loss).backward()
            applied = tuple(g.clone() for g in gradients(trainer))
            if update == "adam":
                trainer.optimizer.step()
            elif update == "center only":
                trainer.embed_context.weight.grad = None  # Adam skips a table without a gradient
                trainer.optimizer.step()
            elif update == "ascent":
                with torch.no_grad():
                    for table in trainer.net.parameters():
                        table += 0.002 * table.grad  # + where gradient descent has -
            return loss.detach(), applied

        return my_step

    def raises(trainer, arrays):
        return losses(trainer, arrays) @ arrays["centers"]  # a float matrix times the int indices

    def none(trainer, arrays):
        step()(trainer, arrays)

    return {
        "no_zero_grad": (
            step(zero_grad=False),
            "my_step does not agree with torch's Trainer.step at step 2 of 2 (a batch of 64 rows): the "
            "center table's gradient and its update differ in 50 rows: 10 centers of the batch",
            "words not in the batch",
            "Each gradient is this step's plus the step before's: the gradients are not cleared between steps",
            "optimizer.zero_grad()",
        ),
        "mean": (
            step(reduce=torch.mean),
            "at step 1 of 2 (a batch of 64 rows with 8 padding rows): its loss is 0.606547, the backend's "
            "38.819; the center table's gradient differs in 50 rows: 50 centers of the batch",
            "The loss and both gradients are 1/64 of the backend's: a mean over the batch's 64 rows, where the "
            "step minimises their sum",
            "so its steps hardly depend on the gradient's scale: only ",
        ),
        "ascent": (
            step(sign=-1.0),
            "the center table's gradient and its update differ in 50 rows",
            "Both gradients have the opposite sign: it differentiates the negated loss, so the step climbs "
            "the loss instead of descending it (gradient ascent)",
        ),
        "added_update": (
            step(update="ascent"),
            "the center table's update differs in 50 rows: 50 centers of the batch",
            "The tables move by a multiple of the gradient, and along it: gradient ascent",
        ),
        "center_only": (
            step(update="center only"),
            "the context table's update differs in 930 rows: 50 centers of the batch",
            "880 context or noise words of the batch",
            "Only the center table was updated; the context table did not change",
        ),
        "no_update": (
            step(update=None),
            "The tables did not change: the step computes the gradients but never applies them",
        ),
        "raises": (
            raises,
            "my_step raised RuntimeError: expected m1 and m2 to have the same dtype, but got: float "
            "!= int at step 1 of 2 (it was given a torch Trainer and the arrays of a batch: centers (64, 1), "
            "contexts_negatives, label and mask (64, 60)).",
        ),
        "no_return": (none, "my_step returns None: a step must return (loss, (grad_center, grad_context))"),
        "loss_alone": (
            lambda trainer, arrays: step()(trainer, arrays)[0],
            "my_step returns a Tensor of another form: a step must return (loss, (grad_center, grad_context))",
        ),
    }


@pytest.mark.needs("torch")
def test_each_typical_mistake_in_a_step_is_named(data):
    w2v = load_backend("torch")
    for mistake, (function, *said) in torch_step_mistakes().items():
        function.__name__ = "my_step"
        agreement = tryit.check(w2v, "step", function, data)
        message = repr(agreement)
        assert not agreement and all(part in message for part in said), (mistake, message)
        assert "Traceback" not in message and "\n" not in message
        assert ("torch", "step") not in tryit._passed


def test_a_step_is_diagnosed_from_numpy_arrays_alone():
    """The framework-neutral part: two NumPy steps on a 6-word vocabulary, told apart by explain_step."""
    from backends.display.diagnose import Step, StepInputs, describe_rows, explain_step

    rng = np.random.default_rng(0)
    tables = tuple(rng.normal(size=(6, 3)) for _ in range(2))
    centers, contexts = np.array([[0], [1]]), np.array([[2, 3], [3, 0]])
    mask = np.array([[1.0, 1.0], [1.0, 0.0]])  # the second row's second entry is padding: word 0 not a context
    grads = tuple(np.zeros((6, 3)) for _ in range(2))
    grads[0][[0, 1]], grads[1][[2, 3]] = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    update = tuple(-0.002 * np.sign(g) for g in grads)
    moments = tuple((0.1 * g, 0.001 * g * g) for g in grads)
    tokens = ["the", "cat", "sat", "on", "mat", "aardvark"]
    inputs = StepInputs(1, centers, contexts, mask, tables, tokens)
    expected = Step(3.5, grads, tuple(t + u for t, u in zip(tables, update)), moments)

    assert explain_step(expected, expected, inputs) is None
    assert describe_rows(np.array([0, 2, 5]), inputs) == (
        "3 rows: 1 center of the batch ('the'), 1 context or noise "
        "word of the batch ('sat'), 1 word not in the batch "
        "('aardvark')"
    )
    mean = Step(3.5 / 2, tuple(g / 2 for g in grads), expected.tables, moments)
    assert "The loss and both gradients are 1/2 of the backend's: a mean over the batch's 2 rows" in explain_step(
        mean, expected, inputs
    )
    still = Step(3.5, grads, tables, moments)
    said = explain_step(still, expected, inputs)
    assert said.startswith(
        "the center table's update differs in 2 rows: 2 centers of the batch ('the', 'cat'); "
        "the context table's update differs in 2 rows: 2 context or noise words of the batch "
        "('sat', 'on'). The tables did not change"
    )
    ascent = Step(3.5, grads, tuple(t - u for t, u in zip(tables, update)), moments)
    assert "The tables move the opposite way to the backend's: gradient ascent" in explain_step(
        ascent, expected, inputs
    )
    stray = tuple(t.copy() for t in expected.tables)
    stray[1][5] += 0.002  # a word in no batch moves
    said = explain_step(Step(3.5, grads, stray, moments), expected, inputs)
    assert "Rows that should not move moved, in the context table 1 row: 1 word not in the batch ('aardvark')" in said
    other_epsilon = tuple(t + u for t, u in zip(tables, update))
    other_epsilon[0][0] *= 1 + 1e-2  # one row's update off, the gradients and moments alike: another epsilon
    said = explain_step(Step(3.5, grads, other_epsilon, moments), expected, inputs)
    assert said.endswith(
        "The loss, the gradients and Adam's moments agree, but some updates differ: the optimizer "
        "divides by another epsilon or uses another rule than the backend's Adam. In MXNet and "
        "TensorFlow, keep the epsilon line: their Adam adds epsilon to the square root of the "
        "uncorrected second moment, PyTorch and optax to the bias-corrected one, and the line "
        "rescales it to match."
    )
    second = StepInputs(2, centers, contexts, mask, tables, tokens, earlier=grads)
    kept = Step(3.5, tuple(2 * g for g in grads), expected.tables, moments)
    assert "Each gradient is this step's plus the step before's" in explain_step(kept, expected, second)


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_training_with_the_readers_step(framework, data):
    w2v, mine = load_backend(framework), starting_points(framework)
    own = vars(w2v.Trainer)["step"]
    reference = w2v.train(data, max_steps=12, progress=False)
    tryit._passed.pop((framework, "step"), None)
    refused = tryit.train_with(w2v, data, reference, step=mine["my_step"])
    assert not refused and repr(refused).startswith("not trained: my_step has not passed the check")
    assert tryit.check(w2v, "step", mine["my_step"], data)
    trained = tryit.train_with(w2v, data, reference, steps=12, step=mine["my_step"])
    assert trained and "over 12 steps the two runs' losses differ by at most" in repr(trained)
    for name in ("skip_gram", "masked_bce"):
        assert tryit.check(w2v, name, mine[f"my_{name}"], data)
    together = tryit.train_with(
        w2v,
        data,
        reference,
        steps=12,
        skip_gram=mine["my_skip_gram"],
        masked_bce=mine["my_masked_bce"],
        step=mine["my_step"],
    )
    assert together and "over 12 steps" in repr(together)
    assert vars(w2v.Trainer)["step"] is own

    calls = []

    def counted(trainer, arrays):
        calls.append(sorted(arrays))
        return mine["my_step"](trainer, arrays)

    with tryit.using(w2v, step=counted):
        assert w2v.Trainer.step.__wrapped__ is counted
        w2v.train(data, max_steps=3, progress=False)
    assert calls == [["centers", "contexts_negatives", "label", "mask"]] * 3  # the reader's step took every step
    with pytest.raises(KeyboardInterrupt), tryit.using(w2v, step=counted):
        raise KeyboardInterrupt  # however the block ends, the Trainer gets its own step back
    assert vars(w2v.Trainer)["step"] is own


def test_an_exception_is_said_in_the_readers_terms():
    """One line, without the framework's operation names or internal names in double braces."""
    error = ValueError("Matrix size-incompatible: In[0]: [64,1,100], In[1]: [64,60,100] [Op:BatchMatMulV2] name: ")
    assert tryit._said(error) == "ValueError: Matrix size-incompatible: In[0]: [64,1,100], In[1]: [64,60,100]"
    announced = RuntimeError("in user code:\n\n    File x.py\n\n    {{function_node __wrapped__}} shapes differ.")
    assert tryit._said(announced) == "RuntimeError: shapes differ"
