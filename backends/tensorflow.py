"""TensorFlow backend: Keras ``Embedding`` tables, ``tf.matmul(..., transpose_b=True)``, a traced step.

The step runs under ``tf.function`` with a fixed input signature, so TensorFlow traces it into a graph
once; ``tf.GradientTape`` records the forward pass for the gradients. Only what is TensorFlow-specific
lives here; the data, the initial weights and the training loop are shared.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

import numpy as np

from backends.common.frameworks import importing
from backends.pipeline.models import Batch, Model
from backends.training import adam, devices, loop
from backends.training.state import TrainerState

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before the import: keep C++ log lines out of outputs
with importing("tensorflow"):
    import tensorflow as tf

NAME = "tensorflow"


def resolve_device(request: str = "auto") -> str:
    """'/GPU:0' when TensorFlow sees a GPU (or one is asked for), else '/CPU:0'."""
    found = bool(tf.config.list_physical_devices("GPU"))
    kind = devices.choose_device(request, "TensorFlow", found, "" if found else "no GPU in tf.config")
    return "/GPU:0" if kind == "gpu" else "/CPU:0"


def describe_device(device: str) -> str:
    if "GPU" not in device:
        return "cpu"
    details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
    return devices.device_name("gpu", details.get("device_name"))


def skip_gram(centers: tf.Tensor, contexts_negatives: tf.Tensor, embed_center, embed_context) -> tf.Tensor:
    """Scores u_o · v_c, (B, 1) centers and (B, W) context-or-noise words → (B, 1, W): ``tf.matmul``, batched
    over the first axis, with ``transpose_b`` instead of a transposed copy."""
    v = embed_center(centers)  # (B, 1, E)
    u = embed_context(contexts_negatives)  # (B, W, E)
    return tf.matmul(v, u, transpose_b=True)


def cbow(contexts: tf.Tensor, context_mask: tf.Tensor, targets: tf.Tensor, embed_center, embed_context) -> tf.Tensor:
    """Scores u_t · mean(v_c), (B, C) contexts with their mask and (B, T) targets (center, then noise) → (B, 1, T):
    ``tf.reduce_sum`` for the masked mean, then ``tf.matmul``."""
    mean = masked_mean(embed_center(contexts), context_mask)[:, None, :]  # (B, 1, E)
    u = embed_context(targets)  # (B, T, E)
    return tf.matmul(mean, u, transpose_b=True)


def masked_mean(vectors: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """The mean of each row's vectors where the mask is 1: (B, C, E) and (B, C) → (B, E), ``tf.reduce_sum`` of the
    vectors with padding zeroed, divided by the count."""
    count = tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)[:, None]
    return tf.reduce_sum(vectors * mask[:, :, None], axis=1) / count


def masked_bce(scores: tf.Tensor, label: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Per-example sigmoid binary cross-entropy, averaged over the unmasked entries: (B, W) → (B,)."""
    losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=label, logits=scores) * mask
    return tf.reduce_sum(losses, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)


def softmax_cross_entropy(inputs: tf.Tensor, targets: tf.Tensor, mask: tf.Tensor, embed_context) -> tf.Tensor:
    """The full softmax's per-example loss: (B, E) input vectors scored against every word's context vector, one
    (B, V) ``tf.matmul`` with ``transpose_b``, ``tf.nn.log_softmax``, then each of the (B, T) target words' entries
    (``tf.gather`` along the words), averaged over the unmasked ones → (B,)."""
    log_p = tf.nn.log_softmax(tf.matmul(inputs, embed_context.embeddings, transpose_b=True), axis=1)  # (B, V)
    picked = tf.gather(log_p, targets, axis=1, batch_dims=1)  # (B, T)
    return -tf.reduce_sum(picked * mask, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)


def objective(model: Model, embed_center, embed_context, arrays: dict) -> tf.Tensor:
    """The batch's summed loss, the quantity each step minimises, to be recorded on a tape to differentiate it:
    the sum of the model's per-example losses (:meth:`backends.pipeline.models.Model.losses`: this backend's
    ``masked_bce`` of the rows' scores, or its ``softmax_cross_entropy`` for a model ``with_full_softmax``)."""
    return tf.reduce_sum(model.losses(sys.modules[__name__], embed_center, embed_context, arrays))


def batch_tensors(batch: Batch, device: str, float_dtype=np.float32) -> dict[str, tf.Tensor]:
    """The batch's arrays as tensors on ``device``."""
    with tf.device(device):
        return {name: tf.constant(a) for name, a in batch.arrays(float_dtype).items()}


def _dense(gradients: list) -> list[tf.Tensor]:
    """Embedding gradients arrive as sparse IndexedSlices; dense ones give every framework the same Adam."""
    return [tf.convert_to_tensor(g) for g in gradients]


