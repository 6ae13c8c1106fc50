"""The prepared data set: one compact ``.npz`` file with every split.

Images are ``uint8`` arrays of shape (n, 48, 48); labels are ``int8`` in
FER2013 order (see ``fer_workflow.CLASS_NAMES``), -1 where unknown (test
images without labels). ``train_index`` / ``val_index`` give each image's
row in the original training file (0-based), so per-image side data such as
the synthetic cue masks can be looked up. ``votes_train`` / ``votes_val`` /
``votes_test`` hold the FER+ votes of those faces (``fer_workflow.data.votes``;
(0, 10) without votes, and in a file written before votes existed).
"""

from dataclasses import dataclass, field, fields

import numpy as np
import pandas as pd

from fer_workflow import CLASS_NAMES, NUM_CLASSES, NUM_PIXELS, arrays
from fer_workflow.data import near_duplicates

# Split name (config, tables) -> the key in the arrays' names (x_val, val_probs).
SPLITS = {"train": "train", "validation": "val", "test": "test"}


@dataclass
class Dataset:
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    test_ids: np.ndarray
    train_index: np.ndarray
    val_index: np.ndarray
    # FER+ votes of each face, int32 (n, 10) in FER+ column order; (0, 10) without votes.
    votes_train: np.ndarray = field(default_factory=lambda: np.zeros((0, 10), np.int32))
    votes_val: np.ndarray = field(default_factory=lambda: np.zeros((0, 10), np.int32))
    votes_test: np.ndarray = field(default_factory=lambda: np.zeros((0, 10), np.int32))

    @property
    def has_test_labels(self):
        return len(self.y_test) > 0 and bool(np.all(self.y_test >= 0))

    def split(self, name):
        """Images and labels of one split: ``train``, ``validation`` or ``test``."""
        key = SPLITS[name]
        return getattr(self, f"x_{key}"), getattr(self, f"y_{key}")


def save(dataset, path):
    """Write a Dataset to ``path`` (npz). Not compressed: face pixels shrink only
    ~5% while compressing the FER2013 arrays takes ~5 s. Empty votes are left out."""
    stored = {f.name: getattr(dataset, f.name) for f in fields(Dataset)}
    stored = {k: v for k, v in stored.items() if len(v) or k not in OPTIONAL_ARRAYS}
    arrays.save(path, stored, compressed=False)


OPTIONAL_ARRAYS = ("votes_train", "votes_val", "votes_test")


def load(path):
    """Read a Dataset written by ``save`` (one without votes gets empty votes)."""
    names = [f.name for f in fields(Dataset) if f.name not in OPTIONAL_ARRAYS]
    return Dataset(**arrays.load(path, names, optional=OPTIONAL_ARRAYS))


def as_model_input(images):
    """uint8 (n, 48, 48) images to the float32 (n, 48, 48, 1) tensor the models take.

    Pixel values stay in 0..255: each model starts with a Rescaling layer, so
    a saved model takes raw pixels.
    """
    return np.asarray(images, dtype=np.float32)[..., None]


# ---- data quality ------------------------------------------------------------


def duplicate_groups(images, max_diff=0):
    """For each image, the index of the first image of its duplicate group.

    ``max_diff`` 0: exact copies (identical pixels; the raw bytes are the
    dictionary key, linear time). Above 0: near copies too, faces whose
    pixels all differ by at most ``max_diff`` gray levels, chains joined into
    one group (``near_duplicates.groups``).
    """
    if max_diff:
        return near_duplicates.groups(images, max_diff)
    first = {}
    flat = np.ascontiguousarray(images).reshape(len(images), NUM_PIXELS)
    return np.array([first.setdefault(row.tobytes(), i) for i, row in enumerate(flat)], dtype=np.int64)


def _duplicate_summary(groups):
    """(number of groups with more than one image, number of images in them)."""
    sizes = np.bincount(groups, minlength=len(groups))
    return int((sizes > 1).sum()), int(sizes[sizes > 1].sum())


def conflicting_groups(groups, labels):
    """Mask over group ids (first-image indices) whose images carry more than one label."""
    lowest = np.full(len(groups), 127, np.int16)
    highest = np.full(len(groups), -128, np.int16)
    np.minimum.at(lowest, groups, labels)
    np.maximum.at(highest, groups, labels)
    return highest > lowest


