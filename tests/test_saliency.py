"""Saliency maps: shape, batching, SmoothGrad, image choice, and the
ground-truth check on a toy task whose class lives in a known region."""

import logging

import keras
import numpy as np
import pytest

from conftest import ONEDNN, REPO
from fer_workflow import models
from fer_workflow.evaluation.predict import predict_probs
from fer_workflow.explain import faithfulness, saliency
from toy_models import toy_cnn


@pytest.fixture(scope="module")
def model():
    return toy_cnn()


@pytest.fixture(scope="module")
def faces():
    rng = np.random.default_rng(1)
    return rng.integers(0, 256, (9, 48, 48)).astype(np.uint8), rng.integers(0, 7, 9)


def test_vanilla_shape_and_nonnegative(model, faces):
    images, labels = faces
    maps = saliency.vanilla(model, images, labels)
    assert maps.shape == (9, 48, 48) and maps.dtype == np.float32
    assert np.all(maps >= 0) and maps.max() > 0


def test_batched_equals_per_image(model, faces):
    images, labels = faces
    batched = saliency.vanilla(model, images, labels, batch_size=4)
    single = np.concatenate([saliency.vanilla(model, images[i : i + 1], labels[i : i + 1]) for i in range(9)])
    np.testing.assert_allclose(batched, single, rtol=ONEDNN["rtol"], atol=1e-5 * batched.max())


def test_maps_depend_on_class(model, faces):
    images, labels = faces
    assert not np.allclose(
        saliency.vanilla(model, images, labels), saliency.vanilla(model, images, (labels + 1) % 7)
    )


def test_smoothgrad_noise_zero_equals_vanilla(model, faces):
    images, labels = faces
    smooth = saliency.smoothgrad(model, images, labels, samples=3, noise=0.0, batch_size=5)
    np.testing.assert_allclose(
        smooth, saliency.vanilla(model, images, labels), rtol=ONEDNN["rtol"], atol=1e-5 * smooth.max()
    )


def test_smoothgrad_is_seeded_and_progress_is_logged(model, faces, caplog):
    images, labels = faces
    with caplog.at_level(logging.INFO, logger="fer_workflow.explain.saliency"):
        a = saliency.smoothgrad(model, images, labels, samples=4, noise=0.2, seed=3, batch_size=8)
    lines = [record.getMessage() for record in caplog.records]
    b = saliency.smoothgrad(model, images, labels, samples=4, noise=0.2, seed=3, batch_size=8)
    c = saliency.smoothgrad(model, images, labels, samples=4, noise=0.2, seed=4, batch_size=8)
    assert a.shape == (9, 48, 48) and np.all(a >= 0)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert lines and lines[-1].startswith("smoothgrad: 36/36")


def test_compute_rejects_unknown_method(model, faces):
    with pytest.raises(ValueError, match="method must be one of"):
        saliency.compute(model, *faces, method="occlusion")


@pytest.mark.parametrize("baseline", ["black", "mean", "blur"])
def test_integrated_gradients_completeness(model, faces, baseline):
    """Attributions sum to score(face) - score(baseline), up to the integration error."""
    images, labels = faces
    attributions = saliency.integrated_gradients(
        model, images, labels, steps=128, baseline=baseline, blur_sigma=3.0, absolute=False, batch_size=300
    )
    scores = saliency.score_model(model)
    x = saliency.as_model_input(images)
    rows = np.arange(len(labels))
    expected = (
        np.asarray(scores(x))[rows, labels]
        - np.asarray(scores(saliency.baseline_images(x, baseline, 3.0)))[rows, labels]
    )
    np.testing.assert_allclose(
        attributions.sum(axis=(1, 2)), expected, rtol=0.03, atol=0.01 * np.abs(expected).max()
    )
    maps = saliency.compute(model, images, labels, method="integrated_gradients", ig_steps=8)
    assert maps.shape == (9, 48, 48) and maps.dtype == np.float32 and np.all(maps >= 0)
    with pytest.raises(ValueError, match="baseline must be"):
        saliency.baseline_images(x, "white")


