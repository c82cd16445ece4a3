"""JAX backend: the chapter's model as a flax module, ``jnp.einsum`` scores, optax's Adam, one jit step.

JAX is functional: the parameters and the optimizer state are explicit values passed into a pure step
function and returned updated, and ``jax.jit`` compiles that function once. The pipeline's fixed padding
gives every batch the same shapes, so there is exactly one compilation. Only what is JAX-specific lives
here; the data, the initial weights and the training loop are shared.
"""

from __future__ import annotations

import sys
import warnings

import numpy as np

from backends import training
from backends.frameworks import importing
from backends.ptb import Batch, CbowBatch

with importing("jax"), warnings.catch_warnings():
    # chex 0.1.7 (pulled in by optax and flax) touches JAX names that jax 0.4.23 deprecates, at import.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="chex")
    import jax
    import jax.experimental
    import jax.numpy as jnp
    import optax
    from flax import linen as nn

# 64-bit mode for one block of code: `jax.enable_x64` since jax 0.8, `jax.experimental.enable_x64` before
# (the book environment's 0.4.23); the experimental one is gone from today's releases.
_enable_x64 = jax.enable_x64 if hasattr(jax, "enable_x64") else jax.experimental.enable_x64

NAME = "jax"


def resolve_device(request: str = "auto") -> jax.Device:
    """The first device ``jax.devices()`` lists (a GPU when present), or the one asked for."""
    found = jax.devices()[0].platform == "gpu"
    kind = training.choose_device(request, "JAX", found, "" if found else "jax.devices() lists only the CPU")
    return jax.devices("gpu" if kind == "gpu" else "cpu")[0]


class Word2Vec(nn.Module):
    """Two embedding tables: ``embed_center`` (v, the input words) and ``embed_context`` (u, the outputs)."""

    vocab_size: int
    embed_size: int

    def setup(self) -> None:
        self.embed_center = nn.Embed(self.vocab_size, self.embed_size)
        self.embed_context = nn.Embed(self.vocab_size, self.embed_size)

    def __call__(self, arrays: dict) -> jax.Array:
        """The batch's scores, (B, 1, W), with skip_gram or cbow as the batch's arrays say."""
        return training.forward(sys.modules[__name__], self.embed_center, self.embed_context, arrays)


def skip_gram(centers: jax.Array, contexts_negatives: jax.Array, embed_center, embed_context) -> jax.Array:
    """Scores u_o · v_c of every context-or-noise word against its center: (B, 1) and (B, W) → (B, 1, W)."""
    v = embed_center(centers)  # (B, 1, E)
    u = embed_context(contexts_negatives)  # (B, W, E)
    return jnp.einsum("bce,bwe->bcw", v, u)


def cbow(contexts: jax.Array, context_mask: jax.Array, targets: jax.Array, embed_center, embed_context) -> jax.Array:
    """Scores u_t · mean(v_c) of every target (center or noise) against the mean of the real context vectors:
    (B, C), (B, C) and (B, T) → (B, 1, T)."""
    v = embed_center(contexts)  # (B, C, E)
    mean = jnp.einsum("bc,bce->be", context_mask, v) / jnp.maximum(context_mask.sum(axis=1), 1)[:, None]
    u = embed_context(targets)  # (B, T, E)
    return jnp.einsum("be,bte->bt", mean, u)[:, None, :]


def masked_bce(scores: jax.Array, label: jax.Array, mask: jax.Array) -> jax.Array:
    """Per-example sigmoid binary cross-entropy, averaged over the unmasked entries: (B, W) → (B,)."""
    losses = optax.sigmoid_binary_cross_entropy(scores, label) * mask
    return losses.sum(axis=1) / jnp.maximum(mask.sum(axis=1), 1)


def objective(params: dict, arrays: dict) -> jax.Array:
    """The batch's summed loss as a pure function of the parameters: what ``jax.grad`` differentiates."""
    scores = Word2Vec(*params["params"]["embed_center"]["embedding"].shape).apply(params, arrays)
    return masked_bce(scores.reshape(arrays["label"].shape), arrays["label"], arrays["mask"]).sum()


