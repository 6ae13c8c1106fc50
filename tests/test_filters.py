"""Gradient-ascent filter images (batched vs. per-filter loop), feature maps,
the layer-name error, and the explain figures."""

import logging

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from fer_workflow import CLASS_NAMES, conv_layer_names, models
from fer_workflow.explain import filters
from fer_workflow.plots import explain
from toy_models import FILTER_BLOCKS, toy_cnn


@pytest.fixture(scope="module")
def model():
    return toy_cnn(blocks=FILTER_BLOCKS)


def ascend_loop(
    extractor,
    n_filters,
    steps=40,
    learning_rate=10.0,
    jitter=0,
    tv_weight=0.0,
    border=0,
    seed=0,
    rotation=0.0,
    l2_weight=0.0,
):
    """The per-filter reference of ``filters.ascend`` (keras.io shape): one
    filter at a time, with the same start images, shifts and angles."""
    size = extractor.input.shape[1]
    b = filters.map_border(border, extractor.outputs[-1].shape[1], size)
    step = filters.single_step(
        extractor, float(learning_rate), float(tv_weight), b, l2_weight=l2_weight, rotation=rotation
    )
    start = filters.initial_images(n_filters, seed, size=size)
    shifts = filters.jitter_shifts(steps, jitter, seed)
    angles = filters.rotation_angles(steps, rotation, seed)
    images = []
    for i in range(n_filters):
        image = tf.constant(start[i : i + 1])
        for shift, angle in zip(shifts, angles, strict=True):
            image = step(image, shift, tf.constant(i), angle)
        images.append(image.numpy())
    images = np.concatenate(images)
    return images[..., 0], filters.final_means(extractor, images, b)


def test_conv_layer_names(model):
    assert conv_layer_names(model) == ["block1_conv1", "block2_conv1", "block2_conv2"]


@pytest.mark.parametrize("extractor", [filters.feature_extractor, filters.conv_extractor])
def test_missing_layer_names_the_argument_and_lists_the_layers(model, extractor):
    with pytest.raises(ValueError) as error:
        extractor(model, "block5_conv1")
    message = str(error.value)
    assert message.startswith("name: the model has no conv layer 'block5_conv1'")
    assert "block1_conv1, block2_conv1, block2_conv2" in message


