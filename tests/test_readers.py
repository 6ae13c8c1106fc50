"""Readers for every input format, including the real FER2013 files when present."""

import gzip

import numpy as np
import pytest
import yaml
from PIL import Image

from conftest import FER2013, REPO, WHERE
from fer_workflow import data
from fer_workflow.data import readers

SCHEMA = yaml.safe_load((REPO / "config.schema.yaml").read_text())
SCHEMA_FORMATS = SCHEMA["properties"]["data"]["properties"]["format"]["enum"]


def faces(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, 48, 48), dtype=np.uint8)


def feature(image):
    return " ".join(str(v) for v in image.ravel())


def write_text(path, text):
    if str(path).endswith(".gz"):
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_label_feature_train(path, images, labels):
    rows = "".join(f"{y},{feature(x)}\n" for x, y in zip(images, labels, strict=True))
    return write_text(path, "label,feature\n" + rows)


def write_label_feature_test(path, images, ids):
    rows = "".join(f"{i},{feature(x)}\n" for x, i in zip(images, ids, strict=True))
    return write_text(path, "id,feature\n" + rows)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_label_feature_csv_plain_and_gzipped(tmp_path, suffix):
    x, y = faces(12), np.arange(12) % 7
    xt, ids = faces(5, seed=1), np.array([10, 11, 12, 13, 14])
    train = write_label_feature_train(tmp_path / f"train{suffix}", x, y)
    test = write_label_feature_test(tmp_path / f"test{suffix}", xt, ids)
    raw = readers.read("label_feature_csv", train, test)
    np.testing.assert_array_equal(raw.x_train, x)
    np.testing.assert_array_equal(raw.y_train, y)
    np.testing.assert_array_equal(raw.x_test, xt)
    np.testing.assert_array_equal(raw.test_ids, ids)
    assert raw.y_test.tolist() == [-1] * 5  # no labels given
    assert raw.x_train.dtype == np.uint8 and raw.y_train.dtype == np.int8 and raw.test_ids.dtype == np.int64


def test_hw3_is_an_alias_of_label_feature_csv(tmp_path):
    train = write_label_feature_train(tmp_path / "train.csv", faces(6), np.arange(6) % 7)
    test = write_label_feature_test(tmp_path / "test.csv", faces(3, 1), [4, 5, 6])
    labels = write_text(tmp_path / "labels.csv", "id,label\n4,0\n5,2\n6,6\n")
    new = readers.read("label_feature_csv", train, test, labels)
    old = readers.read("hw3", train, test, labels)
    assert len(old.x_train) == 6 and len(old.test_ids) == 3
    for name in ("x_train", "y_train", "x_test", "y_test", "test_ids"):
        np.testing.assert_array_equal(getattr(old, name), getattr(new, name))
    assert readers.canonical_format("hw3") == "label_feature_csv"
    assert set(readers.FORMATS) | set(readers.FORMAT_ALIASES) == set(SCHEMA_FORMATS)


def test_gzip_recognised_by_content_not_name(tmp_path):
    x, y = faces(3), np.array([0, 1, 2])
    plain = write_label_feature_train(tmp_path / "train.csv", x, y)
    disguised = tmp_path / "train_gz.csv"
    disguised.write_bytes(gzip.compress(plain.read_bytes()))
    np.testing.assert_array_equal(readers.read_label_feature_train(disguised)[0], x)


def test_label_feature_csv_without_test_file(tmp_path):
    train = write_label_feature_train(tmp_path / "train.csv", faces(4), [0, 1, 2, 3])
    raw = readers.read("label_feature_csv", train)
    assert raw.x_test.shape == (0, 48, 48) and raw.test_ids.shape == (0,)


def test_test_labels_aligned_by_id(tmp_path):
    train = write_label_feature_train(tmp_path / "train.csv", faces(4), [0, 1, 2, 3])
    test = write_label_feature_test(tmp_path / "test.csv", faces(3, 1), [5, 6, 7])
    labels = write_text(tmp_path / "labels.csv", "id,label\n7,3\n5,1\n6,6\n")  # other order
    raw = readers.read("label_feature_csv", train, test, labels)
    assert raw.y_test.tolist() == [1, 6, 3]


