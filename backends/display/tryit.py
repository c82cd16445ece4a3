"""The chapter notebooks' "try it" cells: a reader's own ``skip_gram`` or ``masked_bce``, checked against the
backend's on the same batch, and trained through the same loop.

The backend module is passed in (``w2v`` in the notebooks), so nothing here imports a framework:

    check(w2v, "skip_gram", my_skip_gram, data)        # do they agree on one batch? where not?
    with using(w2v, skip_gram=my_skip_gram):           # train with the reader's function in the backend's place
        mine = w2v.train(data, max_steps=200)
    compare_runs(mine, history)                        # do the two runs' losses agree step by step?
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Iterator

import numpy as np

from backends.cli.compare import PARITY_TOLERANCE
from backends.cli.report import relative_differences
from backends.common.errors import W2VError
from backends.common.seeds import STREAM_CHECK, rng_for
from backends.pipeline.dataset import Dataset
from backends.training.weights import initial_weights

REPLACEABLE = ("skip_gram", "masked_bce")  # the functions a reader may write in a backend's place
RTOL, ATOL = 1e-5, 1e-6  # float32 sums in another order differ by far less; a real mistake by far more
CHECK_BATCH = 64  # centers in the batch both functions see
SCORE_SCALE = 3.0  # masked_bce sees scores spread like a trained model's, where a wrong label or sign shows


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


def _inputs(backend: ModuleType, name: str, data: Dataset) -> tuple:
    """The arguments both versions of ``name`` get: a batch of ``data`` as the backend's tensors, the tables
    training starts from, and (for the loss) seeded scores with that batch's labels and mask."""
    batch = next(data.batches(batch_size=CHECK_BATCH))
    arrays = {key: backend.tensor(value) for key, value in batch.arrays().items()}
    if name == "skip_gram":
        center, context = initial_weights(len(data.vocab), data.settings.embed_size, data.settings.seed)
        return (arrays["centers"], arrays["contexts_negatives"], backend.embedding(center), backend.embedding(context))
    scores = rng_for(data.settings.seed, STREAM_CHECK).normal(0.0, SCORE_SCALE, batch.label.shape)
    return backend.tensor(scores.astype(np.float32)), arrays["label"], arrays["mask"]


def _compare(yours: np.ndarray, expected: np.ndarray) -> str | None:
    """None where ``yours`` matches ``expected``; else a sentence on the first thing that differs."""
    if yours.shape != expected.shape:
        return f"it returns shape {yours.shape}, the backend's returns {expected.shape}."
    close = np.isclose(yours, expected, rtol=RTOL, atol=ATOL)
    if close.all():
        return None
    where = np.unravel_index(np.argmax(np.abs(yours - expected) * ~close), yours.shape)
    return (f"{int((~close).sum()):,} of {close.size:,} values differ (by more than {RTOL:g} relative); the largest "
            f"difference is at index {tuple(int(i) for i in where)}: yours {yours[where]:.6g}, the backend's "
            f"{expected[where]:.6g}.")


def check(backend: ModuleType, name: str, yours: Callable, data: Dataset) -> Agreement:
    """Run ``yours`` and the backend's ``name`` on the same batch of ``data`` and say whether they agree."""
    if name not in REPLACEABLE:
        raise W2VError(f"{name!r} is not one of the functions to try: choose {' or '.join(REPLACEABLE)}.")
    inputs = _inputs(backend, name, data)
    expected = backend.to_numpy(getattr(backend, name)(*inputs))
    result = yours(*inputs)
    mine = np.asarray(backend.to_numpy(result) if not isinstance(result, np.ndarray) else result)
    label = getattr(yours, "__name__", "your function")
    difference = _compare(mine, expected)
    if difference is None:
        largest = float(np.max(np.abs(mine - expected))) if mine.size else 0.0
        return Agreement(name, True, f"{label} agrees with {backend.NAME}'s {name} on a batch of {CHECK_BATCH} "
                                     f"centers: {mine.size:,} values, the largest difference {largest:.1e}.")
    return Agreement(name, False, f"{label} does not agree with {backend.NAME}'s {name}: {difference}")


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
