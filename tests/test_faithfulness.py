"""Deletion and insertion curves on a model whose answer is known, the
vectorised curves against the one-step-at-a-time reference, constant maps
counted as invalid and ties broken at random, the paired comparison with the
random order (a map of the pixels the model uses beats it, noise does not),
the sanity check separating a real method from one that ignores the weights,
the per-face results, region shares with the centre prior, and the face
region table."""

import keras
import numpy as np
import pandas as pd
import pytest

from fer_workflow import arrays
from fer_workflow.evaluation import stats
from fer_workflow.evaluation.predict import predict_probs
from fer_workflow.explain import faithfulness as fa
from fer_workflow.explain import perturbation, regions, saliency
from fer_workflow.explain.saliency import blur
from fer_workflow.plots import explain
from toy_models import toy_cnn


def linear_model(weights):
    """probs = softmax([sum(w * x) / 255, 0, ..., 0]): class 0's score is linear in the pixels."""
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Flatten()(inputs)
    dense = keras.layers.Dense(7, name="logits")
    model = keras.Model(inputs, keras.layers.Activation("softmax", name="probs")(dense(x)))
    kernel = np.zeros((48 * 48, 7), np.float32)
    kernel[:, 0] = weights.ravel() / 255
    dense.set_weights([kernel, np.zeros(7, np.float32)])
    return model


@pytest.fixture(scope="module")
def known():
    """Faces bright (255) in a 16x16 box on gray noise; the model's class-0
    score rises with the box's brightness and falls with a patch elsewhere."""
    rng = np.random.default_rng(0)
    weights = np.zeros((48, 48), np.float32)
    weights[8:24, 8:24] = 0.08
    weights[30:40, 30:40] = -0.03
    images = rng.integers(40, 120, (6, 48, 48)).astype(np.float32)
    images[:, 8:24, 8:24] = 255
    return linear_model(weights), images.astype(np.uint8), weights


def softmax0(scores):
    return np.exp(scores) / (np.exp(scores) + 6)


def test_curves_match_the_closed_form(known):
    model, images, weights = known
    order = fa.random_order(len(images), 48 * 48, seed=1)
    classes = np.zeros(len(images), int)
    blurred = blur(images, 3.0)
    fractions = fa.step_fractions(48 * 48, 12)
    for mode in ("deletion", "insertion"):
        curve = fa.curves(model, images, order, classes, steps=12, blur_sigma=3.0, mode=mode)
        stack = fa.step_images(images, order, fractions, mode, perturbation.Blur(3.0))
        expected = softmax0((stack * weights).sum(axis=(2, 3)) / 255)
        np.testing.assert_allclose(curve, expected, rtol=1e-4, atol=1e-6)
        start, end = (images, blurred) if mode == "deletion" else (blurred, images)
        np.testing.assert_allclose(stack[:, 0], start, atol=1e-4)
        np.testing.assert_allclose(stack[:, -1], end, atol=1e-4)


def test_the_ideal_order_wins_and_the_reverse_loses(known):
    """Ranked by each pixel's contribution w * (x - blurred), deletion falls
    monotonically (lowest AUC) and insertion rises monotonically (highest)."""
    model, images, weights = known
    blurred = blur(images, 3.0)
    contribution = weights * (images - blurred)
    classes = np.zeros(len(images), int)
    orders = {
        "ideal": fa.pixel_order(contribution),
        "random": fa.random_order(len(images), 48 * 48, seed=0),
        "reverse": fa.pixel_order(-contribution),
    }
    aucs = {}
    for name, order in orders.items():
        for mode in ("deletion", "insertion"):
            curve = fa.curves(model, images, order, classes, steps=16, blur_sigma=3.0, mode=mode)
            aucs[name, mode] = fa.auc(curve).mean()
            if name == "ideal":
                sign = -1 if mode == "deletion" else 1
                assert np.all(sign * np.diff(curve, axis=1) >= -1e-6)
    assert aucs["ideal", "deletion"] < aucs["random", "deletion"] < aucs["reverse", "deletion"]
    assert aucs["ideal", "insertion"] > aucs["random", "insertion"] > aucs["reverse", "insertion"]


