"""Which confusions are the model's and which are the annotators'? FER+ votes
against the FER2013 labels and the models' answers (rule annotator_agreement).

FER2013's labels come from one annotator each; FER+ (``fer_workflow.data.votes``)
had ten people label every face again. On the faces of one split (the
validation split in the workflow) this module measures:

* the annotators' confusion: FER2013 label against the FER+ plurality (over
  the 7 shared classes), beside the model's own confusion matrix
  (``confusion``, ``confusion_table``);
* for each of a model's most-confused pairs (true i, predicted j): the share
  of those faces on which at least k of the ten annotators also chose j, for
  k in ``K_VOTES``, against the same share among the faces of class i the
  model got right, with Wilson intervals, the difference with Newcombe's
  interval and Fisher's exact test (``pair_table``): how much of the
  confusion falls on faces people also read as j;
* each model's accuracy against the FER+ plurality beside its accuracy
  against the labels, the labels' own agreement with the plurality (the
  ceiling that label noise sets), and a "plausible" accuracy, counting a
  prediction that at least ``PLAUSIBLE_VOTES`` annotators chose
  (``accuracy_table``);
* the claims these numbers support, with paired tests and verdicts
  (``findings``: the columns of the study's findings table).

Faces without a single plurality among the 7 classes (a tie, or a plurality
of contempt, unknown or not-a-face; ``votes.plurality``) are left out of the
plurality measures, and their number is given.
"""

import numpy as np
import pandas as pd
from scipy import stats as sps

from fer_workflow import CLASS_NAMES, NUM_CLASSES
from fer_workflow.data import votes
from fer_workflow.evaluation import metrics, stats
from fer_workflow.findings import claims as findings

# "At least k of the ten annotators chose j", for the pair table.
K_VOTES = (1, 3, 5)
# The k of the pair claims in the findings.
CLAIM_VOTES = 3
# A prediction is plausible when at least this many annotators chose it.
PLAUSIBLE_VOTES = 3
# The findings rule fills in what the split was also used to choose.
CHOSEN = "see findings"

# The findings table's columns (one claim a row).
FINDING_COLUMNS = findings.COLUMNS
PAIR_COLUMNS = [
    "model",
    "rank",
    "true",
    "true_name",
    "predicted",
    "predicted_name",
    "k",
    "confused_faces",
    "confused_with_votes",
    "confused_share",
    "confused_low",
    "confused_high",
    "correct_faces",
    "correct_with_votes",
    "correct_share",
    "correct_low",
    "correct_high",
    "difference",
    "difference_low",
    "difference_high",
    "odds_ratio",
    "p",
    "p_holm",
    "split",
]
ACCURACY_COLUMNS = ["rater", "measure", "description", "split", "faces", "count", "estimate", "low", "high"]
MEASURES = {
    "labels": "agrees with the FER2013 label, all faces",
    "labels_on_plurality_faces": "agrees with the FER2013 label, faces with a FER+ plurality among the 7",
    "plurality": "agrees with the FER+ plurality, faces with one among the 7 classes",
    "plausible": f"at least {PLAUSIBLE_VOTES} of the annotators chose it, all faces",
}
LABELS_RATER = "fer2013_labels"
OTHER_PLURALITY = {votes.CONTEMPT: "contempt", votes.UNKNOWN: "unknown", votes.NOT_FACE: "NF"}


# ---- the annotators' confusion ------------------------------------------------------------------


def confusion(labels, face_votes):
    """7 x 7 counts: FER2013 label (rows) against FER+ plurality (columns), over
    the faces whose plurality is one of the 7 classes."""
    plurality = votes.plurality_class(face_votes)
    has = plurality >= 0
    return metrics.confusion_counts(np.asarray(labels)[has], plurality[has])


