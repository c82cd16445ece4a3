"""PyTorch backend: the chapter's model with ``nn.Embedding`` tables and ``torch.bmm``.

Only what is PyTorch-specific lives here; the data, the initial weights and the training loop are
shared (``backends.ptb``, ``backends.training``).
"""

from __future__ import annotations

import sys

import numpy as np

from backends import training
from backends.frameworks import importing

with importing("torch"):
    import torch
    import torch.nn.functional as F
    from torch import nn

from backends.ptb import Batch, CbowBatch

NAME = "torch"


def resolve_device(request: str = "auto") -> torch.device:
    """CUDA when present (or asked for), else the CPU."""
    found = torch.cuda.is_available()
    kind = training.choose_device(request, "PyTorch", found, "" if found else "torch.cuda.is_available() is False")
    return torch.device("cuda" if kind == "gpu" else "cpu")


def skip_gram(
    centers: torch.Tensor, contexts_negatives: torch.Tensor, embed_center: nn.Embedding, embed_context: nn.Embedding
) -> torch.Tensor:
    """Scores u_o · v_c of every context-or-noise word against its center: (B, 1) and (B, W) → (B, 1, W)."""
    v = embed_center(centers)  # (B, 1, E)
    u = embed_context(contexts_negatives)  # (B, W, E)
    # u v^T, then transposed: the chapter's v u^T with the operands swapped. The backward pass then writes the
    # (B, W, E) block's gradient in that block's own layout instead of a transposed one it must copy (~20% faster).
    return torch.bmm(u, v.transpose(1, 2)).transpose(1, 2)


def cbow(
    contexts: torch.Tensor, context_mask: torch.Tensor, targets: torch.Tensor, embed_center: nn.Embedding,
    embed_context: nn.Embedding,
) -> torch.Tensor:
    """Scores u_t · mean(v_c) of every target (center or noise) against the mean of the real context vectors:
    (B, C), (B, C) and (B, T) → (B, 1, T)."""
    v = embed_center(contexts) * context_mask.unsqueeze(-1)  # (B, C, E), padding zeroed
    mean = v.sum(dim=1, keepdim=True) / context_mask.sum(dim=1).clamp(min=1).view(-1, 1, 1)  # (B, 1, E)
    u = embed_context(targets)  # (B, T, E)
    return torch.bmm(mean, u.permute(0, 2, 1))


def masked_bce(scores: torch.Tensor, label: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per-example sigmoid binary cross-entropy, averaged over the unmasked entries: (B, W) → (B,)."""
    losses = F.binary_cross_entropy_with_logits(scores, label, weight=mask, reduction="none")
    return losses.sum(dim=1) / mask.sum(dim=1).clamp(min=1)


def objective(embed_center: nn.Embedding, embed_context: nn.Embedding, batch: Batch | CbowBatch, device) -> torch.Tensor:
    """The batch's summed loss, the quantity each step minimises, in the tables' dtype."""
    float_dtype = torch.empty(0, dtype=embed_center.weight.dtype).numpy().dtype
    arrays = {
        name: torch.from_numpy(array).to(device, non_blocking=True) for name, array in batch.arrays(float_dtype).items()
    }
    scores = training.forward(sys.modules[__name__], embed_center, embed_context, arrays)
    return masked_bce(scores.reshape(arrays["label"].shape), arrays["label"], arrays["mask"]).sum()


def gradients(center_weights: np.ndarray, context_weights: np.ndarray, batch: Batch | CbowBatch) -> tuple[np.ndarray, np.ndarray]:
    """Autograd's gradients of the batch's summed loss for both tables, in the weights' dtype (on the CPU)."""
    tables = embedding(center_weights), embedding(context_weights)
    objective(*tables, batch, torch.device("cpu")).backward()
    return tuple(to_numpy(table.weight.grad) for table in tables)


class Trainer:
    """The two tables on one device and Adam over both; ``step`` returns the batch's summed loss."""

    def __init__(self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"):
        self.device = resolve_device(device)
        self.device_name = describe_device(self.device)
        self.embed_center, self.embed_context = embedding(center_weights), embedding(context_weights)
        self.net = nn.Sequential(self.embed_center, self.embed_context).to(self.device)
        # fused: one kernel for the whole update instead of a dozen passes; the same Adam (a quarter faster on CPU)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr, eps=1e-8, fused=True)

    def step(self, batch: Batch | CbowBatch) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        loss = objective(self.embed_center, self.embed_context, batch, self.device)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    def embeddings(self) -> np.ndarray:
        """The center-word table, the chapter's word vectors."""
        return to_numpy(self.embed_center.weight)

    def state(self) -> dict[str, np.ndarray]:
        """Tables and Adam's moments as NumPy arrays, in the layout every backend shares (for checkpoints)."""
        arrays, step = {}, 0
        for name, table in (("center", self.embed_center), ("context", self.embed_context)):
            adam = self.optimizer.state.get(table.weight, {})
            arrays[name] = to_numpy(table.weight)
            arrays[f"{name}_m"] = to_numpy(adam["exp_avg"]) if adam else np.zeros_like(arrays[name])
            arrays[f"{name}_v"] = to_numpy(adam["exp_avg_sq"]) if adam else np.zeros_like(arrays[name])
            step = int(adam["step"]) if adam else 0
        return {**arrays, "adam_step": np.array(step)}

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Put back what :meth:`state` returned."""
        step = int(arrays["adam_step"])
        for name, table in (("center", self.embed_center), ("context", self.embed_context)):
            with torch.no_grad():
                table.weight.copy_(torch.from_numpy(arrays[name]))
            if step:
                self.optimizer.state[table.weight] = {
                    "step": torch.tensor(float(step), device=self.device),  # the fused update wants it beside the table
                    "exp_avg": torch.from_numpy(arrays[f"{name}_m"].copy()).to(self.device),
                    "exp_avg_sq": torch.from_numpy(arrays[f"{name}_v"].copy()).to(self.device),
                }


def describe_device(device: torch.device) -> str:
    return f"cuda ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "cpu"


def to_numpy(array: torch.Tensor) -> np.ndarray:
    return array.detach().cpu().numpy()


def tensor(array: np.ndarray) -> torch.Tensor:
    """A NumPy array as a tensor of this framework (for the notebooks' small examples)."""
    return torch.from_numpy(np.asarray(array))


def embedding(weights: np.ndarray) -> nn.Embedding:
    """An embedding table holding ``weights`` (one row per word), as ``skip_gram`` takes it."""
    weights = np.asarray(weights, dtype=np.result_type(weights, np.float32))  # float32, or float64 if given
    return nn.Embedding.from_pretrained(torch.from_numpy(weights.copy()), freeze=False)


def losses_to_numpy(losses: list[torch.Tensor]) -> np.ndarray:
    """Many scalar losses read back from the device in one transfer."""
    return to_numpy(torch.stack(losses))


def train(data, config: training.TrainConfig | None = None, **options) -> training.History:
    """Train on ``data`` with the shared loop; see :func:`backends.training.fit` for the options."""
    return training.fit(sys.modules[__name__], data, config, **options)