def test_auc_and_interval():
    np.testing.assert_allclose(fa.auc(np.array([[1.0, 1.0, 1.0], [1.0, 0.5, 0.0]])), [1.0, 0.5])
    mean, low, high = fa.interval([1.0, 2.0, 3.0, np.nan])
    assert (
        mean == 2.0
        and low == pytest.approx(2 - 1.96 / np.sqrt(3))
        and high == pytest.approx(2 + 1.96 / np.sqrt(3))
    )
    assert fa.step_counts(2304, 4).tolist() == [0, 576, 1152, 1728, 2304]


@pytest.mark.parametrize("mode", ["deletion", "insertion"])
def test_batched_curves_equal_the_stepwise_reference(mode):

    model = toy_cnn(seed=2)
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (5, 48, 48)).astype(np.uint8)
    order = fa.random_order(5, 48 * 48, seed=4)
    classes = rng.integers(0, 7, 5)
    batched = fa.curves(model, images, order, classes, steps=6, blur_sigma=2.0, mode=mode, batch_size=7)
    for per_face in (True, False):
        reference = fa.curves_stepwise(
            model, images, order, classes, steps=6, blur_sigma=2.0, mode=mode, per_face=per_face
        )
        np.testing.assert_allclose(batched, reference, rtol=1e-4, atol=1e-6)


def test_rank_correlation():
    rng = np.random.default_rng(0)
    a = rng.random((3, 48, 48))
    np.testing.assert_allclose(fa.rank_correlation(a, a**3), 1.0)
    np.testing.assert_allclose(fa.rank_correlation(a, -a), -1.0)
    assert abs(fa.rank_correlation(a, rng.random((3, 48, 48))).mean()) < 0.05
    assert np.isnan(fa.rank_correlation(a[:1], np.zeros((1, 48, 48)))[0])


def test_sanity_check_separates_a_real_method_from_an_edge_detector():
    """Vanilla gradients of a trained model change when its weights are
    re-initialised; an edge map of the image (which ignores the model) does not."""
    from test_saliency import toy_faces

    images, labels, _ = toy_faces(400, seed=0)
    model = toy_cnn(seed=1, filters=(8, 16), head=keras.layers.GlobalMaxPooling2D)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(images[..., None].astype("float32"), labels, epochs=4, batch_size=32, verbose=0)

    def maps_of(m, faces, classes, method):
        if method == "edges":
            smooth = blur(faces, 1.0)
            return np.hypot(*np.gradient(smooth, axis=(1, 2)))
        return saliency.compute(m, faces, classes, method=method)

    predicted = predict_probs(model, images[:12]).argmax(axis=1)
    table, mean_curves, _ = fa.evaluate(
        model, images[:12], predicted, maps_of, ["vanilla", "edges"], steps=8, seed=0
    )
    rows = table.set_index("method")
    assert list(table.columns) == fa.COLUMNS and list(rows.index) == ["vanilla", "edges", "random"]
    assert rows.loc["edges", "sanity_correlation"] > 0.99 and rows.loc["edges", "sanity_flagged"]
    assert rows.loc["vanilla", "sanity_correlation"] < 0.5 and not rows.loc["vanilla", "sanity_flagged"]
    assert np.isnan(rows.loc["random", "sanity_correlation"])
    assert (rows["deletion_auc_low"] <= rows["deletion_auc"]).all() and (
        rows["deletion_auc"] <= rows["deletion_auc_high"]
    ).all()
    assert mean_curves["vanilla", "deletion"].shape == (9,)


def test_region_table_and_face_choice():
    maps = np.zeros((4, 48, 48))
    maps[:, 0:12, :] = 1.0  # all mass in the top quarter
    boxes = {"top": [[0, 0, 48, 6]], "two": [[0, 0, 24, 12], [0, 40, 48, 48]]}
    table = regions.region_table(maps, np.array([0, 0, 3, 3]), boxes)
    happy = table[table["class"] == "Happy"].set_index("region")
    assert happy.loc["top", "mass_share"] == pytest.approx(0.5) and happy.loc[
        "top", "area_share"
    ] == pytest.approx(0.125)
    assert happy.loc["two", "mass_share"] == pytest.approx(0.5) and happy.loc[
        "two", "ratio"
    ] == pytest.approx(0.5 / (672 / 2304))
    assert (
        table[table["class"] == "Sad"]["n_faces"].eq(0).all()
        and table[table["class"] == "Sad"]["mass_share"].isna().all()
    )


# ---- invalid maps, ties, the paired comparison with the random order -------------------


