"""w2v-companion: skip-gram with negative sampling on PTB in four frameworks, side by side.

Design, once, for the next reader:

- ``ptb`` (the data), ``training`` (the loop), ``checkpoint``, ``embeddings`` (search and export),
  ``evaluation``, ``plotting``, ``compare``, ``baseline``, ``bench`` and ``cli`` are framework-neutral
  and import no framework at module level. They are written once and shared by every backend.
- ``torch``, ``mxnet``, ``jax`` and ``tensorflow`` are thin backends with the same names and
  signatures: ``resolve_device``, ``skip_gram``, ``cbow``, ``masked_bce``, ``embedding``,
  ``gradients``, ``Trainer`` (``step``, ``embeddings``, ``state``, ``load_state``), ``tensor``,
  ``to_numpy``, ``losses_to_numpy`` and ``train``. Only framework idioms differ inside them.
  ``numpy`` is a fifth backend with no framework at all: its gradient and Adam are written by hand,
  and it is the oracle the others are checked against.
- A framework is imported only when its backend is asked for, so a missing or broken install of one
  never stops another from working; :func:`load_backend` turns that failure into a clear error.

In a notebook, ``from backends import torch as w2v`` (or ``mxnet``, ``jax``, ``tensorflow``) makes the
cells that follow read the same in every framework.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from backends.errors import W2VError

FRAMEWORKS = ("torch", "mxnet", "jax", "tensorflow", "numpy")

# What to install when a framework is missing: the import name maps to its pip packages.
PACKAGES = {
    "torch": "torch==2.13.0",
    "mxnet": "mxnet==1.9.1",
    "jax": "jax==0.4.23 jaxlib==0.4.23 flax==0.8.4 optax==0.2.1",
    "tensorflow": "tensorflow==2.17.1",
    "numpy": "numpy==1.23.5",
}


def load_backend(framework: str) -> ModuleType:
    """The backend module of ``framework``, importing the framework only now."""
    if framework not in FRAMEWORKS:
        raise W2VError(f"unknown framework {framework!r}; choose one of {', '.join(FRAMEWORKS)}.")
    try:
        return importlib.import_module(f"backends.{framework}")
    except ImportError as exc:
        raise W2VError(
            f"{framework} is not installed or failed to import ({exc}). Install the project's pinned "
            f"environment with `make venv`, or this framework alone with `pip install {PACKAGES[framework]}`."
        ) from None
