"""How far a saliency method can be trusted: deletion and insertion curves,
the model-randomisation sanity check, and where the saliency mass falls.

Deletion and insertion (Petsiuk et al., 2018, "RISE"): rank a face's pixels
by saliency and, in equal steps, replace the top-ranked ones by a blurred
copy of the face (deletion) or paste them back onto the blurred face
(insertion), recording at every step the probability of the class the model
predicted on the original face. A faithful map makes the deletion curve fall
fast (low area under it) and the insertion curve rise fast (high area). A
random pixel order is the baseline. All faces x steps are built at once
(vectorised) and predicted in large batches; ``curves_stepwise`` is the
one-forward-pass-per-step form kept as the reference and for the benchmark.

Sanity check (Adebayo et al., 2018): the Spearman rank correlation between a
method's maps from the trained model and from the same architecture with
freshly initialised weights. A method whose maps barely change when the
weights are destroyed explains the image, not the model.
"""

import logging
import weakref

import numpy as np
import pandas as pd

from . import CLASS_NAMES, NUM_CLASSES
from .data import as_model_input
from .saliency import blur

log = logging.getLogger(__name__)

# Images per forward pass of the curve predictions: 64 is the fastest on a
# 2-core CPU (larger batches fall out of the cache: 1024 is 2.2x slower,
# benchmarks/faithfulness.py --batch-size); a GPU wants more.
PREDICT_BATCH = 64
# Step images held in memory at once (faces x (steps + 1)).
CHUNK_IMAGES = 8192


# ---- deletion and insertion ----------------------------------------------------------


def pixel_order(maps):
    """Each map's pixel indices, most salient first (n, h*w); ties by index."""
    flat = np.asarray(maps, np.float64).reshape(len(maps), -1)
    return np.argsort(-flat, axis=1, kind="stable")


