"""The chapter notebooks' "try it" cells: a reader's own ``skip_gram``, ``masked_bce`` or training ``step``,
checked against the backend's on the same batch, and trained through the same loop.

The backend module is passed in (``w2v`` in the notebooks), so nothing here imports a framework:

    check(w2v, "skip_gram", my_skip_gram, data)      # do they agree on one batch? where not, and why?
    check(w2v, "step", my_step, data)                # two steps of a Trainer against Trainer.step
    train_with(w2v, data, history, skip_gram=my_skip_gram)  # train with it, once it agreed: do the runs agree?

A reader's step is ``my_step(trainer, arrays)``: it takes the backend's ``Trainer`` and a batch's arrays
(``batch_tensors``), takes one step in place, and returns ``(loss, (grad_center, grad_context))``.

A reader's mistake is an answer, never a traceback: an exception of theirs is reported in one sentence naming
their function and what it was given, and ``using`` (the mechanism ``train_with`` trains through) gives the
backend its own functions back however the block ends.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import inspect
import re
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from backends.common.errors import W2VError
from backends.common.messages import agreeing, listed
from backends.common.seeds import STREAM_CHECK, rng_for
from backends.common.settings import Settings
from backends.display import hints
from backends.display.diagnose import Inputs, Step, StepInputs, explain_shape, explain_step, explain_values
from backends.experiments.agreement import PARITY_TOLERANCE, relative_differences
from backends.pipeline.dataset import Dataset
from backends.pipeline.models import Batch, SkipGramBatch
from backends.training.state import TrainerState
from backends.training.weights import initial_weights

REPLACEABLE = ("skip_gram", "masked_bce", "step")  # what a reader may write in a backend's place (step: Trainer's)
STEPS = 2  # the steps a reader's step is checked over: the second shows gradients left from the first
CHECK_BATCH, PADDING = 64, 8  # rows in the batch both functions see, of which padding rows (mask all 0)
SCORE_SCALE = 3.0  # masked_bce sees scores spread like a trained model's, where a wrong label or sign shows
_passed: dict[tuple[str, str], Callable] = {}  # (backend, function name): the reader's function that last agreed


PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"  # a check's status, as a grade records it


@dataclass(frozen=True)
class Agreement:
    """Whether the reader's function gave the backend's values on the same inputs; ``message`` says where not.
    ``status`` is :data:`PASSED`, :data:`FAILED`, or :data:`NOT_ATTEMPTED` where the function is still the
    student notebook's blank.

    Shown in a notebook as its message; ``bool(agreement)`` is whether they agree."""

    name: str
    agrees: bool
    message: str
    attempted: bool = True

    @property
    def status(self) -> str:
        return PASSED if self.agrees else FAILED if self.attempted else NOT_ATTEMPTED

    def __bool__(self) -> bool:
        return self.agrees

    def __repr__(self) -> str:
        return self.message


def _check_batch(data: Dataset) -> Batch:
    """The batch every check sees: ``CHECK_BATCH`` rows of the first draw, the last ``PADDING`` of them padding
    (as the last batch of every epoch has)."""
    draw, real = data.draw(0), min(CHECK_BATCH - PADDING, data.num_centers)
    rows = np.concatenate([np.arange(real), np.full(CHECK_BATCH - real, -1)])
    return data.model.batch(draw, rows, real)


def _check_inputs(data: Dataset) -> Inputs:
    """The check's inputs in NumPy: a batch of ``CHECK_BATCH`` rows, the last ``PADDING`` of them padding (as
    the last batch of every epoch has), the tables training starts from, and seeded scores for the loss."""
    batch = _check_batch(data)
    assert isinstance(batch, SkipGramBatch), "check() refuses other models' data"
    center, context = initial_weights(len(data.vocab), data.settings.embed_size, data.settings.seed)
    scores = rng_for(data.settings.seed, STREAM_CHECK).normal(0.0, SCORE_SCALE, batch.label.shape)
    return Inputs(
        batch.centers, batch.contexts_negatives, batch.label, batch.mask, center, context, scores.astype(np.float32)
    )


def _arguments(backend: ModuleType, name: str, inputs: Inputs) -> tuple:
    """The inputs as the backend's tensors and tables, in the order ``name`` takes them."""
    if name == "skip_gram":
        return (
            backend.tensor(inputs.centers),
            backend.tensor(inputs.contexts_negatives),
            backend.embedding(inputs.center_table),
            backend.embedding(inputs.context_table),
        )
    return backend.tensor(inputs.scores), backend.tensor(inputs.label), backend.tensor(inputs.mask)


