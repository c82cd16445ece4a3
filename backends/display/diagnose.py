"""Why a reader's ``skip_gram``, ``masked_bce`` or training step gives other values than the backend's, in the
chapter's words.

Framework-neutral: it works on NumPy copies of the inputs and of both results, so one diagnosis serves every
backend. A result of another shape is named by its axes (batch, row width, embedding size) with the likely
cause; values of the right shape are compared with what the typical mistakes give on the same inputs (the
known mistakes below, each written once in NumPy), then with a constant factor or a flipped sign; where
nothing fits, the first difference is located. Differences at float32 rounding level are not differences.

A training step (:func:`explain_step`) is compared by what it leaves: its loss, the gradients it applied, the
tables and Adam's moments after it; the rows that differ are counted by their part in the batch (centers,
context and noise words, words not in it), and the typical mistakes of a step are recognised from those.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from backends import numpy as oracle
from backends.common.messages import counted, listed
from backends.training.adam import BETA1

RTOL, ATOL = 1e-5, 1e-6  # float32 sums in another order differ by far less; a real mistake by far more

Values = np.ndarray | np.floating  # an array, or a loss as one float64


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


def _entries(inputs: Inputs, scores: np.ndarray | None = None, label: np.ndarray | None = None) -> np.ndarray:
    """Each entry's binary cross-entropy, log(1 + e^s) - y s."""
    scores = inputs.scores if scores is None else scores
    return oracle.entry_losses(scores, inputs.label if label is None else label)


def _real_counts(inputs: Inputs) -> np.ndarray:
    return np.maximum(inputs.mask.sum(axis=1), 1)


def _scores(center_table: np.ndarray, context_table: np.ndarray, inputs: Inputs) -> np.ndarray:
    return oracle.skip_gram(
        inputs.centers, inputs.contexts_negatives, oracle.embedding(center_table), oracle.embedding(context_table)
    )


def _cosines(inputs: Inputs) -> np.ndarray:
    v, u = inputs.center_table[inputs.centers], inputs.context_table[inputs.contexts_negatives]
    lengths = np.linalg.norm(v, axis=-1) * np.linalg.norm(u, axis=-1)  # (B, W)
    return (v @ u.transpose(0, 2, 1)) / np.maximum(lengths, 1e-12)[:, None, :]


SKIP_GRAM_MISTAKES = (
    Mistake(
        "it swaps the two tables: the center's vector must come from embed_center and the row's words' "
        "vectors from embed_context",
        lambda x: _scores(x.context_table, x.center_table, x),
    ),
    Mistake(
        "it takes every vector from embed_center: the row's words (contexts and noise) are looked up in embed_context",
        lambda x: _scores(x.center_table, x.center_table, x),
    ),
    Mistake(
        "it takes every vector from embed_context: the center is looked up in embed_center",
        lambda x: _scores(x.context_table, x.context_table, x),
    ),
    Mistake(
        "it divides by the vectors' lengths (a cosine): the chapter's score is the plain inner product u_o · v_c",
        _cosines,
    ),
)

MASKED_BCE_MISTAKES = (
    Mistake(
        "it divides each row's sum by the row width instead of by the number of real entries in the row "
        "(the mask's sum): a row with fewer context words gets a smaller loss",
        lambda x: (_entries(x) * x.mask).sum(axis=1) / x.mask.shape[1],
    ),
    Mistake(
        "it sums each row's losses without dividing by the number of real entries (the mask's sum)",
        lambda x: (_entries(x) * x.mask).sum(axis=1),
    ),
    Mistake(
        "it leaves out the mask: the padding entries (mask 0) are counted as if they were noise words",
        lambda x: _entries(x).mean(axis=1),
    ),
    Mistake(
        "it adds up the padding entries too (the mask is used only to divide): multiply each entry's "
        "loss by the mask before the sum",
        lambda x: _entries(x).sum(axis=1) / _real_counts(x),
    ),
    # Swapped labels and negated scores give the same values: log(1 + e^-s) + y s = log(1 + e^s) - (1 - y) s.
    Mistake(
        "it swaps the labels, or the sign of the scores: a context word (label 1) must cost log(1 + e^-s), "
        "small when its score s is large, and a noise word (label 0) log(1 + e^s)",
        lambda x: (_entries(x, label=1 - x.label) * x.mask).sum(axis=1) / _real_counts(x),
    ),
    Mistake(
        "it treats every entry as a context word (label 1): the noise words' term, log(1 + e^s) for a "
        "label 0, is missing; the label says which of the two each entry costs",
        lambda x: (_entries(x, label=np.ones_like(x.label)) * x.mask).sum(axis=1) / _real_counts(x),
    ),
    Mistake(
        "it treats every entry as a noise word (label 0): the context words' term, log(1 + e^-s) for a "
        "label 1, is missing; the label says which of the two each entry costs",
        lambda x: (_entries(x, label=np.zeros_like(x.label)) * x.mask).sum(axis=1) / _real_counts(x),
    ),
)

