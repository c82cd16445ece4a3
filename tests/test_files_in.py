"""Files given to the project, as they come: checkpoints checked field by field before any of them is used,
word2vec files as this project, gensim and the word2vec tool write them (and binary ones named as such),
and every --json output of the command line valid JSON, without NaN."""

import json
import shutil

import numpy as np
import pytest

from backends import numpy as numpy_backend
from backends.cli import main as cli
from backends.common.errors import W2VError
from backends.pipeline import corpus_from_text, make_dataset
from backends.training import checkpoint, loop
from backends.training.state import KEYS
from backends.vectors import embeddings
from helpers import ROOT, run, user_error


def one_paragraph(err: str) -> str:
    assert err.startswith("error: ") and "Traceback" not in err and err.count("\n") == 1, err
    return err


def strict_json(text: str):
    """``text`` parsed as JSON as the standard has it: NaN and Infinity, which json.dumps writes, are refused."""

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


# -- checkpoints ------------------------------------------------------------------------------------------------


def small_data(resample=False):
    """A corpus of 40 words (41 with <unk>) in 200 sentences: 17 batches of 64 an epoch (16 in later epochs,
    with resampling)."""
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(40)]
    corpus = corpus_from_text("\n".join(" ".join(rng.choice(words, size=8)) for _ in range(200)), min_count=1)
    return make_dataset(corpus, seed=0, subsample_t=0.01, resample_each_epoch=resample)


TRAINING = {"batch_size": 64, "epochs": 3, "embed_size": 8}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A real checkpoint, saved at step 28 (epoch 1, batch 11), and the run's settings."""
    data = small_data()
    path = tmp_path_factory.mktemp("checkpoint") / "checkpoint.npz"
    history = loop.fit(
        numpy_backend, data, progress=False, checkpoint=path, checkpoint_every=7, max_steps=30, **TRAINING
    )
    return path, history.settings


def rewritten(saved, tmp_path, change):
    """The saved checkpoint with ``change(arrays, position)`` made to a copy of its contents."""
    with np.load(saved) as whole:
        arrays = {name: whole[name] for name in whole.files}
    position = json.loads(str(arrays.pop("position")))
    arrays, position = change(arrays, position)
    np.savez(tmp_path / "c.npz", **arrays, position=np.array(json.dumps(position)))
    return tmp_path / "c.npz"


@pytest.mark.parametrize(
    "resample, optimizer",
    [(False, "adam"), (True, "adam"), (False, "lazy_adam")],
    ids=["same batches", "resampled", "lazy Adam"],
)
def test_a_run_resumed_across_an_epoch_ends_as_the_uninterrupted_run(tmp_path, resample, optimizer):
    """The checks pass real checkpoints: step 28 is batch 11 of epoch 1, of 17 or, resampled, 16 batches."""
    data = small_data(resample)
    training = {**TRAINING, "optimizer": optimizer}
    loop.fit(
        numpy_backend, data, progress=False, checkpoint=tmp_path / "c.npz", checkpoint_every=7, max_steps=30, **training
    )
    with np.load(tmp_path / "c.npz") as whole:
        position = json.loads(str(whole["position"]))
    assert (position["epoch"], position["batch"], len(position["step_losses"])) == (1, 11, 28)
    resumed = loop.fit(numpy_backend, data, progress=False, checkpoint=tmp_path / "c.npz", resume=True, **training)
    whole = loop.fit(numpy_backend, data, progress=False, **training)
    assert whole.settings["optimizer"] == optimizer
    assert resumed.step_losses == whole.step_losses and resumed.epoch_losses == whole.epoch_losses
    assert len(whole.step_losses) == (51 if not resample else 49)
    np.testing.assert_array_equal(resumed.embeddings, whole.embeddings)