def _given(name: str, inputs: Inputs) -> str:
    """What a function ``name`` is given, in words, for a message about what it did with it."""
    if name == "skip_gram":
        rows, words = inputs.center_table.shape
        return (
            f"centers {inputs.centers.shape}, contexts_negatives {inputs.contexts_negatives.shape} and the "
            f"two embedding tables ({rows:,} words x {words})"
        )
    return f"scores, label and mask, each {inputs.scores.shape}"


def _as_array(backend: ModuleType, result: Any) -> np.ndarray | str:
    """``result`` as a NumPy array, or a sentence on why it is not one."""
    if result is None:
        return "it returns None: the function needs a `return` of the scores"
    try:
        return np.asarray(result if isinstance(result, np.ndarray) else backend.to_numpy(result), dtype=np.float64)
    except Exception:  # noqa: BLE001 - whatever it returned, say what it is
        return f"it returns a {type(result).__name__}, not one array of {backend.NAME}"


def _said(error: Exception) -> str:
    """An exception as a message shows it: its type and the line of its text that says what happened (the first,
    or the last where the first only announces more, as TensorFlow's "in user code:" does), without the
    framework's internal names in double braces, never a traceback."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [""]
    said = re.sub(r"\{\{.*?\}\}\s*", "", lines[-1] if lines[0].endswith(":") else lines[0])
    said = re.sub(r"\s*\[Op:\w+\]( name:.*)?$", "", said)  # TensorFlow's operation name: not the reader's
    said = said.removeprefix(f"{type(error).__name__}: ").rstrip(".")
    return f"{type(error).__name__}: {said if len(said) <= 240 else said[:237] + '...'}"


GIVEN = ("epsilon_hat",)  # what the student notebooks' outlines call themselves (MXNet's and Keras' epsilon rescale)


def _outlines_own(statement: ast.stmt) -> bool:
    """Whether a statement is one the outline hands the student, not theirs to write: it calls one of GIVEN."""
    return any(
        isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) in GIVEN
        for node in ast.walk(statement)
    )


def _blanks(function: Callable) -> tuple[int, int]:
    """How many of ``function``'s statements are a student notebook's blank (``...`` as the whole value of an
    assignment, a return or an expression), and how many statements it has that are the student's to write (those
    the outline gives are not counted): ``(0, 0)`` where its source cannot be read. An ``...`` inside an
    expression (``x[..., 0]``) is code, not a blank."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    except (OSError, TypeError, SyntaxError):
        return 0, 0
    kinds = (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Return, ast.Expr)
    statements = [node for node in ast.walk(tree) if isinstance(node, kinds) and not _outlines_own(node)]
    blank = [
        node
        for node in statements
        if isinstance(value := getattr(node, "value", None), ast.Constant) and value.value is Ellipsis
    ]
    return len(blank), len(statements)


def _unwritten(name: str, yours: Callable) -> Agreement | None:
    """Where ``yours`` still has the student notebook's blanks: not attempted (every statement a blank) or not
    finished (some), with what to do; None where it has none."""
    blank, statements = _blanks(yours)
    if not blank:
        return None
    label = getattr(yours, "__name__", "your function")
    ask = f'`tryit.hint(w2v, "{name}")` gives a hint, and again for the next'
    if blank == statements:
        return Agreement(
            name, False, f"{label} is not written yet: each `...` is a blank for your code. {ask}.", attempted=False
        )
    return Agreement(
        name,
        False,
        f"{label} still has {blank} blank{'s' if blank > 1 else ''} (`...`) of "
        f"{statements} statements: write each before the check runs it. {ask}.",
    )


