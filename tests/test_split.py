"""The stratified split, duplicate handling, quality counts, class counts and sample grid."""

import io

import numpy as np
import pandas as pd
import pytest

from fer_workflow import CLASS_NAMES, data
from fer_workflow.data import choose
from fer_workflow.plots import samples as sample_plots

# FER2013-like imbalance in miniature.
LABELS = np.repeat(np.arange(7), [80, 9, 82, 144, 96, 63, 99]).astype(np.int8)


def test_split_is_disjoint_and_complete():
    train, val = data.stratified_split(LABELS, 0.1, seed=1)
    assert len(np.intersect1d(train, val)) == 0
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(len(LABELS)))
    assert np.all(np.diff(train) > 0) and np.all(np.diff(val) > 0)  # sorted row indices


@pytest.mark.parametrize("fraction", [0.1, 0.25])
def test_split_is_stratified(fraction):
    _, val = data.stratified_split(LABELS, fraction, seed=1)
    per_class = np.bincount(LABELS[val], minlength=7)
    expected = np.bincount(LABELS) * fraction
    assert np.all(np.abs(per_class - expected) <= 1)
    assert per_class.min() >= 1  # even the rare class is validated


def test_split_is_seeded_and_reproducible():
    a = data.stratified_split(LABELS, 0.2, seed=5)
    b = data.stratified_split(LABELS, 0.2, seed=5)
    c = data.stratified_split(LABELS, 0.2, seed=6)
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def test_split_keeps_singleton_class_in_training():
    labels = np.array([0, 0, 0, 0, 1])
    train, val = data.stratified_split(labels, 0.3, seed=0)
    assert 4 in train and len(val) == 1


def test_split_restricted_to_candidates():
    candidates = np.arange(0, len(LABELS), 2)
    train, val = data.stratified_split(LABELS, 0.1, seed=0, candidates=candidates)
    assert set(train) | set(val) == set(candidates)


def images_with_duplicates():
    """Ten distinct faces; rows 10, 11 copy row 0 (same label), row 12 copies
    row 1 with another label, row 13 is blank."""
    x = np.random.default_rng(0).integers(1, 256, (10, 48, 48), dtype=np.uint8)
    x = np.concatenate([x, x[[0, 0, 1]], np.zeros((1, 48, 48), np.uint8)])
    y = np.array([0, 1, 2, 3, 4, 5, 6, 0, 1, 2, 0, 0, 5, 3], np.int8)
    return x, y


def test_duplicate_groups_and_deduplicate():
    x, y = images_with_duplicates()
    groups = data.duplicate_groups(x)
    assert groups[[10, 11, 12]].tolist() == [0, 0, 1] and groups[5] == 5
    keep = data.deduplicate(x, y)
    # Copies 10, 11 go; the conflicting group {1, 12} goes whole.
    assert np.flatnonzero(~keep).tolist() == [1, 10, 11, 12]


def test_quality_counts():
    x, y = images_with_duplicates()
    x_test = np.stack([x[2], x[2], x[13], np.full((48, 48), 9, np.uint8)])
    counts = data.quality_counts(x, y, x_test)
    assert counts == {
        "near_duplicate_max_diff": 0,
        "train_images": 14,
        "train_duplicate_groups": 2,
        "train_duplicate_images": 5,
        # Threshold 0: the near-aware rows are the exact ones (tests/test_near_duplicates.py: above 0).
        "train_near_duplicate_groups": 2,
        "train_near_duplicate_images": 5,
        "train_conflicting_groups": 1,
        "train_conflicting_images": 2,
        "train_blank_images": 1,
        "test_images": 4,
        "test_duplicate_groups": 1,
        "test_duplicate_images": 2,
        "test_near_duplicate_groups": 1,
        "test_near_duplicate_images": 2,
        "test_blank_images": 1,
        "test_in_train": 3,
        "test_near_in_train": 3,
    }
    # With a threshold of 12 the all-9 test image is a copy of the blank ones.
    near = data.quality_counts(x, y, x_test, 12)
    assert near == {
        **counts,
        "near_duplicate_max_diff": 12,
        "test_near_duplicate_groups": 2,
        "test_near_duplicate_images": 4,
        "test_near_in_train": 4,
    }
    table = data.quality_table(counts)
    assert table.columns.tolist() == ["check", "count", "description"]
    assert table.set_index("check")["count"].to_dict() == counts


def test_quality_counts_without_test_set():
    x, y = images_with_duplicates()
    counts = data.quality_counts(x, y, x[:0])
    assert counts["test_images"] == 0 and counts["test_in_train"] == 0


def make(drop_duplicates=False, y_test=None, fraction=0.25):
    x, y = images_with_duplicates()
    x_test = x[:3]
    y_test = np.full(3, -1, np.int8) if y_test is None else np.asarray(y_test, np.int8)
    return x, y, data.make_dataset(x, y, x_test, y_test, np.arange(3), fraction, 0, drop_duplicates)


def test_make_dataset_rows_come_from_the_indices():
    x, y, (ds, dropped) = make()
    assert dropped == 0
    np.testing.assert_array_equal(ds.x_train, x[ds.train_index])
    np.testing.assert_array_equal(ds.y_val, y[ds.val_index])
    assert len(ds.train_index) + len(ds.val_index) == len(y)


def test_drop_duplicates_before_the_split():
    x, y, (ds, dropped) = make(drop_duplicates=True, fraction=0.3)
    assert dropped == 4
    used = np.concatenate([ds.train_index, ds.val_index])
    assert set(used) == set(range(14)) - {1, 10, 11, 12}
    # No image appears twice, so none straddles train and validation.
    both = np.concatenate([ds.x_train, ds.x_val]).reshape(len(used), -1)
    assert len(np.unique(both, axis=0)) == len(used)


