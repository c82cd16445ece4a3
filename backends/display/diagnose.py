"""Why a reader's ``skip_gram`` or ``masked_bce`` gives other values than the backend's, in the chapter's words.

Framework-neutral: it works on NumPy copies of the inputs and of both results, so one diagnosis serves every
backend. A result of another shape is named by its axes (batch, row width, embedding size) with the likely
cause; values of the right shape are compared with what the typical mistakes give on the same inputs (the
known mistakes below, each written once in NumPy), then with a constant factor or a flipped sign; where
nothing fits, the first difference is located. Differences at float32 rounding level are not differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

RTOL, ATOL = 1e-5, 1e-6  # float32 sums in another order differ by far less; a real mistake by far more


@dataclass(frozen=True)
class Inputs:
    """A check's inputs as NumPy arrays: a batch (padding rows included) and the tables, or scores for the loss."""

    centers: np.ndarray  # (B, 1)
    contexts_negatives: np.ndarray  # (B, W)
    label: np.ndarray  # (B, W)
    mask: np.ndarray  # (B, W)
    center_table: np.ndarray  # (V, E)
    context_table: np.ndarray  # (V, E)
    scores: np.ndarray  # (B, W): what masked_bce is given

    def axis_names(self) -> dict[int, str]:
        """Each size the results can have, named as the chapter names the axis."""
        batch, width = self.label.shape
        return {batch: "batch", width: "row width", self.center_table.shape[1]: "embedding size", 1: "1"}

    def describe(self, shape: tuple[int, ...]) -> str:
        """A shape with its axes named: '(64, 1, 60), that is (batch, 1, row width)'."""
        if not shape:
            return "(), a single number"
        names = self.axis_names()
        return f"{shape}, that is ({', '.join(names.get(size, '?') for size in shape)})"

    def padding_rows(self) -> np.ndarray:
        """The rows with no real entry (the last batch of an epoch is filled up with them)."""
        return self.mask.sum(axis=1) == 0


@dataclass(frozen=True)
class Mistake:
    """A typical mistake: what it does, in words, and what a function making it returns on the check's inputs."""

    says: str
    gives: Callable[[Inputs], np.ndarray]


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _entries(inputs: Inputs, scores: np.ndarray | None = None, label: np.ndarray | None = None) -> np.ndarray:
    """Each entry's binary cross-entropy, log(1 + e^s) - y s."""
    scores = inputs.scores if scores is None else scores
    return _softplus(scores) - (inputs.label if label is None else label) * scores


def _real_counts(inputs: Inputs) -> np.ndarray:
    return np.maximum(inputs.mask.sum(axis=1), 1)


def _scores(center_table: np.ndarray, context_table: np.ndarray, inputs: Inputs) -> np.ndarray:
    v, u = center_table[inputs.centers], context_table[inputs.contexts_negatives]  # (B, 1, E), (B, W, E)
    return v @ u.transpose(0, 2, 1)


def _cosines(inputs: Inputs) -> np.ndarray:
    v, u = inputs.center_table[inputs.centers], inputs.context_table[inputs.contexts_negatives]
    lengths = np.linalg.norm(v, axis=-1) * np.linalg.norm(u, axis=-1)  # (B, W)
    return (v @ u.transpose(0, 2, 1)) / np.maximum(lengths, 1e-12)[:, None, :]


SKIP_GRAM_MISTAKES = (
    Mistake("it swaps the two tables: the center's vector must come from embed_center and the row's words' "
            "vectors from embed_context", lambda x: _scores(x.context_table, x.center_table, x)),
    Mistake("it takes every vector from embed_center: the row's words (contexts and noise) are looked up in "
            "embed_context", lambda x: _scores(x.center_table, x.center_table, x)),
    Mistake("it takes every vector from embed_context: the center is looked up in embed_center",
            lambda x: _scores(x.context_table, x.context_table, x)),
    Mistake("it divides by the vectors' lengths (a cosine): the chapter's score is the plain inner product "
            "u_o · v_c", _cosines),
)

MASKED_BCE_MISTAKES = (
    Mistake("it divides each row's sum by the row width instead of by the number of real entries in the row "
            "(the mask's sum): a row with fewer context words gets a smaller loss",
            lambda x: (_entries(x) * x.mask).sum(axis=1) / x.mask.shape[1]),
    Mistake("it sums each row's losses without dividing by the number of real entries (the mask's sum)",
            lambda x: (_entries(x) * x.mask).sum(axis=1)),
    Mistake("it leaves out the mask: the padding entries (mask 0) are counted as if they were noise words",
            lambda x: _entries(x).mean(axis=1)),
    Mistake("it adds up the padding entries too (the mask is used only to divide): multiply each entry's "
            "loss by the mask before the sum", lambda x: _entries(x).sum(axis=1) / _real_counts(x)),
    # Swapped labels and negated scores give the same values: log(1 + e^-s) + y s = log(1 + e^s) - (1 - y) s.
    Mistake("it swaps the labels, or the sign of the scores: a context word (label 1) must cost log(1 + e^-s), "
            "small when its score s is large, and a noise word (label 0) log(1 + e^s)",
            lambda x: (_entries(x, label=1 - x.label) * x.mask).sum(axis=1) / _real_counts(x)),
)

