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

A constant map (every pixel equal, e.g. an all-zero Grad-CAM) ranks no
pixel: that face is invalid for that method, its curves are left out of the
method's AUC (NaN) and counted (``n_valid``). Ties inside a map that is not
constant are broken at random (seeded), never by pixel index, which would
move the top-left pixels first.

Each method is compared with the random order face by face on the same
faces (``versus_random``): the mean paired AUC difference with its bootstrap
interval, the signed-rank test, Holm's correction over the methods and the
verdict on "deletion lower / insertion higher than random"
(``fer_workflow.evaluation.stats``).

Sanity check (Adebayo et al., 2018): the Spearman rank correlation between a
method's maps from the trained model and from the same architecture with
freshly initialised weights. A method whose maps barely change when the
weights are destroyed explains the image, not the model.

The saliency scores (``scores``) are read off the same maps and orders: the
deletion test at one fraction (most salient pixels set to the face's mean
against as many in the random order) and, on the built-in faces, the
saliency mass inside the generator's cue masks.
"""

import logging
import weakref
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fer_workflow.data.dataset import as_model_input
from fer_workflow.evaluation import stats
from fer_workflow.explain import perturbation
from fer_workflow.explain.regions import centre_prior, mass_shares, region_masks
from fer_workflow.explain.saliency import REGIONS as CUE_REGIONS
from fer_workflow.explain.saliency import mask_shares

log = logging.getLogger(__name__)

# Images per forward pass of the curve predictions: 64 is the fastest on a
# 2-core CPU (larger batches fall out of the cache: 1024 is 2.2x slower,
# benchmarks/faithfulness.py --batch-size); a GPU wants more.
PREDICT_BATCH = 64
# Step images held in memory at once (faces x (steps + 1)).
CHUNK_IMAGES = 8192


# ---- deletion and insertion ----------------------------------------------------------


def _flat(maps):
    """Maps as float64 rows (n, h*w), also for no maps."""
    maps = np.asarray(maps, np.float64)
    return maps.reshape(len(maps), int(np.prod(maps.shape[1:])))


def invalid_maps(maps):
    """True for each map that ranks no pixel: constant (all pixels equal,
    e.g. an all-zero Grad-CAM) or with a non-finite value. (n,) bool."""
    flat = _flat(maps)
    if flat.shape[1] == 0:
        return np.ones(len(flat), bool)
    return ~np.isfinite(flat).all(axis=1) | (flat.max(axis=1) == flat.min(axis=1))


def pixel_order(maps, seed=0):
    """Each map's pixel indices, most salient first (n, h*w).

    Ties are broken at random (``seed``: anything ``np.random.default_rng``
    takes), not by index: ranking tied pixels by index would move the
    top-left of the face first, an order of its own, not the map's.
    """
    flat = _flat(maps)
    tiebreak = np.random.default_rng(seed).random(flat.shape)
    return np.lexsort((tiebreak, -flat), axis=1)


def random_order(n, n_pixels, seed):
    """A random pixel order per face (the baseline), seeded."""
    rng = np.random.default_rng(seed)
    return np.argsort(rng.random((n, n_pixels)), axis=1)


def step_counts(n_pixels, steps):
    """Pixels moved after each of ``steps`` equal steps, 0 first: (steps + 1,)."""
    return np.round(np.linspace(0, n_pixels, steps + 1)).astype(np.int64)


def step_fractions(n_pixels, steps):
    """The fractions of ``steps`` equal steps, 0 first, exact in whole pixels."""
    return step_counts(n_pixels, steps) / n_pixels


# ROAD's fractions (Rong et al. 2022): 10% to 90% of the pixels removed.
ROAD_FRACTIONS = tuple(np.round(np.arange(1, 10) / 10, 2))


@dataclass(frozen=True)
class Curve:
    """Everything about one faithfulness curve, in one place (as Quantus keeps
    it on the metric): its ``name``; which pixels go (``mode``, the mode of
    ``perturbation.removal_masks``) and how they are filled (``fill``, the
    perturbation the evaluation passes); the ``direction`` of the claim
    against the random order (-1: a faithful map gives a lower AUC, +1:
    higher); the figure panel's ``title`` and ``xlabel``; and what the
    findings say a faithful method does (``claim``)."""

    name: str
    mode: str
    fill: str
    direction: int
    title: str
    xlabel: str
    claim: str


FAITHFULNESS_CURVES = {
    curve.name: curve
    for curve in (
        Curve(
            "deletion",
            "deletion",
            "blur",
            -1,
            "Deletion, blur (lower AUC is better)",
            "fraction of pixels blurred, most salient first",
            "falls faster on the deletion curve",
        ),
        Curve(
            "insertion",
            "insertion",
            "blur",
            1,
            "Insertion, blur (higher AUC is better)",
            "fraction of pixels restored on the blurred face",
            "rises faster on the insertion curve",
        ),
        Curve(
            "road_morf",
            "morf",
            "road",
            -1,
            "ROAD, most relevant first (lower is better)",
            "fraction of pixels imputed, most salient first",
            "falls faster on the ROAD curve (most relevant pixels imputed first)",
        ),
        Curve(
            "road_lerf",
            "lerf",
            "road",
            1,
            "ROAD, least relevant first (higher is better)",
            "fraction of pixels imputed, least salient first",
            "holds up longer on the ROAD curve (least relevant pixels imputed first)",
        ),
    )
}
# Views of it by name: (mode, fill), and the claim's direction.
CURVES = {name: (curve.mode, curve.fill) for name, curve in FAITHFULNESS_CURVES.items()}
CLAIMS = {name: curve.direction for name, curve in FAITHFULNESS_CURVES.items()}


def step_images(images, order, fractions, mode, replace):
    """Every step image of every face at once: float32 (n, len(fractions), h, w).

    Step k removes the pixels that ``mode`` names at ``fractions[k]`` (see
    ``perturbation.removal_masks``) and ``replace`` (a perturbation) fills
    them in: deletion with a blur replaces the most salient pixels by the
    blurred face, insertion pastes them back onto it, ROAD's ``morf`` and
    ``lerf`` impute the most or the least relevant ones.
    """
    x = np.asarray(images, np.float32)
    removed = perturbation.removal_masks(order, fractions, CURVES.get(mode, (mode,))[0], x.shape[1:])
    return replace(x, removed)


def curves(
    model,
    images,
    order,
    classes,
    steps=32,
    blur_sigma=4.0,
    mode="deletion",
    batch_size=PREDICT_BATCH,
    replace=None,
    fractions=None,
):
    """Deletion, insertion or ROAD curves, (n, len(fractions)): the probability
    of ``classes`` (one per face) at every step, all steps of many faces per
    forward pass.

    ``replace``: the perturbation (default ``perturbation.Blur(blur_sigma)``);
    ``fractions``: the fractions of pixels removed (default ``steps`` equal
    steps from 0 to 1).
    """
    images = np.asarray(images)
    classes = np.asarray(classes, np.int64)
    if replace is None:
        replace = perturbation.Blur(blur_sigma)
    if fractions is None:
        fractions = step_fractions(int(np.prod(images.shape[1:3])), steps)
    k = len(fractions)
    forward = _compiled_forward(model)
    faces_per_chunk = max(1, CHUNK_IMAGES // k)
    out = []
    for start in range(0, len(images), faces_per_chunk):
        part = slice(start, start + faces_per_chunk)
        stack = step_images(images[part], order[part], fractions, mode, replace)
        n = len(stack)
        flat = stack.reshape(-1, *stack.shape[2:], 1)
        probs = np.concatenate(
            [
                np.asarray(forward(flat[i : i + batch_size]), np.float32)
                for i in range(0, len(flat), batch_size)
            ]
        )
        out.append(probs.reshape(n, k, -1)[np.arange(n), :, classes[part]])
    return np.concatenate(out) if out else np.zeros((0, k), np.float32)


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
    n, h, w = x.shape
    blurred = perturbation.Blur(blur_sigma)(x, np.ones((n, 1, h, w), bool))[:, 0]
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
    """Mean and normal-approximation 95% interval of the mean over faces.

    NaNs (invalid faces) are left out: the caller counts them (``n_valid``)."""
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


# ---- paired comparison with the random order ------------------------------------------

PAIRED = ["vs_random", "vs_random_low", "vs_random_high", "vs_random_p", "vs_random_p_holm", "beats_random"]


def versus_random(method_aucs, random_aucs, direction, seed=stats.BOOTSTRAP_SEED):
    """Each method against the random order on the same faces, one dict per method.

    ``method_aucs`` (m, n): per-face AUCs, NaN where the face is invalid for
    that method (left out of its test); ``random_aucs`` (n,). Per method the
    mean paired difference method - random with its bootstrap interval, the
    signed-rank p-value, that p Holm-corrected over the ``m`` methods, and
    the verdict on the claim that the difference has the sign of ``direction``.
    """
    differences = np.asarray(method_aucs, np.float64) - np.asarray(random_aucs, np.float64)[None, :]
    rows = []
    for d in differences:
        mean, low, high, _ = stats.bootstrap_mean(d, seed=seed)
        p = stats.signed_rank_p(d)
        rows.append({"vs_random": mean, "vs_random_low": low, "vs_random_high": high, "vs_random_p": p})
    adjusted = stats.holm([row["vs_random_p"] for row in rows])
    for row, p in zip(rows, adjusted, strict=True):
        row["vs_random_p_holm"] = float(p)
        row["beats_random"] = stats.verdict(p, row["vs_random"], direction)
    return rows


def method_comparisons(faces, seed=stats.BOOTSTRAP_SEED, alpha=stats.ALPHA):
    """Every pair of saliency methods against each other on the same faces,
    per curve, from the per-face results (``FACE_KEYS``, eval/faithfulness_faces.npz).

    One row per curve and pair (a, b) in the configured order: ``n`` faces
    where both maps are usable, the mean per-face AUC difference a - b with
    its bootstrap interval, the two-sided signed-rank p, that p Holm-corrected
    over every pair x curve, the method that does better on that curve
    (``better``; ``worse`` the other, by the curve's direction) and the
    verdict on "``better`` is more faithful than ``worse`` on this curve".
    This is the only test behind a ranking of two methods.
    """
    names = [str(m) for m in faces["methods"] if str(m) != "random"]
    index = {str(m): k for k, m in enumerate(faces["methods"])}
    rows = []
    for curve, direction in CLAIMS.items():
        aucs = np.asarray(faces[f"{curve}_auc"], np.float64)
        for i, a in enumerate(names):
            for b in names[i + 1 :]:
                d = aucs[index[a]] - aucs[index[b]]
                mean, low, high, n = stats.bootstrap_mean(d, seed=seed)
                a_better = np.sign(mean) == np.sign(direction)
                rows.append({
                    "curve": curve, "method_a": a, "method_b": b, "n": n, "difference": mean, "low": low,
                    "high": high, "p": stats.signed_rank_p(d), "better": a if a_better else b,
                    "worse": b if a_better else a,
                })  # fmt: skip
    table = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    table["p_holm"] = stats.holm(table["p"].to_numpy(float))
    # "better beats worse": the estimate in the claimed direction is |difference|.
    table["verdict"] = [
        stats.verdict(p, abs(diff), alpha=alpha)
        for p, diff in zip(table["p_holm"], table["difference"], strict=True)
    ]
    return table


PAIR_COLUMNS = ["curve", "method_a", "method_b", "n", "difference", "low", "high", "p", "better", "worse"]


# ---- the table -------------------------------------------------------------------------

COLUMNS = [
    "method", "n_faces", "n_valid",
    *[f"{curve}_auc{end}" for curve in CLAIMS for end in ("", "_low", "_high")],
    *[f"{curve}_{column}" for curve in CLAIMS for column in PAIRED],
    "sanity_n_valid", "sanity_correlation", "sanity_correlation_low", "sanity_correlation_high",
    "sanity_flagged",
]  # fmt: skip

# The arrays of the per-face results (``evaluate``'s third value, eval/faithfulness_faces.npz).
FACE_KEYS = [
    "methods", *[f"{curve}_auc" for curve in CLAIMS], "valid", "sanity_correlation", "sanity_flagged",
    "val_rows", "classes", "region_names", "region_area", "region_share", "region_share_random_model",
    "centre_prior_share",
]  # fmt: skip


def _valid_curves(model, images, order, classes, valid, **kwargs):
    """The curves of the valid faces; NaN rows for the others."""
    width = len(kwargs["fractions"]) if kwargs.get("fractions") is not None else kwargs["steps"] + 1
    out = np.full((len(images), width), np.nan)
    if valid.any():
        out[valid] = curves(model, images[valid], order[valid], classes[valid], **kwargs)
    return out


def _mean_curve(curve):
    """Mean over the valid faces (NaN when there is none)."""
    finite = np.isfinite(curve).all(axis=1)
    return curve[finite].mean(axis=0) if finite.any() else np.full(curve.shape[1], np.nan)


def evaluate(
    model,
    images,
    classes,
    maps_of,
    methods,
    steps=32,
    blur_sigma=4.0,
    seed=0,
    threshold=0.5,
    regions=None,
    rows=None,
    road_fractions=ROAD_FRACTIONS,
    road_noise=0.01,
):
    """The faithfulness table, the mean curves and the per-face results.

    ``classes`` are the classes the model predicts on the original faces
    (e.g. the argmax of the stored ``val_probs``); every method explains
    them, and the curves follow their probability.
    ``maps_of(model, images, classes, method)`` computes a method's maps.
    ``regions`` (name -> [x0, y0, x1, y1] boxes, see ``region_masks``) are
    the face regions of the per-face mass shares; ``rows`` the faces'
    indices into the validation split (stored as ``val_rows``).
    Deletion and insertion replace pixels by a blurred copy (std
    ``blur_sigma``) in ``steps`` equal steps; ROAD (both orders) imputes
    them (``perturbation.NoisyLinearImputation``, noise ``road_noise``) at
    ``road_fractions``. The imputation's cost is logged.

    Returns (table, mean_curves, faces): the table has ``COLUMNS``, one row
    per method and one for ``random`` (no sanity check, no comparison with
    itself); mean_curves maps (method, mode) to the mean curve over the
    method's valid faces; faces holds the arrays ``FACE_KEYS`` (see
    ``face_arrays``).
    """
    images = np.asarray(images)
    classes = np.asarray(classes, np.int64)
    n = len(images)
    masks = region_masks(regions or {}, images.shape[1:])
    random_model = randomized_copy(model, seed=seed + 1)
    names = [*methods, "random"]
    aucs = {mode: np.full((len(names), n), np.nan) for mode in CLAIMS}
    valid = np.ones((len(names), n), bool)
    correlation = np.full((len(methods), n), np.nan)
    share = np.full((len(methods), n, len(masks)), np.nan)
    share_random = np.full_like(share, np.nan)
    mean_curves = {}
    replace = {
        "blur": perturbation.Blur(blur_sigma),
        "road": perturbation.NoisyLinearImputation(noise=road_noise, seed=[seed, 2]),
    }
    for k, method in enumerate(names):
        if method == "random":
            order = random_order(n, images.shape[1] * images.shape[2], seed)
        else:
            maps = maps_of(model, images, classes, method)
            random_maps = maps_of(random_model, images, classes, method)
            valid[k] = ~invalid_maps(maps)
            # Ties broken by a stream of their own (not the random order's).
            order = pixel_order(maps, seed=[seed, 1])
            correlation[k] = rank_correlation(maps, random_maps)
            share[k], share_random[k] = region_shares(maps, masks), region_shares(random_maps, masks)
            _log_invalid(method, valid[k], correlation[k])
        for mode in CLAIMS:
            kind = CURVES[mode][1]
            fractions = list(road_fractions) if kind == "road" else None
            curve = _valid_curves(
                model, images, order, classes, valid[k], steps=steps, mode=mode,
                replace=replace[kind], fractions=fractions,
            )  # fmt: skip
            mean_curves[method, mode] = _mean_curve(curve)
            aucs[mode][k] = auc(curve)
    road = replace["road"]
    log.info(
        "ROAD imputation: %d images in %.1f s (%.2f ms per image)",
        road.images_done,
        road.seconds,
        1e3 * road.seconds / max(road.images_done, 1),
    )
    table = faithfulness_table(names, aucs, valid, correlation, threshold, seed=seed)
    flagged = table["sanity_flagged"][: len(methods)]
    rows = np.arange(n) if rows is None else rows
    faces = face_arrays(names, aucs, valid, correlation, flagged, rows, classes, masks, share, share_random)
    return table, mean_curves, faces


# ---- the saliency scores: the deletion test at one fraction, the synthetic faces' cues -----------

# Metric name -> meaning, in the order of the scores table.
SCORE_DESCRIPTIONS = {
    "n_images": "validation faces scored (the faithfulness faces)",
    "deletion_fraction": "fraction of each face's pixels hidden in the deletion test",
    "prob_class": "mean probability of the explained (predicted) class, unmodified faces",
    "drop_salient": "mean drop of that probability, most salient pixels set to the face's mean",
    "drop_random": "mean drop of that probability, as many pixels in the random order set to the face's mean",
    "drop_ratio": "drop_salient / drop_random",
}
for _region in ("cues", *CUE_REGIONS):
    _what = "brows+eyes+mouth" if _region == "cues" else _region
    SCORE_DESCRIPTIONS[f"mass_share_{_region}"] = f"mean share of saliency mass inside the {_what} mask"
    SCORE_DESCRIPTIONS[f"area_share_{_region}"] = f"mean share of the image area inside the {_what} mask"
    SCORE_DESCRIPTIONS[f"mass_ratio_{_region}"] = (
        f"mass_share_{_region} / area_share_{_region} (1 = no preference)"
    )


def deletion_drop(model, images, order, classes, fraction):
    """Mean drop of the probability of ``classes`` when each face's ``fraction``
    first pixels of ``order`` are set to the face's mean: the deletion curve
    (``curves``, ``perturbation.MeanFill``) at 0 and at ``fraction``.
    Returns (mean probability before, mean drop)."""
    curve = curves(model, images, order, classes, replace=perturbation.MeanFill(), fractions=[0.0, fraction])
    return float(curve[:, 0].mean()), float((curve[:, 0] - curve[:, 1]).mean())


def scores(model, images, classes, maps, masks=None, fraction=0.1, seed=0):
    """One method's saliency scores as a tidy table (metric, value, description):
    the deletion test at one ``fraction`` (its most salient pixels against as
    many in the random order, both set to the face's mean; the same orders as
    the curves) and, with the synthetic faces' cue ``masks``, the saliency mass
    inside them (``saliency.mask_shares``). Without ``masks`` (real data) the
    mask metrics are present with an empty (NA) value, so the table has the
    same rows for every data set."""
    images = np.asarray(images)
    n, n_pixels = len(images), images.shape[1] * images.shape[2]
    before, salient = deletion_drop(model, images, pixel_order(maps, seed=[seed, 1]), classes, fraction)
    _, random = deletion_drop(model, images, random_order(n, n_pixels, seed), classes, fraction)
    values = {"n_images": n, "deletion_fraction": fraction, "prob_class": before}
    values |= {"drop_salient": salient, "drop_random": random}
    values["drop_ratio"] = salient / random if random > 0 else float("nan")
    if masks is not None:
        values.update(mask_shares(maps, masks))
    rows = [(name, values.get(name, np.nan), text) for name, text in SCORE_DESCRIPTIONS.items()]
    return pd.DataFrame(rows, columns=["metric", "value", "description"])


def _log_invalid(method, valid, correlation):
    invalid, undefined = int((~valid).sum()), int((~np.isfinite(correlation)).sum())
    level = logging.WARNING if invalid or undefined else logging.INFO
    log.log(
        level,
        "%s: %d of %d maps constant (left out of the curves), sanity correlation undefined on %d faces",
        method,
        invalid,
        len(valid),
        undefined,
    )


def faithfulness_table(names, aucs, valid, correlation, threshold, seed=stats.BOOTSTRAP_SEED):
    """The table (``COLUMNS``) from the per-face results: ``names`` the
    methods then ``random`` (last), ``aucs`` mode -> (m + 1, n) AUCs (NaN where
    invalid), ``valid`` (m + 1, n), ``correlation`` (m, n) sanity correlations."""
    m = len(names) - 1
    rows = [
        {"method": name, "n_faces": valid.shape[1], "n_valid": int(valid[k].sum())}
        for k, name in enumerate(names)
    ]
    for mode, direction in CLAIMS.items():
        for row, values in zip(rows, aucs[mode], strict=True):
            row[f"{mode}_auc"], row[f"{mode}_auc_low"], row[f"{mode}_auc_high"] = interval(values)
        paired = versus_random(aucs[mode][:m], aucs[mode][m], direction, seed=seed)
        for row, columns in zip(rows[:m], paired, strict=True):
            row.update({f"{mode}_{key}": value for key, value in columns.items()})
    for row, values in zip(rows[:m], correlation, strict=True):
        mean, low, high = interval(values)
        row.update(sanity_correlation=mean, sanity_correlation_low=low, sanity_correlation_high=high)
        row["sanity_n_valid"] = int(np.isfinite(values).sum())
        # One criterion with the findings: the upper bound under the threshold.
        row["sanity_flagged"] = not stats.upper_bound_under(high, threshold)
    table = pd.DataFrame(rows, columns=COLUMNS)
    # Counts stay integers beside the empty cell of the random row.
    table["sanity_n_valid"] = table["sanity_n_valid"].astype("Int64")
    return table


def face_arrays(names, aucs, valid, correlation, flagged, rows, classes, masks, share, share_random):
    """The per-face results as named arrays (``FACE_KEYS``) for ``arrays.save``."""
    region_names = list(masks)
    return {
        "methods": np.array(names, dtype=str),
        **{f"{mode}_auc": np.asarray(aucs[mode], np.float64) for mode in CLAIMS},
        "valid": np.asarray(valid, bool),
        "sanity_correlation": np.asarray(correlation, np.float64),
        "sanity_flagged": np.asarray(flagged, bool),
        "val_rows": np.asarray(rows, np.int64),
        "classes": np.asarray(classes, np.int64),
        "region_names": np.array(region_names, dtype=str),
        "region_area": np.array([masks[name].mean() for name in region_names], np.float64),
        "region_share": np.asarray(share, np.float64),
        "region_share_random_model": np.asarray(share_random, np.float64),
        "centre_prior_share": region_shares(centre_prior()[None], masks)[0],
    }


# ---- face regions (the measure itself: explain.regions.mass_shares) ---------------------


def region_shares(maps, masks):
    """Each map's share of its saliency mass inside each region (``regions.mass_shares``):
    (n, r) for the r masks (name -> bool mask), NaN also for an invalid map
    (constant, see ``invalid_maps``), which ranks no pixel."""
    shares = mass_shares(maps, masks)
    shares[invalid_maps(maps)] = np.nan
    return shares
