"""Figures of the explain stage: saliency grid, filter images, feature maps."""

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import gridspec

from fer_workflow import CLASS_NAMES
from fer_workflow.explain.faithfulness import FAITHFULNESS_CURVES

# Images per row of the saliency figure before it wraps.
SALIENCY_COLUMNS = 8
OK_COLOR, WRONG_COLOR = "#1a7f37", "#c62828"


def scale_map(saliency_map, percentile=99.0):
    """A saliency map scaled to 0..1 by its own high percentile (robust to a few hot pixels)."""
    top = np.percentile(saliency_map, percentile)
    return np.clip(saliency_map / (top + 1e-12), 0.0, 1.0)


def _off(ax):
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def saliency_grid(images, maps, labels, probs, method="smoothgrad", target="label"):
    """Per image a column: face, saliency map, overlay; titled with true and predicted class.

    ``probs`` are the model's class probabilities (n, 7); a title is green
    when the prediction is right, red when wrong.
    """
    n = len(images)
    cols = min(n, SALIENCY_COLUMNS)
    groups = math.ceil(n / cols)
    fig, axes = plt.subplots(3 * groups, cols, figsize=(1.7 * cols, 5.6 * groups), squeeze=False)
    row_names = ["face", f"saliency\n({method})", "overlay"]
    for ax in axes.flat:
        _off(ax)
    for k in range(n):
        g, c = divmod(k, cols)
        face, heat = images[k], scale_map(maps[k])
        pred = int(np.argmax(probs[k]))
        true = int(labels[k])
        top = axes[3 * g, c]
        top.imshow(face, cmap="gray", vmin=0, vmax=255)
        top.set_title(
            f"true {CLASS_NAMES[true]}\npred {CLASS_NAMES[pred]} {probs[k][pred]:.0%}",
            fontsize=8,
            color=OK_COLOR if pred == true else WRONG_COLOR,
        )
        axes[3 * g + 1, c].imshow(heat, cmap="inferno", vmin=0, vmax=1)
        overlay = axes[3 * g + 2, c]
        overlay.imshow(face, cmap="gray", vmin=0, vmax=255)
        # Transparent where the map is weak, so the face shows through.
        overlay.imshow(heat, cmap="inferno", vmin=0, vmax=1, alpha=0.75 * heat)
    for g in range(groups):
        for r, name in enumerate(row_names):
            axes[3 * g + r, 0].set_ylabel(name, fontsize=9)
    explained = "true" if target == "label" else "predicted"
    # Every method's map is an attribution to the pixels of the class score.
    fig.suptitle(f"What the CNN looks at ({method}) for the {explained} class", fontsize=11)
    fig.tight_layout()
    return fig


def _stretch(image):
    """An image scaled for display by its own 1st and 99th percentiles."""
    low, high = np.percentile(image, [1, 99])
    return np.clip((np.asarray(image, np.float64) - low) / max(high - low, 1e-6), 0, 1)


def crop_mosaic(crops, columns=3):
    """Crops (k, s, s) as one square mosaic with 1-pixel gaps (NaN, drawn blank)."""
    k, size = len(crops), crops.shape[1]
    rows = math.ceil(k / columns)
    mosaic = np.full((rows * (size + 1) - 1, columns * (size + 1) - 1), np.nan)
    for i, crop in enumerate(crops):
        r, c = divmod(i, columns)
        mosaic[r * (size + 1) : r * (size + 1) + size, c * (size + 1) : c * (size + 1) + size] = crop
    return mosaic


