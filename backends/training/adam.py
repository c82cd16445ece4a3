"""Adam as every backend sets it up: the same constants, where epsilon goes, and the lazy variant.

PyTorch and optax add epsilon to the bias-corrected root sqrt(v / (1 - beta2^t)); MXNet and Keras fold the
bias corrections into the learning rate and add epsilon to the raw sqrt(v). :func:`epsilon_hat` is the
epsilon that makes the second kind take exactly the first kind's step.

**Lazy Adam** (the ``lazy_adam`` optimizer setting) is the chapter's Adam applied to the rows a batch looks
up and to no other; :func:`moved` writes the rule out once, and every lazy trainer but PyTorch's calls it.
At step t (counting from 1, every step of the run), for each row r of a table that the batch's indices name,
g being the batch's gradient of that row (its occurrences' gradients summed, then squared):

    m_r <- beta1 m_r + (1 - beta1) g        v_r <- beta2 v_r + (1 - beta2) g^2
    w_r <- w_r - lr * (m_r / (1 - beta1^t)) / (sqrt(v_r / (1 - beta2^t)) + epsilon)

Every other row, with its m and v, stays as it is. The bias corrections use the run's step t, not a count
of the row's own updates, so a row's first update after a long wait is (0.1 g) / sqrt(0.001 g^2), about
3.2 times lr, as in dense Adam for a row whose moments have decayed away. Where it differs from dense Adam:
dense Adam keeps moving a row the batch does not touch (by its decaying m) and decays both its moments;
lazy Adam leaves it alone. A row named by padding or a masked entry counts as looked up (its gradient is
zero, so its moments decay and it moves by its old momentum), as in PyTorch's ``SparseAdam``.

Among the frameworks: PyTorch's ``SparseAdam`` is this rule with epsilon on the raw sqrt(v) (so it is given
:func:`epsilon_hat`, as MXNet's and Keras' Adam are). MXNet's ``lazy_update`` and TensorFlow Addons'
``LazyAdam`` apply the same idea to row-sparse gradients; optax ships none. A step costs O(rows looked up),
where dense Adam's costs O(vocabulary).
"""

from __future__ import annotations

import numpy as np

BETA1, BETA2, EPSILON = 0.9, 0.999, 1e-8


def epsilon_hat(step):
    """The epsilon that makes MXNet's and Keras' Adam take exactly PyTorch's (and optax's) step at ``step``.

    The two agree when the latter uses epsilon * sqrt(1 - beta2^t) at step t (counting from 1). Without this,
    rows with tiny gradients (rare words) move differently, visibly so in the trained vectors. ``step`` may be
    a number or a framework tensor.
    """
    return EPSILON * (1 - BETA2**step) ** 0.5


def moved(m, v, grad, step, lr: float, sqrt=np.sqrt):
    """Adam's rule, as the module's docstring writes it, on some rows: given their moments ``m`` and ``v``,
    their gradient ``grad`` and the run's ``step`` t (from 1), their new moments and the change to subtract
    from the rows. Plain arithmetic, so the NumPy, MXNet, JAX and TensorFlow lazy trainers all call it with
    their own arrays (and their own ``sqrt``)."""
    m = BETA1 * m + (1 - BETA1) * grad
    v = BETA2 * v + (1 - BETA2) * grad * grad
    return m, v, lr * (m / (1 - BETA1**step)) / (sqrt(v / (1 - BETA2**step)) + EPSILON)


def looked_up(indices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows ``indices`` name, sorted, and each index's position among them (shaped as ``indices``):
    the rows lazy Adam updates, and how to read a batch's lookups from a table of those rows alone."""
    rows, where = np.unique(indices, return_inverse=True)
    return rows, where.reshape(indices.shape)