def test_windows_line_endings_quotes_bom_and_extra_columns(tmp_path):
    x = faces(2)
    text = "\ufefflabel,feature,Usage\r\n" + "".join(
        f'{y},"{feature(img)}",Training\r\n' for img, y in zip(x, [4, 5], strict=True)
    )
    path = tmp_path / "train.csv"
    path.write_bytes(text.encode("utf-8"))
    images, labels = readers.read_label_feature_train(path)
    np.testing.assert_array_equal(images, x)
    assert labels.tolist() == [4, 5]


def test_fer2013_usage_splits(tmp_path):
    x = faces(6)
    usage = ["Training", "PublicTest", "Training", "PrivateTest", "Training", "PublicTest"]
    emotion = [3, 0, 6, 2, 1, 5]
    rows = "".join(f"{e},{feature(img)},{u}\n" for e, img, u in zip(emotion, x, usage, strict=True))
    path = write_text(tmp_path / "fer2013.csv.gz", "emotion,pixels,Usage\n" + rows)
    raw = readers.read("fer2013", path)
    train, test = [0, 2, 4], [1, 3, 5]
    np.testing.assert_array_equal(raw.x_train, x[train])
    assert raw.y_train.tolist() == [3, 6, 1]
    np.testing.assert_array_equal(raw.x_test, x[test])
    assert raw.y_test.tolist() == [0, 2, 5]  # test labels known
    assert raw.test_ids.tolist() == [0, 1, 2]  # file order


def save_image(path, array, mode="L"):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(array)
    if mode != "L":
        image = image.convert(mode)
    image.save(path)
    return path


def smooth_faces(n):
    """Smooth images, so that JPEG keeps them close to the original."""
    yy, xx = np.mgrid[0:48, 0:48]
    return np.stack([((xx * (k + 1) + yy * 2) % 200 + 20).astype(np.uint8) for k in range(n)])


def test_folder_png_and_jpg_case_insensitive_classes(tmp_path):
    x = smooth_faces(4)
    save_image(tmp_path / "train" / "happy" / "b.png", x[0])
    save_image(tmp_path / "train" / "happy" / "a.PNG", x[1])
    save_image(tmp_path / "train" / "ANGRY" / "c.jpg", x[2])
    save_image(tmp_path / "train" / "Sad" / "d.jpeg", x[3], mode="RGB")  # colour -> gray
    (tmp_path / "train" / "Sad" / "notes.txt").write_text("not an image")  # ignored
    save_image(tmp_path / "test" / "surprise" / "e.png", x[0])
    raw = readers.read("folder", tmp_path / "train", tmp_path / "test")
    # Sorted by label, then file name: Angry c, Happy a, Happy b, Sad d.
    assert raw.y_train.tolist() == [0, 3, 3, 4]
    np.testing.assert_array_equal(raw.x_train[1], x[1])
    np.testing.assert_array_equal(raw.x_train[2], x[0])
    for got, want in ((raw.x_train[0], x[2]), (raw.x_train[3], x[3])):  # JPEG is lossy
        assert np.abs(got.astype(int) - want).mean() < 4
    assert raw.y_test.tolist() == [5] and raw.test_ids.tolist() == [0]
    np.testing.assert_array_equal(raw.x_test[0], x[0])


def test_folder_unlabelled_test_images(tmp_path):
    x = smooth_faces(3)
    save_image(tmp_path / "train" / "neutral" / "a.png", x[0])
    save_image(tmp_path / "test" / "b.png", x[1])
    save_image(tmp_path / "test" / "c.png", x[2])
    raw = readers.read("folder", tmp_path / "train", tmp_path / "test")
    assert raw.y_test.tolist() == [-1, -1]
    np.testing.assert_array_equal(raw.x_test, x[1:])


def test_raw_save_load_round_trip(tmp_path):
    raw = readers.Raw(
        faces(3), np.array([0, 1, 2], np.int8), faces(2), np.array([-1, -1], np.int8), np.arange(2)
    )
    raw.save(tmp_path / "raw.npz")
    back = readers.Raw.load(tmp_path / "raw.npz")
    for name in ("x_train", "y_train", "x_test", "y_test", "test_ids"):
        np.testing.assert_array_equal(getattr(back, name), getattr(raw, name))
    with np.load(tmp_path / "raw.npz") as npz:
        assert sorted(npz.files) == ["test_ids", "x_test", "x_train", "y_test", "y_train"]


# ---- the real FER2013 files ----------------------------------------------------