def test_gradcam_matches_a_hand_computed_case():
    """A 2x2 stride-2 conv (no ReLU layer after it) -> global average -> logits:
    d score_c / d A_k = V[k, c] / (24 * 24) at every position, so the map is
    ReLU(sum_k V[k, c] A_k) / 576, upsampled bilinearly to 48x48."""
    inputs = keras.Input((48, 48, 1))
    conv = keras.layers.Conv2D(3, 2, strides=2, name="block1_conv1")
    x = keras.layers.GlobalAveragePooling2D()(conv(inputs))
    dense = keras.layers.Dense(7, name="logits")
    model = keras.Model(inputs, keras.layers.Activation("softmax", name="probs")(dense(x)))
    rng = np.random.default_rng(0)
    kernel, bias = (
        rng.normal(0, 0.01, (2, 2, 1, 3)).astype("float32"),
        rng.normal(0, 0.1, 3).astype("float32"),
    )
    conv.set_weights([kernel, bias])
    dense.set_weights([rng.normal(0, 1, (3, 7)).astype("float32"), np.zeros(7, "float32")])
    images = rng.integers(0, 256, (4, 48, 48)).astype(np.uint8)
    classes = np.array([0, 3, 5, 6])

    patches = (
        images.astype(np.float64).reshape(4, 24, 2, 24, 2).transpose(0, 1, 3, 2, 4).reshape(4, 24, 24, 4)
    )
    acts = patches @ kernel.reshape(4, 3) + bias  # (4, 24, 24, 3)
    weights = dense.get_weights()[0][:, classes].T / 576  # (4, 3)
    hand = np.maximum((acts * weights[:, None, None, :]).sum(-1), 0)
    expected = np.asarray(keras.ops.image.resize(hand[..., None].astype("float32"), (48, 48)))[..., 0]

    maps = saliency.gradcam(model, images, classes, layer="block1_conv1", batch_size=3)
    assert maps.shape == (4, 48, 48) and maps.dtype == np.float32
    np.testing.assert_allclose(maps, expected, rtol=1e-3, atol=1e-4 * expected.max())
    np.testing.assert_array_equal(saliency.gradcam_layer(model, "last").name, "block1_conv1")
    with pytest.raises(ValueError, match="layer: the model has no conv layer 'block9_conv1'"):
        saliency.gradcam(model, images, classes, layer="block9_conv1")


def test_gradcam_uses_the_relu_after_a_conv(model):
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Conv2D(4, 3, name="block1_conv1")(inputs)
    x = keras.layers.Activation("relu", name="block1_relu1")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(7, name="logits")(x)
    two = keras.Model(inputs, keras.layers.Activation("softmax", name="probs")(x))
    assert saliency.gradcam_layer(two, "block1_conv1").name == "block1_relu1"
    assert saliency.gradcam_layer(model).name == "block2_conv1"


def test_predicted_target():
    labels = np.array([0, 3, 6])
    probs = np.array([[0.1, 0.9, 0, 0, 0, 0, 0], [0, 0, 0, 0.6, 0.4, 0, 0], [0, 0, 0, 0, 0, 0, 1]])
    predicted = saliency.target_classes(labels, probs, target="prediction")
    assert predicted.tolist() == [1, 3, 6] and predicted.dtype == np.int32
    assert saliency.target_classes(labels, probs).tolist() == labels.tolist()
    with pytest.raises(ValueError, match="target must be"):
        saliency.target_classes(labels, probs, target="true")


def test_mask_shares():
    maps = np.zeros((2, 48, 48), np.float32)
    maps[:, :12, :] = 1.0  # all saliency in the top quarter
    masks = np.zeros((2, 48, 48), np.uint8)
    masks[:, :12, :24] = 1  # brows: half of the salient band, 1/8 of the image
    shares = saliency.mask_shares(maps, masks)
    assert shares["mass_share_brows"] == pytest.approx(0.5)
    assert shares["area_share_brows"] == pytest.approx(0.125)
    assert shares["mass_ratio_cues"] == pytest.approx(4.0)
    assert shares["mass_share_mouth"] == 0


def test_scores_without_masks_leave_mask_metrics_empty(model, faces):
    images, labels = faces
    table = faithfulness.scores(model, images, labels, saliency.vanilla(model, images, labels), masks=None)
    values = table.set_index("metric")["value"]
    assert list(table.columns) == ["metric", "value", "description"]
    assert values["n_images"] == 9 and 0 <= values["prob_class"] <= 1
    assert np.isnan(values["mass_ratio_cues"]) and not np.isnan(values["drop_salient"])


