"""JAX backend: flax ``nn.Embed`` tables, ``jnp.einsum`` scores, optax's Adam, one jit-compiled step.

JAX is functional: the parameters and the optimizer state are explicit values passed into a pure step
function and returned updated, and ``jax.jit`` compiles that function once. The pipeline's fixed padding
gives every batch the same shapes, so there is exactly one compilation. Only what is JAX-specific lives
here; the data, the initial weights and the training loop are shared.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable

import numpy as np

from backends.common.frameworks import importing
from backends.pipeline.models import Batch, Model
from backends.training import adam, devices, loop
from backends.training.state import TrainerState

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
    kind = devices.choose_device(request, "JAX", found, "" if found else "jax.devices() lists only the CPU")
    return jax.devices("gpu" if kind == "gpu" else "cpu")[0]


def describe_device(device: jax.Device) -> str:
    return devices.device_name("gpu", device.device_kind) if device.platform == "gpu" else "cpu"


def skip_gram(centers: jax.Array, contexts_negatives: jax.Array, embed_center, embed_context) -> jax.Array:
    """Scores u_o · v_c, (B, 1) centers and (B, W) context-or-noise words → (B, 1, W): ``jnp.einsum`` names
    the axes, b the example, c its center, w its words, e the embedding summed over."""
    v = embed_center(centers)  # (B, 1, E)
    u = embed_context(contexts_negatives)  # (B, W, E)
    return jnp.einsum("bce,bwe->bcw", v, u)


def cbow(contexts: jax.Array, context_mask: jax.Array, targets: jax.Array, embed_center, embed_context) -> jax.Array:
    """Scores u_t · mean(v_c), (B, C) contexts with their mask and (B, T) targets (center, then noise) → (B, 1, T):
    the masked mean and the scores both as ``jnp.einsum``."""
    mean = masked_mean(embed_center(contexts), context_mask)  # (B, E)
    u = embed_context(targets)  # (B, T, E)
    return jnp.einsum("be,bte->bt", mean, u)[:, None, :]


def masked_mean(vectors: jax.Array, mask: jax.Array) -> jax.Array:
    """The mean of each row's vectors where the mask is 1: (B, C, E) and (B, C) → (B, E), as ``jnp.einsum``."""
    return jnp.einsum("bc,bce->be", mask, vectors) / jnp.maximum(mask.sum(axis=1), 1)[:, None]


def masked_bce(scores: jax.Array, label: jax.Array, mask: jax.Array) -> jax.Array:
    """Per-example sigmoid binary cross-entropy, averaged over the unmasked entries: (B, W) → (B,)."""
    losses = optax.sigmoid_binary_cross_entropy(scores, label) * mask
    return losses.sum(axis=1) / jnp.maximum(mask.sum(axis=1), 1)


def softmax_cross_entropy(inputs: jax.Array, targets: jax.Array, mask: jax.Array, embed_context) -> jax.Array:
    """The full softmax's per-example loss: (B, E) input vectors scored against every word's context vector, one
    (B, V) matrix product (flax's ``Embed.attend``), ``jax.nn.log_softmax``, then each of the (B, T) target words'
    entries, averaged over the unmasked ones → (B,)."""
    log_p = jax.nn.log_softmax(embed_context.attend(inputs), axis=1)  # (B, V)
    return -(jnp.take_along_axis(log_p, targets, axis=1) * mask).sum(axis=1) / jnp.maximum(mask.sum(axis=1), 1)


def objective(model: Model, embed_center, embed_context, arrays: dict) -> jax.Array:
    """The batch's summed loss, the quantity each step minimises: the sum of the model's per-example losses
    (:meth:`backends.pipeline.models.Model.losses`: this backend's ``masked_bce`` of the rows' scores, or its
    ``softmax_cross_entropy`` for a model ``with_full_softmax``)."""
    return model.losses(sys.modules[__name__], embed_center, embed_context, arrays).sum()


def batch_tensors(batch: Batch, device: jax.Device, float_dtype=np.float32) -> dict[str, jax.Array]:
    """The batch's arrays as JAX arrays on ``device``, in one transfer."""
    return jax.device_put(batch.arrays(float_dtype), device)


def loss_of(model: Model):
    """The summed loss as a pure function of the two tables, ``{"center": v, "context": u}``: what
    ``jax.grad`` differentiates. ``model`` is fixed, so that ``jax.jit`` compiles one function per model."""

    def loss(params: dict, arrays: dict) -> jax.Array:
        return objective(model, embedding(params["center"]), embedding(params["context"]), arrays)

    return loss