def test_a_constant_map_is_invalid():
    maps = np.random.default_rng(0).random((4, 48, 48))
    maps[0] = 0.0  # an all-zero Grad-CAM
    maps[1] = 3.0
    maps[2, 5, 5] = np.nan
    assert fa.invalid_maps(maps).tolist() == [True, True, True, False]


def test_ties_are_broken_at_random_not_by_index():
    maps = np.zeros((1, 48, 48))
    maps[0, 8:24, 8:24] = 1.0
    box = set(np.flatnonzero(maps[0].ravel()))
    orders = [fa.pixel_order(maps, seed=seed)[0] for seed in (0, 1)]
    for order in orders:
        assert set(order[:256]) == box  # the salient pixels first, still
        assert sorted(order[:256]) != order[:256].tolist()  # but not top-left first
        assert sorted(order[256:]) != order[256:].tolist()
    assert not np.array_equal(orders[0], orders[1])
    np.testing.assert_array_equal(orders[0], fa.pixel_order(maps, seed=0)[0])  # seeded


PATCH = (slice(8, 24), slice(8, 24))


@pytest.fixture(scope="module")
def patch_model():
    """A model whose class-0 score is a checkerboard inside a 16x16 patch and
    nothing else, on faces that carry that checkerboard: blurring the patch
    (deletion) takes the score from 10 to about 0, restoring it (insertion)
    gives it back, and no pixel outside the patch matters. 12 faces."""
    checker = np.indices((16, 16)).sum(axis=0) % 2 == 0
    weights = np.zeros((48, 48), np.float32)
    weights[PATCH] = np.where(checker, 0.08, -0.08)
    images = np.random.default_rng(1).integers(40, 120, (12, 48, 48)).astype(np.uint8)
    images[:, PATCH[0], PATCH[1]] = np.where(checker, 255, 0)
    return linear_model(weights), images


def patch_maps(net, faces, classes, method, model=None):
    """``patch``: exactly the pixels the model uses; ``noise``: uniform noise;
    ``holey``: the patch, but all zero on face 0 of the trained model and on
    face 1 of the re-initialised one."""
    trained = net is model
    if method == "noise":
        return np.random.default_rng(10 if trained else 11).random(faces.shape)
    maps = np.zeros(faces.shape)
    maps[:, PATCH[0], PATCH[1]] = 1.0
    if method == "holey":
        maps[0 if trained else 1] = 0.0
    return maps


REGIONS = {"patch": [[8, 8, 24, 24]], "corner": [[40, 40, 48, 48]]}


@pytest.fixture(scope="module")
def patch_result(patch_model):
    model, images = patch_model
    rows = np.arange(100, 112)
    return fa.evaluate(
        model,
        images,
        np.zeros(len(images), int),
        lambda net, x, c, k: patch_maps(net, x, c, k, model=model),
        ["patch", "noise", "holey"],
        steps=8,
        blur_sigma=3.0,
        seed=0,
        regions=REGIONS,
        rows=rows,
    )


def test_the_pixels_the_model_uses_beat_random_and_noise_does_not(patch_result):
    table = patch_result[0].set_index("method")
    assert list(patch_result[0].columns) == fa.COLUMNS
    assert list(table.index) == ["patch", "noise", "holey", "random"]
    patch, noise = table.loc["patch"], table.loc["noise"]
    assert patch["deletion_beats_random"] == stats.SUPPORTED
    assert patch["insertion_beats_random"] == stats.SUPPORTED
    assert patch["deletion_vs_random_high"] < 0 < patch["insertion_vs_random_low"]
    # ROAD too: imputing the pixels the model uses hurts more than random ones
    # (MoRF), imputing the others hurts less (LeRF).
    assert patch["road_morf_beats_random"] == stats.SUPPORTED
    assert patch["road_lerf_beats_random"] == stats.SUPPORTED
    # Noise is another random order: a small difference (its verdicts: the next test).
    for mode in ("deletion", "insertion"):
        assert abs(noise[f"{mode}_vs_random"]) < abs(patch[f"{mode}_vs_random"]) / 5
    for mode in ("deletion", "insertion"):
        p = table[f"{mode}_vs_random_p"]
        # Holm over the three methods, per curve; the random row has no comparison with itself.
        np.testing.assert_allclose(table[f"{mode}_vs_random_p_holm"][:3], stats.holm(p[:3]))
        assert (table[f"{mode}_vs_random_p_holm"][:3] >= p[:3]).all()
        assert table.loc["random", [f"{mode}_{c}" for c in fa.PAIRED]].isna().all()


