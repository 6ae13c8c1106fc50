"""The built-in synthetic faces: determinism, shapes, labels, imbalance, masks."""

import numpy as np
import pytest

from fer_workflow import CLASS_NAMES
from fer_workflow.data import readers, synthetic

N_TRAIN, N_TEST = 700, 140


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One generated set on disk, with its arrays."""
    folder = tmp_path_factory.mktemp("synthetic")
    paths = write(folder, seed=7)
    train, test = synthetic.generate_splits(N_TRAIN, N_TEST, 7)
    return folder, paths, train, test


def write(folder, seed, n_train=N_TRAIN, n_test=N_TEST):
    paths = {name: folder / name for name in ("train.csv", "test.csv", "test_labels.csv", "masks.npz")}
    synthetic.write_all(n_train, n_test, seed, *paths.values())
    return paths


def test_same_seed_gives_byte_identical_files(generated, tmp_path):
    _, first, _, _ = generated
    second = write(tmp_path, seed=7)
    for name in first:
        assert first[name].read_bytes() == second[name].read_bytes(), name


def test_other_seed_gives_other_faces(generated, tmp_path):
    _, first, _, _ = generated
    other = write(tmp_path, seed=8)
    assert first["train.csv"].read_bytes() != other["train.csv"].read_bytes()


def test_training_set_does_not_depend_on_test_size():
    (x_a, y_a, _), _ = synthetic.generate_splits(200, 30, 3)
    (x_b, y_b, _), _ = synthetic.generate_splits(200, 90, 3)
    np.testing.assert_array_equal(x_a, x_b)
    np.testing.assert_array_equal(y_a, y_b)


def test_shapes_dtypes_and_label_range(generated):
    _, _, (x, y, m), (xt, yt, mt) = generated
    assert x.shape == (N_TRAIN, 48, 48) and x.dtype == np.uint8
    assert xt.shape == (N_TEST, 48, 48)
    assert y.dtype == np.int8 and y.min() == 0 and y.max() == 6
    assert m.shape == x.shape and mt.shape == xt.shape and m.dtype == np.uint8
    # Faces use the pixel range (not constant, not saturated).
    assert 20 < x.std() < 90


def test_files_in_label_feature_csv_format_round_trip(generated):
    folder, paths, (x, y, _), (xt, yt, _) = generated
    assert paths["train.csv"].read_text().startswith("label,feature\n")
    assert paths["test.csv"].read_text().startswith("id,feature\n")
    raw = readers.read("synthetic", paths["train.csv"], paths["test.csv"], paths["test_labels.csv"])
    np.testing.assert_array_equal(raw.x_train, x)
    np.testing.assert_array_equal(raw.y_train, y)
    np.testing.assert_array_equal(raw.x_test, xt)
    np.testing.assert_array_equal(raw.y_test, yt)
    np.testing.assert_array_equal(raw.test_ids, np.arange(N_TEST))


def test_masks_file_aligned_with_rows(generated):
    _, paths, (_, _, m), (_, _, mt) = generated
    with np.load(paths["masks.npz"]) as masks:
        assert sorted(masks.files) == ["test", "train"]
        np.testing.assert_array_equal(masks["train"], m)
        np.testing.assert_array_equal(masks["test"], mt)


def test_class_imbalance_follows_fer2013():
    counts = synthetic.class_counts(4000)
    assert counts.sum() == 4000
    fer = np.array(synthetic.FER2013_TRAIN_COUNTS)
    assert np.argmin(counts) == CLASS_NAMES.index("Disgust")
    assert np.argmax(counts) == CLASS_NAMES.index("Happy")
    np.testing.assert_allclose(counts / 4000, fer / fer.sum(), atol=1 / 4000)
    # Tiny sets still have every class.
    assert synthetic.class_counts(7).tolist() == [1] * 7
    assert synthetic.class_counts(70).min() == 1 and synthetic.class_counts(70).sum() == 70


def test_generated_labels_match_class_counts(generated):
    _, _, (_, y, _), (_, yt, _) = generated
    np.testing.assert_array_equal(np.bincount(y, minlength=7), synthetic.class_counts(N_TRAIN))
    np.testing.assert_array_equal(np.bincount(yt, minlength=7), synthetic.class_counts(N_TEST))


def test_every_face_has_all_three_cue_regions(generated):
    _, _, (x, _, m), _ = generated
    for bit in (synthetic.BROWS, synthetic.EYES, synthetic.MOUTH):
        assert ((m & bit) > 0).any(axis=(1, 2)).all(), bit
    # Only the three bits are used, and the cues cover a small part of the image.
    assert set(np.unique(m)) <= set(range(8))
    area = (m > 0).mean(axis=(1, 2))
    assert area.min() > 0.02 and area.max() < 0.3


def test_cue_regions_sit_inside_the_face_in_order(generated):
    _, _, (x, _, m), _ = generated
    rows = np.arange(48)[None, :, None]
    cols = np.arange(48)[None, None, :]

    def mean_coord(bit, coord):
        region = (m & bit) > 0
        return (region * coord).sum(axis=(1, 2)) / region.sum(axis=(1, 2))

    brow_y, eye_y, mouth_y = (mean_coord(b, rows) for b in (synthetic.BROWS, synthetic.EYES, synthetic.MOUTH))
    assert (brow_y < eye_y).all() and (eye_y < mouth_y).all()
    # Cues are near the middle of the image, never at its border.
    for bit in (synthetic.BROWS, synthetic.EYES, synthetic.MOUTH):
        assert np.all(np.abs(mean_coord(bit, cols) - 24) < 10)
    assert not (m[:, [0, -1], :].any() or m[:, :, [0, -1]].any())


def test_cues_carry_the_expression(generated):
    """The cue regions differ by class as designed: Surprise has the biggest
    eyes and mouth opening, Happy narrower eyes than Fear."""
    _, _, (_, y, m), _ = generated

    def area(bit, name):
        return ((m[y == CLASS_NAMES.index(name)] & bit) > 0).sum(axis=(1, 2)).mean()

    eyes = {name: area(synthetic.EYES, name) for name in CLASS_NAMES}
    mouth = {name: area(synthetic.MOUTH, name) for name in CLASS_NAMES}
    assert eyes["Surprise"] > eyes["Neutral"] > eyes["Happy"]
    assert eyes["Fear"] > eyes["Sad"]
    assert mouth["Surprise"] > mouth["Neutral"]


def test_pixels_to_text_round_trip():
    image = np.arange(48 * 48, dtype=np.int64).reshape(48, 48) % 256
    text = synthetic.pixels_to_text(image.astype(np.uint8))
    assert len(text.split(" ")) == 2304
    np.testing.assert_array_equal(np.array(text.split(" "), dtype=int).reshape(48, 48), image)
