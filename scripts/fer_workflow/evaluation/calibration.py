"""Temperature scaling (Guo et al. 2017, "On Calibration of Modern Neural
Networks"): one number T divides the model's logits, fitted on the validation
split by minimising the negative log-likelihood, so that a face given 80% is
right about 80% of the time. T > 1 softens an over-confident model, T < 1
sharpens an under-confident one; the argmax, and so every label (the
submission's too), stays the same.

The models end in a softmax, and the predictions are stored as
probabilities: ``log p`` is the logits up to a constant per face, which
the softmax removes, so ``softmax(log p / T)`` is ``softmax(logits / T)``.

The expected calibration error (ECE) is the mean, weighted by the number of
faces, of |accuracy - mean confidence| over equal-width confidence bins
(15, as Guo et al.); the confidence is the largest probability. Keras-free.
"""

import json

import numpy as np
from scipy.optimize import minimize_scalar

N_BINS = 15
# T is searched on a log scale in [1/20, 20]; a fit at the edge is reported as such.
LOG_T_BOUNDS = (-np.log(20.0), np.log(20.0))
# Smallest probability taken to the log (float32's smallest normal is 1.2e-38).
EPS = 1e-30


def log_probs(probs):
    """log of probabilities (n, k), clipped away from 0 so that log stays finite."""
    return np.log(np.clip(np.asarray(probs, np.float64), EPS, 1.0))


def apply_temperature(probs, temperature):
    """Probabilities (n, k) softened (T > 1) or sharpened (T < 1): softmax(log p / T)."""
    z = log_probs(probs) / float(temperature)
    z -= z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def nll(probs, labels):
    """Mean negative log-likelihood of the true labels."""
    labels = np.asarray(labels, int)
    return float(-log_probs(probs)[np.arange(len(labels)), labels].mean())


def fit_temperature(probs, labels):
    """The T > 0 that minimises the NLL of ``softmax(log probs / T)`` on (probs, labels).

    Raises ValueError for an empty split. The NLL is convex in 1/T, so the
    bounded one-dimensional search finds the optimum.
    """
    probs, labels = np.asarray(probs, np.float64), np.asarray(labels, int)
    if len(labels) == 0:
        raise ValueError("cannot fit a temperature on an empty split")
    z = log_probs(probs)
    rows = np.arange(len(labels))

    def loss(log_t):
        scaled = z / np.exp(log_t)
        scaled -= scaled.max(axis=1, keepdims=True)
        return float(np.mean(np.log(np.exp(scaled).sum(axis=1)) - scaled[rows, labels]))

    result = minimize_scalar(loss, bounds=LOG_T_BOUNDS, method="bounded", options={"xatol": 1e-5})
    return float(np.exp(result.x))


def reliability_bins(probs, labels, n_bins=N_BINS):
    """Per equal-width confidence bin: count, mean confidence and accuracy
    (a dict of arrays of length ``n_bins``; NaN in an empty bin)."""
    probs, labels = np.asarray(probs), np.asarray(labels, int)
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    # Bin k holds confidences in (k/n, (k+1)/n]; a confidence of exactly 0 goes to bin 0.
    index = np.clip(np.ceil(confidence * n_bins).astype(int) - 1, 0, n_bins - 1)
    count = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, weights=confidence, minlength=n_bins) / count
        accuracy = np.bincount(index, weights=correct, minlength=n_bins) / count
    return {
        "edges": np.linspace(0, 1, n_bins + 1),
        "count": count,
        "confidence": mean_conf,
        "accuracy": accuracy,
    }


def ece(probs, labels, n_bins=N_BINS):
    """Expected calibration error: sum over bins of count/n * |accuracy - confidence| (NaN if empty)."""
    bins = reliability_bins(probs, labels, n_bins)
    n = bins["count"].sum()
    if n == 0:
        return float("nan")
    filled = bins["count"] > 0
    gap = np.abs(bins["accuracy"][filled] - bins["confidence"][filled])
    return float((bins["count"][filled] / n * gap).sum())


def summary(probs, labels, temperature, split):
    """``{split}_ece``, ``{split}_ece_calibrated``, ``{split}_nll``, ``{split}_nll_calibrated``."""
    calibrated = apply_temperature(probs, temperature)
    return {
        f"{split}_ece": ece(probs, labels),
        f"{split}_ece_calibrated": ece(calibrated, labels),
        f"{split}_nll": nll(probs, labels),
        f"{split}_nll_calibrated": nll(calibrated, labels),
    }


def calibrate(val_probs, val_labels, test_probs=None, test_labels=None):
    """The calibration record of one model: the temperature fitted on
    validation, the ECE and NLL before and after on validation (optimistic:
    the split that fitted T) and, where the test labels are known, on test
    (NaN otherwise); faces per split and the bins used."""
    temperature = fit_temperature(val_probs, val_labels)
    out = {
        "temperature": temperature,
        "fitted_on": "validation",
        "predictions": "plain (no test-time augmentation)",
        "n_bins": N_BINS,
        "validation_faces": int(len(val_labels)),
        "at_search_bound": bool(min(abs(np.log(temperature) - b) for b in LOG_T_BOUNDS) < 1e-3),
    }
    out.update(summary(val_probs, val_labels, temperature, "val"))
    has_test = test_labels is not None and len(test_labels) and np.all(np.asarray(test_labels) >= 0)
    out["test_faces"] = int(len(test_labels)) if has_test else 0
    if has_test:
        out.update(summary(test_probs, test_labels, temperature, "test"))
    else:
        out.update(
            dict.fromkeys(["test_ece", "test_ece_calibrated", "test_nll", "test_nll_calibrated"], None)
        )
    return out


# Columns of the metrics table taken from each model's calibration record (NaN when absent).
METRIC_COLUMNS = ["temperature", "val_ece", "val_ece_calibrated", "test_ece", "test_ece_calibrated"]


def metric_columns(record):
    """The metrics table's calibration columns from a calibration record (None -> NaN)."""
    return {k: float("nan") if record.get(k) is None else float(record[k]) for k in METRIC_COLUMNS}


def write(record, path):
    with open(path, "w") as f:
        json.dump(record, f, indent=2)
        f.write("\n")


def read(path):
    """A calibration record; ValueError naming the file if it has no usable temperature."""
    with open(path) as f:
        record = json.load(f)
    return record | {"temperature": checked_temperature(record.get("temperature"), path)}


def checked_temperature(value, source):
    """``value`` as a float T > 0, or ValueError naming ``source``."""
    try:
        t = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{source}: no temperature (got {value!r})") from None
    if not np.isfinite(t) or t <= 0:
        raise ValueError(f"{source}: the temperature must be a positive number, not {value!r}")
    return t
