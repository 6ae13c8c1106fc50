"""Evaluation numbers: the metrics table's rows, 95% intervals, confusion
matrices, most-confused pairs. ``fer_workflow.evaluation.tables`` writes them as text.

All scores come from scikit-learn. Labels are FER2013 class indices 0..6
(``fer_workflow.CLASS_NAMES``). Rates are fractions in 0..1; figures and
sentences show them as percentages.
"""

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, recall_score

from fer_workflow import CLASS_NAMES, NUM_CLASSES
from fer_workflow.evaluation.predict import split_probs

LABELS = list(range(NUM_CLASSES))
# 95% intervals: Wilson score for accuracies, percentile bootstrap over images
# (fixed resamples and seed, so the table is reproducible) for macro-F1.
CONFIDENCE = 0.95
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
# Columns of the metrics table taken from each model's record: kept_epoch is
# the epoch whose weights are scored, epoch_chosen_on what chose it
# (validation: early stopping, so the validation scores are optimistic; none).
RECORD_COLUMNS = ["parameters", "epochs", "kept_epoch", "epoch_chosen_on", "train_seconds"]
PAIR_COLUMNS = [
    "rank",
    "true",
    "true_name",
    "predicted",
    "predicted_name",
    "rate",
    "count",
    "support",
    "split",
]


# --- inputs -------------------------------------------------------------------------------------


def split_labels_and_probs(dataset, predictions, split, tta_flip=False, tta_shift=False):
    """True labels and predicted probabilities of ``split`` (validation or test).

    Test labels are only known for some data (built-in synthetic, or a labels
    file); without them the test split cannot be scored.
    """
    if split not in ("validation", "test"):
        raise ValueError(f"split must be 'validation' or 'test', not {split!r}")
    if split == "test" and not dataset.has_test_labels:
        raise ValueError(
            "split is 'test' but the dataset's test labels are unknown "
            f"({len(dataset.y_test)} test images, labels -1 or none): score 'validation', "
            "or a dataset with test labels"
        )
    _, y_true = dataset.split(split)
    probs = split_probs(predictions, split, tta_flip, tta_shift)
    if len(probs) != len(y_true):
        raise ValueError(
            f"{split}: {len(probs)} predictions for {len(y_true)} labels; "
            "the predictions do not belong to this dataset (rerun predict_model)"
        )
    return np.asarray(y_true, dtype=int), probs


# --- scores -------------------------------------------------------------------------------------


def scores(y_true, y_pred):
    """Accuracy, macro-F1 and per-class recall (``recall_<ClassName>``).

    Macro-F1 averages over the classes that occur in ``y_true`` or ``y_pred``
    (scikit-learn's default), so an absent class does not count as F1 = 0.
    Recall of a class with no true samples is NaN (undefined), not 0.
    """
    row = {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, average="macro", zero_division=0)),
    }
    recalls = recall_score(y_true, y_pred, labels=LABELS, average=None, zero_division=np.nan)
    for name, value in zip(CLASS_NAMES, recalls, strict=True):
        row[f"recall_{name}"] = float(value)
    return row


# --- intervals ----------------------------------------------------------------------------------


def wilson_interval(correct, n, confidence=CONFIDENCE):
    """Wilson score interval of a proportion ``correct / n`` (NaNs for n = 0).

    Unlike the normal approximation it stays inside [0, 1] and is not empty
    at 0 or n successes (Wilson 1927; Brown, Cai & DasGupta 2001).
    """
    if n == 0:
        return float("nan"), float("nan")
    z = stats.norm.ppf(0.5 + confidence / 2)
    p = correct / n
    center = (p + z**2 / (2 * n)) / (1 + z**2 / n)
    half = z / (1 + z**2 / n) * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    return float(center - half), float(center + half)


def bootstrap_indices(n, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED):
    """(resamples, n) row indices drawn with replacement, from a fixed seed."""
    return np.random.default_rng(seed).integers(0, n, size=(resamples, n))


def _confusion_batch(cells):
    """(b, 7, 7) confusion counts from (b, n) cell codes true * 7 + predicted."""
    b = len(cells)
    offsets = (np.arange(b, dtype=np.int64) * NUM_CLASSES**2)[:, None]
    counts = np.bincount((cells + offsets).ravel(), minlength=b * NUM_CLASSES**2)
    return counts.reshape(b, NUM_CLASSES, NUM_CLASSES)


