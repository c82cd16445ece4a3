"""Every backend against the same contract: its names and signatures, shapes, the chapter's loss values,
learning, determinism, checkpoint state, devices, and agreement with the NumPy oracle to float32 noise."""

import inspect
import itertools
import math
import re

import numpy as np
import pytest

from backends import FRAMEWORKS, load_backend
from backends.common.errors import W2VError
from backends.pipeline import make_dataset
from backends.training import contract
from backends.training.state import TrainerState
from backends.training.weights import initial_weights
from helpers import installed_runs

STEPS = 60
REFERENCE = "numpy"  # the oracle: no framework, always installed
OTHERS = [f for f in FRAMEWORKS if f != REFERENCE]


@pytest.fixture(scope="module", params=FRAMEWORKS)
def framework(request):
    return request.param


@pytest.fixture(scope="module")
def w2v(framework):
    return load_backend(framework)


@pytest.fixture(scope="module")
def runs(data):
    """Each installed framework's first STEPS steps from seed 0, trained once for the whole module."""
    return installed_runs(data, STEPS)


def _protocol_members(protocol) -> dict[str, object]:
    """The functions a Protocol declares, by name (its own, not those every class has)."""
    return {
        name: value for name, value in vars(protocol).items() if inspect.isfunction(value) and not name.startswith("_")
    }


def _parameters_problem(where: str, declared, actual) -> str | None:
    """Whether ``actual`` takes the parameters ``declared`` names, in order (``self`` of a module function
    aside), with any further ones optional."""
    wanted = [p for p in inspect.signature(declared).parameters.values() if p.name != "self"]
    got = [p for p in inspect.signature(actual).parameters.values() if p.name != "self"]
    if [(p.name, p.kind) for p in got[: len(wanted)]] != [(p.name, p.kind) for p in wanted]:
        return (
            f"{where} takes ({', '.join(p.name for p in got)}), the contract says ({', '.join(p.name for p in wanted)})"
        )
    if any(
        p.default is inspect.Parameter.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
        for p in got[len(wanted) :]
    ):
        return f"{where} requires parameters the contract does not pass"
    return None


def test_every_backend_keeps_the_contract(w2v):
    """The module has every name of contract.Backend with its parameters, and its Trainer those of
    contract.Trainer; the attributes an instance must carry are checked in test_state_round_trip."""
    properties = {name for name, value in vars(contract.Backend).items() if isinstance(value, property)}
    declared = set(contract.Backend.__annotations__) | set(_protocol_members(contract.Backend)) | properties
    assert "LazyTrainer" in declared and issubclass(w2v.LazyTrainer, w2v.Trainer)
    assert declared <= set(dir(w2v)), f"{w2v.NAME} lacks {sorted(declared - set(dir(w2v)))}"
    assert w2v.NAME == w2v.__name__.rsplit(".", 1)[1]
    problems = [
        _parameters_problem(f"{w2v.NAME}.{name}", function, getattr(w2v, name))
        for name, function in _protocol_members(contract.Backend).items()
    ]
    trainer_members = {"__init__": contract.Trainer.__init__, **_protocol_members(contract.Trainer)}
    problems += [
        _parameters_problem(f"{w2v.NAME}.Trainer.{name}", function, getattr(w2v.Trainer, name))
        for name, function in trainer_members.items()
    ]
    assert [p for p in problems if p] == []


def test_the_contract_check_catches_a_changed_signature():
    def skip_gram(centers, contexts, embed_center, embed_context):
        """A backend that renamed a parameter."""

    assert "contexts_negatives" in _parameters_problem("x.skip_gram", contract.Backend.skip_gram, skip_gram)
    assert _parameters_problem("x.resolve_device", contract.Backend.resolve_device, lambda request="auto": 0) is None


def test_embedding_looks_up_rows(w2v):
    table = w2v.embedding(np.arange(80, dtype=np.float32).reshape(20, 4))
    vectors = w2v.to_numpy(table(w2v.tensor(np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int32))))
    assert vectors.shape == (2, 3, 4)
    np.testing.assert_array_equal(vectors[1, 2], [24, 25, 26, 27])