def test_noise_maps_do_not_beat_random(patch_model):
    """A noise map is one more random order, so it beats the random order only
    as often as the test errs (at most 5%, here one-sided claims: 2.5%): over 20
    draws of both, at most 2 per curve are 'supported'. (One draw alone is
    'supported' now and then: the rate is what a test can promise.)"""
    model, images = patch_model
    classes = np.zeros(len(images), int)
    verdicts = {mode: [] for mode in fa.CLAIMS}
    for draw in range(20):
        noise = np.random.default_rng([draw, 2]).random(images.shape)
        orders = fa.pixel_order(noise, seed=[draw, 1]), fa.random_order(len(images), 48 * 48, draw)
        for mode, direction in fa.CLAIMS.items():
            noise_auc, random_auc = (
                fa.auc(fa.curves(model, images, order, classes, steps=8, blur_sigma=3.0, mode=mode))
                for order in orders
            )
            verdicts[mode].append(fa.versus_random(noise_auc[None], random_auc, direction)[0]["beats_random"])
    for mode, found in verdicts.items():
        assert found.count(stats.SUPPORTED) <= 2, (mode, found)
        assert stats.INCONCLUSIVE not in found


def test_constant_maps_are_counted_not_dropped(patch_result):
    table, mean_curves, faces = patch_result
    rows = table.set_index("method")
    assert rows["n_faces"].tolist() == [12, 12, 12, 12]
    assert rows["n_valid"].tolist() == [12, 12, 11, 12]
    assert rows.loc[["patch", "noise", "holey"], "sanity_n_valid"].tolist() == [12, 12, 10]
    assert pd.isna(rows.loc["random", "sanity_n_valid"])
    holey = 2
    assert not faces["valid"][holey, 0] and faces["valid"][holey, 1:].all()
    # Face 0 has no AUC for holey (not a top-left-first order); the others are the patch's.
    for mode in ("deletion", "insertion"):
        aucs = faces[f"{mode}_auc"]
        assert np.isnan(aucs[holey, 0]) and np.isfinite(aucs[holey, 1:]).all()
        np.testing.assert_allclose(aucs[holey, 1:], aucs[0, 1:], rtol=1e-5)
        assert rows.loc["holey", f"{mode}_auc"] == pytest.approx(np.mean(aucs[holey, 1:]))
    assert np.isnan(faces["sanity_correlation"][holey, :2]).all()
    assert np.isnan(faces["region_share"][holey, 0]).all()
    assert np.isnan(faces["region_share_random_model"][holey, 1]).all()
    assert mean_curves["holey", "deletion"].shape == (9,)


def test_the_per_face_arrays(patch_result, tmp_path):
    _, _, faces = patch_result
    arrays.save(tmp_path / "faces.npz", faces)
    faces = arrays.load(tmp_path / "faces.npz")
    assert list(faces) == fa.FACE_KEYS
    shapes = {key: value.shape for key, value in faces.items()}
    assert shapes == {
        "methods": (4,),
        "deletion_auc": (4, 12),
        "insertion_auc": (4, 12),
        "road_morf_auc": (4, 12),
        "road_lerf_auc": (4, 12),
        "valid": (4, 12),
        "sanity_correlation": (3, 12),
        "sanity_flagged": (3,),
        "val_rows": (12,),
        "classes": (12,),
        "region_names": (2,),
        "region_area": (2,),
        "region_share": (3, 12, 2),
        "region_share_random_model": (3, 12, 2),
        "centre_prior_share": (2,),
    }
    assert faces["methods"].tolist() == ["patch", "noise", "holey", "random"]
    assert faces["valid"].dtype == bool and faces["sanity_flagged"].dtype == bool
    assert faces["val_rows"].tolist() == list(range(100, 112)) and (faces["classes"] == 0).all()
    assert faces["region_names"].tolist() == ["patch", "corner"]
    np.testing.assert_allclose(faces["region_area"], [256 / 2304, 64 / 2304])
    np.testing.assert_allclose(faces["region_share"][0], [[1.0, 0.0]] * 12)
    # The patch maps ignore the weights: the sanity check flags them; noise is not flagged.
    assert faces["sanity_flagged"].tolist() == [True, False, True]


