"""w2v-companion: skip-gram with negative sampling on PTB in four frameworks, side by side.

The folder tree is the architecture:

- ``torch``, ``mxnet``, ``jax``, ``tensorflow`` (this folder's modules) are the thin backends the notebooks
  import, ``from backends import torch as w2v``: the same names and signatures in each
  (:class:`backends.training.contract.Backend`), only framework idioms inside. ``numpy`` is a fifth with no
  framework at all: its gradient and Adam are written by hand, and it is the oracle the others are checked
  against.
- The packages are the shared code, written once, importing no framework:
  ``common`` (errors, the registry of frameworks, the settings, seeds, files, memory), ``pipeline`` (PTB to
  batches), ``training`` (the loop, its hooks, checkpoints, the contract), ``vectors`` (neighbours,
  embeddings files, WordSim-353), ``display`` (figures and notebook helpers) and ``cli`` (``python -m
  backends``, compare, parity, report and the bench).
- A framework is imported only when its backend is asked for, so a missing or broken install of one
  never stops another from working; its import then fails with one paragraph saying what to install.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from backends.common.frameworks import FRAMEWORKS, framework

__all__ = ["FRAMEWORKS", "load_backend"]


def load_backend(name: str) -> ModuleType:
    """The backend module of the framework ``name``, importing the framework only now."""
    return importlib.import_module(f"backends.{framework(name).name}")