def test_skip_gram_scores_are_dot_products(w2v):
    weights = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
    table = w2v.embedding(weights)
    centers = np.array([[1], [2]], dtype=np.int32)
    contexts_negatives = np.array([[3, 4, 5, 6], [7, 8, 9, 10]], dtype=np.int32)
    scores = w2v.to_numpy(w2v.skip_gram(w2v.tensor(centers), w2v.tensor(contexts_negatives), table, table))
    assert scores.shape == (2, 1, 4)
    expected = np.einsum("be,bwe->bw", weights[centers[:, 0]], weights[contexts_negatives])
    np.testing.assert_allclose(scores[:, 0], expected, rtol=1e-5, atol=1e-6)


def test_masked_loss_on_the_chapters_example(w2v, loss_example):
    losses = w2v.to_numpy(w2v.masked_bce(*map(w2v.tensor, loss_example)))
    np.testing.assert_allclose(losses, [0.9352, 1.8462], atol=5e-5)


def test_an_all_padding_row_costs_exactly_zero(w2v, loss_example):
    scores, label, mask = (a.copy() for a in loss_example)
    mask[1] = label[1] = 0
    losses = w2v.to_numpy(w2v.masked_bce(*map(w2v.tensor, (scores, label, mask))))
    assert losses[1] == 0.0 and np.isfinite(losses).all()


def test_training_starts_at_log_two_and_lowers_the_loss(w2v, runs):
    history = runs[w2v.NAME]
    # Xavier-small initial vectors score every pair near 0, where sigmoid BCE is ln 2.
    assert history.step_losses[0] == pytest.approx(math.log(2), abs=2e-3)
    assert np.mean(history.step_losses[-10:]) < history.step_losses[0] - 0.01


def test_history_contents(w2v, runs, data):
    record = runs[w2v.NAME].to_dict()
    assert record["framework"] == w2v.NAME and record["device"].startswith(("cpu", "gpu", "cuda"))
    assert record["steps"] == STEPS and len(record["step_losses"]) == STEPS
    assert record["epoch_losses"] == [pytest.approx(np.mean(record["step_losses"]), rel=1e-3)]
    assert record["loss"] == record["epoch_losses"][-1]
    assert record["centers_per_sec"] > 0 and record["centers"] == STEPS * 512
    assert runs[w2v.NAME].embeddings.shape == (len(data.vocab), 100)


def test_same_seed_gives_identical_step_losses(w2v, runs, data):
    again = w2v.train(data, max_steps=STEPS, progress=False)
    assert again.step_losses == runs[w2v.NAME].step_losses


@pytest.mark.parametrize("framework", OTHERS)
def test_step_losses_agree_with_the_oracle(framework, runs):
    """The project's signature: same data, same init, same order → the same curve to float32 noise."""
    ours, reference = np.array(runs[framework].step_losses), np.array(runs[REFERENCE].step_losses)
    relative = np.abs(ours - reference) / reference
    assert relative[:50].max() < 1e-4, f"{framework} drifts from the oracle by {relative.max():.2e}"
    # The trained vectors agree too. A handful of entries whose gradient is ~1e-8 take an Adam step in
    # whichever direction rounding gave them; a systematic difference (epsilon placement, say) moves
    # a third of all entries by more than 1e-5.
    apart = np.abs(runs[framework].embeddings - runs[REFERENCE].embeddings)
    assert np.median(apart) < 1e-6 and (apart > 1e-5).mean() < 1e-3 and (apart > 1e-4).mean() < 1e-4


@pytest.fixture(scope="module")
def lazy_runs(data):
    """Each installed framework's first STEPS steps with lazy Adam."""
    return installed_runs(data, STEPS, optimizer="lazy_adam")


@pytest.mark.parametrize("framework", OTHERS)
def test_lazy_adam_agrees_with_the_oracle(framework, lazy_runs, runs):
    """Each framework's own sparse machinery takes the oracle's lazy step: the same losses to float32 noise, the
    same vectors as closely as dense Adam's, and a curve of its own (it is not dense Adam under another name)."""
    ours, reference = np.array(lazy_runs[framework].step_losses), np.array(lazy_runs[REFERENCE].step_losses)
    assert (np.abs(ours - reference) / reference).max() < 1e-4
    apart = np.abs(lazy_runs[framework].embeddings - lazy_runs[REFERENCE].embeddings)
    assert np.median(apart) < 1e-6 and (apart > 1e-5).mean() < 1e-3 and (apart > 1e-4).mean() < 1e-4
    assert lazy_runs[framework].settings["optimizer"] == "lazy_adam"
    dense = np.array(runs[REFERENCE].step_losses)
    assert ours[1] == pytest.approx(dense[1], rel=1e-6)  # step 1 is the same: no row had moments to decay
    assert np.abs(ours[10:] - dense[10:]).max() > 1e-4


