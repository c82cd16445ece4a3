"""The two models as types: skip-gram (the chapter's) and CBOW. Each owns everything that differs between them.

A model decides three things, and nothing outside this module asks which model it is:

- the **batch layout**: which output words each center's row holds (:meth:`Model.outputs`, drawn once per
  draw) and how a batch is cut from them (:meth:`Model.batch`);
- the **forward function** a backend runs on a batch's tensors (:meth:`Model.scores`: the backend's
  ``skip_gram`` or ``cbow``), and the per-example losses made from it (:meth:`Model.losses`: the backend's
  masked binary cross-entropy, or for a model ``with_full_softmax`` the input vectors of
  :meth:`Model.input_vectors` against every word, :mod:`backends.pipeline.objectives`);
- the **oracle's view** of a batch (:meth:`Model.oracle_view`): both models score output words against one
  input vector, the center's in skip-gram and the mean of the contexts' in CBOW, so the NumPy oracle's one
  hand-derived gradient serves both once it knows which words are inputs and which are outputs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from backends.pipeline.draw import Draw

if TYPE_CHECKING:
    from backends.pipeline.noise import NoiseSampler


class Batch:
    """What every kind of batch has: its arrays by name, in the order ``NAMES`` gives, ``size``, the
    number of real rows (a padded last batch ends in rows whose mask is all zero, which contribute exactly
    zero to the loss and its gradient), and ``full_softmax``: whether its output words are scored against every
    word (:mod:`backends.pipeline.objectives`) rather than against the words its rows hold."""

    NAMES: ClassVar[tuple[str, ...]] = ()
    laid_out_by: ClassVar[Model]  # the model whose layout this is
    mask: np.ndarray  # (B, W): 1 where an output entry is real
    label: np.ndarray  # (B, W): the entries' labels
    size: int
    full_softmax: bool

    def replace(self, **changes: Any) -> Batch:
        """A batch of the same kind with ``changes`` (arrays by name, ``full_softmax``): each kind is a frozen
        dataclass."""
        return dataclasses.replace(self, **changes)  # type: ignore[type-var]

    @property
    def model(self) -> Model:
        """The model a backend trains this batch with: the one that laid it out, with the full softmax's forward
        function where the batch is the full softmax's."""
        return self.laid_out_by.with_full_softmax if self.full_softmax else self.laid_out_by

    def arrays(self, float_dtype: np.dtype | type = np.float32) -> dict[str, np.ndarray]:
        """The arrays by name, for a backend to convert to its tensors: indices as they are, masks and
        labels in ``float_dtype`` (the tables' dtype: float64 in the gradient checks)."""
        named = {name: getattr(self, name) for name in self.NAMES}
        return {name: a.astype(float_dtype, copy=False) if a.dtype.kind == "f" else a for name, a in named.items()}


@dataclass(frozen=True)
class SkipGramBatch(Batch):
    """One skip-gram minibatch: each center scores its row of context words, noise words and padding."""

    centers: np.ndarray  # (B, 1) int32
    contexts_negatives: np.ndarray  # (B, W) int32
    mask: np.ndarray  # (B, W) float32, 1 = a real context or noise word
    label: np.ndarray  # (B, W) float32, 1 = a context word
    size: int
    full_softmax: bool = False

    NAMES = ("centers", "contexts_negatives", "mask", "label")


@dataclass(frozen=True)
class CbowBatch(Batch):
    """One CBOW minibatch: the context words predict their center against K noise words.

    Each row's targets are ``center, noise words``; its label is 1 for the center alone. The context
    mask marks the real context words, whose vectors are averaged.
    """

    contexts: np.ndarray  # (B, 2 * max_window) int32
    context_mask: np.ndarray  # (B, 2 * max_window) float32
    targets: np.ndarray  # (B, 1 + K) int32
    mask: np.ndarray  # (B, 1 + K) float32, all ones on real rows
    label: np.ndarray  # (B, 1 + K) float32, 1 for the center
    size: int
    full_softmax: bool = False

    NAMES = ("contexts", "context_mask", "targets", "mask", "label")


