"""Property-based tests: on any small corpus, every invariant of the pipeline holds or a clear error is raised."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends.common.errors import W2VError
from backends.common.settings import MODELS
from backends.pipeline import CbowBatch, SkipGramBatch, corpus_from_text, make_dataset

WORDS = ["a", "b", "c", "d", "e", "<unk>"]
sentence = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12)
corpora = st.lists(sentence, min_size=0, max_size=15).map(lambda lines: "\n".join(" ".join(s) for s in lines))
runs = dict(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(text: str, min_count: int, model: str, max_window: int, num_noise: int, seed: int):
    corpus = corpus_from_text(text, min_count=min_count)
    return make_dataset(corpus, model=model, max_window=max_window, num_noise=num_noise, subsample_t=1.0, seed=seed)


def skip_gram_rows_hold(batch: SkipGramBatch, num_noise: int) -> None:
    assert np.array_equal(batch.mask.sum(1), batch.label.sum(1) * (1 + num_noise))
    assert (batch.contexts_negatives[batch.mask == 0] == 0).all()
    assert (batch.contexts_negatives[batch.mask == 1] > 0).all()


def cbow_rows_hold(batch: CbowBatch, num_noise: int) -> None:
    assert (batch.targets[batch.mask == 1] > 0).all() and (batch.context_mask.sum(1) >= (batch.mask[:, 0] > 0)).all()


ROWS_HOLD = {SkipGramBatch: skip_gram_rows_hold, CbowBatch: cbow_rows_hold}


def centers_expected(text: str, vocab) -> int:
    """Centers come only from sentences that kept two or more known words: their known words."""
    return sum(n for n in (sum(1 for w in line.split() if w in vocab) for line in text.splitlines()) if n >= 2)


@settings(**runs)
@given(corpora, st.integers(1, 3), st.sampled_from(MODELS), st.integers(1, 3), st.integers(1, 3), st.integers(0, 99))
def test_invariants_hold_or_a_clear_error(text, min_count, model, max_window, num_noise, seed):
    try:
        data = build(text, min_count, model, max_window, num_noise, seed)
    except W2VError as error:
        if "the corpus gives no training example" in str(error):  # refused exactly when no line has two known words
            assert centers_expected(text, corpus_from_text(text, min_count=min_count).vocab) == 0
            return
        assert any(m in str(error) for m in ("corpus is empty", "empty vocabulary", "too few to draw noise words"))
        return
    vocab = data.vocab
    assert vocab.tokens[0] == "<unk>" and (vocab.counts[1:] >= min_count).all()
    assert data.num_centers == centers_expected(text, vocab) > 0  # subsample_t = 1 keeps every known word here
    assert (data.first.num_contexts >= 1).all() and (data.first.num_contexts <= 2 * max_window).all()
    batches = list(data.batches(4, epoch=seed % 3))
    assert sum(b.size for b in batches) == data.num_centers
    for batch in batches:
        arrays = batch.arrays()
        assert len({a.shape[0] for a in arrays.values()}) == 1
        assert ((batch.label == 0) | (batch.label == 1)).all() and (batch.label <= batch.mask).all()
        ROWS_HOLD[type(batch)](batch, num_noise)


@settings(**runs)
@given(corpora, st.integers(0, 99))
def test_noise_never_repeats_a_context_word_when_it_can_avoid_it(text, seed):
    try:
        data = build(text, 1, "skipgram", 2, 2, seed)
    except W2VError:
        return
    if len(data.vocab) <= 2 * data.settings.max_window + 1:
        return  # with so few words every word may be a context word, and no noise word could avoid them all
    for row, n in zip(data.first.center_rows(), data.first.num_contexts):
        assert not set(row[n : n * 3]) & set(row[:n])


def test_one_word_vocabulary_and_repeated_words():
    # Only "a" is known: a noise word must differ from "a", which is impossible; refuse, do not hang.
    corpus = corpus_from_text("a a a\nb\na a", min_count=2)
    assert corpus.vocab.tokens == ("<unk>", "a")
    for model in MODELS:
        with pytest.raises(W2VError, match="only 1 word.*too few to draw noise words.*more distinct words"):
            make_dataset(corpus, model=model, min_count=2, subsample_t=1.0, seed=0)
