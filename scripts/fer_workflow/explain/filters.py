"""What the CNN's filters respond to: gradient-ascent images and feature maps.

Gradient ascent (the keras.io example "Visualizing what convnets learn")
starts from gray noise and repeatedly moves the input image along the
gradient of one filter's response: the mean of the filter's channel in the
output of its block (after batch norm and ReLU, ``block_outputs``) over the
central region of the map (``border`` input pixels excluded at each edge, as
keras.io excludes the border, where zero padding distorts the response).
A filter that the ReLU switches off everywhere on the gray start image would
get no gradient at all, so the objective leaks: it adds ``LEAK`` (0.01)
times the same mean before the ReLU. After each step the image is clipped to
the pixel range 0..255, so it stays an image the CNN could be shown; the CNN
then classifies it (``classify``).

The first ``n`` filters of a layer are optimised together: a batch of ``n``
images, image ``i`` for filter ``i``, and the loss
``sum_i mean(activation[i, border:-border, border:-border, i])`` (plus the
leak). Image ``j`` does not influence the activation of image ``i``
(inference mode), so each loss term's gradient touches only its own image
and one batched step does the work of ``n`` single-filter steps, with matrix
products big enough to keep the CPU busy. The layer's conv runs in full
(every filter on every image): after batch norm and ReLU the mean is no
longer linear in the conv's input, so the old own-filter shortcut (the
filter applied to window means) no longer applies. ``single_step`` is the
one-filter-at-a-time step (keras.io shape), the reference that the tests
check ``ascend`` against and benchmarks/filter_ascent.py times.

Regularisers (Olah et al. 2017, "Feature Visualization"; tf-keras-vis's
``Jitter``, ``Rotate2D``, ``TotalVariation2D`` and ``Norm``; Yosinski et al.
2015's blur every few steps): at each step the image is rolled by a random
shift (``jitter``) and rotated by a random small angle (``rotation``, bilinear,
reflected at the edges) inside the gradient tape, so the gradient reaches the
unrotated image and only patterns that survive small moves grow; a
total-variation penalty (``tv_weight``) and an L2 penalty towards the gray
start (``l2_weight``) pull against noise and saturation; every
``blur_every`` steps the image is blurred (std ``blur_sigma``). Each term's
gradient is scaled to unit RMS per image before its weight applies, so the
weights are ratios of pixel change per step (1 = as strong as the filter's
own pull) whatever the layer's activation scale. The start is gray with
small uniform noise (``start_noise`` gray levels).

Beside each image, the real face crops that excite the filter most (Zeiler
and Fergus 2014): one forward pass over the validation faces keeps, per
filter, each face's strongest position; the ``k`` best faces' crops are the
filter's receptive field around that position (``receptive_field``).

Mixed precision: a ``mixed_float16`` model computes in float16. The images
stay float32 (the model casts them), the loss is summed in float32, and the
loss is scaled by ``LOSS_SCALE`` before the gradient so that small float16
gradients do not underflow; each image's gradient is normalised afterwards,
so the scale cancels.
"""

import logging

import numpy as np
import pandas as pd

from fer_workflow import CLASS_NAMES, NUM_CLASSES, conv_layer_names
from fer_workflow.evaluation import stats

# Gray start images: 128 +- 16, about the keras.io noise range relative to
# the input range.
GRAY, NOISE = 128.0, 16.0
PIXEL_MAX = 255.0
# Slope of the objective's leak below zero: a filter that the ReLU switches
# off everywhere on the gray start image still gets a gradient (keras.io's
# objective would leave its image as noise). The reported activation is the
# ReLU output itself.
LEAK = 0.01
# Power of two: exact in float32, and keeps float16 gradients above underflow.
LOSS_SCALE = {"float16": 1024.0}
# Layers that belong to a conv's block before the next conv or pooling.
BLOCK_LAYERS = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU")


def conv_layer(model, name):
    """The conv layer called ``name``; a clear error listing the model's conv layers if absent."""
    names = conv_layer_names(model)
    if name not in names:
        raise ValueError(
            f"name: the model has no conv layer {name!r}; its conv layers are: {', '.join(names) or 'none'}"
        )
    return model.get_layer(name)


def block_outputs(model, name):
    """(pre, post): the output of conv layer ``name`` after the batch norm and
    activation that follow it (the layers right after it that take its output
    in turn), and the input of that activation (``pre``; ``post`` itself if
    the block has no activation layer)."""
    layer = conv_layer(model, name)
    pre = post = layer.output
    for nxt in model.layers[model.layers.index(layer) + 1 :]:
        if type(nxt).__name__ not in BLOCK_LAYERS or nxt.input is not post:
            break
        if type(nxt).__name__ != "BatchNormalization":
            pre = post
        post = nxt.output
    return pre, post


