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

Mixed precision: a ``mixed_float16`` model computes in float16. The images
stay float32 (the model casts them), the loss is summed in float32, and the
loss is scaled by ``LOSS_SCALE`` before the gradient so that small float16
gradients do not underflow; each image's gradient is normalised afterwards,
so the scale cancels.
"""

import logging

import numpy as np

from . import conv_layer_names

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


def initial_images(n, seed, size=48):
    """``n`` gray noise images (n, size, size, 1) float32 in raw pixel units, seeded."""
    rng = np.random.default_rng(seed)
    return (GRAY + rng.uniform(-NOISE, NOISE, size=(n, size, size, 1))).astype(np.float32)


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


def _step(images, shift, loss_terms, learning_rate, tv_weight, scale):
    """One ascent step on a batch: roll (jitter), ascend, roll back, clip to 0..255."""
    import tensorflow as tf

    rolled = tf.roll(images, shift, axis=[1, 2])
    with tf.GradientTape() as tape:
        tape.watch(rolled)
        terms = loss_terms(rolled)
        loss = tf.reduce_sum(terms) - tv_weight * tf.reduce_sum(total_variation(rolled))
        loss = loss * scale
    rolled = rolled + learning_rate * normalise(tape.gradient(loss, rolled))
    return tf.clip_by_value(tf.roll(rolled, -shift, axis=[1, 2]), 0.0, PIXEL_MAX)


def batched_step(extractor, learning_rate, tv_weight=0.0, border=0, jit_compile=False):
    """Compiled step for all filters at once: (images, shift) -> images."""
    import tensorflow as tf

    def terms(images):
        return leaky_terms(extractor(images, training=False), border)

    scale = _loss_scale(extractor)

    @tf.function(jit_compile=jit_compile)
    def step(images, shift):
        return _step(images, shift, terms, learning_rate, tv_weight, scale)

    return step


# Not used by the rules: the reference of tests/test_filters.py and
# benchmarks/filter_ascent.py, kept here beside batched_step as both share _step.
def single_step(extractor, learning_rate, tv_weight=0.0, border=0, jit_compile=False):
    """Compiled step for one filter (keras.io shape): (image, shift, index) -> image."""
    import tensorflow as tf

    scale = _loss_scale(extractor)

    @tf.function(jit_compile=jit_compile)
    def step(image, shift, index):
        def terms(images):
            pre, post = (tf.gather(out, [index], axis=3) for out in extractor(images, training=False))
            return leaky_terms((pre, post), border)

        return _step(image, shift, terms, learning_rate, tv_weight, scale)

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
):
    """Gradient-ascent images for the first ``n_filters`` filters, all in one batch.

    ``border``: input pixels excluded at each edge of the objective (converted
    to the layer's map size). Returns (images float32 (n, 48, 48) in 0..255,
    final mean activation of each filter on its image over the central
    region (n,)). Progress is logged five times over the run.
    """
    _check_count(extractor, n_filters)
    size = extractor.input.shape[1]
    b = map_border(border, extractor.outputs[-1].shape[1], size)
    step = batched_step(extractor, float(learning_rate), float(tv_weight), b, jit_compile)
    images = initial_images(n_filters, seed, size=size)
    every = max(1, steps // 5)
    for done, shift in enumerate(jitter_shifts(steps, jitter, seed), start=1):
        images = step(images, shift)
        if done % every == 0 or done == steps:
            log.info("ascent: %d/%d steps", done, steps)
    return images.numpy()[..., 0], final_means(extractor, images, b)


def to_uint8(images):
    """Ascent images (already in 0..255) as uint8 for display, rounded."""
    return np.clip(np.rint(images), 0, 255).astype(np.uint8)


def classify(model, images, activations):
    """What the CNN sees in each filter image: a table with one row per filter
    (filter, activation, label, class, probability), the class the model
    predicts for the image and its probability."""
    import pandas as pd

    from . import CLASS_NAMES
    from .data import as_model_input

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


def class_counts(table):
    """How many filter images the CNN puts in each class (all 7, in label order)."""
    import pandas as pd

    from . import CLASS_NAMES

    counts = table["label"].value_counts().reindex(range(len(CLASS_NAMES)), fill_value=0)
    return pd.Series(counts.to_numpy(), index=pd.Index(CLASS_NAMES, name="class"), name="filters")


def filter_activations(model, name, image):
    """Feature maps (h, w, channels) of conv layer ``name`` for one uint8 (48, 48) image."""
    from .data import as_model_input

    extractor = conv_extractor(model, name)
    return np.asarray(extractor(as_model_input(image[None]), training=False), np.float32)[0]
