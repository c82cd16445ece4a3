"""Every setting of a run, with the chapter's defaults, written once.

:class:`Settings` is the one place a setting is declared: its default, its range, the words a reader sees
for it and which part of a run it shapes. The command line's options, the flags that ``compare``, ``parity``
and the bench hand to the processes they start, the history of a run, what a checkpoint must match to be
resumed and the summary's sentence of settings are all derived from it, so adding a setting is one edit.

Settings are in two groups. The *data* settings shape the batches (the seed, the model, the vocabulary, the
windows, the noise words): a dataset is drawn with them, and a training run takes them from its dataset.
The *training* settings say how long and how to train it.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from backends.common.errors import W2VError
from backends.common.messages import listed, plural

DATA, TRAINING = "data", "training"
# The choices of the settings that name one: the models (backends.pipeline.models has their types), the noise
# distributions by the power of the counts, and where to train.
MODELS = ("skipgram", "cbow")
# What the model's output words are scored with (section 15.2; backends.pipeline.objectives): the chapter's negative
# sampling, hierarchical softmax over a Huffman tree, or the softmax over the whole vocabulary.
OBJECTIVES = ("negative_sampling", "hierarchical_softmax", "full_softmax")
NOISE_POWERS = {"unigram75": 0.75, "uniform": 0.0}
DEVICES = ("auto", "cpu", "gpu")
OPTIMIZERS = ("adam", "lazy_adam")  # backends.training.adam defines both
# Settings a resumed run may change: to train longer, or elsewhere. The corpus is matched by its size instead.
RESUMABLE = ("epochs", "max_steps", "device", "data")


def _setting(
    default: Any,
    group: str,
    words: str,
    help: str,
    *,
    check: Callable[[Any], bool] | None = None,
    expected: str = "",
    choices: tuple[str, ...] = (),
    describe: Callable[[Any], str] | None = None,
    noise_only: bool = False,
) -> Any:
    """A field of :class:`Settings` with what the rest of the project reads about it.

    ``words`` names it in messages ("max window"); ``check`` and ``expected`` are its range ("at least 1");
    ``describe`` says a value as the summary writes it ("5 epochs"); a ``noise_only`` setting matters to negative
    sampling alone, and the summary leaves it out under the other objectives.
    """
    meta = {
        "group": group,
        "words": words,
        "help": help,
        "check": check,
        "expected": expected,
        "choices": choices,
        "describe": describe or (lambda value: f"{words} {value}"),
        "noise_only": noise_only,
    }
    return field(default=default, metadata=meta)


def _at_least(low: int) -> Callable[[Any], bool]:
    return lambda value: value >= low


@dataclass(frozen=True)
class Settings:
    """The chapter's settings (Dive into Deep Learning, section 15.4); any of them can be changed."""

    # The settings as a table, one declaration each, laid out by hand (the formatter would give each argument
    # a line of its own).
    # fmt: off
    # -- the data: what shapes the batches -------------------------------------------------------------------
    seed: int = _setting(0, DATA, "seed", "one seed for the batches and the initial weights",
                         check=_at_least(0), expected="0 or more")
    model: str = _setting("skipgram", DATA, "model", "skipgram (the chapter's) or cbow", choices=MODELS,
                          describe=lambda value: {"skipgram": "the skip-gram model", "cbow": "the CBOW model"}[value])
    objective: str = _setting("negative_sampling", DATA, "objective", "negative_sampling (the chapter's), "
                              "hierarchical_softmax or full_softmax (the book's section 15.2)", choices=OBJECTIVES,
                              describe=lambda value: {"negative_sampling": "negative sampling",
                                                      "hierarchical_softmax": "hierarchical softmax over a Huffman "
                                                                              "tree",
                                                      "full_softmax": "the softmax over every word"}[value])
    min_count: int = _setting(10, DATA, "min count", "keep words seen at least this often", check=_at_least(1),
                              expected="at least 1", describe=lambda value: f"words seen at least {value} times")
    max_window: int = _setting(5, DATA, "max window", "largest context window on each side", check=_at_least(1),
                               expected="at least 1", describe=lambda value: f"context windows of 1 to {value}")
    num_noise: int = _setting(5, DATA, "the number of noise words",
                              "noise words per context word (K), for negative sampling",
                              check=_at_least(1), expected="at least 1", noise_only=True,
                              describe=lambda value: f"{value} noise words per context word")
    noise: str = _setting("unigram75", DATA, "noise distribution",
                          "noise distribution: count**0.75 (the chapter's) or uniform", choices=tuple(NOISE_POWERS),
                          noise_only=True,
                          describe=lambda value: f"noise words drawn ∝ count^{NOISE_POWERS[value]:g}")
    subsample_t: float = _setting(1e-4, DATA, "subsampling threshold", "subsampling threshold t",
                                  check=lambda value: math.isfinite(value) and value > 0, expected="above 0",
                                  describe=lambda value: f"subsampling threshold t = {value:g}")
    resample_each_epoch: bool = _setting(False, DATA, "resampling", "redraw subsampling, windows and noise words "
                                         "every epoch", describe=lambda value: "a new subsampling every epoch"
                                         if value else "one subsampling for every epoch")
    sample_each_batch: bool = _setting(False, DATA, "sampling at update time", "draw each minibatch's windows, "
                                       "contexts and noise words when it is served (the chapter's exercise 2); "
                                       "subsampling stays epoch 0's, or with --resample-each-epoch is redrawn "
                                       "every epoch", describe=lambda value: "windows and noise words drawn for "
                                       "each minibatch" if value else "windows and noise words drawn with the "
                                       "subsampling")
    data: str | None = _setting(None, DATA, "data", "the corpus: the book's PTB zip (default: the shipped "
                                "data/ptb.zip), a text file with one sentence a line, or a zip holding one",
                                describe=lambda value: f"data {value}" if value else "the shipped PTB")
    # -- the training -------------------------------------------------------------------------------------------
    epochs: int = _setting(5, TRAINING, "epochs", "passes over the data", check=_at_least(1), expected="at least 1",
                           describe=lambda value: f"{value} {plural(value, 'epoch')}")
    max_steps: int | None = _setting(None, TRAINING, "max steps",
                                     "stop after this many steps in all (default: no limit)",
                                     check=lambda value: value is None or value >= 1, expected="at least 1",
                                     describe=lambda value: f"at most {value:,} steps" if value else "no step limit")
    batch_size: int = _setting(512, TRAINING, "batch size", "center words per batch", check=_at_least(1),
                               expected="at least 1", describe=lambda value: f"batches of {value} centers")
    lr: float = _setting(0.002, TRAINING, "learning rate", "Adam's learning rate",
                         check=lambda value: math.isfinite(value) and 0 < value <= 10, expected="in (0, 10]",
                         describe=lambda value: f"Adam with learning rate {value:g}")
    optimizer: str = _setting("adam", TRAINING, "optimizer", "adam (the chapter's: every row at every step) or "
                              "lazy_adam (only the rows a batch looks up)", choices=OPTIMIZERS,
                              describe=lambda value: {"adam": "updating every row at each step",
                                                      "lazy_adam": "updating only the rows each batch looks up "
                                                                   "(lazy Adam)"}[value])
    embed_size: int = _setting(100, TRAINING, "embedding size", "the word vectors' length", check=_at_least(1),
                               expected="at least 1", describe=lambda value: f"{value}-dimensional vectors")
    device: str = _setting("auto", TRAINING, "device", "auto, cpu or gpu", choices=DEVICES,
                           describe=lambda value: f"device {value}")
    # fmt: on

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value, meta = getattr(self, item.name), item.metadata
            if meta["choices"] and value not in meta["choices"]:
                raise W2VError(f"unknown {meta['words']} {value!r}; choose one of {', '.join(meta['choices'])}.")
            if meta["check"] is not None and not meta["check"](value):
                raise W2VError(f"{meta['words']} {value} is out of range: it must be {meta['expected']}.")
        if self.objective == "full_softmax" and self.optimizer == "lazy_adam":
            raise W2VError(
                "lazy Adam updates only the rows a batch looks up, and the full softmax looks up every word's "
                "context vector at every step, so it would skip nothing: train the full softmax with --optimizer "
                "adam, or choose another --objective."
            )

    @property
    def noise_words(self) -> int:
        """The noise words drawn per context word (skip-gram) or center (CBOW): K with negative sampling, none
        with the two softmaxes, which score the true word against every other (one way or another) instead."""
        return self.num_noise if self.objective == "negative_sampling" else 0

    def replace(self, **changes: Any) -> Settings:
        """These settings with ``changes``; an unknown name is the user's mistake."""
        unknown = sorted(set(changes) - set(NAMES))
        if unknown:
            raise W2VError(f"unknown setting {', '.join(unknown)}; the settings are {', '.join(NAMES)}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> Settings:
        """Settings from a record (a history's), ignoring keys that are not settings (the corpus' size)."""
        return cls(**{name: record[name] for name in NAMES if name in record})

    def group(self, group: str) -> dict[str, Any]:
        """The settings of one group (DATA or TRAINING) by name."""
        return {item.name: getattr(self, item.name) for item in _fields(group)}

    def describe(self) -> str:
        """Every setting in words, for a summary: '5 epochs, no step limit, batches of 512 centers, ...'."""
        shown = [item for item in _fields(TRAINING, DATA) if self.noise_words or not item.metadata["noise_only"]]
        words = ", ".join(item.metadata["describe"](getattr(self, item.name)) for item in shown)
        return words if self.noise_words else words.replace(" and noise words", "")  # the softmaxes draw none

    def argv(self) -> list[str]:
        """These settings as command-line flags (those that differ from the defaults), for a child process."""
        flags = []
        for name, value in self.to_dict().items():
            if value == getattr(DEFAULTS, name):
                continue
            flags += [option(name)] if isinstance(value, bool) else [option(name), str(value)]
        return flags


# The types a setting is annotated with, as a record (JSON) holds them, with their names in messages.
_KINDS = {
    "int": ("a whole number", (int,)),
    "float": ("a number", (int, float)),
    "str": ("text", (str,)),
    "bool": ("true or false", (bool,)),
    "None": ("null", (type(None),)),
}


def wrong_setting(name: str, value: Any) -> str | None:
    """Why ``value`` cannot be the setting ``name`` (of another type, out of range), or None where it can: for
    a record read back (a history edited by hand), whose values no option parser has checked."""
    kinds = [_KINDS[part.strip()] for part in _FIELD_TYPES[name].split("|")]
    if not any(isinstance(value, types) and isinstance(value, bool) == (types == (bool,)) for _, types in kinds):
        return f"{listed([words for words, _ in kinds], 'or')} is expected, not {json.dumps(value)}"
    try:
        DEFAULTS.replace(**{name: value})
    except W2VError as error:
        return str(error).rstrip(".")
    return None


def _fields(*groups: str) -> list[dataclasses.Field]:
    """The fields of :class:`Settings` in ``groups``, group by group."""
    return [item for group in groups for item in dataclasses.fields(Settings) if item.metadata["group"] == group]


NAMES: tuple[str, ...] = tuple(item.name for item in dataclasses.fields(Settings))
_FIELD_TYPES = {item.name: str(item.type) for item in dataclasses.fields(Settings)}  # "int | None"
DEFAULTS = Settings()
MUST_MATCH_ON_RESUME: tuple[str, ...] = tuple(name for name in NAMES if name not in RESUMABLE)


def option(name: str) -> str:
    """The command-line flag of setting ``name``: max_window → --max-window."""
    return "--" + name.replace("_", "-")


def add_options(parser: argparse.ArgumentParser, *groups: str, only: tuple[str, ...] = ()) -> None:
    """Add the options of every setting in ``groups``, and of the settings named in ``only``.

    Options left out of a command line stay out of the parsed namespace (``argparse.SUPPRESS``), so that
    :func:`from_args` takes the default from :class:`Settings` and nowhere else.
    """
    for item in dataclasses.fields(Settings):
        if item.metadata["group"] not in groups and item.name not in only:
            continue
        meta, default = item.metadata, item.default
        shown = (
            ""
            if default is None or isinstance(default, bool)
            else f" (default: {default:g})"
            if isinstance(default, float)
            else f" (default: {default})"
        )
        kwargs: dict[str, Any] = {"default": argparse.SUPPRESS, "help": meta["help"] + shown}
        if isinstance(default, bool):
            kwargs["action"] = "store_true"
        elif meta["choices"]:
            kwargs["choices"] = meta["choices"]
        else:
            kwargs["type"] = {"max_steps": int, "data": str}.get(item.name, type(default))
        parser.add_argument(option(item.name), **kwargs)


def from_args(args: argparse.Namespace) -> Settings:
    """The settings a parsed command line gives: its options, the defaults for the rest."""
    return Settings(**{name: getattr(args, name) for name in NAMES if hasattr(args, name)})