def check(backend: ModuleType, name: str, yours: Callable, data: Dataset) -> Agreement:
    """Run ``yours`` and the backend's ``name`` on the same batch of ``data`` and say whether they agree, and
    where they do not, why (:mod:`backends.display.diagnose`). An exception of ``yours`` is part of the answer."""
    if name not in REPLACEABLE:
        raise W2VError(f"{name!r} is not one of the functions to try: choose {listed(REPLACEABLE, 'or')}.")
    if data.settings.model != "skipgram":
        raise W2VError(
            "the try-it checks compare skip-gram functions on the chapter's data: load it with the skip-gram "
            "model (load_data(), or load_data(model='skipgram')), not CBOW."
        )
    if data.settings.objective != "negative_sampling":
        raise W2VError(
            "the try-it checks compare the chapter's functions, which train with negative sampling: load the data "
            f"with it (load_data(), or load_data(objective='negative_sampling')), not {data.settings.objective}."
        )
    unwritten = _unwritten(name, yours)
    if unwritten is not None:
        _passed.pop((backend.NAME, name), None)
        return unwritten
    if name == "step":
        return _check_step(backend, yours, data)
    inputs = _check_inputs(data)
    expected = np.asarray(backend.to_numpy(getattr(backend, name)(*_arguments(backend, name, inputs))), np.float64)
    label = getattr(yours, "__name__", "your function")
    _passed.pop((backend.NAME, name), None)
    try:
        mine = _as_array(backend, yours(*_arguments(backend, name, inputs)))
    except Exception as error:  # noqa: BLE001 - the reader's code: any exception is what the check reports
        return Agreement(name, False, f"{label} raised {_said(error)} (it was given {_given(name, inputs)}).")
    if isinstance(mine, str):  # what it returned is not an array: that says what is wrong
        return Agreement(name, False, f"{label} does not agree with {backend.NAME}'s {name}: {mine}.")
    difference: str | None
    if mine.shape != expected.shape:
        difference = explain_shape(name, mine.shape, expected.shape, inputs)
    else:
        difference = explain_values(name, mine, expected, inputs)
    if difference is not None:
        return Agreement(name, False, f"{label} does not agree with {backend.NAME}'s {name}: {difference}")
    _passed[(backend.NAME, name)] = yours
    largest = float(np.max(np.abs(mine - expected))) if mine.size else 0.0
    return Agreement(
        name,
        True,
        f"{label} agrees with {backend.NAME}'s {name} on a batch of {CHECK_BATCH} rows "
        f"({CHECK_BATCH - PADDING} centers and {PADDING} padding rows, as the last batch "
        f"of an epoch has): {mine.size:,} values, the largest difference {largest:.1e}.",
    )


def _step_batches(data: Dataset) -> list[Batch]:
    """The batches a reader's step is checked on: the check batch (with its padding rows), then the next
    ``CHECK_BATCH`` centers of the same draw, all real."""
    draw = data.draw(0)
    start = min(CHECK_BATCH - PADDING, data.num_centers)
    rows = np.arange(start, start + CHECK_BATCH) % data.num_centers
    return [_check_batch(data), data.model.batch(draw, rows, CHECK_BATCH)]


def _snapshot(backend: ModuleType, trainer: Any) -> TrainerState:
    """The trainer's tables and Adam moments as float64 copies (a framework may hand out views of its memory,
    which its next step overwrites)."""
    state = backend.state(trainer)
    return TrainerState(
        tuple(np.array(t, dtype=np.float64) for t in state.tables),
        tuple(tuple(np.array(x, dtype=np.float64) for x in pair) for pair in state.moments),
        state.step,
    )


def _step_given(backend: ModuleType, batch: Batch) -> str:
    """What a reader's step is given, in words."""
    arrays = batch.arrays()
    return (
        f"a {backend.NAME} Trainer and the arrays of a batch: centers {arrays['centers'].shape}, "
        f"contexts_negatives, label and mask {arrays['label'].shape}"
    )


RETURNS = "(loss, (grad_center, grad_context)): the batch's summed loss and the two gradients it applied"


def _step_returned(backend: ModuleType, returned: Any, shape: tuple[int, ...]) -> tuple | str:
    """``(loss, (center gradient, context gradient))`` in NumPy from what a reader's step returned, or a sentence
    on why that is not of this form."""
    if returned is None:
        return f"returns None: a step must return {RETURNS}."
    if (
        not isinstance(returned, (tuple, list))
        or len(returned) != 2
        or not isinstance(returned[1], (tuple, list))
        or len(returned[1]) != 2
    ):
        return f"returns a {type(returned).__name__} of another form: a step must return {RETURNS}."
    loss = _as_array(backend, returned[0])
    if isinstance(loss, str) or loss.size != 1:
        what = f"shape {loss.shape}" if not isinstance(loss, str) else type(returned[0]).__name__
        return f"returns as its loss a {what}: the loss is one number, the sum of the batch's losses."
    gradients = []
    for name, gradient in zip(("center", "context"), returned[1]):
        array = None if gradient is None else _as_array(backend, gradient)
        if array is None or isinstance(array, str) or array.shape != shape:
            what = (
                "None (no gradient: before the backward pass, or after the gradients were cleared)"
                if array is None
                else f"an object of type {type(gradient).__name__}"
                if isinstance(array, str)
                else f"an array of shape {array.shape}"
            )
            sparse = (
                " TensorFlow's IndexedSlices hold one row per index looked up: tf.convert_to_tensor adds them "
                "up into the dense gradient."
                if type(gradient).__name__ == "IndexedSlices"
                else ""
            )
            return (
                f"returns as the {name} table's gradient {what}: each gradient is one dense array of the "
                f"table's shape {shape}.{sparse}"
            )
        gradients.append(np.array(array, dtype=np.float64))
    return float(loss.reshape(())), tuple(gradients)