def filter_grid(images, table, layer, crops=None, stretch=False):
    """Gradient-ascent images, each titled with its filter's final activation
    and, below it, the class the CNN predicts for the image (``table``:
    ``filters.classify``). With ``crops`` (F, k, s, s), beside each image the
    k validation-face crops that excite its filter most (strongest first,
    row by row). ``stretch``: each image shown by its own 1..99 percentile
    range (the CNN sees the raw 0..255 image); else as the CNN sees it."""
    n = len(images)
    per = 2 if crops is not None else 1
    cols = min(n, 6 if crops is not None else max(4, math.ceil(math.sqrt(n))))
    rows = math.ceil(n / cols)
    height = 2.1 * rows + 0.9
    fig, axes = plt.subplots(rows, cols * per, figsize=(1.6 * cols * per, height), squeeze=False)
    for ax in axes.flat:
        _off(ax)
    for i, row in enumerate(table.to_dict("records")):
        r, c = divmod(i, cols)
        ax = axes[r, c * per]
        if stretch:
            ax.imshow(_stretch(images[i]), cmap="gray", vmin=0, vmax=1)
        else:
            ax.imshow(images[i], cmap="gray", vmin=0, vmax=255)
        ax.set_title(f"filter {row['filter']}\nact {row['activation']:.3g}", fontsize=8)
        ax.set_xlabel(f"{row['class']} {row['probability']:.0%}", fontsize=8)
        if crops is not None:
            side = axes[r, c * per + 1]
            side.imshow(crop_mosaic(crops[i]), cmap="gray", vmin=0, vmax=255)
            ratio = row.get("image_to_crop", np.nan)
            side.set_title(f"top {len(crops[i])} crops", fontsize=7)
            if np.isfinite(ratio):
                side.set_xlabel(f"image/best crop {ratio:.2f}", fontsize=7)
    shown = "contrast stretched per image" if stretch else "as the CNN sees them"
    beside = (
        "; beside each: the validation-face crops that excite the filter most" if crops is not None else ""
    )
    fig.suptitle(
        f"Inputs that maximise the filters of {layer} (regularised gradient ascent, {shown}){beside}"
        "\nbelow each image: the CNN's class for it",
        fontsize=11,
    )
    # Room for the two-line title above the first row.
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.8 / height))
    return fig


def filter_class_histogram(counts, layer, null_counts=None):
    """Bar chart: how many filter images the CNN puts in each class
    (``filters.class_counts``), beside the same for the re-initialised
    network's filter images (``null_counts``, the null) when given."""
    fig, ax = plt.subplots(figsize=(6.4, 3.3))
    x = np.arange(len(counts))
    width = 0.4 if null_counts is not None else 0.8
    shift = width / 2 if null_counts is not None else 0
    bars = ax.bar(x - shift, counts.to_numpy(), width, color="#4c72b0", label="trained CNN's images")
    ax.bar_label(bars, fontsize=8)
    if null_counts is not None:
        bars = ax.bar(
            x + shift, null_counts.to_numpy(), width, color="#bbbbbb", label="re-initialised network's images"
        )
        ax.bar_label(bars, fontsize=7)
        ax.legend(fontsize=7, frameon=False)
    ax.set_xticks(x, counts.index, rotation=30, ha="right")
    ax.set_ylabel("filter images")
    ax.set_title(f"The CNN's class for the {int(counts.sum())} filter images of {layer}", fontsize=10)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    return fig