def test_extractor_gives_the_block_output_after_batch_norm_and_relu(model):
    """[pre, post]: block1's conv -> BN (pre) -> ReLU (post); block2_conv1's
    ReLU follows the conv directly; block2_conv2 has no activation (pre = post)."""
    images = filters.initial_images(2, seed=0)
    pre, post = filters.feature_extractor(model, "block1_conv1")(images, training=False)
    conv = model.get_layer("block1_conv1")(model.layers[1](images))
    bn = model.layers[model.layers.index(model.get_layer("block1_conv1")) + 1]
    np.testing.assert_allclose(pre, bn(conv, training=False), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(post, np.maximum(pre, 0), rtol=1e-6)
    pre, post = filters.feature_extractor(model, "block2_conv1")(images, training=False)
    np.testing.assert_allclose(post, np.maximum(pre, 0), rtol=1e-6)
    assert (np.asarray(pre) < 0).any()
    pre, post = filters.feature_extractor(model, "block2_conv2")(images, training=False)
    np.testing.assert_array_equal(pre, post)


def test_loss_terms_touch_only_their_own_image(model):
    """d term_i / d image j is zero for j != i; term i is filter i's leaky central mean on image i."""
    extractor = filters.feature_extractor(model, "block2_conv1")
    images = tf.constant(filters.initial_images(4, seed=0))
    with tf.GradientTape() as tape:
        tape.watch(images)
        terms = filters.leaky_terms(extractor(images, training=False), border=2)
    jacobian = tape.jacobian(terms, images).numpy()  # (4 terms, 4 images, 48, 48, 1)
    norms = np.abs(jacobian).sum(axis=(2, 3, 4))
    assert np.all(np.diag(norms) > 0)
    assert np.all(norms[~np.eye(4, dtype=bool)] == 0)
    pre, post = (np.asarray(out) for out in extractor(images, training=False))
    expected = [post[i, 2:-2, 2:-2, i].mean() + filters.LEAK * pre[i, 2:-2, 2:-2, i].mean() for i in range(4)]
    np.testing.assert_allclose(terms.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_border_excludes_the_edges_of_the_map(model):
    """Changing only the border pixels of the map leaves the objective unchanged."""
    extractor = filters.feature_extractor(model, "block2_conv1")  # 24x24 maps
    images = tf.constant(filters.initial_images(3, seed=2))
    with tf.GradientTape() as tape:
        tape.watch(images)
        terms = filters.leaky_terms(extractor(images, training=False), border=8)
    grads = np.abs(tape.gradient(terms, images).numpy()[..., 0])
    # 8 map pixels = 16 input pixels; two 3x3 convs and a 2x2 pool see 4 more.
    assert grads[:, :10].sum() == 0 and grads[:, -10:].sum() == 0
    assert grads[:, :, :10].sum() == 0 and grads[:, :, -10:].sum() == 0
    assert grads[:, 12:-12, 12:-12].sum() > 0


def test_map_border_converts_input_pixels_and_checks_the_range():
    assert filters.map_border(8, 12) == 2 and filters.map_border(8, 48) == 8 and filters.map_border(0, 6) == 0
    assert filters.map_border(8, 6) == 1
    with pytest.raises(ValueError, match="border: 24 input pixels are 3 pixels"):
        filters.map_border(24, 6)


@pytest.mark.parametrize(
    "jitter,tv_weight,rotation,l2_weight", [(0, 0.0, 0.0, 0.0), (2, 0.5, 0.0, 0.0), (2, 0.2, 5.0, 0.1)]
)
def test_batched_ascent_equals_per_filter_loop(model, jitter, tv_weight, rotation, l2_weight):
    # A few steps: over many steps at a large learning rate, ReLU switching
    # amplifies the 1e-7 differences of differently batched convolutions.
    extractor = filters.feature_extractor(model, "block2_conv2")
    kwargs = dict(
        steps=4, learning_rate=2.0, jitter=jitter, tv_weight=tv_weight, border=4, seed=3,
        rotation=rotation, l2_weight=l2_weight,
    )  # fmt: skip
    images, acts = filters.ascend(extractor, 5, **kwargs)
    loop_images, loop_acts = ascend_loop(extractor, 5, **kwargs)
    assert images.shape == (5, 48, 48)
    np.testing.assert_allclose(images, loop_images, rtol=1e-4, atol=1e-3)
    np.testing.assert_allclose(acts, loop_acts, rtol=1e-4, atol=1e-5)


def test_ascent_raises_each_filters_activation_and_stays_in_pixel_range(model, caplog):
    extractor = filters.feature_extractor(model, "block2_conv1")
    start = filters.final_means(extractor, filters.initial_images(6, seed=0), border=4)
    with caplog.at_level(logging.INFO, logger="fer_workflow.explain.filters"):
        images, acts = filters.ascend(extractor, 6, steps=20, learning_rate=20.0, jitter=1, border=8, seed=0)
    progress = [record.getMessage() for record in caplog.records]
    assert progress == [f"ascent: {k}/20 steps" for k in (4, 8, 12, 16, 20)]
    assert np.all(acts > start + 1e-3)
    # A large learning rate drives pixels to the limits, but never past them.
    assert images.min() == 0.0 and images.max() == 255.0
    # On average a filter responds more to its own image than to the others'.
    full = filters.responses(extractor, images[..., None]).numpy()[:, 4:-4, 4:-4, :6].mean(axis=(1, 2))
    own = np.eye(6, dtype=bool)
    assert full[own].mean() > full[~own].mean()


def test_leak_revives_a_filter_the_relu_switches_off():
    """A filter whose ReLU output is 0 everywhere on the gray start image
    (negative bias) still gets a gradient and ends up active."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(2, 3, padding="same", name="block1_conv1", bias_initializer="zeros")(x)
    x = keras.layers.Activation("relu")(x)
    dead = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    conv = dead.get_layer("block1_conv1")
    kernel = np.zeros((3, 3, 1, 2), np.float32)
    kernel[1, 1, 0] = [1.0, -1.0]
    conv.set_weights([kernel, np.array([-0.9, 0.2], np.float32)])  # filter 0: off below gray 230
    extractor = filters.feature_extractor(dead, "block1_conv1")
    assert filters.final_means(extractor, filters.initial_images(1, seed=0)) == 0
    images, acts = filters.ascend(extractor, 2, steps=20, learning_rate=10.0, border=2, seed=0)
    assert acts[0] > 0.01 and images[0, 2:-2, 2:-2].mean() > 200
    assert images[1, 2:-2, 2:-2].mean() < 80  # filter 1 wants dark pixels


def test_ascent_is_seeded_and_checks_the_filter_count(model):
    extractor = filters.feature_extractor(model, "block1_conv1")
    a, _ = filters.ascend(extractor, 3, steps=2, seed=1)
    b, _ = filters.ascend(extractor, 3, steps=2, seed=1)
    np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="n_filters must be 1..6"):
        filters.ascend(extractor, 7, steps=1)


def test_jitter_shifts_and_initial_images():
    shifts = filters.jitter_shifts(200, 2, seed=0)
    assert shifts.shape == (200, 2) and shifts.min() == -2 and shifts.max() == 2
    assert not filters.jitter_shifts(5, 0, seed=0).any()
    start = filters.initial_images(3, seed=0)
    assert start.shape == (3, 48, 48, 1) and 110 < start.min() and start.max() < 146


def test_to_uint8_rounds_and_clips():
    shown = filters.to_uint8(np.array([[-3.0, 0.4, 0.6, 254.5, 255.0, 300.0]]))
    np.testing.assert_array_equal(shown, [[0, 0, 1, 254, 255, 255]])
    assert shown.dtype == np.uint8


def test_classify_table_and_class_counts(model):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (5, 48, 48)).astype(np.uint8)
    table = filters.classify(model, images, [0.5, 1.0, 0.0, 2.0, 3.0])
    assert list(table.columns) == ["filter", "activation", "label", "class", "probability"]
    probs = model.predict(images[..., None].astype(np.float32), verbose=0)
    np.testing.assert_array_equal(table["filter"], range(5))
    np.testing.assert_array_equal(table["label"], probs.argmax(axis=1))
    assert list(table["class"]) == [CLASS_NAMES[k] for k in probs.argmax(axis=1)]
    np.testing.assert_allclose(table["probability"], probs.max(axis=1), rtol=1e-5)
    assert table["probability"].between(1 / 7, 1).all()
    counts = filters.class_counts(table)
    assert list(counts.index) == list(CLASS_NAMES) and counts.sum() == 5
    assert counts[CLASS_NAMES[int(probs[0].argmax())]] >= 1


def test_filter_activations(model):
    image = np.random.default_rng(0).integers(0, 256, (48, 48)).astype(np.uint8)
    maps = filters.filter_activations(model, "block2_conv1", image)
    assert maps.shape == (24, 24, 10)
    with pytest.raises(ValueError, match="name: the model has no conv layer 'block9_conv9'"):
        filters.filter_activations(model, "block9_conv9", image)


def test_figures():
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, (3, 48, 48)).astype(np.uint8)
    probs = np.eye(7)[[3, 3, 0]]
    fig = explain.saliency_grid(faces, rng.random((3, 48, 48)), np.array([3, 5, 0]), probs)
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert len(fig.axes) == 9 and len(titles) == 3
    assert titles[1].startswith(f"true {CLASS_NAMES[5]}\npred {CLASS_NAMES[3]}")
    table = pd.DataFrame(
        {
            "filter": [0, 1, 2],
            "activation": [0.5, 1.25, 2.0],
            "label": [5, 5, 3],
            "class": ["Surprise", "Surprise", "Happy"],
            "probability": [0.9, 0.5, 1.0],
        }
    )
    fig = explain.filter_grid(faces, table, "block2_conv1")
    assert [ax.get_title() for ax in fig.axes][:3] == [
        "filter 0\nact 0.5",
        "filter 1\nact 1.25",
        "filter 2\nact 2",
    ]
    assert [ax.get_xlabel() for ax in fig.axes][:3] == ["Surprise 90%", "Surprise 50%", "Happy 100%"]
    fig = explain.filter_class_histogram(filters.class_counts(table), "block2_conv1")
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights == [0, 0, 0, 1, 0, 2, 0]
    fig = explain.activation_grid(faces[0], rng.random((24, 24, 10)), "block2_conv1", label=3, max_maps=8)
    assert len(fig.axes) == 1 + 8 and fig.axes[0].get_title() == "input (Happy)"


@pytest.fixture(scope="module", params=["mixed_float16", "mixed_bfloat16"])
def mixed_model(request, tmp_path_factory):
    """The default CNN (no augmentation) built under a mixed policy (float16 as
    the GPU preset trains, bfloat16 as a CPU with bf16 units may), saved and reloaded."""
    from conftest import default_config

    keras.utils.set_random_seed(0)
    keras.mixed_precision.set_global_policy(request.param)
    try:
        built = models.build_cnn(default_config()["cnn"], augment_cfg=None)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    path = tmp_path_factory.mktemp(request.param) / "cnn.keras"
    built.save(path)
    return models.load_model(path)


def test_ascent_and_classes_on_a_saved_mixed_precision_model(mixed_model):
    """Once a TypeError (float16 activations times float32 weights); now the
    half-precision block output drives a float32 image that stays in 0..255."""
    half = mixed_model.get_layer("block3_conv2").compute_dtype
    assert half in ("float16", "bfloat16")
    extractor = filters.feature_extractor(mixed_model, "block3_conv2")
    assert extractor.outputs[-1].dtype == half
    start = filters.final_means(extractor, filters.initial_images(4, seed=0), border=2)
    images, acts = filters.ascend(extractor, 4, steps=6, jitter=2, border=8, seed=0)
    assert images.dtype == np.float32 and 0 <= images.min() and images.max() <= 255
    assert np.isfinite(acts).all() and acts.dtype == np.float32
    assert acts.mean() > start.mean()
    table = filters.classify(mixed_model, filters.to_uint8(images), acts)
    assert table["probability"].between(1 / 7, 1).all()
    maps = filters.filter_activations(mixed_model, "block1_conv1", filters.to_uint8(images)[0])
    assert maps.shape == (48, 48, 16) and maps.dtype == np.float32


# ---- regularisers ---------------------------------------------------------------------------


def test_rotation_is_identity_at_zero_and_a_quarter_turn_at_ninety():
    image = np.random.default_rng(0).uniform(0, 255, (2, 48, 48, 1)).astype(np.float32)
    np.testing.assert_allclose(filters.rotate(tf.constant(image), 0.0).numpy(), image, atol=1e-3)
    quarter = filters.rotate(tf.constant(image), 90.0).numpy()
    # 90 degrees about the centre of an even-sized image lands on the grid: a np.rot90, either way round.
    candidates = [np.rot90(image, k, axes=(1, 2)) for k in (1, 3)]
    assert min(np.abs(quarter - c).max() for c in candidates) < 1e-2
    angles = filters.rotation_angles(100, 5.0, seed=0)
    assert angles.shape == (100,) and -5 <= angles.min() < -4 and 4 < angles.max() <= 5
    assert not filters.rotation_angles(3, 0.0, seed=0).any()


def test_regularisers_smooth_the_images(model):
    """The TV and L2 penalties and the blur make smoother, calmer images than
    the plain ascent from the same start (less total variation, closer to gray)."""
    extractor = filters.feature_extractor(model, "block2_conv2")
    common = dict(steps=20, learning_rate=8.0, jitter=1, border=4, seed=0, start_noise=4.0)
    plain, _ = filters.ascend(extractor, 4, **common)
    regular, acts = filters.ascend(
        extractor, 4, rotation=5.0, tv_weight=0.5, l2_weight=0.2, blur_every=5, blur_sigma=0.8, **common
    )

    def tv(x):
        return np.abs(np.diff(x, axis=1)).mean() + np.abs(np.diff(x, axis=2)).mean()

    assert tv(regular) < tv(plain) and np.abs(regular - 128).mean() < np.abs(plain - 128).mean()
    start = filters.final_means(extractor, filters.initial_images(4, 0, noise=4.0), border=4)
    assert (acts > start).all()  # still climbing the filter's objective
    assert 0 <= regular.min() and regular.max() <= 255


def test_gaussian_blur_keeps_a_constant_and_its_mean():
    flat = tf.constant(np.full((1, 48, 48, 1), 77.0, np.float32))
    np.testing.assert_allclose(filters.gaussian_blur(flat, 1.0).numpy(), 77.0, rtol=1e-5)
    noise = np.random.default_rng(0).uniform(0, 255, (1, 48, 48, 1)).astype(np.float32)
    blurred = filters.gaussian_blur(tf.constant(noise), 1.0).numpy()
    assert blurred.shape == noise.shape and blurred.std() < noise.std() / 2


# ---- the crops that excite a filter most -----------------------------------------------------


def test_receptive_field_matches_the_gradient_of_one_unit(model):
    """The analytic field: a unit's gradient w.r.t. the input is zero outside it."""
    assert filters.receptive_field(model, "block1_conv1") == (3, 1, 0.0)
    assert filters.receptive_field(model, "block2_conv1") == (8, 2, 0.5)
    size, stride, offset = filters.receptive_field(model, "block2_conv2")
    assert (size, stride) == (12, 2)
    conv = filters.conv_extractor(model, "block2_conv2")
    image = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, 48, 48, 1)).astype(np.float32))
    i, j = 9, 14
    with tf.GradientTape() as tape:
        tape.watch(image)
        unit = conv(image, training=False)[0, i, j, 0]
    grad = np.abs(tape.gradient(unit, image).numpy()[0, ..., 0]) > 0
    ys, xs = np.nonzero(grad)
    cy, cx = offset + i * stride, offset + j * stride
    half = (size - 1) / 2
    assert ys.min() >= cy - half and ys.max() <= cy + half
    assert xs.min() >= cx - half and xs.max() <= cx + half


