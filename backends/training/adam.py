"""Adam as every backend sets it up: the same constants, and where epsilon goes.

PyTorch and optax add epsilon to the bias-corrected root sqrt(v / (1 - beta2^t)); MXNet and Keras fold the
bias corrections into the learning rate and add epsilon to the raw sqrt(v). :func:`epsilon_hat` is the
epsilon that makes the second kind take exactly the first kind's step.
"""

from __future__ import annotations

BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8


def epsilon_hat(step):
    """The epsilon that makes MXNet's and Keras' Adam take exactly PyTorch's (and optax's) step at ``step``.

    The two agree when the latter uses epsilon * sqrt(1 - beta2^t) at step t (counting from 1). Without this,
    rows with tiny gradients (rare words) move differently, visibly so in the trained vectors. ``step`` may be
    a number or a framework tensor.
    """
    return EPSILON * (1 - BETA2**step) ** 0.5