def confusion_table(labels, face_votes, faces):
    """The annotators' confusion in long form: one row per (label, plurality).

    ``plurality`` is a class name, or contempt, unknown, NF, or ``none`` (a
    tie). ``rate``: the share of the label's faces with a plurality among
    the 7 (the figure's row percentages; empty for the other pluralities);
    ``share_of_label``: the share of all the label's faces.
    """
    labels = np.asarray(labels, np.int64)
    column, plurality = votes.plurality(face_votes), votes.plurality_class(face_votes)
    names = list(CLASS_NAMES) + list(OTHER_PLURALITY.values()) + ["none"]
    kind = np.where(plurality >= 0, plurality, NUM_CLASSES + 3)
    for offset, col in enumerate(OTHER_PLURALITY):
        kind = np.where(column == col, NUM_CLASSES + offset, kind)
    rows = []
    for label in range(NUM_CLASSES):
        mine = kind[labels == label]
        counts = np.bincount(mine, minlength=len(names))
        shared = counts[:NUM_CLASSES].sum()
        for k, name in enumerate(names):
            rate = counts[k] / shared if k < NUM_CLASSES and shared else np.nan
            rows.append(
                {
                    "faces": faces,
                    "label": label,
                    "label_name": CLASS_NAMES[label],
                    "plurality": name,
                    "count": int(counts[k]),
                    "rate": rate,
                    "share_of_label": counts[k] / len(mine) if len(mine) else np.nan,
                }
            )
    return pd.DataFrame(rows)


# ---- the model's confused pairs against the votes -----------------------------------------------


def newcombe_interval(x1, n1, x2, n2):
    """95% interval of the difference of two independent proportions x1/n1 - x2/n2
    from their Wilson intervals (Newcombe 1998, method 10); NaNs if either is empty."""
    if n1 == 0 or n2 == 0:
        return np.nan, np.nan
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = metrics.wilson_interval(x1, n1)
    l2, u2 = metrics.wilson_interval(x2, n2)
    d = p1 - p2
    return d - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2), d + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)


def _share(hits, faces):
    low, high = metrics.wilson_interval(hits, faces)
    return (hits / faces if faces else np.nan), low, high


def pair_row(y_true, y_pred, face_votes, true, predicted, k):
    """Faces of class ``true`` predicted as ``predicted`` against those predicted
    right: how many of each have at least ``k`` votes for ``predicted``."""
    chose = votes.class_votes(face_votes)[:, predicted] >= k
    confused = (y_true == true) & (y_pred == predicted)
    correct = (y_true == true) & (y_pred == true)
    a, n1, b, n2 = (
        int((chose & confused).sum()),
        int(confused.sum()),
        int((chose & correct).sum()),
        int(correct.sum()),
    )
    share1, share2 = _share(a, n1), _share(b, n2)
    if n1 and n2:
        odds, p = sps.fisher_exact([[a, n1 - a], [b, n2 - b]])
    else:
        odds, p = np.nan, np.nan
    low, high = newcombe_interval(a, n1, b, n2)
    return {
        "k": k,
        "confused_faces": n1,
        "confused_with_votes": a,
        "confused_share": share1[0],
        "confused_low": share1[1],
        "confused_high": share1[2],
        "correct_faces": n2,
        "correct_with_votes": b,
        "correct_share": share2[0],
        "correct_low": share2[1],
        "correct_high": share2[2],
        "difference": share1[0] - share2[0],
        "difference_low": low,
        "difference_high": high,
        "odds_ratio": float(odds),
        "p": float(p),
    }


