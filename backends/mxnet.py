"""MXNet backend: the chapter's model with gluon ``Embedding`` tables and ``npx.batch_dot``.

MXNet runs in its NumPy-compatible mode (``npx.set_np()``): arrays are ``mxnet.np.ndarray`` and behave
like NumPy's. Only what is MXNet-specific lives here; the data, the initial weights and the training
loop are shared (``backends.pipeline``, ``backends.training``).
"""

from __future__ import annotations

import sys
import warnings

import numpy as onp

from backends.common.frameworks import importing
from backends.pipeline.models import Batch, Model
from backends.training import adam, devices, loop
from backends.training.state import TrainerState

with importing("mxnet"), warnings.catch_warnings():
    # mxnet 1.9.1 touches NumPy functions and distutils APIs that newer releases deprecate, at import.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import mxnet as mx
    from mxnet import autograd, gluon, np, npx

npx.set_np()

NAME = "mxnet"


def _gpu_count() -> int:
    try:
        return mx.context.num_gpus()
    except mx.base.MXNetError:  # a CPU-only build may refuse to count
        return 0


def resolve_device(request: str = "auto") -> mx.Context:
    """``mx.gpu()`` when MXNet sees one (the pinned wheel is CPU-only), else ``mx.cpu()``."""
    found = _gpu_count() > 0
    kind = devices.choose_device(request, "MXNet", found, "" if found else "the installed mxnet wheel is CPU-only")
    return mx.gpu() if kind == "gpu" else mx.cpu()


def describe_device(device: mx.Context) -> str:
    return devices.device_name(device.device_type)  # MXNet 1.9 does not name its GPUs


def skip_gram(centers: np.ndarray, contexts_negatives: np.ndarray, embed_center, embed_context) -> np.ndarray:
    """Scores u_o · v_c, (B, 1) centers and (B, W) context-or-noise words → (B, 1, W): ``npx.batch_dot``,
    which transposes each example's (W, E) block on the fly."""
    v = embed_center(centers)  # (B, 1, E)
    u = embed_context(contexts_negatives)  # (B, W, E)
    return npx.batch_dot(v, u, transpose_b=True)


def cbow(
    contexts: np.ndarray, context_mask: np.ndarray, targets: np.ndarray, embed_center, embed_context
) -> np.ndarray:
    """Scores u_t · mean(v_c), (B, C) contexts with their mask and (B, T) targets (center, then noise) → (B, 1, T):
    MXNet's NumPy-style arrays for the masked mean, then ``npx.batch_dot``."""
    mean = np.expand_dims(masked_mean(embed_center(contexts), context_mask), 1)  # (B, 1, E)
    u = embed_context(targets)  # (B, T, E)
    return npx.batch_dot(mean, u, transpose_b=True)


