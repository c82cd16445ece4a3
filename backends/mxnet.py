"""MXNet backend: the chapter's model with gluon ``Embedding`` tables and ``npx.batch_dot``.

MXNet runs in its NumPy-compatible mode (``npx.set_np()``): arrays are ``mxnet.np.ndarray`` and behave
like NumPy's. Only what is MXNet-specific lives here; the data, the initial weights and the training
loop are shared (``backends.ptb``, ``backends.training``).
"""

from __future__ import annotations

import sys
import warnings

import numpy as onp

from backends import training
from backends.frameworks import importing
from backends.ptb import Batch, CbowBatch

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
    kind = training.choose_device(request, "MXNet", found, "" if found else "the installed mxnet wheel is CPU-only")
    return mx.gpu() if kind == "gpu" else mx.cpu()


def skip_gram(centers: np.ndarray, contexts_negatives: np.ndarray, embed_center, embed_context) -> np.ndarray:
    """Scores u_o · v_c of every context-or-noise word against its center: (B, 1) and (B, W) → (B, 1, W)."""
    v = embed_center(centers)  # (B, 1, E)
    u = embed_context(contexts_negatives)  # (B, W, E)
    return npx.batch_dot(v, u, transpose_b=True)


def cbow(contexts: np.ndarray, context_mask: np.ndarray, targets: np.ndarray, embed_center, embed_context) -> np.ndarray:
    """Scores u_t · mean(v_c) of every target (center or noise) against the mean of the real context vectors:
    (B, C), (B, C) and (B, T) → (B, 1, T)."""
    v = embed_center(contexts) * np.expand_dims(context_mask, -1)  # (B, C, E), padding zeroed
    mean = v.sum(axis=1, keepdims=True) / np.maximum(context_mask.sum(axis=1), 1).reshape(-1, 1, 1)  # (B, 1, E)
    u = embed_context(targets)  # (B, T, E)
    return npx.batch_dot(mean, u, transpose_b=True)


_sigmoid_bce = gluon.loss.SigmoidBCELoss()