def test_the_deletion_test_is_the_mean_fill_deletion_curve_at_one_fraction(model, faces):
    """drop_salient: the probability before minus after the fraction's most
    salient pixels are set to each face's mean, computed by hand here."""
    images, labels = faces
    maps = saliency.vanilla(model, images, labels)
    values = faithfulness.scores(model, images, labels, maps, fraction=0.1).set_index("metric")["value"]
    order = faithfulness.pixel_order(maps, seed=[0, 1])
    hidden = np.array(images, np.float32).reshape(len(images), -1)
    for face, top in zip(hidden, order[:, :230], strict=True):  # round(0.1 * 2304) = 230 pixels
        face[top] = face.mean()
    rows = np.arange(len(labels))
    before = predict_probs(model, images)[rows, labels]
    after = predict_probs(model, hidden.reshape(images.shape))[rows, labels]
    assert values["prob_class"] == pytest.approx(before.mean(), abs=1e-5)
    assert values["drop_salient"] == pytest.approx((before - after).mean(), abs=1e-5)


# ---- ground truth: a toy task whose class is carried by one region --------------------

REGION = (slice(26, 38), slice(12, 36))  # 12 x 24 pixels, 1/8 of the image


def toy_faces(n, seed):
    """Noise images whose class is the pattern inside REGION: 0 horizontal stripes,
    1 vertical stripes, 2 a bright patch.

    Returns images uint8, labels, masks (4 = "mouth" inside REGION).
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 3, n)
    images = rng.normal(128, 35, (n, 48, 48))
    yy, xx = np.mgrid[REGION]
    patterns = [np.sin(yy * np.pi / 2), np.sin(xx * np.pi / 2), np.ones(yy.shape)]
    for i, label in enumerate(labels):
        images[i][REGION] += 90 * patterns[label]
    masks = np.zeros((n, 48, 48), np.uint8)
    masks[(slice(None), *REGION)] = 4
    return np.clip(images, 0, 255).astype(np.uint8), labels, masks


@pytest.fixture(scope="module")
def trained():
    """A tiny CNN trained for a few seconds on the toy task (until it fits it).

    Its head max-pools: each channel then depends on its strongest response
    only, which for the pattern detectors lies in REGION, so a faithful
    saliency map must concentrate there (an average-pooling head spreads
    gradient over the noise too).
    """
    images, labels, _ = toy_faces(600, seed=0)
    x = images[..., None].astype("float32")
    model = toy_cnn(seed=1, filters=(8, 16), head=keras.layers.GlobalMaxPooling2D)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    for _ in range(8):
        model.fit(x, labels, epochs=2, batch_size=32, verbose=0)
        if (predict_probs(model, images).argmax(axis=1) == labels).mean() > 0.95:
            break
    return model


# Grad-CAM is left out here: behind a global max-pool its channel weights are
# averaged gradients, so it paints every position where a channel fires,
# noise included (its ratio on this task is about 1.4); it is checked on the
# built-in faces below.
@pytest.mark.parametrize("method", ["vanilla", "smoothgrad", "integrated_gradients"])
def test_saliency_finds_the_region_that_carries_the_class(trained, method):
    images, labels, masks = toy_faces(80, seed=1)
    probs = predict_probs(trained, images)
    assert (probs.argmax(axis=1) == labels).mean() > 0.8, "the toy model did not learn its task"
    maps = saliency.compute(
        trained, images, labels, method=method, smooth_samples=8, noise=0.1, seed=0, ig_steps=16
    )
    values = faithfulness.scores(trained, images, labels, maps, masks=masks, fraction=0.1, seed=0)
    values = values.set_index("metric")["value"]
    assert values["area_share_cues"] == pytest.approx(288 / 2304)
    assert values["mass_ratio_cues"] > 1.5
    assert values["drop_salient"] > 1.5 * values["drop_random"] > 0


def test_validation_masks_follow_the_validation_rows(tmp_path):
    from fer_workflow.data import Dataset

    masks = np.arange(5 * 48 * 48, dtype=np.uint32).reshape(5, 48, 48).astype(np.uint8)
    np.savez(tmp_path / "masks.npz", train=masks)
    empty = np.zeros((0, 48, 48), np.uint8)
    ds = Dataset(
        x_train=empty,
        y_train=np.zeros(0, np.int8),
        x_val=np.zeros((2, 48, 48), np.uint8),
        y_val=np.zeros(2, np.int8),
        x_test=empty,
        y_test=np.zeros(0, np.int8),
        test_ids=np.zeros(0, np.int64),
        train_index=np.array([0, 1, 3]),
        val_index=np.array([4, 2]),
    )
    np.testing.assert_array_equal(saliency.validation_masks(tmp_path / "masks.npz", ds), masks[[4, 2]])
    ds.val_index = np.array([1, 7])
    with pytest.raises(ValueError, match="masks.npz: masks 'train' of shape .* do not cover"):
        saliency.validation_masks(tmp_path / "masks.npz", ds)


@pytest.fixture(scope="module")
def trained_on_faces():
    """The toy CNN trained for a few seconds on built-in synthetic faces (all
    classes equally often), with 200 held-out faces and their cue masks."""
    from fer_workflow.data import synthetic

    images, labels, masks = synthetic.generate(1500, np.random.default_rng(0), proportions=np.ones(7))
    model = toy_cnn(seed=1, filters=(8, 16), head=keras.layers.GlobalMaxPooling2D)
    model.compile(optimizer=keras.optimizers.Adam(0.005), loss="sparse_categorical_crossentropy")
    model.fit(images[:-200, ..., None].astype("float32"), labels[:-200], epochs=10, batch_size=32, verbose=0)
    return model, images[-200:], labels[-200:], masks[-200:]


@pytest.mark.parametrize("method", saliency.METHODS)
def test_every_method_looks_at_the_cues_of_the_built_in_faces(trained_on_faces, method):
    model, images, labels, masks = trained_on_faces
    assert (predict_probs(model, images).argmax(axis=1) == labels).mean() > 0.5, "the toy model did not learn"
    maps = saliency.compute(model, images, labels, method=method, smooth_samples=8, ig_steps=16)
    assert saliency.mask_shares(maps, masks)["mass_ratio_cues"] > 1.5


def test_every_method_on_a_saved_mixed_precision_model(tmp_path, faces):
    """float16 compute (the GPU preset) gives float32 maps close to the float32 model's."""
    from fer_workflow.explain import faithfulness

    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        half = toy_cnn(seed=5)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    half.save(tmp_path / "half.keras")
    half = models.load_model(tmp_path / "half.keras")
    full = toy_cnn(seed=5)
    full.set_weights(half.get_weights())
    images, labels = faces
    for method in saliency.METHODS:
        maps = saliency.compute(half, images, labels, method=method, smooth_samples=2, ig_steps=4)
        reference = saliency.compute(full, images, labels, method=method, smooth_samples=2, ig_steps=4)
        assert maps.dtype == np.float32 and np.all(np.isfinite(maps)) and maps.max() > 0, method
        # (nanmean: an all-zero Grad-CAM has no ranks)
        assert np.nanmean(faithfulness.rank_correlation(maps, reference)) > 0.8, method
    predicted = predict_probs(half, images[:4]).argmax(axis=1)
    table, _, _ = faithfulness.evaluate(
        half,
        images[:4],
        predicted,
        lambda m, x, c, k: saliency.compute(m, x, c, method=k),
        ["gradcam"],
        steps=4,
    )
    assert np.isfinite(table["deletion_auc"]).all()


