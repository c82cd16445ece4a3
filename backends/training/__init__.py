"""The training loop, written once for every framework, and what a run keeps.

``loop`` steps a backend's ``Trainer`` through the epochs (``fit``); ``hooks`` are the loop's other jobs
(progress, checkpoints, Ctrl-C), ``history`` its record, ``checkpoint`` and ``state`` what resuming needs.
``weights`` (the shared initial draw), ``adam`` (its constants) and ``devices`` are what every backend sets up
the same way; ``contract`` states what a backend module provides, and ``baseline`` trains gensim as a peer.
"""

from backends.training.history import History, TrainingDiverged
from backends.training.loop import fit
from backends.training.weights import initial_weights

__all__ = ["History", "TrainingDiverged", "fit", "initial_weights"]
