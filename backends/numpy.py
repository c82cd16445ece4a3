"""NumPy backend: the same model with no framework at all, its gradient and Adam derived by hand.

This is the oracle the four frameworks are checked against, and a lesson in what autograd does. Both
models score output words u_w against one input vector h: in skip-gram h is the center's vector v, in
CBOW the mean of the real context vectors, h = (1/c) * sum_i k_i v_i with context mask k_i and
c = max(1, sum_i k_i). With labels y_w, mask m_w and n = max(1, sum_w m_w), one example's loss is

    L = (1/n) * sum_w m_w * [softplus(s_w) - y_w * s_w],     s_w = u_w · h,

and since d/ds [softplus(s) - y s] = sigmoid(s) - y, with delta_w = m_w (sigmoid(s_w) - y_w) / n:

    dL/dh = sum_w delta_w u_w,      dL/du_w = delta_w h,      dL/dv_i = (k_i / c) dL/dh.

Hierarchical softmax is this same loss, its u_w the vectors of a word's inner nodes in a Huffman tree and y_w the
branches taken (backends.pipeline.objectives): the formulas hold as written. The full softmax scores h against
every word's u_w, s = U h (V scores), and averages the cross-entropy of the T target words t_j (mask m_j):

    L = (1/n) * sum_j m_j * [logsumexp(s) - s_{t_j}],

and since d/ds_k logsumexp(s) = p_k, the softmax, with a = sum_j m_j / n (1 for a real example, 0 for padding):

    dL/ds_k = a p_k - (1/n) sum_j m_j [t_j = k],      dL/dh = U^T dL/ds,      dL/dU = dL/ds h^T,

every row of U getting a gradient at every step (the O(V) the book's section 15.2 is about). Words that occur
several times in a batch add up their gradients. Adam is written out with its bias corrections and epsilon added
to sqrt(v_hat), as PyTorch and optax do.
"""

from __future__ import annotations

import sys

import numpy as np
from scipy import sparse

from backends.pipeline.models import Batch, Model
from backends.training import adam, devices, loop
from backends.training.state import TrainerState

NAME = "numpy"


def resolve_device(request: str = "auto") -> str:
    """Always the CPU: NumPy has no GPU."""
    return devices.choose_device(request, "NumPy", False, "NumPy runs on the CPU only")


def describe_device(device: str) -> str:
    return devices.device_name(device)


def skip_gram(centers: np.ndarray, contexts_negatives: np.ndarray, embed_center, embed_context) -> np.ndarray:
    """Scores u_o · v_c, (B, 1) centers and (B, W) context-or-noise words → (B, 1, W): ``np.matmul``, batched
    over the first axis."""
    v = embed_center(centers)  # (B, 1, E)
    u = embed_context(contexts_negatives)  # (B, W, E)
    return np.matmul(v, u.transpose(0, 2, 1))


def cbow(
    contexts: np.ndarray, context_mask: np.ndarray, targets: np.ndarray, embed_center, embed_context
) -> np.ndarray:
    """Scores u_t · mean(v_c), (B, C) contexts with their mask and (B, T) targets (center, then noise) → (B, 1, T):
    the masked mean and the scores as ``np.einsum``."""
    mean = masked_mean(embed_center(contexts), context_mask)  # (B, E)
    return np.einsum("be,bte->bt", mean, embed_context(targets))[:, None, :]


def masked_mean(vectors: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean of each row's vectors where the mask is 1: (B, C, E) and (B, C) → (B, E), as ``np.einsum``."""
    return np.einsum("bc,bce->be", mask, vectors) / np.maximum(mask.sum(axis=1), 1)[:, None]


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1 + np.tanh(0.5 * x))  # stable for large |x|


def entry_losses(scores: np.ndarray, label: np.ndarray) -> np.ndarray:
    """Each entry's sigmoid binary cross-entropy, log(1 + e^s) - y s, padding included: (B, W) → (B, W). The
    try-it checks build the typical mistakes from it (``backends.display.diagnose``)."""
    return _softplus(scores) - label * scores