def test_top_activations_and_crops_match_a_brute_force_search(model):
    extractor = filters.feature_extractor(model, "block2_conv2")
    faces = np.random.default_rng(1).integers(0, 256, (30, 48, 48)).astype(np.uint8)
    idx, pos, best = filters.top_activations(extractor, faces, 3, k=4, batch_size=7)
    acts = filters.responses(extractor, faces[..., None].astype(np.float32)).numpy()[..., :3]
    per_face = acts.reshape(30, -1, 3).max(axis=1)
    for f in range(3):
        expected = np.argsort(-per_face[:, f], kind="stable")[:4]
        np.testing.assert_array_equal(idx[f], expected)
        np.testing.assert_allclose(best[f], per_face[expected, f], rtol=1e-5)
        r, c = pos[f, 0]
        assert acts[idx[f, 0], r, c, f] == pytest.approx(best[f, 0], rel=1e-5)
    field = filters.receptive_field(model, "block2_conv2")
    crops = filters.crops(faces, idx, pos, field)
    assert crops.shape == (3, 4, 12, 12) and crops.dtype == np.uint8
    # The crop is the face's square around the unit's centre (zero outside the face).
    size, stride, offset = field
    r, c = pos[0, 0]
    y0, x0 = (
        int(round(offset + r * stride - (size - 1) / 2)),
        int(round(offset + c * stride - (size - 1) / 2)),
    )
    padded = np.pad(faces[idx[0, 0]], size)
    np.testing.assert_array_equal(crops[0, 0], padded[y0 + size : y0 + 2 * size, x0 + size : x0 + 2 * size])


