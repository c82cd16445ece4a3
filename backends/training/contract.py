"""The backend contract, stated once: what every ``backends/<framework>.py`` module provides.

A backend is a module, not a class (``from backends import torch as w2v`` in a notebook), so the
contract is a :class:`typing.Protocol` that modules satisfy structurally, as PEP 544 allows: the methods
below are the module's functions (``self`` stands for the module). ``tests/test_backends.py`` checks
every installed backend against it, names and parameters, and builds each ``Trainer`` to check the
attributes the training loop reads.

Arrays and tensors are typed ``Any``: each backend takes and returns its own framework's kind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np

if TYPE_CHECKING:
    from backends.common.settings import Settings
    from backends.pipeline.dataset import Dataset
    from backends.pipeline.models import Batch, Model
    from backends.training.history import History
    from backends.training.state import TrainerState


class Trainer(Protocol):
    """The two tables on one device and Adam over both: the class the chapter shows, and what the loop drives."""

    device_name: str  # "cpu", or "gpu (its name)": shown in progress, histories and summaries

    def __init__(
        self, center_weights: np.ndarray, context_weights: np.ndarray, lr: float, device: str = "auto"
    ) -> None: ...

    def step(self, batch: Batch) -> Any:
        """One Adam step on the batch; returns the batch's summed loss as a scalar left on the device."""

    def embeddings(self) -> np.ndarray:
        """The center-word table, the chapter's word vectors."""


# A backend's own Trainer class: its state functions take that class's trainers, not any backend's.
OwnTrainer = TypeVar("OwnTrainer", bound=Trainer)


class Backend(Protocol, Generic[OwnTrainer]):
    """A backend module: the framework-specific pieces of the chapter, under the same names everywhere."""

    NAME: str  # the framework's import name, a key of backends.common.frameworks.REGISTRY
    Trainer: type[OwnTrainer]

    @property
    def LazyTrainer(self) -> type[OwnTrainer]:
        """A Trainer (a subclass of the module's) whose Adam updates only the rows a batch looks up: lazy Adam,
        :mod:`backends.training.adam`."""

    def resolve_device(self, request: str = "auto") -> Any:
        """The framework's device for a request of auto, cpu or gpu; a GPU asked for but absent is an error."""

    def describe_device(self, device: Any) -> str:
        """The device as every backend names it: 'cpu', or 'gpu (its name)' (backends.training.devices)."""

    def embedding(self, weights: np.ndarray) -> Any:
        """An embedding table holding ``weights`` (one row per word, float32 or float64), callable on indices."""

    def skip_gram(self, centers: Any, contexts_negatives: Any, embed_center: Any, embed_context: Any) -> Any:
        """Scores u_o · v_c: (B, 1) centers and (B, W) context-or-noise words → (B, 1, W)."""

    def cbow(self, contexts: Any, context_mask: Any, targets: Any, embed_center: Any, embed_context: Any) -> Any:
        """Scores u_t · mean(v_c): (B, C) contexts, their (B, C) mask and (B, T) targets → (B, 1, T)."""

    def masked_mean(self, vectors: Any, mask: Any) -> Any:
        """The mean of each row's vectors where the mask is 1: (B, C, E) and (B, C) → (B, E)."""

    def masked_bce(self, scores: Any, label: Any, mask: Any) -> Any:
        """Per-example sigmoid binary cross-entropy over the unmasked entries: (B, W) → (B,)."""

    def softmax_cross_entropy(self, inputs: Any, targets: Any, mask: Any, embed_context: Any) -> Any:
        """The full softmax: (B, E) inputs scored against every row of ``embed_context``, the cross-entropy of the
        (B, T) targets averaged over the unmasked ones → (B,)."""

    def objective(self, model: Model, embed_center: Any, embed_context: Any, arrays: dict[str, Any]) -> Any:
        """A batch's summed loss, what each step minimises: ``arrays`` are the batch's tensors; a model
        ``with_full_softmax`` scores against every word (:mod:`backends.pipeline.objectives`)."""

    def batch_tensors(self, batch: Batch, device: Any, float_dtype: Any = np.float32) -> dict[str, Any]:
        """A batch's arrays as this framework's tensors on ``device``, masks and labels in ``float_dtype``."""

    def gradients(
        self, center_weights: np.ndarray, context_weights: np.ndarray, batch: Batch
    ) -> tuple[np.ndarray, np.ndarray]:
        """The framework's gradients of the batch's summed loss for both tables, in the weights' dtype."""

    def tensor(self, array: np.ndarray) -> Any:
        """A NumPy array as this framework's tensor."""

    def to_numpy(self, array: Any) -> np.ndarray:
        """This framework's tensor as a NumPy array."""

    def losses_to_numpy(self, losses: list) -> np.ndarray:
        """Many scalar losses read back from the device in one transfer."""

    def state(self, trainer: OwnTrainer) -> TrainerState:
        """The trainer's tables, Adam's moments and step as NumPy arrays (what a checkpoint holds)."""

    def load_state(self, trainer: OwnTrainer, state: TrainerState) -> None:
        """Put back what :meth:`state` returned; the trainer's next step is then the one that would have followed."""

    def train(self, data: Dataset, settings: Settings | None = None, **options: Any) -> History:
        """Train with the shared loop, :func:`backends.training.loop.fit`."""


if TYPE_CHECKING:  # the type checker (make lint) holds each backend module to the contract, as tests do at run time
    from backends import jax, mxnet, numpy, tensorflow, torch

    _jax: Backend[jax.Trainer] = jax
    _mxnet: Backend[mxnet.Trainer] = mxnet
    _numpy: Backend[numpy.Trainer] = numpy
    _tensorflow: Backend[tensorflow.Trainer] = tensorflow
    _torch: Backend[torch.Trainer] = torch
