"""The three objectives of the book's section 15.2, as batch layouts: what each center's output words are scored
with, and against which table.

- **Negative sampling** (the chapter's): each context word against K noise words, a sigmoid binary cross-entropy
  over the row ``contexts, noise words, padding``, scored against the context table (one row per word).
- **Hierarchical softmax** (Mikolov et al. 2013b): each context word's path through a Huffman tree
  (:mod:`backends.pipeline.huffman`), the branch taken at each inner node as the label. The row is the path's inner
  nodes, so the same ``skip_gram`` (or ``cbow``) and the same masked binary cross-entropy train it, with a table
  of the V - 1 inner nodes' vectors in place of the context table. Nothing in a backend knows it is there.
- **The full softmax**: each context word against every word of the vocabulary, the cross-entropy of a softmax
  over all V scores. The rows hold the context words alone (no noise words); the backends score the input vector
  against the whole context table (``softmax_cross_entropy``), which is why a step costs O(V).

The model (skip-gram, CBOW) lays out its output words with ``Settings.noise_words`` noise words (none for the two
softmaxes); :func:`finish` then turns a model's batch into the objective's.
"""

from __future__ import annotations

import numpy as np

from backends.common.settings import Settings
from backends.pipeline.huffman import HuffmanTree
from backends.pipeline.models import Batch, Model


def output_rows(settings: Settings, vocab_size: int) -> int:
    """Rows of the table the output words are looked up in: a vector per word, or per inner node of the tree."""
    return vocab_size - 1 if settings.objective == "hierarchical_softmax" else vocab_size


def width(settings: Settings, model: Model, tree: HuffmanTree | None) -> int:
    """How many entries each example's row holds: the model's width, each word a path with hierarchical softmax."""
    words = model.width(settings.max_window, settings.noise_words)
    return words * tree.nodes.shape[1] if tree is not None else words


def finish(batch: Batch, tree: HuffmanTree | None, full_softmax: bool) -> Batch:
    """``batch`` as its objective trains on it: each output word replaced by its path in ``tree`` (hierarchical
    softmax), marked for the softmax over every word (``full_softmax``), or as it is (negative sampling)."""
    if tree is not None:
        return along_paths(batch, tree)
    return batch.replace(full_softmax=True) if full_softmax else batch


def along_paths(batch: Batch, tree: HuffmanTree) -> Batch:
    """A batch of output words (all labelled 1, no noise words) as hierarchical softmax's batch of the same kind:
    each word becomes the inner nodes on its path, labelled with the branch taken, masked past its code length
    (and wherever the word itself was padding). A (B, T) row becomes (B, T * depth)."""
    name = batch.model.lookups[1]
    words = getattr(batch, name)  # (B, T)
    depth = tree.nodes.shape[1]
    real = np.arange(depth)[None, None, :] < tree.lengths[words][:, :, None]  # (B, T, depth)
    mask = batch.mask[:, :, None] * real
    rows = words.shape[0]
    return batch.replace(
        **{name: tree.nodes[words].reshape(rows, -1)},
        mask=mask.reshape(rows, -1).astype(np.float32),
        label=(tree.branches[words] * mask).reshape(rows, -1).astype(np.float32),
    )
