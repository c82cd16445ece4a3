"""Property-based tests: on any small corpus, every invariant of the pipeline holds or a clear error is raised."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backends import ptb
from backends.errors import W2VError

WORDS = ["a", "b", "c", "d", "e", "<unk>"]
sentence = st.lists(st.sampled_from(WORDS), min_size=0, max_size=12)
corpora = st.lists(sentence, min_size=0, max_size=15).map(lambda lines: "\n".join(" ".join(s) for s in lines))
runs = dict(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def build(text: str, min_count: int, model: str, max_window: int, num_noise: int, seed: int):
    corpus = ptb.corpus_from_text(text, min_count=min_count)
    return ptb.Word2VecData(corpus, model=model, max_window=max_window, num_noise=num_noise, subsample_t=1.0, seed=seed)


@settings(**runs)
@given(corpora, st.integers(1, 3), st.sampled_from(ptb.MODELS), st.integers(1, 3), st.integers(1, 3), st.integers(0, 99))
def test_invariants_hold_or_a_clear_error(text, min_count, model, max_window, num_noise, seed):
    try:
        data = build(text, min_count, model, max_window, num_noise, seed)
    except W2VError as error:
        assert any(m in str(error) for m in ("corpus is empty", "empty vocabulary", "too few to draw noise words"))
        return
    vocab = data.vocab
    assert vocab.tokens[0] == "<unk>" and (vocab.counts[1:] >= min_count).all()
    # Centers come only from sentences that kept two or more known words.
    expected_centers = sum(
        n for n in (sum(1 for w in line.split() if w in vocab) for line in text.splitlines()) if n >= 2
    )
    assert data.num_centers == expected_centers  # subsample_t = 1 keeps every known word here
    assert (data.num_contexts >= 1).all() and (data.num_contexts <= 2 * max_window).all()
    batches = list(data.batches(4, epoch=seed % 3))
    assert sum(b.size for b in batches) == data.num_centers
    for batch in batches:
        arrays = batch.arrays()
        assert len({a.shape[0] for a in arrays.values()}) == 1
        assert ((batch.label == 0) | (batch.label == 1)).all() and (batch.label <= batch.mask).all()
        if model == "skipgram":
            assert np.array_equal(batch.mask.sum(1), batch.label.sum(1) * (1 + num_noise))
            assert (batch.contexts_negatives[batch.mask == 0] == 0).all()
            assert (batch.contexts_negatives[batch.mask == 1] > 0).all()
        else:
            assert (batch.targets[batch.mask == 1] > 0).all() and (batch.context_mask.sum(1) >= (batch.mask[:, 0] > 0)).all()


@settings(**runs)
@given(corpora, st.integers(0, 99))
def test_noise_never_repeats_a_context_word_when_it_can_avoid_it(text, seed):
    try:
        data = build(text, 1, "skipgram", 2, 2, seed)
    except W2VError:
        return
    if len(data.vocab) <= 2 * data.max_window + 1:
        return  # with so few words every word may be a context word, and no noise word could avoid them all
    for row, n in zip(data.contexts_negatives, data.num_contexts):
        assert not set(row[n : n * 3]) & set(row[:n])


def test_one_word_vocabulary_and_repeated_words():
    # Only "a" is known: a noise word must differ from "a", which is impossible; refuse, do not hang.
    corpus = ptb.corpus_from_text("a a a\nb\na a", min_count=2)
    assert corpus.vocab.tokens == ("<unk>", "a")
    for model in ptb.MODELS:
        with pytest.raises(W2VError, match="only 1 word.*too few to draw noise words.*lower min count"):
            ptb.Word2VecData(corpus, model=model, subsample_t=1.0, seed=0)