def pair_table(y_true, y_pred, face_votes, top_k, model, split="validation", ks=K_VOTES):
    """For each of the model's ``top_k`` most-confused pairs (``metrics.most_confused_pairs``)
    and each k: ``pair_row``, with Holm's correction over the pairs at that k (``PAIR_COLUMNS``)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    pairs = metrics.most_confused_pairs(metrics.confusion_counts(y_true, y_pred), top_k, split)
    rows = []
    for pair in pairs.itertuples():
        for k in ks:
            row = pair_row(y_true, y_pred, face_votes, pair.true, pair.predicted, k)
            base = {"model": model, "rank": pair.rank, "true": pair.true, "true_name": pair.true_name}
            base.update(predicted=pair.predicted, predicted_name=pair.predicted_name)
            rows.append({**base, **row, "split": split})
    table = pd.DataFrame(rows, columns=PAIR_COLUMNS)
    for k in ks:
        at_k = table["k"] == k
        table.loc[at_k, "p_holm"] = stats.holm(table.loc[at_k, "p"].to_numpy(np.float64))
    return table.astype({"p_holm": float})


# ---- accuracy against the votes -----------------------------------------------------------------


def plausible(answers, face_votes, min_votes=PLAUSIBLE_VOTES):
    """Whether at least ``min_votes`` annotators chose each face's answer (a FER2013 class)."""
    answers = np.asarray(answers, np.int64)
    return votes.class_votes(face_votes)[np.arange(len(answers)), answers] >= min_votes


def _accuracy_row(rater, measure, split, hits):
    hits = np.asarray(hits, bool)
    count, faces = int(hits.sum()), len(hits)
    estimate, low, high = _share(count, faces)
    return dict(
        zip(
            ACCURACY_COLUMNS,
            [rater, measure, MEASURES[measure], split, faces, count, estimate, low, high],
            strict=True,
        )
    )


def accuracy_table(y_true, predictions, face_votes, split="validation"):
    """Each model's accuracy against the labels, the plurality and the plausible
    answers, then the FER2013 labels' own agreement with the plurality
    (``ACCURACY_COLUMNS``; ``predictions``: {model: predicted classes})."""
    y_true = np.asarray(y_true)
    plurality = votes.plurality_class(face_votes)
    has = plurality >= 0
    rows = []
    for model, y_pred in predictions.items():
        y_pred = np.asarray(y_pred)
        rows.append(_accuracy_row(model, "labels", split, y_pred == y_true))
        rows.append(_accuracy_row(model, "labels_on_plurality_faces", split, (y_pred == y_true)[has]))
        rows.append(_accuracy_row(model, "plurality", split, (y_pred == plurality)[has]))
        rows.append(_accuracy_row(model, "plausible", split, plausible(y_pred, face_votes)))
    rows.append(_accuracy_row(LABELS_RATER, "plurality", split, (y_true == plurality)[has]))
    rows.append(_accuracy_row(LABELS_RATER, "plausible", split, plausible(y_true, face_votes)))
    return pd.DataFrame(rows, columns=ACCURACY_COLUMNS)


# ---- findings -----------------------------------------------------------------------------------


def _pct(x):
    return f"{100 * x:.1f}%" if np.isfinite(x) else "n/a"


def _points(estimate, low, high):
    """'+5.2 points [+1.0, +9.4]' (a difference of proportions)."""
    if not np.isfinite(estimate):
        return "n/a"
    if not np.isfinite(low):
        return f"{100 * estimate:+.1f} points"
    return f"{100 * estimate:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}]"


def _p(p):
    if not np.isfinite(p):
        return "no test"
    return "p < 1e-10" if p < 1e-10 else f"p = {p:.2g}"


def _finding(row, verdict, supported, opposite, none, evidence):
    """Fill in the verdict and the sentence that follows it: ``supported``, ``opposite``
    (the test rejects no-difference the other way), ``none`` (no difference found)."""
    if verdict == stats.SUPPORTED:
        sentence = supported
    elif verdict == stats.INCONCLUSIVE:
        sentence = "Too few faces to test this claim"
    elif np.isfinite(row["p"]) and row["p"] < stats.ALPHA:
        sentence = opposite
    else:
        sentence = f"No difference found: {none[0].lower()}{none[1:]}"
    return {**row, "verdict": verdict, "finding": f"{sentence.rstrip('.')}: {evidence}."}


def _claim(claim_id, claim, split, estimate, low, high, test, statistic, p, n):
    values = [claim_id, claim, split, CHOSEN, estimate, low, high, test, statistic, p, n, None, None]
    return dict(zip(FINDING_COLUMNS, values, strict=True))


