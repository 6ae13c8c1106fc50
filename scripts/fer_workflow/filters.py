"""What the CNN's filters respond to: gradient-ascent images and feature maps.

Gradient ascent (the keras.io example "Visualizing what convnets learn")
starts from gray noise and repeatedly moves the input image along the
gradient of one filter's mean activation. Here the first ``n`` filters of a
layer are optimised together: a batch of ``n`` images, image ``i`` for
filter ``i``, and the loss ``sum_i mean(activation[i, :, :, i])``. Image
``j`` does not influence the activation of image ``i`` (inference mode), so
each loss term's gradient touches only its own image and one batched step
does the work of ``n`` single-filter steps, with matrix products big enough
to keep the CPU busy. The layer's own convolution is not even run: the mean
of a linear conv's output is its filter applied to window means of its input
(``own_channel_mean``), so only the layers before it cost real work.
``ascend_loop`` is the one-filter-at-a-time reference (keras.io shape).
"""

import re

import numpy as np

CONV_NAME = re.compile(r"block\d+_conv\d+")
# Gray start images: 128 +- 16, about the keras.io noise range relative to
# the input range.
GRAY, NOISE = 128.0, 16.0


def conv_layer_names(model):
    """Names of the model's conv layers (block<i>_conv<j>), in order."""
    return [layer.name for layer in model.layers if CONV_NAME.fullmatch(layer.name)]


def conv_layer(model, name, key="filters.layer"):
    """The conv layer called ``name``; a clear error naming the config ``key`` if absent."""
    names = conv_layer_names(model)
    if name not in names:
        raise ValueError(
            f"{key}: the model has no conv layer {name!r}; its conv layers are: {', '.join(names) or 'none'}"
        )
    return model.get_layer(name)


def feature_extractor(model, name, key="filters.layer"):
    """A model from the raw-pixel input to the output of conv layer ``name``."""
    import keras

    return keras.Model(model.inputs[0], conv_layer(model, name, key).output, name=f"features_{name}")


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


def own_filter_means(activation):
    """mean(activation[i, :, :, i]) for each image i: image i's own filter."""
    import tensorflow as tf

    n = tf.shape(activation)[0]
    own = tf.gather(activation, tf.range(n)[:, None], axis=3, batch_dims=1)  # (n, h, w, 1)
    return tf.reduce_mean(own, axis=[1, 2, 3])


def _linear_same_conv(layer):
    """Whether ``layer`` is a linear, stride-1, undilated 'same' Conv2D (what build_cnn makes)."""
    import keras

    return (
        type(layer) is keras.layers.Conv2D
        and layer.activation in (None, keras.activations.linear)
        and tuple(layer.strides) == (1, 1)
        and tuple(layer.dilation_rate) == (1, 1)
        and layer.padding == "same"
        and layer.groups == 1
        and layer.data_format == "channels_last"
    )