def test_a_checkpoint_loads_back_as_saved(saved):
    path, settings = saved
    arrays, position = checkpoint.load(path, settings, lambda epoch: 17)
    assert set(arrays) == set(KEYS) and arrays["center"].shape == (41, 8) and int(arrays["adam_step"]) == 28
    assert all(arrays[name].dtype == np.float32 for name in KEYS[:-1])
    assert position["settings"] == settings and len(position["epoch_losses"]) == 1


def _first_row_dropped(name):
    return lambda a, p: ({**a, name: a[name][1:]}, p)


def _position(**changes):
    return lambda a, p: (a, {**p, **changes})


def _without(field):
    return lambda a, p: (a, {k: v for k, v in p.items() if k != field})


FIX = "Train again with --restart to start over, replacing it."
CORRUPT = [
    (
        "fewer rows",
        _first_row_dropped("center"),
        ("its array center has 40 rows, but the vocabulary has 41 words, one row each."),
    ),
    ("moment short", _first_row_dropped("context_v"), "its array context_v has 40 rows, but the vocabulary has 41"),
    (
        "integer table",
        lambda a, p: ({**a, "context": a["context"].astype(np.int64)}, p),
        "its array context is int64 of shape (41, 8), not float32.",
    ),
    (
        "float64 moment",
        lambda a, p: ({**a, "center_m": a["center_m"].astype(np.float64)}, p),
        "its array center_m is float64 of shape (41, 8), not float32.",
    ),
    (
        "float step",
        lambda a, p: ({**a, "adam_step": np.array(28.0)}, p),
        "its array adam_step is a single float64, not a whole number (a 0-d integer array).",
    ),
    (
        "step",
        lambda a, p: ({**a, "adam_step": np.array(27)}, p),
        "Adam's step count (adam_step) is 27, but the position holds 28 steps (step_losses).",
    ),
    (
        "nan table",
        lambda a, p: ({**a, "context": np.full_like(a["context"], np.nan)}, p),
        "its array context holds 328 values that are not finite (NaN or infinity).",
    ),
    (
        "no array",
        lambda a, p: ({k: v for k, v in a.items() if k != "center_v"}, p),
        "is incomplete: it holds no array center_v.",
    ),
    ("no field", _without("epoch_sum"), "is incomplete: its position has no epoch_sum."),
    ("string epoch", _position(epoch="1"), "its position's epoch is '1', not a whole number 0 or more."),
    ("bool", _position(centers=True), "its position's centers is True, not a whole number 0 or more."),
    ("negative batch", _position(batch=-3), "its position's batch is -3, not a whole number 0 or more."),
    (
        "huge batch",
        _position(batch=10**12),
        ("its position's batch is 1000000000000, more than the 28 steps it holds (step_losses)."),
    ),
    (
        "huge epoch",
        _position(epoch=10**30),
        (
            "its position's epoch is 1000000000000000000000000000000, but it holds "
            "the losses of 1 finished epoch (epoch_losses)."
        ),
    ),
    (
        "string loss",
        lambda a, p: (a, {**p, "step_losses": [*p["step_losses"][:-1], "0.7"]}),
        "its position's step_losses holds '0.7' at index 27, not a finite number.",
    ),
    (
        "nan loss",
        lambda a, p: (a, {**p, "epoch_losses": [float("nan")]}),
        "its position's epoch_losses holds nan at index 0, not a finite number.",
    ),
    (
        "epoch sum",
        _position(epoch_sum=1e6),
        ("its position's epoch_sum is 1000000.0, but the epoch's 11 step losses (the last of step_losses) over"),
    ),
    (
        "an int too large for a float",
        _position(epoch_sum=10**400),
        "its position's epoch_sum is 1000000000000000000000000000000000000..., not a finite number 0 or more.",
    ),
    (
        "too many centers",
        _position(centers=28 * 64 + 1),
        ("its position's centers is 1793, but 28 steps (step_losses) train between 28 and 1792 examples."),
    ),
    (
        "steps",
        _position(epoch=2, epoch_losses=[0.7, 0.7]),
        ("it holds 28 step losses (step_losses), but epoch 2 batch 11 is 45 steps in, at 17 batches an epoch."),
    ),
    ("settings", _position(settings=["lr", 0.002]), "its position's settings are ['lr', 0.002], not an object"),
    ("format", _position(format=2), "has format 2, not 3: it was written by another version of this project"),
]


