"""The settings, declared once: the command line, the children's flags, the summary and resume all derive from them."""

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.cli.main import build_parser
from backends.common import settings as settings_module
from backends.common.errors import W2VError
from backends.common.settings import DATA, MUST_MATCH_ON_RESUME, NAMES, TRAINING, Settings
from backends.training.checkpoint import MUST_MATCH

SOME = st.builds(
    Settings,
    seed=st.integers(0, 10**6),
    model=st.sampled_from(settings_module.MODELS),
    objective=st.sampled_from(("negative_sampling", "hierarchical_softmax")),  # the full softmax refuses lazy Adam
    min_count=st.integers(1, 50),
    max_window=st.integers(1, 9),
    num_noise=st.integers(1, 9),
    noise=st.sampled_from(tuple(settings_module.NOISE_POWERS)),
    subsample_t=st.floats(1e-6, 1.0),
    resample_each_epoch=st.booleans(),
    sample_each_batch=st.booleans(),
    data=st.sampled_from([None, "my.zip"]),
    epochs=st.integers(1, 9),
    max_steps=st.one_of(st.none(), st.integers(1, 10**6)),
    optimizer=st.sampled_from(settings_module.OPTIMIZERS),
    batch_size=st.integers(1, 4096),
    lr=st.floats(1e-5, 1.0),
    embed_size=st.integers(1, 300),
    device=st.sampled_from(settings_module.DEVICES),
)


@settings(max_examples=50, deadline=None)
@given(SOME)
def test_a_child_process_given_the_flags_gets_exactly_the_same_settings(chosen):
    """compare, parity and the bench hand their settings on as flags: parsing them back loses nothing."""
    args = build_parser().parse_args(["train", "--framework", "numpy", *chosen.argv()])
    assert settings_module.from_args(args) == chosen


def test_every_setting_is_an_option_of_train_and_compare():
    for command in ("train", "compare"):
        args = build_parser().parse_args([command, "--framework" if command == "train" else "--frameworks", "numpy"])
        assert settings_module.from_args(args) == Settings()
        assert set(NAMES) <= {action.dest for action in _subparser(command)._actions}


def _subparser(name):
    commands = next(a for a in build_parser()._actions if a.dest == "command")
    return commands.choices[name]


def test_options_left_out_take_the_one_default():
    args = build_parser().parse_args(["train", "--framework", "numpy", "--lr", "0.01"])
    assert not hasattr(args, "epochs")  # no second copy of the default in argparse
    assert settings_module.from_args(args) == Settings(lr=0.01)


@settings(max_examples=50, deadline=None)
@given(SOME)
def test_the_summary_says_every_setting_in_words(chosen):
    words = chosen.describe()
    noise_only = 0 if chosen.objective == "negative_sampling" else 2  # the number and the distribution of noise words
    assert len(words.split(", ")) == len(NAMES) - noise_only
    assert not {"None", "False", "True", "max_steps", "resample_each_epoch", "sample_each_batch", "_"} & set(
        words.replace(",", " ").split()
    )


def test_the_chapters_settings_in_words():
    assert Settings().describe() == (
        "5 epochs, no step limit, batches of 512 centers, Adam with learning rate 0.002, updating every row at each "
        "step, 100-dimensional vectors, device auto, seed 0, the skip-gram model, negative sampling, words seen at "
        "least 10 times, context windows of 1 to 5, 5 noise words per context word, noise words drawn ∝ count^0.75, "
        "subsampling "
        "threshold t = 0.0001, one subsampling for every epoch, windows and noise words drawn with the subsampling, "
        "the shipped PTB"
    )


@pytest.mark.parametrize(
    "objective, words",
    [
        ("hierarchical_softmax", "hierarchical softmax over a Huffman tree"),
        ("full_softmax", "the softmax over every word"),
    ],
)
def test_the_softmax_objectives_in_words_draw_no_noise_words(objective, words):
    chosen = Settings(objective=objective, num_noise=7)
    assert chosen.noise_words == 0 and Settings(num_noise=7).noise_words == 7
    said = chosen.describe()
    assert f"the skip-gram model, {words}, words seen" in said
    assert "noise words" not in said and "count^" not in said
    assert "windows drawn with the subsampling" in said


def test_lazy_adam_is_refused_for_the_full_softmax_with_the_fix():
    with pytest.raises(W2VError, match="train the full softmax with --optimizer adam"):
        Settings(objective="full_softmax", optimizer="lazy_adam")
    assert Settings(objective="hierarchical_softmax", optimizer="lazy_adam").noise_words == 0


def test_groups_and_what_a_resumed_run_must_keep():
    assert set(Settings().group(DATA)) | set(Settings().group(TRAINING)) == set(NAMES)
    assert set(NAMES) - set(MUST_MATCH_ON_RESUME) == {"epochs", "max_steps", "device", "data"}
    assert set(MUST_MATCH) == set(MUST_MATCH_ON_RESUME) | {"vocab_size", "corpus_tokens", "corpus_sha1"}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"epochs": 0}, "epochs 0 is out of range: it must be at least 1."),
        ({"subsample_t": 0.0}, "subsampling threshold 0.0 is out of range: it must be above 0."),
        ({"model": "glove"}, "unknown model 'glove'; choose one of skipgram, cbow."),
        ({"device": "tpu"}, "unknown device 'tpu'; choose one of auto, cpu, gpu."),
        ({"epoch": 3}, "unknown setting epoch; the settings are seed, model,"),
    ],
)
def test_bad_settings_are_refused_in_words(change, message):
    with pytest.raises(W2VError) as error:
        Settings().replace(**change)
    assert str(error.value).startswith(message)


def test_settings_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        Settings().epochs = 3
