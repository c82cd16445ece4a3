"""The words messages are made of (backends.common.messages): counts, plurals, lists and lists cut short."""

import pytest

from backends.common.messages import agreeing, counted, listed, plural, truncated


@pytest.mark.parametrize(("number", "expected"), [(0, "rows"), (1, "row"), (2, "rows"), (-1, "rows")])
def test_a_noun_is_plural_for_every_number_but_1(number, expected):
    assert plural(number, "row") == expected


@pytest.mark.parametrize(
    ("number", "noun", "expected"),
    [
        (0, "word", "0 words"),
        (1, "finished epoch", "1 finished epoch"),
        (2, "value", "2 values"),
        (2048, "row", "2,048 rows"),
        (1_000_000, "number", "1,000,000 numbers"),
    ],
)
def test_a_count_has_thousands_separators_and_its_noun(number, noun, expected):
    assert counted(number, noun) == expected


def test_agreeing_picks_the_form_for_one_or_many():
    assert [agreeing(n, "is", "are") for n in (0, 1, 2)] == ["are", "is", "are"]
    assert agreeing(1, "its check", "their checks") == "its check"


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        ([], ""),
        (["a"], "a"),
        (["a", "b"], "a and b"),
        (["a", "b", "c"], "a, b and c"),
        (("w", "x", "y", "z"), "w, x, y and z"),
    ],
)
def test_a_list_is_joined_as_a_sentence_writes_it(items, expected):
    assert listed(items) == expected


def test_a_list_can_be_joined_with_or():
    assert listed(("skip_gram", "masked_bce", "step"), "or") == "skip_gram, masked_bce or step"
    assert listed(["a whole number", "null"], "or") == "a whole number or null"


@pytest.mark.parametrize(
    ("count", "expected"),
    [
        (0, ""),
        (1, "n0"),
        (5, "n0, n1, n2, n3, n4"),
        (6, "n0, n1, n2, n3, n4 and 1 more"),
        (12, "n0, n1, n2, n3, n4 and 7 more"),
    ],
)
def test_a_long_list_shows_its_first_five_and_how_many_more(count, expected):
    assert truncated([f"n{i}" for i in range(count)]) == expected


def test_a_cut_short_list_can_show_another_number():
    assert truncated(["a", "b", "c"], shown=2) == "a, b and 1 more"
    assert truncated(["a", "b"], shown=2) == "a, b"