def random_order(n, n_pixels, seed):
    """A random pixel order per face (the baseline), seeded."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n, n_pixels)), axis=1)


def step_counts(n_pixels, steps):
    """Pixels moved after each of ``steps`` equal steps, 0 first: (steps + 1,)."""
    return np.round(np.linspace(0, n_pixels, steps + 1)).astype(np.int64)


def step_images(images, blurred, order, steps, mode):
    """Every step image of every face at once: float32 (n, steps + 1, h, w).

    Step k has the first ``step_counts[k]`` pixels of ``order`` taken from the
    blurred face (``deletion``) or from the face, on the blurred face
    (``insertion``).
    """
    x = np.asarray(images, np.float32)
    n, h, w = x.shape
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(h * w)[None, :], axis=1)
    moved = rank[:, None, :] < step_counts(h * w, steps)[None, :, None]  # (n, steps + 1, h*w)
    moved = moved.reshape(n, steps + 1, h, w)
    face, soft = x[:, None], np.asarray(blurred, np.float32)[:, None]
    if mode == "deletion":
        return np.where(moved, soft, face)
    if mode == "insertion":
        return np.where(moved, face, soft)
    raise ValueError(f"mode must be 'deletion' or 'insertion', not {mode!r}")


def curves(
    model, images, order, classes, steps=32, blur_sigma=4.0, mode="deletion", batch_size=PREDICT_BATCH
):
    """Deletion or insertion curves, (n, steps + 1): the probability of
    ``classes`` (one per face) at every step, all steps of many faces per
    forward pass."""
    classes = np.asarray(classes, np.int64)
    blurred = blur(images, blur_sigma)
    forward = _compiled_forward(model)
    faces_per_chunk = max(1, CHUNK_IMAGES // (steps + 1))
    out = []
    for start in range(0, len(images), faces_per_chunk):
        part = slice(start, start + faces_per_chunk)
        stack = step_images(images[part], blurred[part], order[part], steps, mode)
        n = len(stack)
        flat = stack.reshape(-1, *stack.shape[2:], 1)
        probs = np.concatenate(
            [
                np.asarray(forward(flat[i : i + batch_size]), np.float32)
                for i in range(0, len(flat), batch_size)
            ]
        )
        out.append(probs.reshape(n, steps + 1, -1)[np.arange(n), :, classes[part]])
    return np.concatenate(out) if out else np.zeros((0, steps + 1), np.float32)


_FORWARDS = weakref.WeakKeyDictionary()


def _compiled_forward(model):
    """model(x) in inference mode, compiled once per model for any batch size
    (no eager overhead, no retracing: the per-step reference is a fair one)."""
    import tensorflow as tf

    if model not in _FORWARDS:
        spec = tf.TensorSpec([None, *model.inputs[0].shape[1:]], tf.float32)
        _FORWARDS[model] = tf.function(lambda x: model(x, training=False), input_signature=[spec])
    return _FORWARDS[model]


def curves_stepwise(model, images, order, classes, steps=32, blur_sigma=4.0, mode="deletion", per_face=True):
    """The reference form: one forward pass per step, the step image built by
    moving one step's pixels at a time. ``per_face=True``: one face per pass
    (RISE's reference code); ``per_face=False``: all faces of a step per pass."""
    x = as_model_input(images)[..., 0]
    blurred = blur(x, blur_sigma)
    n, h, w = x.shape
    counts = step_counts(h * w, steps)
    classes = np.asarray(classes, np.int64)
    groups = [np.array([i]) for i in range(n)] if per_face else [np.arange(n)]
    forward = _compiled_forward(model)
    out = np.zeros((n, steps + 1), np.float32)
    for rows in groups:
        current = (x[rows] if mode == "deletion" else blurred[rows]).reshape(len(rows), -1).copy()
        source = (blurred[rows] if mode == "deletion" else x[rows]).reshape(len(rows), -1)
        for k in range(steps + 1):
            if k:
                idx = order[rows, counts[k - 1] : counts[k]]
                np.put_along_axis(current, idx, np.take_along_axis(source, idx, axis=1), axis=1)
            probs = np.asarray(forward(current.reshape(-1, h, w, 1)), np.float32)
            out[rows, k] = probs[np.arange(len(rows)), classes[rows]]
    return out


def auc(curve):
    """Area under each curve over the fraction of pixels moved (0..1), trapezoid rule."""
    c = np.asarray(curve, np.float64)
    return (c[:, :-1] + c[:, 1:]).sum(axis=1) / (2 * (c.shape[1] - 1))


def interval(values, z=1.96):
    """Mean and normal-approximation 95% interval of the mean over faces."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return np.nan, np.nan, np.nan
    half = z * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else np.nan
    return float(v.mean()), float(v.mean() - half), float(v.mean() + half)


# ---- sanity check ----------------------------------------------------------------------


def randomized_copy(model, seed=0):
    """The same architecture with freshly initialised weights (and fresh batch-norm statistics)."""
    import keras

    keras.utils.set_random_seed(int(seed))
    return keras.models.clone_model(model)


def _ranks(maps):
    from scipy.stats import rankdata

    return rankdata(np.asarray(maps, np.float64).reshape(len(maps), -1), axis=1)


def rank_correlation(maps_a, maps_b):
    """Spearman rank correlation between paired maps, one value per face
    (NaN where a map is constant, e.g. an all-zero Grad-CAM)."""
    a, b = _ranks(maps_a), _ranks(maps_b)
    a -= a.mean(axis=1, keepdims=True)
    b -= b.mean(axis=1, keepdims=True)
    denom = np.sqrt((a * a).sum(axis=1) * (b * b).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, (a * b).sum(axis=1) / np.where(denom > 0, denom, 1), np.nan)


# ---- the table -------------------------------------------------------------------------

COLUMNS = [
    "method", "n_faces",
    "deletion_auc", "deletion_auc_low", "deletion_auc_high",
    "insertion_auc", "insertion_auc_low", "insertion_auc_high",
    "sanity_correlation", "sanity_correlation_low", "sanity_correlation_high", "sanity_flagged",
]  # fmt: skip


def evaluate(model, images, classes, maps_of, methods, steps=32, blur_sigma=4.0, seed=0, threshold=0.5):
    """The faithfulness table and the mean curves.

    ``classes`` are the classes the model predicts on the original faces
    (e.g. the argmax of the stored ``val_probs``); every method explains
    them, and the curves follow their probability.
    ``maps_of(model, images, classes, method)`` computes a method's maps. Returns
    (table, mean_curves) where mean_curves maps (method, mode) to the mean
    curve over faces; the ``random`` row has no sanity check.
    """
    images = np.asarray(images)
    classes = np.asarray(classes, np.int64)
    random_model = randomized_copy(model, seed=seed + 1)
    n_pixels = images.shape[1] * images.shape[2]
    rows, mean_curves = [], {}
    for method in [*methods, "random"]:
        if method == "random":
            order, corr = random_order(len(images), n_pixels, seed), None
        else:
            maps = maps_of(model, images, classes, method)
            order = pixel_order(maps)
            corr = rank_correlation(maps, maps_of(random_model, images, classes, method))
        row = {"method": method, "n_faces": len(images)}
        for mode in ("deletion", "insertion"):
            curve = curves(model, images, order, classes, steps=steps, blur_sigma=blur_sigma, mode=mode)
            mean_curves[method, mode] = curve.mean(axis=0)
            row[f"{mode}_auc"], row[f"{mode}_auc_low"], row[f"{mode}_auc_high"] = interval(auc(curve))
        if corr is not None:
            mean, low, high = interval(corr)
            row.update(sanity_correlation=mean, sanity_correlation_low=low, sanity_correlation_high=high)
            row["sanity_flagged"] = bool(mean > threshold)
        log.info("faithfulness %s: %s", method, row)
        rows.append(row)
    return pd.DataFrame(rows, columns=COLUMNS), mean_curves


# ---- face regions ----------------------------------------------------------------------


def region_masks(regions, shape=(48, 48)):
    """Bool masks of named regions, each a list of [x0, y0, x1, y1] boxes
    (pixels, x1 and y1 excluded)."""
    masks = {}
    for name, boxes in regions.items():
        mask = np.zeros(shape, bool)
        for x0, y0, x1, y1 in boxes:
            mask[y0:y1, x0:x1] = True
        masks[name] = mask
    return masks


def region_table(maps, labels, regions):
    """Per class and region: faces, mean share of saliency mass inside the
    region, its share of the image area, and their ratio (1 = no preference)."""
    maps = np.asarray(maps, np.float64)
    labels = np.asarray(labels)
    total = maps.sum(axis=(1, 2)) + 1e-12
    rows = []
    for c in range(NUM_CLASSES):
        chosen = labels == c
        for name, mask in region_masks(regions, maps.shape[1:]).items():
            area = float(mask.mean())
            mass = (
                float(np.mean((maps[chosen] * mask).sum(axis=(1, 2)) / total[chosen]))
                if chosen.any()
                else np.nan
            )
            rows.append(
                {
                    "class": CLASS_NAMES[c],
                    "n_faces": int(chosen.sum()),
                    "region": name,
                    "mass_share": mass,
                    "area_share": area,
                    "ratio": mass / area if area > 0 else np.nan,
                }
            )
    return pd.DataFrame(rows)


def correct_faces_by_class(labels, predicted, max_per_class, seed=0):
    """Indices of up to ``max_per_class`` correctly classified faces of each class (seeded)."""
    rng = np.random.default_rng(seed)
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    chosen = []
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero((labels == c) & (predicted == c))
        chosen.append(np.sort(rng.permutation(idx)[:max_per_class]))
    return np.concatenate(chosen).astype(np.int64)