def test_class_count_table_without_and_with_test_labels():
    _, _, (ds, _) = make()
    table = data.class_count_table(ds)
    assert table.columns.tolist() == ["label", "name", "train", "validation", "test"]
    assert table["name"].tolist() == list(CLASS_NAMES)
    assert table["train"].sum() == len(ds.y_train) and table["validation"].sum() == len(ds.y_val)
    csv = table.to_csv(index=False)
    assert csv.splitlines()[1] == f"0,Angry,{table['train'][0]},{table['validation'][0]},"  # empty test
    _, _, (ds, _) = make(y_test=[0, 6, 6])
    back = pd.read_csv(io.StringIO(data.class_count_table(ds).to_csv(index=False)))
    assert back["test"].tolist() == [1, 0, 0, 0, 0, 0, 2]


def test_dataset_save_load_round_trip(tmp_path):
    _, _, (ds, _) = make()
    data.save(ds, tmp_path / "dataset.npz")
    back = data.load(tmp_path / "dataset.npz")
    for name in ("x_train", "y_train", "x_val", "y_val", "x_test", "test_ids", "train_index", "val_index"):
        np.testing.assert_array_equal(getattr(back, name), getattr(ds, name))


def test_sample_grid_rows_per_class_reproducible():
    x = np.random.default_rng(0).integers(0, 256, (len(LABELS), 48, 48), dtype=np.uint8)
    picks = choose.per_class(LABELS, 4, seed=3)
    assert [len(p) for p in picks] == [4] * 7
    assert all((LABELS[p] == c).all() for c, p in enumerate(picks))
    again = choose.per_class(LABELS, 4, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(picks, again, strict=True))
    fig = sample_plots.sample_grid(x, LABELS, per_class=4, seed=3)
    axes = np.array(fig.axes).reshape(7, 4)
    assert [ax.get_ylabel().split("\n")[0] for ax in axes[:, 0]] == list(CLASS_NAMES)
    assert all(len(ax.images) == 1 for ax in axes.ravel())


def test_sample_grid_with_few_images_of_a_class():
    labels = np.array([0, 1, 1, 2, 3, 4, 5, 6, 6, 6])
    x = np.zeros((10, 48, 48), np.uint8)
    fig = sample_plots.sample_grid(x, labels, per_class=3, seed=0)
    axes = np.array(fig.axes).reshape(7, 3)
    assert [sum(len(ax.images) for ax in row) for row in axes] == [1, 2, 1, 1, 1, 1, 3]


def grouped_labels(seed=0):
    """FER2013-like labels with duplicate groups of 2-4 rows, one of them
    with conflicting labels, as group ids per row."""
    rng = np.random.default_rng(seed)
    labels = LABELS.copy()
    groups = np.arange(len(labels))
    starts = rng.choice(len(labels) - 4, 40, replace=False)
    for s in starts:
        size = int(rng.integers(2, 5))
        groups[s : s + size] = groups[s]
        labels[s : s + size] = labels[s]
    # One conflicting-label group: rows 0 (Angry), 1 (Angry) and the last row (Neutral).
    groups[[0, 1, len(labels) - 1]] = 0
    return labels, groups


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
@pytest.mark.parametrize("fraction", [0.1, 0.25])
def test_grouped_split_keeps_each_group_on_one_side(seed, fraction):
    labels, groups = grouped_labels(seed)
    train, val = data.stratified_split(labels, fraction, seed=seed, groups=groups)
    assert set(groups[train]).isdisjoint(groups[val])  # no group straddles, conflicting one included
    np.testing.assert_array_equal(np.sort(np.concatenate([train, val])), np.arange(len(labels)))
    per_class = np.bincount(labels[val], minlength=7)
    assert np.all(np.abs(per_class - np.bincount(labels) * fraction) <= 1)


def test_grouped_split_conflicting_group_goes_to_validation_whole():
    # Two classes of singletons plus one conflicting group {0: A, 1: B}; with
    # enough seeds the group lands in validation at least once, always whole.
    labels = np.array([0, 1] + [0] * 20 + [1] * 20)
    groups = np.arange(len(labels))
    groups[1] = 0
    sides = set()
    for seed in range(30):
        train, val = data.stratified_split(labels, 0.2, seed=seed, groups=groups)
        sides.add((0 in val, 1 in val))
    assert sides == {(False, False), (True, True)}


def test_make_dataset_split_is_leak_free():
    x, y, (ds, _) = make(fraction=0.5)
    counts = data.split_quality_counts(ds, 0, x, y)
    assert counts["val_in_train"] == counts["val_near_in_train"] == 0
    assert data.copies_in(ds.x_val, ds.x_train).sum() == 0
    # Rows 0, 10, 11 are copies: all on one side.
    assert len({0, 10, 11} & set(ds.val_index)) in (0, 3)
    assert counts["test_in_train_split"] == data.copies_in(ds.x_test, ds.x_train).sum()
    table = data.quality_table({**data.quality_counts(x, y, x[:3]), **counts})
    assert table.set_index("check").loc["val_in_train", "count"] == 0
    assert list(table["check"][-len(data.SPLIT_CHECKS) :]) == list(data.SPLIT_CHECKS)


def test_copies_in():
    x, _ = images_with_duplicates()
    np.testing.assert_array_equal(data.copies_in(x[[0, 1, 2]], x[[10, 12]]), [True, True, False])
