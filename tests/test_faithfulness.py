"""Deletion and insertion curves on a model whose answer is known, the
vectorised curves against the one-step-at-a-time reference, the sanity check
separating a real method from one that ignores the weights, and the face
region table."""

import keras
import numpy as np
import pytest

from fer_workflow import faithfulness as fa
from fer_workflow import saliency
from fer_workflow.predict import predict_probs
from fer_workflow.saliency import blur


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
    for mode in ("deletion", "insertion"):
        curve = fa.curves(model, images, order, classes, steps=12, blur_sigma=3.0, mode=mode)
        stack = fa.step_images(images, blurred, order, 12, mode)
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
    from test_saliency import toy_cnn

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
    from test_saliency import toy_cnn, toy_faces

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
    table, mean_curves = fa.evaluate(
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
    regions = {"top": [[0, 0, 48, 6]], "two": [[0, 0, 24, 12], [0, 40, 48, 48]]}
    table = fa.region_table(maps, np.array([0, 0, 3, 3]), regions)
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
    labels = np.array([0, 0, 0, 1, 3, 3])
    chosen = fa.correct_faces_by_class(labels, np.array([0, 0, 1, 1, 3, 2]), max_per_class=1, seed=0)
    assert len(chosen) == 3 and set(labels[chosen]) == {0, 1, 3}