@pytest.mark.parametrize("change, expected", [case[1:] for case in CORRUPT], ids=[case[0] for case in CORRUPT])
def test_each_wrong_field_is_one_sentence_naming_it(saved, tmp_path, change, expected):
    path = rewritten(saved[0], tmp_path, change)
    with pytest.raises(W2VError) as refused:
        checkpoint.load(path, saved[1], lambda epoch: 17)
    message = str(refused.value)
    assert message.startswith(f"the checkpoint {path} ") and expected in message and message.endswith(FIX)


def test_a_batch_beyond_its_epoch_is_refused(saved):
    with pytest.raises(W2VError, match=r"its position's batch is 11, but epoch 1 has 10 batches\. Train again"):
        checkpoint.load(saved[0], saved[1], lambda epoch: 10)


def test_files_that_are_not_checkpoints_say_so(saved, tmp_path):
    (tmp_path / "notes.txt").write_text("epoch 3, batch 11\n")
    shutil.copy(ROOT / "data" / "ptb.zip", tmp_path / "ptb.npz")
    (tmp_path / "cut.npz").write_bytes(saved[0].read_bytes()[:5000])
    expected = {
        "notes.txt": "is not a checkpoint (a .npz file written by train --checkpoint-every); it is another "
        "kind of file.",
        "ptb.npz": "is not a checkpoint (a .npz file written by train --checkpoint-every): it is a zip file "
        "without a checkpoint's arrays (it holds ptb/",
        "cut.npz": "is truncated: it begins as a .npz file does, but its end is missing",
    }
    for name, said in expected.items():
        with pytest.raises(W2VError) as refused:
            checkpoint.load(tmp_path / name, saved[1])
        assert str(tmp_path / name) in str(refused.value) and said in str(refused.value)
        assert str(refused.value).endswith(FIX)


def test_other_settings_are_named(saved):
    with pytest.raises(W2VError, match=r"other settings or on another corpus \(vocab_size 41 there, 42 now\)"):
        checkpoint.load(saved[0], {**saved[1], "vocab_size": 42})


def test_the_command_line_refuses_a_text_file_as_checkpoint_in_one_paragraph(capsys, tmp_path):
    (tmp_path / "numpy").mkdir()
    (tmp_path / "numpy" / "checkpoint.npz").write_text("not a checkpoint\n")
    err = one_paragraph(
        user_error(
            capsys, "train", "--framework", "numpy", "--resume", "--max-steps", "2", "--no-progress", "--out", tmp_path
        )
    )
    assert "is not a checkpoint (a .npz file written by train --checkpoint-every)" in err and FIX in err
    assert "pickled" not in err


def test_the_command_line_refuses_a_checkpoint_of_fewer_rows_in_one_paragraph(capsys, tmp_path):
    assert (
        cli.main(
            [
                "train",
                "--framework",
                "numpy",
                "--max-steps",
                "2",
                "--checkpoint-every",
                "2",
                "--no-progress",
                "--out",
                str(tmp_path / "run"),
            ]
        )
        == 0
    )
    capsys.readouterr()
    [written] = (tmp_path / "run").rglob("checkpoint.npz")
    (tmp_path / "numpy").mkdir()
    rewritten(written, tmp_path / "numpy", _first_row_dropped("center")).rename(tmp_path / "numpy" / "checkpoint.npz")
    err = one_paragraph(
        user_error(
            capsys, "train", "--framework", "numpy", "--resume", "--max-steps", "4", "--no-progress", "--out", tmp_path
        )
    )
    assert "its array center has 6,718 rows, but the vocabulary has 6,719 words, one row each." in err


