"""The shared loop, driven by a tiny framework-free backend: budget, divergence, Ctrl-C, config."""

import time
import types

import numpy as np
import pytest

from backends import training
from backends.errors import W2VError


def scripted_backend(losses_per_example, interrupt_at=None, work=None):
    """A backend whose step k calls ``work`` (if given) and returns losses_per_example[k] (times the batch size)."""

    class Trainer:
        def __init__(self, center_weights, context_weights, lr, device):
            self.device_name, self.calls, self.table = "cpu", 0, center_weights

        def step(self, batch):
            self.calls += 1
            if self.calls == interrupt_at:
                raise KeyboardInterrupt
            if work is not None:
                work()
            return losses_per_example[self.calls - 1] * batch.size

        def embeddings(self):
            return self.table

    return types.SimpleNamespace(NAME="fake", Trainer=Trainer, losses_to_numpy=np.asarray)


def test_initial_weights_are_shared_seeded_xavier():
    center, context = training.initial_weights(6719, 100, seed=0)
    again, _ = training.initial_weights(6719, 100, seed=0)
    bound = np.sqrt(6 / (6719 + 100))
    assert center.dtype == np.float32 and center.shape == (6719, 100)
    assert np.array_equal(center, again) and not np.array_equal(center, context)
    assert np.abs(center).max() <= bound and np.abs(center).max() > 0.99 * bound
    assert np.std(center) == pytest.approx(bound / np.sqrt(3), rel=0.01)


def test_max_steps_spans_epochs_and_epoch_means(data):
    steps = data.num_batches(512) + 10
    history = training.fit(scripted_backend(np.linspace(1, 0, steps)), data, max_steps=steps, progress=False)
    assert history.steps == steps and len(history.epoch_losses) == 2
    np.testing.assert_allclose(history.step_losses, np.linspace(1, 0, steps))
    assert history.epoch_losses[1] == pytest.approx(np.mean(np.linspace(1, 0, steps)[-10:]))
    assert history.stopped is None


def spin(seconds=0.005):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def test_cores_busy_is_cpu_time_over_wall_time(data):
    computing = training.fit(scripted_backend(np.ones(21), work=spin), data, max_steps=21, progress=False)
    waiting = training.fit(scripted_backend(np.ones(21), work=lambda: time.sleep(0.005)), data, max_steps=21,
                           progress=False)
    assert 0.5 < computing.cores_busy < 1.5  # one thread spinning: about one core
    assert waiting.cores_busy < 0.5  # sleeping costs no CPU
    assert computing.to_dict()["cores_busy"] == computing.cores_busy


def test_divergence_stops_with_the_step_and_keeps_what_was_trained(data):
    losses = [0.7] * 30 + [float("nan")] * 10
    with pytest.raises(training.TrainingDiverged, match=r"became nan at step 31.*30 steps before it are kept.*--lr") as info:
        training.fit(scripted_backend(losses), data, max_steps=40, progress=False)
    assert info.value.history.steps == 30 and info.value.history.stopped == "diverged"
    assert info.value.history.embeddings is not None


def test_ctrl_c_stops_cleanly_and_keeps_the_history(data):
    history = training.fit(scripted_backend([0.5] * 100, interrupt_at=45), data, max_steps=100, progress=False)
    assert history.stopped == "interrupted" and history.steps == 44
    assert history.epoch_losses == [pytest.approx(0.5)]


@pytest.mark.parametrize(
    "field, value, message",
    [("epochs", 0, "epochs 0"), ("batch_size", -1, "batch size -1"), ("lr", 0.0, "learning rate 0.0"),
     ("lr", float("nan"), "learning rate nan"), ("embed_size", 0, "embedding size 0"), ("max_steps", 0, "max steps 0")],
)
def test_out_of_range_settings(field, value, message):
    with pytest.raises(W2VError, match=f"{message} is out of range"):
        training.TrainConfig(**{field: value})


def test_unknown_device_request():
    with pytest.raises(W2VError, match="unknown device 'tpu'"):
        training.choose_device("tpu", "PyTorch", gpu_found=False)
    assert training.choose_device("auto", "PyTorch", gpu_found=False) == "cpu"
    assert training.choose_device("auto", "PyTorch", gpu_found=True) == "gpu"


def test_progress_can_be_a_function_called_at_each_read_back_and_at_the_end(data):
    """The notebooks pass a live loss plot as progress: it sees the history each time losses are read back."""
    seen = []
    history = training.fit(scripted_backend(np.ones(45)), data, max_steps=45, sync_every=20,
                           progress=lambda h: seen.append((h.steps, h.planned_steps, h.steps_per_epoch)))
    assert seen == [(21, 45, 670), (41, 45, 670), (45, 45, 670), (45, 45, 670)]  # the first step is read alone
    assert history.steps == 45


def test_one_progress_bar_for_the_whole_run(data, capsys):
    steps = data.num_batches(512) + 5  # into the second epoch
    training.fit(scripted_backend(np.ones(steps)), data, max_steps=steps, progress=True)
    bars = capsys.readouterr().err
    assert bars.count("\n") == 1 and "fake epoch 2/5: 100%" in bars and f"{steps}/{steps}" in bars