REAL_TRAIN = FER2013 / "train.csv.gz" if FER2013 else None
REAL_TEST = FER2013 / "test.csv.gz" if FER2013 else None
needs_real = pytest.mark.skipif(
    not (FER2013 and REAL_TEST.exists()),
    reason=f"real FER2013 files (train.csv.gz, test.csv.gz) not found in {WHERE.format('fer2013')}",
)


@pytest.fixture(scope="module")
def real():
    """The real files, read once (a few seconds)."""
    return readers.read("label_feature_csv", REAL_TRAIN, REAL_TEST)


@needs_real
def test_real_fer2013_files_load(real):
    assert real.x_train.shape == (28709, 48, 48)
    assert np.bincount(real.y_train).tolist() == [3995, 436, 4097, 7215, 4830, 3171, 4965]
    assert real.x_test.shape == (7178, 48, 48)
    assert real.test_ids.tolist() == list(range(7178))
    assert (real.y_test == -1).all()
    # First pixels of the first rows, as in the files.
    assert real.x_train[0, 0, :3].tolist() == [70, 80, 82]
    assert real.x_test[0, 0, :3].tolist() == [254, 254, 254]


# The default threshold (config.yaml data.near_duplicate_max_diff; docs/fer2013/near_duplicates.md).
MAX_DIFF = 32


@needs_real
def test_real_fer2013_quality_counts_match_its_readme(real):
    counts = data.quality_counts(real.x_train, real.y_train, real.x_test, MAX_DIFF)
    assert counts == {
        "near_duplicate_max_diff": MAX_DIFF,
        "train_images": 28709,
        "train_duplicate_groups": 1033,
        "train_duplicate_images": 2267,
        "train_near_duplicate_groups": 1070,
        "train_near_duplicate_images": 2366,
        "train_conflicting_groups": 48,
        "train_conflicting_images": 131,
        "train_blank_images": 11,
        "test_images": 7178,
        "test_duplicate_groups": 81,
        "test_duplicate_images": 167,
        "test_near_duplicate_groups": 87,
        "test_near_duplicate_images": 180,
        "test_blank_images": 1,
        "test_in_train": 568,
        "test_near_in_train": 597,
    }
    # With exact copies only, 39 groups (107 rows) have conflicting labels.
    exact = data.quality_counts(real.x_train, real.y_train, real.x_test[:0])
    assert (exact["train_conflicting_groups"], exact["train_conflicting_images"]) == (39, 107)


@needs_real
@pytest.mark.parametrize(
    "max_diff, groups, images, conflicting", [(0, 1033, 2267, 39), (MAX_DIFF, 1070, 2366, 48)]
)
def test_real_fer2013_drop_duplicates(real, max_diff, groups, images, conflicting):
    dataset, dropped = data.make_dataset(
        real.x_train,
        real.y_train,
        real.x_test,
        real.y_test,
        real.test_ids,
        0.1,
        0,
        drop_duplicates=True,
        max_diff=max_diff,
    )
    # The groups without conflict keep one row each (exact: 2267 rows in 1033 groups, 1273 dropped).
    assert dropped == images - (groups - conflicting)
    assert len(dataset.train_index) + len(dataset.val_index) == 28709 - dropped
    kept = np.concatenate([dataset.x_train, dataset.x_val]).reshape(-1, 2304)
    labels = np.concatenate([dataset.y_train, dataset.y_val])
    assert data.quality_counts(kept, labels, kept[:0], max_diff)["train_near_duplicate_groups"] == 0
    # Blank images are all identical: one group; it is kept once if its labels agree.
    assert (kept.max(axis=1) == 0).sum() <= 1


@needs_real
def test_real_fer2013_split_is_leak_free(real):
    dataset, _ = data.make_dataset(
        real.x_train, real.y_train, real.x_test, real.y_test, real.test_ids, 0.1, 42, max_diff=MAX_DIFF
    )
    counts = data.split_quality_counts(dataset, 0, real.x_train, real.y_train, MAX_DIFF)
    assert counts["val_in_train"] == 0  # was 216 of 2,872 with the per-image split
    assert counts["val_near_in_train"] == 0  # 18 with the exact-copy split of the same seed
    assert counts["val_images"] == len(dataset.y_val)
    per_class = np.bincount(dataset.y_val, minlength=7)
    assert np.all(np.abs(per_class - np.bincount(real.y_train, minlength=7) * 0.1) <= 1)
