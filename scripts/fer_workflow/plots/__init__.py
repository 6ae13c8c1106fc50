"""Figures. One module per stage (samples, training, evaluation, explain, ...);
this module holds what they share."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

DPI = 120


def save(fig, path):
    """Write a figure as PNG and free its memory."""
    fig.savefig(path, dpi=DPI, bbox_inches="tight")
    plt.close(fig)
