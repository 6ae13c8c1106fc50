"""Cascading model randomisation (Adebayo et al. 2018, "Sanity Checks for
Saliency Maps", NeurIPS): where a saliency method stops depending on the
weights.

The CNN's weighted layers are re-initialised one at a time from the logits
down (a conv layer together with the batch norm that follows it: one step),
each step keeping the earlier steps' re-initialisations (cascading). After
every step each method's maps are computed again on the same faces and
compared with the trained model's maps: the Spearman rank correlation of the
maps and the SSIM of the maps normalised to 0..1 (the paper's two
similarities), each averaged over the faces with a bootstrap interval. A
method that explains the model loses its similarity as soon as the top
layers are re-initialised; one whose similarity stays high while the layers
go explains the image (edges), not the model.
"""

import logging

import numpy as np
import pandas as pd

from fer_workflow.evaluation import stats
from fer_workflow.explain.faithfulness import randomized_copy, rank_correlation

log = logging.getLogger(__name__)

COLUMNS = [
    "method", "step", "layer", "n_faces", "n_valid",
    "spearman", "spearman_low", "spearman_high", "ssim", "ssim_low", "ssim_high",
]  # fmt: skip

# The label of the first row: nothing re-initialised (the trained model).
TRAINED = "none"


def layer_groups(model):
    """The re-initialisation steps, top first: lists of layer names, each a
    weighted layer (conv, dense, the logits) with the batch norm after it."""
    import keras

    groups = []
    for layer in model.layers:
        if not layer.weights:
            continue
        # Batch norm (also the workflow's FusedBatchNormalization) joins the layer before it.
        if isinstance(layer, keras.layers.BatchNormalization) and groups:
            groups[-1].append(layer.name)
        else:
            groups.append([layer.name])
    return groups[::-1]


def cascade(model, seed=0):
    """(label, model) after each step, the trained model first (label
    ``TRAINED``), then with the layers re-initialised down to ``label``.

    The re-initialised weights are a fresh copy of the architecture's
    (``faithfulness.randomized_copy``: the layers' own initialisers, batch
    norm back to identity statistics); one working copy is changed in place
    step by step, so the model yielded is valid until the next step.
    """
    import keras

    fresh = randomized_copy(model, seed=seed)
    work = keras.models.clone_model(model)
    work.set_weights(model.get_weights())
    yield TRAINED, work
    for group in layer_groups(model):
        for name in group:
            work.get_layer(name).set_weights(fresh.get_layer(name).get_weights())
        yield group[0], work


def normalised(maps):
    """Each map scaled to 0..1 by its own minimum and maximum; NaN for a
    constant map (e.g. an all-zero Grad-CAM)."""
    m = np.asarray(maps, np.float64)
    low = m.min(axis=(1, 2), keepdims=True)
    span = m.max(axis=(1, 2), keepdims=True) - low
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(span > 0, (m - low) / np.where(span > 0, span, 1), np.nan)


def ssim(maps_a, maps_b, sigma=1.5):
    """Mean structural similarity of paired maps normalised to 0..1 (Wang et
    al. 2004: Gaussian window of std ``sigma``, K1 = 0.01, K2 = 0.03, data
    range 1), one value per face; NaN where either map is constant."""
    from scipy.ndimage import gaussian_filter

    a, b = normalised(maps_a), normalised(maps_b)
    c1, c2 = 0.01**2, 0.03**2
    sigmas = (0, sigma, sigma)

    def smooth(x):
        return gaussian_filter(np.nan_to_num(x), sigmas, mode="reflect", truncate=3.5)

    mu_a, mu_b = smooth(a), smooth(b)
    var_a = smooth(a * a) - mu_a**2
    var_b = smooth(b * b) - mu_b**2
    cov = smooth(a * b) - mu_a * mu_b
    index = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2))
    out = index.mean(axis=(1, 2))
    out[~(np.isfinite(a).all(axis=(1, 2)) & np.isfinite(b).all(axis=(1, 2)))] = np.nan
    return out


def similarity_row(method, step, layer, trained_maps, maps, seed=stats.BOOTSTRAP_SEED):
    """One row of the table: both similarities' means over the faces with
    bootstrap intervals (faces where either is undefined left out, counted)."""
    rho, structural = rank_correlation(trained_maps, maps), ssim(trained_maps, maps)
    row = {"method": method, "step": step, "layer": layer, "n_faces": len(maps)}
    row["n_valid"] = int((np.isfinite(rho) & np.isfinite(structural)).sum())
    for name, values in (("spearman", rho), ("ssim", structural)):
        mean, low, high, _ = stats.bootstrap_mean(values, seed=seed)
        row.update({name: mean, f"{name}_low": low, f"{name}_high": high})
    return row


def evaluate(model, images, classes, maps_of, methods, seed=0, shown=1):
    """Cascading randomisation of every method on the same faces.

    ``maps_of(model, images, classes, method)`` computes a method's maps;
    ``classes``: the class each map explains (the trained model's prediction,
    kept through the steps). Returns (table with ``COLUMNS``, one row per
    method and step, the trained model first; maps of the first ``shown``
    faces {method: (steps + 1, shown, h, w)} for the figure).
    """
    images = np.asarray(images)
    classes = np.asarray(classes, np.int64)
    rows, kept, trained = [], {m: [] for m in methods}, {}
    for step, (layer, net) in enumerate(cascade(model, seed=seed + 1)):
        for method in methods:
            maps = np.asarray(maps_of(net, images, classes, method), np.float64)
            if step == 0:
                trained[method] = maps
            rows.append(similarity_row(method, step, layer, trained[method], maps))
            kept[method].append(maps[:shown])
            log.info(
                "step %d (%s re-initialised down to here): %s spearman %.3f ssim %.3f",
                step, layer, method, rows[-1]["spearman"], rows[-1]["ssim"],
            )  # fmt: skip
    table = pd.DataFrame(rows, columns=COLUMNS)
    table = table.sort_values(
        ["method", "step"], key=lambda c: c.map(methods.index) if c.name == "method" else c
    )
    return table.reset_index(drop=True), {m: np.stack(v) for m, v in kept.items()}
