"""The peer baseline: gensim's Word2Vec, the classic trainer, on exactly our subsampled PTB.

gensim trains with plain SGD and a learning rate that decays linearly, one word pair at a time in
compiled code, where the chapter trains with Adam on minibatches. Giving it the same subsampled
sentences (and telling it not to subsample again), the same window, number of noise words, noise
exponent, embedding size and epochs leaves the training method as the difference to look at.
"""

from __future__ import annotations

import time

from backends.common.errors import W2VError
from backends.common.frameworks import importing
from backends.common.settings import DEFAULTS, NOISE_POWERS
from backends.pipeline.dataset import Dataset
from backends.training.history import History


def train_gensim(data: Dataset, *, epochs: int = DEFAULTS.epochs, embed_size: int = DEFAULTS.embed_size,
                 workers: int = 2) -> History:
    """Train gensim's Word2Vec on ``data``'s subsampled sentences with the chapter's settings."""
    with importing("gensim"):
        from gensim.models import Word2Vec
    if epochs < 1 or embed_size < 1 or workers < 1:
        raise W2VError(f"epochs, embedding size and workers must be at least 1 (got {epochs}, {embed_size}, {workers}).")
    sentences, ours = data.subsampled_sentences(), data.settings
    settings = {**ours.replace(epochs=epochs, embed_size=embed_size).to_dict(), "workers": workers,
                "optimizer": "SGD, lr 0.025 → 0.0001"}
    model = Word2Vec(
        vector_size=embed_size, window=ours.max_window, min_count=1, sample=0, sg=data.model.gensim_sg, hs=0,
        negative=ours.num_noise, ns_exponent=NOISE_POWERS[ours.noise], workers=workers, seed=ours.seed,
    )
    model.build_vocab(sentences)
    start = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    seconds = time.perf_counter() - start
    centers = data.num_centers * epochs
    return History(
        framework="gensim", device="cpu", settings=settings, centers=centers, seconds=seconds,
        centers_per_sec=centers / seconds, words=tuple(model.wv.index_to_key), embeddings=model.wv.vectors.copy(),
    )
