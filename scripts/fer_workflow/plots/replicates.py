"""Replicate-seed figure: each seed's validation score, and per model the mean
with its 95% t-interval."""

import matplotlib.pyplot as plt
import numpy as np

from fer_workflow.evaluation.replicates import SCORES, STATISTICS, difference_name, n_seeds
from fer_workflow.plots.training import COLORS

TITLES = {"val_accuracy": "Validation accuracy", "val_macro_f1": "Validation macro-F1"}


def replicates_figure(table, models=("cnn", "dnn")):
    """Two panels (accuracy, macro-F1); per model one column of points (one per
    seed, labelled with it), the mean as a bar and the t-interval as a line.
    The paired difference goes in the title, with its interval."""
    seeds = table[table["statistic"] == "seed"]
    stats = table[table["statistic"] != "seed"]
    fig, axes = plt.subplots(1, len(SCORES), figsize=(4.2 * len(SCORES), 4))
    for ax, score in zip(axes, SCORES, strict=True):
        for x, model in enumerate(models):
            color = COLORS.get(model, f"C{x}")
            points = seeds[seeds["model"] == model]
            ax.scatter([x] * len(points), points[score], color=color, alpha=0.6, zorder=3)
            for _, p in points.iterrows():
                ax.annotate(
                    str(p["seed"]), (x, p[score]), xytext=(6, 0), textcoords="offset points", fontsize=7
                )
            mean, _, low, high = (
                stats[(stats["model"] == model) & (stats["statistic"] == s)][score].iloc[0]
                for s in STATISTICS
            )
            ax.hlines(mean, x - 0.25, x + 0.25, color=color, lw=2)
            ax.vlines(x - 0.15, low, high, color=color, lw=1.5)
        diff = difference_name(models)
        mean, _, low, high = (
            stats[(stats["model"] == diff) & (stats["statistic"] == s)][score].iloc[0] for s in STATISTICS
        )
        ax.set_xticks(range(len(models)), [m.upper() for m in models])
        ax.set_xlim(-0.6, len(models) - 0.4)
        interval = " (one seed)" if np.isnan(low) else f" [{low:+.3f}, {high:+.3f}]"
        ax.set_title(f"{TITLES[score]}\n{diff}: {mean:+.3f}{interval}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    n = seeds["seed"].nunique()
    fig.suptitle(f"{n_seeds(n)}: points per seed, bar = mean, line = 95% t-interval", fontsize=10)
    fig.tight_layout()
    return fig
