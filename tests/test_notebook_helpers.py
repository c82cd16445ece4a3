"""The notebooks' small helpers (backends.display.notebook): the line that says what a run's mean loss is a mean
over, with the book's 0.410 beside it only where the run is the book's, and the table of each epoch's halves."""

import pytest

from backends.common.errors import W2VError
from backends.common.settings import Settings
from backends.display.notebook import epoch_halves, loss_summary, max_steps
from backends.training.history import History


def history(step_losses, steps_per_epoch, epoch_losses=(), **settings) -> History:
    return History(
        "numpy",
        "cpu",
        Settings(**settings).to_dict(),
        step_losses=list(step_losses),
        epoch_losses=list(epoch_losses),
        steps_per_epoch=steps_per_epoch,
    )


def test_a_full_run_of_the_books_settings_gives_the_mean_over_every_epoch_beside_the_books():
    run = history([0.5] * 10, 2, [0.5, 0.45, 0.4, 0.35, 0.3], seed=7)  # any seed: the book has its own
    assert loss_summary(run) == (
        "mean loss over all 5 epochs 0.4000, of the last epoch 0.3000 (the book prints "
        "0.410, its mean over all 5 epochs too)"
    )


@pytest.mark.parametrize(
    "changed, says",
    [
        ({"lr": 0.01}, "mean loss over all 5 epochs 0.4000"),
        ({"resample_each_epoch": True}, "mean loss of the 5 epochs' means 0.4000"),
    ],
)
def test_other_settings_get_no_book_number_and_a_redraw_says_what_its_mean_is(changed, says):
    line = loss_summary(history([0.5] * 10, 2, [0.5, 0.45, 0.4, 0.35, 0.3], **changed))
    assert line == f"{says}, of the last epoch 0.3000"


def test_a_run_stopped_short_names_the_steps_its_mean_is_over():
    assert loss_summary(history([0.7, 0.6, 0.5], 670, [0.6])) == (
        "mean loss of the 3 steps trained (part of epoch 1 of 5, each step's loss weighing alike): 0.6000"
    )
    assert loss_summary(history([0.5] * 1005, 670, [0.5, 0.5])).startswith(
        "mean loss of the 1,005 steps trained (1.5 of 5 epochs, each step's loss weighing alike): 0.5000"
    )
    assert "(2 of 5 epochs," in loss_summary(history([0.5] * 1340, 670, [0.5, 0.5]))  # the class budget: whole


def test_each_epochs_halves_and_the_change_at_its_start():
    table = epoch_halves(history([4, 4, 2, 2, 1, 1, 3, 3], 4)).splitlines()
    assert table[0].startswith("epoch  steps           first half  second half  change | at its start: the last 1 ")
    assert table[1:] == [
        "    1      1 to 4          4.0000       2.0000  -2.0000",
        "    2      5 to 8          1.0000       3.0000  +2.0000 | 2.0000 → 1.0000 (-1.0000)",
    ]
    assert epoch_halves(history([1, 2], 4)) == "no complete epoch to split in halves (2 steps trained, 4 in an epoch)"


def test_a_step_budget_that_is_not_a_number_is_refused(monkeypatch):
    monkeypatch.setenv("W2V_MAX_STEPS", "ten")
    with pytest.raises(W2VError, match="W2V_MAX_STEPS='ten' is not a number of steps"):
        max_steps()
    monkeypatch.setenv("W2V_MAX_STEPS", "200")
    assert max_steps() == 200
