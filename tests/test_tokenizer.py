"""The NumPy tokenizer gives exactly what str.split and str.splitlines give, on PTB and on any text."""

import collections

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.pipeline import corpus as ptb
from backends.pipeline import tokenizer


def check_matches_str_methods(text: str, tokens: tokenizer.Tokens) -> None:
    words = text.split()
    assert [tokens.words[i] for i in tokens.ids.tolist()] == words
    assert len(set(tokens.words)) == len(tokens.words)  # one entry per distinct word
    assert dict(zip(tokens.words, tokens.counts.tolist())) == collections.Counter(words)
    assert tokens.line_lengths.tolist() == [len(line.split()) for line in text.splitlines()]
    assert tokens.ids.dtype == np.int32 and tokens.counts.dtype == tokens.line_lengths.dtype == np.int64


def test_ptb_takes_the_fast_path_and_matches_str_split():
    text = ptb.read_ptb_text()
    fast = tokenizer._tokenize_ascii(text.encode("ascii"))
    assert fast is not None
    assert (fast.ids.size, fast.line_lengths.size, len(fast.words)) == (887_521, 42_068, 9_999)
    check_matches_str_methods(text, fast)


def test_many_words_sharing_few_buckets_stay_apart():
    # 5,000 distinct words in a 1,024-bucket table: most buckets hold several words, settled over rounds;
    # all begin with the same 8 bytes, so only their second key word and length tell them apart
    words = [f"samefirst{i}" for i in range(5000)] + [f"samefirst{i}" for i in range(0, 5000, 7)]
    text = " ".join(words[::-1])
    check_matches_str_methods(text, tokenizer.tokenize(text))


def test_words_equal_in_their_first_bytes_or_differing_only_in_length_stay_apart():
    text = "abcdefgh abcdefghi abcdefgh\x00 abcdefgh abcdefghabcdefgh abcdefghabcdefghX a aa aaa\naaaaaaaaaaaaaaaa"
    check_matches_str_methods(text, tokenizer.tokenize(text))


def test_a_token_too_long_for_the_fast_path_goes_to_python():
    text = "short " + "x" * 65 + " short"
    assert tokenizer._tokenize_ascii(text.encode("ascii")) is None
    check_matches_str_methods(text, tokenizer.tokenize(text))


# Every ASCII kind of whitespace and line end, "\r\n", a control character that is not whitespace,
# and non-ASCII characters that Python treats as whitespace or as line ends.
pieces = st.sampled_from(
    [
        "a",
        "b",
        "ab",
        "abcdefghij",
        " ",
        "\t",
        "\n",
        "\r",
        "\r\n",
        "\x0b",
        "\x0c",
        "\x1c",
        "\x1d",
        "\x1e",
        "\x1f",
        "\x00",
        "\x07",
        "é",
        "\x85",
        "\u2028",
        "\u3000",
    ]
)
ascii_pieces = pieces.filter(str.isascii)


@settings(max_examples=300, deadline=None)
@given(st.lists(ascii_pieces, max_size=40).map("".join))
def test_any_ascii_text_matches_str_methods(text):
    check_matches_str_methods(text, tokenizer.tokenize(text))


@settings(max_examples=100, deadline=None)
@given(st.lists(pieces, max_size=40).map("".join))
def test_any_text_matches_str_methods(text):
    check_matches_str_methods(text, tokenizer.tokenize(text))
