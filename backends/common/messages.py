"""The words a message is made of: counts with their nouns, lists as a sentence writes them, long lists cut short.

Every message of the project that counts things or lists names writes them with these, so that the same thing is
said the same way everywhere ("1 row", "2,048 rows"; "a, b and c"; "a, b, c, d, e and 3 more").
"""

from __future__ import annotations

from collections.abc import Sequence

SHOWN = 5  # how many names a cut-short list shows before "and N more"


def plural(number: int, noun: str) -> str:
    """``noun`` as it goes with ``number``: 'row' for 1, 'rows' for any other number (0 included)."""
    return noun if number == 1 else f"{noun}s"


def counted(number: int, noun: str) -> str:
    """``number`` with its noun, the number with thousands separators: '1 row', '2,048 rows', '0 words'."""
    return f"{number:,} {plural(number, noun)}"


def agreeing(number: int, one: str, many: str) -> str:
    """``one`` where ``number`` is 1, else ``many``: the verb or pronoun that goes with a count ('is'/'are')."""
    return one if number == 1 else many


def listed(items: Sequence[str], conjunction: str = "and") -> str:
    """``items`` as a sentence lists them: 'a', 'a and b', 'a, b and c' (or with 'or': 'a, b or c'); '' for none."""
    if len(items) < 2:
        return "".join(items)
    return f"{', '.join(items[:-1])} {conjunction} {items[-1]}"


def truncated(items: Sequence[str], shown: int = SHOWN) -> str:
    """The first ``shown`` of ``items`` joined with commas, and how many more there are: 'a, b, c, d, e and 3 more'
    ('a, b' where there are no more; '' for none)."""
    rest = len(items) - shown
    return ", ".join(items[:shown]) + (f" and {rest} more" if rest > 0 else "")
