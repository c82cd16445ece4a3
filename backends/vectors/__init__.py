"""Using trained word vectors: nearest neighbours, the word2vec text format, and WordSim-353.

Framework-neutral: both modules work on the NumPy matrix every backend exports.
"""

from backends.vectors.embeddings import load_word2vec, save_word2vec, similar
from backends.vectors.evaluation import describe, evaluate

__all__ = ["describe", "evaluate", "load_word2vec", "save_word2vec", "similar"]
