"""The NumPy pipeline: the chapter's statistics, its invariants, determinism and its errors."""

import hashlib
import zipfile

import numpy as np
import pytest

from backends.common.errors import W2VError
from backends.pipeline import corpus as ptb
from backends.pipeline import make_dataset
from backends.pipeline.noise import AliasSampler, noise_distribution
from helpers import window_of


def noise_part(data) -> np.ndarray:
    """A boolean (centers, width) matrix marking the noise-word slots of every skip-gram row."""
    columns = np.arange(data.width)[None, :]
    n = data.first.num_contexts[:, None]
    return (columns >= n) & (columns < n * (1 + data.settings.num_noise))


def test_statistics_match_the_chapter(data):
    stats = data.stats(512)
    assert stats["vocab_size"] == 6719
    assert stats["sentences"] == 42068
    assert stats["tokens"] == 887521
    # The book: ~343k tokens after subsampling, 1,503,420 center-context pairs for one draw.
    assert 340_000 <= stats["subsampled_tokens"] <= 348_000
    assert 1_480_000 <= stats["pairs"] <= 1_525_000
    assert stats["centers"] <= stats["subsampled_tokens"]
    assert stats["batches"] == -(-stats["centers"] // 512)


def test_vocabulary_order_and_unk(corpus):
    vocab = corpus.vocab
    assert vocab.tokens[0] == "<unk>" and vocab["<unk>"] == 0 and "<unk>" not in vocab
    assert vocab["the"] == 1  # the most frequent word comes first
    assert np.all(np.diff(vocab.counts[1:]) <= 0)
    assert vocab.counts[1:].min() >= 10
    assert vocab["a-word-never-seen"] == 0


def test_same_seed_same_batches_other_seed_other_batches(corpus, data):
    again = make_dataset(corpus, seed=0)
    other = make_dataset(corpus, seed=1)
    assert np.array_equal(again.first.center_rows(), data.first.center_rows())
    first, second = next(data.batches(64)), next(again.batches(64))
    for name in ("centers", "contexts_negatives", "mask", "label"):
        assert np.array_equal(getattr(first, name), getattr(second, name))
    assert other.first.subsampled_tokens != data.first.subsampled_tokens


@pytest.mark.parametrize(
    "model, expected",
    [
        ("skipgram", "c31fdc5f5484a294ce31d2e10aec32c00d2edb80"),
        ("cbow", "068b174dadac4f7e59eb5e19a340be8199f54b1b"),
    ],
)
def test_the_batches_are_the_same_bit_for_bit_under_every_numpy(corpus, model, expected):
    """Seed 0's first two epochs, hashed: the same digest under NumPy 1.23.5 (the book environment) and 2.4
    (today's), so the two environments' frameworks train on exactly the same batches. Measured in both."""
    data = make_dataset(corpus, seed=0, model=model)
    digest = hashlib.sha1()
    for epoch in (0, 1):
        for batch in data.batches(512, epoch=epoch):
            for array in batch.arrays().values():
                digest.update(np.ascontiguousarray(array).tobytes())
    assert digest.hexdigest() == expected


def test_the_initial_weights_are_the_same_bit_for_bit_under_every_numpy():
    from backends.training.weights import initial_weights

    center, context = initial_weights(6719, 100, seed=0)
    assert hashlib.sha1(center.tobytes() + context.tobytes()).hexdigest() == "f29252c721e08d9c1d2f4271c2df4cd2ad5b71dd"


def test_no_noise_word_is_a_context_of_its_center(data):
    n, rows, columns = data.first.num_contexts, data.first.center_rows(), 2 * data.settings.max_window
    real_contexts = np.where(np.arange(columns)[None, :] < n[:, None], rows[:, :columns], -1)
    noise = np.where(noise_part(data), rows, -2)
    clash = (noise[:, :, None] == real_contexts[:, None, :]).any(axis=(1, 2))
    assert not clash.any()
    assert (rows[noise_part(data)] > 0).all()  # never <unk>


def test_noise_follows_count_to_the_three_quarters(corpus, data):
    observed = np.bincount(data.first.center_rows()[noise_part(data)], minlength=len(corpus.vocab))
    observed = observed / observed.sum()
    expected = noise_distribution(corpus.vocab.counts, 0.75)

    def distance(p, q):
        return 0.5 * np.abs(p - q).sum()

    # Rejecting a center's own contexts bends the distribution slightly (total variation ~0.011);
    # the wrong power would be far off.
    assert distance(observed, expected) < 0.03
    assert distance(observed, noise_distribution(corpus.vocab.counts, 1.0)) > 0.15
    assert distance(observed, noise_distribution(corpus.vocab.counts, 0.5)) > 0.15


def test_alias_sampler_passes_a_chi_square_goodness_of_fit():
    from scipy import stats

    probs = noise_distribution(np.array([0, 500, 120, 60, 30, 9, 3, 1]))
    draws = AliasSampler(probs).draw(np.random.default_rng(7), 400_000)
    observed = np.bincount(draws, minlength=probs.size)[1:]
    assert np.bincount(draws, minlength=probs.size)[0] == 0
    result = stats.chisquare(observed, probs[1:] * draws.size)
    assert result.pvalue > 1e-3
    skewed = stats.chisquare(
        observed, noise_distribution(np.array([0, 500, 120, 60, 30, 9, 3, 1]), 1.0)[1:] * draws.size
    )
    assert skewed.pvalue < 1e-12


def test_masks_labels_and_padding_are_consistent(data):
    batches = list(data.batches(4096))
    assert sum(b.size for b in batches) == data.num_centers
    for batch in batches:
        assert batch.centers.shape == (4096, 1) and batch.centers.dtype == np.int32
        assert batch.contexts_negatives.shape == batch.mask.shape == batch.label.shape == (4096, data.width)
        assert (batch.label <= batch.mask).all()
        # masks are a prefix of ones; (1 + K) mask entries per context label
        assert (np.diff(batch.mask, axis=1) <= 0).all() and (np.diff(batch.label, axis=1) <= 0).all()
        assert np.array_equal(batch.mask.sum(1), batch.label.sum(1) * (1 + data.settings.num_noise))
        assert (batch.contexts_negatives[batch.mask == 0] == 0).all()
        assert (batch.mask[: batch.size].sum(1) >= 1 + data.settings.num_noise).all()
    last = batches[-1]
    assert last.size == data.num_centers % 4096
    assert (last.mask[last.size :] == 0).all() and (last.centers[last.size :] == 0).all()


def test_each_epoch_visits_every_center_once_in_a_new_order(data):
    def centers(epoch):
        return np.concatenate([b.centers[: b.size, 0] for b in data.batches(1000, epoch=epoch)])

    first, second = centers(0), centers(1)
    assert np.array_equal(np.sort(first), np.sort(data.first.centers))
    assert np.array_equal(np.sort(second), np.sort(data.first.centers))
    assert not np.array_equal(first, second)
    assert np.array_equal(first, centers(0))  # an epoch's order depends only on the seed and the epoch


def test_contexts_lie_within_a_window_of_the_same_sentence():
    # Every word distinct and kept (t huge), so a context's word identifies its position.
    sentences = [" ".join(f"w{s}_{i}" for i in range(length)) for s, length in enumerate([7, 1, 0, 2, 12])]
    corpus = ptb.corpus_from_text("\n".join(sentences), min_count=1)
    data = make_dataset(corpus, max_window=3, num_noise=2, subsample_t=1e9, seed=3)
    assert data.num_centers == 7 + 2 + 12  # one- and zero-word sentences give no centers
    for center, row, n in zip(data.first.centers, data.first.center_rows(), data.first.num_contexts):
        assert 1 <= window_of(corpus, sentences, center, row[:n]) <= 3


def test_resampling_each_epoch_draws_anew_from_the_seed_and_the_epoch(corpus):
    fixed = make_dataset(corpus, seed=5)
    resampled = make_dataset(corpus, seed=5, resample_each_epoch=True)
    assert np.array_equal(fixed.first.center_rows(), resampled.first.center_rows())
    assert resampled.draw(0) is resampled.first and fixed.draw(1) is fixed.first
    second = resampled.draw(1)
    assert second.subsampled_tokens != resampled.first.subsampled_tokens
    assert np.array_equal(second.center_rows(), resampled.draw(1).center_rows())  # the same epoch, the same draw
    first_batch = next(resampled.batches(512, epoch=1))
    assert np.array_equal(first_batch.centers, next(resampled.batches(512, epoch=1)).centers)
    assert not np.array_equal(first_batch.centers, next(fixed.batches(512, epoch=1)).centers)


def test_missing_data_file_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr(ptb, "PTB_ZIP", tmp_path / "ptb.zip")  # the shipped file, gone
    with pytest.raises(W2VError, match=r"ptb\.zip does not exist.*git checkout -- data/ptb\.zip"):
        ptb.read_ptb_text()
    with pytest.raises(W2VError, match=r"other\.zip does not exist\. Leave the path out to read the shipped ptb\.zip"):
        ptb.read_ptb_text(tmp_path / "other.zip")


def test_corrupt_data_file_names_both_hashes(tmp_path):
    broken = tmp_path / "ptb.zip"
    broken.write_bytes(ptb.PTB_ZIP.read_bytes()[:100_000])  # a truncated copy
    with pytest.raises(W2VError, match=rf"corrupt.*expected {ptb.PTB_SHA1}"):
        ptb.read_ptb_text(broken)


def test_shipped_zip_holds_the_three_splits():
    with zipfile.ZipFile(ptb.PTB_ZIP) as archive:
        assert {"ptb/ptb.train.txt", "ptb/ptb.valid.txt", "ptb/ptb.test.txt"} <= set(archive.namelist())
    assert ptb.read_ptb_text(split="valid").count("\n") == 3370


@pytest.mark.parametrize(
    "text, min_count, message",
    [("", 1, "corpus is empty"), (" \n\t\n", 1, "corpus is empty"), ("a b c\nb c", 5, "empty vocabulary")],
)
def test_corpus_errors(text, min_count, message):
    with pytest.raises(W2VError, match=message):
        ptb.corpus_from_text(text, min_count=min_count)


def test_bad_pipeline_settings(corpus, data):
    with pytest.raises(W2VError, match="max window 0 is out of range"):
        make_dataset(corpus, max_window=0)
    with pytest.raises(W2VError, match="noise words 0 is out of range"):
        make_dataset(corpus, num_noise=0)
    with pytest.raises(W2VError, match="epochs is a training setting, not the data's: give it to train"):
        make_dataset(corpus, epochs=2)
    with pytest.raises(W2VError, match="batch size 0 is out of range"):
        next(data.batches(0))


@pytest.fixture(scope="module")
def cbow(corpus):
    return make_dataset(corpus, model="cbow", seed=0)


def test_cbow_sees_the_skipgram_contexts_and_avoids_its_center(data, cbow):
    # The same seed draws the same subsampling and windows; only the noise words differ.
    skipgram, draw = data.first, cbow.first
    assert np.array_equal(draw.centers, skipgram.centers) and np.array_equal(draw.num_contexts, skipgram.num_contexts)
    columns = 2 * data.settings.max_window
    in_window = np.arange(columns) < skipgram.num_contexts[:, None]
    assert np.array_equal(draw.contexts, skipgram.center_rows()[:, :columns] * in_window)
    noise = draw.center_rows()
    assert noise.shape == (cbow.num_centers, cbow.settings.num_noise)
    assert not (noise == draw.centers[:, None]).any() and (noise > 0).all()


def test_cbow_batches(cbow):
    batches = list(cbow.batches(4096))
    assert sum(b.size for b in batches) == cbow.num_centers
    for batch in batches:
        assert batch.contexts.shape == batch.context_mask.shape == (4096, 2 * cbow.settings.max_window)
        assert batch.targets.shape == batch.mask.shape == batch.label.shape == (4096, 1 + cbow.settings.num_noise)
        assert (batch.label[: batch.size, 0] == 1).all() and batch.label[:, 1:].sum() == 0
        assert (batch.mask[: batch.size] == 1).all() and (batch.mask[batch.size :] == 0).all()
        assert (batch.context_mask[: batch.size].sum(1) >= 1).all()
        assert (batch.contexts[batch.context_mask == 0] == 0).all()


def test_uniform_noise(corpus):
    uniform = make_dataset(corpus, noise="uniform", seed=0)
    observed = np.bincount(uniform.first.center_rows()[noise_part(uniform)], minlength=len(corpus.vocab))[1:]
    expected = observed.sum() / (len(corpus.vocab) - 1)
    assert 0.5 * np.abs(observed / observed.sum() - 1 / observed.size).sum() < 0.02
    assert observed.min() > 0.5 * expected


def test_unknown_model_and_noise(corpus):
    with pytest.raises(W2VError, match="unknown model 'glove'"):
        make_dataset(corpus, model="glove")
    with pytest.raises(W2VError, match="unknown noise distribution 'zipf'"):
        make_dataset(corpus, noise="zipf")


def test_subsampled_sentences_hold_every_center(data):
    sentences = data.subsampled_sentences()
    assert sum(map(len, sentences)) == data.num_centers and min(map(len, sentences)) >= 2
    assert sentences[0] == [data.vocab.tokens[i] for i in data.first.centers[: len(sentences[0])]]


def test_every_model_the_settings_name_has_a_type():
    from backends.common.settings import MODELS as NAMES
    from backends.pipeline.models import MODELS

    assert tuple(MODELS) == NAMES and all(MODELS[name].name == name for name in NAMES)


def test_a_dataset_and_its_draws_are_immutable_and_alike_for_both_models(data, cbow):
    """The same attributes whichever the model (a CBOW dataset used to lack the skip-gram rows and fail with an
    AttributeError), and nothing to change after the draw: batches() never redraws in place."""
    import dataclasses

    assert [f.name for f in dataclasses.fields(data.first)] == [f.name for f in dataclasses.fields(cbow.first)]
    assert cbow.first.center_rows().shape == (cbow.num_centers, cbow.settings.num_noise)
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.first = cbow.first
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.first.centers = None
    first = data.first
    list(data.batches(4096, epoch=1))
    assert data.first is first
