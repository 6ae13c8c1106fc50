"""FER+ annotator votes: reading, matching them to the images, and what they say.

FER+ (Barsoum, Zhang, Canton Ferrer and Zhang, "Training Deep Networks for
Facial Expression Recognition with Crowd-Sourced Label Distribution", ICMI
2016) had ten people label every FER2013 face again. Its ``fer2013new.csv``
has one row per row of Kaggle's ``fer2013.csv``, header
``Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF``:
the number of annotators who chose each column (``contempt`` is an
expression FER2013 lacks; ``unknown`` and ``NF``, not a face, are no
expression). A file with only the ``Training`` rows is the same form.

Matching (``read_aligned``): vote rows are matched to images by position
within each ``Usage``: the k-th ``Training`` row belongs to the k-th training
image. For the ``fer2013`` format the test images carry their own Usage
(``PublicTest``, ``PrivateTest``); for ``label_feature_csv`` the rows of
``test.csv`` are the ``PublicTest`` rows, then the ``PrivateTest`` rows.
Every count must match; test votes are optional (FER2013's are withheld),
training votes are not.

Votes are kept as int32 arrays (n, 10) in FER+ column order (``COLUMNS``).
A face's **plurality** is the column with the most votes; where two or more
columns share the top count (1,449 of FER2013's 28,709 training faces) the
face has no plurality (``NO_PLURALITY``) and is left out of every measure
that needs one. This is stricter than taking the first column of a tie,
which favours ``neutral``, FER+'s first column.
"""

import logging
from dataclasses import replace

import numpy as np
import pandas as pd

from fer_workflow import NUM_CLASSES
from fer_workflow.data.rows import DataError, read_csv_rows

log = logging.getLogger(__name__)

COLUMNS = (
    "neutral",
    "happiness",
    "surprise",
    "sadness",
    "anger",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "NF",
)
NUM_COLUMNS = len(COLUMNS)
CONTEMPT, UNKNOWN, NOT_FACE = (COLUMNS.index(c) for c in ("contempt", "unknown", "NF"))
# FER+ column of each FER2013 class (Angry .. Neutral).
COLUMN_OF_CLASS = np.array(
    [COLUMNS.index(c) for c in ("anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral")]
)
# FER2013 class of each FER+ column (-1: contempt, unknown, NF).
CLASS_OF_COLUMN = np.full(NUM_COLUMNS, -1, np.int64)
CLASS_OF_COLUMN[COLUMN_OF_CLASS] = np.arange(NUM_CLASSES)
NO_PLURALITY = -1

USAGES = ("Training", "PublicTest", "PrivateTest")
TEST_USAGES = USAGES[1:]


def empty():
    """The votes of no faces: int32 (0, 10)."""
    return np.zeros((0, NUM_COLUMNS), np.int32)


# ---- reading ------------------------------------------------------------------------------------


def read_file(path):
    """A FER+ file as (line numbers, Usage per row, votes int32 (n, 10)); DataError names the line.

    Every FER+ column must be in the header (``Image name`` and other columns
    are ignored); each vote is a count of annotators, an integer >= 0.
    """
    numbers, fields = read_csv_rows(path, ["Usage", *COLUMNS])
    usage = [value.decode("utf-8", "replace") for value in fields[0]]
    for number, text in zip(numbers, usage, strict=True):
        if text not in USAGES:
            raise DataError(path, f"unknown Usage {text!r} (expected {', '.join(USAGES)})", line=number)
    votes = np.empty((len(numbers), NUM_COLUMNS), np.int32)
    for j, (column, values) in enumerate(zip(COLUMNS, fields[1:], strict=True)):
        for k, value in enumerate(values):
            if not value.isdigit() or len(value) > 6:  # isdigit: no sign, no dot
                shown = value.decode("utf-8", "replace")
                raise DataError(
                    path,
                    f"vote {column}={shown!r} is not a count of annotators (an integer 0..999999)",
                    line=numbers[k],
                )
        votes[:, j] = [int(value) for value in values]
    return numbers, np.array(usage), votes


def _test_usage_of_csv(path, numbers, usage, n_test):
    """Usage of each test.csv image: the file's PublicTest rows, then its PrivateTest rows."""
    rows = np.flatnonzero(np.isin(usage, TEST_USAGES))
    if len(rows) and n_test == 0:
        raise DataError(
            path,
            f"{len(rows)} {usage[rows[0]]} rows of votes, but this run has no test images "
            "(data.test is empty): votes without images",
            line=numbers[rows[0]],
        )
    counts = [int((usage == u).sum()) for u in TEST_USAGES]
    if len(rows) and sum(counts) != n_test:
        line = numbers[rows[n_test]] if len(rows) > n_test else numbers[rows[-1]]
        raise DataError(
            path,
            f"{counts[0]} PublicTest + {counts[1]} PrivateTest rows of votes for {n_test} test images "
            "(the test file's rows are the PublicTest rows, then the PrivateTest rows)",
            line=line,
        )
    return np.repeat(np.array(TEST_USAGES), counts)