def test_the_figure_says_how_many_faces_a_curve_has(patch_result):
    table, mean_curves, _ = patch_result
    figure = explain.faithfulness_curves(mean_curves, table)
    labels = [text.get_text() for text in figure.axes[0].get_legend().get_texts()]
    assert labels[2].startswith("holey") and labels[2].endswith("(11 of 12 faces)")
    assert "faces)" not in labels[0]


def test_versus_random():
    rng = np.random.default_rng(0)
    random = rng.uniform(0.4, 0.6, 40)
    methods = np.stack(
        [
            random - 0.1 + rng.normal(0, 0.01, 40),  # lower: beats random on deletion
            random + rng.normal(0, 0.05, 40),  # no difference
            random + 0.1 + rng.normal(0, 0.01, 40),  # higher: worse on deletion
            np.full(40, np.nan),  # every face invalid
        ]
    )
    methods[0, :5] = np.nan  # invalid faces are left out of the test
    rows = fa.versus_random(methods, random, direction=-1)
    assert [row["beats_random"] for row in rows] == [
        stats.SUPPORTED,
        stats.NOT_SUPPORTED,
        stats.NOT_SUPPORTED,
        stats.INCONCLUSIVE,
    ]
    assert rows[0]["vs_random_low"] < rows[0]["vs_random"] < rows[0]["vs_random_high"] < 0
    assert rows[0]["vs_random_p"] == stats.signed_rank_p(methods[0, 5:] - random[5:])
    p = [row["vs_random_p"] for row in rows]
    np.testing.assert_allclose([row["vs_random_p_holm"] for row in rows], stats.holm(p))
    # Adjusted over the three tested (the all-NaN method does not count): the
    # smallest p times 3, the next times 2.
    assert rows[2]["vs_random_p"] < rows[0]["vs_random_p"] < rows[1]["vs_random_p"]
    assert rows[2]["vs_random_p_holm"] == pytest.approx(3 * rows[2]["vs_random_p"])
    assert rows[0]["vs_random_p_holm"] == pytest.approx(2 * rows[0]["vs_random_p"])
    # The same differences claimed the other way round.
    assert fa.versus_random(methods, random, direction=1)[2]["beats_random"] == stats.SUPPORTED


# ---- region shares and the centre prior ------------------------------------------------


def test_region_shares_sum_to_one_over_a_partition():
    maps = np.random.default_rng(0).random((3, 48, 48))
    maps[2] = 0.0
    quadrants = {
        "top_left": [[0, 0, 24, 24]],
        "top_right": [[24, 0, 48, 24]],
        "bottom": [[0, 24, 48, 48]],
    }
    shares = fa.region_shares(maps, regions.region_masks(quadrants))
    assert shares.shape == (3, 3)
    np.testing.assert_allclose(shares[:2].sum(axis=1), 1.0)
    assert np.isnan(shares[2]).all()  # a constant map has no share anywhere
    np.testing.assert_allclose(
        fa.region_shares(regions.centre_prior()[None], regions.region_masks(quadrants)).sum(), 1
    )


def test_the_centre_prior_prefers_the_middle():
    prior = regions.centre_prior()
    assert prior.sum() == pytest.approx(1.0) and regions.CENTRE_PRIOR_SIGMA == 48 / 4
    np.testing.assert_allclose(prior, prior[::-1, ::-1])  # centred
    masks = regions.region_masks({"centre": [[20, 20, 28, 28]], "corner": [[0, 0, 8, 8]]})
    centre, corner = fa.region_shares(prior[None], masks)[0]
    assert centre > 5 * corner > 0


# ---- cascading randomisation ------------------------------------------------------------


@pytest.fixture(scope="module")
def cascade_result():
    from fer_workflow.explain import randomisation

    model = toy_cnn(seed=0)
    rng = np.random.default_rng(1)
    images, classes = rng.integers(0, 256, (12, 48, 48)).astype(np.uint8), rng.integers(0, 7, 12)

    def maps_of(net, x, c, method):
        return saliency.compute(net, x, c, method=method, smooth_samples=2)

    return model, randomisation.evaluate(model, images, classes, maps_of, ["vanilla", "gradcam"], seed=0)


