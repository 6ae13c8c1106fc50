"""Predictions (batched, flip TTA), the split they come from, and the submission."""

import numpy as np
import pandas as pd
import pytest

from conftest import ONEDNN
from fer_workflow import NUM_CLASSES, arrays
from fer_workflow.data import Dataset
from fer_workflow.evaluation import predict

keras = pytest.importorskip("keras")


def left_right_model():
    """A tiny model following the contract whose output is asymmetric in x.

    Logit 0 is the mean brightness of the left half of the face, logit 1 that
    of the right half (the other logits are 0): a face bright on the left is
    class 0, its mirror image class 1.
    """
    inputs = keras.Input((48, 48, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(1, 1, use_bias=False, name="block1_conv1")(x)
    x = keras.layers.Flatten()(x)
    logits = keras.layers.Dense(NUM_CLASSES, name="logits")(x)
    probs = keras.layers.Activation("softmax", name="probs", dtype="float32")(logits)
    model = keras.Model(inputs, probs)
    model.get_layer("block1_conv1").set_weights([np.ones((1, 1, 1, 1), np.float32)])
    kernel = np.zeros((48, 48, NUM_CLASSES), np.float32)
    kernel[:, :24, 0] = 10 / (48 * 24)
    kernel[:, 24:, 1] = 10 / (48 * 24)
    model.get_layer("logits").set_weights(
        [kernel.reshape(-1, NUM_CLASSES), np.zeros(NUM_CLASSES, np.float32)]
    )
    return model


def faces(n, side, level=200):
    """n images bright (``level``) on the ``left``, ``right`` or ``both`` halves."""
    images = np.zeros((n, 48, 48), np.uint8)
    if side in ("left", "both"):
        images[:, :, :24] = level
    if side in ("right", "both"):
        images[:, :, 24:] = level
    # A different pixel pattern per image, so row order matters.
    images[:, 0, 30] = np.arange(n) * 7 % 256
    return images


def distinguishable_dataset(n_train=30, n_val=10, n_test=6):
    """Train faces bright on both halves, validation on the left, test on the right."""
    return Dataset(
        x_train=faces(n_train, "both"),
        y_train=np.full(n_train, 3, np.int8),
        x_val=faces(n_val, "left"),
        y_val=np.zeros(n_val, np.int8),
        x_test=faces(n_test, "right"),
        y_test=np.ones(n_test, np.int8),
        test_ids=np.arange(101, 101 + n_test, dtype=np.int64),
        train_index=np.arange(n_train),
        val_index=np.arange(n_train, n_train + n_val),
    )


def test_flip_horizontal_mirrors_columns():
    images = np.arange(2 * 48 * 48, dtype=np.uint16).reshape(2, 48, 48)
    flipped = predict.flip_horizontal(images)
    assert np.array_equal(flipped[:, :, 0], images[:, :, 47])
    assert np.array_equal(flipped[:, 5, :], images[:, 5, ::-1])
    assert np.array_equal(predict.flip_horizontal(flipped), images)


def test_predict_probs_batches_give_the_same_answer():
    model = left_right_model()
    images = np.concatenate([faces(5, "left"), faces(4, "right", level=120)])
    whole = predict.predict_probs(model, images, batch_size=64)
    batched = predict.predict_probs(model, images, batch_size=2)
    assert whole.shape == (9, NUM_CLASSES) and whole.dtype == np.float32
    np.testing.assert_allclose(whole.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(batched, whole, **ONEDNN)
    expected = keras.ops.convert_to_numpy(model(images[..., None].astype(np.float32)))
    np.testing.assert_allclose(whole, expected, **ONEDNN)
    assert whole[:5].argmax(axis=1).tolist() == [0] * 5 and whole[5:].argmax(axis=1).tolist() == [1] * 4


def test_flip_tta_uses_the_mirrored_faces():
    model = left_right_model()
    ds = distinguishable_dataset()
    predictions = predict.predict_dataset(model, ds, batch_size=4)
    # Validation faces are bright on the left (class 0); mirrored, on the right (class 1).
    assert predictions["val_probs"].argmax(axis=1).tolist() == [0] * 10
    assert predictions["val_probs_flip"].argmax(axis=1).tolist() == [1] * 10
    np.testing.assert_allclose(
        predictions["val_probs_flip"], predict.predict_probs(model, ds.x_val[:, :, ::-1]), **ONEDNN
    )
    averaged = predict.split_probs(predictions, "validation", tta_flip=True)
    np.testing.assert_allclose(averaged, (predictions["val_probs"] + predictions["val_probs_flip"]) / 2)
    np.testing.assert_allclose(averaged[:, 0], averaged[:, 1], **ONEDNN)  # symmetric after averaging
    assert np.array_equal(predict.split_probs(predictions, "validation"), predictions["val_probs"])


def test_predictions_come_from_validation_and_test_never_training():
    model = left_right_model()
    ds = distinguishable_dataset(n_train=30, n_val=10, n_test=6)
    predictions = predict.predict_dataset(model, ds)
    assert set(predictions) == {"val_probs", "val_probs_flip", "test_probs", "test_probs_flip"}
    assert predictions["val_probs"].shape == (10, NUM_CLASSES)
    assert predictions["test_probs"].shape == (6, NUM_CLASSES)
    # Training faces (bright on both halves) would give a tie of classes 0 and 1; the test faces
    # (bright on the right) give class 1 with a clear margin, the validation faces class 0.
    np.testing.assert_allclose(predictions["test_probs"], predict.predict_probs(model, ds.x_test), **ONEDNN)
    assert np.all(predictions["test_probs"][:, 1] > 2 * predictions["test_probs"][:, 0])
    assert np.all(predictions["val_probs"][:, 0] > 2 * predictions["val_probs"][:, 1])


def test_empty_test_split_gives_empty_arrays(tmp_path):
    model = left_right_model()
    ds = distinguishable_dataset(n_test=0)
    predictions = predict.predict_dataset(model, ds)
    for key in ("test_probs", "test_probs_flip"):
        assert predictions[key].shape == (0, NUM_CLASSES) and predictions[key].dtype == np.float32
    arrays.save(tmp_path / "p.npz", predictions)
    loaded = arrays.load(tmp_path / "p.npz")
    assert loaded.keys() == predictions.keys()
    for key, value in predictions.items():
        assert np.array_equal(loaded[key], value) and loaded[key].dtype == np.float32
    with pytest.raises(ValueError, match="no test images"):
        predict.submission(ds, loaded)


def test_submission_shape_ids_header_and_labels(tmp_path):
    # The size of the FER2013 test set.
    n = 7178
    rng = np.random.default_rng(0)
    ds = distinguishable_dataset(n_test=0)
    ds.test_ids = np.arange(n, dtype=np.int64)[::-1].copy()  # ids need not be sorted
    probs = rng.dirichlet(np.ones(NUM_CLASSES), size=n).astype(np.float32)
    flipped = rng.dirichlet(np.ones(NUM_CLASSES), size=n).astype(np.float32)
    predictions = {"test_probs": probs, "test_probs_flip": flipped}

    table = predict.submission(ds, predictions, tta_flip=False)
    path = tmp_path / "submission.csv"
    table.to_csv(path, index=False)
    lines = path.read_text().splitlines()
    assert lines[0] == "id,label" and len(lines) == n + 1
    back = pd.read_csv(path)
    assert back["id"].tolist() == ds.test_ids.tolist()
    assert back["label"].dtype.kind == "i" and back["label"].between(0, 6).all()
    assert np.array_equal(back["label"], probs.argmax(axis=1))

    with_tta = predict.submission(ds, predictions, tta_flip=True)
    assert np.array_equal(with_tta["label"], (probs + flipped).argmax(axis=1))
    assert (with_tta["label"] != table["label"]).any()


def test_submission_rejects_predictions_of_another_dataset():
    ds = distinguishable_dataset(n_test=6)
    predictions = {"test_probs": np.zeros((5, NUM_CLASSES), np.float32)}
    with pytest.raises(ValueError, match="5 test predictions for 6 test ids"):
        predict.submission(ds, predictions, tta_flip=False)


def test_shift_images_moves_the_face_and_repeats_the_edge():
    images = np.arange(2 * 48 * 48, dtype=np.int64).reshape(2, 48, 48) % 251
    images = images.astype(np.uint8)
    down_right = predict.shift_images(images, 2, 3)
    assert down_right.shape == images.shape and down_right.dtype == np.uint8
    np.testing.assert_array_equal(down_right[:, 2:, 3:], images[:, :-2, :-3])
    np.testing.assert_array_equal(down_right[:, :2, 3:], np.repeat(images[:, :1, :-3], 2, axis=1))
    up_left = predict.shift_images(images, -1, -2)
    np.testing.assert_array_equal(up_left[:, :-1, :-2], images[:, 1:, 2:])
    np.testing.assert_array_equal(up_left[:, -1, :-2], images[:, -1, 2:])
    np.testing.assert_array_equal(predict.shift_images(images, 0, 0), images)
    assert predict.shift_offsets(0) == [] and sorted(predict.shift_offsets(2)) == [
        (-2, 0),
        (0, -2),
        (0, 2),
        (2, 0),
    ]


def test_shift_tta_averages_ten_views_with_equal_weight():
    model = left_right_model()
    ds = distinguishable_dataset(n_train=30, n_val=10, n_test=6)
    predictions = predict.predict_dataset(model, ds, shift=3, batch_size=4)
    assert set(predictions) == {
        f"{split}_probs{suffix}"
        for split in ("val", "test")
        for suffix in ("", "_flip", "_shift", "_shift_flip")
    }
    views = [ds.x_val, ds.x_val[:, :, ::-1]]
    views += [predict.shift_images(v, dy, dx) for v in views[:2] for dy, dx in predict.shift_offsets(3)]
    expected = np.mean([predict.predict_probs(model, v) for v in views], axis=0)
    both = predict.split_probs(predictions, "validation", tta_flip=True, tta_shift=True)
    np.testing.assert_allclose(both, expected, **ONEDNN)
    plain_views = [ds.x_val] + [predict.shift_images(ds.x_val, dy, dx) for dy, dx in predict.shift_offsets(3)]
    expected = np.mean([predict.predict_probs(model, v) for v in plain_views], axis=0)
    np.testing.assert_allclose(
        predict.split_probs(predictions, "validation", tta_shift=True), expected, **ONEDNN
    )
    # The shifted views differ from the plain one (the model reads the halves' brightness).
    assert not np.allclose(predictions["val_probs_shift"], predictions["val_probs"])
    # Without shifted views, asking for them is an error that names the setting.
    with pytest.raises(ValueError, match="tta_shift: the predictions hold no shifted views"):
        predict.split_probs(predict.predict_dataset(model, ds), "test", tta_shift=True)


def test_ten_crop_views_of_the_tta_benchmark():
    """benchmarks/tta_views.py: five crops per face, each back at 48x48; with
    no margin every crop is the face itself; every set of views gives
    probabilities (rows summing to 1) for every face."""
    from conftest import load_module
    from toy_models import toy_cnn

    tta_views = load_module("benchmarks/tta_views.py")
    rng = np.random.default_rng(0)
    faces = rng.integers(0, 256, size=(6, 48, 48)).astype(np.uint8)
    same = tta_views.crops(faces, 0)
    assert len(same) == 5 and all(np.allclose(c, faces, atol=1e-3) for c in same)
    cropped = tta_views.crops(faces, 4)
    assert all(c.shape == (6, 48, 48) for c in cropped)
    # The top-left crop's corner pixel is the face's own (0, 0); the bottom-right crop's its (47, 47).
    assert np.allclose(cropped[0][:, 0, 0], faces[:, 0, 0], atol=1e-3)
    assert np.allclose(cropped[3][:, -1, -1], faces[:, -1, -1], atol=1e-3)
    rows = tta_views.view_probs(toy_cnn(), faces, margins=[4], shifts=[2])
    assert len(rows) == 4
    for probs, seconds in rows.values():
        assert probs.shape == (6, NUM_CLASSES) and seconds >= 0
        np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