def test_lazy_adam_moves_only_the_rows_a_batch_looks_up(data):
    """The oracle's lazy step against its dense one: the same first step; at the second, the rows of the first
    batch that the second does not look up keep their weights and moments under lazy Adam, not under Adam."""
    from backends import numpy as oracle

    first, second = itertools.islice(data.batches(64), 2)
    weights = initial_weights(len(data.vocab), 8, seed=0)
    lazy, dense = oracle.LazyTrainer(*weights, lr=0.002), oracle.Trainer(*weights, lr=0.002)
    assert lazy.step(first) == dense.step(first)
    np.testing.assert_array_equal(lazy.tables[1], dense.tables[1])
    before = [table.copy() for table in lazy.tables], [m.copy() for m, _ in lazy.moments]
    lazy.step(second)
    dense.step(second)
    for table, name in enumerate(second.model.lookups):
        untouched = np.setdiff1d(getattr(first, data.model.lookups[table]), getattr(second, name))
        assert untouched.size > 0
        np.testing.assert_array_equal(lazy.tables[table][untouched], before[0][table][untouched])
        np.testing.assert_array_equal(lazy.moments[table][0][untouched], before[1][table][untouched])
        assert (dense.tables[table][untouched] != before[0][table][untouched]).all(axis=1).mean() > 0.9
        looked_up = np.unique(getattr(second, name))
        assert (lazy.tables[table][looked_up] != before[0][table][looked_up]).any(axis=1).mean() > 0.9


def test_cbow_scores_are_dot_products_with_the_mean_context(w2v):
    weights = np.random.default_rng(1).normal(size=(20, 4)).astype(np.float32)
    table = w2v.embedding(weights)
    contexts = np.array([[1, 2, 0], [3, 0, 0]], dtype=np.int32)
    context_mask = np.array([[1, 1, 0], [1, 0, 0]], dtype=np.float32)
    targets = np.array([[5, 6], [7, 8]], dtype=np.int32)
    scores = w2v.to_numpy(w2v.cbow(*map(w2v.tensor, (contexts, context_mask, targets)), table, table))
    means = np.stack([weights[[1, 2]].mean(0), weights[3]])
    assert scores.shape == (2, 1, 2)
    np.testing.assert_allclose(scores[:, 0], np.einsum("be,bte->bt", means, weights[targets]), rtol=1e-5, atol=1e-6)


@pytest.fixture(scope="module")
def cbow_runs(corpus):
    return installed_runs(make_dataset(corpus, model="cbow", seed=0), 30)


@pytest.mark.parametrize("framework", OTHERS)
def test_cbow_step_losses_agree_with_the_oracle(framework, cbow_runs):
    ours, reference = np.array(cbow_runs[framework].step_losses), np.array(cbow_runs[REFERENCE].step_losses)
    assert (np.abs(ours - reference) / reference).max() < 1e-4
    assert cbow_runs[framework].settings["model"] == "cbow"
    assert np.mean(reference[-5:]) < reference[0] - 1e-3  # CBOW starts slowly: ~0.002 lower after 30 steps


def test_gpu_asked_for_but_absent(w2v):
    if "cpu" not in str(w2v.resolve_device("auto")).lower():
        pytest.skip("this machine has a GPU")
    with pytest.raises(W2VError, match="GPU was asked for, but .* sees none.*--device cpu"):
        w2v.resolve_device("gpu")


@pytest.mark.needs("torch")
@pytest.mark.parametrize(
    "cuda, mps, asked, chosen",
    [
        (True, True, "auto", "cuda"),
        (False, True, "auto", "mps"),
        (False, True, "gpu", "mps"),
        (False, False, "auto", "cpu"),
        (True, False, "cpu", "cpu"),
        (False, True, "cpu", "cpu"),
    ],
)
def test_torch_chooses_cuda_then_apples_gpu(monkeypatch, cuda, mps, asked, chosen):
    """Where torch reports them (faked here): CUDA first, then Apple's GPU (MPS), named as such; cpu never uses one."""
    import torch

    w2v = load_backend("torch")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "NVIDIA H100 80GB HBM3")
    device = w2v.resolve_device(asked)
    assert device.type == chosen
    assert (
        w2v.describe_device(device)
        == {"cuda": "gpu (NVIDIA H100 80GB HBM3)", "mps": "gpu (Apple MPS)", "cpu": "cpu"}[chosen]
    )