def gradients(center_weights: np.ndarray, context_weights: np.ndarray, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
    """The tape's gradients of the batch's summed loss for both tables, in the weights' dtype (on the CPU)."""
    with tf.device("/CPU:0"):
        tables = embedding(center_weights), embedding(context_weights)
        arrays = batch_tensors(batch, "/CPU:0", center_weights.dtype)
        with tf.GradientTape() as tape:
            loss = objective(batch.model, *tables, arrays)
        grads = _dense(tape.gradient(loss, [table.embeddings for table in tables]))
    return to_numpy(grads[0]), to_numpy(grads[1])


class Trainer:
    """The two tables on one device and Adam over both; ``step`` runs the traced update."""

    def __init__(self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"):
        self.device = resolve_device(device)
        self.device_name = describe_device(self.device)
        with tf.device(self.device):
            self.embed_center, self.embed_context = embedding(center_weights), embedding(context_weights)
            self.optimizer = tf.keras.optimizers.Adam(learning_rate=lr, beta_1=adam.BETA1, beta_2=adam.BETA2)
            # Read at run time by Keras' update rule, and set each step to PyTorch's epsilon placement.
            self.optimizer.epsilon = tf.Variable(adam.EPSILON, trainable=False, dtype=tf.float32)
            self.variables = [self.embed_center.embeddings, self.embed_context.embeddings]
            # Adam's moments are created now: variables created inside tf.function would force a second trace.
            self.optimizer.build(self.variables)
        # Traced on the first batch, with that batch's shapes as its fixed signature.
        self._update: Callable | None = None

    def _update_eager(self, model: Model, arrays: dict) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = objective(model, self.embed_center, self.embed_context, arrays)
        grads = _dense(tape.gradient(loss, self.variables))
        self.optimizer.epsilon.assign(adam.epsilon_hat(tf.cast(self.optimizer.iterations + 1, tf.float32)))
        self.optimizer.apply_gradients(zip(grads, self.variables))
        return loss

    def step(self, batch: Batch) -> tf.Tensor:
        arrays = batch_tensors(batch, self.device)
        if self._update is None:
            # Every batch of a run has the same shapes, so a signature fixed to them traces exactly once.
            signature = {name: tf.TensorSpec(a.shape, a.dtype) for name, a in arrays.items()}
            model = batch.model
            self._update = tf.function(lambda arrays: self._update_eager(model, arrays), input_signature=[signature])
        with tf.device(self.device):
            return self._update(arrays)

    def embeddings(self) -> np.ndarray:
        """The center-word table, the chapter's word vectors."""
        return to_numpy(self.embed_center.embeddings)


class LazyTrainer(Trainer):
    """Lazy Adam (:mod:`backends.training.adam`) on TensorFlow's sparse gradients: the tape gives each table's
    gradient as ``tf.IndexedSlices`` (each lookup's row and value), ``tf.unique`` and ``unsorted_segment_sum``
    add up a row's occurrences, and scatter updates write Adam's step into those rows of the table and of its
    moments. The moments and the step count stay in the Keras optimizer's slots, where checkpoints read them."""

    def __init__(self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"):
        super().__init__(center_weights, context_weights, lr, device)
        self.lr = lr

    def _update_eager(self, model: Model, arrays: dict) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = objective(model, self.embed_center, self.embed_context, arrays)
        step = tf.cast(self.optimizer.iterations.assign_add(1), tf.float32)
        for table, (m, v), grad in zip(self.variables, _adam_slots(self), tape.gradient(loss, self.variables)):
            rows, where = tf.unique(grad.indices)
            summed = tf.math.unsorted_segment_sum(grad.values, where, tf.shape(rows)[0])
            m_rows, v_rows, change = adam.moved(tf.gather(m, rows), tf.gather(v, rows), summed, step, self.lr, tf.sqrt)
            m.value.scatter_update(tf.IndexedSlices(m_rows, rows))  # .value: the tf.Variable under Keras' own
            v.value.scatter_update(tf.IndexedSlices(v_rows, rows))
            table.value.scatter_sub(tf.IndexedSlices(change, rows))
        return loss


# -- checkpoints: the trainer's state in NumPy and back (backends.training.state) ---------------------------


def _adam_slots(trainer: Trainer) -> list[tuple[tf.Variable, tf.Variable]]:
    """Where Keras keeps Adam's moments: private per-variable lists, in the order of ``trainer.variables``."""
    return list(zip(trainer.optimizer._momentums, trainer.optimizer._velocities))


def state(trainer: Trainer) -> TrainerState:
    moments = tuple((to_numpy(m), to_numpy(v)) for m, v in _adam_slots(trainer))
    return TrainerState(
        tuple(to_numpy(table) for table in trainer.variables), moments, int(trainer.optimizer.iterations.numpy())
    )


def load_state(trainer: Trainer, state: TrainerState) -> None:
    trainer.optimizer.iterations.assign(state.step)
    for table, weights, slots, pair in zip(trainer.variables, state.tables, _adam_slots(trainer), state.moments):
        table.assign(weights)
        for slot, values in zip(slots, pair):
            slot.assign(values)


# -- conversions ---------------------------------------------------------------------------------------------


def embedding(weights: np.ndarray) -> tf.keras.layers.Embedding:
    """An embedding table holding ``weights`` (one row per word), as ``skip_gram`` takes it."""
    weights = np.asarray(weights, dtype=np.result_type(weights, np.float32))  # float32, or float64 if given
    table = tf.keras.layers.Embedding(*weights.shape, dtype=weights.dtype.name)
    table.build((None,))
    table.embeddings.assign(weights)
    return table


def tensor(array: np.ndarray) -> tf.Tensor:
    """A NumPy array as a tensor of this framework (for the notebooks' small examples)."""
    return tf.convert_to_tensor(np.asarray(array))


def to_numpy(array) -> np.ndarray:
    return np.asarray(array)


def losses_to_numpy(losses: list[tf.Tensor]) -> np.ndarray:
    """Many scalar losses read back from the device in one transfer."""
    return to_numpy(tf.stack(losses))


train = loop.bind(sys.modules[__name__])  # train(data, epochs=..., ...): the shared loop with this backend
