"""Figures of the annotator analysis (``fer_workflow.findings.agreement``): the
annotators' confusion beside the model's, and the confused pairs' votes."""

import matplotlib.pyplot as plt
import numpy as np

from fer_workflow.plots.evaluation import confusion_panel


def confusion_figure(annotator_counts, model_counts, model, split):
    """Two confusion matrices of the same faces, same classes and colour scale:
    FER2013 label against the FER+ plurality, and against the model's answer."""
    annotator_counts, model_counts = np.asarray(annotator_counts), np.asarray(model_counts)
    fig, axes = plt.subplots(1, 2, figsize=(17.0, 7.2), layout="constrained")
    panels = (
        (annotator_counts, "FER+ plurality (10 annotators)", "Annotators"),
        (model_counts, f"{model.upper()} prediction", model.upper()),
    )
    for ax, (counts, xlabel, who) in zip(axes, panels, strict=True):
        image = confusion_panel(ax, counts, xlabel=xlabel, ylabel="FER2013 label")
        agree = np.trace(counts) / counts.sum() if counts.sum() else np.nan
        ax.set_title(f"{who}: {agree:.1%} agree with the label ({int(counts.sum())} faces)")
    fig.suptitle(f"Who confuses what, on the {split} split: the annotators (left) and the {model.upper()}")
    bar = fig.colorbar(image, ax=axes, fraction=0.025, pad=0.02)
    bar.set_label("% of the FER2013 label (row)")
    return fig


def pairs_figure(pairs, model):
    """For each of the model's most-confused pairs (true i, predicted j), one panel
    per k: the share of its i-as-j errors and of its right answers on class i
    on which at least k annotators chose j, with 95% Wilson intervals."""
    mine = pairs[pairs["model"] == model]
    ks = sorted(mine["k"].unique())
    n_pairs = len(mine) // max(len(ks), 1)
    fig, axes = plt.subplots(1, max(len(ks), 1), figsize=(4.6 * max(len(ks), 1), 1.6 + 0.6 * n_pairs))
    axes = np.atleast_1d(axes)
    for ax, k in zip(axes, ks, strict=False):
        rows = mine[mine["k"] == k].reset_index(drop=True)
        y = np.arange(len(rows))
        for offset, key, label, colour in (
            (-0.15, "confused", f"{model.upper()}'s errors i as j", "#d62728"),
            (0.15, "correct", f"{model.upper()}'s right answers on i", "#1f77b4"),
        ):
            share = rows[f"{key}_share"].to_numpy(float)
            error = np.abs(rows[[f"{key}_low", f"{key}_high"]].to_numpy(float).T - share)
            ax.errorbar(share, y + offset, xerr=error, fmt="o", color=colour, label=label, capsize=3)
        ax.set_yticks(y, [f"{r.true_name} as {r.predicted_name}" for r in rows.itertuples()])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel(f"share with at least {k} of 10 votes for j")
        ax.set_title(f"k = {k}")
        ax.grid(axis="x", alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2, frameon=False)
    fig.suptitle("Do people also read the model's confused faces as the class it chose?")
    fig.tight_layout()
    return fig