# -- word2vec files -----------------------------------------------------------------------------------------


def load_text(tmp_path, content, name="e.txt"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return embeddings.load_word2vec(path)


def refusal(tmp_path, content, name="e.txt"):
    with pytest.raises(W2VError) as refused:
        load_text(tmp_path, content, name)
    message = str(refused.value)
    assert message.startswith(str(tmp_path / name)) and "\n" not in message
    return message[len(str(tmp_path / name)) + 1 :]


@pytest.mark.parametrize(
    "content",
    [
        "2 3\nking 1 0.1 0 \nqueen 0.9 0.2 0 \n",  # the word2vec tool: a space after every number
        "2 3\nking 1 0.1 0 \nqueen 0.9 0.2 0 ",  # and no line end after the last
        "\ufeff2 3\nking 1 0.1 0\nqueen 0.9 0.2 0\n",  # a byte-order mark, as Windows editors write
        "2 3\nking 1 0.1 0\nqueen 0.9 0.2 0\n\n\n",  # blank lines at the end
        "king 1 0.1 0\nqueen 0.9 0.2 0\n",  # gensim's write_header=False
        "2  3 \r\nking 1 0.1 0\r\nqueen 0.9 0.2 0\r\n",
    ],
    ids=["tool", "no final newline", "bom", "blank lines after", "no header", "crlf"],
)
def test_text_files_as_tools_write_them_load(tmp_path, content):
    words, matrix = load_text(tmp_path, content)
    assert words == ["king", "queen"]
    np.testing.assert_array_equal(matrix, np.array([[1, 0.1, 0], [0.9, 0.2, 0]], dtype=np.float32))


@pytest.mark.needs("gensim")
def test_files_gensim_writes_load_exactly(tmp_path):
    from gensim.models import KeyedVectors

    vectors = KeyedVectors(3)
    matrix = np.array([[1 / 3, -2e-7, 3e38], [0.1, -0.0, 7]], dtype=np.float32)
    vectors.add_vectors(["straße", "日本"], matrix)
    for header in (True, False):
        vectors.save_word2vec_format(str(tmp_path / "g.txt"), binary=False, write_header=header)
        words, loaded = embeddings.load_word2vec(tmp_path / "g.txt")
        assert words == ["straße", "日本"] and np.array_equal(loaded, matrix)


@pytest.mark.parametrize(
    "content, said",
    [
        (
            "3 2\nking 1 0\nqueen 0 1\n",
            (
                "is truncated: the header promises 3 words (line 1), the file has 2 (lines 2 to "
                "3). Correct the count in line 1, or write the file again."
            ),
        ),
        (
            "1 2\nking 1 0\nqueen 0 1\n",
            ("line 3 is malformed: the header (line 1) promises 1 word, and this line holds one more."),
        ),
        (
            "2 3\nking 1 0\nqueen 0 1\n",
            (
                "line 2 is malformed: expected a word and 3 numbers (as the header, line 1, "
                "says), found 2 after the word"
            ),
        ),
        (
            "2 2\nking 1 0 0\nqueen 0 1\n",
            (
                "line 2 is malformed: expected a word and 2 numbers (as the header, line 1, "
                "says), found 3 after the word; the file may be truncated or not in word2vec text "
                "format, or its word holds a space."
            ),
        ),
        ("king 1 0\nqueen 0 1 1\n", "line 2 is malformed: expected a word and 2 numbers (as on line 1), found 3"),
        ("2 2\nking 1 0\n\nqueen 0 1\n", "line 3 is blank, between vectors (line 4 has one)"),
        (
            "2 2\nking 1 0\nking 0 1\n",
            "line 3 is malformed: the word 'king' is on line 2 too; each word has one vector.",
        ),
        ("2 2\nking 1 0\n 0 1\n", "line 3 is malformed: it begins with a space, not a word."),
        ("2 2\nking 1 0\nqueen 0 1e39\n", "line 3 holds a number beyond float32's range (±3.4e38)"),
        ("2 2\nking 1 0\nqueen 0 one\n", "line 3 is malformed: it holds a value that is not a number ('one')."),
        ("0 5\n", "line 1 says it holds 0 words of 5 numbers: there are no vectors to read."),
        ("² 3\nking 1 0 0\n", "line 2 is malformed: expected a word and 1 number (as on line 1), found 3"),
        ("words and numbers\n", "line 1 should be 'COUNT SIZE' (word2vec text format), got 'words and numbers'."),
        ("2 2\nking 1 0\nqueen 0\x0c1\n", "line 3 is not text: this looks like a binary file"),
    ],
)
def test_files_that_disagree_with_their_header_or_the_format_name_the_line(tmp_path, content, said):
    assert said in refusal(tmp_path, content)


@pytest.mark.needs("gensim")
def test_binary_word2vec_files_are_named_as_binary_with_the_conversion(tmp_path):
    """The word2vec tool's -binary 1 (a line end after each vector) and gensim's binary=True (none): the
    message's recipe, run as it says, gives a file that loads."""
    from gensim.models import KeyedVectors

    matrix = np.array([[0.25, -1.5, 3.0], [1e-3, 2.0, -0.5]], dtype=np.float32)
    tool = b"2 3\n" + b"".join(w + b" " + row.tobytes() + b"\n" for w, row in zip([b"king", b"queen"], matrix))
    vectors = KeyedVectors(3)
    vectors.add_vectors(["king", "queen"], matrix)
    vectors.save_word2vec_format(str(tmp_path / "gensim.bin"), binary=True)
    for name, content in (("tool.bin", tool), ("gensim.bin", (tmp_path / "gensim.bin").read_bytes())):
        said = refusal(tmp_path, content, name)
        assert said.startswith("line 2 is not text: this looks like a binary file in word2vec's binary format")
        assert (
            "KeyedVectors.load_word2vec_format(path, binary=True).save_word2vec_format(new_path, binary=False)" in said
        )
        KeyedVectors.load_word2vec_format(str(tmp_path / name), binary=True).save_word2vec_format(
            str(tmp_path / "converted.txt"), binary=False
        )
        words, loaded = embeddings.load_word2vec(tmp_path / "converted.txt")
        assert words == ["king", "queen"] and np.array_equal(loaded, matrix)


@pytest.mark.needs("gensim")
def test_a_pickled_model_is_named_with_its_own_conversion(tmp_path):
    from gensim.models import KeyedVectors

    vectors = KeyedVectors(2)
    vectors.add_vectors(["king", "queen"], np.eye(2, dtype=np.float32))
    vectors.save(str(tmp_path / "vectors.kv"))
    with pytest.raises(
        W2VError,
        match=r"line 1 is not text: this looks like a binary file \(a gensim model saved "
        r"with \.save\(\), perhaps\).*KeyedVectors\.load\(path\)\.save_word2vec_format",
    ):
        embeddings.load_word2vec(tmp_path / "vectors.kv")


def test_words_that_the_text_format_cannot_hold_are_refused_on_saving(tmp_path):
    for word in ("two words", "line\nend", ""):
        with pytest.raises(W2VError, match="cannot be written in word2vec's text format"):
            embeddings.save_word2vec(tmp_path / "e.txt", ["king", word], np.ones((2, 2)))
    with pytest.raises(W2VError, match="1 word given for 2 vectors; give one word for each row"):
        embeddings.save_word2vec(tmp_path / "e.txt", ["king"], np.ones((2, 2)))
    assert not (tmp_path / "e.txt").exists()


def test_similar_refuses_a_matrix_that_is_not_the_words_and_a_k_that_is_not_whole():
    words, matrix = ["king", "queen", "pear"], np.eye(3)
    with pytest.raises(W2VError, match=r"the vectors \(2 x 3\) are not one row for each of the 3 words"):
        embeddings.similar(matrix[:2], words, "king")
    for k in (0, 1.5, True):
        with pytest.raises(W2VError, match=f"k {k!r} is out of range: it must be a whole number, at least 1."):
            embeddings.similar(matrix, words, "king", k)
    assert [w for w, _ in embeddings.similar(matrix, words, "king", np.int64(1))] == ["queen"]


# -- every --json output is JSON ----------------------------------------------------------------------------


def test_stats_json_is_strict_json():
    done = run("stats", "--json")
    assert done.returncode == 0, done.stderr
    assert strict_json(done.stdout)["vocab_size"] == 6719


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """Two 3-step NumPy runs into two folders, and the JSON line each train --json ended with."""
    out = tmp_path_factory.mktemp("runs")
    lines = []
    for folder in ("first", "second"):
        done = run(
            "train", "--framework", "numpy", "--max-steps", "3", "--out", out / folder, "--json", "--no-progress"
        )
        assert done.returncode == 0, done.stderr
        lines.append(done.stdout.strip().splitlines()[-1])
    return out, lines


def test_train_json_is_strict_json(two_runs):
    _, lines = two_runs
    summary = strict_json(lines[0])
    assert summary["framework"] == "numpy" and summary["steps"] == 3 and 0.6 < summary["loss"] < 0.7


def test_diff_json_is_strict_json(two_runs):
    out, _ = two_runs
    done = run("diff", out / "first", out / "second", "--json")
    assert done.returncode == 0, done.stderr
    numpy_run = strict_json(done.stdout)["numpy"]
    assert numpy_run["steps"] == 3 and numpy_run["identical"] is True and numpy_run["max_relative_difference"] == 0


def test_evaluate_json_is_strict_json(two_runs):
    out, _ = two_runs
    [vectors] = (out / "first").rglob("embeddings.txt")
    done = run("evaluate", vectors, "--json")
    assert done.returncode == 0, done.stderr
    result = strict_json(done.stdout)
    assert result["pairs_total"] == 353 and result["pairs"] > 100 and -1 <= result["spearman"] <= 1


def test_evaluate_json_of_too_few_pairs_says_null(tmp_path):
    (tmp_path / "e.txt").write_text("3 2\nking 1 0\nqueen 0 1\nman 1 1\n")
    done = run("evaluate", tmp_path / "e.txt", "--json")
    assert done.returncode == 0, done.stderr
    result = strict_json(done.stdout)
    assert result["pairs"] < 3 and result["spearman"] is None


@pytest.mark.needs("torch")
def test_parity_json_is_strict_json():
    done = run("parity", "--frameworks", "numpy,torch", "--steps", "2", "--json")
    assert done.returncode == 0, done.stderr
    result = strict_json(done.stdout)
    assert result["ok"] is True and result["steps"] == 2 and 0 <= result["max_relative_difference"]["numpy/torch"]


def test_a_checkpoint_from_before_a_setting_existed_resumes_with_its_default(saved, tmp_path):
    """A checkpoint written before the optimizer setting was added (its settings lack it) trained with Adam, the
    default: it loads for a run with Adam, and a lazy Adam run is told it differs."""
    path, settings = saved

    def without_optimizer(arrays, position):
        return arrays, {**position, "settings": {k: v for k, v in position["settings"].items() if k != "optimizer"}}

    older = rewritten(path, tmp_path, without_optimizer)
    arrays, _ = checkpoint.load(older, settings, lambda epoch: 17)
    assert int(arrays["adam_step"]) == 28
    with pytest.raises(W2VError, match=r"\(optimizer 'adam' there, 'lazy_adam' now\)"):
        checkpoint.load(older, {**settings, "optimizer": "lazy_adam"}, lambda epoch: 17)
