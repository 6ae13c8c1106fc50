"""Replicate seeds: one score per (model, training seed), their spread, and
the paired CNN - DNN difference.

One run's number mixes the model with the luck of its seed (initial
weights, shuffling, augmentation, dropout). Training each model with several
seeds and pairing the runs by seed separates the two: the mean over seeds
estimates the model, the sample standard deviation the seed's luck, and the
t-interval of the paired difference says whether one model beats the other
by more than that luck.
"""

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import accuracy_score, f1_score

from fer_workflow.evaluation import tables

SCORES = ["val_accuracy", "val_macro_f1"]
COLUMNS = ["statistic", "model", "seed", *SCORES]
# The summary statistics of each model and of the paired difference, in table order.
STATISTICS = ["mean", "std", "ci95_low", "ci95_high"]


def seed_row(model, seed, y_val, y_pred):
    """Validation accuracy and macro-F1 of one replicate (plain predictions)."""
    return {
        "model": model,
        "seed": int(seed),
        "val_accuracy": float(accuracy_score(y_val, y_pred)),
        "val_macro_f1": float(f1_score(y_val, y_pred, average="macro", zero_division=0)),
    }


def t_interval(values, confidence=0.95):
    """Mean, sample standard deviation (ddof 1) and the t-interval of the mean.

    mean +- t(1 - alpha/2, n - 1) * std / sqrt(n); with one value the spread
    and the interval are unknown (NaN).
    """
    values = np.asarray(values, dtype=float)
    n = len(values)
    mean = float(values.mean()) if n else float("nan")
    if n < 2:
        return mean, float("nan"), float("nan"), float("nan")
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / np.sqrt(n)
    return mean, std, mean - half, mean + half


def difference_name(models):
    """'cnn - dnn': the label of the paired difference of the first two models."""
    return f"{models[0]} - {models[1]}"


def aggregate(per_seed, models=("cnn", "dnn")):
    """The replicate table (``COLUMNS``, long form) from one row per (model, seed).

    Rows with statistic ``seed``: each replicate, then the per-seed paired
    difference ``models[0] - models[1]`` (seeds both models have). Then per
    model and for the difference: ``mean``, ``std`` (over seeds, ddof 1) and
    the 95% t-interval of the mean (``ci95_low``, ``ci95_high``); the seed
    column is empty there.
    """
    per_seed = pd.DataFrame(per_seed)
    a, b = (per_seed[per_seed["model"] == m].set_index("seed")[SCORES] for m in models[:2])
    seeds = sorted(set(a.index) & set(b.index))
    if len(seeds) != len(a) or len(seeds) != len(b):
        raise ValueError(
            f"{models[0]} and {models[1]} must have the same seeds, not {list(a.index)} and {list(b.index)}"
        )
    diff_name = difference_name(models)
    diff = (a.loc[seeds] - b.loc[seeds]).reset_index().assign(model=diff_name)
    rows = [r | {"statistic": "seed"} for r in per_seed.to_dict("records")]
    rows += [r | {"statistic": "seed"} for r in diff.to_dict("records")]
    groups = {m: per_seed[per_seed["model"] == m] for m in models} | {diff_name: diff}
    for model, group in groups.items():
        columns = {score: t_interval(group[score]) for score in SCORES}
        for i, statistic in enumerate(STATISTICS):
            rows.append(
                {"statistic": statistic, "model": model, "seed": pd.NA}
                | {score: columns[score][i] for score in SCORES}
            )
    table = pd.DataFrame(rows)[COLUMNS]
    table["seed"] = table["seed"].astype("Int64")
    return table


def summary(table, model, score):
    """(mean, std, ci95_low, ci95_high) of one model (or the difference) and score."""
    rows = table[(table["model"] == model) & (table["statistic"] != "seed")].set_index("statistic")
    return tuple(float(rows.loc[s, score]) for s in STATISTICS)


def n_seeds(n):
    """'1 seed', '3 seeds'."""
    return f"{n} seed{'' if n == 1 else 's'}"


def spread_text(mean, std, low, high):
    """'0.6200 ± 0.0200 [0.5703, 0.6697]', or the mean alone with one seed
    (no spread or interval: they need two seeds)."""
    if np.isnan(std):
        return f"{mean:.4f} (one seed: no spread or interval)"
    return f"{mean:.4f} ± {std:.4f} {tables.interval(low, high, digits=4)}"


def markdown(table, models=("cnn", "dnn")):
    """replicates.md: per-seed scores side by side, then mean +- std and intervals."""
    diff_name = difference_name(models)
    names = [*models, diff_name]
    seeds = table[table["statistic"] == "seed"]
    n = seeds["seed"][seeds["model"] == models[0]].nunique()
    head = ["seed"] + [f"{m} {s}" for s in SCORES for m in names]
    lines = [
        "# Replicate seeds",
        "",
        f"Validation scores of each model trained with {n_seeds(n)} (the same data split; the seed "
        "sets weights, shuffling, augmentation and dropout), and the paired difference "
        f"{diff_name} per seed.",
        "",
    ]
    wide = seeds.pivot(index="seed", columns="model", values=SCORES)
    per_seed = pd.DataFrame(
        [[int(seed)] + [row[(s, m)] for s in SCORES for m in names] for seed, row in wide.iterrows()],
        columns=head,
    )
    lines += [tables.markdown_table(per_seed, digits=4)]
    lines += ["", "Mean ± standard deviation over seeds, and the 95% t-interval of the mean:", ""]
    for model in names:
        parts = []
        for score in SCORES:
            parts.append(f"{score} {spread_text(*summary(table, model, score))}")
        lines.append(f"- {model}: " + "; ".join(parts))
    lines.append("")
    return "\n".join(lines)