MISTAKES = {"skip_gram": SKIP_GRAM_MISTAKES, "masked_bce": MASKED_BCE_MISTAKES}


def _shape_advice(name: str, yours: tuple[int, ...], inputs: Inputs) -> str:
    """The likely cause of a result of shape ``yours``, where the backend's is right."""
    batch, width = inputs.label.shape
    embed = inputs.center_table.shape[1]
    if name == "skip_gram":
        if yours == (batch, width):
            return (
                "The axis of length 1 in the middle is missing: the scores of one center are one row, "
                "(batch, 1, row width), as the batched matrix product (B, 1, E) × (B, E, W) gives; add the "
                "axis back after summing (unsqueeze(1), [:, None, :] or expand_dims)."
            )
        if yours == (batch, width, 1):
            return (
                "The product is taken the other way round, the row's vectors times the center's: multiply "
                "(B, 1, E) by the row's vectors transposed to (B, E, W), or transpose your result."
            )
        if embed in yours:
            return (
                "The sum runs over the wrong axis, or is missing: a score is the inner product of two "
                "vectors, so the embedding axis is the one to sum over (the last, for (B, W, E) products)."
            )
    if name == "masked_bce":
        if yours == ():
            return (
                "The loss here is one number per center, averaged over that row's real entries; the "
                "training step adds up the batch's numbers itself."
            )
        if yours == (batch, width):
            return (
                "These are the entries' losses: average each row over its real entries (the sum over the "
                "row width of loss × mask, divided by the mask's sum)."
            )
    return "Check which axis each operation works along."


def explain_shape(name: str, yours: tuple[int, ...], expected: tuple[int, ...], inputs: Inputs) -> str:
    """A sentence on a result of the wrong shape: both shapes by their axes, and the likely cause."""
    return (
        f"it returns shape {inputs.describe(yours)}, where the backend's is {inputs.describe(expected)}. "
        f"{_shape_advice(name, yours, inputs)}"
    )


