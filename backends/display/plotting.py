"""Figures: loss curves (one line per framework), a live curve for notebooks, and a PCA word map.

matplotlib only; figures are saved atomically so an interrupted save never leaves half a PNG.
"""

from __future__ import annotations

import io
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from backends.common.files import atomic_path


def smooth(values: Sequence[float], window: int = 25) -> np.ndarray:
    """A trailing moving average (shorter at the start), to see the trend through minibatch noise."""
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0:
        return array
    sums = np.cumsum(np.insert(array, 0, 0.0))
    lows = np.maximum(np.arange(1, array.size + 1) - window, 0)
    return (sums[1:] - sums[lows]) / (np.arange(1, array.size + 1) - lows)


def _draw_losses(ax, step_losses: Mapping[str, Sequence[float]], window: int) -> None:
    """Each run's per-step loss, smoothed, on ``ax``."""
    for name, losses in step_losses.items():
        ax.plot(np.arange(1, len(losses) + 1), smooth(losses, window), label=name, linewidth=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel(f"loss (moving average of {window} steps)")
    ax.grid(alpha=0.3)


def _mark_epochs(ax, steps_per_epoch: int, epochs: int) -> None:
    """A dotted line where each epoch after the first begins: the loss drops there when the data repeat."""
    for epoch in range(1, epochs):
        ax.axvline(epoch * steps_per_epoch + 0.5, color="grey", linestyle=":", linewidth=0.8)


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
    _draw_losses(axes[0, 0], step_losses, window)
    axes[0, 0].legend()
    if epoch_losses:
        ax = axes[0, 1]
        for name, losses in epoch_losses.items():
            ax.plot(np.arange(1, len(losses) + 1), losses, marker="o", label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("mean loss of the epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend()
    return _laid_out(fig, path)


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
    return _laid_out(fig, path)


def _laid_out(fig, path: str | Path | None):
    """``fig`` with its layout tightened, saved to ``path`` when given."""
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
    """A training run's loss curve, redrawn in place in a notebook cell while the run goes on.

    Pass it as ``progress=`` to ``train``: the curve, with the epoch, the step, the speed and the moving
    average of the last ``window`` steps' losses in its title, then shows how training goes; dotted lines
    mark where each epoch begins. It is displayed when created, so it keeps its place above anything the
    cell prints later, and it draws its own PNG images (a bare matplotlib Figure, not pyplot), so it shows
    as a picture whatever the notebook's matplotlib backend, and the saved notebook keeps the last one.
    """

    def __init__(self, every: int = 100, window: int = 25, dpi: int = 100) -> None:
        from IPython.display import display

        self.every, self.window, self.dpi = every, window, dpi
        self._drawn_at: int | None = None  # the step last drawn
        self._started: tuple[float, float] | None = None  # (time, centers) at the first read-back
        self._handle = display(self._image(None), display_id=True)

    def __call__(self, history) -> None:
        now = time.perf_counter()
        if self._started is None:  # the first read-back: rates are measured from here
            self._started = (now, history.centers)
        final = history.stopped is not None or history.steps >= history.planned_steps
        if self._drawn_at is not None and history.steps - self._drawn_at < self.every and not final:
            return
        self._drawn_at = history.steps
        seconds, centers = now - self._started[0], history.centers - self._started[1]
        self._handle.update(self._image(history, centers / seconds if seconds > 0 else None))

    def _image(self, history, rate: float | None = None):
        """The curve so far as a PNG image."""
        from IPython.display import Image

        buffer = io.BytesIO()
        self.figure(history, rate).savefig(buffer, format="png", dpi=self.dpi)
        return Image(data=buffer.getvalue(), format="png")

    def figure(self, history, rate: float | None = None):
        """The curve of ``history`` so far, ``rate`` centers/s (before the first losses: empty axes that say so)."""
        from matplotlib.figure import Figure

        fig = Figure(figsize=(9, 4))  # 900 x 400 pixels at the default dpi
        ax = fig.add_subplot()
        if history is None or not history.step_losses:
            ax.set_title("training: waiting for the first losses")
            ax.set_xlabel("step")
        else:
            _draw_losses(ax, {history.framework: history.step_losses}, self.window)
            epochs = history.settings["epochs"]
            _mark_epochs(ax, history.steps_per_epoch, epochs)
            epoch = min(-(-history.steps // max(history.steps_per_epoch, 1)), epochs)
            speed = f", {rate:,.0f} centers/s" if rate else ""
            recent = smooth(history.step_losses, self.window)[-1]
            ax.set_title(
                f"{history.framework} on {history.device}: epoch {epoch}/{epochs}, step {history.steps:,} "
                f"of {history.planned_steps:,}{speed}; loss of the last {self.window} steps {recent:.4f}",
                fontsize=10,
            )
            ax.set_xlim(0, max(history.planned_steps, 1))
        fig.tight_layout()
        return fig


def pca_2d(matrix: np.ndarray) -> np.ndarray:
    """The rows of ``matrix`` projected on their first two principal components."""
    centered = np.asarray(matrix, dtype=np.float64) - np.mean(matrix, axis=0)
    _, _, components = np.linalg.svd(centered, full_matrices=False)
    return centered @ components[:2].T


def plot_words(matrix: np.ndarray, words: Sequence[str], path: str | Path | None = None):
    """A labelled scatter of the given words' vectors in the plane of their two main components.

    adjustText moves the labels apart where they would overlap, with a thin line back to a moved label's point.
    """
    import matplotlib.pyplot as plt
    from adjustText import adjust_text

    points = pca_2d(matrix)
    fig, ax = plt.subplots(figsize=(9, 7))
    ax.scatter(points[:, 0], points[:, 1], s=10, color="tab:blue")
    labels = [ax.text(x, y, word, fontsize=9) for (x, y), word in zip(points, words)]
    # Stronger repulsion and more iterations than adjustText's defaults, which leave a few labels of a tight
    # group on top of each other (docs/performance.md: the overlaps counted with each setting).
    adjust_text(
        labels,
        x=points[:, 0],
        y=points[:, 1],
        ax=ax,
        expand=(1.3, 1.5),
        force_text=(0.5, 0.8),
        iter_lim=5000,
        arrowprops={"arrowstyle": "-", "color": "grey", "linewidth": 0.5},
    )
    ax.set_xlabel("first principal component")
    ax.set_ylabel("second principal component")
    return _laid_out(fig, path)
