"""Sampling at update time (sample_each_batch): each minibatch drawn when served, from the seed, the epoch and
its number alone; the subsampling kept (or redrawn with resample_each_epoch); a resumed run's batches and losses."""

import json

import numpy as np
import pytest

from backends.common.errors import W2VError
from backends.common.settings import Settings
from backends.pipeline import corpus as ptb
from backends.pipeline import make_dataset
from backends.training import loop
from helpers import run, window_of


@pytest.fixture(scope="module")
def sampled(corpus):
    return make_dataset(corpus, seed=0, sample_each_batch=True)


@pytest.fixture(scope="module")
def both(corpus):
    return make_dataset(corpus, seed=0, sample_each_batch=True, resample_each_epoch=True)


def same(first, second) -> bool:
    """Whether two batches are equal bit for bit, every array of them."""
    return first.size == second.size and all(
        np.array_equal(a, b) and a.dtype == b.dtype for a, b in zip(first.arrays().values(), second.arrays().values())
    )


def centers_of(data, epoch, batch_size=4096):
    return np.concatenate([b.centers[: b.size, 0] for b in data.batches(batch_size, epoch=epoch)])


def test_the_same_seed_draws_the_same_batches_bit_for_bit_and_the_chapters_subsampling(corpus, data, sampled):
    again = make_dataset(corpus, seed=0, sample_each_batch=True)
    for first, second in zip(sampled.batches(512, epoch=1), again.batches(512, epoch=1)):
        assert same(first, second)
    # Subsampling is the first thing epoch 0's build stream draws: the chapter's draw keeps the same centers.
    assert np.array_equal(sampled.first.centers, data.first.centers)
    assert sampled.num_centers == data.num_centers == 342_957
    assert sampled.num_batches(512) == data.num_batches(512) == 670
    other = make_dataset(corpus, seed=1, sample_each_batch=True)
    assert not np.array_equal(next(other.batches(512)).centers, next(sampled.batches(512)).centers)


def test_a_batch_is_the_same_whether_iterated_to_or_skipped_to(sampled):
    from_start = list(sampled.batches(4096, epoch=2))
    skipped = list(sampled.batches(4096, epoch=2, start=60))
    assert len(from_start) == 84 and len(skipped) == 24
    assert all(same(a, b) for a, b in zip(from_start[60:], skipped))
    assert same(from_start[-1], skipped[-1]) and from_start[-1].size == sampled.num_centers - 83 * 4096


def test_skipping_draws_none_of_the_skipped_batches(sampled, monkeypatch):
    from backends.pipeline import dataset

    drawn = []

    def counted(subsampling, positions, *rest):
        drawn.append(positions.size)
        return real(subsampling, positions, *rest)

    real = dataset.draw_centers
    monkeypatch.setattr(dataset, "draw_centers", counted)
    batches = list(sampled.batches(4096, epoch=1, start=80))
    assert len(batches) == 4 and drawn == [4096, 4096, 4096, sampled.num_centers - 83 * 4096]


def test_epochs_and_batches_differ_but_the_subsampling_stays(sampled):
    first, second = list(sampled.batches(4096, epoch=0)), list(sampled.batches(4096, epoch=1))
    assert not np.array_equal(first[0].centers, second[0].centers)  # a new order each epoch
    assert not np.array_equal(first[0].contexts_negatives, first[1].contexts_negatives)
    # The same multiset of centers every epoch: one subsampling, kept.
    assert np.array_equal(np.sort(centers_of(sampled, 0)), np.sort(centers_of(sampled, 3)))
    assert np.array_equal(np.sort(centers_of(sampled, 0)), np.sort(sampled.first.centers))


