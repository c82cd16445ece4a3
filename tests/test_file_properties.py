"""Property tests of the files the project reads back: checkpoints and word2vec text files.

For random small runs, a checkpoint saved is loaded back exactly, and any one corruption of it (an array
dropped, of another dtype or short of rows, a position field missing or wrong, the file cut short or a byte
flipped) is a W2VError naming what is wrong, never another exception. For random vocabularies and matrices, a
word2vec text file as this project, gensim or the word2vec tool writes it loads back the values written, and a
file cut short or with a garbage line in it is a W2VError, never another exception.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from backends.common.errors import W2VError
from backends.common.settings import Settings
from backends.training import checkpoint
from backends.training.state import KEYS, TABLES, TrainerState
from backends.vectors import embeddings

EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)


# -- checkpoints ------------------------------------------------------------------------------------------------


@st.composite
def runs(draw):
    """A checkpoint's contents as a real run leaves them: (state arrays, position, settings, batches an epoch)."""
    rows, columns = draw(st.integers(1, 6)), draw(st.integers(1, 4))
    per_epoch, batch_size = draw(st.integers(1, 5)), draw(st.integers(1, 8))
    epoch, batch = draw(st.integers(0, 3)), draw(st.integers(0, per_epoch))
    steps = epoch * per_epoch + batch
    values = st.floats(-1e3, 1e3, width=32)
    table = arrays(np.float32, (rows, columns), elements=values)
    named = {name: draw(table) for name in KEYS[:-1] if not name.endswith("_v")}
    named.update(
        {
            f"{name}_v": draw(arrays(np.float32, (rows, columns), elements=st.floats(0, 1e3, width=32)))
            for name in TABLES
        }
    )
    sizes = draw(st.lists(st.integers(1, batch_size), min_size=steps, max_size=steps))
    losses = draw(st.lists(st.floats(0, 10), min_size=steps, max_size=steps))
    current = range(steps - batch, steps)
    run_settings = {
        **Settings(embed_size=columns, batch_size=batch_size).to_dict(),
        "vocab_size": rows,
        "corpus_tokens": 1000,
    }
    position = {
        "settings": run_settings,
        "epoch": epoch,
        "batch": batch,
        "epoch_sum": float(sum(losses[i] * sizes[i] for i in current)),
        "epoch_centers": float(sum(sizes[i] for i in current)),
        "centers": sum(sizes),
        "step_losses": losses,
        "epoch_losses": draw(st.lists(st.floats(0, 10), min_size=epoch, max_size=epoch)),
    }
    state = TrainerState.from_arrays({**named, "adam_step": np.array(steps)})
    return state, position, run_settings, per_epoch


def load(path, run_settings, per_epoch):
    return checkpoint.load(path, run_settings, lambda epoch: per_epoch)


def write(path, arrays_, position):
    """A checkpoint with exactly these arrays and this position (a dict, or a string as it is stored)."""
    text = position if isinstance(position, str) else json.dumps(position)
    np.savez(path, **arrays_, **({} if position is None else {"position": np.array(text)}))


@EXAMPLES
@given(runs())
def test_a_checkpoint_loads_back_exactly_what_was_saved(tmp_path, run):
    state, position, run_settings, per_epoch = run
    path = checkpoint.save(tmp_path / "c.npz", state, position)
    loaded, back = load(path, run_settings, per_epoch)
    assert back == {**position, "format": checkpoint.FORMAT}
    assert set(loaded) == set(KEYS)
    for name, saved in state.arrays().items():
        assert loaded[name].dtype == (np.float32 if name != "adam_step" else np.int64)
        assert loaded[name].shape == saved.shape and np.array_equal(loaded[name], saved)
    assert TrainerState.from_arrays(loaded).step == state.step == len(position["step_losses"])


FIELDS = ("settings", "epoch", "batch", "centers", "epoch_sum", "epoch_centers", "step_losses", "epoch_losses")
BAD = {  # values wrong for the field whatever the rest of the position is
    "whole": [-1, 10**30, "3", 1.5, True, None, float("nan"), [1]],
    "number": [-1.0, 10**30, 10**400, "0.5", True, None, float("nan"), float("inf"), {}],
    "losses": [0.5, "0.5", None, {"a": 1}, [float("nan")], ["0.5"], [True], [float("-inf")], [None]],
}