def _window_mask(size, k):
    """(size, k) 0/1 matrix: whether input row r lies in the window of kernel tap d
    under 'same' padding (TensorFlow pads (k - 1) // 2 before, the rest after)."""
    rows = np.arange(size)[:, None] - (np.arange(k)[None, :] - (k - 1) // 2)
    return ((rows >= 0) & (rows < size)).astype(np.float32)


def own_channel_mean(x, layer):
    """mean(layer(x)[i, :, :, i]) for each image i, (n,), without running the conv.

    The layer is linear, so the mean of its output is its kernel applied to
    the mean of each shifted input window (zero padding included): per image,
    kh * kw window means of the input (two small matrix products with 0/1
    window masks) and one dot product with filter i, instead of a
    convolution with every filter at every position.
    """
    import tensorflow as tf

    h, w = x.shape[1], x.shape[2]
    kh, kw = layer.kernel_size
    n = tf.shape(x)[0]
    windows = tf.einsum("nhwc,wx->nhxc", x, _window_mask(w, kw))
    windows = tf.einsum("nhxc,hy->nyxc", windows, _window_mask(h, kh)) / (h * w)  # (n, kh, kw, cin)
    own = tf.transpose(tf.convert_to_tensor(layer.kernel)[..., :n], [3, 0, 1, 2])  # (n, kh, kw, cin)
    out = tf.reduce_sum(windows * own, axis=[1, 2, 3])
    if layer.use_bias:
        out += tf.convert_to_tensor(layer.bias)[:n]
    return out


def own_filter_terms(extractor, own_channel=True):
    """images -> (n,) loss terms mean(activation[i, :, :, i]) of the extractor's layer.

    Computing the extractor's last conv in full would evaluate every filter
    on every image and use one per image. With ``own_channel`` and a linear
    'same' conv as last layer (the conv output is taken before batch norm and
    ReLU), only each image's own filter mean is computed (``own_channel_mean``);
    the layers before it run in full.
    """
    import keras

    layer = extractor.layers[-1]
    if not (own_channel and _linear_same_conv(layer)):
        return lambda images: own_filter_means(extractor(images, training=False))
    prefix = keras.Model(extractor.inputs[0], layer.input, name=f"{extractor.name}_prefix")
    return lambda images: own_channel_mean(prefix(images, training=False), layer)


def _step(images, shift, loss_terms, learning_rate, tv_weight):
    """One ascent step on a batch: roll (jitter), ascend, roll back."""
    import tensorflow as tf

    rolled = tf.roll(images, shift, axis=[1, 2])
    with tf.GradientTape() as tape:
        tape.watch(rolled)
        terms = loss_terms(rolled)
        loss = tf.reduce_sum(terms) - tv_weight * tf.reduce_sum(total_variation(rolled))
    rolled = rolled + learning_rate * normalise(tape.gradient(loss, rolled))
    return tf.roll(rolled, -shift, axis=[1, 2])


def batched_step(extractor, learning_rate, tv_weight=0.0, jit_compile=False, own_channel=True):
    """Compiled step for all filters at once: (images, shift) -> images."""
    import tensorflow as tf

    terms = own_filter_terms(extractor, own_channel)

    @tf.function(jit_compile=jit_compile)
    def step(images, shift):
        return _step(images, shift, terms, learning_rate, tv_weight)

    return step


def single_step(extractor, learning_rate, tv_weight=0.0, jit_compile=False):
    """Compiled step for one filter (keras.io shape): (image, shift, index) -> image."""
    import tensorflow as tf

    @tf.function(jit_compile=jit_compile)
    def step(image, shift, index):
        def terms(images):
            activation = extractor(images, training=False)
            return tf.reduce_mean(tf.gather(activation, [index], axis=3), axis=[1, 2, 3])

        return _step(image, shift, terms, learning_rate, tv_weight)

    return step


def final_means(extractor, images):
    """Each image's own-filter mean activation, numpy (n,)."""
    return own_filter_means(extractor(images, training=False)).numpy()


def ascend(
    extractor,
    n_filters,
    steps=40,
    learning_rate=10.0,
    jitter=0,
    tv_weight=0.0,
    seed=0,
    jit_compile=False,
    log=print,
):
    """Gradient-ascent images for the first ``n_filters`` filters, all in one batch.

    Returns (images float32 (n, 48, 48) in raw pixel units, final mean
    activation of each filter on its image (n,)). Progress goes to ``log``
    five times over the run.
    """
    n_channels = extractor.output.shape[-1]
    if not 1 <= n_filters <= n_channels:
        raise ValueError(f"filters.n_filters must be 1..{n_channels} for this layer, not {n_filters}")
    step = batched_step(extractor, float(learning_rate), float(tv_weight), jit_compile)
    images = initial_images(n_filters, seed, size=extractor.input.shape[1])
    every = max(1, steps // 5)
    for done, shift in enumerate(jitter_shifts(steps, jitter, seed), start=1):
        images = step(images, shift)
        if log and (done % every == 0 or done == steps):
            log(f"ascent: {done}/{steps} steps")
    return images.numpy()[..., 0], final_means(extractor, images)


def ascend_loop(
    extractor, n_filters, steps=40, learning_rate=10.0, jitter=0, tv_weight=0.0, seed=0, jit_compile=False
):
    """The per-filter reference of ``ascend``: one filter at a time, same start and shifts."""
    import tensorflow as tf

    step = single_step(extractor, float(learning_rate), float(tv_weight), jit_compile)
    start = initial_images(n_filters, seed, size=extractor.input.shape[1])
    shifts = jitter_shifts(steps, jitter, seed)
    images = []
    for i in range(n_filters):
        image = tf.constant(start[i : i + 1])
        for shift in shifts:
            image = step(image, shift, tf.constant(i))
        images.append(image.numpy())
    images = np.concatenate(images)
    return images[..., 0], final_means(extractor, images)


def deprocess(image):
    """An ascent image as uint8 for display (keras.io): center, scale, clip."""
    image = np.asarray(image, np.float64)
    image = (image - image.mean()) / (image.std() + 1e-5)
    return (np.clip(image * 0.15 + 0.5, 0, 1) * 255).astype(np.uint8)


def filter_activations(model, name, image, key="activations.layer"):
    """Feature maps (h, w, channels) of conv layer ``name`` for one uint8 (48, 48) image."""
    from .data import as_model_input

    extractor = feature_extractor(model, name, key)
    return np.asarray(extractor(as_model_input(image[None]), training=False))[0]