def test_the_same_center_gets_new_contexts_and_noise_words_in_another_epoch(corpus):
    """Each center's row in epoch 0 and in epoch 1 (one batch an epoch, put back in corpus order): the same
    centers, a window and noise words drawn anew for each."""
    data = make_dataset(corpus, seed=0, sample_each_batch=True, subsample_t=2e-6)
    rows = {}
    for epoch in (0, 1):
        batch = next(data.batches(data.num_centers, epoch=epoch))
        where = np.argsort(shuffled(data, epoch))  # where each center of the corpus order sits in the batch
        rows[epoch] = batch.contexts_negatives[where], batch.label[where].sum(1), batch.centers[where, 0]
    assert np.array_equal(rows[0][2], rows[1][2]) and np.array_equal(rows[0][2], data.first.centers)
    assert (rows[0][0] != rows[1][0]).any(axis=1).mean() > 0.99  # new noise words for nearly every center
    # New windows: a new number of contexts for a quarter of the centers (0.24; the strong subsampling leaves short
    # sentences, where a window often reaches both ends whatever its size).
    assert 0.2 < (rows[0][1] != rows[1][1]).mean() < 0.3


def shuffled(data, epoch):
    """The epoch's order of the centers, as the dataset draws it."""
    from backends.common.seeds import STREAM_SHUFFLE, rng_for

    return rng_for(data.settings.seed, STREAM_SHUFFLE, epoch).permutation(data.num_centers)


