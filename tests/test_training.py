"""The shared loop, driven by a tiny framework-free backend: budget, divergence, Ctrl-C, config."""

import time

import numpy as np
import pytest

from backends.common.errors import W2VError
from backends.common.settings import Settings
from backends.training import devices, loop
from backends.training.history import TrainingDiverged
from backends.training.weights import initial_weights
from helpers import scripted_backend


def test_initial_weights_are_shared_seeded_xavier():
    center, context = initial_weights(6719, 100, seed=0)
    again, _ = initial_weights(6719, 100, seed=0)
    bound = np.sqrt(6 / (6719 + 100))
    assert center.dtype == np.float32 and center.shape == (6719, 100)
    assert np.array_equal(center, again) and not np.array_equal(center, context)
    assert np.abs(center).max() <= bound and np.abs(center).max() > 0.99 * bound
    assert np.std(center) == pytest.approx(bound / np.sqrt(3), rel=0.01)


def test_max_steps_spans_epochs_and_epoch_means(data):
    steps = data.num_batches(512) + 10
    history = loop.fit(scripted_backend(np.linspace(1, 0, steps)), data, max_steps=steps, progress=False)
    assert history.steps == steps and len(history.epoch_losses) == 2
    np.testing.assert_allclose(history.step_losses, np.linspace(1, 0, steps))
    assert history.epoch_losses[1] == pytest.approx(np.mean(np.linspace(1, 0, steps)[-10:]))
    assert history.stopped is None


def spin(seconds=0.005):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_cores_busy_is_cpu_time_over_wall_time(data):
    computing = loop.fit(scripted_backend(np.ones(21), work=spin), data, max_steps=21, progress=False)
    waiting = loop.fit(
        scripted_backend(np.ones(21), work=lambda: time.sleep(0.005)), data, max_steps=21, progress=False
    )
    assert 0.5 < computing.cores_busy < 1.5  # one thread spinning: about one core
    assert waiting.cores_busy < 0.5  # sleeping costs no CPU
    assert computing.to_dict()["cores_busy"] == computing.cores_busy


def test_divergence_stops_with_the_step_and_keeps_what_was_trained(data):
    losses = [0.7] * 30 + [float("nan")] * 10
    with pytest.raises(TrainingDiverged, match=r"became nan at step 31.*30 steps before it are kept.*--lr") as info:
        loop.fit(scripted_backend(losses), data, max_steps=40, progress=False)
    assert info.value.history.steps == 30 and info.value.history.stopped == "diverged"
    assert info.value.history.embeddings is not None


def test_ctrl_c_stops_cleanly_and_keeps_the_history(data):
    history = loop.fit(scripted_backend([0.5] * 100, interrupt_at=45), data, max_steps=100, progress=False)
    assert history.stopped == "interrupted" and history.steps == 44
    assert history.epoch_losses == [pytest.approx(0.5)]


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("epochs", 0, "epochs 0"),
        ("batch_size", -1, "batch size -1"),
        ("lr", 0.0, "learning rate 0.0"),
        ("lr", float("nan"), "learning rate nan"),
        ("embed_size", 0, "embedding size 0"),
        ("max_steps", 0, "max steps 0"),
    ],
)
def test_out_of_range_settings(field, value, message):
    with pytest.raises(W2VError, match=f"{message} is out of range"):
        Settings(**{field: value})


def test_unknown_device_request():
    with pytest.raises(W2VError, match="unknown device 'tpu'"):
        devices.choose_device("tpu", "PyTorch", gpu_found=False)
    assert devices.choose_device("auto", "PyTorch", gpu_found=False) == "cpu"
    assert devices.choose_device("auto", "PyTorch", gpu_found=True) == "gpu"


def test_progress_can_be_a_function_called_at_each_read_back_and_at_the_end(data):
    """The notebooks pass a live loss plot as progress: it sees the history each time losses are read back."""
    seen = []
    history = loop.fit(
        scripted_backend(np.ones(45)),
        data,
        max_steps=45,
        sync_every=20,
        progress=lambda h: seen.append((h.steps, h.planned_steps, h.steps_per_epoch)),
    )
    assert seen == [(21, 45, 670), (41, 45, 670), (45, 45, 670), (45, 45, 670)]  # the first step is read alone
    assert history.steps == 45


def test_one_progress_bar_for_the_whole_run(data, capsys):
    steps = data.num_batches(512) + 5  # into the second epoch
    loop.fit(scripted_backend(np.ones(steps)), data, max_steps=steps, progress=True)
    bars = capsys.readouterr().err
    assert bars.count("\n") == 1 and "fake epoch 2/5: 100%" in bars and f"{steps}/{steps}" in bars


def test_a_data_setting_given_to_train_must_be_the_datas(data):
    """The seed, the model, ... shaped the batches already: train() takes them from the data, and says so."""
    with pytest.raises(W2VError, match=r"the data was drawn with seed 0.*load_data\(seed=1\)"):
        loop.fit(scripted_backend(np.ones(2)), data, max_steps=2, seed=1, progress=False)
    assert loop.fit(scripted_backend(np.ones(2)), data, max_steps=2, seed=0, progress=False).steps == 2


def test_the_history_records_every_setting_and_the_corpus(data):
    history = loop.fit(scripted_backend(np.ones(3)), data, max_steps=3, lr=0.01, progress=False)
    assert Settings.from_dict(history.settings) == Settings(max_steps=3, lr=0.01)
    assert history.settings["vocab_size"] == 6719 and history.settings["corpus_tokens"] == 887521


def test_resampled_epochs_may_differ_in_length_and_still_end(corpus):
    """Each resampled epoch has its own number of centers, so its own number of batches: the run ends after its
    epochs all the same (it used to wait for the first epoch's count and never end)."""
    from backends.pipeline import make_dataset

    data = make_dataset(corpus, seed=0, resample_each_epoch=True)
    lengths = [data.num_batches(150, epoch) for epoch in range(2)]
    assert lengths == [2287, 2286]  # 342,957 and 342,807 centers
    history = loop.fit(scripted_backend(np.ones(sum(lengths) + 5)), data, epochs=2, batch_size=150, progress=False)
    assert history.steps == sum(lengths) and len(history.epoch_losses) == 2 and history.stopped is None
