"""Word-similarity evaluation on WordSim-353: do the vectors rank word pairs as people do?

For every pair whose two words are both in the vocabulary, the cosine similarity of their vectors is
compared with the mean human rating; the score is Spearman's rank correlation between the two. PTB's
vocabulary (6,719 words) misses many WordSim words, so the coverage is always reported beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from backends.common.errors import W2VError
from backends.common.files import readable_file
from backends.common.shipped import DATA_DIR, restore_hint

WORDSIM = DATA_DIR / "wordsim353.tsv"


def load_wordsim(path: str | Path | None = None) -> list[tuple[str, str, float]]:
    """The (word, word, human score) triples of the shipped WordSim-353 file, lower-cased."""
    path = readable_file(WORDSIM if path is None else path, "the WordSim-353 file", restore_hint("wordsim353.tsv"))
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise W2VError(f"{path} is not UTF-8 text (byte {exc.start}); give a 'word<TAB>word<TAB>score' file.") from None
    pairs = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        try:
            pairs.append((parts[0].lower(), parts[1].lower(), float(parts[2])))
        except (IndexError, ValueError):
            raise W2VError(f"{path} line {number} is malformed: expected 'word<TAB>word<TAB>score'.") from None
    return pairs


def evaluate(words: Sequence[str], matrix: np.ndarray, pairs: list[tuple[str, str, float]] | None = None) -> dict:
    """Spearman correlation between cosine similarity and human scores, over the in-vocabulary pairs."""
    from scipy.stats import spearmanr

    pairs = load_wordsim() if pairs is None else pairs
    index = {w: i for i, w in enumerate(words) if w != "<unk>"}
    used = [(index[a], index[b], score) for a, b, score in pairs if a in index and b in index]
    result = {"pairs": len(used), "pairs_total": len(pairs), "oov_ratio": 1 - len(used) / max(len(pairs), 1)}
    if len(used) < 3:
        return {**result, "spearman": float("nan")}
    first, second, human = (np.array(column) for column in zip(*used))
    vectors = np.asarray(matrix, dtype=np.float64)
    vectors = vectors / (np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12)
    cosine = np.einsum("pe,pe->p", vectors[first], vectors[second])
    return {**result, "spearman": float(spearmanr(cosine, human).correlation)}


def describe(result: dict) -> str:
    """One line for people: the score, and how many pairs it rests on."""
    return (
        f"WordSim-353 Spearman ρ = {result['spearman']:.3f} over {result['pairs']} of {result['pairs_total']} "
        f"pairs ({result['oov_ratio']:.0%} have a word outside the vocabulary)"
    )
