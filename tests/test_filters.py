"""Gradient-ascent filter images (batched vs. per-filter loop), feature maps,
the layer-name error, and the explain figures."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from fer_workflow import CLASS_NAMES, filters
from fer_workflow.plots import explain


def toy_cnn(seed=0):
    """A tiny model with the workflow's model contract; conv layers block{i}_conv{j}."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(6, 3, padding="same", use_bias=False, name="block1_conv1")(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Conv2D(10, 3, padding="same", name="block2_conv1")(x)
    x = keras.layers.Activation("relu")(x)
    x = keras.layers.Conv2D(12, 3, padding="same", name="block2_conv2")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(7, name="logits")(x)
    outputs = keras.layers.Activation("softmax", name="probs", dtype="float32")(x)
    return keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def model():
    return toy_cnn()


def test_conv_layer_names(model):
    assert filters.conv_layer_names(model) == ["block1_conv1", "block2_conv1", "block2_conv2"]


@pytest.mark.parametrize("key", ["filters.layer", "activations.layer"])
def test_missing_layer_names_the_key_and_lists_the_layers(model, key):
    with pytest.raises(ValueError) as error:
        filters.feature_extractor(model, "block5_conv1", key=key)
    message = str(error.value)
    assert message.startswith(f"{key}: the model has no conv layer 'block5_conv1'")
    assert "block1_conv1, block2_conv1, block2_conv2" in message


def test_loss_terms_touch_only_their_own_image(model):
    """d mean(activation[i, :, :, i]) / d image j is zero for j != i."""
    extractor = filters.feature_extractor(model, "block2_conv2")
    images = tf.constant(filters.initial_images(4, seed=0))
    with tf.GradientTape() as tape:
        tape.watch(images)
        terms = filters.own_filter_means(extractor(images, training=False))
    jacobian = tape.jacobian(terms, images).numpy()  # (4 terms, 4 images, 48, 48, 1)
    norms = np.abs(jacobian).sum(axis=(2, 3, 4))
    assert np.all(np.diag(norms) > 0)
    assert np.all(norms[~np.eye(4, dtype=bool)] == 0)
    # Term i is filter i's mean activation on image i.
    full = extractor(images, training=False).numpy()
    np.testing.assert_allclose(terms.numpy(), [full[i, :, :, i].mean() for i in range(4)], rtol=1e-5)


@pytest.mark.parametrize("kernel", [2, 3, 5])
@pytest.mark.parametrize("use_bias", [False, True])
def test_own_channel_mean_equals_the_layers_diagonal_mean(kernel, use_bias):
    layer = keras.layers.Conv2D(
        7, kernel, padding="same", use_bias=use_bias, bias_initializer="random_normal"
    )
    x = tf.random.stateless_normal((5, 11, 9, 3), seed=(1, 2))
    full = layer(x).numpy()
    own = filters.own_channel_mean(x, layer).numpy()
    np.testing.assert_allclose(own, [full[i, :, :, i].mean() for i in range(5)], rtol=1e-5, atol=1e-6)


def test_own_channel_shortcut_only_for_linear_same_convs():
    assert filters._linear_same_conv(keras.layers.Conv2D(4, 3, padding="same"))
    assert not filters._linear_same_conv(keras.layers.Conv2D(4, 3, padding="same", activation="relu"))
    assert not filters._linear_same_conv(keras.layers.Conv2D(4, 3, padding="valid"))
    assert not filters._linear_same_conv(keras.layers.Conv2D(4, 3, padding="same", strides=2))
    assert not filters._linear_same_conv(keras.layers.SeparableConv2D(4, 3, padding="same"))


