"""PyTorch backend: the chapter's model with ``nn.Embedding`` tables and ``torch.bmm``.

Only what is PyTorch-specific lives here; the data, the initial weights and the training loop are
shared (``backends.pipeline``, ``backends.training``).
"""

from __future__ import annotations

import sys

import numpy as np

from backends.common.frameworks import importing
from backends.pipeline.models import Batch, Model
from backends.training import adam, devices, loop
from backends.training.state import TrainerState

with importing("torch"):
    import torch
    import torch.nn.functional as F
    from torch import nn

NAME = "torch"


def resolve_device(request: str = "auto") -> torch.device:
    """A GPU when present (or asked for): CUDA, else Apple's (MPS); else the CPU."""
    gpu = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else None
    why_not = "" if gpu else "neither torch.cuda nor torch.backends.mps is available"
    kind = devices.choose_device(request, "PyTorch", gpu is not None, why_not)
    return torch.device(gpu if kind == "gpu" else "cpu")


def describe_device(device: torch.device) -> str:
    if device.type == "cuda":
        return devices.device_name("gpu", torch.cuda.get_device_name(device))
    return devices.device_name("gpu", "Apple MPS") if device.type == "mps" else "cpu"


def skip_gram(
    centers: torch.Tensor, contexts_negatives: torch.Tensor, embed_center: nn.Embedding, embed_context: nn.Embedding
) -> torch.Tensor:
    """Scores u_o · v_c, (B, 1) centers and (B, W) context-or-noise words → (B, 1, W): ``torch.bmm``, one
    matrix product per example."""
    v = embed_center(centers)  # (B, 1, E)
    u = embed_context(contexts_negatives)  # (B, W, E)
    # u v^T, then transposed: the chapter's v u^T with the operands swapped. The backward pass then writes the
    # (B, W, E) block's gradient in that block's own layout instead of a transposed one it must copy.
    return torch.bmm(u, v.transpose(1, 2)).transpose(1, 2)


def cbow(
    contexts: torch.Tensor,
    context_mask: torch.Tensor,
    targets: torch.Tensor,
    embed_center: nn.Embedding,
    embed_context: nn.Embedding,
) -> torch.Tensor:
    """Scores u_t · mean(v_c), (B, C) contexts with their mask and (B, T) targets (center, then noise) → (B, 1, T):
    the padded contexts zeroed, summed and divided by their count, then ``torch.bmm``."""
    mean = masked_mean(embed_center(contexts), context_mask).unsqueeze(1)  # (B, 1, E)
    u = embed_context(targets)  # (B, T, E)
    return torch.bmm(mean, u.permute(0, 2, 1))


