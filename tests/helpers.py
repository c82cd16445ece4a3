"""What several test modules use: which frameworks (and peers: gensim) this test run has, and ways to run the
command line.

`make venv` records the environment it built (book or current) in the virtual environment's folder.
A framework or peer that environment must carry fails every test that needs it when it is missing, so MXNet
cannot silently drop out of the book environment's CI; elsewhere (the smallest install, ``make test-minimal``,
which records no environment; a reader's own) the tests that need a missing one are skipped with the install
command as the reason. The one place that skips is ``conftest.pytest_runtest_setup``, which calls
:func:`require` for each ``needs`` marker and ``framework`` parameter.
"""

from __future__ import annotations

import importlib.util
import itertools
import os
import subprocess
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from backends.cli.main import main
from backends.common.frameworks import PEERS, REGISTRY

ROOT = Path(__file__).resolve().parent.parent
MARKER = Path(sys.prefix) / "w2v-environment"
ENVIRONMENT = MARKER.read_text().strip() if MARKER.is_file() else None
NEEDS = {**REGISTRY, **PEERS}  # what a test may need: a framework, or a peer (gensim)


def missing(name: str) -> str | None:
    """Why the tests of ``name`` cannot run here, or None when they can."""
    entry = NEEDS[name]
    return None if entry.installed else f"{entry.title} is not installed. {entry.how_to_install()}"


def skip_reason(name: str) -> str | None:
    """Why tests of ``name`` are skipped here: it is missing and this environment need not carry it."""
    return None if ENVIRONMENT in NEEDS[name].environments else missing(name)


def require(name: str) -> None:
    """Skip the calling test when ``name`` is missing, or fail it where this environment must carry it."""
    why = missing(name)
    if why is None:
        return
    if skip_reason(name) is None:
        pytest.fail(f"the {ENVIRONMENT} environment must carry {NEEDS[name].title}, but: {why}", pytrace=False)
    pytest.skip(why)


def installed_runs(data, steps: int, **options) -> dict:
    """Each installed framework's first ``steps`` steps on ``data`` with training ``options``, by name."""
    from backends import FRAMEWORKS, load_backend

    return {
        name: load_backend(name).train(data, max_steps=steps, progress=False, **options)
        for name in FRAMEWORKS
        if missing(name) is None
    }


def run(*args, env=None, cwd=ROOT) -> subprocess.CompletedProcess:
    """``python -m backends ARGS`` in a process of its own."""
    return subprocess.run(
        [sys.executable, "-m", "backends", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def tool(name: str) -> types.ModuleType:
    """tools/NAME.py, a maintainers' tool outside the package, loaded as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def user_error(capsys, *argv) -> str:
    """The command line in this process, which must refuse ``argv`` as a user's mistake: its message."""
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    assert code == 2, captured
    return captured.err


def scripted_backend(losses_per_example, interrupt_at=None, work=None) -> types.SimpleNamespace:
    """A backend whose step k calls ``work`` (if given) and returns losses_per_example[k] (times the batch size)."""

    class Trainer:
        def __init__(self, center_weights, context_weights, lr, device):
            self.device_name, self.calls, self.table = "cpu", 0, center_weights

        def step(self, batch):
            self.calls += 1
            if self.calls == interrupt_at:
                raise KeyboardInterrupt
            if work is not None:
                work()
            return losses_per_example[self.calls - 1] * batch.size

        def embeddings(self):
            return self.table

    return types.SimpleNamespace(NAME="fake", Trainer=Trainer, losses_to_numpy=np.asarray)


def interrupt_at_each_line(action: Callable[[], object], module: types.ModuleType) -> Iterator[str]:
    """Run ``action`` again and again, each time with a Ctrl-C (KeyboardInterrupt) landing at the next place in the
    code of ``module``: the first line, the second, ... (and each entry to one of its functions), until it runs to
    its end. Yields where each landed ("function:line"), after the interrupt has been caught.

    A signal can land at any instant; timing hits a narrow window only by luck, this hits every one in turn.
    """
    for count in itertools.count(1):
        place = _interrupted_at(count, action, module)
        if place is None:
            return
        yield place


def _interrupted_at(count: int, action: Callable[[], object], module: types.ModuleType) -> str | None:
    """Run ``action`` with a KeyboardInterrupt raised at the ``count``-th call or line that ``module``'s code runs:
    where it was raised, or None when the action ended first. The trace function raises it, and Python then
    removes the trace function: one interrupt per run, as one signal."""
    events, place = 0, None

    def trace(frame, event, arg):
        nonlocal events, place
        if frame.f_code.co_filename != module.__file__:
            return None
        if event in ("call", "line"):
            events += 1
            if events == count:
                place = f"{frame.f_code.co_name}:{frame.f_lineno}"
                raise KeyboardInterrupt
        return trace

    sys.settrace(trace)
    try:
        action()
    except KeyboardInterrupt:
        pass
    finally:
        sys.settrace(None)
    return place


def window_of(corpus, sentences: list[str], center: int, contexts) -> int:
    """Check that ``contexts`` (word ids) are exactly the words within one window of ``center`` in its sentence,
    for a corpus whose words are named ``w{sentence}_{position}`` (each word a position); returns the window."""
    position = {word: tuple(map(int, word[1:].split("_"))) for word in corpus.vocab.tokens[1:]}
    s, i = position[corpus.vocab.tokens[center]]
    got = [position[corpus.vocab.tokens[w]] for w in contexts]
    assert all(t == s for t, _ in got)
    offsets = sorted(j - i for _, j in got)
    window = max(abs(o) for o in offsets)
    length = len(sentences[s].split())
    assert offsets == [o for o in range(-window, window + 1) if o != 0 and 0 <= i + o < length]
    return window
