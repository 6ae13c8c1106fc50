"""Near-duplicate faces: copies whose pixels differ by a few gray levels are
grouped like exact copies (chains joined), distinct faces are not, the
search misses no pair at the threshold, and the split, the quality counts and
the seen-test mask use the groups."""

import numpy as np
import pytest

from fer_workflow import data
from fer_workflow.data import near_duplicates, synthetic

MAX_DIFF = 12


@pytest.fixture(scope="module")
def faces():
    """Forty distinct synthetic faces (their nearest neighbours differ by far more than 12 levels)."""
    images, labels, _ = synthetic.generate(40, np.random.default_rng(3))
    flat = images.reshape(40, -1).astype(np.int16)
    assert min(np.abs(flat[a] - flat[b]).max() for a in range(40) for b in range(a)) > 2 * MAX_DIFF
    return images, labels


def noisy_copy(image, k, rng):
    """``image`` with independent -k..k gray-level noise on every pixel, clipped to 0..255."""
    noise = rng.integers(-k, k + 1, image.shape)
    return np.clip(image.astype(np.int16) + noise, 0, 255).astype(np.uint8)


def brute_force_pairs(images, max_diff):
    flat = images.reshape(len(images), -1).astype(np.int16)
    diff = np.abs(flat[:, None] - flat[None]).max(axis=2)
    i, j = np.nonzero(np.triu(diff <= max_diff, k=1))
    return set(zip(i.tolist(), j.tolist(), strict=True))


@pytest.mark.parametrize("k", [1, 5, 12])
def test_noisy_copies_are_grouped_distinct_faces_are_not(faces, k):
    images, _ = faces
    rng = np.random.default_rng(k)
    # Faces 40.. are noisy copies of faces 0, 0, 7 and 21.
    x = np.concatenate([images, [noisy_copy(images[s], k, rng) for s in (0, 0, 7, 21)]])
    groups = data.duplicate_groups(x, MAX_DIFF)
    assert groups[40:].tolist() == [0, 0, 7, 21]
    assert groups[:40].tolist() == list(range(40))  # no two distinct faces joined
    # Exact grouping still tells the copies apart.
    assert data.duplicate_groups(x)[40:].tolist() == [40, 41, 42, 43]


def test_search_finds_exactly_the_brute_force_pairs(faces):
    images, _ = faces
    rng = np.random.default_rng(0)
    x = np.concatenate([images[:20], [noisy_copy(images[s], 4 * (s % 5), rng) for s in range(12)]])
    for max_diff in (0, 3, 12, 20):
        i, j = near_duplicates.pairs(x, max_diff)
        assert set(zip(i.tolist(), j.tolist(), strict=True)) == brute_force_pairs(x, max_diff), max_diff


def test_the_12_level_rule_at_the_boundary(faces):
    images, _ = faces
    face = np.minimum(images[5], 255 - MAX_DIFF)
    # Every pixel exactly 12 levels brighter: block sums differ by exactly the
    # bound at every stage, so an off-by-one there would lose the pair.
    x = np.stack([face, face + MAX_DIFF, face + MAX_DIFF])
    x[2, 30, 17] += 1  # 13 levels at one pixel
    assert data.duplicate_groups(x, MAX_DIFF).tolist() == [0, 0, 0]  # 2 joins through 1
    assert data.copies_in(x[1:], x[:1], MAX_DIFF).tolist() == [True, False]
    assert data.copies_in(x[1:], x[:1], MAX_DIFF + 1).tolist() == [True, True]
    assert data.duplicate_groups(x[[0, 2]], MAX_DIFF).tolist() == [0, 1]


def test_chains_join_one_group_copies_in_is_direct(faces):
    images, _ = faces
    face = np.clip(images[9], 30, 225)
    # 0 -> 1 -> 2 -> 3, each 10 levels brighter than the last: 0 and 3 differ by 30.
    chain = np.stack([face + 10 * step for step in range(4)]).astype(np.uint8)
    x = np.concatenate([images[:3], chain[[2, 0, 3, 1]]])
    assert data.duplicate_groups(x, MAX_DIFF).tolist() == [0, 1, 2, 3, 3, 3, 3]
    assert data.copies_in(chain, chain[:1], MAX_DIFF).tolist() == [True, True, False, False]


def test_groups_from_pairs_uses_the_first_row_as_id():
    groups = near_duplicates.groups_from_pairs(6, np.array([4, 1, 3]), np.array([5, 4, 2]))
    assert groups.tolist() == [0, 1, 2, 2, 1, 1]
    assert near_duplicates.groups_from_pairs(0, np.zeros(0, int), np.zeros(0, int)).tolist() == []


def test_empty_and_single_inputs():
    one = np.zeros((1, 48, 48), np.uint8)
    none = one[:0]
    assert data.duplicate_groups(none, MAX_DIFF).tolist() == []
    assert data.duplicate_groups(one, MAX_DIFF).tolist() == [0]
    assert data.copies_in(one, none, MAX_DIFF).tolist() == [False]
    assert data.copies_in(none, one, MAX_DIFF).tolist() == []


@pytest.mark.parametrize("bad", [-1, 256, 2.5])
def test_a_bad_threshold_is_refused(bad):
    with pytest.raises(ValueError, match="max_diff"):
        near_duplicates.pairs(np.zeros((2, 48, 48), np.uint8), bad)