def _macro_f1_of_counts(counts):
    """Macro-F1 of each (7, 7) confusion matrix in a (b, 7, 7) stack."""
    tp = np.diagonal(counts, axis1=1, axis2=2)
    denom = counts.sum(axis=1) + counts.sum(axis=2)  # 2 tp + fp + fn
    present = denom > 0
    f1 = np.divide(2 * tp, denom, out=np.zeros(denom.shape), where=present)
    return f1.sum(axis=1) / present.sum(axis=1)


def macro_f1_batch(y_true, y_pred):
    """Macro-F1 of each row of (b, n) label arrays, vectorised.

    Like scikit-learn's ``f1_score(average="macro", zero_division=0)``: the
    mean over the classes that occur in that row's true or predicted labels.
    """
    y_true, y_pred = np.atleast_2d(y_true), np.atleast_2d(y_pred)
    return _macro_f1_of_counts(_confusion_batch(y_true * NUM_CLASSES + y_pred))


def bootstrap_macro_f1_interval(
    y_true, y_pred, confidence=CONFIDENCE, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED
):
    """Percentile bootstrap interval of macro-F1, resampling images (NaNs when empty).

    Each resample draws len(y_true) images with replacement
    (``bootstrap_indices``); the interval is the 2.5% and 97.5% quantiles of
    the resamples' macro-F1.
    """
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if len(y_true) == 0:
        return float("nan"), float("nan")
    cells = y_true * NUM_CLASSES + y_pred  # one code per image, resampled together
    values = _macro_f1_of_counts(_confusion_batch(cells[bootstrap_indices(len(cells), resamples, seed)]))
    low, high = np.quantile(values, [0.5 - confidence / 2, 0.5 + confidence / 2])
    return float(low), float(high)


