"""The one list of frameworks: their names, titles, pip extras, environments, and whether each is installed.

Everything that names the frameworks reads them from here: the command line (its choices and defaults),
``compare``, ``parity`` and the bench, the tests, the notebook generator, and a test that holds
``pyproject.toml``'s extras and both environments' lock files to this list. Adding or dropping a
framework is an edit here and a backend module ``backends/<name>.py``.

Whether a framework is installed is decided without importing it (``importlib.util.find_spec``):
importing TensorFlow alone takes seconds, and TensorFlow before MXNet in one process segfaults. A
framework that is present but fails to import (MXNet 1.9.1 beside NumPy 2, say) is reported when its
backend is loaded, by :func:`importing`, with what to install instead.
"""

from __future__ import annotations

import contextlib
import importlib.util
from dataclasses import dataclass
from typing import Iterator

from backends.common import shipped
from backends.common.errors import W2VError

# The two pinned environments (`make venv PROFILE=...`): the book's, with every framework, and today's
# releases with NumPy 2, where MXNet and d2l cannot go.
ENVIRONMENTS = ("book", "current")
# What readers install without a clone (Colab, their own environment). The repository's public address is not
# recorded yet: ADDRESS stands for it (the one you would clone) until it is written here.
PACKAGE = "w2v-companion"
SOURCE = "git+ADDRESS"


@dataclass(frozen=True)
class Framework:
    """One framework as this project uses it."""

    name: str  # the import name, also the backend module's: backends.<name>
    title: str  # as people write it
    modules: tuple[str, ...]  # the top-level modules its backend imports
    extra: str | None  # this package's pip extra that installs it (None: part of the base install)
    environments: tuple[str, ...] = ENVIRONMENTS  # the pinned environments that carry it
    needs: str = ""  # what it needs beyond the extra, said where it is missing
    chapter: bool = True  # whether it has a chapter notebook, notebooks/<name>/ (the NumPy oracle has none)

    @property
    def installed(self) -> bool:
        """Whether its modules can be found (not imported: see the module docstring).

        A folder that merely has the framework's name (``notebooks/mxnet/``, seen from ``notebooks/``) is a
        namespace package to Python, found but without an origin: that is not an installed framework.
        """
        specs = [importlib.util.find_spec(module) for module in self.modules]
        return all(spec is not None and spec.origin is not None for spec in specs)

    def pip_install(self, clone: bool) -> str:
        """The pip command that installs this package with this framework: editable in a clone, else from the
        repository's address."""
        extra = f"[{self.extra}]" if self.extra else ""
        return f'pip install -e ".{extra}"' if clone else f'pip install "{PACKAGE}{extra} @ {SOURCE}"'

    def how_to_install(self) -> str:
        """One sentence: the command that installs it, for the layout this package is in, and what else it needs."""
        if shipped.IN_CLONE:
            command = f"`{self.pip_install(clone=True)}` in the project folder" if self.extra else "`make venv`"
            where = "" if self.environments == ENVIRONMENTS else f" or `make venv PROFILE={self.environments[0]}`"
        else:
            command, where = f"`{self.pip_install(clone=False)}`", ""
        return f"Install it with {command}{where}{f' ({self.needs})' if self.needs else ''}."

    def notebook_install(self) -> str:
        """The one line a chapter notebook shows where its kernel lacks this package: the command to run."""
        needs = f" {self.needs}." if self.needs else ""
        return (f"no {PACKAGE} package in this kernel: run %{self.pip_install(clone=False)} "
                f"({SOURCE.removeprefix('git+')}: where the repository lives), then restart the kernel.{needs}")


REGISTRY: dict[str, Framework] = {
    framework.name: framework
    for framework in (
        Framework("torch", "PyTorch", ("torch",), "torch"),
        Framework(
            "mxnet", "MXNet", ("mxnet",), "mxnet", environments=("book",),
            needs="MXNet 1.9.1, its last release, needs Python 3.11 or older, NumPy older than 1.24 and Linux: "
                  "the book environment",
        ),
        Framework("jax", "JAX", ("jax", "flax", "optax"), "jax"),
        Framework("tensorflow", "TensorFlow", ("tensorflow",), "tensorflow"),
        Framework("numpy", "NumPy", ("numpy", "scipy"), None, chapter=False),
    )
}
FRAMEWORKS: tuple[str, ...] = tuple(REGISTRY)
# The peer baseline (`python -m backends baseline gensim`), an extra described as a framework is, so that one
# sentence says what to install for either; it is not a framework (no backend, no chapter, not in FRAMEWORKS).
PEERS: dict[str, Framework] = {"gensim": Framework("gensim", "gensim", ("gensim",), "gensim", chapter=False)}
CHAPTER_FRAMEWORKS: tuple[str, ...] = tuple(name for name, entry in REGISTRY.items() if entry.chapter)  # all but numpy


def framework(name: str) -> Framework:
    """The registry entry of ``name``; an unknown name is the user's mistake."""
    if name not in REGISTRY:
        raise W2VError(f"unknown framework {name!r}; choose one of {', '.join(FRAMEWORKS)}.")
    return REGISTRY[name]


def installed() -> tuple[str, ...]:
    """The frameworks whose modules are present, in registry order."""
    return tuple(name for name, entry in REGISTRY.items() if entry.installed)


@contextlib.contextmanager
def importing(name: str) -> Iterator[None]:
    """Wrap the imports of a framework (a backend's) or of a peer (gensim): a failure becomes one paragraph
    saying what to install.

    Any exception counts, not only ImportError: a framework built against another NumPy fails with an
    AttributeError or a RuntimeError inside its own import.
    """
    entry = REGISTRY[name] if name in REGISTRY else PEERS[name]
    try:
        yield
    except Exception as exc:  # noqa: BLE001 - whatever a broken install raises, the user needs the same advice
        if isinstance(exc, ModuleNotFoundError) or not entry.installed:
            raise W2VError(f"{entry.title} is not installed. {entry.how_to_install()}") from None
        raise W2VError(
            f"{entry.title} is installed but failed to import ({type(exc).__name__}: {exc}). {entry.how_to_install()}"
        ) from None