def masked_bce(scores: np.ndarray, label: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-example sigmoid binary cross-entropy, averaged over the unmasked entries: (B, W) → (B,)."""
    losses = entry_losses(scores, label) * mask
    return losses.sum(axis=1) / np.maximum(mask.sum(axis=1), 1)


def _log_softmax(scores: np.ndarray) -> np.ndarray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_cross_entropy(inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray, embed_context) -> np.ndarray:
    """The full softmax's per-example loss: (B, E) input vectors scored against every word's context vector, one
    (B, V) matrix product, then the cross-entropy of each of the (B, T) target words, averaged over the unmasked
    ones → (B,)."""
    log_p = _log_softmax(inputs @ embed_context.weights.T)  # (B, V)
    picked = np.take_along_axis(log_p, targets, axis=1)  # (B, T)
    return -(picked * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)


def objective(model: Model, embed_center, embed_context, arrays: dict) -> float:
    """The batch's summed loss, the quantity each step minimises: the sum of the model's per-example losses
    (:meth:`backends.pipeline.models.Model.losses`: this backend's ``masked_bce`` of the rows' scores, or its
    ``softmax_cross_entropy`` for a model ``with_full_softmax``)."""
    return float(model.losses(sys.modules[__name__], embed_center, embed_context, arrays).sum())


def batch_tensors(batch: Batch, device: str, float_dtype=np.float32) -> dict[str, np.ndarray]:
    """The batch's arrays themselves: NumPy is this backend's framework."""
    return batch.arrays(float_dtype)


def loss_and_gradients(center: np.ndarray, context: np.ndarray, batch: Batch) -> tuple[float, np.ndarray, np.ndarray]:
    """The batch's summed loss and its gradients with respect to both tables, by the formulas above."""
    loss, rows = loss_and_row_gradients(center, context, batch)
    dense = []
    for table, (looked_up, grad) in zip((center, context), rows):
        full = np.zeros_like(table)
        full[looked_up] = grad
        dense.append(full)
    return loss, dense[0], dense[1]


def loss_and_row_gradients(
    center: np.ndarray, context: np.ndarray, batch: Batch
) -> tuple[float, list[tuple[np.ndarray, np.ndarray]]]:
    """The batch's summed loss, and for each table the rows it looks up with their gradients, by the formulas
    above: ``(rows, gradient of those rows)``, every other row's gradient being zero."""
    arrays = batch_tensors(batch, "cpu", center.dtype)
    inputs, input_mask, outputs = batch.model.oracle_view(arrays)
    h = masked_mean(center[inputs], input_mask)  # (B, E)
    output_gradients = _softmax_gradients if batch.full_softmax else _sigmoid_gradients
    loss, grad_h, context_rows = output_gradients(h, context, outputs, arrays)
    share = input_mask / np.maximum(input_mask.sum(axis=1, keepdims=True), 1)  # dh/dv_i = k_i / c
    per_input = share[:, :, None] * grad_h[:, None, :]  # each lookup's gradient, (B, C, E)
    return float(loss), [_sum_per_row(inputs, per_input), context_rows]


def _sigmoid_gradients(
    h: np.ndarray, context: np.ndarray, outputs: np.ndarray, arrays: dict
) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The masked binary cross-entropy's loss, dL/dh and the output rows' gradients, by the first formulas."""
    mask, label = arrays["mask"], arrays["label"]
    u = context[outputs]  # (B, W, E)
    scores = np.einsum("be,bwe->bw", h, u)
    loss = masked_bce(scores, label, mask).sum()
    delta = mask * (_sigmoid(scores) - label) / np.maximum(mask.sum(axis=1, keepdims=True), 1)  # dL/ds
    per_output = delta[:, :, None] * h[:, None, :]  # (B, W, E)
    return loss, np.einsum("bw,bwe->be", delta, u), _sum_per_row(outputs, per_output)


def _softmax_gradients(
    h: np.ndarray, context: np.ndarray, targets: np.ndarray, arrays: dict
) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The full softmax's loss, dL/dh and every context row's gradient, by the second formulas."""
    mask = arrays["mask"]
    log_p = _log_softmax(h @ context.T)  # (B, V)
    weight = mask / np.maximum(mask.sum(axis=1, keepdims=True), 1)  # m_j / n
    loss = -(np.take_along_axis(log_p, targets, axis=1) * weight).sum()
    delta = weight.sum(axis=1, keepdims=True) * np.exp(log_p)  # a p_k ...
    np.add.at(delta, (np.arange(targets.shape[0])[:, None], targets), -weight)  # ... - (1/n) sum_j m_j [t_j = k]
    return loss, delta @ context, (np.arange(context.shape[0]), delta.T @ h)


def _sum_per_row(indices: np.ndarray, gradients: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows ``indices`` name, and for each the sum of the ``gradients`` of its occurrences.

    Written as (one-hot matrix) @ gradients with a sparse one-hot: the same sums as ``np.add.at``, which adds
    one row at a time, in a compiled sparse product instead, so that the oracle is quick enough to train full
    epochs beside the frameworks (timed in docs/performance.md).
    """
    rows, where = adam.looked_up(indices)
    flat = gradients.reshape(indices.size, -1)
    one_hot = sparse.csr_matrix(
        (np.ones(indices.size, dtype=flat.dtype), (where.ravel(), np.arange(indices.size))),
        shape=(rows.size, indices.size),
    )
    return rows, np.asarray(one_hot @ flat)


def gradients(center_weights: np.ndarray, context_weights: np.ndarray, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Gradients of the batch's summed loss with respect to both tables, in the weights' dtype."""
    _, grad_center, grad_context = loss_and_gradients(center_weights, context_weights, batch)
    return grad_center, grad_context


class Trainer:
    """Both tables and their Adam moments as NumPy arrays; ``step`` applies one hand-written Adam update."""

    def __init__(self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"):
        self.device_name = describe_device(resolve_device(device))
        self.lr, self.steps = lr, 0
        self.tables = [center_weights.copy(), context_weights.copy()]
        self.moments = [(np.zeros_like(t), np.zeros_like(t)) for t in self.tables]

    def step(self, batch: Batch) -> float:
        center, context = self.tables
        loss, *grads = loss_and_gradients(center, context, batch)
        self.steps += 1
        correction1, correction2 = 1 - adam.BETA1**self.steps, 1 - adam.BETA2**self.steps
        for table, (m, v), grad in zip(self.tables, self.moments, grads):
            m *= adam.BETA1
            m += (1 - adam.BETA1) * grad
            v *= adam.BETA2
            v += (1 - adam.BETA2) * grad * grad
            table -= self.lr * (m / correction1) / (np.sqrt(v / correction2) + adam.EPSILON)
        return loss

    def embeddings(self) -> np.ndarray:
        """The center-word table, the chapter's word vectors."""
        return self.tables[0].copy()


class LazyTrainer(Trainer):
    """Lazy Adam (:mod:`backends.training.adam`): Adam's update on the rows the batch looks up, and no other.

    The oracle of the frameworks' lazy trainers: the update written out, on the looked-up rows alone.
    """

    def step(self, batch: Batch) -> float:
        center, context = self.tables
        loss, looked_up = loss_and_row_gradients(center, context, batch)
        self.steps += 1
        for table, (m, v), (rows, grad) in zip(self.tables, self.moments, looked_up):
            m[rows], v[rows], change = adam.moved(m[rows], v[rows], grad, self.steps, self.lr)
            table[rows] -= change
        return loss


# -- checkpoints: the trainer's state in NumPy and back (backends.training.state) ---------------------------


def _adam_slots(trainer: Trainer) -> list[tuple[np.ndarray, np.ndarray]]:
    """Adam's (m, v) of each table: this backend's own attributes, written out by hand in ``Trainer.step``."""
    return trainer.moments


def state(trainer: Trainer) -> TrainerState:
    moments = tuple((m.copy(), v.copy()) for m, v in _adam_slots(trainer))
    return TrainerState(tuple(table.copy() for table in trainer.tables), moments, trainer.steps)


def load_state(trainer: Trainer, state: TrainerState) -> None:
    trainer.steps = state.step
    trainer.tables = [table.copy() for table in state.tables]
    trainer.moments = [(m.copy(), v.copy()) for m, v in state.moments]


# -- conversions ---------------------------------------------------------------------------------------------


class Table:
    """An embedding table: calling it with indices returns their rows."""

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights

    def __call__(self, indices: np.ndarray) -> np.ndarray:
        return self.weights[indices]


def embedding(weights: np.ndarray) -> Table:
    """An embedding table holding ``weights`` (one row per word), as ``skip_gram`` takes it."""
    return Table(np.array(weights, dtype=np.result_type(weights, np.float32)))


def tensor(array: np.ndarray) -> np.ndarray:
    """A NumPy array as an array of this framework: itself."""
    return np.asarray(array)


def to_numpy(array) -> np.ndarray:
    return np.asarray(array)


def losses_to_numpy(losses: list[float]) -> np.ndarray:
    return np.asarray(losses, dtype=np.float64)


train = loop.bind(sys.modules[__name__])  # train(data, epochs=..., ...): the shared loop with this backend