@st.composite
def corruptions(draw):
    """One thing wrong with a checkpoint: (what the message must name, how to make it from (arrays, position))."""
    kind = draw(
        st.sampled_from(
            [
                "drop array",
                "dtype",
                "rows",
                "not finite",
                "negative moment",
                "adam_step",
                "drop field",
                "field value",
                "loss list",
                "format",
                "position",
            ]
        )
    )
    name = draw(st.sampled_from(KEYS[:-1]))
    field = draw(st.sampled_from(FIELDS))
    if kind == "drop array":
        name = draw(st.sampled_from(KEYS))
        return name, lambda a, p: ({k: v for k, v in a.items() if k != name}, p)
    if kind == "dtype":
        dtype = draw(st.sampled_from([np.float64, np.float16, np.int32, np.int64, np.bool_]))
        if draw(st.booleans()):
            return "adam_step", lambda a, p: ({**a, "adam_step": a["adam_step"].astype(np.float64)}, p)
        return name, lambda a, p: ({**a, name: a[name].astype(dtype)}, p)
    if kind == "rows":
        return name, lambda a, p: ({**a, name: a[name][:-1]}, p)
    if kind == "not finite":
        bad = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
        return name, lambda a, p: ({**a, name: _with(a[name], bad)}, p)
    if kind == "negative moment":
        name = draw(st.sampled_from([f"{table}_v" for table in TABLES]))
        return name, lambda a, p: ({**a, name: _with(a[name], -1.0)}, p)
    if kind == "adam_step":
        change = draw(st.sampled_from([1, -1, 10**6]))
        shape = draw(st.sampled_from([(), (1,)]))
        return "adam_step", lambda a, p: ({**a, "adam_step": np.full(shape, int(a["adam_step"]) + change)}, p)
    if kind == "drop field":
        return field, lambda a, p: (a, {k: v for k, v in p.items() if k != field})
    if kind == "field value":
        field = draw(st.sampled_from(FIELDS[1:6]))
        value = draw(st.sampled_from(BAD["whole" if field in checkpoint.WHOLE else "number"]))
        return field, lambda a, p: (a, {**p, field: value})
    if kind == "loss list":
        field = draw(st.sampled_from(checkpoint.LOSSES))
        value = draw(st.sampled_from(BAD["losses"]))
        if isinstance(value, list) and draw(st.booleans()):  # a bad loss among good ones
            return field, lambda a, p: (a, {**p, field: [*p[field], *value]})
        return field, lambda a, p: (a, {**p, field: value})
    if kind == "format":
        value = draw(st.sampled_from([2, 4, "3", 3.5, None, True]))
        return "format", lambda a, p: (a, {**p, "format": value})
    text = draw(st.sampled_from([None, "", "{", "[1, 2]", "null", "NaN", '"text"', "{'single': 1}", "[" * 10**5]))
    return "position", lambda a, p: (a, text)


def _with(array, value):
    changed = array.copy()
    changed.flat[0] = value
    return changed


@EXAMPLES
@given(runs(), corruptions())
def test_any_one_corruption_is_a_message_that_names_it(tmp_path, run, corruption):
    state, position, run_settings, per_epoch = run
    named, corrupt = corruption
    arrays_, changed = corrupt(state.arrays(), {**position, "format": checkpoint.FORMAT})
    path = tmp_path / "c.npz"
    write(path, arrays_, changed)
    with pytest.raises(W2VError) as refused:
        load(path, run_settings, per_epoch)
    message = str(refused.value)
    assert named in message and str(path) in message and "\n" not in message
    assert message.endswith(checkpoint.FIX) or "other settings" in message


@EXAMPLES
@given(runs(), st.data())
def test_a_checkpoint_cut_short_anywhere_is_a_message(tmp_path, run, data):
    state, position, run_settings, per_epoch = run
    whole = checkpoint.save(tmp_path / "c.npz", state, position).read_bytes()
    cut = data.draw(st.integers(0, len(whole) - 1))
    (tmp_path / "c.npz").write_bytes(whole[:cut])
    with pytest.raises(W2VError, match="is empty|is truncated|is not a checkpoint|is damaged") as refused:
        load(tmp_path / "c.npz", run_settings, per_epoch)
    assert str(tmp_path / "c.npz") in str(refused.value)


