"""The student notebooks' "predict, then run" questions: the student writes a guess in place of ``...``, and the
same cell then computes the answer, compares it with the guess and says why it is what it is.

    guess = ...  # your prediction: a number
    questions.reveal("first_loss", guess, w2v, data)

Every answer is computed here, by the reader's backend where it concerns the backend, never quoted: what the
cell prints is what the code gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from backends.common.book import BOOK_EPOCHS, BOOK_LOSS
from backends.common.errors import W2VError
from backends.pipeline.dataset import Dataset
from backends.training import adam

CLOSE = 0.01  # a guess within this of the answer is right


@dataclass(frozen=True)
class Question:
    """What is asked, the answer the backend gives (computed), and why it is that."""

    asked: str
    answer: Callable[[ModuleType, Dataset], float]
    why: Callable[[float, Dataset], str]


def _first_loss(backend: ModuleType, data: Dataset) -> float:
    return float(backend.train(data, max_steps=1, progress=False).step_losses[0])


def _first_loss_why(answer: float, data: Dataset) -> str:
    bound = math.sqrt(6.0 / (len(data.vocab) + data.settings.embed_size))
    k = data.settings.num_noise
    share = -(math.log(1 / (k + 1)) + k * math.log(k / (k + 1))) / (k + 1)  # the entropy of the labels alone
    return (
        f"ln 2 = {math.log(2):.4f}. Before training, every vector's entries are drawn uniform within "
        f"±{bound:.3f} (Xavier-uniform), so every score u·v is close to 0 and σ(0) = 1/2: each entry's loss is "
        f"−ln(1/2) = ln 2, context word or noise word alike, and so is every row's mean. A model that knew only "
        f"that {k} of every {k + 1} entries are noise words would say σ = 1/{k + 1} everywhere and score "
        f"{share:.4f}; the book's run averages {BOOK_LOSS:.3f} over its {BOOK_EPOCHS} epochs, so it has learnt "
        f"more than that share."
    )


def _padding_row(backend: ModuleType, data: Dataset) -> float:
    scores = np.array([[1.5, -0.5, 2.0, 0.3]], dtype=np.float32)
    zeros = np.zeros_like(scores)
    return float(backend.to_numpy(backend.masked_bce(*(backend.tensor(a) for a in (scores, zeros, zeros))))[0])


def _padding_row_why(answer: float, data: Dataset) -> str:
    return (
        "Every entry's loss is multiplied by its mask, 0, so the row's sum is 0; it is divided by its number of "
        "real entries but at least 1, so it stays 0 (divided by 0 it would be 0/0, NaN, and NaN in one row "
        "makes the batch's summed loss and every gradient NaN). So padding rows add nothing to the batch's "
        "loss or its gradient: the last batch of an epoch, filled up with them, trains like a smaller batch."
    )


def _adam_word(backend: ModuleType, data: Dataset) -> float:
    """How far word 0 (gradient 2) moves in Adam's first step with learning rate 0.1, from Adam's formulas."""
    gradient, lr = 2.0, 0.1
    m, v = (1 - adam.BETA1) * gradient, (1 - adam.BETA2) * gradient**2
    m_hat, v_hat = m / (1 - adam.BETA1), v / (1 - adam.BETA2)
    return lr * m_hat / (math.sqrt(v_hat) + adam.EPSILON)


def _adam_word_why(answer: float, data: Dataset) -> str:
    return (
        "Adam's first step is the learning rate times m̂ / (√v̂ + ε), where m̂ is the gradient and v̂ its "
        "square (the bias corrections undo the moments' (1 − β) factors at step 1): 2 / √4 = 1, and "
        "1 / √1 = 1 for word 1 too. Both words move by the learning rate, 0.1, whatever the size of their "
        "gradient; later steps, with moments averaged over several steps, differ."
    )


QUESTIONS: dict[str, Question] = {
    "first_loss": Question("the first step's loss, before any update", _first_loss, _first_loss_why),
    "padding_row": Question("masked_bce's loss of a padding row (mask all 0)", _padding_row, _padding_row_why),
    "adam_first_step": Question(
        "how far word 0 (dense gradient 2) moves in Adam's first step with learning rate 0.1",
        _adam_word,
        _adam_word_why,
    ),
}


@dataclass(frozen=True)
class Reveal:
    """A question's answer beside the reader's guess, shown in a notebook as its text."""

    text: str

    def __repr__(self) -> str:
        return self.text


def reveal(name: str, guess: Any, backend: ModuleType, data: Dataset) -> Reveal:
    """The answer to question ``name``, computed with ``backend``, against ``guess`` (still ``...``: first the
    guess)."""
    if name not in QUESTIONS:
        raise W2VError(f"there is no question {name!r}: the questions are {', '.join(QUESTIONS)}.")
    question = QUESTIONS[name]
    if guess is Ellipsis:
        return Reveal(
            f"First your prediction: write a number in place of `...` in `guess = ...` ({question.asked}), "
            f"then run the cell again."
        )
    try:
        guessed = float(guess)
    except (TypeError, ValueError):
        return Reveal(
            f"Your prediction should be a number ({question.asked}), not {guess!r}: write one in place "
            f"of it and run the cell again."
        )
    answer = question.answer(backend, data)
    verdict = "right" if abs(guessed - answer) <= CLOSE else f"off by {guessed - answer:+.4f}"
    return Reveal(
        f"You predicted {guessed:g}: {verdict}. The answer, {question.asked}: {answer:.4f} "
        f"({backend.NAME}). {question.why(answer, data)}"
    )