def gradients(center_weights: np.ndarray, context_weights: np.ndarray, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """``jax.grad``'s gradients of the batch's summed loss for both tables, in the weights' dtype.

    JAX computes in float32 unless 64-bit mode is on; it is switched on here, for this call alone.
    """
    with _enable_x64():
        params = {"center": jnp.asarray(center_weights), "context": jnp.asarray(context_weights)}
        arrays = batch_tensors(batch, jax.devices("cpu")[0], center_weights.dtype)
        grads = jax.grad(loss_of(batch.model))(params, arrays)
        return to_numpy(grads["center"]), to_numpy(grads["context"])


class Trainer:
    """Parameters and Adam state as explicit pytrees; ``step`` runs the jit-compiled update."""

    def __init__(self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"):
        self.device = resolve_device(device)
        self.device_name = describe_device(self.device)
        self.optimizer = optax.adam(lr, b1=adam.BETA1, b2=adam.BETA2, eps=adam.EPSILON)
        self.params = jax.device_put({"center": center_weights, "context": context_weights}, self.device)
        self.opt_state = jax.device_put(self.optimizer.init(self.params), self.device)  # committed, like the params
        self._update: Callable | None = None  # compiled on the first batch, for its model

    def _compile(self, model: Model):
        def update(params, opt_state, arrays):
            loss, grads = jax.value_and_grad(loss_of(model))(params, arrays)
            updates, opt_state = self.optimizer.update(grads, opt_state, params)
            return optax.apply_updates(params, updates), opt_state, loss

        # Donating the old parameters and state lets XLA update them in place.
        return jax.jit(update, donate_argnums=(0, 1))

    def step(self, batch: Batch) -> jax.Array:
        arrays = batch_tensors(batch, self.device)
        if self._update is None:
            self._update = self._compile(batch.model)
        self.params, self.opt_state, loss = self._update(self.params, self.opt_state, arrays)
        return loss

    def embeddings(self) -> np.ndarray:
        """The center-word table, the chapter's word vectors."""
        return to_numpy(self.params["center"])


class LazyTrainer(Trainer):
    """Lazy Adam (:mod:`backends.training.adam`) in one jit-compiled step: ``jnp.unique`` finds the rows each
    table's lookups name (at a fixed size, padded with an index past the table, so the step compiles once),
    ``jax.grad`` differentiates the loss with respect to those rows alone, and Adam's update of them and of
    their moments is a gather and a scatter (``.at[...].set``) that drops the padding."""

    def __init__(self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"):
        super().__init__(center_weights, context_weights, lr, device)
        self.lr = lr  # the state keeps optax's layout (a ScaleByAdamState first), which checkpoints read

    def _compile(self, model: Model):
        names = dict(zip(("center", "context"), model.lookups))

        def update(params, opt_state, arrays):
            slots, count = opt_state[0], opt_state[0].count + 1
            rows, remapped = {}, dict(arrays)
            for table, name in names.items():  # each table's looked-up rows, and the lookups as positions in them
                indices, size = arrays[name], params[table].shape[0]
                rows[table], where = jnp.unique(
                    indices, size=min(indices.size, size), fill_value=size, return_inverse=True
                )
                remapped[name] = where.reshape(indices.shape)

            def take(tree, t):  # the looked-up rows of table t (padding reads zeros)
                return tree[t].at[rows[t]].get(mode="fill", fill_value=0)

            def put(tree, t, values):  # ...written back (padding dropped)
                return tree[t].at[rows[t]].set(values, mode="drop", indices_are_sorted=True, unique_indices=True)

            looked_up = {t: take(params, t) for t in names}
            loss, grads = jax.value_and_grad(loss_of(model))(looked_up, remapped)
            mu, nu, new = dict(slots.mu), dict(slots.nu), dict(params)
            for t in names:
                m, v, change = adam.moved(take(slots.mu, t), take(slots.nu, t), grads[t], count, self.lr, jnp.sqrt)
                mu[t], nu[t], new[t] = put(slots.mu, t, m), put(slots.nu, t, v), put(params, t, looked_up[t] - change)
            return new, (slots._replace(count=count, mu=mu, nu=nu), *opt_state[1:]), loss

        return jax.jit(update, donate_argnums=(0, 1))


# -- checkpoints: the trainer's state in NumPy and back (backends.training.state) ---------------------------


def _adam_slots(trainer: Trainer) -> optax.ScaleByAdamState:
    """Where optax keeps Adam's state: the first link of ``optax.adam``'s chain (scale_by_adam, then the
    learning rate), with the step count and both moments as pytrees shaped like the parameters."""
    return trainer.opt_state[0]


def state(trainer: Trainer) -> TrainerState:
    slots = _adam_slots(trainer)
    return TrainerState(
        tuple(to_numpy(trainer.params[name]) for name in ("center", "context")),
        tuple((to_numpy(slots.mu[name]), to_numpy(slots.nu[name])) for name in ("center", "context")),
        int(slots.count),
    )


def load_state(trainer: Trainer, state: TrainerState) -> None:
    slots = _adam_slots(trainer)
    (center_m, center_v), (context_m, context_v) = state.moments
    restored = slots._replace(
        count=jnp.asarray(state.step, dtype=slots.count.dtype),
        mu={"center": center_m, "context": context_m},
        nu={"center": center_v, "context": context_v},
    )
    trainer.params = jax.device_put(dict(zip(("center", "context"), state.tables)), trainer.device)
    trainer.opt_state = jax.device_put((restored, *trainer.opt_state[1:]), trainer.device)


# -- conversions ---------------------------------------------------------------------------------------------


def embedding(weights) -> nn.Embed:
    """An embedding table holding ``weights`` (one row per word), bound to them so that it can be called.

    A flax module holds no numbers of its own: binding gives it its parameters, and inside ``jax.grad`` those
    are the values being differentiated."""
    weights = jnp.asarray(weights)
    weights = weights.astype(jnp.result_type(weights.dtype, jnp.float32))  # float32, or float64 if given
    return nn.Embed(*weights.shape).bind({"params": {"embedding": weights}})


def tensor(array: np.ndarray) -> jax.Array:
    """A NumPy array as an array of this framework (for the notebooks' small examples)."""
    return jnp.asarray(array)


def to_numpy(array: jax.Array) -> np.ndarray:
    return np.asarray(jax.device_get(array))


def losses_to_numpy(losses: list[jax.Array]) -> np.ndarray:
    """Many scalar losses read back from the device in one transfer."""
    return to_numpy(jnp.stack(losses))


train = loop.bind(sys.modules[__name__])  # train(data, epochs=..., ...): the shared loop with this backend
