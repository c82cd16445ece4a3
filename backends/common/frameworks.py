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
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import metadata

from backends.common import shipped
from backends.common.errors import W2VError
from backends.common.package import PACKAGE, REPOSITORY, WHEEL

# The two pinned environments (`make venv PROFILE=...`): the book's, with every framework, and today's
# releases with NumPy 2, where MXNet and d2l cannot go.
ENVIRONMENTS = ("book", "current")


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

    def _extra_requirements(self) -> list[str]:
        """What this framework's extra installs, as the installed package's metadata lists it (empty where the
        package is not installed, or the framework needs no extra)."""
        try:
            requires = metadata.requires(PACKAGE) or []
        except metadata.PackageNotFoundError:
            return []
        marker = f'extra == "{self.extra}"'
        return [requirement.split(";")[0].strip() for requirement in requires if marker in requirement]

    def how_to_install(self) -> str:
        """One sentence: the command that installs it, for the layout this package is in, and what else it needs.

        In a clone, the editable install with the extra; in an installed package, the extra's own requirements,
        which need no address (the wheel with the extra, where the package's metadata cannot be read)."""
        needs = f" ({self.needs})" if self.needs else ""
        if not self.extra:
            return f"Install it with `make venv`{needs}." if shipped.IN_CLONE else f"Reinstall {PACKAGE}{needs}."
        if shipped.IN_CLONE:
            where = "" if self.environments == ENVIRONMENTS else f" or `make venv PROFILE={self.environments[0]}`"
            return f'Install it with `pip install -e ".[{self.extra}]"` in the project folder{where}{needs}.'
        requirements = self._extra_requirements()
        if not requirements:
            return f'Install it with `pip install "{WHEEL}[{self.extra}]"` in the folder of the wheel{needs}.'
        quoted = " ".join(f'"{requirement}"' for requirement in requirements)
        return f"Install it with `pip install {quoted}`{needs}."

    def notebook_install(self) -> str:
        """The one line a chapter notebook shows where its kernel lacks this package: the commands that work as
        printed, the wheel beside the notebook first, and the repository's address where one is recorded."""
        extra = f"[{self.extra}]" if self.extra else ""
        repository = (
            f' Or, without the wheel: %pip install "{PACKAGE}{extra} @ git+{REPOSITORY}".' if REPOSITORY else ""
        )
        needs = f" {self.needs}." if self.needs else ""
        return (
            f"no {PACKAGE} package in this kernel. Put the wheel {WHEEL} (a download on the companion site, "
            f"or `make wheel` in the repository) in this notebook's folder (in Colab: upload it to the "
            f'session\'s files), run %pip install "{WHEEL}{extra}" in a cell, then restart the kernel.'
            f"{repository}{needs}"
        )


REGISTRY: dict[str, Framework] = {
    framework.name: framework
    for framework in (
        Framework("torch", "PyTorch", ("torch",), "torch"),
        Framework(
            "mxnet",
            "MXNet",
            ("mxnet",),
            "mxnet",
            environments=("book",),
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