def test_registry_is_the_schemas_method_list_and_owns_the_config_knobs():
    """One list of methods (the registry; the schema's $defs entry names the
    same), and every method's knobs are keys of the saliency config group."""
    import yaml

    schema = yaml.safe_load((REPO / "config.schema.yaml").read_text())
    assert schema["$defs"]["saliency_method"]["enum"] == list(saliency.METHODS)
    config = yaml.safe_load((REPO / "config.yaml").read_text())["saliency"]
    properties = schema["properties"]["saliency"]["properties"]
    for name, cls in saliency.REGISTRY.items():
        assert cls.name == name
        for knob in cls.knobs:
            assert knob in config and knob in properties, f"{name}: knob {knob} is no saliency config key"
    assert sorted(saliency.KNOBS) == sorted({k for cls in saliency.REGISTRY.values() for k in cls.knobs})


def test_a_method_takes_its_own_knobs_and_refuses_unknown_ones():
    method = saliency.build("smoothgrad", seed=3, smooth_samples=4, ig_steps=9, gradcam_layer="last")
    assert isinstance(method, saliency.SmoothGrad)
    assert method.options == {"smooth_samples": 4, "noise": 0.1} and method.seed == 3
    assert saliency.build("gradcam").options == {"gradcam_layer": "last"}
    with pytest.raises(TypeError, match="unknown saliency knob"):
        saliency.build("vanilla", samples=4)
    with pytest.raises(TypeError, match="smoothgrad has no knob ig_steps"):
        saliency.SmoothGrad(ig_steps=4)