def pair_findings(pairs, model="cnn", k=CLAIM_VOTES):
    """One claim per confused pair of ``model`` in ``pairs`` (``pair_table``), at ``k`` votes:
    its errors fall on faces that annotators also read as the predicted class."""
    rows = []
    mine = pairs[(pairs["model"] == model) & (pairs["k"] == k)]
    m = model.upper()
    for pair in mine.itertuples():
        t, j = pair.true_name, pair.predicted_name
        claim = (
            f"The {m}'s errors of {t} as {j} fall on faces that at least {k} of 10 annotators also "
            f"read as {j}, more often than its right answers on {t} faces do"
        )
        row = _claim(
            f"{model}_{t.lower()}_as_{j.lower()}_read_so_by_annotators",
            claim,
            pair.split,
            pair.difference,
            pair.difference_low,
            pair.difference_high,
            f"Fisher exact (two-sided), Holm over the {len(mine)} pairs",
            f"odds ratio {pair.odds_ratio:.2f}",
            pair.p_holm,
            pair.confused_faces + pair.correct_faces,
        )
        evidence = (
            f"at least {k} of 10 annotators chose {j} on {_pct(pair.confused_share)} of the "
            f"{pair.confused_faces} {t} faces the {m} called {j} and on {_pct(pair.correct_share)} of the "
            f"{pair.correct_faces} it got right, {_points(pair.difference, pair.difference_low, pair.difference_high)}, "
            f"{_p(pair.p_holm)} (Holm)"
        )
        verdict = stats.verdict(pair.p_holm, pair.difference)
        rows.append(
            _finding(
                row,
                verdict,
                f"The {m}'s {t}-as-{j} errors fall on faces people also read as {j}",
                f"The opposite holds: the {m}'s {t}-as-{j} errors fall on faces people read as {j} "
                "less often than its right answers do",
                f"the {m}'s {t}-as-{j} errors are not shown to fall on faces people read as {j} more "
                "often than its right answers",
                evidence,
            )
        )
    return rows


def _paired_claim(claim_id, claim, split, a, b, test_name, sentences, describe):
    """A McNemar claim "a is right more often than b" on the same faces."""
    result = stats.mcnemar_exact(a, b)
    row = _claim(
        claim_id,
        claim,
        split,
        result["difference"],
        result["low"],
        result["high"],
        test_name,
        f"{result['a_only']} vs {result['b_only']} discordant",
        result["p"],
        result["n"],
    )
    a_rate = float(np.mean(a)) if len(a) else np.nan
    b_rate = float(np.mean(b)) if len(b) else np.nan
    evidence = (
        f"{describe(a_rate, b_rate)} on {result['n']} {split} faces, "
        f"{_points(result['difference'], result['low'], result['high'])}, {_p(result['p'])}"
    )
    return _finding(row, stats.verdict(result["p"], result["difference"]), *sentences, evidence)


