"""The augmentation layer: exact geometry, randomness per image, inference
pass-through, saving and loading, and XLA compilation."""

import warnings

import keras
import numpy as np
import pytest

from fer_workflow import models
from fer_workflow.models.augment import RandomAffine, affine_sample

RNG = np.random.default_rng(0)
FACES = RNG.uniform(0, 255, (5, 48, 48, 1)).astype("float32")
N = len(FACES)


def sample(flip=1.0, angle=0.0, zoom=0.0, shift_y=0.0, shift_x=0.0):
    full = [np.full(N, v, "float32") for v in (flip, angle, zoom, shift_y, shift_x)]
    return np.asarray(affine_sample(FACES, *full))


def test_identity_and_mirror_are_exact():
    np.testing.assert_array_equal(sample(), FACES)
    np.testing.assert_array_equal(sample(flip=-1.0), FACES[:, :, ::-1])


def test_whole_pixel_shifts_move_the_face_and_repeat_the_edge():
    down = sample(shift_y=3.0)
    np.testing.assert_array_equal(down[:, 3:], FACES[:, :-3])
    np.testing.assert_array_equal(down[:, :3], np.repeat(FACES[:, :1], 3, axis=1))
    left = sample(shift_x=-2.0)
    np.testing.assert_array_equal(left[:, :, :-2], FACES[:, :, 2:])
    np.testing.assert_array_equal(left[:, :, -2:], np.repeat(FACES[:, :, -1:], 2, axis=2))


def test_quarter_turn_about_the_centre():
    turned = sample(angle=np.pi / 2)
    # Which way a positive angle turns is a convention; the map must be a quarter turn.
    error = min(np.abs(turned - np.rot90(FACES, k, axes=(1, 2))).max() for k in (1, 3))
    assert error < 1e-2


def test_zoom_out_shrinks_a_centred_square():
    square = np.zeros((1, 48, 48, 1), "float32")
    square[:, 12:36, 12:36] = 255.0
    ones = [np.ones(1, "float32")] + [np.zeros(1, "float32")] * 4
    ones[2] = np.full(1, 0.5, "float32")  # 50% zoomed out: the 24-pixel square becomes 16
    out = np.asarray(affine_sample(square, *ones))[0, :, :, 0]
    assert abs((out > 127).sum() - 16 * 16) <= 2 * 16 + 1
    assert out[24, 24] == 255.0 and out[0, 0] == 0.0


def test_layer_draws_per_image_maps_only_in_training():
    layer = RandomAffine(flip=True, shift=0.1, rotation=0.05, zoom=0.1, seed=3)
    same = np.repeat(FACES[:1], 8, axis=0)
    out = np.asarray(layer(same, training=True))
    assert out.shape == same.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 255.0
    # Eight copies of one face come out as eight different faces.
    flat = out.reshape(8, -1)
    assert all(not np.allclose(flat[i], flat[j]) for i in range(8) for j in range(i + 1, 8))
    # A second call draws new maps; inference passes the images through.
    assert not np.allclose(out, np.asarray(layer(same, training=True)))
    np.testing.assert_array_equal(np.asarray(layer(same, training=False)), same)
    np.testing.assert_array_equal(np.asarray(RandomAffine()(same, training=True)), same)


def test_same_seed_same_maps():
    a = np.asarray(RandomAffine(flip=True, shift=0.1, rotation=0.05, zoom=0.1, seed=5)(FACES, training=True))
    b = np.asarray(RandomAffine(flip=True, shift=0.1, rotation=0.05, zoom=0.1, seed=5)(FACES, training=True))
    np.testing.assert_array_equal(a, b)


def test_out_of_range_factor_is_refused():
    with pytest.raises(ValueError, match="RandomAffine: rotation must be in"):
        RandomAffine(rotation=1.5)


def test_saved_model_loads_with_its_augmentation(tmp_path):
    augment = {"enabled": True, "flip": True, "shift": 0.1, "rotation": 0.04, "zoom": 0.1, "cutout": 0.25}
    cnn = {
        "blocks": [{"filters": 4, "convs": 1, "kernel": 3, "batch_norm": True, "pool": 2, "dropout": 0.0}],
        "separable": False,
        "head_pool": "avg",
        "dense": [],
        "dense_dropout": 0.0,
    }
    model = models.build_cnn(cnn, augment)
    path = tmp_path / "cnn.keras"
    model.save(path)
    loaded = models.load_model(str(path))
    layer = loaded.get_layer("augment")
    assert isinstance(layer, RandomAffine)
    assert (layer.flip, layer.shift, layer.rotation, layer.zoom) == (True, 0.1, 0.04, 0.1)
    assert loaded.get_layer("cutout").size == 0.25
    np.testing.assert_allclose(np.asarray(loaded(FACES)), np.asarray(model(FACES)), rtol=1e-6)
    assert "cutout" not in [layer.name for layer in models.build_cnn(cnn, dict(augment, cutout=0.0)).layers]


