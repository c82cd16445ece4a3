"""Hierarchical softmax's Huffman tree: known codes, prefix-free, frequent words shorter, probabilities summing to 1."""

import numpy as np
import pytest

from backends.common.errors import W2VError
from backends.pipeline.huffman import huffman_tree


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def test_the_textbook_example_gets_its_known_code_lengths():
    # Cormen et al., Introduction to Algorithms, 16.3: a:45 b:13 c:12 d:16 e:9 f:5 give codes of length
    # 1, 3, 3, 3, 4, 4 (no ties, so every Huffman tree of these counts has these lengths).
    tree = huffman_tree(np.array([45, 13, 12, 16, 9, 5]))
    assert tree.lengths.tolist() == [1, 3, 3, 3, 4, 4]
    assert tree.num_inner == 5
    assert tree.nodes[:, 0].tolist() == [4] * 6  # every path starts at the root, the last inner node made
    assert [tree.code(w) for w in range(6)] == ["0", "101", "100", "111", "1101", "1100"]


@pytest.mark.parametrize("seed", range(5))
def test_codes_are_prefix_free_complete_and_shorter_for_frequent_words(seed):
    rng = np.random.default_rng(seed)
    counts = rng.zipf(1.3, size=300) % 10_000
    tree = huffman_tree(counts)
    codes = [tree.code(w) for w in range(counts.size)]
    assert len(set(codes)) == counts.size
    ordered = sorted(codes)
    assert not any(b.startswith(a) for a, b in zip(ordered, ordered[1:]))  # a prefix would sort just before
    assert np.sum(2.0**-tree.lengths) == pytest.approx(1.0)  # Kraft: a full binary tree, no code wasted
    more, fewer = np.nonzero(counts[:, None] > counts[None, :])
    assert np.all(tree.lengths[more] <= tree.lengths[fewer])
    weighted = (counts * tree.lengths).sum()
    assert weighted <= (counts * np.ceil(np.log2(counts.size))).sum()  # no worse than a balanced tree


def test_the_words_probabilities_sum_to_one_for_any_vectors():
    rng = np.random.default_rng(0)
    tree = huffman_tree(np.array([0, 7, 3, 3, 1, 20, 2]))  # <unk>'s count of 0 included
    inner, center = rng.normal(size=(tree.num_inner, 4)), rng.normal(size=4)
    scores = inner[tree.nodes] @ center  # (V, depth)
    signs = np.where(tree.branches == 1, 1.0, -1.0)
    mask = np.arange(tree.nodes.shape[1])[None, :] < tree.lengths[:, None]
    probabilities = np.where(mask, sigmoid(signs * scores), 1.0).prod(axis=1)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(tree.nodes[~mask] == 0) and np.all(tree.branches[~mask] == 0)


def test_ties_are_broken_by_index_so_equal_counts_give_the_binary_numbers():
    # Eight equal counts: words 0 and 1 merge first, then 2 and 3, ..., then those pairs in the order they were
    # made, so word w's code is w written in three binary digits.
    tree = huffman_tree(np.ones(8, dtype=int))
    assert [tree.code(w) for w in range(8)] == [format(w, "03b") for w in range(8)]
    assert tree.nodes[:, 1].tolist() == [4, 4, 4, 4, 5, 5, 5, 5]  # the root's two children, made 5th and 6th


def test_fewer_than_two_words_are_refused_with_the_fix():
    with pytest.raises(W2VError, match="at least 2 words, got 1: index a corpus with more words"):
        huffman_tree(np.array([5]))