def test_measure_puts_each_image_beside_its_best_crop_and_the_null(model):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 48, 48)).astype(np.uint8)
    table = filters.classify(model, images, [1.0, 2.0, 3.0])
    null = filters.classify(model, images[::-1], [0.0, 0.0, 0.0])
    extractor = filters.feature_extractor(model, "block2_conv2")
    maxima = filters.image_maxima(extractor, images)
    assert maxima.shape == (3,) and (maxima >= 0).all()
    out = filters.measure(table, maxima, [2.0, 4.0, 0.0], null)
    assert out.columns[-6:].tolist() == [
        "image_max", "best_crop_max", "image_to_crop", "null_label", "null_class", "null_probability",
    ]  # fmt: skip
    assert out["image_to_crop"].iloc[0] == pytest.approx(maxima[0] / 2.0)
    assert out["null_label"].tolist() == null["label"].tolist()
    fig = explain.filter_grid(
        images, out, "block2_conv2", crops=np.zeros((3, 9, 12, 12), np.uint8), stretch=True
    )
    assert len(fig.axes) == 3 * 2 and fig.axes[1].get_title() == "top 9 crops"
    counts, null_counts = filters.class_counts(out), filters.class_counts(out, "null_label")
    fig = explain.filter_class_histogram(counts, "block2_conv2", null_counts)
    assert len(fig.axes[0].patches) == 14
