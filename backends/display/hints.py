"""Hints for the student notebooks' blanks, in levels: ``tryit.hint(w2v, "skip_gram")`` gives the first, and each
call after it the next, from what to compute to the operations of the reader's framework.

A level is one text for every framework, or a dict with one text per framework (by import name).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType

from backends.common.errors import W2VError

HINTS: dict[str, tuple[str | dict[str, str], ...]] = {
    "skip_gram": (
        "The score of a center $c$ and a word $o$ is the dot product $\\mathbf u_o^\\top \\mathbf v_c$. Look the "
        "centers up in the center table, a (B, 1, E) block, and the contexts and noise words in the context "
        "table, a (B, W, E) block; the scores are (B, 1, W).",
        "Multiplied entry by entry, the (B, 1, E) block is broadcast over the W words and gives (B, W, E). "
        "Summing over the last axis, the embedding axis, leaves the (B, W) dot products; an axis of size 1 "
        "inserted at position 1 makes them (B, 1, W).",
        {
            "torch": "Calling an `nn.Embedding` looks indices up: `embed_center(centers)`. Then `.sum(dim=-1)` and "
            "`.unsqueeze(1)`.",
            "mxnet": "Calling a Gluon `Embedding` looks indices up: `embed_center(centers)`. Then `.sum(axis=-1)` "
            "and `mxnp.expand_dims(..., 1)`.",
            "jax": "Calling the bound flax `Embed` looks indices up: `embed_center(centers)`. Then "
            "`jnp.sum(..., axis=-1)` and `[:, None, :]`.",
            "tensorflow": "Calling a Keras `Embedding` looks indices up: `embed_center(centers)`. Then "
            "`tf.reduce_sum(..., axis=-1)` and `[:, None, :]`.",
        },
    ),
    "masked_bce": (
        "An entry's loss is $-\\log \\sigma(s)$ for a context word (label 1) and $-\\log \\sigma(-s)$ for a noise "
        "word (label 0): both are $\\log(1 + e^{s}) - y s$, softplus of $s$ minus label times score. A row's "
        "loss is the mean over its real entries, the ones of its mask.",
        "Multiply the entries' losses by the mask, sum each row (axis 1), and divide by the number of ones in "
        "the row's mask, but at least 1: a padding row has none, and dividing by 0 gives NaN.",
        {
            "torch": "`F.softplus(scores) - label * scores`; `(entries * mask).sum(dim=1)`; "
            "`mask.sum(dim=1).clamp(min=1)`.",
            "mxnet": '`npx.activation(scores, act_type="softrelu")` is softplus; `(entries * mask).sum(axis=1)`; '
            "`mxnp.maximum(mask.sum(axis=1), 1)`.",
            "jax": "`jax.nn.softplus(scores) - label * scores`; `jnp.sum(entries * mask, axis=1)`; "
            "`jnp.maximum(mask.sum(axis=1), 1)`.",
            "tensorflow": "`tf.nn.softplus(scores) - label * scores`; `tf.reduce_sum(entries * mask, axis=1)`; "
            "`tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)`.",
        },
    ),
    "step": (
        "Score the batch with your `my_skip_gram` and the trainer's two tables, take your `my_masked_bce` of "
        "those scores (reshaped to the label's shape) and sum it over the batch, differentiate that sum with "
        "respect to both tables, and let the trainer's optimizer take one Adam step. Return the summed loss and "
        "the two gradients: `(loss, (grad_center, grad_context))`.",
        {
            "torch": "Clear the last step's gradients with `trainer.optimizer.zero_grad()`, compute the loss, "
            "`loss.backward()` (each table's gradient lands in `trainer.embed_center.weight.grad` and "
            "`trainer.embed_context.weight.grad`), then `trainer.optimizer.step()`.",
            "mxnet": "Compute the loss inside `with autograd.record():`, then `loss.backward()` (each table's "
            "gradient is `trainer.embed_center.weight.grad()` and the context table's likewise), then "
            "`trainer.trainer.step(1)`: 1, because the loss is already the batch's sum.",
            "jax": 'Write the loss as a function of a parameters dict (`w2v.embedding(params["center"])` makes a '
            "table of an array), take `jax.value_and_grad` of it at `trainer.params`, then "
            "`trainer.optimizer.update(grads, trainer.opt_state, trainer.params)` and `optax.apply_updates`.",
            "tensorflow": "Compute the loss inside `with tf.GradientTape() as tape:`, take "
            "`tape.gradient(loss, trainer.variables)`, and give the pairs of gradient and variable "
            "to `trainer.optimizer.apply_gradients`.",
        },
        {
            "torch": 'The scores are (B, 1, W): `.reshape(arrays["label"].shape)` before the loss, `.sum()` after '
            "it. Return `loss.detach()`, so that no graph is kept alive.",
            "mxnet": 'The scores are (B, 1, W): `.reshape(arrays["label"].shape)` before the loss, `.sum()` after '
            "it, both inside `autograd.record()`, or the gradient does not reach the tables.",
            "jax": "JAX changes nothing in place: store the new `trainer.params` and `trainer.opt_state` on the "
            "trainer, or the next step starts from the old ones. `grads` is a dict shaped like the params: "
            'return `grads["center"]` and `grads["context"]`.',
            "tensorflow": "The tape gives each table's gradient as `IndexedSlices`, one row per index looked up; "
            "`tf.convert_to_tensor(g)` adds each word's rows up into the dense gradient, which is "
            "what Adam squares (the chapter's cell on gradients shows why).",
        },
    ),
}
_next: dict[tuple[str, str], int] = {}  # (backend, name): the level the next call gives


@dataclass(frozen=True)
class Hint:
    """One level of a hint, shown in a notebook as Markdown (code and formulas set) or as plain text."""

    name: str
    level: int
    levels: int
    text: str

    def __repr__(self) -> str:
        more = "run the cell again for the next" if self.level < self.levels else "the last one"
        return f"Hint {self.level} of {self.levels} for {self.name} ({more}): {self.text}"

    def _repr_markdown_(self) -> str:
        return f"**{repr(self).split(': ', 1)[0]}:** {self.text}"


def hint(backend: ModuleType, name: str, level: int | None = None) -> Hint:
    """The next level of the hint for the blank ``name`` (``skip_gram``, ``masked_bce`` or ``step``), in
    ``backend``'s framework; ``level`` (from 1) gives that one instead."""
    if name not in HINTS:
        raise W2VError(f"there is no hint for {name!r}: ask for one of {', '.join(HINTS)}.")
    levels = HINTS[name]
    if level is None:
        level = _next.get((backend.NAME, name), 1)
    if not 1 <= level <= len(levels):
        raise W2VError(f"{name} has hints 1 to {len(levels)}, not {level}.")
    _next[(backend.NAME, name)] = min(level + 1, len(levels))
    text = levels[level - 1]
    return Hint(name, level, len(levels), text if isinstance(text, str) else text[backend.NAME])