# Rows of data_quality.csv: check name -> what it counts. "Within the
# threshold" means every pixel within near_duplicate_max_diff gray levels;
# the near_* rows include exact copies (with the threshold 0 they equal the exact rows).
QUALITY_CHECKS = {
    "near_duplicate_max_diff": (
        "the threshold (data.near_duplicate_max_diff, gray levels): two faces whose pixels all differ "
        "by at most this much are copies; 0: only pixel-identical faces"
    ),
    "train_images": "training images",
    "train_duplicate_groups": "groups of pixel-identical training images (size > 1)",
    "train_duplicate_images": "training images in those groups",
    "train_near_duplicate_groups": (
        "groups of training images joined by copies within the threshold, chains included (size > 1; "
        "exact copies included): the groups the split keeps on one side"
    ),
    "train_near_duplicate_images": "training images in those groups",
    "train_conflicting_groups": "near-duplicate groups whose images carry different labels",
    "train_conflicting_images": "training images in conflicting groups",
    "train_blank_images": "all-black training images",
    "test_images": "test images",
    "test_duplicate_groups": "groups of pixel-identical test images (size > 1)",
    "test_duplicate_images": "test images in those groups",
    "test_near_duplicate_groups": "groups of test images joined by copies within the threshold (size > 1)",
    "test_near_duplicate_images": "test images in those groups",
    "test_blank_images": "all-black test images",
    "test_in_train": "test images pixel-identical to a training image",
    "test_near_in_train": (
        "test images with a training image within the threshold (the seen faces that "
        "test_unseen_accuracy leaves out)"
    ),
}


def quality_counts(x_train, y_train, x_test, max_diff=0):
    """Counts of duplicates, conflicting labels, blank images and train/test overlap.

    Exact copies and near copies (every pixel within ``max_diff`` gray
    levels) are counted apart. Nothing is dropped here; the counts are
    reported so that the user sees them.
    """
    groups = duplicate_groups(x_train)
    near = duplicate_groups(x_train, max_diff)
    conflict = conflicting_groups(near, y_train)
    flat_test = np.ascontiguousarray(x_test).reshape(len(x_test), NUM_PIXELS)
    counts = {"near_duplicate_max_diff": int(max_diff), "train_images": len(x_train)}
    counts["train_duplicate_groups"], counts["train_duplicate_images"] = _duplicate_summary(groups)
    counts["train_near_duplicate_groups"], counts["train_near_duplicate_images"] = _duplicate_summary(near)
    counts["train_conflicting_groups"] = int(conflict.sum())
    counts["train_conflicting_images"] = int(conflict[near].sum())
    counts["train_blank_images"] = int(
        (x_train.reshape(len(x_train), NUM_PIXELS).max(axis=1, initial=0) == 0).sum()
    )
    counts["test_images"] = len(x_test)
    counts["test_duplicate_groups"], counts["test_duplicate_images"] = _duplicate_summary(
        duplicate_groups(x_test)
    )
    counts["test_near_duplicate_groups"], counts["test_near_duplicate_images"] = _duplicate_summary(
        duplicate_groups(x_test, max_diff)
    )
    counts["test_blank_images"] = int((flat_test.max(axis=1, initial=0) == 0).sum())
    counts["test_in_train"] = int(copies_in(x_test, x_train).sum())
    counts["test_near_in_train"] = int(copies_in(x_test, x_train, max_diff).sum())
    return counts


def quality_table(counts):
    """The counts as the ``data_quality.csv`` table: check, count, description."""
    checks = {**QUALITY_CHECKS, **SPLIT_CHECKS}
    names = [name for name in checks if name in counts]
    return pd.DataFrame(
        {"check": names, "count": [counts[n] for n in names], "description": [checks[n] for n in names]}
    )


def deduplicate(images, labels, max_diff=0):
    """Rows to keep when dropping duplicates from training data.

    Groups are ``duplicate_groups(images, max_diff)``: exact copies, and
    near copies when ``max_diff`` > 0. Keeps the first image of each group; a
    group whose images carry different labels is dropped entirely (no label
    can be trusted). Returns a boolean mask over the rows.
    """
    groups = duplicate_groups(images, max_diff)
    conflict = conflicting_groups(groups, labels)
    return (groups == np.arange(len(groups))) & ~conflict[groups]


# ---- split -------------------------------------------------------------------


def stratified_split(labels, fraction, seed, candidates=None, groups=None):
    """Split row indices into training and validation, stratified by class.

    Each class gives round(fraction * n_class) of its rows to validation (at
    least one when it has two or more rows), chosen at random with ``seed``.
    ``candidates`` restricts the split to those row indices (default: all).
    ``groups`` (one id per row, e.g. ``duplicate_groups``) keeps every group
    wholly on one side: groups are visited in random order and a group goes
    to validation only if each of its labels still has room there, so a
    conflicting-label group counts towards each of its labels. Singletons fill
    the per-class quotas exactly, so stratification holds within one image
    unless a class is made only of large groups.
    Returns (train_index, val_index), both sorted and disjoint.
    """
    labels = np.asarray(labels)
    candidates = np.arange(len(labels)) if candidates is None else np.asarray(candidates)
    groups = np.arange(len(labels)) if groups is None else np.asarray(groups)
    cand_labels = labels[candidates].astype(np.int64)
    sizes = np.bincount(cand_labels, minlength=NUM_CLASSES)
    quota = np.rint(fraction * sizes).astype(np.int64)
    quota = np.where(sizes >= 2, np.clip(quota, 1, np.maximum(sizes - 1, 1)), np.minimum(quota, sizes))
    # Members of each group among the candidates, groups visited in a seeded random order.
    group_ids, inverse = np.unique(groups[candidates], return_inverse=True)
    members = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
    rng = np.random.default_rng(seed)
    room = quota.tolist()
    val = []
    for g in rng.permutation(len(group_ids)):
        rows = candidates[members[g]]
        need = np.bincount(labels[rows].astype(np.int64), minlength=NUM_CLASSES)
        if all(n <= r for n, r in zip(need.tolist(), room, strict=True)):
            room = [r - n for n, r in zip(need.tolist(), room, strict=True)]
            val.append(rows)
    val_index = np.sort(np.concatenate(val)) if val else np.zeros(0, np.int64)
    train_index = np.setdiff1d(candidates, val_index)
    return train_index.astype(np.int64), val_index.astype(np.int64)