def _match(path, numbers, usage, image_usage):
    """Row of each image (positions within each Usage); DataError for any count that differs."""
    rows = np.empty(len(image_usage), np.int64)
    for u in USAGES:
        vote_rows, images = np.flatnonzero(usage == u), np.flatnonzero(image_usage == u)
        if len(vote_rows) > len(images):
            first = numbers[vote_rows[len(images)]]
            if not len(images):
                reason = f"{len(vote_rows)} {u} rows of votes, but this run has no {u} images"
            else:
                reason = f"{len(vote_rows)} {u} rows of votes for {len(images)} {u} images"
            raise DataError(path, f"{reason}: votes without images from here on", line=first)
        if len(vote_rows) < len(images):
            last = numbers[vote_rows[-1]] if len(vote_rows) else numbers[-1]
            raise DataError(
                path,
                f"{len(vote_rows)} {u} rows of votes for {len(images)} {u} images: "
                f"{len(images) - len(vote_rows)} image(s) without votes after this line "
                "(rows match images one to one, by position within each Usage)",
                line=last,
            )
        rows[images] = vote_rows
    return rows


def read_aligned(path, n_train, n_test, test_usage=None):
    """Votes of the training and test images: (int32 (n_train, 10), int32 (n_test or 0, 10)).

    ``test_usage``: the Usage of each test image (the ``fer2013`` format);
    None for ``label_feature_csv`` (``_test_usage_of_csv``). Without any
    test rows in the file the test votes are empty (0, 10).
    """
    numbers, usage, votes = read_file(path)
    has_test_votes = bool(np.isin(usage, TEST_USAGES).any())
    if test_usage is None:
        test_usage = _test_usage_of_csv(path, numbers, usage, n_test) if has_test_votes else None
    elif not has_test_votes:
        test_usage = None
    test_images = [] if test_usage is None else list(test_usage)
    image_usage = np.array(["Training"] * n_train + test_images, dtype=str)
    if test_usage is None:  # no test votes: only the Training rows are matched
        keep = usage == "Training"
        numbers, usage, votes = numbers[keep], usage[keep], votes[keep]
    rows = _match(path, numbers, usage, image_usage)
    matched = votes[rows]
    log.info(
        "%s: votes of %d training and %d test images", path, n_train, 0 if test_usage is None else n_test
    )
    return matched[:n_train], matched[n_train:] if test_usage is not None else empty()


# ---- what the votes say -------------------------------------------------------------------------


def plurality(votes):
    """FER+ column with the most votes per face; ``NO_PLURALITY`` on a tie or without votes."""
    votes = np.asarray(votes).reshape(-1, NUM_COLUMNS)
    top = votes.max(axis=1, initial=0)
    single = ((votes == top[:, None]).sum(axis=1) == 1) & (top > 0)
    return np.where(single, votes.argmax(axis=1), NO_PLURALITY)


def plurality_class(votes):
    """FER2013 class (0..6) of each face's plurality; -1 where it is contempt, unknown,
    not a face, or where there is no single plurality."""
    column = plurality(votes)
    return np.where(column >= 0, CLASS_OF_COLUMN[column], -1)


def class_votes(votes):
    """Votes for the 7 FER2013 classes, in FER2013 order: (n, 7)."""
    return np.asarray(votes).reshape(-1, NUM_COLUMNS)[:, COLUMN_OF_CLASS]


def not_a_face(votes):
    """Faces whose plurality is "not a face" or "unknown" (what ``data.drop_not_faces`` drops)."""
    return np.isin(plurality(votes), [NOT_FACE, UNKNOWN])


def dropped_rows(raw, drop_not_faces):
    """The mask of training-file rows that ``data.drop_not_faces`` removes before the
    split (``not_a_face``), or None when it is off or there are no votes."""
    return not_a_face(raw.votes_train) if drop_not_faces and len(raw.votes_train) else None


def soft_targets(votes, labels):
    """Training targets from the votes: float32 (n, 7), FER2013 order.

    Each face's vote distribution over the 7 shared classes (votes for
    contempt, unknown and not-a-face left out, the rest renormalised):
    the cross-entropy target that Barsoum et al. 2016 found best. A face
    without any vote among the 7 keeps its one-hot FER2013 label.
    """
    counts = class_votes(votes).astype(np.float64)
    total = counts.sum(axis=1, keepdims=True)
    one_hot = np.eye(NUM_CLASSES)[np.asarray(labels, np.int64)]
    return np.where(total > 0, counts / np.maximum(total, 1), one_hot).astype(np.float32)


