"""Figures of the data stage: a grid of sample faces per class."""

import matplotlib.pyplot as plt
import numpy as np

from fer_workflow import CLASS_NAMES
from fer_workflow.data import choose


def sample_grid(images, labels, per_class=6, seed=0):
    """One row per class (name and count as the row label), ``per_class`` faces each."""
    picks = choose.per_class(labels, per_class, seed)
    fig, axes = plt.subplots(
        len(CLASS_NAMES), per_class, figsize=(1.1 * per_class + 1.2, 1.1 * len(CLASS_NAMES)), squeeze=False
    )
    for c, (name, rows) in enumerate(zip(CLASS_NAMES, picks, strict=True)):
        for j, ax in enumerate(axes[c]):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if j < len(rows):
                ax.imshow(images[rows[j]], cmap="gray", vmin=0, vmax=255)
        count = int((np.asarray(labels) == c).sum())
        axes[c, 0].set_ylabel(f"{name}\n(n={count})", rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle("Training faces per class", fontsize=10)
    fig.tight_layout()
    return fig