def masked_mean(vectors: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The mean of each row's vectors where the mask is 1: (B, C, E) and (B, C) → (B, E), MXNet's NumPy-style
    arrays with padding zeroed, summed and divided by the count."""
    return (vectors * np.expand_dims(mask, -1)).sum(axis=1) / np.maximum(mask.sum(axis=1), 1).reshape(-1, 1)


_sigmoid_bce = gluon.loss.SigmoidBCELoss()


def masked_bce(scores: np.ndarray, label: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-example sigmoid binary cross-entropy, averaged over the unmasked entries: (B, W) → (B,).

    Gluon's loss takes the mask as sample weights and averages over all W entries; rescaling by
    W / (number of real entries) turns that into the mean over the real ones.
    """
    return _sigmoid_bce(scores, label, mask) * mask.shape[1] / np.maximum(mask.sum(axis=1), 1)


def softmax_cross_entropy(inputs: np.ndarray, targets: np.ndarray, mask: np.ndarray, embed_context) -> np.ndarray:
    """The full softmax's per-example loss: (B, E) input vectors scored against every word's context vector, one
    (B, V) ``np.dot`` with the table transposed, ``npx.log_softmax``, then each of the (B, T) target words' entries
    (``npx.pick`` for each column of targets), averaged over the unmasked ones → (B,)."""
    log_p = npx.log_softmax(np.dot(inputs, embed_context.weight.data(inputs.ctx).T), axis=1)  # (B, V)
    picked = np.stack([npx.pick(log_p, targets[:, j], axis=1) for j in range(targets.shape[1])], axis=1)  # (B, T)
    return -(picked * mask).sum(axis=1) / np.maximum(mask.sum(axis=1), 1)


def objective(model: Model, embed_center, embed_context, arrays: dict) -> np.ndarray:
    """The batch's summed loss, the quantity each step minimises, to be called inside ``autograd.record()`` to
    differentiate it: the sum of the model's per-example losses (:meth:`backends.pipeline.models.Model.losses`:
    this backend's ``masked_bce`` of the rows' scores, or its ``softmax_cross_entropy`` for a model
    ``with_full_softmax``)."""
    return model.losses(sys.modules[__name__], embed_center, embed_context, arrays).sum()


def batch_tensors(batch: Batch, device: mx.Context, float_dtype=onp.float32) -> dict[str, np.ndarray]:
    """The batch's arrays as MXNet arrays on ``device``."""
    return {name: np.array(a, ctx=device, dtype=a.dtype) for name, a in batch.arrays(float_dtype).items()}


def gradients(
    center_weights: onp.ndarray, context_weights: onp.ndarray, batch: Batch
) -> tuple[onp.ndarray, onp.ndarray]:
    """Autograd's gradients of the batch's summed loss for both tables, in the weights' dtype (on the CPU)."""
    tables = embedding(center_weights), embedding(context_weights)
    arrays = batch_tensors(batch, mx.cpu(), center_weights.dtype)
    with autograd.record():
        loss = objective(batch.model, *tables, arrays)
    loss.backward()
    center, context = (to_numpy(table.weight.grad()) for table in tables)
    return center, context


class Trainer:
    """The two tables on one device and Adam over both; ``step`` returns the batch's summed loss."""

    def __init__(self, center_weights: onp.ndarray, context_weights: onp.ndarray, lr: float, device: str = "auto"):
        self.device = resolve_device(device)
        self.device_name = describe_device(self.device)
        self.embed_center = embedding(center_weights, self.device)
        self.embed_context = embedding(context_weights, self.device)
        self.optimizer = mx.optimizer.Adam(learning_rate=lr, beta1=adam.BETA1, beta2=adam.BETA2, epsilon=adam.EPSILON)
        # A list, not the blocks' ParameterDict, which Gluon would sort by the parameters' generated names
        # ("embedding10_weight" before "embedding9_weight"): the updater indexes Adam's moments by this order.
        self.trainer = gluon.Trainer([self.embed_center.weight, self.embed_context.weight], self.optimizer)

    def step(self, batch: Batch) -> np.ndarray:
        arrays = batch_tensors(batch, self.device)
        with autograd.record():
            loss = objective(batch.model, self.embed_center, self.embed_context, arrays)
        loss.backward()
        self.optimizer.epsilon = adam.epsilon_hat(self.optimizer.num_update + 1)  # PyTorch's epsilon placement
        self.trainer.step(1)  # 1: the objective is already the batch's sum, so no 1/batch_size rescaling
        return loss

    def embeddings(self) -> onp.ndarray:
        """The center-word table, the chapter's word vectors."""
        return to_numpy(self.embed_center.weight.data())


class LazyTrainer(Trainer):
    """Lazy Adam (:mod:`backends.training.adam`): the rows the batch looks up are found on the host, the loss is
    differentiated with respect to a copy of those rows alone, and Adam's update is written out on them with
    MXNet's indexed assignment. (mxnet 1.9's own lazy update needs row-sparse gradients, which its NumPy mode,
    the one this backend runs in, does not give.)"""

    def __init__(self, center_weights: onp.ndarray, context_weights: onp.ndarray, lr: float, device: str = "auto"):
        # Not Trainer.__init__: its Gluon Trainer and MXNet Adam would be built and never used.
        self.device = resolve_device(device)
        self.device_name = describe_device(self.device)
        self.embed_center = embedding(center_weights, self.device)
        self.embed_context = embedding(context_weights, self.device)
        self.lr, self.steps = lr, 0
        self.moments = [(np.zeros(w.shape, ctx=self.device), np.zeros(w.shape, ctx=self.device)) for w in self.tables]

    @property
    def tables(self) -> list[np.ndarray]:
        return [self.embed_center.weight.data(), self.embed_context.weight.data()]

    def step(self, batch: Batch) -> np.ndarray:
        arrays = batch_tensors(batch, self.device)
        rows, parts = [], []
        for name, table in zip(batch.model.lookups, self.tables):  # lookups become positions among their rows
            looked_up, where = adam.looked_up(getattr(batch, name))
            rows.append(np.array(looked_up, ctx=self.device, dtype=onp.int64))
            arrays[name] = np.array(where, ctx=self.device, dtype=onp.int32)
            parts.append(table[rows[-1]])
            parts[-1].attach_grad()
        with autograd.record():
            loss = objective(batch.model, _rows_of(parts[0]), _rows_of(parts[1]), arrays)
        loss.backward()
        self.steps += 1
        for table, (m, v), looked_up, part in zip(self.tables, self.moments, rows, parts):
            m[looked_up], v[looked_up], change = adam.moved(
                m[looked_up], v[looked_up], part.grad, self.steps, self.lr, np.sqrt
            )
            table[looked_up] = part - change
        return loss


def _rows_of(part: np.ndarray):
    """A lookup into ``part`` (some rows of a table), called as an embedding table is."""
    return lambda positions: np.take(part, positions, axis=0)


# -- checkpoints: the trainer's state in NumPy and back (backends.training.state) ---------------------------


def _adam_slots(trainer: Trainer) -> tuple[dict, dict, dict]:
    """Where Gluon keeps Adam's state, all of it private in mxnet 1.9 (which offers only a file format for it):
    the updater's moments and whether they are synced, by parameter index (0: center, 1: context), and the
    optimizer's step count per index."""
    updater = trainer.trainer._updaters[0]
    return updater.states, updater.states_synced, trainer.optimizer._index_update_count


def state(trainer: Trainer) -> TrainerState:
    if isinstance(trainer, LazyTrainer):  # its moments and step are its own attributes
        pairs = tuple((to_numpy(m), to_numpy(v)) for m, v in trainer.moments)
        return TrainerState(tuple(to_numpy(t) for t in trainer.tables), pairs, trainer.steps)
    moments, _, _ = _adam_slots(trainer)
    tables = tuple(to_numpy(table.weight.data()) for table in (trainer.embed_center, trainer.embed_context))
    if not trainer.optimizer.num_update:
        return TrainerState.fresh(tables)
    return TrainerState(
        tables, tuple(tuple(to_numpy(x) for x in moments[index]) for index in range(2)), trainer.optimizer.num_update
    )


def load_state(trainer: Trainer, state: TrainerState) -> None:
    if isinstance(trainer, LazyTrainer):
        for table, weights in zip((trainer.embed_center, trainer.embed_context), state.tables):
            table.weight.set_data(np.array(weights, ctx=trainer.device))
        trainer.moments = [tuple(np.array(x, ctx=trainer.device) for x in pair) for pair in state.moments]
        trainer.steps = state.step
        return
    moments, synced, counts = _adam_slots(trainer)
    for index, (table, weights, pair) in enumerate(
        zip((trainer.embed_center, trainer.embed_context), state.tables, state.moments)
    ):
        table.weight.set_data(np.array(weights, ctx=trainer.device))
        if state.step:  # the updater's states are legacy NDArrays (mx.nd), not mx.np arrays
            moments[index] = tuple(mx.nd.array(x, ctx=trainer.device) for x in pair)
            synced[index] = True
            counts[index] = state.step
    trainer.optimizer.num_update = state.step


# -- conversions ---------------------------------------------------------------------------------------------


def embedding(weights: onp.ndarray, device: mx.Context | None = None) -> gluon.nn.Embedding:
    """An embedding table holding ``weights`` (one row per word), as ``skip_gram`` takes it."""
    weights = onp.asarray(weights, dtype=onp.result_type(weights, onp.float32))  # float32, or float64 if given
    table = gluon.nn.Embedding(*weights.shape, dtype=weights.dtype)
    table.initialize(mx.init.Zero(), ctx=device or mx.cpu())  # then overwritten with the shared weights
    table.weight.set_data(np.array(weights, ctx=device or mx.cpu(), dtype=weights.dtype))
    return table


def tensor(array: onp.ndarray) -> np.ndarray:
    """A NumPy array as an array of this framework (for the notebooks' small examples)."""
    return np.array(onp.asarray(array), dtype=onp.asarray(array).dtype)


def to_numpy(array: np.ndarray) -> onp.ndarray:
    return array.asnumpy()


def losses_to_numpy(losses: list[np.ndarray]) -> onp.ndarray:
    """Many scalar losses read back from the device in one transfer."""
    return to_numpy(np.stack(losses))


train = loop.bind(sys.modules[__name__])  # train(data, epochs=..., ...): the shared loop with this backend