@pytest.mark.needs("torch")
def test_torch_without_either_gpu_says_so(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(W2VError, match=r"PyTorch sees none \(neither torch.cuda nor torch.backends.mps"):
        load_backend("torch").resolve_device("gpu")


@pytest.mark.parametrize("framework", ["jax", "tensorflow"])
def test_the_compiled_step_is_built_once(framework, data):
    """Fixed shapes (the last batch padded to full size) mean one jit compilation / one tf.function trace."""
    trainer = load_backend(framework).Trainer(*initial_weights(len(data.vocab), 8, seed=0), lr=0.002)
    last = data.num_batches(4096) - 1
    for index, batch in enumerate(data.batches(4096)):
        if index in (0, 1, last):  # two full batches and the padded last one
            trainer.step(batch)
    if framework == "jax":
        assert trainer._update._cache_size() == 1
    else:
        assert trainer._update.experimental_get_tracing_count() == 1


@pytest.mark.parametrize("trainer", ["Trainer", "LazyTrainer"])
def test_state_round_trip(w2v, data, trainer):
    """state() → load_state() into a fresh trainer → the next step is the same, bit for bit.

    Checkpoints read Adam's moments where each framework keeps them, private attributes included
    (MXNet's updater, Keras' moment lists, optax's state tuple); a release that moves them breaks
    resume. This catches it in a second: the moments must be Adam's (they match the oracle's after
    three steps), and a trainer built from them must take exactly the step the original takes.
    """
    from backends import numpy as oracle

    batches = list(itertools.islice(data.batches(512), 4))
    weights = initial_weights(len(data.vocab), 8, seed=0)
    original = getattr(w2v, trainer)(*weights, lr=0.002, device="cpu")
    reference = getattr(oracle, trainer)(*weights, lr=0.002)
    assert original.device_name == "cpu"
    fresh = w2v.state(original)  # before the first step: the shared weights, zero moments
    assert fresh.step == 0 and np.array_equal(fresh.tables[0], weights[0])
    assert not any(moment.any() for pair in fresh.moments for moment in pair)
    for batch in batches[:3]:
        original.step(batch)
        reference.step(batch)
    saved, expected = w2v.state(original).arrays(), oracle.state(reference).arrays()
    assert (
        set(saved)
        == set(expected)
        == {"center", "context", "center_m", "center_v", "context_m", "context_v", "adam_step"}
    )
    assert int(saved["adam_step"]) == 3
    for key in expected:
        assert saved[key].shape == expected[key].shape, key
        if key.endswith(("_m", "_v")):  # Adam's moments, not zeros nor another framework's bookkeeping
            np.testing.assert_allclose(saved[key], expected[key], rtol=1e-3, atol=1e-9, err_msg=key)
    for table in ("center", "context"):  # a few entries with a ~1e-8 gradient step as rounding points them
        apart = np.abs(saved[table] - expected[table])
        assert np.median(apart) < 1e-6 and (apart > 1e-5).mean() < 1e-3, table
    assert np.abs(saved["context_v"]).max() > 0 and np.abs(saved["center_m"]).max() > 0

    restored = getattr(w2v, trainer)(*initial_weights(len(data.vocab), 8, seed=1), lr=0.002, device="cpu")
    w2v.load_state(restored, TrainerState.from_arrays(saved))
    loss_original = float(w2v.losses_to_numpy([original.step(batches[3])])[0])
    loss_restored = float(w2v.losses_to_numpy([restored.step(batches[3])])[0])
    assert loss_restored == loss_original
    after, again = w2v.state(original).arrays(), w2v.state(restored).arrays()
    assert int(again["adam_step"]) == 4
    for key in after:
        np.testing.assert_array_equal(again[key], after[key], err_msg=key)


def test_the_trainer_the_chapter_shows_is_the_teaching_part_only(w2v):
    """show_source(w2v.Trainer) in the notebooks: tables, forward pass, gradient and Adam, no checkpoint plumbing
    and no optimizer internals (those live in the module's state/load_state and _adam_slots)."""
    source = inspect.getsource(w2v.Trainer)
    assert not {"state", "load_state"} & set(vars(w2v.Trainer))
    assert re.findall(r"\._\w+", source) == [] or set(re.findall(r"\._\w+", source)) <= {
        "._update",
        "._compile",
        "._update_eager",
    }
    assert len(source.splitlines()) <= 45