@EXAMPLES
@given(runs(), st.data())
def test_a_flipped_byte_is_a_message_or_changes_nothing(tmp_path, run, data):
    """A byte changed anywhere: the zip's checksums and the checks catch it, or it lay where nothing is read
    (a timestamp, say) and the checkpoint loads as saved. Never another exception."""
    state, position, run_settings, per_epoch = run
    whole = bytearray(checkpoint.save(tmp_path / "c.npz", state, position).read_bytes())
    where = data.draw(st.integers(0, len(whole) - 1))
    whole[where] ^= data.draw(st.integers(1, 255))
    (tmp_path / "c.npz").write_bytes(bytes(whole))
    try:
        loaded, back = load(tmp_path / "c.npz", run_settings, per_epoch)
    except W2VError as refused:
        assert str(tmp_path / "c.npz") in str(refused)
        return
    assert back == {**position, "format": checkpoint.FORMAT}
    assert all(np.array_equal(loaded[name], saved) for name, saved in state.arrays().items())


# -- word2vec text files ------------------------------------------------------------------------------------

WORD = st.text(st.characters(blacklist_categories=("Z", "C")), min_size=1, max_size=8)


VALUES = st.floats(-1e6, 1e6, width=32)


@st.composite
def vectors(draw, elements=VALUES):
    words = draw(st.lists(WORD, min_size=1, max_size=8, unique=True))
    matrix = draw(arrays(np.float32, (len(words), draw(st.integers(1, 5))), elements=elements))
    return words, matrix


def as_written(matrix):
    """The float32 values a word2vec text file of ``matrix`` holds: each number as save_word2vec writes it."""
    return np.array([[float(f"{x:.6g}") for x in row] for row in matrix.tolist()], dtype=np.float32)


@EXAMPLES
@given(vectors(st.floats(allow_nan=False, allow_infinity=False, width=32)))
def test_saved_vectors_load_back_as_written(tmp_path, written):
    words, matrix = written
    loaded_words, loaded = embeddings.load_word2vec(embeddings.save_word2vec(tmp_path / "e.txt", words, matrix))
    assert loaded_words == words and loaded.dtype == np.float32
    assert np.array_equal(loaded, as_written(matrix))  # exactly the numbers in the text
    np.testing.assert_allclose(loaded, matrix, rtol=1e-5, atol=1e-38)  # and those are the values to 6 digits


@pytest.mark.needs("gensim")
@EXAMPLES
@given(vectors(), st.booleans())
def test_files_gensim_writes_load_as_gensim_reads_them(tmp_path, written, header):
    from gensim.models import KeyedVectors

    words, matrix = written
    vectors_ = KeyedVectors(matrix.shape[1])
    vectors_.add_vectors(words, matrix)
    vectors_.save_word2vec_format(str(tmp_path / "g.txt"), binary=False, write_header=header)
    loaded_words, loaded = embeddings.load_word2vec(tmp_path / "g.txt")
    theirs = KeyedVectors.load_word2vec_format(str(tmp_path / "g.txt"), binary=False, no_header=not header)
    assert loaded_words == list(theirs.index_to_key) and np.array_equal(loaded, theirs.vectors)
    assert dict(zip(loaded_words, loaded.tolist())) == dict(zip(words, matrix.tolist()))  # exact: repr round-trips


@EXAMPLES
@given(vectors(st.floats(-1e3, 1e3, width=32)), st.booleans())
def test_files_the_word2vec_tool_writes_load(tmp_path, written, final_newline):
    """word2vec.c: fprintf("%s ", word), then fprintf("%lf ", value) for each (Python's f"{value:f}"), then
    "\\n" (the last perhaps lost)."""
    words, matrix = written
    lines = [f"{len(words)} {matrix.shape[1]}\n"] + [
        f"{word} " + "".join(f"{value:f} " for value in row.tolist()) + "\n" for word, row in zip(words, matrix)
    ]
    (tmp_path / "c.txt").write_text("".join(lines)[: None if final_newline else -1], encoding="utf-8")
    loaded_words, loaded = embeddings.load_word2vec(tmp_path / "c.txt")
    assert loaded_words == words
    expected = np.array([[float(f"{value:f}") for value in row] for row in matrix.tolist()], dtype=np.float32)
    assert np.array_equal(loaded, expected)