def _close(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.isclose(a, b, rtol=RTOL, atol=ATOL)


def explain_values(name: str, yours: np.ndarray, expected: np.ndarray, inputs: Inputs) -> str | None:
    """None where ``yours`` matches ``expected`` to float32 rounding; else what differs and, where it can be
    told, why: a typical mistake, a constant factor, a flipped sign, or NaN on the padding rows."""
    close = _close(yours, expected)
    if close.all():
        return None
    count = f"{int((~close).sum()):,} of {close.size:,} values differ"
    where = np.unravel_index(
        np.argmax(np.where(close, -1.0, np.nan_to_num(np.abs(yours - expected), nan=np.inf))), yours.shape
    )
    at = f"at index {tuple(int(i) for i in where)}: yours {yours[where]:.6g}, the backend's {expected[where]:.6g}"
    cause = _cause(name, yours, expected, inputs)
    return f"{count}; {cause} (for example {at})." if cause else f"{count}; the largest difference is {at}."


def _cause(name: str, yours: np.ndarray, expected: np.ndarray, inputs: Inputs) -> str | None:
    bad = ~np.isfinite(yours)
    if bad.any():
        rows = np.unique(np.nonzero(bad)[0])
        padding = inputs.padding_rows()
        if padding.any() and set(rows) <= set(np.flatnonzero(padding)):
            return (
                "it gives NaN or infinity on the padding rows, the rows with no real entry (mask all 0) that "
                "fill up the last batch of every epoch: dividing by their mask's sum divides by 0, so divide "
                "by at least 1 (clamp(min=1), maximum(..., 1))"
            )
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


# -- a reader's training step ---------------------------------------------------------------------------------
# A step is judged by what it leaves behind: the loss it returns, the gradients it applied, and the trainer's
# tables and Adam moments after it, each against the backend's own step from the same tables on the same batch.

TABLES = ("center", "context")
# Adam's early steps divide a gradient by its own size, so a gradient's rounding can move an update by far more
# than its own rounding (for entries whose gradient is near epsilon): the updates are compared to this fraction
# of the largest update, which still tells apart every mistake below (each moves whole rows by a whole step).
UPDATE_TOLERANCE = 1e-2


@dataclass(frozen=True)
class Step:
    """One training step in NumPy (float64 copies): the loss it returned, the gradients it applied to the two
    tables, and the trainer after it: both tables and Adam's (m, v) of each."""

    loss: float
    gradients: tuple[np.ndarray, ...]  # center, context: each (V, E)
    tables: tuple[np.ndarray, ...]
    moments: tuple[tuple[np.ndarray, ...], ...]  # (m, v) of each table


@dataclass(frozen=True)
class StepInputs:
    """What a step was given, in NumPy: its number, the batch, the tables before it, the vocabulary's words (to
    name rows) and, from the second step on, the gradients the reader's step returned the step before."""

    number: int
    centers: np.ndarray  # (B, 1)
    contexts_negatives: np.ndarray  # (B, W)
    mask: np.ndarray  # (B, W)
    tables: tuple[np.ndarray, ...]  # before the step
    tokens: Sequence[str]
    earlier: tuple[np.ndarray, ...] | None = None

    def word_kinds(self) -> np.ndarray:
        """Each vocabulary row's part in the batch: 0 a center, 1 a context or noise word, 2 not in the batch
        (padding rows and padding entries do not count: they take no part in the loss)."""
        kinds = np.full(self.tables[0].shape[0], 2)
        kinds[self.contexts_negatives[self.mask > 0]] = 1
        kinds[self.centers[self.mask.sum(axis=1) > 0].ravel()] = 0
        return kinds


def _agree(yours: Values, expected: Values, scale: float = RTOL) -> np.ndarray:
    """Entry by entry, whether two arrays agree to float32 rounding: relative to each entry (``RTOL``) and to the
    array's largest value (``scale`` of it), so that tiny entries (Adam's v is ~1e-8) are judged by their own
    array's size and not by an absolute tolerance made for scores."""
    largest = float(np.max(np.abs(expected))) if np.size(expected) else 0.0
    return np.isclose(yours, expected, rtol=RTOL, atol=scale * largest)


def _updates_agree(yours: np.ndarray, expected: np.ndarray) -> np.ndarray:
    return _agree(yours, expected, UPDATE_TOLERANCE)


def _words(rows: np.ndarray, tokens: Sequence[str], count: int = 2) -> str:
    return ", ".join(f"'{tokens[row]}'" for row in rows[:count] if row < len(tokens))


def describe_rows(rows: np.ndarray, inputs: StepInputs) -> str:
    """Rows of a table (word indices), counted by their part in the batch, with a couple of words of each:
    '60 rows: 56 centers of the batch ('pierre', 'vinken'), 4 words not in the batch ('aer', 'banknote')'."""
    kinds = inputs.word_kinds()[rows]
    parts = []
    for kind, noun in enumerate(("center", "context or noise word", "word")):
        these = rows[kinds == kind]
        where = "not in the batch" if kind == 2 else "of the batch"
        if these.size:
            parts.append(f"{counted(these.size, noun)} {where} ({_words(these, inputs.tokens)})")
    return f"{counted(rows.size, 'row')}: {', '.join(parts)}"


def _differing_rows(agree: np.ndarray) -> np.ndarray:
    return np.flatnonzero(~agree.all(axis=tuple(range(1, agree.ndim)))) if agree.ndim > 1 else np.flatnonzero(~agree)


def _factor(yours: Values, expected: Values, scale: float = RTOL) -> float | None:
    """The constant k with yours = k × expected (to float32 rounding, or ``scale`` of the largest value), if
    there is one and it is not 0."""
    size = float(np.sum(expected * expected))
    if size == 0:
        return None
    k = float(np.sum(yours * expected)) / size
    return k if k != 0 and _agree(yours, k * expected, scale).all() else None


def _inverse(k: float) -> int | None:
    """n where k is 1/n (a mean's factor), else None."""
    return round(1 / k) if 0 < k < 1 and abs(1 / k - round(1 / k)) < 1e-3 / k else None


def _times(k: float) -> str:
    """A factor as a sentence says it: '1/64 of', '2 times', '-1 times', '0.37 times'."""
    if _inverse(k):
        return f"1/{_inverse(k)} of"
    return f"{round(k)} times" if abs(k - round(k)) < 1e-4 * abs(k) else f"{k:.3g} times"


def explain_step(yours: Step, expected: Step, inputs: StepInputs) -> str | None:
    """None where a reader's step left what the backend's leaves (to float32 rounding; the tables to a small
    fraction of Adam's step, see ``UPDATE_TOLERANCE``); else what differs, with the rows by their part in the
    batch, and why where it can be told (cleared gradients, a mean for the sum, gradient ascent, no update, ...)."""
    loss_agrees = bool(_agree(np.float64(yours.loss), np.float64(expected.loss)).all())
    gradients = [_agree(y, e) for y, e in zip(yours.gradients, expected.gradients)]
    moved = [y - b for y, b in zip(yours.tables, inputs.tables)]
    should_move = [e - b for e, b in zip(expected.tables, inputs.tables)]
    tables = [_updates_agree(y, e) for y, e in zip(moved, should_move)]
    moments = [_agree(y[0], e[0]) & _agree(y[1], e[1]) for y, e in zip(yours.moments, expected.moments)]
    if loss_agrees and all(a.all() for group in (gradients, tables, moments) for a in group):
        return None
    differs = [] if loss_agrees else [f"its loss is {yours.loss:.6g}, the backend's {expected.loss:.6g}"]
    for name, gradient, table in zip(TABLES, gradients, tables):
        wrong, moved_wrong = _differing_rows(gradient), _differing_rows(table)
        if wrong.size and np.array_equal(wrong, moved_wrong):
            differs.append(f"the {name} table's gradient and its update differ in {describe_rows(wrong, inputs)}")
            continue
        if wrong.size:
            differs.append(f"the {name} table's gradient differs in {describe_rows(wrong, inputs)}")
        if moved_wrong.size:
            differs.append(f"the {name} table's update differs in {describe_rows(moved_wrong, inputs)}")
    if not differs:
        differs = [
            f"Adam's moments of the {name} table differ in {describe_rows(_differing_rows(agree), inputs)}"
            for name, agree in zip(TABLES, moments)
            if not agree.all()
        ]
    cause = _step_cause(
        yours,
        expected,
        inputs,
        loss_agrees,
        [bool(a.all()) for a in gradients],
        [bool(a.all()) for a in tables],
        all(a.all() for a in moments),
        moved,
        should_move,
    )
    return f"{'; '.join(differs)}." + (f" {cause}" if cause else "")


def _step_cause(
    yours: Step,
    expected: Step,
    inputs: StepInputs,
    loss_agrees: bool,
    gradients: list[bool],
    tables: list[bool],
    moments_agree: bool,
    moved: list[np.ndarray],
    should_move: list[np.ndarray],
) -> str | None:
    """Why a step differs, where a typical mistake explains it; None where nothing known fits."""
    values: list[Values] = [np.float64(yours.loss), *yours.gradients, *yours.tables]
    if not all(np.isfinite(value).all() for value in values):
        return "It gives NaN or infinity: an overflow, or a division by 0 (a padding row's mask sums to 0)."
    if (
        inputs.earlier is not None
        and not all(gradients)
        and all(
            _agree(y, before + e).all() for y, before, e in zip(yours.gradients, inputs.earlier, expected.gradients)
        )
    ):
        return (
            "Each gradient is this step's plus the step before's: the gradients are not cleared between "
            "steps, so they add up from step to step (PyTorch's backward() adds to each table's .grad "
            "until optimizer.zero_grad() clears it, at the start of every step)."
        )
    if not all(gradients) and all(_agree(y, e).all() for y, e in zip(yours.gradients, expected.gradients[::-1])):
        return "It returns the two gradients swapped: the center table's comes first, then the context table's."
    if not all(gradients):
        return _gradient_cause(yours, expected, tables, moved, should_move)
    if not loss_agrees:
        k = _factor(np.float64(yours.loss), np.float64(expected.loss))
        times = f"{_times(k)} " if k is not None else "another number than "
        return (
            f"The gradients agree, but the loss it returns is {times}the one it differentiates: return "
            f"the batch's summed loss itself."
        )
    return _update_cause(yours, inputs, tables, moments_agree, moved, should_move)


def _gradient_cause(
    yours: Step, expected: Step, tables: list[bool], moved: list[np.ndarray], should_move: list[np.ndarray]
) -> str | None:
    """Why the gradients differ: a constant factor (a mean for the sum) or the opposite sign (ascent)."""
    k, other = (_factor(y, e) for y, e in zip(yours.gradients, expected.gradients))
    if k is None or other is None or not np.isclose(k, other, rtol=1e-4):
        return None
    loss_factor = _factor(np.float64(yours.loss), np.float64(expected.loss))
    if k < 0 and np.isclose(k, -1, rtol=1e-4):
        negated = (
            "it differentiates (and returns) the negated loss"
            if loss_factor is not None and np.isclose(loss_factor, -1, rtol=1e-4)
            else "it differentiates the negated loss"
        )
        return (
            f"Both gradients have the opposite sign: {negated}, so the step climbs the loss instead of "
            f"descending it (gradient ascent), and training makes the loss go up. Differentiate the loss "
            f"itself."
        )
    subject = (
        "The loss and both gradients are"
        if loss_factor is not None and np.isclose(loss_factor, k, rtol=1e-4)
        else "Both gradients are"
    )
    why = (
        f": a mean over the batch's {_inverse(k)} rows, where the step minimises their sum (the chapter's l.sum())"
        if _inverse(k)
        else ""
    )
    stepped = sum(int(np.count_nonzero(s)) for s in should_move)
    apart = sum(int((~_updates_agree(m, s)).sum()) for m, s in zip(moved, should_move))
    tables_say = (
        "the updated tables agree"
        if all(tables)
        else f"only {apart / max(stepped, 1):.0%} of the entries "
        f"that moved ({apart:,} of {stepped:,}) moved by another amount, where a gradient that small comes "
        f"near Adam's epsilon"
    )
    return (
        f"{subject} {_times(k)} the backend's{why}. Adam divides each update by the gradient's own running "
        f"size, so its steps hardly depend on the gradient's scale: {tables_say}, and training would still "
        f"learn; but the loss it reports is not the one the loop records, and with plain SGD every step would "
        f"be {_times(k)} its size."
    )


def _update_cause(
    yours: Step,
    inputs: StepInputs,
    tables: list[bool],
    moments_agree: bool,
    moved: list[np.ndarray],
    should_move: list[np.ndarray],
) -> str | None:
    """Why the tables or Adam's moments differ where the loss and the gradients agree."""
    still = [not np.any(m) for m in moved]
    if all(still):
        return (
            "The tables did not change: the step computes the gradients but never applies them (the "
            "optimizer's update, and in JAX, storing the new parameters and state on the trainer)."
        )
    if any(still):
        name, other = TABLES if still[0] else TABLES[::-1]
        if all(ok or s for ok, s in zip(tables, still)):
            return (
                f"Only the {other} table was updated; the {name} table did not change: the update must cover "
                f"both tables."
            )
    if all(_updates_agree(m, -s).all() for m, s in zip(moved, should_move) if np.any(s)):
        return (
            "The tables move the opposite way to the backend's: gradient ascent, so the loss goes up. "
            "Subtract the update (or let the optimizer apply it)."
        )
    factors = [_factor(m, g, UPDATE_TOLERANCE) for m, g in zip(moved, yours.gradients) if np.any(m)]
    sgd = [k for k in factors if k is not None]
    if sgd and len(sgd) == len(factors) and all(k > 0 for k in sgd):
        return (
            "The tables move by a multiple of the gradient, and along it: gradient ascent, so the loss goes "
            "up; and plain gradient descent, not Adam, even with the sign turned. Let the trainer's "
            "optimizer apply the update."
        )
    if sgd and len(sgd) == len(factors):
        return (
            "The tables move by a multiple of the gradient: plain gradient descent, not Adam. Let the "
            "trainer's optimizer apply the update."
        )
    if not any(np.any(x) for pair in yours.moments for x in pair):
        return (
            "The tables moved, but the trainer's optimizer took no step (its Adam moments are still 0): "
            "the update must go through the trainer's own optimizer and its state, not a new one (in JAX, store "
            "the new optimizer state on the trainer)."
        )
    outside = [np.flatnonzero(~np.any(s, axis=1) & np.any(m, axis=1)) for m, s in zip(moved, should_move)]
    if any(rows.size for rows in outside):
        parts = [
            f"in the {name} table {describe_rows(rows, inputs)}" for name, rows in zip(TABLES, outside) if rows.size
        ]
        return (
            f"Rows that should not move moved, {listed(parts)}: only the words of the batch have a "
            f"gradient, and only they (and, after the first step, words Adam's momentum still carries) move."
        )
    if inputs.number > 1 and all(_agree(m, (1 - BETA1) * g).all() for (m, _), g in zip(yours.moments, yours.gradients)):
        return (
            "Adam's moments start afresh at this step: the step must use the trainer's own optimizer and "
            "its state, not a new one."
        )
    if moments_agree:
        return (
            "The loss, the gradients and Adam's moments agree, but some updates differ: the optimizer divides "
            "by another epsilon or uses another rule than the backend's Adam. In MXNet and TensorFlow, keep "
            "the epsilon line: their Adam adds epsilon to the square root of the uncorrected second moment, "
            "PyTorch and optax to the bias-corrected one, and the line rescales it to match."
        )
    return None