def model_findings(y_true, y_pred, face_votes, model, split="validation"):
    """Three claims about one model, each a McNemar test on the same faces: it agrees more
    with the plurality than with the labels; the labels agree with the plurality more
    often than it does (the one-annotator ceiling); counting plausible answers, it is
    right more often than the labels say."""
    y_true, y_pred, m = np.asarray(y_true), np.asarray(y_pred), model.upper()
    plurality = votes.plurality_class(face_votes)
    has = plurality >= 0
    test = "McNemar exact (two-sided)"
    rows = [
        _paired_claim(
            f"{model}_agrees_more_with_plurality_than_labels",
            f"The {m} agrees more often with the FER+ plurality than with the FER2013 labels",
            split,
            (y_pred == plurality)[has],
            (y_pred == y_true)[has],
            f"{test} (faces with a plurality among the 7 classes)",
            (
                f"The {m} agrees more often with the FER+ plurality than with the FER2013 labels",
                f"The opposite holds: the {m} agrees more often with the FER2013 labels than with the "
                "FER+ plurality",
                f"the {m} is not shown to agree more often with the FER+ plurality than with the labels",
            ),
            lambda a, b: f"{_pct(a)} against the plurality, {_pct(b)} against the labels",
        ),
        _paired_claim(
            f"{model}_below_label_ceiling",
            f"The FER2013 labels (one annotator each) agree with the FER+ plurality more often than the {m}",
            split,
            (y_true == plurality)[has],
            (y_pred == plurality)[has],
            f"{test} (faces with a plurality among the 7 classes)",
            (
                f"The {m} is below the ceiling label noise sets: FER2013's one annotator agrees with the "
                f"FER+ plurality more often than the {m} does",
                f"The opposite holds: the {m} agrees with the FER+ plurality more often than FER2013's "
                "labels do",
                f"the {m} is not shown to agree with the FER+ plurality less often than FER2013's labels",
            ),
            lambda a, b: f"labels {_pct(a)}, {m} {_pct(b)} against the plurality",
        ),
        _paired_claim(
            f"{model}_plausible_beyond_labels",
            f"Counting an answer at least {PLAUSIBLE_VOTES} of 10 annotators chose, the {m} is right more "
            "often than the FER2013 labels say",
            split,
            plausible(y_pred, face_votes),
            y_pred == y_true,
            test,
            (
                f"Many of the {m}'s errors are plausible readings: counting an answer at least "
                f"{PLAUSIBLE_VOTES} of 10 annotators chose, it is right more often than the labels say",
                f"The opposite holds: the {m}'s plausible accuracy is below its accuracy against the labels",
                f"the {m}'s plausible accuracy is not shown to differ from its accuracy against the labels",
            ),
            lambda a, b: f"plausible {_pct(a)}, against the labels {_pct(b)}",
        ),
    ]
    return rows


def findings(pairs, y_true, predictions, face_votes, split="validation", pair_model="cnn"):
    """The claims table (``FINDING_COLUMNS``): ``model_findings`` for each model
    in ``predictions`` ({model: predicted classes}), then ``pair_findings`` of ``pair_model``."""
    rows = []
    for model, y_pred in predictions.items():
        rows += model_findings(y_true, y_pred, face_votes, model, split)
    rows += pair_findings(pairs, pair_model)
    return pd.DataFrame(rows, columns=FINDING_COLUMNS)


# ---- everything, for the rule -------------------------------------------------------------------


def analyse(dataset, predictions, top_k, split="validation"):
    """Every table of the rule from the dataset (with votes) and {model: predictions
    arrays} (``predict.predict_dataset``'s). Returns a dict: ``confusion``
    (``confusion_table`` of the split and of train + validation), ``pairs``,
    ``accuracy``, ``findings``, and for the figure ``annotator_counts`` and
    ``model_counts`` ({model: 7 x 7}) on the split."""
    if not votes.has_votes(dataset):
        raise ValueError(
            "the dataset holds no FER+ votes for its faces (a dataset read with a FER+ "
            "votes file, or the built-in data, has them)"
        )
    if split != "validation":
        raise ValueError(f"the agreement analysis uses the validation split, not {split!r}")
    face_votes = dataset.votes_val
    answers = {}
    for model, arrays in predictions.items():
        y_true, probs = metrics.split_labels_and_probs(dataset, arrays, split)
        answers[model] = probs.argmax(axis=1)
    all_labels = np.concatenate([dataset.y_train, dataset.y_val])
    all_votes = np.concatenate([dataset.votes_train, dataset.votes_val])
    pairs = pd.concat(
        [pair_table(y_true, y_pred, face_votes, top_k, model, split) for model, y_pred in answers.items()],
        ignore_index=True,
    )
    return {
        "confusion": pd.concat(
            [
                confusion_table(y_true, face_votes, split),
                confusion_table(all_labels, all_votes, "train+validation"),
            ],
            ignore_index=True,
        ),
        "pairs": pairs,
        "accuracy": accuracy_table(y_true, answers, face_votes, split),
        "findings": findings(pairs, y_true, answers, face_votes, split),
        "annotator_counts": confusion(y_true, face_votes),
        "model_counts": {m: metrics.confusion_counts(y_true, p) for m, p in answers.items()},
    }