@EXAMPLES
@given(vectors(), st.data())
def test_a_file_cut_short_is_a_message_unless_only_its_last_line_lost_an_end(tmp_path, written, data):
    words, matrix = written
    whole = embeddings.save_word2vec(tmp_path / "e.txt", words, matrix).read_bytes()
    cut = data.draw(st.integers(1, len(whole) - 1))
    (tmp_path / "e.txt").write_bytes(whole[:cut])
    try:
        loaded_words, loaded = embeddings.load_word2vec(tmp_path / "e.txt")
    except W2VError as refused:
        assert str(tmp_path / "e.txt") in str(refused) and "\n" not in str(refused)
        return
    # Loaded: the cut fell inside the last line, after its word and at least a digit of each number.
    assert cut > whole.rstrip(b"\n").rfind(b"\n") and loaded_words == words and loaded.shape == matrix.shape
    assert np.array_equal(loaded[:-1], as_written(matrix)[:-1])


GARBAGE = st.one_of(
    st.text(min_size=1).filter(lambda text: text.strip(" \t\r\n") != "").map(lambda text: text.encode("utf-8")),
    st.binary(min_size=1).filter(lambda raw: raw.strip(b" \t\r\n") != b""),
    st.sampled_from([b"\0", b"word 1 2 3", b"1 2", b"\xff\xfe", "café".encode("latin-1"), b"a nan", b"x 1e39"]),
)


@EXAMPLES
@given(vectors(), GARBAGE, st.data())
def test_a_garbage_line_anywhere_is_a_message(tmp_path, written, garbage, data):
    words, matrix = written
    lines = embeddings.save_word2vec(tmp_path / "e.txt", words, matrix).read_bytes().splitlines(keepends=True)
    where = data.draw(st.integers(1, len(lines)))  # after the header: a line 1 of garbage is a header, or wrong
    lines.insert(where, garbage + b"\n")
    (tmp_path / "e.txt").write_bytes(b"".join(lines))
    with pytest.raises(W2VError) as refused:
        embeddings.load_word2vec(tmp_path / "e.txt")
    assert str(tmp_path / "e.txt") in str(refused.value) and "\n" not in str(refused.value)


@EXAMPLES
@given(st.binary(min_size=1, max_size=200))
def test_any_bytes_load_or_are_a_message(tmp_path, raw):
    (tmp_path / "e.txt").write_bytes(raw)
    try:
        words, matrix = embeddings.load_word2vec(tmp_path / "e.txt")
    except W2VError:
        return
    assert len(words) == len(set(words)) == matrix.shape[0] >= 1 and np.isfinite(matrix).all()
    assert matrix.dtype == np.float32 and math.prod(matrix.shape) >= 1


# -- from a corpus's words to every file a run writes, and back ----------------------------------------------------

corpus_words = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=6).filter(
    lambda word: word.split() == [word]
)  # what tokenizing any text can give: no whitespace of any kind


@EXAMPLES
@given(lines=st.lists(st.lists(corpus_words, min_size=1, max_size=8), min_size=1, max_size=30))
def test_whatever_a_corpus_holds_every_file_a_run_writes_reads_back(tmp_path_factory, lines):
    """A corpus of any words is refused with a message, or trains, and then its vectors, evaluation, history and
    report all read back: the same words, neighbours for each, a table row per framework."""
    from backends.cli.main import main
    from backends.experiments import report

    folder = tmp_path_factory.mktemp("corpus")
    (folder / "corpus.txt").write_text("\n".join(" ".join(line) for line in lines) + "\n", encoding="utf-8")
    code = main(
        [
            "train",
            "--framework",
            "numpy",
            "--data",
            str(folder / "corpus.txt"),
            "--min-count",
            "1",
            "--subsample-t",
            "1",
            "--max-steps",
            "2",
            "--out",
            str(folder),
            "--no-progress",
        ]
    )
    if code == 2:  # refused, as a corpus with no two-word line or too few words for noise is
        return
    assert code == 0
    words, matrix = embeddings.load_word2vec(folder / "numpy" / "embeddings.txt")
    vocabulary = {word for line in lines for word in line} - {"<unk>"}
    assert set(words) == vocabulary | {"<unk>"} and matrix.shape == (len(words), 100)
    for word in words[1:4]:
        assert len(embeddings.similar(matrix, words, word, 3)) == min(3, len(words) - 1)
    summary = report.report(folder)
    assert summary["probe_word"] in vocabulary and summary["frameworks"]["numpy"]["steps"] <= 2
    table = [row for row in (folder / "summary.md").read_text(encoding="utf-8").splitlines() if row.startswith("| ")]
    assert len(table) == 2 and all(_cells(row) == 10 for row in table)


def _cells(row: str) -> int:
    """The cells of a Markdown table row: its pipes, less the escaped ones, less one."""
    return row.count("|") - row.count("\\|") - 1