def training_targets(dataset, targets="labels"):
    """What training fits: one-hot FER2013 labels (``labels``) or ``soft_targets`` (``votes``)."""
    labels = np.asarray(dataset.y_train, np.int64)
    if targets == "labels":
        return np.eye(NUM_CLASSES, dtype=np.float32)[labels]
    if targets != "votes":
        raise ValueError(f"targets: unknown targets {targets!r} (expected labels or votes)")
    if len(dataset.votes_train) != len(labels) or not len(labels):
        raise ValueError(
            f"targets: votes needs annotator votes, but the dataset holds {len(dataset.votes_train)} "
            f"rows of votes for {len(labels)} training faces"
        )
    without = int((class_votes(dataset.votes_train).sum(axis=1) == 0).sum())
    log.info(
        "targets: the FER+ vote distributions (%d faces without votes for the 7 keep their label)", without
    )
    return soft_targets(dataset.votes_train, labels)


def has_votes(dataset):
    """Whether the dataset holds votes for its training and validation faces."""
    n_train, n_val = len(dataset.y_train), len(dataset.y_val)
    return n_val > 0 and len(dataset.votes_val) == n_val and len(dataset.votes_train) == n_train


def attach(dataset, votes_train, votes_test):
    """The dataset with the votes of its faces: each face keeps the votes of its
    row of the training file (``train_index``, ``val_index``), whatever group
    or side of the split it went to. Empty votes give empty (0, 10) arrays."""
    votes_train, votes_test = np.asarray(votes_train, np.int32), np.asarray(votes_test, np.int32)
    if not len(votes_train):
        return replace(dataset, votes_train=empty(), votes_val=empty(), votes_test=empty())
    return replace(
        dataset,
        votes_train=votes_train[dataset.train_index],
        votes_val=votes_train[dataset.val_index],
        votes_test=votes_test.reshape(-1, NUM_COLUMNS),
    )


# ---- data quality -------------------------------------------------------------------------------

# Rows that the votes add to data_quality.csv (only when votes are given).
QUALITY_CHECKS = {
    "{split}_votes_not_face": "{images} whose FER+ plurality is 'not a face' (NF)",
    "{split}_votes_unknown": "{images} whose FER+ plurality is 'unknown'",
    "{split}_votes_contempt": "{images} whose FER+ plurality is contempt (FER2013 has no such class)",
    "{split}_votes_no_plurality": "{images} whose top FER+ vote count is shared by two or more columns",
    "{split}_votes_disagree": "{images} whose FER+ plurality is another of the 7 classes than their label",
}
IMAGES = {"train": "training-file images", "test": "test images"}


def quality_counts(votes, labels, split="train"):
    """Counts of faces by what their plurality says (see ``QUALITY_CHECKS``)."""
    column, cls = plurality(votes), plurality_class(votes)
    labels = np.asarray(labels)
    disagree = (cls >= 0) & (labels >= 0) & (cls != labels)
    values = [(column == NOT_FACE), (column == UNKNOWN), (column == CONTEMPT), (column == NO_PLURALITY)]
    counts = [int(v.sum()) for v in values] + [int(disagree.sum())]
    return {name.format(split=split): c for name, c in zip(QUALITY_CHECKS, counts, strict=True)}


def raw_quality_counts(raw, dropped=None):
    """The vote rows of data_quality.csv for a ``readers.Raw`` ({} without votes):
    ``quality_counts`` of the training file and (where it has votes) the test
    file, and how many rows ``data.drop_not_faces`` removed (``dropped``: its mask)."""
    if not len(raw.votes_train):
        return {}
    counts = quality_counts(raw.votes_train, raw.y_train, "train")
    if len(raw.votes_test):
        counts.update(quality_counts(raw.votes_test, raw.y_test, "test"))
    counts["train_dropped_not_faces"] = 0 if dropped is None else int(np.sum(dropped))
    return counts


DROPPED_CHECK = {"train_dropped_not_faces": "training-file rows removed by data.drop_not_faces"}


def quality_table(counts):
    """The vote counts as rows of data_quality.csv: check, count, description."""
    descriptions = {}
    for split, images in IMAGES.items():
        descriptions.update(
            {k.format(split=split): d.format(images=images) for k, d in QUALITY_CHECKS.items()}
        )
    descriptions.update(DROPPED_CHECK)
    names = [name for name in descriptions if name in counts]
    return pd.DataFrame(
        {"check": names, "count": [counts[n] for n in names], "description": [descriptions[n] for n in names]}
    )
