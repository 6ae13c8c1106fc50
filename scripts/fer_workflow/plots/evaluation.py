"""Evaluation figures: the confusion matrix and the architecture diagram."""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

from fer_workflow import CLASS_NAMES
from fer_workflow.evaluation.metrics import normalize_rows

# --- confusion matrix ---------------------------------------------------------------------------


def confusion_matrix_figure(counts, model, split, accuracy):
    """Row-normalized confusion matrix with the percentage and count in each cell.

    Rows are true classes (labelled with their support), columns predicted
    classes; the colour is the share of the true class, on a fixed 0-100 %
    scale so that figures of different models compare directly.
    """
    counts = np.asarray(counts)
    fig, ax = plt.subplots(figsize=(8.2, 7.0))
    image = confusion_panel(ax, counts)
    ax.set_title(f"{model.upper()} on the {split} split: accuracy {accuracy:.1%} ({int(counts.sum())} faces)")
    bar = fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    bar.set_label("% of the true class (row)")
    fig.tight_layout()
    return fig


def confusion_panel(ax, counts, xlabel="Predicted class", ylabel="True class"):
    """Draw a row-normalized 7 x 7 confusion matrix on ``ax`` (percentage and
    count in each cell, colour on the fixed 0-100 % scale); returns the image
    for a colour bar."""
    counts = np.asarray(counts)
    percent = normalize_rows(counts)
    support = counts.sum(axis=1)
    n = len(CLASS_NAMES)
    image = ax.imshow(percent, cmap="Blues", vmin=0, vmax=100)
    for t in range(n):
        for p in range(n):
            colour = "white" if percent[t, p] > 55 else "black"
            if support[t] == 0:
                text, colour = "–", "#999999"
            elif counts[t, p] == 0:
                text, colour = "0", "#aaaaaa"  # empty cells stay quiet so the errors stand out
            else:
                text = f"{percent[t, p]:.0f}%\n{counts[t, p]}"
            weight = "bold" if t == p else "normal"
            ax.text(p, t, text, ha="center", va="center", color=colour, fontsize=9, fontweight=weight)
    ax.set_xticks(range(n), CLASS_NAMES, rotation=30, ha="right")
    ax.set_yticks(range(n), [f"{name} (n={s})" for name, s in zip(CLASS_NAMES, support, strict=True)])
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    # Thin white grid lines between the cells.
    ax.set_xticks(np.arange(n + 1) - 0.5, minor=True)
    ax.set_yticks(np.arange(n + 1) - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1.5)
    ax.tick_params(which="minor", length=0)
    return image


# --- architecture -------------------------------------------------------------------------------

# Box colours by kind of layer.
KIND_COLOURS = {
    "input": "#d9d9d9",
    "augment": "#fde0c5",
    "conv": "#9ecae1",
    "norm": "#c7e9c0",
    "pool": "#fdd0a2",
    "dropout": "#eeeeee",
    "dense": "#bcbddc",
    "output": "#fc9272",
    "other": "#ffffff",
}


def layer_kind(layer):
    """Colour group of a layer, from its class name."""
    name = type(layer).__name__
    if name == "InputLayer":
        return "input"
    if name.startswith("Random") or name == "Cutout":
        return "augment"
    for key, kind in (("Conv", "conv"), ("Normalization", "norm"), ("Pool", "pool"), ("Dropout", "dropout")):
        if key in name:
            return kind
    if name == "Dense":
        return "dense"
    if name == "Activation" and layer.name == "probs":
        return "output"
    return "other"


def layer_type(layer):
    """The layer's class name, with its activation function when it has one: 'Dense (relu)'."""
    activation = getattr(getattr(layer, "activation", None), "__name__", "linear")
    name = type(layer).__name__
    return name if activation == "linear" else f"{name} ({activation})"


def output_shape(layer):
    """A layer's output shape without the batch axis, e.g. '24 x 24 x 32'."""
    shape = tuple(layer.output.shape)[1:]
    return " x ".join(str(d) for d in shape) if shape else "scalar"


def layer_rows(model):
    """The rows the architecture diagram draws, one per layer (box), top to bottom.

    Each row is a dict: title (layer name), type, shape (output shape),
    params (count) and kind (colour group). The augmentation layers
    (``augment.RandomAffine`` and ``Cutout``, active only in training) are titled so.
    """
    rows = []
    for layer in model.layers:
        kind = layer_kind(layer)
        rows.append(
            {
                "title": "augmentation (training only)" if kind == "augment" else layer.name,
                "type": layer_type(layer),
                "shape": output_shape(layer),
                "params": int(layer.count_params()),
                "kind": kind,
            }
        )
    return rows