def activation_grid(image, maps, layer, label=None, max_maps=32):
    """The face beside its feature maps at ``layer`` (first ``max_maps`` channels).

    Each map is drawn with its own colour scale (they differ by orders of
    magnitude); its range is in the panel's title.
    """
    n = min(maps.shape[-1], max_maps)
    cols = min(n, 8)
    rows = math.ceil(n / cols)
    fig = plt.figure(figsize=(3.2 + 1.4 * cols, max(3.4, 1.5 * rows + 0.6)))
    outer = gridspec.GridSpec(1, 2, width_ratios=[3.0, 1.4 * cols], wspace=0.08, figure=fig)
    face = fig.add_subplot(outer[0])
    face.imshow(image, cmap="gray", vmin=0, vmax=255)
    face.set_title("input" + (f" ({CLASS_NAMES[int(label)]})" if label is not None else ""), fontsize=10)
    _off(face)
    inner = gridspec.GridSpecFromSubplotSpec(rows, cols, subplot_spec=outer[1], hspace=0.35, wspace=0.08)
    for i in range(n):
        ax = fig.add_subplot(inner[i // cols, i % cols])
        fmap = maps[..., i]
        ax.imshow(fmap, cmap="viridis")
        ax.set_title(f"{i}: {fmap.min():.2g}..{fmap.max():.2g}", fontsize=6)
        _off(ax)
    fig.suptitle(f"Feature maps of {layer} ({n} of {maps.shape[-1]})", fontsize=11)
    return fig


# Line colours of the faithfulness curves; the random order is gray and dashed.
METHOD_COLORS = {
    "vanilla": "#1f77b4",
    "smoothgrad": "#2ca02c",
    "integrated_gradients": "#9467bd",
    "gradcam": "#d62728",
    "random": "#7f7f7f",
}


# The panels of the faithfulness figure: curve -> (title, x-axis label).
# Each curve's panel title and x label: explain.faithfulness.FAITHFULNESS_CURVES.
FAITHFULNESS_PANELS = {name: (c.title, c.xlabel) for name, c in FAITHFULNESS_CURVES.items()}


def faithfulness_curves(mean_curves, table, road_fractions=None):
    """Mean deletion, insertion and ROAD (both orders) curves per method, AUCs
    (with 95% intervals) in the legends. ``road_fractions``: the x values of
    the ROAD curves (default: evenly from 0.1 to 0.9); a table without ROAD
    columns gets the two blur panels only."""
    panels = [curve for curve in FAITHFULNESS_PANELS if f"{curve}_auc" in table.columns]
    cols = 2
    rows_n = (len(panels) + 1) // cols
    fig, axes = plt.subplots(rows_n, cols, figsize=(11, 4.2 * rows_n), sharey=True, squeeze=False)
    rows = table.set_index("method")
    for ax, mode in zip(axes.flat, panels, strict=False):
        for method in rows.index:
            curve = mean_curves[method, mode]
            if mode.startswith("road"):
                x = (
                    np.asarray(road_fractions)
                    if road_fractions is not None
                    else np.linspace(0.1, 0.9, len(curve))
                )
            else:
                x = np.linspace(0, 1, len(curve))
            auc, low, high = rows.loc[method, [f"{mode}_auc", f"{mode}_auc_low", f"{mode}_auc_high"]]
            # Faces whose map is constant are left out: say so where there are any.
            n_valid, n_faces = rows.loc[method, ["n_valid", "n_faces"]]
            note = f" ({int(n_valid)} of {int(n_faces)} faces)" if n_valid < n_faces else ""
            ax.plot(
                x,
                curve,
                color=METHOD_COLORS.get(method),
                linestyle="--" if method == "random" else "-",
                marker="." if mode.startswith("road") else None,
                label=f"{method}: AUC {auc:.3f} [{low:.3f}, {high:.3f}]{note}",
            )
        title, xlabel = FAITHFULNESS_PANELS[mode]
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    for row in axes:
        row[0].set_ylabel("probability of the originally predicted class")
    fig.suptitle(
        f"Faithfulness of the saliency maps ({int(rows['n_faces'].iloc[0])} validation faces); "
        "blur replacement (top) and ROAD's noisy linear imputation (bottom)",
        fontsize=11,
    )
    fig.tight_layout()
    return fig


def _draw_boxes(ax, regions):
    from matplotlib.patches import Rectangle

    for k, boxes in enumerate(regions.values()):
        color = plt.cm.tab10(k % 10)
        for x0, y0, x1, y1 in boxes:
            ax.add_patch(
                Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor=color, linewidth=0.8)
            )


def _draw_cues(ax, cues, c):
    """Outlines of the synthetic cue regions of class ``c``: where the region's
    mask is on in at least half of the class's faces."""
    for k, shares in enumerate(cues.values()):
        if shares[c].max() >= 0.5:
            ax.contour(shares[c], levels=[0.5], colors=[plt.cm.tab10(k % 10)], linewidths=0.8)


def saliency_by_class(mean_faces, mean_maps, counts, regions, method, cues=None):
    """Per class with faces: the mean face of its correctly classified faces,
    and their mean saliency map over it. Drawn on both: the face-region boxes
    (``regions``, {name: [[x0, y0, x1, y1], ...]}), or with ``cues`` ({name:
    (classes, 48, 48) share of the class's faces whose cue mask covers each
    pixel}, the built-in faces' ground truth) the outlines of those cues instead.
    A class without faces gets no column."""
    from matplotlib.lines import Line2D

    shown = [c for c in range(len(mean_faces)) if counts[c]]
    n = max(len(shown), 1)
    fig, axes = plt.subplots(2, n, figsize=(max(1.9 * n, 5.0), 4.6), squeeze=False)
    for ax in axes.ravel():
        _off(ax)
    for i, c in enumerate(shown):
        top, bottom = axes[0, i], axes[1, i]
        top.set_title(f"{CLASS_NAMES[c]}\n{counts[c]} faces", fontsize=8)
        top.imshow(mean_faces[c], cmap="gray", vmin=0, vmax=255)
        heat = scale_map(mean_maps[c])
        bottom.imshow(mean_faces[c], cmap="gray", vmin=0, vmax=255)
        bottom.imshow(heat, cmap="inferno", vmin=0, vmax=1, alpha=0.75 * heat)
        for ax in (top, bottom):
            if cues is None:
                _draw_boxes(ax, regions)
            else:
                _draw_cues(ax, cues, c)
    axes[0, 0].set_ylabel("mean face", fontsize=9)
    axes[1, 0].set_ylabel(f"mean saliency\n({method})", fontsize=9)
    names = regions if cues is None else [f"{name} (cue mask)" for name in cues]
    handles = [Line2D([], [], color=plt.cm.tab10(k % 10), label=name) for k, name in enumerate(names)]
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False)
    fig.suptitle("Where the CNN looks, by class (correctly classified validation faces)", fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def cascading_randomisation(table, shown_maps, face=None):
    """Cascading randomisation: per method a row of one face's maps as the
    layers are re-initialised from the logits down (each map scaled to its
    own range), and below them the mean Spearman correlation and SSIM with
    the trained model's maps at every step, with 95% intervals.

    ``table``: ``randomisation.evaluate``'s table; ``shown_maps``: {method:
    (steps + 1, shown, h, w)}; ``face``: the face itself, drawn first."""
    methods = list(dict.fromkeys(table["method"]))
    layers = table[table["method"] == methods[0]]["layer"].tolist()
    n_steps = len(layers)
    fig = plt.figure(figsize=(1.25 * (n_steps + 1) + 0.6, 1.3 * len(methods) + 3.6))
    outer = gridspec.GridSpec(2, 1, height_ratios=[1.3 * len(methods), 3.0], hspace=0.12, figure=fig)
    grid = gridspec.GridSpecFromSubplotSpec(
        len(methods), n_steps + 1, subplot_spec=outer[0], wspace=0.05, hspace=0.1
    )
    for r, method in enumerate(methods):
        ax = fig.add_subplot(grid[r, 0])
        _off(ax)
        if face is not None:
            ax.imshow(face, cmap="gray", vmin=0, vmax=255)
        ax.set_ylabel(method, fontsize=8)
        for s in range(n_steps):
            ax = fig.add_subplot(grid[r, s + 1])
            _off(ax)
            heat = shown_maps[method][s, 0]
            span = heat.max() - heat.min()
            ax.imshow(
                (heat - heat.min()) / span if span > 0 else np.zeros_like(heat),
                cmap="inferno",
                vmin=0,
                vmax=1,
            )
            if r == 0:
                ax.set_title("trained" if s == 0 else f"-{layers[s]}", fontsize=6, rotation=30)
    bottom = gridspec.GridSpecFromSubplotSpec(1, 2, subplot_spec=outer[1], wspace=0.2)
    for k, (measure, label) in enumerate(
        (("spearman", "Spearman rank correlation"), ("ssim", "SSIM (maps scaled 0..1)"))
    ):
        ax = fig.add_subplot(bottom[k])
        for method in methods:
            rows = table[table["method"] == method]
            x = rows["step"].to_numpy()
            ax.plot(x, rows[measure], marker="o", markersize=3, color=METHOD_COLORS.get(method), label=method)
            ax.fill_between(
                x, rows[f"{measure}_low"], rows[f"{measure}_high"], color=METHOD_COLORS.get(method), alpha=0.2
            )
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set_xticks(range(n_steps), ["trained", *layers[1:]], rotation=45, ha="right", fontsize=7)
        ax.set_ylabel(label, fontsize=9)
        ax.set_xlabel("re-initialised from the logits down to", fontsize=8)
        ax.grid(alpha=0.3)
        if k == 0:
            ax.legend(fontsize=7)
    n = int(table["n_faces"].iloc[0])
    fig.suptitle(
        f"Cascading randomisation: maps as the CNN's layers are re-initialised ({n} validation faces)",
        fontsize=11,
    )
    return fig
