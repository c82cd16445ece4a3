"""Whitespace tokenization of a text (a corpus, or a chunk of one) into word indices, in NumPy for ASCII text.

The pipeline needs three things from the text: each token's word (as an index into the distinct
words), how often each distinct word occurs, and how many tokens each line holds. With
``str.split`` that means building one Python string per token (887,521 on PTB) only to hash it
once, which is most of the cost of tokenizing. For ASCII text this module finds the tokens as runs
of non-whitespace bytes and groups equal tokens with array operations, creating Python strings only
for the ~10,000 distinct words. The result is exactly what ``str.split`` and ``str.splitlines``
give (the tests compare the two on PTB and on random texts); non-ASCII text takes the plain Python
path, whose notion of whitespace covers all of Unicode.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# ASCII characters str.split() treats as whitespace, and those str.splitlines() ends a line at
# ("\r\n" counts as one line end).
_SPACE = b" \t\n\x0b\x0c\r\x1c\x1d\x1e\x1f"
_LINE_END = b"\n\x0b\x0c\r\x1c\x1d\x1e"
_LONGEST_FAST = 64  # bytes: longer tokens would make the per-token keys too wide; Python handles them


@dataclass(frozen=True)
class Tokens:
    """A tokenized text: ``words[ids[i]]`` is token i, ``counts[j]`` how often ``words[j]`` occurs,
    and ``line_lengths[k]`` how many tokens line k (as ``str.splitlines`` counts lines) holds."""

    words: list[str]
    ids: np.ndarray  # (tokens,) int32
    counts: np.ndarray  # (words,) int64
    line_lengths: np.ndarray  # (lines,) int64


def tokenize(text: str) -> Tokens:
    """Split ``text`` on whitespace, as ``text.split()`` does, and index its tokens by distinct word."""
    if text.isascii():
        tokens = _tokenize_ascii(text.encode("ascii"))
        if tokens is not None:
            return tokens
    return tokenize_python(text)


def tokenize_python(text: str) -> Tokens:
    """The same result with ``str.split`` and a dict: the reference, and the path for non-ASCII text."""
    tokens = text.split()
    index = {word: i for i, word in enumerate(dict.fromkeys(tokens))}
    ids = np.fromiter(map(index.__getitem__, tokens), dtype=np.int32, count=len(tokens))
    lines = text.splitlines()
    line_lengths = np.fromiter(map(len, map(str.split, lines)), dtype=np.int64, count=len(lines))
    return Tokens(list(index), ids, np.bincount(ids, minlength=len(index)).astype(np.int64), line_lengths)


def _byte_table(members: bytes) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(members)] = True
    return table


_IS_SPACE, _IS_LINE_END = _byte_table(_SPACE), _byte_table(_LINE_END)


def _tokenize_ascii(raw: bytes) -> Tokens | None:
    """Tokens of ASCII bytes, or None when a token is longer than ``_LONGEST_FAST`` bytes."""
    data = np.frombuffer(raw, dtype=np.uint8)
    space = np.concatenate(([True], _IS_SPACE[data], [True]))
    edges = np.flatnonzero(space[1:] != space[:-1])  # alternately a token's first byte and one past its last
    starts, ends = edges[0::2], edges[1::2]
    lengths = ends - starts
    if lengths.size and lengths.max() > _LONGEST_FAST:
        return None
    ids, examples = _group_equal(_token_keys(raw, starts, lengths))
    words = [raw[s:e].decode("ascii") for s, e in zip(starts[examples].tolist(), ends[examples].tolist())]
    return Tokens(words, ids, np.bincount(ids, minlength=len(words)), _line_lengths(data, starts))


def _token_keys(raw: bytes, starts: np.ndarray, lengths: np.ndarray) -> list[np.ndarray]:
    """Each token's bytes as little-endian 64-bit words, zero-padded, one array per word, with the
    tokens' lengths as the last array: tokens are equal exactly when all their keys are."""
    width = -(-int(lengths.max(initial=0)) // 8)
    padded = np.full(len(raw) + 8 * width + 8, 0, dtype=np.uint8)  # room to read past the last token
    padded[: len(raw)] = np.frombuffer(raw, dtype=np.uint8)
    # An unaligned view: element i is the 8 bytes starting at byte i.
    eight: np.ndarray = np.ndarray(shape=(len(raw) + 8 * width,), dtype="<u8", buffer=padded, strides=(1,))
    masks = np.array([(1 << (8 * n)) - 1 for n in range(9)], dtype=np.uint64)  # masks[n] keeps n low bytes
    keys = [eight[starts] & masks[np.minimum(lengths, 8)]]
    for word in range(1, width):  # most tokens fit in the first word: the later ones are filled in sparsely
        longer = np.flatnonzero(lengths > 8 * word)
        keys.append(np.full(starts.size, 0, dtype=np.uint64))  # np.full: see SkipGram.outputs in models.py
        keys[word][longer] = eight[starts[longer] + 8 * word] & masks[np.minimum(lengths[longer] - 8 * word, 8)]
    return keys + [lengths.astype(np.uint64)]


def _group_equal(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct rows of the columns ``keys``: each row's group, and one row of each group.

    Rows are hashed into a table of buckets, and in each bucket one row is chosen; every row equal to
    its bucket's choice joins that row's group. Rows unequal to it (a different word hashed to the same
    bucket) go round again with another hash. Each round settles at least every chosen row, so the
    loop ends, and rows are compared on their full keys, so different words never share a group.
    """
    rows = keys[0].size
    bits = max(8, min(20, rows.bit_length() - 3))
    mixed = np.full(rows, 0x9E3779B97F4A7C15, dtype=np.uint64)
    for column in keys:
        mixed ^= column
        mixed *= np.uint64(0xFF51AFD7ED558CCD)
        mixed ^= mixed >> np.uint64(31)
    group = np.empty(rows, dtype=np.int32)
    leaders: list[np.ndarray] = []
    pending = np.arange(rows, dtype=np.int32)
    table = np.empty(1 << bits, dtype=np.uint64)
    found, round_ = 0, 0
    while pending.size:
        salted = mixed if round_ == 0 else (mixed[pending] ^ np.uint64(round_)) * np.uint64(0xC4CEB9FE1A85EC53)
        bucket = (salted >> np.uint64(64 - bits)).astype(np.intp)
        chosen = np.empty(1 << bits, dtype=np.int32)
        chosen[bucket] = pending  # whichever row lands in a bucket last is its choice
        leads = chosen[bucket] == pending
        lead_bucket, leads = bucket[leads], pending[leads]
        differ = None
        for column in keys:  # compare every row with its bucket's choice, through a bucket-sized table
            table[lead_bucket] = column[leads]
            xor = table[bucket] ^ (column if round_ == 0 else column[pending])
            differ = xor if differ is None else np.bitwise_or(differ, xor, out=differ)
        same = differ == 0
        chosen[lead_bucket] = found + np.arange(leads.size, dtype=np.int32)  # from here on, group numbers
        group[pending[same]] = chosen[bucket[same]]
        leaders.append(leads)
        found += leads.size
        pending = pending[~same]
        round_ += 1
    return group, np.concatenate(leaders) if leaders else np.zeros(0, dtype=np.int32)


def _line_lengths(data: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Tokens per line, lines counted as ``str.splitlines`` counts them."""
    breaks = np.flatnonzero(_IS_LINE_END[data])
    after_return = (data[breaks] == ord("\n")) & (breaks > 0) & (data[np.maximum(breaks - 1, 0)] == ord("\r"))
    breaks = breaks[~after_return]  # "\r\n" ends one line, not two
    cuts = np.searchsorted(starts, breaks)  # tokens before each line end
    if data.size and not _IS_LINE_END[data[-1]]:
        cuts = np.append(cuts, starts.size)  # a last line without a line end
    return np.diff(cuts, prepend=0).astype(np.int64)