def architecture_figure(model, name=None):
    """A vertical diagram of boxes: each layer's name, type, output shape and parameters.

    The figure height grows with the number of boxes, so a 40-layer CNN stays
    readable at 100 % zoom.
    """
    rows = layer_rows(model)
    name = name or model.name
    total = int(model.count_params())
    box_h, gap = 0.62, 0.28  # inches
    header = 0.45  # column headings above the first box
    height = len(rows) * (box_h + gap) + header + 0.9
    fig = plt.figure(figsize=(7.5, height))
    ax = fig.add_axes((0, 0, 1, 1 - 0.7 / height))
    ax.set_xlim(0, 7.5)
    ax.set_ylim(height - 0.7, 0)  # y grows downwards, in inches
    ax.axis("off")
    for x, text, align in (
        (0.45, "layer (type)", "left"),
        (5.0, "output shape", "center"),
        (7.05, "parameters", "right"),
    ):
        ax.text(x, header - 0.05, text, fontsize=9.5, ha=align, va="bottom", color="#555555", style="italic")
    for i, row in enumerate(rows):
        top = header + 0.15 + i * (box_h + gap)
        ax.add_patch(
            FancyBboxPatch(
                (0.3, top),
                6.9,
                box_h,
                boxstyle="round,pad=0,rounding_size=0.08",
                facecolor=KIND_COLOURS[row["kind"]],
                edgecolor="#444444",
                linewidth=1,
            )
        )
        mid = top + box_h / 2
        ax.text(0.45, mid - 0.13, row["title"], fontsize=10, fontweight="bold", va="center")
        ax.text(0.45, mid + 0.15, row["type"], fontsize=8.5, va="center", color="#333333")
        ax.text(5.0, mid, row["shape"], fontsize=10, ha="center", va="center", family="monospace")
        ax.text(7.05, mid, f"{row['params']:,}", fontsize=10, ha="right", va="center")
        if i + 1 < len(rows):
            ax.annotate(
                "",
                xy=(3.75, top + box_h + gap),
                xytext=(3.75, top + box_h),
                arrowprops={"arrowstyle": "->", "color": "#444444", "lw": 1.2},
            )
    fig.suptitle(
        f"{name.upper()}: {total:,} parameters ({len(model.layers)} layers)", fontsize=13, y=1 - 0.25 / height
    )
    return fig


# --- reliability diagram ------------------------------------------------------------------------


def reliability_figure(panels, model, temperature):
    """Reliability diagrams before and after temperature scaling.

    ``panels`` is a list of (title, bins) with bins from
    ``calibration.reliability_bins`` (and ``ece`` added): per confidence bin,
    the accuracy as a bar against the diagonal (perfect calibration), the
    gap to the bin's mean confidence shaded; the share of faces per bin below.
    """
    fig, axes = plt.subplots(
        2, len(panels), figsize=(4.2 * len(panels), 5.6), squeeze=False, gridspec_kw={"height_ratios": [3, 1]}
    )
    for k, (title, bins) in enumerate(panels):
        ax, hist = axes[0, k], axes[1, k]
        edges = bins["edges"]
        width = edges[1] - edges[0]
        centres = edges[:-1] + width / 2
        filled = bins["count"] > 0
        ax.bar(
            centres[filled],
            bins["accuracy"][filled],
            width=width,
            color="#4c72b0",
            edgecolor="white",
            label="accuracy",
        )
        gap_low = np.minimum(bins["accuracy"], bins["confidence"])[filled]
        gap = np.abs(bins["accuracy"] - bins["confidence"])[filled]
        ax.bar(centres[filled], gap, bottom=gap_low, width=width, color="#dd8452", alpha=0.5, label="gap")
        ax.plot([0, 1], [0, 1], "k--", lw=1, label="calibrated")
        ax.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy", title=f"{title}\nECE {bins['ece']:.3f}")
        ax.legend(loc="upper left", fontsize=8)
        hist.bar(centres, bins["count"] / max(1, bins["count"].sum()), width=width, color="grey")
        hist.set(xlim=(0, 1), xlabel="confidence (largest probability)", ylabel="share of faces")
    fig.suptitle(f"{model.upper()}: temperature T = {temperature:.3f} (fitted on validation)")
    fig.tight_layout()
    return fig
