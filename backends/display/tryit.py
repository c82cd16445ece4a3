"""The chapter notebooks' "try it" cells: a reader's own ``skip_gram`` or ``masked_bce``, checked against the
backend's on the same batch, and trained through the same loop.

The backend module is passed in (``w2v`` in the notebooks), so nothing here imports a framework:

    check(w2v, "skip_gram", my_skip_gram, data)      # do they agree on one batch? where not, and why?
    train_with(w2v, data, history, skip_gram=my_skip_gram)  # train with it, once it agreed: do the runs agree?

A reader's mistake is an answer, never a traceback: an exception of theirs is reported in one sentence naming
their function and what it was given, and ``using`` (the mechanism ``train_with`` trains through) gives the
backend its own functions back however the block ends.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Iterator

import numpy as np

from backends.cli.compare import PARITY_TOLERANCE
from backends.cli.report import relative_differences
from backends.common.errors import W2VError
from backends.common.seeds import STREAM_CHECK, rng_for
from backends.common.settings import Settings
from backends.display.diagnose import Inputs, explain_shape, explain_values
from backends.pipeline.dataset import Dataset
from backends.training.weights import initial_weights

REPLACEABLE = ("skip_gram", "masked_bce")  # the functions a reader may write in a backend's place
CHECK_BATCH, PADDING = 64, 8  # rows in the batch both functions see, of which padding rows (mask all 0)
SCORE_SCALE = 3.0  # masked_bce sees scores spread like a trained model's, where a wrong label or sign shows
_passed: dict[tuple[str, str], Callable] = {}  # (backend, function name): the reader's function that last agreed


@dataclass(frozen=True)
class Agreement:
    """Whether the reader's function gave the backend's values on the same inputs; ``message`` says where not.

    Shown in a notebook as its message; ``bool(agreement)`` is whether they agree."""

    name: str
    agrees: bool
    message: str

    def __bool__(self) -> bool:
        return self.agrees

    def __repr__(self) -> str:
        return self.message


def _check_inputs(data: Dataset) -> Inputs:
    """The check's inputs in NumPy: a batch of ``CHECK_BATCH`` rows, the last ``PADDING`` of them padding (as
    the last batch of every epoch has), the tables training starts from, and seeded scores for the loss."""
    draw, real = data.draw(0), min(CHECK_BATCH - PADDING, data.num_centers)
    rows = np.concatenate([np.arange(real), np.full(CHECK_BATCH - real, -1)])
    batch = data.model.batch(draw, rows, real)
    center, context = initial_weights(len(data.vocab), data.settings.embed_size, data.settings.seed)
    scores = rng_for(data.settings.seed, STREAM_CHECK).normal(0.0, SCORE_SCALE, batch.label.shape)
    return Inputs(batch.centers, batch.contexts_negatives, batch.label, batch.mask, center, context,
                  scores.astype(np.float32))


def _arguments(backend: ModuleType, name: str, inputs: Inputs) -> tuple:
    """The inputs as the backend's tensors and tables, in the order ``name`` takes them."""
    if name == "skip_gram":
        return (backend.tensor(inputs.centers), backend.tensor(inputs.contexts_negatives),
                backend.embedding(inputs.center_table), backend.embedding(inputs.context_table))
    return backend.tensor(inputs.scores), backend.tensor(inputs.label), backend.tensor(inputs.mask)


def _given(name: str, inputs: Inputs) -> str:
    """What a function ``name`` is given, in words, for a message about what it did with it."""
    if name == "skip_gram":
        rows, words = inputs.center_table.shape
        return (f"centers {inputs.centers.shape}, contexts_negatives {inputs.contexts_negatives.shape} and the "
                f"two embedding tables ({rows:,} words x {words})")
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
    said = said.removeprefix(f"{type(error).__name__}: ").rstrip(".")
    return f"{type(error).__name__}: {said if len(said) <= 240 else said[:237] + '...'}"