def test_fast_loss_terms_equal_the_full_extractor_and_stay_independent(model):
    extractor = filters.feature_extractor(model, "block2_conv2")
    terms_fn = filters.own_filter_terms(extractor)
    images = tf.constant(filters.initial_images(4, seed=1))
    with tf.GradientTape() as tape:
        tape.watch(images)
        terms = terms_fn(images)
    norms = np.abs(tape.jacobian(terms, images).numpy()).sum(axis=(2, 3, 4))
    assert np.all(np.diag(norms) > 0) and np.all(norms[~np.eye(4, dtype=bool)] == 0)
    expected = filters.own_filter_means(extractor(images, training=False)).numpy()
    np.testing.assert_allclose(terms.numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("jitter,tv_weight", [(0, 0.0), (2, 0.5)])
def test_batched_ascent_equals_per_filter_loop(model, jitter, tv_weight):
    # A few steps: over many steps at a large learning rate, ReLU switching
    # amplifies the 1e-7 differences of differently batched convolutions.
    extractor = filters.feature_extractor(model, "block2_conv2")
    kwargs = dict(steps=4, learning_rate=2.0, jitter=jitter, tv_weight=tv_weight, seed=3)
    images, acts = filters.ascend(extractor, 5, **kwargs)
    loop_images, loop_acts = filters.ascend_loop(extractor, 5, **kwargs)
    assert images.shape == (5, 48, 48)
    np.testing.assert_allclose(images, loop_images, rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(acts, loop_acts, rtol=1e-4, atol=1e-5)


def test_ascent_raises_each_filters_activation(model):
    extractor = filters.feature_extractor(model, "block2_conv1")
    start = filters.final_means(extractor, filters.initial_images(6, seed=0))
    progress = []
    images, acts = filters.ascend(
        extractor, 6, steps=20, learning_rate=5.0, jitter=1, seed=0, log=progress.append
    )
    assert progress == [f"ascent: {k}/20 steps" for k in (4, 8, 12, 16, 20)]
    assert np.all(acts > start + 1e-3)
    # On average a filter responds more to its own image than to the others'.
    full = extractor(images[..., None], training=False).numpy()[..., :6].mean(axis=(1, 2))
    own = np.eye(6, dtype=bool)
    assert full[own].mean() > full[~own].mean()


def test_ascent_is_seeded_and_checks_the_filter_count(model):
    extractor = filters.feature_extractor(model, "block1_conv1")
    a, _ = filters.ascend(extractor, 3, steps=2, seed=1)
    b, _ = filters.ascend(extractor, 3, steps=2, seed=1)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="filters.n_filters must be 1..6"):
        filters.ascend(extractor, 7, steps=1)


def test_jitter_shifts_and_initial_images():
    shifts = filters.jitter_shifts(200, 2, seed=0)
    assert shifts.shape == (200, 2) and shifts.min() == -2 and shifts.max() == 2
    assert not filters.jitter_shifts(5, 0, seed=0).any()
    start = filters.initial_images(3, seed=0)
    assert start.shape == (3, 48, 48, 1) and 110 < start.min() and start.max() < 146


def test_deprocess_centres_and_clips():
    image = np.random.default_rng(0).normal(500, 80, (48, 48))
    shown = filters.deprocess(image)
    assert shown.dtype == np.uint8
    assert abs(float(np.median(shown)) - 127.5) < 3 and shown.std() > 20


def test_filter_activations(model):
    image = np.random.default_rng(0).integers(0, 256, (48, 48)).astype(np.uint8)
    maps = filters.filter_activations(model, "block2_conv1", image)
    assert maps.shape == (24, 24, 10)
    with pytest.raises(ValueError, match="activations.layer: the model has no conv layer 'block9_conv9'"):
        filters.filter_activations(model, "block9_conv9", image)


def test_figures():
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (3, 48, 48)).astype(np.uint8)
    probs = np.eye(7)[[3, 3, 0]]
    fig = explain.saliency_grid(faces, rng.random((3, 48, 48)), np.array([3, 5, 0]), probs)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(fig.axes) == 9 and len(titles) == 3
    assert titles[1].startswith(f"true {CLASS_NAMES[5]}\npred {CLASS_NAMES[3]}")
    fig = explain.filter_grid([filters.deprocess(f) for f in faces], [0.5, 1.25, 2.0], "block2_conv1")
    assert [ax.get_title() for ax in fig.axes][:3] == [
        "filter 0\nact 0.5",
        "filter 1\nact 1.25",
        "filter 2\nact 2",
    ]
    fig = explain.activation_grid(faces[0], rng.random((24, 24, 10)), "block2_conv1", label=3, max_maps=8)
    assert len(fig.axes) == 1 + 8 and fig.axes[0].get_title() == "input (Happy)"