def feature_extractor(model, name):
    """A model from the raw-pixel input to conv layer ``name``'s block output
    (after batch norm and ReLU) and to that activation's input:
    images -> [pre, post]."""
    import keras

    return keras.Model(model.inputs[0], list(block_outputs(model, name)), name=f"features_{name}")


def conv_extractor(model, name):
    """A model from the raw-pixel input to conv layer ``name``'s raw output."""
    import keras

    return keras.Model(model.inputs[0], conv_layer(model, name).output, name=f"conv_{name}")


def responses(extractor, images):
    """The block output (after batch norm and ReLU) of the extractor's layer."""
    return extractor(images, training=False)[1]


def map_border(border, map_size, input_size=48):
    """``border`` input pixels in pixels of a ``map_size`` feature map (rounded);
    a clear error if no central region is left."""
    b = int(round(border * map_size / input_size))
    if map_size - 2 * b < 1:
        raise ValueError(
            f"border: {border} input pixels are {b} pixels of this layer's "
            f"{map_size}x{map_size} maps, leaving no central region"
        )
    return b


def initial_images(n, seed, size=48, noise=NOISE):
    """``n`` gray images with uniform noise of +-``noise`` gray levels (n, size,
    size, 1) float32 in raw pixel units, seeded."""
    rng = np.random.default_rng(seed)
    return (GRAY + rng.uniform(-noise, noise, size=(n, size, size, 1))).astype(np.float32)


def rotation_angles(steps, rotation, seed):
    """One random angle in [-rotation, rotation] degrees per step, shared by the batch."""
    rng = np.random.default_rng(seed + 2)
    return rng.uniform(-rotation, rotation, size=steps).astype(np.float32)


def rotate(images, degrees):
    """``images`` (n, h, w, 1) rotated by ``degrees`` about their centre,
    bilinear, reflected at the edges; differentiable in the images."""
    import keras
    import tensorflow as tf

    size = tf.cast(tf.shape(images)[1:3], tf.float32)
    cy, cx = (size[0] - 1) / 2, (size[1] - 1) / 2
    a = degrees * (np.pi / 180)
    c, s = tf.cos(a), tf.sin(a)
    # Output pixel (x, y) samples the input at R (x - centre) + centre.
    transform = tf.stack([c, -s, cx - c * cx + s * cy, s, c, cy - s * cx - c * cy, 0.0, 0.0])
    transform = tf.tile(transform[None], [tf.shape(images)[0], 1])
    return keras.ops.image.affine_transform(images, transform, interpolation="bilinear", fill_mode="reflect")