def _params(center_weights, context_weights) -> dict:
    """The parameter pytree flax expects for :class:`Word2Vec`."""
    return {"params": {"embed_center": {"embedding": center_weights}, "embed_context": {"embedding": context_weights}}}


def gradients(center_weights: np.ndarray, context_weights: np.ndarray, batch: Batch | CbowBatch) -> tuple[np.ndarray, np.ndarray]:
    """``jax.grad``'s gradients of the batch's summed loss for both tables, in the weights' dtype.

    JAX computes in float32 unless 64-bit mode is on; it is switched on here, for this call alone.
    """
    with _enable_x64():
        params = jax.tree_util.tree_map(jnp.asarray, _params(center_weights, context_weights))
        grads = jax.grad(objective)(params, batch.arrays(center_weights.dtype))
        tables = grads["params"]
        return to_numpy(tables["embed_center"]["embedding"]), to_numpy(tables["embed_context"]["embedding"])


class Trainer:
    """Parameters and Adam state as explicit pytrees; ``step`` runs the jit-compiled update."""

    def __init__(self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"):
        self.device = resolve_device(device)
        self.device_name = f"gpu ({self.device.device_kind})" if self.device.platform == "gpu" else "cpu"
        optimizer = optax.adam(lr, eps=1e-8)
        self.params = jax.device_put(_params(center_weights, context_weights), self.device)
        self.opt_state = jax.device_put(optimizer.init(self.params), self.device)  # committed, like the params

        def update(params, opt_state, arrays):
            loss, grads = jax.value_and_grad(objective)(params, arrays)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        # Donating the old parameters and state lets XLA update them in place.
        self._update = jax.jit(update, donate_argnums=(0, 1))

    def step(self, batch: Batch | CbowBatch) -> jax.Array:
        arrays = jax.device_put(batch.arrays(), self.device)
        self.params, self.opt_state, loss = self._update(self.params, self.opt_state, arrays)
        return loss

    def embeddings(self) -> np.ndarray:
        """The center-word table, the chapter's word vectors."""
        return to_numpy(self.params["params"]["embed_center"]["embedding"])

    def state(self) -> dict[str, np.ndarray]:
        """Tables and Adam's moments as NumPy arrays, in the layout every backend shares (for checkpoints)."""
        adam = self.opt_state[0]  # optax.adam = chain(scale_by_adam, scale_by_learning_rate)
        arrays = {"adam_step": np.array(int(adam.count))}
        for name in ("center", "context"):
            key = f"embed_{name}"
            arrays[name] = to_numpy(self.params["params"][key]["embedding"])
            arrays[f"{name}_m"] = to_numpy(adam.mu["params"][key]["embedding"])
            arrays[f"{name}_v"] = to_numpy(adam.nu["params"][key]["embedding"])
        return arrays

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Put back what :meth:`state` returned."""
        adam = self.opt_state[0]._replace(
            count=jnp.asarray(int(arrays["adam_step"]), dtype=self.opt_state[0].count.dtype),
            mu=_params(arrays["center_m"], arrays["context_m"]),
            nu=_params(arrays["center_v"], arrays["context_v"]),
        )
        self.params = jax.device_put(_params(arrays["center"], arrays["context"]), self.device)
        self.opt_state = jax.device_put((adam, *self.opt_state[1:]), self.device)


def embedding(weights: np.ndarray) -> nn.Embed:
    """An embedding table holding ``weights`` (one row per word), bound so that it can be called."""
    weights = jnp.asarray(weights, dtype=jnp.float32)
    return nn.Embed(*weights.shape).bind({"params": {"embedding": weights}})


def to_numpy(array: jax.Array) -> np.ndarray:
    return np.asarray(jax.device_get(array))


def tensor(array: np.ndarray) -> jax.Array:
    """A NumPy array as an array of this framework (for the notebooks' small examples)."""
    return jnp.asarray(array)


def losses_to_numpy(losses: list[jax.Array]) -> np.ndarray:
    """Many scalar losses read back from the device in one transfer."""
    return to_numpy(jnp.stack(losses))


def train(data, config: training.TrainConfig | None = None, **options) -> training.History:
    """Train on ``data`` with the shared loop; see :func:`backends.training.fit` for the options."""
    return training.fit(sys.modules[__name__], data, config, **options)