def test_cascading_randomisation_starts_at_one_and_falls_to_near_zero(cascade_result):
    """Nothing re-initialised: the maps are the trained model's (correlation 1);
    every layer re-initialised: an unrelated network, correlation near 0."""
    from fer_workflow.explain import randomisation

    model, (table, shown) = cascade_result
    assert list(table.columns) == randomisation.COLUMNS
    groups = randomisation.layer_groups(model)
    assert [g[0] for g in groups] == ["logits", "block2_conv1", "block1_conv1"]
    assert table["layer"].tolist() == ["none", "logits", "block2_conv1", "block1_conv1"] * 2
    for method in ("vanilla", "gradcam"):
        rows = table[table["method"] == method].set_index("step")
        assert rows.loc[0, "spearman"] == pytest.approx(1.0) and rows.loc[0, "ssim"] == pytest.approx(1.0)
        last = rows.iloc[-1]
        assert abs(last["spearman"]) < 0.2 and abs(last["ssim"]) < 0.2, (method, last)
        assert last["spearman_low"] <= last["spearman"] <= last["spearman_high"]
        assert shown[method].shape == (4, 1, 48, 48)
    # The trained model is left untouched by the cascade.
    assert saliency.vanilla(model, np.zeros((1, 48, 48)), [0]).shape == (1, 48, 48)


def test_ssim_of_normalised_maps():
    from fer_workflow.explain import randomisation

    rng = np.random.default_rng(0)
    a = rng.random((3, 48, 48))
    np.testing.assert_allclose(randomisation.ssim(a, 2 * a + 5), 1.0)  # scale-free: maps are normalised
    assert abs(randomisation.ssim(a, rng.random((3, 48, 48))).mean()) < 0.1
    constant = randomisation.ssim(np.zeros((1, 48, 48)), a[:1])
    assert np.isnan(constant).all()


def test_cascading_figure(cascade_result):
    _, (table, shown) = cascade_result
    figure = explain.cascading_randomisation(table, shown, face=np.zeros((48, 48)))
    assert len(figure.axes) == 2 * 5 + 2


def test_sanity_flag_is_the_findings_criterion_the_upper_bound():
    """Mean 0.48 under the threshold 0.5 but its interval reaching over it:
    flagged, as the findings' sanity row and region claims treat it."""
    from fer_workflow import findings

    rng = np.random.default_rng(0)
    n = 40
    z = rng.normal(0, 1, n)
    z = (z - z.mean()) / z.std()
    correlation = np.stack([0.48 + 0.2 * z, 0.2 + 0.1 * z])
    names = ["vanilla", "gradcam", "random"]
    aucs = {mode: rng.random((3, n)) for mode in fa.CLAIMS}
    table = fa.faithfulness_table(names, aucs, np.ones((3, n), bool), correlation, 0.5)
    rows = table.set_index("method")
    assert rows.loc["vanilla", "sanity_correlation"] < 0.5 < rows.loc["vanilla", "sanity_correlation_high"]
    assert rows.loc["vanilla", "sanity_flagged"] and not rows.loc["gradcam", "sanity_flagged"]
    assert findings.sane_method(table, preferred="vanilla", threshold=0.5) == "gradcam"


def test_one_measure_of_saliency_in_a_region():
    """The saliency scores (per-face cue masks), the faithfulness region shares
    and the by-class table all give regions.mass_shares' numbers."""
    rng = np.random.default_rng(0)
    maps = rng.random((6, 48, 48))
    maps[5] = 0.0  # no mass
    box = {"top": [[0, 0, 48, 24]]}
    masks = regions.region_masks(box)
    shares = regions.mass_shares(maps, masks)
    np.testing.assert_allclose(shares[:5, 0], maps[:5, :24].sum(axis=(1, 2)) / maps[:5].sum(axis=(1, 2)))
    assert np.isnan(shares[5, 0])
    np.testing.assert_array_equal(fa.region_shares(maps, masks), shares)
    table = regions.region_table(maps, np.zeros(6, int), box)
    angry = table[(table["class"] == "Angry") & (table["region"] == "top")].iloc[0]
    assert angry["mass_share"] == pytest.approx(np.nansum(shares[:, 0]) / 6)  # no mass counts as 0
    cue = np.zeros((6, 48, 48), np.uint8)
    cue[:, :24] = saliency.REGIONS["brows"]
    assert saliency.mask_shares(maps, cue)["mass_share_brows"] == pytest.approx(angry["mass_share"])
