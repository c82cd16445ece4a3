"""The peer baseline: gensim's Word2Vec, the classic trainer, on exactly our subsampled PTB.

gensim trains with plain SGD and a learning rate that decays linearly, one word pair at a time in
compiled code, where the chapter trains with Adam on minibatches. Giving it the same subsampled
sentences (and telling it not to subsample again), the same window, number of noise words, noise
exponent, embedding size and epochs leaves the training method as the difference to look at.
"""

from __future__ import annotations

import os
import time

from backends.common.errors import W2VError
from backends.common.frameworks import importing
from backends.common.resources import check_memory
from backends.common.settings import DEFAULTS, NOISE_POWERS
from backends.pipeline.dataset import Dataset
from backends.training.history import History

# gensim's worker threads gain nothing beyond the cores (it is compiled code that holds no lock), and each
# holds its own buffers and jobs in a queue: four times the cores leaves room to measure that, and a million is a
# typo that would fail to start its threads or hang.
MAX_WORKERS = 4 * (os.cpu_count() or 1)
# Bytes a worker holds besides the tables, about: its two queued jobs of up to 10,000 words, as Python objects.
WORKER_BYTES = 2 * 10_000 * 100


def check_workers(workers: int) -> None:
    """Refuse a number of gensim worker threads outside 1 to :data:`MAX_WORKERS`, before any work."""
    if not 1 <= workers <= MAX_WORKERS:
        raise W2VError(
            f"--workers {workers} is out of range: give 1 to {MAX_WORKERS} (four times this machine's "
            f"{os.cpu_count() or 1} cores; gensim's threads gain nothing beyond the cores)."
        )


def gensim_memory(vocab_size: int, embed_size: int, workers: int) -> int:
    """Bytes gensim's training holds at most, about: its two float32 tables (the vectors and the noise words'
    weights), the copy of the vectors a run keeps, and each worker's jobs."""
    return 3 * vocab_size * embed_size * 4 + workers * WORKER_BYTES


def train_gensim(
    data: Dataset, *, epochs: int = DEFAULTS.epochs, embed_size: int = DEFAULTS.embed_size, workers: int = 2
) -> History:
    """Train gensim's Word2Vec on ``data``'s subsampled sentences with the chapter's settings."""
    with importing("gensim"):
        from gensim.models import Word2Vec
    if data.settings.objective == "full_softmax":
        raise W2VError(
            "gensim's Word2Vec trains with negative sampling or hierarchical softmax, and has no full softmax: "
            "compare gensim with --objective negative_sampling or hierarchical_softmax."
        )
    if epochs < 1 or embed_size < 1:
        raise W2VError(f"epochs and embedding size must be at least 1 (got {epochs}, {embed_size}).")
    check_workers(workers)
    check_memory(
        gensim_memory(len(data.vocab), embed_size, workers),
        f"gensim's training with embedding size {embed_size} and {workers} workers",
        "lower the embedding size (--embed-size) or the number of workers (--workers).",
    )
    sentences, ours = data.subsampled_sentences(), data.settings
    settings = {
        **ours.replace(epochs=epochs, embed_size=embed_size).to_dict(),
        "workers": workers,
        "optimizer": "SGD, lr 0.025 → 0.0001",
    }
    model = Word2Vec(
        vector_size=embed_size,
        window=ours.max_window,
        min_count=1,
        sample=0,
        sg=data.model.gensim_sg,
        hs=int(ours.objective == "hierarchical_softmax"),  # gensim builds its Huffman tree from the sentences' counts
        negative=ours.noise_words,
        ns_exponent=NOISE_POWERS[ours.noise],
        workers=workers,
        seed=ours.seed,
    )
    model.build_vocab(sentences)
    start = time.perf_counter()
    model.train(sentences, total_examples=len(sentences), epochs=epochs)
    seconds = time.perf_counter() - start
    centers = data.num_centers * epochs
    return History(
        framework="gensim",
        device="cpu",
        settings=settings,
        centers=centers,
        seconds=seconds,
        centers_per_sec=centers / seconds,
        words=tuple(model.wv.index_to_key),
        embeddings=model.wv.vectors.copy(),
    )