class Model:
    """What a model decides; see the module docstring. Subclasses are stateless: two instances each, the one
    negative sampling and hierarchical softmax train with, and its ``with_full_softmax``, whose backends score its
    input vector against every word (:mod:`backends.pipeline.objectives`)."""

    name: ClassVar[str]  # as the settings name it
    with_full_softmax: Model

    def __init__(self, full_softmax: bool = False) -> None:
        self.full_softmax = full_softmax  # whether a backend's objective is the softmax over every word

    # The batch arrays whose words are looked up in the center table and in the context table: the rows a
    # step's gradient can touch, which lazy Adam updates (backends.training.adam).
    lookups: ClassVar[tuple[str, str]]
    gensim_sg: ClassVar[int]  # gensim's Word2Vec(sg=...) for the same model, for the peer baseline

    def width(self, max_window: int, num_noise: int) -> int:
        """How many words each example scores: the batches' last dimension."""
        raise NotImplementedError

    def outputs(
        self,
        contexts: np.ndarray,
        num_contexts: np.ndarray,
        centers: np.ndarray,
        num_noise: int,
        noise: NoiseSampler,
        rng: np.random.Generator,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each center's row of output words, drawn once per draw: ``(table, row_of)``, center i's row
        being ``table[row_of[i]]``."""
        raise NotImplementedError

    def batch(self, draw: Draw, rows: np.ndarray, size: int) -> Batch:
        """The batch of the centers ``rows`` (-1: a padding row) of ``draw``; ``size`` of them are real."""
        raise NotImplementedError

    def scores(self, backend: Any, embed_center: Any, embed_context: Any, arrays: dict[str, Any]) -> Any:
        """A batch's scores, (B, 1, W), with ``backend``'s forward function; ``arrays`` are its tensors."""
        raise NotImplementedError

    def losses(self, backend: Any, embed_center: Any, embed_context: Any, arrays: dict[str, Any]) -> Any:
        """Each example's loss, (B,), with ``backend``'s operations: the masked binary cross-entropy of the scores
        of the entries its row holds (negative sampling; hierarchical softmax, whose entries are inner nodes), or
        with the full softmax the cross-entropy of its output words against every word."""
        if self.full_softmax:
            inputs = self.input_vectors(backend, embed_center, arrays)
            return backend.softmax_cross_entropy(inputs, arrays[self.lookups[1]], arrays["mask"], embed_context)
        scores = self.scores(backend, embed_center, embed_context, arrays)[:, 0]  # (B, 1, W) → (B, W)
        return backend.masked_bce(scores, arrays["label"], arrays["mask"])

    def input_vectors(self, backend: Any, embed_center: Any, arrays: dict[str, Any]) -> Any:
        """Each example's input vector, (B, E), with ``backend``'s operations: what the full softmax scores against
        every word."""
        raise NotImplementedError

    def oracle_view(self, arrays: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(inputs, input_mask, outputs)``: the words whose mean vector is the input, their mask, and the
        words scored against it."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<model {self.name}{' with the full softmax' if self.full_softmax else ''}>"


def _real_rows(draw: Draw, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of a batch's rows are real centers (padding rows are -1), as a (B, 1) mask, and how many context
    words each has (0 for padding), as (B, 1)."""
    real = (rows >= 0)[:, None]
    return real, np.where(real[:, 0], draw.num_contexts[rows], 0)[:, None]


class SkipGram(Model):
    """A center word predicts each of its context words, against K noise words per context word."""

    name, gensim_sg = "skipgram", 1

    def width(self, max_window: int, num_noise: int) -> int:
        return 2 * max_window * (1 + num_noise)

    def outputs(self, contexts, num_contexts, centers, num_noise, noise, rng):
        """Rows of ``contexts, K noise words per context, zeros`` at the fixed width.

        Rows are handled in groups of equal context count n, so that each group is one dense
        (rows, n * K) draw that avoids exactly its (rows, n) contexts. The table keeps the rows in
        that group order, each group one contiguous block (written whole, not scattered row by row to its
        centers' places); ``row_of`` finds a center's row.
        """
        counts = num_contexts.astype(np.min_scalar_type(contexts.shape[1]))  # small ints: NumPy radix-sorts them
        order = np.argsort(counts, kind="stable")
        group_ends = np.cumsum(np.bincount(num_contexts, minlength=contexts.shape[1] + 1))
        # The table is the pipeline's largest array, and the first writes into fresh memory cost more than the
        # rest of its filling: uint16 where the vocabulary allows (half of int32's memory), and np.full, whose
        # memory NumPy asks the kernel to back with huge pages (np.zeros' calloc'd memory it does not).
        dtype = np.uint16 if noise.vocab_size <= np.iinfo(np.uint16).max + 1 else np.int32
        table = np.full((contexts.shape[0], contexts.shape[1] * (1 + num_noise)), 0, dtype=dtype)
        for n in range(1, contexts.shape[1] + 1):
            begin, end = group_ends[n - 1], group_ends[n]
            if end > begin:
                own = np.take(contexts, order[begin:end], axis=0)[:, :n]  # take: quicker than [rows, :n]
                table[begin:end, :n] = own
                table[begin:end, n : n * (1 + num_noise)] = noise.avoiding(own, n * num_noise, rng)
        row_of = np.empty_like(order)
        row_of[order] = np.arange(order.size)
        return table, row_of

    def batch(self, draw, rows, size):
        real, n = _real_rows(draw, rows)
        columns = np.arange(draw.outputs.shape[1])[None, :]
        return SkipGramBatch(
            centers=np.where(real, draw.centers[rows][:, None], 0).astype(np.int32),
            contexts_negatives=np.where(real, draw.outputs[draw.row_of[rows]], 0).astype(np.int32),
            mask=(columns < n * (1 + draw.num_noise)).astype(np.float32),
            label=(columns < n).astype(np.float32),
            size=size,
        )

    lookups = ("centers", "contexts_negatives")

    def scores(self, backend, embed_center, embed_context, arrays):
        return backend.skip_gram(arrays["centers"], arrays["contexts_negatives"], embed_center, embed_context)

    def input_vectors(self, backend, embed_center, arrays):
        return embed_center(arrays["centers"])[:, 0]

    def oracle_view(self, arrays):
        centers = arrays["centers"]
        return centers, np.ones(centers.shape, dtype=arrays["mask"].dtype), arrays["contexts_negatives"]


class Cbow(Model):
    """The mean of a center's context words predicts the center, against K noise words."""

    name, gensim_sg = "cbow", 0

    def width(self, max_window: int, num_noise: int) -> int:
        return 1 + num_noise

    def outputs(self, contexts, num_contexts, centers, num_noise, noise, rng):
        """K noise words per center, none of them the center itself."""
        return noise.avoiding(centers[:, None], num_noise, rng), np.arange(centers.size)

    def batch(self, draw, rows, size):
        real, n = _real_rows(draw, rows)
        targets = np.concatenate([draw.centers[rows][:, None], draw.outputs[draw.row_of[rows]]], axis=1)
        label = np.zeros(targets.shape, dtype=np.float32)
        label[:, 0] = 1
        return CbowBatch(
            contexts=np.where(real, draw.contexts[rows], 0),
            context_mask=(np.arange(draw.contexts.shape[1])[None, :] < n).astype(np.float32),
            targets=np.where(real, targets, 0).astype(np.int32),
            mask=np.broadcast_to(real, targets.shape).astype(np.float32),
            label=label * real,
            size=size,
        )

    lookups = ("contexts", "targets")

    def scores(self, backend, embed_center, embed_context, arrays):
        return backend.cbow(arrays["contexts"], arrays["context_mask"], arrays["targets"], embed_center, embed_context)

    def input_vectors(self, backend, embed_center, arrays):
        return backend.masked_mean(embed_center(arrays["contexts"]), arrays["context_mask"])

    def oracle_view(self, arrays):
        return arrays["contexts"], arrays["context_mask"], arrays["targets"]


SKIP_GRAM, CBOW = SkipGram(), Cbow()
SKIP_GRAM.with_full_softmax, CBOW.with_full_softmax = SkipGram(full_softmax=True), Cbow(full_softmax=True)
MODELS: dict[str, Model] = {model.name: model for model in (SKIP_GRAM, CBOW)}
SkipGramBatch.laid_out_by, CbowBatch.laid_out_by = SKIP_GRAM, CBOW
