"""tools/memory.py: Zipf corpora written a piece at a time, and one measurement's figures."""

from pathlib import Path

import pytest

from helpers import tool

TOOLS = Path(__file__).resolve().parent.parent / "tools"


@pytest.fixture
def memory(monkeypatch):
    monkeypatch.syspath_prepend(str(TOOLS))  # the tool imports tools/bench.py as `bench`, as run from tools/
    return tool("memory")


def test_a_zipf_corpus_is_written_a_piece_at_a_time_each_from_its_own_seed(tmp_path, monkeypatch, memory):
    monkeypatch.setattr(memory, "PIECE_TOKENS", 10)
    path = tmp_path / "zipf.txt"
    memory.write_zipf(path, 25, 7)
    pieces = [memory.synthetic_corpus(size, 7, seed=seed) for seed, size in enumerate((10, 10, 5))]
    assert path.read_text(encoding="utf-8") == "".join(piece + "\n" for piece in pieces)
    assert len(path.read_text(encoding="utf-8").split()) == 25 and len(set(pieces)) == 3


def test_a_measurement_loads_sampling_at_update_time_then_trains(tmp_path, memory):
    path = tmp_path / "zipf.txt"
    memory.write_zipf(path, 20_000, 300)
    result = memory.task({"corpus": str(path), "framework": "numpy", "steps": 2, "min_count": 1})
    assert result["tokens"] == 20_000 and result["vocab_size"] == 301  # <unk> and every word drawn
    assert 0 < result["centers"] < 20_000 and result["load_seconds"] > 0
    assert 0 < result["load_peak_mib"] <= result["peak_mib"]
    failed = {"corpus": "d", "framework": "x", "error": "e"}
    rows = memory.table([{"corpus": "c", "framework": "numpy", **result}, failed])
    assert rows.splitlines()[2].startswith("| c | numpy | 20,000 | 301 | ") and rows.endswith("| d | x | e | | | | |")
