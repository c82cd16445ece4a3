"""Hierarchical softmax's tree (the book's section 15.2; Mikolov et al. 2013b): a Huffman tree over the vocabulary.

Every word is a leaf and the V - 1 inner nodes each have a vector of their own. The probability of a context
word w given a center c is the product, over the inner nodes n on the path from the root to w's leaf, of
sigma(u_n . v_c) where the path goes to n's second child and sigma(-u_n . v_c) where it goes to its first:
a binary cross-entropy with the branch as the label, on rows laid out as the chapter's (the path's nodes as the
entries, the branches as the labels, padding masked). At every inner node the two branches' probabilities add
up to one, so the probabilities of all V words do too, for any vectors.

Huffman's construction merges the two least frequent subtrees until one is left, so a word's path is about
-log2 of its frequency long: frequent words are reached in a few steps, and a step costs O(log V) on average
where the full softmax costs O(V).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np

from backends.common.errors import W2VError


@dataclass(frozen=True)
class HuffmanTree:
    """Each word's path from the root, as rows padded to the deepest word's length.

    Inner nodes are numbered 0 .. V - 2 in the order they were made, so the root is V - 2 (the last)."""

    nodes: np.ndarray  # (V, depth) int32: the inner nodes on each word's path, from the root; 0 as padding
    branches: np.ndarray  # (V, depth) int8: 1 where the path goes on to the node's second child, else 0
    lengths: np.ndarray  # (V,) int32: each word's code length, how many of its entries are real

    @property
    def num_inner(self) -> int:
        return int(self.lengths.size) - 1

    def code(self, word: int) -> str:
        """The word's branches from the root as a string of 0s and 1s: its Huffman code."""
        return "".join(str(b) for b in self.branches[word, : self.lengths[word]])


def huffman_tree(counts: np.ndarray) -> HuffmanTree:
    """The Huffman tree of ``counts`` (one per word). Ties are broken by the order subtrees were made in
    (words by index first), so the same counts always give the same tree."""
    size = int(counts.size)
    if size < 2:
        raise W2VError(f"a Huffman tree needs at least 2 words, got {size}: index a corpus with more words.")
    heap = [(int(count), node) for node, count in enumerate(counts)]  # leaves are nodes 0 .. V-1
    heapq.heapify(heap)
    parent = np.zeros(2 * size - 1, dtype=np.int64)
    second = np.zeros(2 * size - 1, dtype=np.int8)  # 1: the node is its parent's second child
    for node in range(size, 2 * size - 1):  # inner node i is node V + i
        (first_count, first), (second_count, other) = heapq.heappop(heap), heapq.heappop(heap)
        parent[first], parent[other], second[other] = node, node, 1
        heapq.heappush(heap, (first_count + second_count, node))
    root = 2 * size - 2
    depth = np.zeros(2 * size - 1, dtype=np.int32)
    for node in range(root - 1, -1, -1):  # parents are made after their children: walk from the root down
        depth[node] = depth[parent[node]] + 1
    lengths = depth[:size]
    width = int(lengths.max())
    nodes = np.zeros((size, width), dtype=np.int32)
    branches = np.zeros((size, width), dtype=np.int8)
    current = np.arange(size)
    for step in range(width):  # from each leaf up: the step-th ancestor fills position length - 1 - step
        below = lengths > step
        words, child = np.flatnonzero(below), current[below]
        column = lengths[words] - 1 - step
        nodes[words, column] = parent[child] - size
        branches[words, column] = second[child]
        current[below] = parent[child]
    return HuffmanTree(nodes, branches, lengths)