def masked_mean(vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean of each row's vectors where the mask is 1: (B, C, E) and (B, C) → (B, E), padding zeroed, summed
    and divided by the count."""
    return (vectors * mask.unsqueeze(-1)).sum(dim=1) / mask.sum(dim=1).clamp(min=1).unsqueeze(-1)


def masked_bce(scores: torch.Tensor, label: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-example sigmoid binary cross-entropy, averaged over the unmasked entries: (B, W) → (B,)."""
    losses = F.binary_cross_entropy_with_logits(scores, label, weight=mask, reduction="none")
    return losses.sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def softmax_cross_entropy(
    inputs: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, embed_context: nn.Embedding
) -> torch.Tensor:
    """The full softmax's per-example loss: (B, E) input vectors scored against every word's context vector, one
    (B, V) matrix product (``F.linear`` with the table as its weight), ``torch.log_softmax``, then each of the
    (B, T) target words' entries, averaged over the unmasked ones → (B,)."""
    log_p = torch.log_softmax(F.linear(inputs, embed_context.weight), dim=1)  # (B, V)
    return -(log_p.gather(1, targets.long()) * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def objective(model: Model, embed_center: nn.Embedding, embed_context: nn.Embedding, arrays: dict) -> torch.Tensor:
    """The batch's summed loss, the quantity each step minimises: the sum of the model's per-example losses
    (:meth:`backends.pipeline.models.Model.losses`: this backend's ``masked_bce`` of the rows' scores, or its
    ``softmax_cross_entropy`` for a model ``with_full_softmax``)."""
    return model.losses(sys.modules[__name__], embed_center, embed_context, arrays).sum()


def batch_tensors(batch: Batch, device: torch.device, float_dtype=np.float32) -> dict[str, torch.Tensor]:
    """The batch's arrays as tensors on ``device`` (copied while the host goes on where it can)."""
    return {name: torch.from_numpy(a).to(device, non_blocking=True) for name, a in batch.arrays(float_dtype).items()}


def gradients(center_weights: np.ndarray, context_weights: np.ndarray, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """Autograd's gradients of the batch's summed loss for both tables, in the weights' dtype (on the CPU)."""
    tables = embedding(center_weights), embedding(context_weights)
    arrays = batch_tensors(batch, torch.device("cpu"), center_weights.dtype)
    objective(batch.model, *tables, arrays).backward()
    center, context = (to_numpy(table.weight.grad) for table in tables)
    return center, context


class Trainer:
    """The two tables on one device and Adam over both; ``step`` returns the batch's summed loss."""

    def __init__(self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"):
        self.device = resolve_device(device)
        self.device_name = describe_device(self.device)
        self.embed_center, self.embed_context = embedding(center_weights), embedding(context_weights)
        self.net = nn.Sequential(self.embed_center, self.embed_context).to(self.device)
        # fused: one kernel for the whole update instead of a dozen passes; the same Adam, faster
        self.optimizer = torch.optim.Adam(
            self.net.parameters(), lr=lr, betas=(adam.BETA1, adam.BETA2), eps=adam.EPSILON, fused=True
        )

    def step(self, batch: Batch) -> torch.Tensor:
        arrays = batch_tensors(batch, self.device)
        self.optimizer.zero_grad(set_to_none=True)
        loss = objective(batch.model, self.embed_center, self.embed_context, arrays)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def embeddings(self) -> np.ndarray:
        """The center-word table, the chapter's word vectors."""
        return to_numpy(self.embed_center.weight)


class LazyTrainer(Trainer):
    """Lazy Adam (:mod:`backends.training.adam`) with PyTorch's sparse machinery: ``nn.Embedding(sparse=True)``
    gives each table's gradient as a sparse tensor of the rows the batch looks up, and ``torch.optim.SparseAdam``
    updates those rows and their moments alone."""

    def __init__(self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"):
        super().__init__(center_weights, context_weights, lr, device)
        self.embed_center.sparse = self.embed_context.sparse = True
        self.optimizer = torch.optim.SparseAdam(self.net.parameters(), lr=lr, betas=(adam.BETA1, adam.BETA2))

    def step(self, batch: Batch) -> torch.Tensor:
        slots = self.optimizer.state.get(self.embed_center.weight)
        # SparseAdam adds epsilon to the raw sqrt(v): given epsilon_hat, it takes the chapter's step
        self.optimizer.param_groups[0]["eps"] = adam.epsilon_hat((slots["step"] if slots else 0) + 1)
        return super().step(batch)


# -- checkpoints: the trainer's state in NumPy and back (backends.training.state) ---------------------------


def _adam_slots(trainer: Trainer) -> tuple[dict, tuple[nn.Parameter, nn.Parameter]]:
    """Where torch.optim keeps Adam's moments: ``optimizer.state``, keyed by the two tables (empty at first)."""
    return trainer.optimizer.state, (trainer.embed_center.weight, trainer.embed_context.weight)


def state(trainer: Trainer) -> TrainerState:
    slots, tables = _adam_slots(trainer)
    weights = tuple(to_numpy(table) for table in tables)
    stepped = [table for table in tables if slots.get(table)]  # a table Adam has not stepped yet has no slots
    if not stepped:
        return TrainerState.fresh(weights)
    moments = tuple(
        (to_numpy(slots[t]["exp_avg"]), to_numpy(slots[t]["exp_avg_sq"]))
        if slots.get(t)
        else (np.zeros_like(w), np.zeros_like(w))
        for t, w in zip(tables, weights)
    )
    return TrainerState(weights, moments, int(slots[stepped[0]]["step"]))


def load_state(trainer: Trainer, state: TrainerState) -> None:
    slots, tables = _adam_slots(trainer)
    for table, weights, (m, v) in zip(tables, state.tables, state.moments):
        with torch.no_grad():
            table.copy_(torch.from_numpy(weights))
        if state.step:
            slots[table] = {
                # SparseAdam counts in an int; the fused Adam wants a tensor on the tables' device
                "step": state.step
                if isinstance(trainer, LazyTrainer)
                else torch.tensor(float(state.step), device=trainer.device),
                "exp_avg": torch.from_numpy(m.copy()).to(trainer.device),
                "exp_avg_sq": torch.from_numpy(v.copy()).to(trainer.device),
            }


# -- conversions ---------------------------------------------------------------------------------------------


def embedding(weights: np.ndarray) -> nn.Embedding:
    """An embedding table holding ``weights`` (one row per word), as ``skip_gram`` takes it."""
    weights = np.asarray(weights, dtype=np.result_type(weights, np.float32))  # float32, or float64 if given
    return nn.Embedding.from_pretrained(torch.from_numpy(weights.copy()), freeze=False)


def tensor(array: np.ndarray) -> torch.Tensor:
    """A NumPy array as a tensor of this framework (for the notebooks' small examples)."""
    return torch.from_numpy(np.asarray(array))


def to_numpy(array: torch.Tensor) -> np.ndarray:
    return array.detach().cpu().numpy()


def losses_to_numpy(losses: list[torch.Tensor]) -> np.ndarray:
    """Many scalar losses read back from the device in one transfer."""
    return to_numpy(torch.stack(losses))


train = loop.bind(sys.modules[__name__])  # train(data, epochs=..., ...): the shared loop with this backend
