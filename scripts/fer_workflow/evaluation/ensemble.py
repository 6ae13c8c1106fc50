"""A seed ensemble of CNNs: the mean of its members' class probabilities.

The members are the run's CNN (trained with the global seed) and one CNN per
seed in ``ensemble.seeds``, each trained by its own job (rule
``train_replicate``), so a cluster trains them side by side. Averaging
probabilities (not labels) is what the FER2013 ensembles in the literature
do (Pramerdorfer & Kampel 2016; Khanzada et al. 2020); it needs nothing
fitted, so the validation split chooses nothing here.

The ensemble's predictions keep the contract of ``fer_workflow.evaluation.predict``
(the same keys: plain, flipped and shifted views per split), so metrics, the
submission and TTA read them like one model's.
"""

import numpy as np
import pandas as pd

from fer_workflow.evaluation.metrics import split_labels_and_probs, wilson_interval
from fer_workflow.evaluation.stats import mcnemar_exact

TABLE_COLUMNS = [
    "predictions",
    "members",
    "split",
    "accuracy",
    "low",
    "high",
    "n",
    "vs_first_gain",
    "vs_first_low",
    "vs_first_high",
    "vs_first_wins",
    "vs_first_losses",
    "vs_first_p",
]


def average(member_predictions):
    """The mean over members of each array of the predictions contract.

    Every member must hold the same keys with the same shapes (the same
    dataset, predicted with the same TTA views); otherwise a ValueError names
    the member and the key that differ.
    """
    members = list(member_predictions)
    if not members:
        raise ValueError("an ensemble needs at least one member's predictions")
    keys = sorted(members[0])
    for index, member in enumerate(members[1:], start=1):
        if sorted(member) != keys:
            raise ValueError(
                f"member {index} holds the arrays {sorted(member)}, member 0 {keys}: "
                "predict every member with the same predict.tta_shift"
            )
        for key in keys:
            if np.shape(member[key]) != np.shape(members[0][key]):
                raise ValueError(
                    f"member {index}'s {key} has shape {np.shape(member[key])}, member 0's "
                    f"{np.shape(members[0][key])}: the members were predicted on different data"
                )
    return {
        key: np.mean([m[key] for m in members], axis=0, dtype=np.float64).astype(np.float32) for key in keys
    }


def correct(dataset, predictions, split, tta_flip, tta_shift):
    """Per-face booleans: is the (TTA) prediction of ``split`` right."""
    y, probs = split_labels_and_probs(dataset, predictions, split, tta_flip, tta_shift)
    return probs.argmax(axis=1) == y


def table(dataset, names, member_predictions, tta_flip=True, tta_shift=False):
    """One row per member and one for the ensemble, per split with labels.

    Accuracy with its Wilson 95% interval; each row is also compared with the
    first member (the run's own CNN) on the same faces: the accuracy gain,
    its 95% interval and McNemar's exact p (the ensemble's row is the claim
    "the ensemble beats a single network").
    """
    member_predictions = list(member_predictions)
    entries = list(zip(names, member_predictions, strict=True))
    entries.append((f"ensemble of {len(member_predictions)}", average(member_predictions)))
    splits = ["validation"] + (["test"] if dataset.has_test_labels else [])
    rows = []
    for split in splits:
        first = correct(dataset, member_predictions[0], split, tta_flip, tta_shift)
        for index, (name, predictions) in enumerate(entries):
            right = correct(dataset, predictions, split, tta_flip, tta_shift)
            low, high = wilson_interval(int(right.sum()), len(right))
            row = {
                "predictions": name,
                "members": len(member_predictions) if index == len(entries) - 1 else 1,
                "split": split,
                "accuracy": float(right.mean()) if len(right) else float("nan"),
                "low": low,
                "high": high,
                "n": len(right),
            }
            if index > 0:
                test = mcnemar_exact(right, first)
                row |= {
                    "vs_first_gain": test["difference"],
                    "vs_first_low": test["low"],
                    "vs_first_high": test["high"],
                    "vs_first_wins": test["a_only"],
                    "vs_first_losses": test["b_only"],
                    "vs_first_p": test["p"],
                }
            rows.append(row)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    # Counts stay integers beside the empty cells of the first row (151, not 151.000).
    return table.astype({"n": "Int64", "vs_first_wins": "Int64", "vs_first_losses": "Int64"})