def check(backend: ModuleType, name: str, yours: Callable, data: Dataset) -> Agreement:
    """Run ``yours`` and the backend's ``name`` on the same batch of ``data`` and say whether they agree, and
    where they do not, why (:mod:`backends.display.diagnose`). An exception of ``yours`` is part of the answer."""
    if name not in REPLACEABLE:
        raise W2VError(f"{name!r} is not one of the functions to try: choose {' or '.join(REPLACEABLE)}.")
    inputs = _check_inputs(data)
    expected = np.asarray(backend.to_numpy(getattr(backend, name)(*_arguments(backend, name, inputs))), np.float64)
    label = getattr(yours, "__name__", "your function")
    _passed.pop((backend.NAME, name), None)
    try:
        mine = _as_array(backend, yours(*_arguments(backend, name, inputs)))
    except Exception as error:  # noqa: BLE001 - the reader's code: any exception is what the check reports
        return Agreement(name, False, f"{label} raised {_said(error)} (it was given {_given(name, inputs)}).")
    if isinstance(mine, str):
        difference = mine + "."
    elif mine.shape != expected.shape:
        difference = explain_shape(name, mine.shape, expected.shape, inputs)
    else:
        difference = explain_values(name, mine, expected, inputs)
    if difference is not None:
        return Agreement(name, False, f"{label} does not agree with {backend.NAME}'s {name}: {difference}")
    _passed[(backend.NAME, name)] = yours
    largest = float(np.max(np.abs(mine - expected))) if mine.size else 0.0
    return Agreement(name, True, f"{label} agrees with {backend.NAME}'s {name} on a batch of {CHECK_BATCH} rows "
                                 f"({CHECK_BATCH - PADDING} centers and {PADDING} padding rows, as the last batch "
                                 f"of an epoch has): {mine.size:,} values, the largest difference {largest:.1e}.")


@contextlib.contextmanager
def using(backend: ModuleType, **functions: Callable) -> Iterator[ModuleType]:
    """Within the block, the backend runs the given functions (``skip_gram=...``, ``masked_bce=...``) in place
    of its own, training included; its own come back when the block ends, however it ends."""
    unknown = sorted(set(functions) - set(REPLACEABLE))
    if unknown:
        raise W2VError(f"{', '.join(unknown)} cannot be replaced; replace {' or '.join(REPLACEABLE)}.")
    own = {name: getattr(backend, name) for name in functions}
    try:
        for name, function in functions.items():
            setattr(backend, name, function)
        yield backend
    finally:
        for name, function in own.items():
            setattr(backend, name, function)


def train_with(backend: ModuleType, data: Dataset, reference: Any, steps: int = 200,
               **functions: Callable) -> Agreement:
    """Train the first ``steps`` steps of ``reference`` (a history of the backend's own run) again, with the
    reader's ``functions`` (``skip_gram=...``, ``masked_bce=...``) in place of the backend's, and compare the two
    runs step by step. Only functions whose check agreed are trained with (a function that gives other values
    would only show where the runs part); an exception while training is reported, never a traceback."""
    unknown = sorted(set(functions) - set(REPLACEABLE))
    if unknown:
        raise W2VError(f"{', '.join(unknown)} cannot be replaced; replace {' or '.join(REPLACEABLE)}.")
    unchecked = [getattr(function, "__name__", name) for name, function in functions.items()
                 if _passed.get((backend.NAME, name)) is not function]
    if unchecked:
        return Agreement("training", False, f"not trained: {' and '.join(unchecked)} "
                         f"{'has' if len(unchecked) == 1 else 'have'} not passed the check (run "
                         f"{'its check cell' if len(unchecked) == 1 else 'their check cells'} after every change, "
                         f"until each says that it agrees); training with a function that "
                         f"gives other values than the backend's would only show where the two runs part.")
    settings = Settings.from_dict(reference.settings).replace(max_steps=min(steps, reference.steps))
    try:
        with using(backend, **functions):
            yours = backend.train(data, settings, progress=False)
    except W2VError:
        raise
    except Exception as error:  # noqa: BLE001 - the reader's code: any exception is the answer
        names = " and ".join(getattr(function, "__name__", name) for name, function in functions.items())
        return Agreement("training", False, f"training with {names} stopped with {_said(error)}. A function that "
                         f"agrees on one batch can still fail inside training, where the framework traces it or "
                         f"takes its gradient: use the framework's own operations.")
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
    return Agreement("training", agrees, f"over {steps:,} steps the two runs' losses differ by at most {largest:.1e} "
                                         f"relative (step {at + 1:,}; the tolerance is {PARITY_TOLERANCE:g}): {verdict}.")