MISTAKES = {"skip_gram": SKIP_GRAM_MISTAKES, "masked_bce": MASKED_BCE_MISTAKES}


def _shape_advice(name: str, yours: tuple[int, ...], inputs: Inputs) -> str:
    """The likely cause of a result of shape ``yours``, where the backend's is right."""
    batch, width = inputs.label.shape
    embed = inputs.center_table.shape[1]
    if name == "skip_gram":
        if yours == (batch, width):
            return ("The axis of length 1 in the middle is missing: the scores of one center are one row, "
                    "(batch, 1, row width), as the batched matrix product (B, 1, E) × (B, E, W) gives; add the "
                    "axis back after summing (unsqueeze(1), [:, None, :] or expand_dims).")
        if yours == (batch, width, 1):
            return ("The product is taken the other way round, the row's vectors times the center's: multiply "
                    "(B, 1, E) by the row's vectors transposed to (B, E, W), or transpose your result.")
        if embed in yours:
            return ("The sum runs over the wrong axis, or is missing: a score is the inner product of two "
                    "vectors, so the embedding axis is the one to sum over (the last, for (B, W, E) products).")
    if name == "masked_bce":
        if yours == ():
            return ("The loss here is one number per center, averaged over that row's real entries; the mean "
                    "over the batch is taken later, by the training step.")
        if yours == (batch, width):
            return ("These are the entries' losses: average each row over its real entries (the sum over the "
                    "row width of loss × mask, divided by the mask's sum).")
    return "Check which axis each operation works along."


def explain_shape(name: str, yours: tuple[int, ...], expected: tuple[int, ...], inputs: Inputs) -> str:
    """A sentence on a result of the wrong shape: both shapes by their axes, and the likely cause."""
    return (f"it returns shape {inputs.describe(yours)}, where the backend's is {inputs.describe(expected)}. "
            f"{_shape_advice(name, yours, inputs)}")


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.isclose(a, b, rtol=RTOL, atol=ATOL)


def explain_values(name: str, yours: np.ndarray, expected: np.ndarray, inputs: Inputs) -> str | None:
    """None where ``yours`` matches ``expected`` to float32 rounding; else what differs and, where it can be
    told, why: a typical mistake, a constant factor, a flipped sign, or NaN on the padding rows."""
    close = _close(yours, expected)
    if close.all():
        return None
    count = f"{int((~close).sum()):,} of {close.size:,} values differ"
    where = np.unravel_index(np.argmax(np.where(close, -1.0, np.nan_to_num(np.abs(yours - expected), nan=np.inf))),
                             yours.shape)
    at = (f"at index {tuple(int(i) for i in where)}: yours {yours[where]:.6g}, the backend's "
          f"{expected[where]:.6g}")
    cause = _cause(name, yours, expected, inputs)
    return f"{count}; {cause} (for example {at})." if cause else f"{count}; the largest difference is {at}."


def _cause(name: str, yours: np.ndarray, expected: np.ndarray, inputs: Inputs) -> str | None:
    bad = ~np.isfinite(yours)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        padding = inputs.padding_rows()
        if padding.any() and set(rows) <= set(np.flatnonzero(padding)):
            return ("it gives NaN or infinity on the padding rows, the rows with no real entry (mask all 0) that "
                    "fill up the last batch of every epoch: dividing by their mask's sum divides by 0, so divide "
                    "by at least 1 (clamp(min=1), maximum(..., 1))")
        return f"it gives NaN or infinity in {rows.size} row(s): an overflow, or a division by 0"
    for mistake in MISTAKES[name]:
        if _close(yours, mistake.gives(inputs).astype(np.float64)).all():
            return f"it looks like {mistake.says}"
    if _close(yours, -expected).all():
        return "every value has the opposite sign of the backend's"
    usable = np.abs(expected) > 1e-3
    ratios = yours[usable] / expected[usable]
    if ratios.size and np.allclose(ratios, ratios[0], rtol=1e-4):
        return f"every value is {ratios[0]:.6g} times the backend's: a constant factor too many or too few"
    return None