def interval_columns(accuracy, macro_f1, y_true, y_pred):
    """``{accuracy}_low/high`` (Wilson) and ``{macro_f1}_low/high`` (bootstrap)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    acc = wilson_interval(int((y_true == y_pred).sum()), len(y_true))
    f1 = bootstrap_macro_f1_interval(y_true, y_pred)
    return {
        f"{accuracy}_low": acc[0],
        f"{accuracy}_high": acc[1],
        f"{macro_f1}_low": f1[0],
        f"{macro_f1}_high": f1[1],
    }


# --- unseen test subset --------------------------------------------------------------------------


def unseen_columns(y_test, y_pred, test_seen):
    """Accuracy (and Wilson interval) on the test images with no copy in training."""
    unseen = ~np.asarray(test_seen, bool)
    n, correct = int(unseen.sum()), int((y_test[unseen] == y_pred[unseen]).sum())
    low, high = wilson_interval(correct, n)
    return {
        "test_unseen_images": n,
        "test_unseen_accuracy": correct / n if n else float("nan"),
        "test_unseen_accuracy_low": low,
        "test_unseen_accuracy_high": high,
    }


# Columns after the per-class recalls and test accuracies; NaN where they cannot be scored.
INTERVAL_COLUMNS = [
    "val_accuracy_low",
    "val_accuracy_high",
    "macro_f1_low",
    "macro_f1_high",
    "test_macro_f1",
    "test_accuracy_low",
    "test_accuracy_high",
    "test_macro_f1_low",
    "test_macro_f1_high",
    "test_unseen_images",
    "test_unseen_accuracy",
    "test_unseen_accuracy_low",
    "test_unseen_accuracy_high",
]


# Last: accuracy with flip and shift TTA (NaN without shifted views, predict.tta_shift 0).
TTA_COLUMNS = ["val_accuracy_tta", "test_accuracy_tta"]


def model_row(model, facts, dataset, predictions, test_seen=None):
    """One row of the metrics table (a dict, columns in table order).

    First the model's size and training from its record (``facts``, from
    ``record.read``): parameters, epochs, the kept epoch and what chose it,
    training seconds.
    Validation scores use the plain predictions; ``val_accuracy_flip`` shows
    what flip TTA adds. Test accuracy uses ``dataset.y_test`` and is NaN
    (an empty cell in the CSV) when the test labels are unknown.
    Then 95% intervals (``INTERVAL_COLUMNS``, plain predictions): Wilson for
    accuracies, bootstrap over images for macro-F1, on validation and
    (labelled) test; and the accuracy on the test images with no copy in the
    training file (``test_seen``: a boolean mask over the test images, from
    ``data.copies_in``; NaN without it). Last ``val_accuracy_tta`` and
    ``test_accuracy_tta``: with flip and shift TTA, NaN unless the predictions
    hold the shifted views (``predict.tta_shift`` > 0).
    """
    y_val, probs = split_labels_and_probs(dataset, predictions, "validation")
    val_pred = probs.argmax(axis=1)
    val = scores(y_val, val_pred)
    _, probs_flip = split_labels_and_probs(dataset, predictions, "validation", tta_flip=True)
    row = {"model": model, **{key: facts[key] for key in RECORD_COLUMNS}}
    row["val_accuracy"] = val.pop("accuracy")
    row["val_accuracy_flip"] = float(accuracy_score(y_val, probs_flip.argmax(axis=1)))
    row.update(val)
    row["test_accuracy"] = row["test_accuracy_flip"] = float("nan")
    if dataset.has_test_labels:
        for column, flip in (("test_accuracy", False), ("test_accuracy_flip", True)):
            y_test, probs = split_labels_and_probs(dataset, predictions, "test", tta_flip=flip)
            row[column] = float(accuracy_score(y_test, probs.argmax(axis=1)))
    row.update(dict.fromkeys(INTERVAL_COLUMNS, float("nan")))
    row.update(interval_columns("val_accuracy", "macro_f1", y_val, val_pred))
    if dataset.has_test_labels:
        y_test, probs = split_labels_and_probs(dataset, predictions, "test")
        y_pred = probs.argmax(axis=1)
        row["test_macro_f1"] = float(f1_score(y_test, y_pred, average="macro", zero_division=0))
        row.update(interval_columns("test_accuracy", "test_macro_f1", y_test, y_pred))
        if test_seen is not None:
            row.update(unseen_columns(y_test, y_pred, test_seen))
    row.update(dict.fromkeys(TTA_COLUMNS, float("nan")))
    if "val_probs_shift" in predictions:
        for split, column in zip(["validation", "test"], TTA_COLUMNS, strict=True):
            if split == "test" and not dataset.has_test_labels:
                continue
            y_true, probs = split_labels_and_probs(dataset, predictions, split, tta_flip=True, tta_shift=True)
            row[column] = float(accuracy_score(y_true, probs.argmax(axis=1)))
    return row


# --- confusion ----------------------------------------------------------------------------------


def confusion_counts(y_true, y_pred):
    """7 x 7 confusion counts: rows true class, columns predicted class."""
    return confusion_matrix(y_true, y_pred, labels=LABELS)


def normalize_rows(counts):
    """Row-normalized percentages: each row with samples sums to 100.

    A class with no samples in the split (zero support) gets a row of zeros
    rather than a division by zero.
    """
    counts = np.asarray(counts, dtype=float)
    support = counts.sum(axis=1, keepdims=True)
    return np.divide(100 * counts, support, out=np.zeros_like(counts), where=support > 0)


def most_confused_pairs(counts, k, split="validation"):
    """The ``k`` largest off-diagonal row rates as a table (``PAIR_COLUMNS``).

    rate = count / support of the true class. Ties are broken by the larger
    count, then by the true and the predicted class index, so the order is
    deterministic. Pairs never confused (count 0) are not listed, so fewer
    than ``k`` rows come back for a nearly perfect model.
    """
    counts = np.asarray(counts)
    support = counts.sum(axis=1)
    rows = []
    for t in range(len(counts)):
        for p in range(len(counts)):
            if t != p and counts[t, p] > 0:
                rows.append((-counts[t, p] / support[t], -counts[t, p], t, p))
    rows.sort()
    table = [
        {
            "rank": rank,
            "true": t,
            "true_name": CLASS_NAMES[t],
            "predicted": p,
            "predicted_name": CLASS_NAMES[p],
            "rate": -neg_rate,
            "count": int(counts[t, p]),
            "support": int(support[t]),
            "split": split,
        }
        for rank, (neg_rate, _, t, p) in enumerate(rows[: int(k)], start=1)
    ]
    return pd.DataFrame(table, columns=PAIR_COLUMNS)
