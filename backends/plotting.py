"""Figures: loss curves (one line per framework), a live curve for notebooks, and a PCA word map.

matplotlib only; figures are saved atomically so an interrupted save never leaves half a PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from backends.files import atomic_path


def smooth(values: Sequence[float], window: int = 25) -> np.ndarray:
    """A trailing moving average (shorter at the start), to see the trend through minibatch noise."""
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        return values
    sums = np.cumsum(np.insert(values, 0, 0.0))
    lows = np.maximum(np.arange(1, values.size + 1) - window, 0)
    return (sums[1:] - sums[lows]) / (np.arange(1, values.size + 1) - lows)


def plot_losses(
    step_losses: Mapping[str, Sequence[float]],
    path: str | Path | None = None,
    window: int = 25,
    epoch_losses: Mapping[str, Sequence[float]] | None = None,
):
    """Per-step loss (smoothed) for each named run, and beside it the per-epoch means when given.

    Saved to ``path`` when given. Returns the figure.
    """
    import matplotlib.pyplot as plt

    panels = 2 if epoch_losses else 1
    fig, axes = plt.subplots(1, panels, figsize=(7 * panels if panels == 1 else 11, 4), squeeze=False)
    ax = axes[0, 0]
    for name, losses in step_losses.items():
        ax.plot(np.arange(1, len(losses) + 1), smooth(losses, window), label=name, linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss (moving average of {window} steps)")
    ax.grid(alpha=0.3)
    ax.legend()
    if epoch_losses:
        ax = axes[0, 1]
        for name, losses in epoch_losses.items():
            ax.plot(np.arange(1, len(losses) + 1), losses, marker="o", label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean loss of the epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def plot_divergence(differences: Mapping[str, np.ndarray], reference_name: str, path: str | Path | None = None):
    """Each run's per-step relative difference from the reference run, on a log scale.

    Per-step differences flicker between exact agreement and a few float32 ulps, so each point is the
    largest difference within a window of ``window`` steps; a window in exact agreement sits at 1e-12,
    where no float32 difference can fall.
    """
    import matplotlib.pyplot as plt

    window = max(1, min(25, max(len(d) for d in differences.values()) // 20))
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, relative in differences.items():
        starts = np.arange(0, len(relative), window)
        ax.plot(starts + 1, np.maximum(np.maximum.reduceat(relative, starts), 1e-12), label=name, linewidth=1.0)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(f"relative difference from {reference_name}\n(largest in each {window} steps)")
    ax.axhline(1e-4, color="grey", linestyle="--", linewidth=0.8)
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig


def save_figure(fig, path: str | Path) -> Path:
    """Save a matplotlib figure atomically (PNG unless the suffix says otherwise)."""
    path = Path(path)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, format=path.suffix.lstrip(".") or "png", dpi=120)
    return path


class LiveLossPlot:
    """A loss curve that redraws in place in a Jupyter cell while training runs.

    Pass an instance as ``callback=`` to ``train``; it is called each time losses are read back.
    """

    def __init__(self, every: int = 100, window: int = 25) -> None:
        self.every, self.window, self._drawn_at, self._handle = every, window, -1, None

    def __call__(self, history) -> None:
        if history.steps - self._drawn_at < self.every and history.stopped is None and self._drawn_at >= 0:
            return
        import matplotlib.pyplot as plt
        from IPython.display import display

        self._drawn_at = history.steps
        fig = plot_losses({history.framework: history.step_losses}, window=self.window)
        fig.axes[0].set_title(f"{history.framework} on {history.device}: step {history.steps}")
        if self._handle is None:
            self._handle = display(fig, display_id=True)
        else:
            self._handle.update(fig)
        plt.close(fig)


def pca_2d(matrix: np.ndarray) -> np.ndarray:
    """The rows of ``matrix`` projected on their first two principal components."""
    centered = np.asarray(matrix, dtype=np.float64) - np.mean(matrix, axis=0)
    _, _, components = np.linalg.svd(centered, full_matrices=False)
    return centered @ components[:2].T


def plot_words(matrix: np.ndarray, words: Sequence[str], path: str | Path | None = None):
    """A labelled scatter of the given words' vectors in the plane of their two main components."""
    import matplotlib.pyplot as plt

    points = pca_2d(matrix)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.scatter(points[:, 0], points[:, 1], s=8, color="tab:blue")
    for (x, y), word in zip(points, words):
        ax.annotate(word, (x, y), fontsize=8, xytext=(2, 2), textcoords="offset points")
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    fig.tight_layout()
    if path is not None:
        save_figure(fig, path)
    return fig
