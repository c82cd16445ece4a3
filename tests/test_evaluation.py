"""WordSim-353 evaluation, gensim interoperability and the gensim baseline."""

import json
import sys

import numpy as np
import pytest

from backends.common.errors import W2VError
from backends.vectors import embeddings, evaluation
from helpers import run, user_error


def test_shipped_wordsim_has_353_pairs():
    pairs = evaluation.load_wordsim()
    assert len(pairs) == 353 and pairs[0] == ("love", "sex", 6.77)


def test_spearman_of_vectors_that_rank_pairs_as_people_do():
    angles = np.linspace(0, np.pi / 2, 5)
    words = ["<unk>", "a", "b", "c", "d", "e", "f"]
    matrix = np.zeros((7, 2))
    matrix[1] = [1, 0]
    matrix[2:] = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    # human scores fall as the angle from "a" grows; "zzz" is out of the vocabulary
    pairs = [("a", w, 10 - i) for i, w in enumerate("bcdef")] + [("a", "zzz", 5.0)]
    result = evaluation.evaluate(words, matrix, pairs)
    assert result == {"pairs": 5, "pairs_total": 6, "oov_ratio": pytest.approx(1 / 6), "spearman": pytest.approx(1.0)}
    reversed_pairs = [(a, b, -s) for a, b, s in pairs]
    assert evaluation.evaluate(words, matrix, reversed_pairs)["spearman"] == pytest.approx(-1.0)


def test_malformed_wordsim_file(tmp_path):
    (tmp_path / "ws.tsv").write_text("# header\nlove\tsex\tlots\n")
    with pytest.raises(W2VError, match="line 2 is malformed"):
        evaluation.load_wordsim(tmp_path / "ws.tsv")


@pytest.mark.needs("torch")
def test_evaluate_command_reports_coverage(trained):
    out, _ = trained
    done = run("evaluate", out / "torch" / "embeddings.txt", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["pairs"] == 217 and result["pairs_total"] == 353 and -1 <= result["spearman"] <= 1
    saved = json.loads((out / "torch" / "evaluation.json").read_text())["wordsim353"]
    assert saved["spearman"] == pytest.approx(result["spearman"], abs=1e-6)


@pytest.mark.needs("torch")
@pytest.mark.needs("gensim")
def test_exported_embeddings_load_in_gensim_with_the_same_neighbours(trained):
    from gensim.models import KeyedVectors

    out, _ = trained
    path = out / "torch" / "embeddings.txt"
    vectors = KeyedVectors.load_word2vec_format(str(path), binary=False)
    words, matrix = embeddings.load_word2vec(path)
    assert list(vectors.index_to_key) == words
    np.testing.assert_allclose(vectors.vectors, matrix)
    for word in ("chip", "stock", "monday"):
        ours = embeddings.similar(matrix, words, word, k=5)
        theirs = vectors.most_similar(word, topn=5)
        assert [w for w, _ in ours] == [w for w, _ in theirs]
        np.testing.assert_allclose([c for _, c in ours], [c for _, c in theirs], atol=1e-5)


@pytest.mark.needs("gensim")
def test_gensim_baseline_writes_the_same_files(tmp_path):
    done = run("baseline", "gensim", "--epochs", "1", "--workers", "1", "--out", tmp_path, "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["framework"] == "gensim" and summary["centers_per_sec"] > 0
    history = json.loads((tmp_path / "gensim" / "history.json").read_text())
    assert history["settings"]["max_window"] == 5 and history["settings"]["num_noise"] == 5 and history["loss"] is None
    assert history["settings"]["epochs"] == 1 and history["settings"]["workers"] == 1
    words, matrix = embeddings.load_word2vec(tmp_path / "gensim" / "embeddings.txt")
    assert matrix.shape[1] == 100 and 6000 < len(words) <= 6718 and "chip" in words
    assert summary["wordsim353"]["pairs"] > 200


def test_the_baseline_without_gensim_says_how_to_install_it_and_leaves_nothing(capsys, tmp_path, monkeypatch):
    for name in ["gensim", *(name for name in sys.modules if name.startswith("gensim."))]:
        monkeypatch.setitem(sys.modules, name, None)  # as where it is not installed (or imported before): it fails
    err = user_error(capsys, "baseline", "gensim", "--epochs", "1", "--out", tmp_path)
    assert err.startswith("error: gensim is not installed. Install it with `pip install ") and "[gensim]" in err
    assert [p.name for p in tmp_path.iterdir()] == [".gensim.lock"]


def test_bad_baseline_settings(capsys, tmp_path):
    assert "must be at least 1" in user_error(capsys, "baseline", "gensim", "--epochs", "0", "--out", tmp_path)