def test_trains_under_xla():
    # Keras' RandomTranslation/Rotation/Zoom cannot be XLA-compiled on
    # TensorFlow (and turn jit off under JAX); this layer must not.
    inputs = keras.Input((48, 48, 1))
    h = RandomAffine(flip=True, shift=0.1, rotation=0.05, zoom=0.1, seed=1)(inputs)
    h = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(h))
    model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax")(h))
    y = keras.utils.to_categorical(np.arange(N) % 7, 7)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model.compile("sgd", "categorical_crossentropy", jit_compile=True)
        history = model.fit(FACES, y, batch_size=N, epochs=2, verbose=0)
    assert not [w for w in caught if "jit_compile" in str(w.message)]
    assert model.jit_compile is True
    assert np.isfinite(history.history["loss"]).all()


def test_mixed_precision_keeps_the_pixel_range():
    layer = RandomAffine(flip=True, shift=0.1, rotation=0.05, zoom=0.1, seed=2, dtype="mixed_float16")
    out = np.asarray(layer(FACES, training=True))
    assert out.dtype == np.float16
    assert 0.0 <= out.min() and out.max() <= 255.0 and out.std() > 30


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_trains_in_mixed_precision_under_xla(policy):
    # TensorFlow has no float16 Range kernel: a float16 grid crashed the
    # compiled training step (``Range[Tidx=DT_HALF]``).
    keras.mixed_precision.set_global_policy(policy)
    try:
        inputs = keras.Input((48, 48, 1))
        h = RandomAffine(flip=True, shift=0.1, rotation=0.05, zoom=0.1, seed=1)(inputs)
        h = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(2, 3)(h))
        model = keras.Model(inputs, keras.layers.Dense(7, activation="softmax", dtype="float32")(h))
        y = keras.utils.to_categorical(np.arange(N) % 7, 7)
        for jit in (False, True):
            model.compile("sgd", "categorical_crossentropy", jit_compile=jit)
            history = model.fit(FACES, y, batch_size=N, epochs=1, verbose=0)
            assert np.isfinite(history.history["loss"]).all()
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_erase_squares_fills_exactly_the_square_with_the_mean():
    from fer_workflow.models.augment import erase_squares

    top, left = np.array([0, 10, -3, 45, 20]), np.array([0, 5, -3, 44, 30])
    erased = np.asarray(erase_squares(FACES, 6, top, left))
    for face, out, row, col in zip(FACES, erased, top, left, strict=True):
        inside = np.zeros((48, 48, 1), bool)
        inside[max(row, 0) : max(row + 6, 0), max(col, 0) : max(col + 6, 0)] = True
        np.testing.assert_allclose(out[inside], face.mean(), rtol=1e-5)
        np.testing.assert_array_equal(out[~inside], face[~inside])
    # Clipped by the border: 3x3 of the square at (-3, -3), 3x4 at (45, 44).
    assert (erased[2] != FACES[2]).sum() == 9 and (erased[3] != FACES[3]).sum() == 12


def test_cutout_hides_one_square_per_image_only_in_training():
    from fer_workflow.models.augment import Cutout

    layer = Cutout(0.25, seed=3)
    np.testing.assert_array_equal(np.asarray(layer(FACES)), FACES)
    out = np.asarray(layer(FACES, training=True))
    changed = out != FACES
    for face, mask in zip(out, changed, strict=True):
        rows, cols = np.flatnonzero(mask.any(axis=(1, 2))), np.flatnonzero(mask.any(axis=(0, 2)))
        # One 12x12 square (cut by the border at most), all of it the face's mean.
        assert 0 < len(rows) <= 12 and 0 < len(cols) <= 12 and mask.sum() == len(rows) * len(cols)
        assert np.ptp(face[mask]) == 0
    assert len({tuple(np.argwhere(m)[0]) for m in changed}) > 1  # a square per image
    with pytest.raises(ValueError, match="size must be in"):
        Cutout(0.6)