def gaussian_blur(images, sigma):
    """``images`` (n, h, w, 1) blurred by a Gaussian of std ``sigma`` pixels (reflected edges)."""
    import tensorflow as tf

    radius = max(1, int(np.ceil(3 * sigma)))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    kernel = np.exp(-(x**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).astype(np.float32)
    padded = tf.pad(images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT")
    out = tf.nn.conv2d(padded, kernel.reshape(-1, 1, 1, 1), 1, "VALID")
    return tf.nn.conv2d(out, kernel.reshape(1, -1, 1, 1), 1, "VALID")


def jitter_shifts(steps, jitter, seed):
    """One random (dy, dx) roll in [-jitter, jitter] per step, shared by the batch."""
    rng = np.random.default_rng(seed + 1)
    return rng.integers(-jitter, jitter + 1, size=(steps, 2)).astype(np.int32)


def total_variation(images):
    """Per-image total variation (mean absolute difference of neighbours)."""
    import tensorflow as tf

    dy = tf.abs(images[:, 1:, :, :] - images[:, :-1, :, :])
    dx = tf.abs(images[:, :, 1:, :] - images[:, :, :-1, :])
    return tf.reduce_mean(dy, axis=[1, 2, 3]) + tf.reduce_mean(dx, axis=[1, 2, 3])


def normalise(grads):
    """Scale each image's gradient to unit RMS, so ``learning_rate`` is the
    RMS change of a pixel per step, in pixel values (0..255)."""
    import tensorflow as tf

    rms = tf.sqrt(tf.reduce_mean(tf.square(grads), axis=[1, 2, 3], keepdims=True))
    return grads / (rms + 1e-8)


def central(activation, border):
    """The activation maps without ``border`` pixels at each edge."""
    if border == 0:
        return activation
    return activation[:, border:-border, border:-border, :]


def own_filter_means(activation, border=0):
    """mean(activation[i, central, i]) for each image i (its own filter), float32 (n,)."""
    import tensorflow as tf

    activation = central(activation, border)
    n = tf.shape(activation)[0]
    own = tf.gather(activation, tf.range(n)[:, None], axis=3, batch_dims=1)  # (n, h, w, 1)
    return tf.reduce_mean(tf.cast(own, tf.float32), axis=[1, 2, 3])


def leaky_terms(outputs, border=0):
    """The loss terms: mean of each image's own filter's ReLU output over the
    central region, plus ``LEAK`` times the same mean before the ReLU."""
    pre, post = outputs
    return own_filter_means(post, border) + LEAK * own_filter_means(pre, border)


def _loss_scale(extractor):
    import keras

    return LOSS_SCALE.get(keras.backend.standardize_dtype(extractor.outputs[-1].dtype), 1.0)


def _step(images, shift, angle, loss_terms, learning_rate, weights, scale, rotate_images):
    """One ascent step on a batch: jitter (roll) and rotate inside the tape,
    ascend the filter's objective against the TV and L2 penalties (each
    gradient at unit RMS, then weighted), clip to 0..255."""
    import tensorflow as tf

    tv_weight, l2_weight = weights
    with tf.GradientTape() as tape:
        tape.watch(images)
        moved = tf.roll(images, shift, axis=[1, 2])
        if rotate_images:
            moved = rotate(moved, angle)
        loss = tf.reduce_sum(loss_terms(moved)) * scale
    update = normalise(tape.gradient(loss, images))
    if tv_weight:
        with tf.GradientTape() as tape:
            tape.watch(images)
            tv = tf.reduce_sum(total_variation(images))
        update -= tv_weight * normalise(tape.gradient(tv, images))
    if l2_weight:
        update -= l2_weight * normalise(images - GRAY)
    return tf.clip_by_value(images + learning_rate * update, 0.0, PIXEL_MAX)


def batched_step(
    extractor, learning_rate, tv_weight=0.0, border=0, jit_compile=False, l2_weight=0.0, rotation=0.0
):
    """Compiled step for all filters at once: (images, shift, angle) -> images."""
    import tensorflow as tf

    def terms(images):
        return leaky_terms(extractor(images, training=False), border)

    scale = _loss_scale(extractor)
    weights = (float(tv_weight), float(l2_weight))

    @tf.function(jit_compile=jit_compile)
    def step(images, shift, angle=0.0):
        return _step(images, shift, angle, terms, learning_rate, weights, scale, bool(rotation))

    return step


# Not used by the rules: the reference of tests/test_filters.py and
# benchmarks/filter_ascent.py, kept here beside batched_step as both share _step.
def single_step(
    extractor, learning_rate, tv_weight=0.0, border=0, jit_compile=False, l2_weight=0.0, rotation=0.0
):
    """Compiled step for one filter (keras.io shape): (image, shift, index, angle) -> image."""
    import tensorflow as tf

    scale = _loss_scale(extractor)
    weights = (float(tv_weight), float(l2_weight))

    @tf.function(jit_compile=jit_compile)
    def step(image, shift, index, angle=0.0):
        def terms(images):
            pre, post = (tf.gather(out, [index], axis=3) for out in extractor(images, training=False))
            return leaky_terms((pre, post), border)

        return _step(image, shift, angle, terms, learning_rate, weights, scale, bool(rotation))

    return step


def final_means(extractor, images, border=0):
    """Each image's own-filter mean activation (central region), numpy (n,)."""
    return own_filter_means(responses(extractor, images), border).numpy()


def _check_count(extractor, n_filters):
    n_channels = extractor.outputs[-1].shape[-1]
    if not 1 <= n_filters <= n_channels:
        raise ValueError(f"n_filters must be 1..{n_channels} for this layer, not {n_filters}")


log = logging.getLogger(__name__)


def ascend(
    extractor,
    n_filters,
    steps=40,
    learning_rate=10.0,
    jitter=0,
    tv_weight=0.0,
    border=0,
    seed=0,
    jit_compile=False,
    rotation=0.0,
    l2_weight=0.0,
    blur_every=0,
    blur_sigma=1.0,
    start_noise=NOISE,
):
    """Gradient-ascent images for the first ``n_filters`` filters, all in one batch.

    ``border``: input pixels excluded at each edge of the objective (converted
    to the layer's map size); the regularisers are the module docstring's.
    Returns (images float32 (n, 48, 48) in 0..255, final mean activation of
    each filter on its image over the central region (n,)). Progress is
    logged five times over the run.
    """
    import tensorflow as tf

    _check_count(extractor, n_filters)
    size = extractor.input.shape[1]
    b = map_border(border, extractor.outputs[-1].shape[1], size)
    step = batched_step(extractor, float(learning_rate), tv_weight, b, jit_compile, l2_weight, rotation)
    images = tf.constant(initial_images(n_filters, seed, size=size, noise=start_noise))
    angles = rotation_angles(steps, rotation, seed)
    every = max(1, steps // 5)
    for done, shift in enumerate(jitter_shifts(steps, jitter, seed), start=1):
        images = step(images, shift, angles[done - 1])
        if blur_every and done % blur_every == 0 and done < steps:
            images = gaussian_blur(images, blur_sigma)
        if done % every == 0 or done == steps:
            log.info("ascent: %d/%d steps", done, steps)
    return images.numpy()[..., 0], final_means(extractor, images, b)


# ---- the real crops that excite a filter most ---------------------------------------------

SPATIAL = {"Conv2D", "SeparableConv2D", "DepthwiseConv2D", "MaxPooling2D", "AveragePooling2D"}


def receptive_field(model, name):
    """(size, stride, offset) of conv layer ``name``'s units in input pixels:
    unit (i, j) sees the ``size`` x ``size`` input square centred on
    (offset + i * stride, offset + j * stride). From the kernels, pools and
    strides of the layers before it (others are taken as pixel-wise)."""
    layer = conv_layer(model, name)
    size, stride, offset = 1, 1, 0.0
    for current in model.layers[: model.layers.index(layer) + 1]:
        kind = type(current).__name__
        if kind not in SPATIAL:
            continue
        if kind.endswith("Pooling2D"):
            k, s, padding = current.pool_size[0], current.strides[0], current.padding
        else:
            k, s, padding = current.kernel_size[0], current.strides[0], current.padding
        size += (k - 1) * stride
        if padding == "valid":
            offset += (k - 1) / 2 * stride
        stride *= s
    return size, stride, offset


def top_activations(extractor, faces, n_filters, k=9, batch_size=256):
    """The ``k`` faces that excite each of the first ``n_filters`` filters
    most, in one forward pass over ``faces`` (n, 48, 48): per face and filter
    the strongest unit of the block output (after batch norm and ReLU).
    Returns (faces (F, k) indices, positions (F, k, 2) unit rows and columns,
    activations (F, k)), strongest first."""
    from fer_workflow.data.dataset import as_model_input

    best, where = [], []
    for start in range(0, len(faces), batch_size):
        acts = np.asarray(responses(extractor, as_model_input(faces[start : start + batch_size])), np.float32)
        acts = acts[..., :n_filters]
        flat = acts.reshape(len(acts), -1, n_filters)
        best.append(flat.max(axis=1))
        where.append(flat.argmax(axis=1))
    best, where = np.concatenate(best), np.concatenate(where)  # (n, F)
    k = min(k, len(faces))
    order = np.argsort(-best, axis=0, kind="stable")[:k].T  # (F, k)
    filters_ = np.arange(n_filters)[:, None]
    positions = np.stack(np.unravel_index(where[order, filters_], acts.shape[1:3]), axis=-1)
    return order, positions, best[order, filters_]


def crops(faces, indices, positions, field, fill=0):
    """The receptive-field crops (F, k, size, size) uint8 around each unit;
    outside the face ``fill``."""
    size, stride, offset = field
    faces = np.asarray(faces)
    pad = size
    padded = np.pad(faces, ((0, 0), (pad, pad), (pad, pad)), constant_values=fill)
    out = np.empty((*indices.shape, size, size), faces.dtype)
    for f, k in np.ndindex(indices.shape):
        cy, cx = offset + positions[f, k] * stride
        y0, x0 = int(round(cy - (size - 1) / 2)) + pad, int(round(cx - (size - 1) / 2)) + pad
        out[f, k] = padded[indices[f, k], y0 : y0 + size, x0 : x0 + size]
    return out


def image_maxima(extractor, images):
    """Each filter image's strongest unit of its own filter (the statistic of
    ``top_activations``), numpy (n,)."""
    import tensorflow as tf

    from fer_workflow.data.dataset import as_model_input

    acts = responses(extractor, as_model_input(np.asarray(images)))
    n = len(images)
    own = tf.gather(acts, tf.range(n)[:, None], axis=3, batch_dims=1)
    return np.asarray(tf.reduce_max(tf.cast(own, tf.float32), axis=[1, 2, 3]))


def to_uint8(images):
    """Ascent images (already in 0..255) as uint8 for display, rounded."""
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def classify(model, images, activations):
    """What the CNN sees in each filter image: a table with one row per filter
    (filter, activation, label, class, probability), the class the model
    predicts for the image and its probability."""
    import pandas as pd

    from fer_workflow import CLASS_NAMES
    from fer_workflow.data.dataset import as_model_input

    probs = np.asarray(model(as_model_input(np.asarray(images)), training=False), np.float64)
    labels = probs.argmax(axis=1)
    return pd.DataFrame(
        {
            "filter": np.arange(len(images)),
            "activation": np.asarray(activations, np.float64),
            "label": labels,
            "class": [CLASS_NAMES[k] for k in labels],
            "probability": probs[np.arange(len(images)), labels],
        }
    )


def measure(table, image_max, crop_max, null_table):
    """The filter table with the measures beside each image: its filter's
    strongest unit on the image (``image_max``) against the best real crop's
    (``crop_max``) and their ratio, and the class the CNN gives the
    re-initialised network's image of the same filter (``null_*``)."""
    out = table.copy()
    out["image_max"] = np.asarray(image_max, np.float64)
    out["best_crop_max"] = np.asarray(crop_max, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["image_to_crop"] = out["image_max"] / out["best_crop_max"]
    out["null_label"] = null_table["label"].to_numpy()
    out["null_class"] = null_table["class"].to_numpy()
    out["null_probability"] = null_table["probability"].to_numpy()
    return out


def class_counts(table, column="label"):
    """How many filter images the CNN puts in each class (all 7, in label order)."""
    counts = table[column].value_counts().reindex(range(len(CLASS_NAMES)), fill_value=0)
    return pd.Series(counts.to_numpy(), index=pd.Index(CLASS_NAMES, name="class"), name="filters")


def filter_activations(model, name, image):
    """Feature maps (h, w, channels) of conv layer ``name`` for one uint8 (48, 48) image."""
    from fer_workflow.data.dataset import as_model_input

    extractor = conv_extractor(model, name)
    return np.asarray(extractor(as_model_input(image[None]), training=False), np.float32)[0]


# ---- the evidence about the filter images' classes ---------------------------------------------

# The study's sentence about its filter images: they look like this class to the CNN.
STUDY_CLASS = "Surprise"
TEST_COLUMNS = ["test", "study_class", "n", "estimate", "low", "high", "null_95th", "hits", "null_hits", "p"]


def class_distance(a, b):
    """Total variation distance between the class distributions of label
    arrays, row by row: ``a`` (r, n) and ``b`` (r, m) -> (r,)."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)

    def shares(labels):
        rows = np.arange(len(labels))[:, None] * NUM_CLASSES
        counts = np.bincount((labels + rows).ravel(), minlength=len(labels) * NUM_CLASSES)
        return counts.reshape(len(labels), NUM_CLASSES) / labels.shape[1]

    return 0.5 * np.abs(shares(a) - shares(b)).sum(axis=1)


def class_tests(table, study_class=STUDY_CLASS):
    """The tests of the filter images' classes (``measure``'s table), made
    where the images are (plot_filters; the findings word them), one row each
    (``TEST_COLUMNS``):

    - ``classes_differ_from_null``: do the trained network's images fall in
      other classes than the re-initialised network's? The 2 x 7 table of a
      few dozen filters is sparse, so a permutation test of the labels (exact
      in level), not a chi-square. Its statistic, the total variation
      distance, is never below 0, so no interval of it (it could not include
      0): the permutation null's 95th percentile instead.
    - ``study_class_share``: more of them in ``study_class`` than the null's?
      The difference of shares with its bootstrap interval, one-sided Fisher
      exact.
    """
    trained = table["label"].to_numpy(np.int64)
    null = table["null_label"].to_numpy(np.int64)
    n = len(trained)
    distance, p, chance = stats.permutation_test(trained, null, class_distance)
    k = CLASS_NAMES.index(study_class)
    hits, null_hits = int(np.sum(trained == k)), int(np.sum(null == k))

    def share_gap(a, b):
        return np.mean(a == k) - np.mean(b == k)

    gap, low, high = stats.bootstrap_difference(trained, null, share_gap)
    rows = [
        ["classes_differ_from_null", study_class, n, distance, np.nan, np.nan, chance, hits, null_hits, p],
        [
            "study_class_share", study_class, n, gap, low, high, np.nan, hits, null_hits,
            stats.fisher_greater(hits, n, null_hits, n),
        ],
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=TEST_COLUMNS)