def test_with_resampling_too_each_epoch_has_its_own_subsampling(both, sampled):
    assert both.num_batches(4096, 0) == sampled.num_batches(4096, 0)
    assert np.array_equal(np.sort(centers_of(both, 0)), np.sort(centers_of(sampled, 0)))
    epoch1 = centers_of(both, 1)
    assert epoch1.size != sampled.num_centers and both.num_batches(4096, 1) == -(-epoch1.size // 4096)
    assert both.subsampling(1).num_centers == epoch1.size == 342_807  # the chapter's resampled epoch 1 too
    assert np.array_equal(np.sort(epoch1), np.sort(both.subsampling(1).centers))


def test_every_context_lies_within_the_sentence_and_the_window_and_no_noise_word_is_a_context():
    # Every word distinct and kept (t huge), so a context's word identifies its position.
    sentences = [" ".join(f"w{s}_{i}" for i in range(length)) for s, length in enumerate([7, 1, 0, 2, 12, 9])]
    corpus = ptb.corpus_from_text("\n".join(sentences), min_count=1)
    data = make_dataset(corpus, max_window=3, num_noise=4, subsample_t=1e9, seed=3, sample_each_batch=True)
    assert data.num_centers == 7 + 2 + 12 + 9
    seen = set()
    for epoch in range(4):
        for batch in data.batches(8, epoch=epoch):
            assert batch.centers.shape == (8, 1) and batch.contexts_negatives.shape == (8, data.width)
            for center, row, label, mask in zip(
                batch.centers[: batch.size, 0], batch.contexts_negatives, batch.label, batch.mask
            ):
                n = int(label.sum())
                window = window_of(corpus, sentences, center, row[:n])
                assert 1 <= window <= 3 and int(mask.sum()) == n * 5
                noise = row[n : n * 5]
                assert not np.isin(noise, row[:n]).any() and (noise > 0).all()
                seen.add((int(center), window))
            assert (batch.mask[batch.size :] == 0).all()
    assert {w for _, w in seen} == {1, 2, 3}  # windows drawn anew: every size turns up


def test_cbow_batches_sampled_at_update_time(corpus):
    cbow = make_dataset(corpus, seed=0, model="cbow", sample_each_batch=True)
    batches = list(cbow.batches(4096, epoch=1))
    assert sum(b.size for b in batches) == cbow.num_centers
    for batch in batches:
        assert batch.contexts.shape == (4096, 10) and batch.targets.shape == (4096, 6)
        real = batch.targets[: batch.size]
        assert not (real[:, 1:] == real[:, :1]).any() and (real[:, 1:] > 0).all()
        assert (batch.context_mask[: batch.size].sum(1) >= 1).all()
        assert (batch.contexts[batch.context_mask == 0] == 0).all()


def test_stats_give_the_expected_pairs_and_no_whole_draw_is_kept(data, sampled):
    stats, chapter = sampled.stats(512), data.stats(512)
    assert "pairs" not in stats and {
        k: v for k, v in stats.items() if k not in ("expected_pairs", "build_seconds")
    } == {k: v for k, v in chapter.items() if k not in ("pairs", "build_seconds")}
    assert stats["expected_pairs"] == 1_503_573
    assert abs(stats["expected_pairs"] - chapter["pairs"]) < 0.002 * chapter["pairs"]  # one draw's count: near it
    drawn = sum(int(b.label.sum()) for b in sampled.batches(4096, epoch=1))
    assert abs(drawn - stats["expected_pairs"]) < 0.002 * drawn
    with pytest.raises(W2VError, match="samples at update time.*load the data without sample_each_batch"):
        sampled.draw(0)
    assert sum(map(len, sampled.subsampled_sentences())) == sampled.num_centers


def test_the_memory_check_counts_a_few_bytes_a_token(monkeypatch, corpus):
    from backends.pipeline import dataset

    assert dataset.draw_bytes_per_word(Settings(sample_each_batch=True)) == 16
    assert dataset.draw_bytes_per_word(Settings()) == 4 * 60 + 8 * 5 + 16
    asked = []
    monkeypatch.setattr(dataset, "check_memory", lambda needed, what, fix: asked.append(needed))
    make_dataset(corpus, seed=0, sample_each_batch=True, max_window=50, num_noise=50)
    assert asked == [corpus.num_tokens * 16]  # the window and noise words no longer count


@pytest.mark.parametrize("resample", [False, True], ids=["one-subsampling", "resampled"])
@pytest.mark.parametrize("optimizer", ["adam", "lazy_adam"])
def test_a_resumed_run_sees_the_batches_and_losses_of_an_uninterrupted_one(tmp_path, corpus, resample, optimizer):
    """The numpy backend, stopped mid-epoch 1 with a checkpoint, resumed: every step's loss as if never stopped."""
    import backends.numpy as numpy_backend

    data = make_dataset(corpus, seed=0, sample_each_batch=True, resample_each_epoch=resample, subsample_t=1e-5)
    training = {"batch_size": 1024, "embed_size": 16, "epochs": 2, "progress": False, "optimizer": optimizer}
    first, second = data.num_batches(1024, 0), data.num_batches(1024, 1)
    assert (first, second) == ((131, 131) if not resample else (131, 130))
    whole = loop.fit(numpy_backend, data, **training)
    assert whole.steps == first + second and len(whole.epoch_losses) == 2
    path = tmp_path / "checkpoint.npz"
    stop = first + 7  # batch 7 of epoch 1
    stopped = loop.fit(numpy_backend, data, max_steps=stop, checkpoint=path, checkpoint_every=stop, **training)
    assert stopped.steps == stop and stopped.step_losses == whole.step_losses[:stop]
    resumed = loop.fit(numpy_backend, data, checkpoint=path, resume=True, **training)
    assert resumed.step_losses == whole.step_losses and resumed.epoch_losses == whole.epoch_losses
    assert np.array_equal(resumed.embeddings, whole.embeddings)


def test_the_command_line_samples_at_update_time_and_records_it(tmp_path):
    done = run("stats", "--sample-each-batch", "--json")
    assert done.returncode == 0, done.stderr
    stats = json.loads(done.stdout)
    assert stats["expected_pairs"] == 1_503_573 and stats["centers"] == 342_957 and "pairs" not in stats
    done = run("train", "--framework", "numpy", "--sample-each-batch", "--max-steps", "3", "--out", tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    history = json.loads((tmp_path / "numpy" / "history.json").read_text())
    assert history["settings"]["sample_each_batch"] and not history["settings"]["resample_each_epoch"]
    assert Settings.from_dict(history["settings"]) == Settings(sample_each_batch=True, max_steps=3)
    assert (
        "one subsampling for every epoch, windows and noise words drawn for each minibatch"
        in Settings.from_dict(history["settings"]).describe()
    )
