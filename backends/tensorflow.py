"""TensorFlow backend: Keras ``Embedding`` tables, ``tf.matmul(..., transpose_b=True)``, a traced step.

The step runs under ``tf.function`` with a fixed input signature, so TensorFlow traces it into a graph
once; ``tf.GradientTape`` records the forward pass for the gradients. Only what is TensorFlow-specific
lives here; the data, the initial weights and the training loop are shared.
"""

from __future__ import annotations

import os
import sys

import numpy as np

from backends import training
from backends.frameworks import importing
from backends.ptb import Batch, CbowBatch

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before the import: keep C++ log lines out of outputs
with importing("tensorflow"):
    import tensorflow as tf

NAME = "tensorflow"


def resolve_device(request: str = "auto") -> str:
    """'/GPU:0' when TensorFlow sees a GPU (or one is asked for), else '/CPU:0'."""
    found = bool(tf.config.list_physical_devices("GPU"))
    kind = training.choose_device(request, "TensorFlow", found, "" if found else "no GPU in tf.config")
    return "/GPU:0" if kind == "gpu" else "/CPU:0"


def skip_gram(centers: tf.Tensor, contexts_negatives: tf.Tensor, embed_center, embed_context) -> tf.Tensor:
    """Scores u_o · v_c of every context-or-noise word against its center: (B, 1) and (B, W) → (B, 1, W)."""
    v = embed_center(centers)  # (B, 1, E)
    u = embed_context(contexts_negatives)  # (B, W, E)
    return tf.matmul(v, u, transpose_b=True)


def cbow(contexts: tf.Tensor, context_mask: tf.Tensor, targets: tf.Tensor, embed_center, embed_context) -> tf.Tensor:
    """Scores u_t · mean(v_c) of every target (center or noise) against the mean of the real context vectors:
    (B, C), (B, C) and (B, T) → (B, 1, T)."""
    v = embed_center(contexts) * context_mask[:, :, None]  # (B, C, E), padding zeroed
    count = tf.maximum(tf.reduce_sum(context_mask, axis=1), 1.0)[:, None, None]
    mean = tf.reduce_sum(v, axis=1, keepdims=True) / count  # (B, 1, E)
    u = embed_context(targets)  # (B, T, E)
    return tf.matmul(mean, u, transpose_b=True)


def masked_bce(scores: tf.Tensor, label: tf.Tensor, mask: tf.Tensor) -> tf.Tensor:
    """Per-example sigmoid binary cross-entropy, averaged over the unmasked entries: (B, W) → (B,)."""
    losses = tf.nn.sigmoid_cross_entropy_with_logits(labels=label, logits=scores) * mask
    return tf.reduce_sum(losses, axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1), 1.0)


def objective(embed_center, embed_context, arrays: dict) -> tf.Tensor:
    """The batch's summed loss, the quantity each step minimises; record it on a tape to differentiate it."""
    scores = training.forward(sys.modules[__name__], embed_center, embed_context, arrays)
    return tf.reduce_sum(masked_bce(tf.reshape(scores, tf.shape(arrays["label"])), arrays["label"], arrays["mask"]))


def _dense(gradients: list) -> list[tf.Tensor]:
    """Embedding gradients arrive as sparse IndexedSlices; dense ones give every framework the same Adam."""
    return [tf.convert_to_tensor(g) for g in gradients]


def gradients(center_weights: np.ndarray, context_weights: np.ndarray, batch: Batch | CbowBatch) -> tuple[np.ndarray, np.ndarray]:
    """The tape's gradients of the batch's summed loss for both tables, in the weights' dtype (on the CPU)."""
    with tf.device("/CPU:0"):
        tables = embedding(center_weights), embedding(context_weights)
        arrays = {name: tf.constant(a) for name, a in batch.arrays(center_weights.dtype).items()}
        with tf.GradientTape() as tape:
            loss = objective(*tables, arrays)
        grads = _dense(tape.gradient(loss, [table.embeddings for table in tables]))
    return to_numpy(grads[0]), to_numpy(grads[1])


