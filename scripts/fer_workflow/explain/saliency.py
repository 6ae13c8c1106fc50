"""Saliency maps of the CNN, and checks of them against ground truth.

A saliency map is |d score_c / d input|: how much each input pixel moves the
pre-softmax score of class c (Simonyan et al., 2014). SmoothGrad (Smilkov et
al., 2017) averages that map over noisy copies of the image, which removes
much of the speckle of the raw gradient. By default c is the image's true
class ("why is this face Happy?"); ``target="prediction"`` explains the
model's own answer instead.

All gradients are computed in batched calls: with the model in inference
mode (batch norm uses its moving statistics) every image's score depends on
that image only, so the gradient of the summed scores of a batch is, image
by image, the gradient of each image's own score.

Integrated gradients (Sundararajan et al., 2017) integrate the gradient
along the straight path from a baseline image (black, the face's mean gray,
or a blurred copy) to the face; Grad-CAM (Selvaraju et al., 2017) weights a
conv layer's feature maps by their mean gradient and upsamples the result to
48x48. Both are batched the same way, and both cast to float32 before
summing, so a mixed-precision (float16) model gives float32 maps.

The scores check a map against the synthetic faces' cue masks (how much of
the saliency mass falls on brows, eyes and mouth, compared with their share
of the image) and with a deletion test (hiding the most salient pixels should
hurt the correct class more than hiding as many random pixels).
"""

import logging
import math

import numpy as np

from fer_workflow import arrays, conv_layer_names
from fer_workflow.data.dataset import as_model_input
from fer_workflow.explain.regions import mass_shares

log = logging.getLogger(__name__)

# Images per gradient call; SmoothGrad batches images x noisy copies.
BATCH_SIZE = 256
# Cue regions of the synthetic masks (bits of masks.npz).
REGIONS = {"brows": 1, "eyes": 2, "mouth": 4}


def score_model(model):
    """The model up to its pre-softmax class scores (the "logits" layer).

    The softmax couples the classes (raising one probability lowers the
    others), so its gradient mixes in evidence against other classes; the
    pre-softmax score is the usual saliency target.
    """
    import keras

    return keras.Model(model.inputs[0], model.get_layer("logits").output, name="scores")


