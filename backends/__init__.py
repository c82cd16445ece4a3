"""w2v-companion: skip-gram with negative sampling on PTB in four frameworks, side by side.

Design, once, for the next reader:

- ``frameworks`` is the one list of frameworks (names, titles, pip extras, which are installed), and
  ``contract`` states once what a backend module provides.
- ``ptb`` (the data), ``training`` (the loop), ``checkpoint``, ``embeddings`` (search and export),
  ``evaluation``, ``plotting``, ``compare``, ``baseline``, ``bench`` and ``cli`` are framework-neutral
  and import no framework at module level. They are written once and shared by every backend.
- ``torch``, ``mxnet``, ``jax`` and ``tensorflow`` are thin backends with the same names and
  signatures (:class:`backends.contract.Backend`); only framework idioms differ inside them.
  ``numpy`` is a fifth backend with no framework at all: its gradient and Adam are written by hand,
  and it is the oracle the others are checked against.
- A framework is imported only when its backend is asked for, so a missing or broken install of one
  never stops another from working; its import then fails with one paragraph saying what to install.

In a notebook, ``from backends import torch as w2v`` (or ``mxnet``, ``jax``, ``tensorflow``) makes the
cells that follow read the same in every framework.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from backends.frameworks import FRAMEWORKS, framework


def load_backend(name: str) -> ModuleType:
    """The backend module of the framework ``name``, importing the framework only now."""
    return importlib.import_module(f"backends.{framework(name).name}")