class Trainer:
    """The two tables on one device and Adam over both; ``step`` runs the traced update."""

    def __init__(self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"):
        self.device = resolve_device(device)
        self.device_name = "gpu" if "GPU" in self.device else "cpu"
        with tf.device(self.device):
            self.embed_center, self.embed_context = embedding(center_weights), embedding(context_weights)
            self.optimizer = tf.keras.optimizers.Adam(learning_rate=lr, epsilon=1e-8)  # Keras' default is 1e-7
            # Read at run time by Keras' update rule, and set each step to PyTorch's epsilon placement.
            self.optimizer.epsilon = tf.Variable(1e-8, trainable=False, dtype=tf.float32)
        self.variables = [self.embed_center.embeddings, self.embed_context.embeddings]
        # Adam's moments are created now: variables created inside tf.function would force a second trace.
        with tf.device(self.device):
            self.optimizer.build(self.variables)
        self._update = None  # traced on the first batch, with that batch's shapes as its fixed signature

    def _update_eager(self, arrays: dict) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = objective(self.embed_center, self.embed_context, arrays)
        grads = _dense(tape.gradient(loss, self.variables))
        self.optimizer.epsilon.assign(training.adam_epsilon_hat(tf.cast(self.optimizer.iterations + 1, tf.float32)))
        self.optimizer.apply_gradients(zip(grads, self.variables))
        return loss

    def step(self, batch: Batch | CbowBatch) -> tf.Tensor:
        arrays = batch.arrays()
        if self._update is None:
            # Every batch of a run has the same shapes, so a signature fixed to them traces exactly once.
            signature = {name: tf.TensorSpec(a.shape, tf.as_dtype(a.dtype)) for name, a in arrays.items()}
            self._update = tf.function(self._update_eager, input_signature=[signature])
        with tf.device(self.device):
            return self._update(arrays)

    def embeddings(self) -> np.ndarray:
        """The center-word table, the chapter's word vectors."""
        return to_numpy(self.embed_center.embeddings)

    # Keras keeps Adam's moments in per-variable lists, in the order of `self.variables`.
    def state(self) -> dict[str, np.ndarray]:
        """Tables and Adam's moments as NumPy arrays, in the layout every backend shares (for checkpoints)."""
        arrays = {"adam_step": np.array(int(self.optimizer.iterations.numpy()))}
        for index, name in enumerate(("center", "context")):
            arrays[name] = to_numpy(self.variables[index])
            arrays[f"{name}_m"] = to_numpy(self.optimizer._momentums[index])
            arrays[f"{name}_v"] = to_numpy(self.optimizer._velocities[index])
        return arrays

    def load_state(self, arrays: dict[str, np.ndarray]) -> None:
        """Put back what :meth:`state` returned."""
        self.optimizer.iterations.assign(int(arrays["adam_step"]))
        for index, name in enumerate(("center", "context")):
            self.variables[index].assign(arrays[name])
            self.optimizer._momentums[index].assign(arrays[f"{name}_m"])
            self.optimizer._velocities[index].assign(arrays[f"{name}_v"])


def embedding(weights: np.ndarray) -> tf.keras.layers.Embedding:
    """An embedding table holding ``weights`` (one row per word), as ``skip_gram`` takes it."""
    weights = np.asarray(weights, dtype=np.result_type(weights, np.float32))  # float32, or float64 if given
    table = tf.keras.layers.Embedding(*weights.shape, dtype=weights.dtype.name)
    table.build((None,))
    table.embeddings.assign(weights)
    return table


def to_numpy(array) -> np.ndarray:
    return np.asarray(array)


def tensor(array: np.ndarray) -> tf.Tensor:
    """A NumPy array as a tensor of this framework (for the notebooks' small examples)."""
    return tf.convert_to_tensor(np.asarray(array))


def losses_to_numpy(losses: list[tf.Tensor]) -> np.ndarray:
    """Many scalar losses read back from the device in one transfer."""
    return to_numpy(tf.stack(losses))


def train(data, config: training.TrainConfig | None = None, **options) -> training.History:
    """Train on ``data`` with the shared loop; see :func:`backends.training.fit` for the options."""
    return training.fit(sys.modules[__name__], data, config, **options)