def _gradient_fn(scores, absolute=True):
    """A compiled function: (images, classes) -> |d score_class / d image|
    (the signed gradient with ``absolute=False``), float32."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def saliency(images, classes):
        with tf.GradientTape() as tape:
            tape.watch(images)
            # float32 before summing: a mixed-precision model's scores are float16.
            logits = tf.cast(scores(images, training=False), tf.float32)
            # Each image's own class score; summing them keeps the gradients
            # separate because images do not interact in inference mode.
            chosen = tf.gather(logits, classes, axis=1, batch_dims=1)
            total = tf.reduce_sum(chosen)
        grads = tf.cast(tape.gradient(total, images), tf.float32)[..., 0]
        return tf.abs(grads) if absolute else grads

    return saliency


def target_classes(labels, probs, target="label"):
    """The class each map explains: ``label`` (the true class) or ``prediction``
    (the most probable class of ``probs``, the model's probabilities of the
    same images, e.g. the stored ``val_probs``)."""
    if target == "label":
        return np.asarray(labels, dtype=np.int32)
    if target == "prediction":
        return np.asarray(probs).argmax(axis=1).astype(np.int32)
    raise ValueError(f"target must be 'label' or 'prediction', not {target!r}")


def vanilla(model, images, classes, batch_size=BATCH_SIZE):
    """|d score_c / d input| for every image, float32 (n, 48, 48).

    ``images`` are raw pixels (uint8 or float, 0..255), ``classes`` the class
    explained for each image.
    """
    fn = _gradient_fn(score_model(model))
    x = as_model_input(images)
    classes = np.asarray(classes, dtype=np.int32)
    out = [
        fn(x[i : i + batch_size], classes[i : i + batch_size]).numpy() for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros((0, *x.shape[1:3]), np.float32)


def smoothgrad(model, images, classes, samples=16, noise=0.1, seed=0, batch_size=BATCH_SIZE):
    """SmoothGrad: the mean of |gradient| over ``samples`` noisy copies per image.

    The noise is Gaussian with std ``noise * 255`` because the models take
    raw 0..255 pixels (the paper's 10-20 % of the input range). Noisy copies
    are not clipped. Images x copies are processed in chunks of
    ``batch_size`` so memory stays bounded whatever the image count;
    progress is logged. With ``noise=0`` this equals ``vanilla``.
    """
    fn = _gradient_fn(score_model(model))
    x = as_model_input(images)
    classes = np.asarray(classes, dtype=np.int32)
    rng = np.random.default_rng(seed)
    # Row r of the flattened (image, copy) list is image r // samples.
    total = len(x) * samples
    sums = np.zeros(x.shape[:3], np.float32)
    n_chunks = math.ceil(total / batch_size)
    for k, start in enumerate(range(0, total, batch_size)):
        rows = np.arange(start, min(start + batch_size, total)) // samples
        noisy = x[rows] + rng.normal(0.0, noise * 255.0, size=(len(rows), *x.shape[1:])).astype(np.float32)
        grads = fn(noisy, classes[rows]).numpy()
        np.add.at(sums, rows, grads)
        if k + 1 == n_chunks or (k + 1) % max(1, n_chunks // 10) == 0:
            log.info(
                "smoothgrad: %d/%d noisy images (%d/%d batches)",
                min(start + batch_size, total),
                total,
                k + 1,
                n_chunks,
            )
    return sums / samples


def blur(images, sigma):
    """Gaussian-blurred float32 copies of (n, 48, 48[, 1]) images (std ``sigma`` pixels)."""
    from scipy.ndimage import gaussian_filter

    x = np.asarray(images, np.float32)
    sigmas = (0, sigma, sigma) + (0,) * (x.ndim - 3)
    return gaussian_filter(x, sigma=sigmas, mode="nearest")


def baseline_images(images, baseline="black", blur_sigma=4.0):
    """The integrated-gradients baseline of each image, float32 like ``images``.

    ``black`` (all zeros), ``mean`` (the image's own mean gray level: no
    content, same brightness) or ``blur`` (a Gaussian-blurred copy: no fine
    detail, same coarse shading).
    """
    x = np.asarray(images, np.float32)
    if baseline == "black":
        return np.zeros_like(x)
    if baseline == "mean":
        return np.broadcast_to(x.mean(axis=(1, 2), keepdims=True), x.shape).copy()
    if baseline == "blur":
        return blur(x, blur_sigma)
    raise ValueError(f"baseline must be 'black', 'mean' or 'blur', not {baseline!r}")


def integrated_gradients(
    model,
    images,
    classes,
    steps=32,
    baseline="black",
    blur_sigma=4.0,
    absolute=True,
    batch_size=BATCH_SIZE,
):
    """Integrated gradients (Sundararajan et al., 2017): (x - x0) times the mean
    gradient along the straight path from the baseline x0 to x.

    The path integral uses the midpoint rule with ``steps`` points; images x
    steps are batched in chunks of ``batch_size``. The attributions sum to
    score(x) - score(x0) up to the integration error ("completeness").
    ``absolute=True`` returns |attribution| (a map like the others),
    ``absolute=False`` the signed attributions.
    """
    fn = _gradient_fn(score_model(model), absolute=False)
    x = as_model_input(images)
    base = baseline_images(x, baseline, blur_sigma)
    classes = np.asarray(classes, dtype=np.int32)
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)
    total = len(x) * steps
    sums = np.zeros(x.shape[:3], np.float32)
    n_chunks = math.ceil(total / batch_size)
    for k, start in enumerate(range(0, total, batch_size)):
        flat = np.arange(start, min(start + batch_size, total))
        rows, alpha = flat // steps, alphas[flat % steps][:, None, None, None]
        path = base[rows] + alpha * (x[rows] - base[rows])
        np.add.at(sums, rows, fn(path, classes[rows]).numpy())
        if k + 1 == n_chunks or (k + 1) % max(1, n_chunks // 10) == 0:
            log.info(
                "integrated gradients: %d/%d path images (%d/%d batches)",
                flat[-1] + 1,
                total,
                k + 1,
                n_chunks,
            )
    attributions = (x - base)[..., 0] * sums / steps
    return np.abs(attributions) if absolute else attributions


def gradcam_layer(model, layer="last"):
    """The layer whose output Grad-CAM weights: conv layer ``layer``
    (``last`` = the model's last ``block<i>_conv<j>``), taken after its ReLU
    (``block<i>_relu<j>``) when the model has one, as in the paper's
    rectified conv feature maps."""
    convs = conv_layer_names(model)
    if layer == "last":
        if not convs:
            raise ValueError("layer: the model has no block<i>_conv<j> layer")
        layer = convs[-1]
    if layer not in convs:
        raise ValueError(f"layer: the model has no conv layer {layer!r} (it has {', '.join(convs)})")
    relu = layer.replace("_conv", "_relu")
    names = {lay.name for lay in model.layers}
    return model.get_layer(relu if relu in names else layer)


def gradcam(model, images, classes, layer="last", batch_size=BATCH_SIZE):
    """Grad-CAM (Selvaraju et al., 2017): ReLU(sum_k a_k A_k), where A_k are
    the feature maps of ``layer`` and a_k the mean over positions of
    d score_c / d A_k; bilinearly upsampled to the 48x48 input, float32."""
    import keras
    import tensorflow as tf

    target = gradcam_layer(model, layer)
    both = keras.Model(model.inputs[0], [target.output, model.get_layer("logits").output])

    @tf.function(reduce_retracing=True)
    def cam(images, classes):
        with tf.GradientTape() as tape:
            acts, logits = both(images, training=False)
            chosen = tf.gather(tf.cast(logits, tf.float32), classes, axis=1, batch_dims=1)
            total = tf.reduce_sum(chosen)
        # float32: a mixed-precision model's activations and gradients are float16.
        grads = tf.cast(tape.gradient(total, acts), tf.float32)
        acts = tf.cast(acts, tf.float32)
        weights = tf.reduce_mean(grads, axis=(1, 2), keepdims=True)
        maps = tf.nn.relu(tf.reduce_sum(weights * acts, axis=-1, keepdims=True))
        return tf.image.resize(maps, images.shape[1:3], method="bilinear")[..., 0]

    x = as_model_input(images)
    classes = np.asarray(classes, dtype=np.int32)
    out = [
        cam(x[i : i + batch_size], classes[i : i + batch_size]).numpy() for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(out) if out else np.zeros(x.shape[:3], np.float32)


# ---- the registry: one small class per method, owning its knobs -------------------------


class Method:
    """A saliency method: its name, its knobs (the config keys under ``saliency``,
    with their defaults) and its maps, float32 (n, 48, 48), >= 0.

    An instance holds the knob values; calling it with a model, uint8 faces and
    the classes to explain gives the maps. A new method is one subclass here
    (with the paper it implements in its docstring), added to ``REGISTRY``.
    """

    name = ""
    knobs = {}

    def __init__(self, seed=0, **knobs):
        unknown = sorted(set(knobs) - set(self.knobs))
        if unknown:
            raise TypeError(
                f"{self.name} has no knob {', '.join(unknown)} (its knobs: {', '.join(self.knobs)})"
            )
        self.seed = seed
        self.options = {key: knobs.get(key, default) for key, default in self.knobs.items()}

    def __call__(self, model, images, classes):
        raise NotImplementedError


class Vanilla(Method):
    """|d score_c / d input| (Simonyan et al., 2014)."""

    name = "vanilla"

    def __call__(self, model, images, classes):
        return vanilla(model, images, classes)


class SmoothGrad(Method):
    """The vanilla map's mean over noisy copies of the face (Smilkov et al., 2017)."""

    name = "smoothgrad"
    knobs = {"smooth_samples": 16, "noise": 0.1}

    def __call__(self, model, images, classes):
        o = self.options
        return smoothgrad(
            model, images, classes, samples=o["smooth_samples"], noise=o["noise"], seed=self.seed
        )


class IntegratedGradients(Method):
    """|attribution| along the path from a baseline image to the face (Sundararajan et al., 2017)."""

    name = "integrated_gradients"
    knobs = {"ig_steps": 32, "ig_baseline": "black", "baseline_blur": 4.0}

    def __call__(self, model, images, classes):
        o = self.options
        return integrated_gradients(
            model,
            images,
            classes,
            steps=o["ig_steps"],
            baseline=o["ig_baseline"],
            blur_sigma=o["baseline_blur"],
        )


class GradCAM(Method):
    """A conv layer's feature maps weighted by their mean gradient (Selvaraju et al., 2017)."""

    name = "gradcam"
    knobs = {"gradcam_layer": "last"}

    def __call__(self, model, images, classes):
        return gradcam(model, images, classes, layer=self.options["gradcam_layer"])


REGISTRY = {method.name: method for method in (Vanilla, SmoothGrad, IntegratedGradients, GradCAM)}
METHODS = tuple(REGISTRY)
# Every method's knobs (config names, in registry order): what a rule passes as one dict.
KNOBS = tuple(key for method in REGISTRY.values() for key in method.knobs)


def build(name, seed=0, **knobs):
    """The registered method ``name`` with its own knobs taken from ``knobs``
    (which may hold every method's: the others' are left out)."""
    if name not in REGISTRY:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, not {name!r}")
    unknown = sorted(set(knobs) - set(KNOBS))
    if unknown:
        raise TypeError(f"unknown saliency knob(s) {', '.join(unknown)} (known: {', '.join(KNOBS)})")
    cls = REGISTRY[name]
    return cls(seed=seed, **{key: value for key, value in knobs.items() if key in cls.knobs})


def compute(model, images, classes, method="smoothgrad", seed=0, **knobs):
    """Saliency maps by ``method`` (one of METHODS), float32 (n, 48, 48), >= 0.

    The knobs have the names of the config keys under ``saliency`` (a rule
    passes every method's as one dict, ``KNOBS``); each method takes its own
    (``REGISTRY[method].knobs``) and the defaults there for the rest.
    """
    return build(method, seed=seed, **knobs)(model, images, classes)


def validation_masks(mask_file, dataset):
    """The cue masks of the dataset's validation faces.

    The generator's masks are aligned with the rows of the original training
    file; ``dataset.val_index`` says which rows became validation faces.
    """
    train_masks = arrays.load(mask_file, ["train"])["train"]
    last_row = dataset.val_index.max(initial=-1)
    if train_masks.shape[1:] != dataset.x_val.shape[1:] or last_row >= len(train_masks):
        raise ValueError(
            f"{mask_file}: masks 'train' of shape {train_masks.shape} do not cover the validation "
            f"rows (largest row {last_row}, images {dataset.x_val.shape[1:]})"
        )
    return train_masks[dataset.val_index]


def mask_shares(maps, masks):
    """Saliency mass inside the cue masks vs. the masks' share of the image.

    Returns a dict with, for all cues together and for each region, the mean
    over images of (saliency in region / total saliency; ``regions.mass_shares``,
    a map without mass counting as 0) and of (region area / image area). A map
    that ignores the cues has a mass share close to the area share; a ratio
    mass / area well above 1 means the map is concentrated on the cues.
    """
    masks = np.asarray(masks)
    cues = {
        region: (masks & bits) != 0 for region, bits in {"cues": sum(REGIONS.values()), **REGIONS}.items()
    }
    shares = np.nan_to_num(mass_shares(maps, cues), nan=0.0)
    out = {}
    for k, (region, inside) in enumerate(cues.items()):
        out[f"mass_share_{region}"] = float(np.mean(shares[:, k]))
        out[f"area_share_{region}"] = float(np.mean(inside.mean(axis=(1, 2))))
        out[f"mass_ratio_{region}"] = out[f"mass_share_{region}"] / max(out[f"area_share_{region}"], 1e-12)
    return out