def copies_in(images, reference, max_diff=0):
    """Boolean mask over ``images``: True where ``reference`` holds a copy, an
    identical image (``max_diff`` 0) or one whose pixels all differ by at
    most ``max_diff`` gray levels."""
    if max_diff:
        return near_duplicates.copies_in(images, reference, max_diff)
    keys = {row.tobytes() for row in np.ascontiguousarray(reference).reshape(len(reference), NUM_PIXELS)}
    flat = np.ascontiguousarray(images).reshape(len(images), NUM_PIXELS)
    return np.array([row.tobytes() in keys for row in flat], dtype=bool)


def make_dataset(
    x_train,
    y_train,
    x_test,
    y_test,
    test_ids,
    validation_fraction,
    seed,
    drop_duplicates=False,
    max_diff=0,
    exclude=None,
):
    """Build the Dataset from the validated arrays of ``raw.npz``.

    The split is leak-free: each duplicate group of training images (exact
    copies, and near copies within ``max_diff`` gray levels at every pixel,
    chains joined: ``duplicate_groups``) goes wholly to training or wholly
    to validation. With ``drop_duplicates``, the extra copies are also
    removed before the split (conflicting-label groups entirely). ``exclude``
    (a boolean mask over the training-file rows, e.g. ``votes.not_a_face``)
    removes rows before the split too. Returns (Dataset, number of
    training-file rows dropped as duplicates).
    """
    groups = duplicate_groups(x_train, max_diff)
    keep = deduplicate(x_train, y_train, max_diff) if drop_duplicates else np.ones(len(y_train), bool)
    dropped = int((~keep).sum())
    if exclude is not None:
        keep = keep & ~np.asarray(exclude, bool)
    train_index, val_index = stratified_split(
        y_train, validation_fraction, seed, np.flatnonzero(keep), groups=groups
    )
    dataset = Dataset(
        x_train=x_train[train_index],
        y_train=y_train[train_index],
        x_val=x_train[val_index],
        y_val=y_train[val_index],
        x_test=x_test,
        y_test=y_test,
        test_ids=test_ids,
        train_index=train_index,
        val_index=val_index,
    )
    return dataset, dropped


# Rows that split_data adds to data_quality.csv: check name -> what it counts.
SPLIT_CHECKS = {
    "train_dropped_duplicates": (
        "training-file rows removed by data.drop_duplicates (all but the first of each near-duplicate "
        "group; conflicting groups whole)"
    ),
    "val_images": "validation images",
    "val_in_train": "validation images pixel-identical to a training-split image (0: no leak)",
    "val_near_in_train": "validation images with a training-split image within the threshold (0: no leak)",
    "val_conflicting_images": "validation images whose near-duplicate group has conflicting labels",
    "test_in_train_split": "test images pixel-identical to a training-split image",
    "test_near_in_train_split": "test images with a training-split image within the threshold",
}


def split_quality_counts(dataset, dropped, x_all, y_all, max_diff=0):
    """Counts that need the split: the leak checks (must be 0) and where duplicates went."""
    groups = duplicate_groups(x_all, max_diff)
    conflict = conflicting_groups(groups, y_all)
    return {
        "train_dropped_duplicates": int(dropped),
        "val_images": len(dataset.y_val),
        "val_in_train": int(copies_in(dataset.x_val, dataset.x_train).sum()),
        "val_near_in_train": int(copies_in(dataset.x_val, dataset.x_train, max_diff).sum()),
        "val_conflicting_images": int(conflict[groups[dataset.val_index]].sum()),
        "test_in_train_split": int(copies_in(dataset.x_test, dataset.x_train).sum()),
        "test_near_in_train_split": int(copies_in(dataset.x_test, dataset.x_train, max_diff).sum()),
    }


def class_count_table(dataset):
    """Images per class and split: label, name, train, validation, test.

    The test column is empty (NA) when the test labels are unknown.
    """

    def count(y):
        return np.bincount(np.asarray(y, np.int64), minlength=NUM_CLASSES)[:NUM_CLASSES]

    test = count(dataset.y_test) if dataset.has_test_labels else [pd.NA] * NUM_CLASSES
    return pd.DataFrame(
        {
            "label": np.arange(NUM_CLASSES),
            "name": CLASS_NAMES,
            "train": count(dataset.y_train),
            "validation": count(dataset.y_val),
            "test": pd.array(test, dtype="Int64"),
        }
    )