def _check_step(backend: ModuleType, yours: Callable, data: Dataset) -> Agreement:
    """Two steps of a fresh ``Trainer`` with ``yours`` against two of the backend's own ``Trainer.step``, from
    the same tables on the same batches, compared after each (:func:`backends.display.diagnose.explain_step`)."""
    label, theirs = getattr(yours, "__name__", "your step"), f"{backend.NAME}'s Trainer.step"
    _passed.pop((backend.NAME, "step"), None)
    weights = initial_weights(len(data.vocab), data.settings.embed_size, data.settings.seed)
    own, mine = (backend.Trainer(*weights, lr=data.settings.lr, device="cpu") for _ in range(2))
    earlier, largest = None, 0.0
    for number, batch in enumerate(_step_batches(data), 1):
        before = _snapshot(backend, mine)
        gradients = backend.gradients(*(table.astype(np.float32) for table in before.tables), batch)
        loss = float(backend.losses_to_numpy([own.step(batch)])[0])
        after = _snapshot(backend, own)
        expected = Step(loss, tuple(np.asarray(g, np.float64) for g in gradients), after.tables, after.moments)
        at = f"at step {number} of {STEPS}"
        try:
            returned = _step_returned(
                backend, yours(mine, backend.batch_tensors(batch, mine.device)), before.tables[0].shape
            )
        except Exception as error:  # noqa: BLE001 - the reader's code: any exception is what the check reports
            return Agreement(
                "step", False, f"{label} raised {_said(error)} {at} (it was given {_step_given(backend, batch)})."
            )
        if isinstance(returned, str):
            return Agreement("step", False, f"{label} {returned}")
        state = _snapshot(backend, mine)
        step = Step(returned[0], returned[1], state.tables, state.moments)
        arrays = batch.arrays()
        inputs = StepInputs(
            number,
            arrays["centers"],
            arrays["contexts_negatives"],
            arrays["mask"],
            before.tables,
            data.vocab.tokens,
            earlier,
        )
        difference = explain_step(step, expected, inputs)
        if difference is not None:
            padding = f" with {PADDING} padding rows" if number == 1 else ""
            return Agreement(
                "step",
                False,
                f"{label} does not agree with {theirs} {at} (a batch of {CHECK_BATCH} rows{padding}): {difference}",
            )
        earlier = step.gradients
        largest = max(largest, *(float(np.max(np.abs(a - b))) for a, b in zip(step.tables, expected.tables)))
    _passed[(backend.NAME, "step")] = yours
    return Agreement(
        "step",
        True,
        f"{label} agrees with {theirs} over {STEPS} steps from the tables training "
        f"starts from (a batch of {CHECK_BATCH} rows with {PADDING} padding rows, then "
        f"{CHECK_BATCH} more centers): the losses, both gradients, the updated tables "
        f"and Adam's moments; the tables differ by at most {largest:.1e}.",
    )


def _stepping(backend: ModuleType, yours: Callable) -> Callable:
    """A ``Trainer.step`` that runs the reader's ``yours(trainer, arrays)`` on the batch's tensors and returns
    the loss, as the loop wants it."""

    def step(trainer: Any, batch: Batch) -> Any:
        loss, _ = yours(trainer, backend.batch_tensors(batch, trainer.device))
        return loss

    return functools.update_wrapper(step, yours)  # its name (else "step"), docstring, and __wrapped__


def _owner(backend: ModuleType, name: str) -> Any:
    """Where ``name`` lives: the backend module for its functions, its ``Trainer`` class for ``step``."""
    return backend.Trainer if name == "step" else backend


