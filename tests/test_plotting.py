"""What the figures show a reader: the live curve's size, title and epoch marks, and a word map whose labels
do not overlap."""

import io
import itertools

import numpy as np
import pytest
from PIL import Image

from backends import load_backend
from backends.display import plotting


@pytest.fixture(scope="module")
def history(corpus):
    from backends.pipeline import make_dataset

    data = make_dataset(corpus, seed=0, max_window=1)  # narrow rows, big batches: a quick 2-epoch run
    return load_backend("numpy").train(data, epochs=2, batch_size=4096, embed_size=8, progress=False)


def test_the_live_curve_is_900_by_400_pixels_and_says_which_loss_it_shows(history):
    plot = plotting.LiveLossPlot()
    image = Image.open(io.BytesIO(plot._image(history, 1234.0).data))
    assert image.size == (900, 400)
    figure = plot.figure(history, 1234.0)
    title = figure.axes[0].get_title()
    assert title.startswith(f"numpy on cpu: epoch 2/2, step {history.steps:,} of {history.planned_steps:,}")
    recent = plotting.smooth(history.step_losses, 25)[-1]
    assert title.endswith(f", 1,234 centers/s; loss of the last 25 steps {recent:.4f}")
    dotted = [line for line in figure.axes[0].lines if line.get_linestyle() == ":"]
    assert [line.get_xdata()[0] for line in dotted] == [history.steps_per_epoch + 0.5]  # epoch 2 begins there


def _overlapping(labels, renderer) -> list[tuple[str, str]]:
    boxes = [(label.get_text(), label.get_window_extent(renderer)) for label in labels]
    return [(a, b) for (a, box_a), (b, box_b) in itertools.combinations(boxes, 2) if box_a.overlaps(box_b)]


def test_the_word_maps_labels_do_not_overlap():
    rng = np.random.default_rng(0)
    words = [f"word{i}" for i in range(40)]
    crowded = np.repeat(rng.normal(size=(8, 10)), 5, axis=0) + rng.normal(scale=1e-3, size=(40, 10))  # 8 tight groups
    figure = plotting.plot_words(crowded, words)
    renderer = figure.canvas.get_renderer()
    labels = figure.axes[0].texts
    assert sorted(label.get_text() for label in labels) == sorted(words)
    assert _overlapping(labels, renderer) == []
    points = plotting.pca_2d(crowded)
    bare = [figure.axes[0].text(x, y, word, fontsize=9) for (x, y), word in zip(points, words)]  # where they start
    assert len(_overlapping(bare, renderer)) > 20  # so the layout had work to do