def test_nearest_distances(faces):
    images, _ = faces
    x = np.stack(
        [images[0], images[0], np.clip(images[1], 0, 250), np.clip(images[1], 0, 250) + 5, images[2]]
    )
    assert near_duplicates.nearest_distances(x, cap=20).tolist() == [0, 0, 5, 5, 21]


def faces_with_near_copies(faces):
    """The 40 faces (train), then near copies of 0 (twice, one of them
    exact), 1 (another label: conflicting), 2 and a chain off 3; test: near copies
    of 4 and 5, an exact copy of 6 and a face not in train."""
    images, labels = faces
    rng = np.random.default_rng(7)
    near = [noisy_copy(images[s], 8, rng) for s in (0, 1, 2, 3)]
    link = np.clip(near[3].astype(np.int16) + 8, 0, 255).astype(np.uint8)  # 16 from face 3, 8 from its copy
    x = np.concatenate([images, near, [images[0], link]])
    y = np.concatenate([labels, labels[[0, 1, 2, 3]], labels[[0, 3]]])
    y[41] = (labels[1] + 1) % 7
    x_test = np.stack([noisy_copy(images[4], 12, rng), noisy_copy(images[5], 3, rng), images[6]])
    x_test = np.concatenate([x_test, x_test[:1], synthetic.generate(1, np.random.default_rng(99))[0]])
    return x, y, x_test


def test_quality_counts_exact_and_near_apart(faces):
    x, y, x_test = faces_with_near_copies(faces)
    counts = data.quality_counts(x, y, x_test, MAX_DIFF)
    assert counts == {
        "near_duplicate_max_diff": MAX_DIFF,
        "train_images": 46,
        "train_duplicate_groups": 1,  # face 0 and row 44
        "train_duplicate_images": 2,
        "train_near_duplicate_groups": 4,  # {0, 40, 44}, {1, 41}, {2, 42}, {3, 43, 45}
        "train_near_duplicate_images": 10,
        "train_conflicting_groups": 1,
        "train_conflicting_images": 2,
        "train_blank_images": 0,
        "test_images": 5,
        "test_duplicate_groups": 1,
        "test_duplicate_images": 2,
        "test_near_duplicate_groups": 1,
        "test_near_duplicate_images": 2,
        "test_blank_images": 0,
        "test_in_train": 1,
        "test_near_in_train": 4,
    }
    # Threshold 0: the near rows are the exact ones.
    exact = data.quality_counts(x, y, x_test, 0)
    assert exact["train_near_duplicate_images"] == exact["train_duplicate_images"] == 2
    assert exact["test_near_in_train"] == exact["test_in_train"] == 1
    table = data.quality_table(counts)
    assert table["check"].tolist() == list(counts)
    assert all(table["description"].str.len() > 10)


@pytest.mark.parametrize("seed", range(6))
def test_split_keeps_near_groups_whole_and_val_near_in_train_is_0(faces, seed):
    x, y, x_test = faces_with_near_copies(faces)
    ds, dropped = data.make_dataset(
        x, y, x_test, np.full(len(x_test), -1, np.int8), np.arange(len(x_test)), 0.4, seed, max_diff=MAX_DIFF
    )
    for group in ({0, 40, 44}, {1, 41}, {2, 42}, {3, 43, 45}):
        assert len(group & set(ds.val_index.tolist())) in (0, len(group))
    counts = data.split_quality_counts(ds, dropped, x, y, MAX_DIFF)
    assert counts["val_in_train"] == counts["val_near_in_train"] == 0
    assert counts["val_near_in_train"] == data.copies_in(ds.x_val, ds.x_train, MAX_DIFF).sum()
    assert counts["test_near_in_train_split"] == data.copies_in(ds.x_test, ds.x_train, MAX_DIFF).sum()
    assert counts["test_near_in_train_split"] >= counts["test_in_train_split"]


def test_exact_split_can_leak_near_copies(faces):
    """Without the threshold the near copies may straddle the split: what the key fixes."""
    x, y, x_test = faces_with_near_copies(faces)
    leaks = []
    for seed in range(10):
        ds, _ = data.make_dataset(x, y, x_test, np.full(5, -1, np.int8), np.arange(5), 0.4, seed)
        leaks.append(data.split_quality_counts(ds, 0, x, y, MAX_DIFF)["val_near_in_train"])
    assert max(leaks) > 0


def test_drop_duplicates_drops_near_copies(faces):
    x, y, x_test = faces_with_near_copies(faces)
    keep = data.deduplicate(x, y, MAX_DIFF)
    # First of each group kept; the conflicting group {1, 41} dropped whole.
    assert np.flatnonzero(~keep).tolist() == [1, 40, 41, 42, 43, 44, 45]
    ds, dropped = data.make_dataset(
        x, y, x_test, np.full(5, -1, np.int8), np.arange(5), 0.3, 0, drop_duplicates=True, max_diff=MAX_DIFF
    )
    assert dropped == 7
    kept = np.concatenate([ds.x_train, ds.x_val])
    assert (
        data.quality_counts(kept, np.concatenate([ds.y_train, ds.y_val]), kept[:0], MAX_DIFF)[
            "train_near_duplicate_groups"
        ]
        == 0
    )