@contextlib.contextmanager
def using(backend: ModuleType, **functions: Callable) -> Iterator[ModuleType]:
    """Within the block, the backend runs the given functions (``skip_gram=...``, ``masked_bce=...``, and
    ``step=...`` for ``Trainer.step``) in place of its own, training included; its own come back when the block
    ends, however it ends."""
    _refuse_unknown(functions)
    own = {name: vars(_owner(backend, name))[name] for name in functions}
    try:
        for name, function in functions.items():
            setattr(_owner(backend, name), name, _stepping(backend, function) if name == "step" else function)
        yield backend
    finally:
        for name, function in own.items():
            setattr(_owner(backend, name), name, function)


def train_with(
    backend: ModuleType, data: Dataset, reference: Any, steps: int = 200, **functions: Callable
) -> Agreement:
    """Train the first ``steps`` steps of ``reference`` (a history of the backend's own run) again, with the
    reader's ``functions`` (``skip_gram=...``, ``masked_bce=...``, ``step=...``) in place of the backend's, and
    compare the two runs step by step. Only functions whose check agreed are trained with (a function that gives
    other values would only show where the runs part); an exception while training is reported, never a
    traceback."""
    _refuse_unknown(functions)
    unchecked = [
        getattr(function, "__name__", name)
        for name, function in functions.items()
        if _passed.get((backend.NAME, name)) is not function
    ]
    unwritten = [
        getattr(function, "__name__", name)
        for name, function in functions.items()
        if _unwritten(name, function) is not None
    ]
    if unwritten and len(unwritten) == len(functions):
        return Agreement(
            "training",
            False,
            f"nothing to train with yet: {listed(unwritten)} still "
            f"{agreeing(len(unwritten), 'has', 'have')} blanks (`...`) to fill "
            f"in; once each check above agrees, this cell trains with them.",
            attempted=False,
        )
    if unchecked:
        return Agreement(
            "training",
            False,
            f"not trained: {listed(unchecked)} "
            f"{agreeing(len(unchecked), 'has', 'have')} not passed the check (run "
            f"{agreeing(len(unchecked), 'its check cell', 'their check cells')} after every change, "
            f"until each says that it agrees); training with a function that "
            f"gives other values than the backend's would only show where the two runs part.",
        )
    settings = Settings.from_dict(reference.settings).replace(max_steps=min(steps, reference.steps))
    try:
        with using(backend, **functions):
            yours = backend.train(data, settings, progress=False)
    except W2VError:
        raise
    except Exception as error:  # noqa: BLE001 - the reader's code: any exception is the answer
        names = listed([getattr(function, "__name__", name) for name, function in functions.items()])
        return Agreement(
            "training",
            False,
            f"training with {names} stopped with {_said(error)}. A function that "
            f"agrees on one batch can still fail inside training, where the framework traces it or "
            f"takes its gradient: use the framework's own operations.",
        )
    return compare_runs(yours, reference)


def compare_runs(yours: Any, reference: Any) -> Agreement:
    """Whether two training histories' per-step losses agree (within the comparison's parity tolerance) over
    the steps both ran: a run with the reader's functions against the backend's own, from the same seed."""
    steps = min(len(yours.step_losses), len(reference.step_losses))
    if steps == 0:
        return Agreement("training", False, "one of the runs took no step: there is nothing to compare.")
    relative = relative_differences(yours.step_losses, reference.step_losses)
    largest, at = float(relative.max()), int(relative.argmax())
    agrees = largest <= PARITY_TOLERANCE
    verdict = "they agree" if agrees else f"they part at step {int(np.argmax(relative > PARITY_TOLERANCE)) + 1:,}"
    return Agreement(
        "training",
        agrees,
        f"over {steps:,} steps the two runs' losses differ by at most {largest:.1e} "
        f"relative (step {at + 1:,}; the tolerance is {PARITY_TOLERANCE:g}): {verdict}.",
    )


def _refuse_unknown(functions: dict[str, Any]) -> None:
    """An error naming what in ``functions`` a reader cannot put in the backend's place (see REPLACEABLE)."""
    unknown = sorted(set(functions) - set(REPLACEABLE))
    if unknown:
        raise W2VError(f"{', '.join(unknown)} cannot be replaced; replace {listed(REPLACEABLE, 'or')}.")


hint = hints.hint  # `tryit.hint(w2v, "skip_gram")`, where the student notebooks ask for it
