"""Figures that must show the right thing: saliency by class on the built-in
faces (their cue masks, not the FER2013 boxes; no empty class column)."""

import numpy as np
from matplotlib.patches import Rectangle

from fer_workflow.plots import explain

REGIONS = {"brows": [[8, 9, 40, 15]], "mouth": [[13, 33, 35, 43]]}


def by_class(cues):
    rng = np.random.default_rng(0)
    counts = np.array([5, 0, 3, 4, 2, 6, 1])
    faces, maps = rng.uniform(0, 255, (7, 48, 48)), rng.uniform(0, 1, (7, 48, 48))
    return explain.saliency_by_class(faces, maps, counts, REGIONS, "smoothgrad", cues)


def test_saliency_by_class_leaves_out_classes_without_faces():
    fig = by_class(None)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(titles) == 6 and not any("Disgust" in t for t in titles)
    assert sum(isinstance(p, Rectangle) for p in fig.axes[0].patches) == 2  # the region boxes


def test_saliency_by_class_draws_the_cue_masks_instead_of_the_boxes():
    shares = np.zeros((7, 48, 48))
    shares[:, 10:14, 10:38] = 1.0
    fig = by_class({"brows": shares, "eyes": np.zeros((7, 48, 48))})
    assert not any(isinstance(p, Rectangle) for ax in fig.axes for p in ax.patches)
    assert any(ax.collections for ax in fig.axes)  # the brows' outline
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["brows (cue mask)", "eyes (cue mask)"]
