"""Times the small choices the pipeline and the NumPy oracle make against the obvious way of writing them, on
arrays of the sizes PTB gives, so that docs/performance.md can say what each choice gains and how that was
measured: ``python tools/code_choices.py`` prints a Markdown table (the median of 7 runs of each).

Each pair is checked to give the same result before it is timed.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from backends import numpy as oracle  # noqa: E402
from backends.pipeline.noise import AliasSampler  # noqa: E402

REPEATS = 7


def median_seconds(function: Callable[[], object]) -> float:
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def row_sums(rng: np.random.Generator) -> tuple[str, Callable, Callable]:
    """The oracle's gradient rows summed into a table (one batch: 512 x 60 rows of 100 into 6,719 x 100)."""
    indices = rng.integers(0, 6_719, size=512 * 60)
    rows = rng.standard_normal((indices.size, 100)).astype(np.float32)

    def one_hot_product():
        looked_up, sums = oracle._sum_per_row(indices, rows)
        table = np.zeros((6_719, 100), dtype=np.float32)
        table[looked_up] = sums
        return table

    def add_at():
        table = np.zeros((6_719, 100), dtype=np.float32)
        np.add.at(table, indices, rows)
        return table

    return (
        "gradient rows summed into a table: a sparse one-hot product (`numpy.py`) against `np.add.at`",
        one_hot_product,
        add_at,
    )


def alias_pick(rng: np.random.Generator) -> tuple[str, Callable, Callable]:
    """The alias method's last step over one epoch's noise words (7.5 million)."""
    column = rng.integers(0, 6_719, size=7_500_000, dtype=np.int32)
    alias = rng.integers(0, 6_719, size=column.size, dtype=np.int32)
    keep = rng.random(column.size, dtype=np.float32) < 0.5
    return (
        "alias pick: `alias + keep * (column - alias)` (`noise.py`) against `np.where(keep, column, alias)`",
        lambda: alias + keep * (column - alias),
        lambda: np.where(keep, column, alias),
    )


def group_columns(rng: np.random.Generator) -> tuple[str, Callable, Callable]:
    """One group of the skip-gram table: the first n context columns of some rows (PTB: 350,000 centers)."""
    contexts = rng.integers(0, 6_719, size=(350_000, 10), dtype=np.int32)
    rows = rng.permutation(contexts.shape[0])[:60_000]
    return (
        "a group's context columns: `np.take(a, rows, axis=0)[:, :n]` (`models.py`) against `a[rows, :n]`",
        lambda: np.take(contexts, rows, axis=0)[:, :6],
        lambda: contexts[rows, :6],
    )


def alias_table(rng: np.random.Generator) -> tuple[str, Callable, Callable]:
    """Building the alias table of the noise distribution of 6,719 words from Python floats or NumPy's."""
    probs = rng.random(6_719)
    probs /= probs.sum()
    return (
        "alias table built from Python floats (`noise.py`, `.tolist()`) against from a NumPy array",
        lambda: AliasSampler(probs),
        lambda: _alias_on_numpy(probs),
    )


def _alias_on_numpy(probs: np.ndarray) -> tuple[list, list]:
    """The alias table's loop as AliasSampler runs it, on NumPy floats instead of Python's."""
    size = probs.size
    scaled = probs * size
    accept, alias = [1.0] * size, list(range(size))
    small = [i for i in range(size) if scaled[i] < 1.0]
    large = [i for i in range(size) if scaled[i] >= 1.0]
    while small and large:
        lo, hi = small.pop(), large.pop()
        accept[lo], alias[lo] = scaled[lo], hi
        scaled[hi] -= 1.0 - scaled[lo]
        (small if scaled[hi] < 1.0 else large).append(hi)
    return accept, alias


def main() -> int:
    rng = np.random.default_rng(0)
    print("| choice | this way | the other way | ratio |\n|---|---:|---:|---:|")
    for case in (row_sums, alias_pick, group_columns, alias_table):
        what, ours, other = case(rng)
        if case is not alias_table:  # the same result, else the timing means nothing
            assert np.allclose(ours(), other(), atol=1e-3), what
        fast, slow = median_seconds(ours), median_seconds(other)
        print(f"| {what} | {fast * 1e3:,.1f} ms | {slow * 1e3:,.1f} ms | {slow / fast:.1f}× |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