def masked_bce(scores: np.ndarray, label: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per-example sigmoid binary cross-entropy, averaged over the unmasked entries: (B, W) → (B,).

    Gluon's loss takes the mask as sample weights and averages over all W entries; rescaling by
    W / (number of real entries) turns that into the mean over the real ones.
    """
    return _sigmoid_bce(scores, label, mask) * mask.shape[1] / np.maximum(mask.sum(axis=1), 1)


def objective(embed_center, embed_context, batch: Batch | CbowBatch, device: mx.Context) -> np.ndarray:
    """The batch's summed loss, the quantity each step minimises, in the tables' dtype.

    Call it inside ``autograd.record()`` to differentiate it.
    """
    arrays = {
        name: np.array(array, ctx=device, dtype=array.dtype)
        for name, array in batch.arrays(embed_center.weight.dtype).items()
    }
    scores = training.forward(sys.modules[__name__], embed_center, embed_context, arrays)
    return masked_bce(scores.reshape(arrays["label"].shape), arrays["label"], arrays["mask"]).sum()


def gradients(center_weights: onp.ndarray, context_weights: onp.ndarray, batch: Batch | CbowBatch) -> tuple[onp.ndarray, onp.ndarray]:
    """Autograd's gradients of the batch's summed loss for both tables, in the weights' dtype (on the CPU)."""
    tables = embedding(center_weights), embedding(context_weights)
    with autograd.record():
        loss = objective(*tables, batch, mx.cpu())
    loss.backward()
    return tuple(to_numpy(table.weight.grad()) for table in tables)


class Trainer:
    """The two tables on one device and Adam over both; ``step`` returns the batch's summed loss."""

    def __init__(self, center_weights: onp.ndarray, context_weights: onp.ndarray, lr: float, device: str = "auto"):
        self.device = resolve_device(device)
        self.device_name = "gpu" if self.device.device_type == "gpu" else "cpu"
        self.embed_center = embedding(center_weights, self.device)
        self.embed_context = embedding(context_weights, self.device)
        self.optimizer = mx.optimizer.Adam(learning_rate=lr, epsilon=1e-8)
        # A list, not the blocks' ParameterDict, which Gluon would sort by the parameters' generated names
        # ("embedding10_weight" before "embedding9_weight"): the updater indexes Adam's moments by this order.
        self.trainer = gluon.Trainer([self.embed_center.weight, self.embed_context.weight], self.optimizer)
        self.steps = 0

    def step(self, batch: Batch | CbowBatch) -> np.ndarray:
        with autograd.record():
            loss = objective(self.embed_center, self.embed_context, batch, self.device)
        loss.backward()
        self.steps += 1
        self.optimizer.epsilon = training.adam_epsilon_hat(self.steps)  # PyTorch's epsilon placement
        self.trainer.step(1)  # 1: the objective is already the batch's sum, so no 1/batch_size rescaling
        return loss

    def embeddings(self) -> onp.ndarray:
        """The center-word table, the chapter's word vectors."""
        return to_numpy(self.embed_center.weight.data())

    # Gluon keeps Adam's moments in its updater, by parameter index (0: center, 1: context), and the step
    # count in the optimizer; mxnet 1.9 offers only a file format for them, so they are reached directly.
    def state(self) -> dict[str, onp.ndarray]:
        """Tables and Adam's moments as NumPy arrays, in the layout every backend shares (for checkpoints)."""
        moments = self.trainer._updaters[0].states if self.steps else {}
        arrays = {"adam_step": onp.array(self.steps)}
        for index, (name, table) in enumerate((("center", self.embed_center), ("context", self.embed_context))):
            arrays[name] = to_numpy(table.weight.data())
            m, v = (to_numpy(x) for x in moments[index]) if index in moments else (onp.zeros_like(arrays[name]),) * 2
            arrays[f"{name}_m"], arrays[f"{name}_v"] = m, v
        return arrays

    def load_state(self, arrays: dict[str, onp.ndarray]) -> None:
        """Put back what :meth:`state` returned."""
        self.steps = int(arrays["adam_step"])
        updater = self.trainer._updaters[0]
        for index, (name, table) in enumerate((("center", self.embed_center), ("context", self.embed_context))):
            table.weight.set_data(np.array(arrays[name], ctx=self.device))
            if self.steps:  # the updater's states are legacy NDArrays (mx.nd), not mx.np arrays
                updater.states[index] = tuple(mx.nd.array(arrays[f"{name}_{k}"], ctx=self.device) for k in "mv")
                updater.states_synced[index] = True
                self.optimizer._index_update_count[index] = self.steps
        self.optimizer.num_update = self.steps


def embedding(weights: onp.ndarray, device: mx.Context | None = None) -> gluon.nn.Embedding:
    """An embedding table holding ``weights`` (one row per word), as ``skip_gram`` takes it."""
    weights = onp.asarray(weights, dtype=onp.result_type(weights, onp.float32))  # float32, or float64 if given
    table = gluon.nn.Embedding(*weights.shape, dtype=weights.dtype)
    table.initialize(mx.init.Zero(), ctx=device or mx.cpu())  # then overwritten with the shared weights
    table.weight.set_data(np.array(weights, ctx=device or mx.cpu(), dtype=weights.dtype))
    return table


def to_numpy(array: np.ndarray) -> onp.ndarray:
    return array.asnumpy()


def tensor(array: onp.ndarray) -> np.ndarray:
    """A NumPy array as an array of this framework (for the notebooks' small examples)."""
    return np.array(onp.asarray(array), dtype=onp.asarray(array).dtype)


def losses_to_numpy(losses: list[np.ndarray]) -> onp.ndarray:
    """Many scalar losses read back from the device in one transfer."""
    return to_numpy(np.stack(losses))


def train(data, config: training.TrainConfig | None = None, **options) -> training.History:
    """Train on ``data`` with the shared loop; see :func:`backends.training.fit` for the options."""
    return training.fit(sys.modules[__name__], data, config, **options)
