"""The study's findings, stated by the run: one row per claim, each with its
number, 95% interval, paired test and a verdict that the sentence follows.

Claims (each on the faces it was measured on, labelled with its split and
with what that split was also used to choose):

- the CNN beats the parameter-matched DNN: McNemar's exact test on the same
  faces (validation, and test where its labels are known); with replicate
  seeds, the paired CNN - DNN difference over seeds too;
- each saliency method beats a random pixel order on the deletion and the
  insertion curve (paired per face, signed-rank, Holm over the methods;
  computed by ``faithfulness.paired_columns``), and passes the sanity check;
- saliency methods against each other: per curve and pair, the per-face AUC
  differences (signed-rank, Holm over pairs x curves); the only ground for
  calling one method more faithful than another;
- where the CNN looks: each face region's share of saliency mass against the
  re-initialised CNN's share on the same faces and against a centre prior
  (signed-rank, Holm over regions x nulls), with a method that passes the
  sanity check (``passes_sanity``: upper bound under the threshold);
- the most-confused pairs: is the confusion more than the class's errors
  spread evenly over the other classes would give? The pairs are picked on
  the faces they are tested on, so Holm runs over all 42 pairs;
- what the filter images look like to the CNN: the classes it gives the
  trained network's filter images against the classes it gives the
  re-initialised network's (the null; a permutation test), and the study's
  sentence "the filter images look like surprise" as a share against the
  null's share.

Verdicts come from ``fer_workflow.evaluation.stats``: "supported", "not supported" (no
difference found, or the opposite), "inconclusive" (nothing to test, or a
claim this run cannot compute: the row says why; a claim is never left out).
"""

import html

import numpy as np
import pandas as pd
from scipy import stats as sps

from fer_workflow import NUM_CLASSES
from fer_workflow.evaluation import stats
from fer_workflow.explain.faithfulness import FAITHFULNESS_CURVES
from fer_workflow.explain.filters import STUDY_CLASS

COLUMNS = [
    "claim_id",
    "claim",
    "split",
    "chosen_on_split",
    "estimate",
    "low",
    "high",
    "test",
    "statistic",
    "p",
    "n",
    "verdict",
    "finding",
]

NOTHING_CHOSEN = "nothing"


# ---- provenance -------------------------------------------------------------------------------


def chosen_on_validation(recipe_trials, epoch_chosen_on, saliency_method=False):
    """What the validation split was also used to choose, as a phrase.

    ``recipe_trials``: {model: number of recipe trials scored on validation};
    ``epoch_chosen_on``: {model: "validation" or "none"} from the model records.
    """
    parts = []
    trials = {m: int(n) for m, n in recipe_trials.items() if int(n) > 0}
    if trials:
        parts.append("recipe (" + ", ".join(f"{m.upper()} {n} trials" for m, n in trials.items()) + ")")
    epochs = [m.upper() for m, on in epoch_chosen_on.items() if on == "validation"]
    if epochs:
        parts.append(f"kept epoch ({', '.join(epochs)})")
    if saliency_method:
        parts.append("saliency method")
    return "; ".join(parts) if parts else NOTHING_CHOSEN


def _row(claim_id, claim, split, chosen, estimate, low, high, test, statistic, p, n, verdict, finding):
    n = int(n) if np.isfinite(n) else 0
    return dict(
        zip(
            COLUMNS,
            [claim_id, claim, split, chosen, estimate, low, high, test, statistic, p, n, verdict, finding],
            strict=True,
        )
    )


def inconclusive(claim_id, claim, split, chosen, test, reason):
    """The row of a claim this run cannot compute (no sane method, no null,
    an older table): verdict "inconclusive" and the reason, never a missing row."""
    finding = f"{claim}: inconclusive, {reason}."
    return _row(
        claim_id,
        claim,
        split,
        chosen,
        np.nan,
        np.nan,
        np.nan,
        test,
        "",
        np.nan,
        0,
        stats.INCONCLUSIVE,
        finding,
    )


def _p(p):
    """'p = 0.032', 'p < 1e-10'."""
    if not np.isfinite(p):
        return "no test"
    return "p < 1e-10" if p < 1e-10 else f"p = {p:.2g}"


def _ci(estimate, low, high, digits=3):
    if not np.isfinite(low):
        return f"{estimate:+.{digits}f}"
    return f"{estimate:+.{digits}f} [{low:+.{digits}f}, {high:+.{digits}f}]"


# ---- CNN vs DNN -------------------------------------------------------------------------------


def model_comparison(y_true, pred_a, pred_b, split, chosen, names=("cnn", "dnn")):
    """The claim "A is more accurate than B" on the same faces (McNemar exact)."""
    y_true = np.asarray(y_true)
    result = stats.mcnemar_exact(np.asarray(pred_a) == y_true, np.asarray(pred_b) == y_true)
    a, b = (name.upper() for name in names)
    verdict = stats.verdict(result["p"], result["difference"])
    gap = _ci(result["difference"], result["low"], result["high"])
    evidence = (
        f"accuracy difference {gap}, {result['a_only']} faces only the {a} gets right against "
        f"{result['b_only']} only the {b} does, {_p(result['p'])}"
    )
    if verdict == stats.SUPPORTED:
        finding = f"The {a} is more accurate than the {b} on the {split} faces: {evidence}."
    elif result["p"] < stats.ALPHA:
        finding = (
            f"The opposite holds: the {b} is more accurate than the {a} on the {split} faces: {evidence}."
        )
    else:
        finding = f"No difference found between the {a} and the {b} on the {split} faces: {evidence}."
    return _row(
        f"{names[0]}_beats_{names[1]}_{split}",
        f"The {a} is more accurate than the parameter-matched {b}",
        split,
        chosen,
        result["difference"],
        result["low"],
        result["high"],
        "McNemar exact (two-sided)",
        f"{result['a_only']} vs {result['b_only']} discordant",
        result["p"],
        result["n"],
        verdict,
        finding,
    )


def ensemble_comparison(ensemble_table, chosen):
    """The claim "the seed ensemble is more accurate than the run's CNN" from
    predict_ensemble's table (``evaluation.ensemble.table``: its McNemar test
    is made there), on the validation split; inconclusive without an ensemble."""
    claim = "The seed ensemble of CNNs is more accurate than the run's single CNN"
    test = "McNemar exact (two-sided), ensemble against the run's CNN, with the configured TTA"
    if ensemble_table is None:
        return inconclusive(
            "ensemble_beats_cnn_validation",
            claim,
            "validation",
            chosen,
            test,
            "this run trained no ensemble (ensemble.seeds is empty)",
        )
    rows = ensemble_table[(ensemble_table["split"] == "validation") & (ensemble_table["members"] > 1)]
    r = rows.iloc[0]
    verdict = stats.verdict(r["vs_first_p"], r["vs_first_gain"])
    evidence = (
        f"accuracy {r['accuracy']:.3f} against the CNN's, difference "
        f"{_ci(r['vs_first_gain'], r['vs_first_low'], r['vs_first_high'])}, {int(r['vs_first_wins'])} faces only "
        f"the ensemble gets right against {int(r['vs_first_losses'])} only the CNN does, {_p(r['vs_first_p'])}"
    )
    if verdict == stats.SUPPORTED:
        finding = (
            f"The {r['predictions']} is more accurate than the run's CNN on the validation faces: {evidence}."
        )
    else:
        finding = f"No gain found from the {r['predictions']} over the run's CNN on the validation faces: {evidence}."
    return _row(
        "ensemble_beats_cnn_validation",
        claim,
        "validation",
        chosen,
        r["vs_first_gain"],
        r["vs_first_low"],
        r["vs_first_high"],
        test,
        f"{int(r['vs_first_wins'])} vs {int(r['vs_first_losses'])} discordant",
        r["vs_first_p"],
        r["n"],
        verdict,
        finding,
    )


def seed_comparison(replicates, chosen, names=("cnn", "dnn"), score="val_accuracy"):
    """The same claim over replicate seeds: the paired difference's t-interval
    (``replicates.aggregate``'s table). Inconclusive with fewer than two seeds."""
    diff = replicates[replicates["model"] == f"{names[0]} - {names[1]}"]
    per_seed = diff[diff["statistic"] == "seed"][score].to_numpy(float)
    summary = diff[diff["statistic"] != "seed"].set_index("statistic")[score]
    mean, low, high = (float(summary.get(s, np.nan)) for s in ("mean", "ci95_low", "ci95_high"))
    n = len(per_seed)
    p = float(sps.ttest_1samp(per_seed, 0).pvalue) if n > 1 and per_seed.std() > 0 else np.nan
    verdict = stats.interval_verdict(low, high)
    a, b = (name.upper() for name in names)
    evidence = f"mean paired difference over {n} seeds {_ci(mean, low, high)}"
    if verdict == stats.SUPPORTED:
        finding = f"Over seeds too, the {a} is more accurate than the {b}: {evidence}."
    elif verdict == stats.INCONCLUSIVE:
        finding = f"Over seeds: {evidence}; an interval needs at least two seeds."
    else:
        finding = f"Over seeds, no difference found between the {a} and the {b}: {evidence}."
    return _row(
        f"{names[0]}_beats_{names[1]}_seeds",
        f"The {a} is more accurate than the {b}, over replicate seeds",
        "validation",
        chosen,
        mean,
        low,
        high,
        "paired t-interval over seeds",
        f"{n} seeds",
        p,
        n,
        verdict,
        finding,
    )


# ---- faithfulness -----------------------------------------------------------------------------

# What a faithful method does on each curve: explain.faithfulness.FAITHFULNESS_CURVES.
CURVES = {name: curve.claim for name, curve in FAITHFULNESS_CURVES.items()}


FAITHFULNESS_TEST = "Wilcoxon signed-rank, Holm over methods; bootstrap interval"


def faithfulness_rows(table, chosen):
    """One row per method and curve from faithfulness.csv's paired columns
    (method AUC - random AUC per face; Holm over the methods)."""
    rows = []
    for record in table[table["method"] != "random"].to_dict("records"):
        method = record["method"]
        for curve, what in CURVES.items():
            key = f"{curve}_vs_random"
            if key not in record:  # a table from before ROAD
                rows.append(
                    inconclusive(
                        f"{method}_{curve}_beats_random",
                        f"{method} {what} than a random pixel order",
                        "validation",
                        chosen,
                        FAITHFULNESS_TEST,
                        f"the faithfulness table has no {curve.replace('_', ' ')} columns (a table from "
                        "before that curve)",
                    )
                )
                continue
            estimate, low, high = record[key], record[f"{key}_low"], record[f"{key}_high"]
            p, verdict = record[f"{key}_p_holm"], record[f"{curve}_beats_random"]
            evidence = (
                f"AUC difference to random {_ci(estimate, low, high)}, Holm-corrected {_p(p)}, "
                f"{int(record['n_valid'])} of {int(record['n_faces'])} faces with a usable map"
            )
            if verdict == stats.SUPPORTED:
                finding = f"{method} {what} than a random pixel order: {evidence}."
            elif verdict == stats.INCONCLUSIVE:
                finding = f"{method}: nothing to test on the {curve.replace('_', ' ')} curve ({evidence})."
            else:
                finding = (
                    f"{method} is not shown to beat a random pixel order on the "
                    f"{curve.replace('_', ' ')} curve: {evidence}."
                )
            rows.append(
                _row(
                    f"{method}_{curve}_beats_random",
                    f"{method} {what} than a random pixel order",
                    "validation",
                    chosen,
                    estimate,
                    low,
                    high,
                    FAITHFULNESS_TEST,
                    f"{int(record['n_valid'])} paired faces",
                    p,
                    record["n_valid"],
                    verdict,
                    finding,
                )
            )
    return rows


def passes_sanity(high, threshold):
    """The one sanity criterion (``stats.upper_bound_under``, as ``faithfulness``'s
    ``sanity_flagged`` uses it): the upper bound of the mean rank correlation
    with the re-initialised CNN's maps lies under ``threshold``."""
    return stats.upper_bound_under(high, threshold)


def sanity_rows(table, threshold, chosen):
    """Each method passes the sanity check: the rank correlation of its maps
    with the re-initialised CNN's stays below ``threshold`` (interval wholly
    below: ``passes_sanity``)."""
    rows = []
    for record in table[table["method"] != "random"].to_dict("records"):
        method = record["method"]
        mean, low, high = (record[f"sanity_correlation{s}"] for s in ("", "_low", "_high"))
        verdict = (
            stats.INCONCLUSIVE
            if not np.isfinite(high)
            else (stats.SUPPORTED if passes_sanity(high, threshold) else stats.NOT_SUPPORTED)
        )
        evidence = (
            f"rank correlation with the re-initialised CNN's maps {mean:.2f} [{low:.2f}, {high:.2f}] "
            f"against the threshold {threshold}, {int(record['sanity_n_valid'])} faces"
        )
        if verdict == stats.SUPPORTED:
            finding = f"{method}'s maps depend on the trained weights: {evidence}."
        else:
            finding = f"{method}'s maps are not shown to depend on the trained weights: {evidence}."
        rows.append(
            _row(
                f"{method}_passes_sanity",
                f"{method}'s maps depend on the trained weights",
                "validation",
                chosen,
                mean,
                low,
                high,
                "normal interval of the mean correlation vs. threshold",
                "Spearman",
                np.nan,
                record["sanity_n_valid"],
                verdict,
                finding,
            )
        )
    return rows


# ---- where the CNN looks ----------------------------------------------------------------------


def sane_method(table, preferred=None, threshold=0.5):
    """The method the region claims use: one that passes the sanity check
    (``passes_sanity``: the upper bound of its correlation under
    ``threshold``), the configured ``preferred`` one if it qualifies, else the
    least correlated. None when no method passes."""
    methods = table[table["method"] != "random"]
    methods = methods[[passes_sanity(h, threshold) for h in methods["sanity_correlation_high"]]]
    if methods.empty:
        return None
    if preferred in set(methods["method"]):
        return preferred
    return str(methods.sort_values("sanity_correlation")["method"].iloc[0])


REGION_TEST = (
    "Wilcoxon signed-rank vs. the re-initialised CNN and vs. a centre prior, Holm over regions x nulls "
    "(both must reject, p the larger); bootstrap interval of the weaker difference"
)


def region_rows(faces, method, chosen):
    """Each region: is its share of the trained CNN's saliency mass larger
    than the re-initialised CNN's on the same faces, and than a centre prior's?
    Each region x null is a paired signed-rank test; Holm's correction runs
    over all of them (regions x 2 nulls). A region counts as attended only
    where both of its corrected tests reject with a positive difference."""
    methods = [str(m) for m in faces["methods"]]
    k = methods.index(method)
    share = np.asarray(faces["region_share"][k], np.float64)  # (n, r)
    null_model = np.asarray(faces["region_share_random_model"][k], np.float64)
    centre = np.asarray(faces["centre_prior_share"], np.float64)
    names = [str(name) for name in faces["region_names"]]
    differences = [(share[:, r] - null_model[:, r], share[:, r] - centre[r]) for r in range(len(names))]
    adjusted = stats.holm([stats.signed_rank_p(d) for pair in differences for d in pair]).reshape(-1, 2)
    rows = []
    for r, region in enumerate(names):
        place = region.replace("_", " ")
        vs_model, vs_centre = (stats.bootstrap_mean(d) for d in differences[r])
        both = [stats.verdict(p, v[0]) for p, v in zip(adjusted[r], (vs_model, vs_centre), strict=True)]
        verdict = (
            stats.INCONCLUSIVE
            if stats.INCONCLUSIVE in both
            else (stats.SUPPORTED if both == [stats.SUPPORTED] * 2 else stats.NOT_SUPPORTED)
        )
        weaker = vs_model if vs_model[0] <= vs_centre[0] else vs_centre
        mean_share = float(np.nanmean(share[:, r])) if np.isfinite(share[:, r]).any() else np.nan
        evidence = (
            f"share of {method} mass {mean_share:.3f}; against the re-initialised CNN "
            f"{_ci(*vs_model[:3])} (Holm {_p(adjusted[r, 0])}), against a centre prior "
            f"{_ci(*vs_centre[:3])} (Holm {_p(adjusted[r, 1])})"
        )
        if verdict == stats.SUPPORTED:
            finding = f"The CNN attends to the {place} region: {evidence}."
        elif verdict == stats.INCONCLUSIVE:
            finding = f"The {place} region: inconclusive, no faces with a share to compare ({evidence})."
        else:
            finding = f"The {place} region is not shown to be attended beyond the nulls: {evidence}."
        rows.append(
            _row(
                f"attends_{region}",
                f"The CNN attends to the {place} region ({method} maps)",
                "validation",
                chosen,
                weaker[0],
                weaker[1],
                weaker[2],
                REGION_TEST,
                "share difference",
                float(np.max(adjusted[r])),
                vs_model[3],
                verdict,
                finding,
            )
        )
    return rows


def region_claims(faces, table, threshold, preferred, chosen):
    """The region claims with the method that passes the sanity check, or one
    inconclusive row with the reason when they cannot be computed."""
    method = sane_method(table, preferred, threshold)
    claim = "The CNN attends to face regions beyond the nulls"
    if method is None:
        reason = (
            f"no saliency method passes the sanity check (upper bound of its correlation under {threshold})"
        )
    elif faces is None or "region_share" not in faces or method not in [str(m) for m in faces["methods"]]:
        reason = f"the per-face results hold no region shares of the {method} maps (an older file)"
    elif len(faces["region_names"]) == 0:
        reason = "no face regions are configured"
    else:
        return region_rows(faces, method, chosen)
    return [inconclusive("attends_regions", claim, "validation", chosen, REGION_TEST, reason)]


# ---- saliency methods against each other --------------------------------------------------


def method_pair_rows(faces, chosen):
    """Saliency methods compared with each other on the same faces, per curve:
    the signed-rank test of the per-face AUC differences, Holm over every
    pair x curve (``faithfulness.method_comparisons``). A ranking word about
    two methods is a claim only where its row is supported."""
    from fer_workflow.explain.faithfulness import CLAIMS, method_comparisons

    test = "Wilcoxon signed-rank of per-face AUC differences, Holm over method pairs x curves; bootstrap interval"
    if faces is None or not all(f"{curve}_auc" in faces for curve in CLAIMS):
        return [
            inconclusive(
                "saliency_methods_differ",
                "One saliency method is more faithful than another",
                "validation",
                chosen,
                test,
                "the per-face results lack some curves' AUCs (an older file)",
            )
        ]
    rows = []
    for r in method_comparisons(faces).to_dict("records"):
        curve, a, b = r["curve"], r["method_a"], r["method_b"]
        what = CURVES[curve]
        evidence = (
            f"per-face AUC difference {a} - {b} {_ci(r['difference'], r['low'], r['high'])}, "
            f"Holm-corrected {_p(r['p_holm'])}, {r['n']} faces with both maps usable"
        )
        if r["verdict"] == stats.SUPPORTED:
            finding = f"{r['better']} {what} than {r['worse']}: {evidence}."
        elif r["verdict"] == stats.INCONCLUSIVE:
            finding = (
                f"{a} against {b} on the {curve.replace('_', ' ')} curve: inconclusive, no paired faces."
            )
        else:
            finding = (
                f"No difference found between {a} and {b} on the {curve.replace('_', ' ')} curve: {evidence}."
            )
        rows.append(
            _row(
                f"{a}_vs_{b}_{curve}",
                f"{a} and {b} differ on the {curve.replace('_', ' ')} curve",
                "validation",
                chosen,
                r["difference"],
                r["low"],
                r["high"],
                test,
                f"{r['n']} paired faces",
                r["p_holm"],
                r["n"],
                r["verdict"],
                finding,
            )
        )
    return rows


# ---- confusions -------------------------------------------------------------------------------


def confusion_pvalues(counts):
    """One-sided p-values (K x K, NaN on the diagonal and for classes without
    errors) that true class i is taken for j more often than i's errors spread
    evenly over the other K - 1 classes would give: given class i's errors,
    count(i, j) is Binomial(errors_i, 1 / (K - 1)) under that null (exact)."""
    counts = np.asarray(counts, np.int64)
    k = len(counts)
    errors = np.repeat((counts.sum(axis=1) - np.diag(counts))[:, None], k, axis=1)
    # P(X >= count) for X ~ Binomial(errors_i, 1 / (k - 1)).
    p = sps.binom.sf(counts - 1, errors, 1 / (k - 1))
    return np.where(~np.eye(k, dtype=bool) & (errors > 0), p, np.nan)


def confusion_rows(y_true, y_pred, top_k, split, chosen, model="cnn"):
    """The ``top_k`` most-confused pairs (true i taken for j), each against the
    null that class i's errors spread evenly over the other six classes.

    The pairs are picked by rate on the same faces they are tested on, so the
    test is selection-aware: every off-diagonal pair (42) is tested (exact
    binomial of count(i, j) among class i's errors against 1/6, one-sided,
    ``confusion_pvalues``) and Holm's correction runs over all of them, not
    over the picked ``top_k``; the rate comes with its Wilson interval."""
    from fer_workflow.evaluation.metrics import confusion_counts, most_confused_pairs, wilson_interval

    counts = confusion_counts(y_true, y_pred)
    pairs = most_confused_pairs(counts, top_k, split=split)
    adjusted = stats.holm(confusion_pvalues(counts).ravel()).reshape(counts.shape)
    errors = counts.sum(axis=1) - np.diag(counts)
    m = int(np.isfinite(adjusted).sum())
    rows = []
    for r in pairs.to_dict("records"):
        i, j = r["true"], r["predicted"]
        null = errors[i] / r["support"] / (NUM_CLASSES - 1)
        p = adjusted[i, j]
        low, high = wilson_interval(r["count"], r["support"])
        verdict = stats.verdict(p, r["rate"] - null)
        true, pred = r["true_name"], r["predicted_name"]
        evidence = (
            f"{r['count']} of {r['support']} {true} faces ({r['rate']:.1%} [{low:.1%}, {high:.1%}]) "
            f"against {null:.1%} if its {errors[i]} errors spread evenly, Holm-corrected over all "
            f"{m} pairs {_p(p)}"
        )
        if verdict == stats.SUPPORTED:
            finding = f"The {model.upper()} takes {true} for {pred} systematically: {evidence}."
        else:
            finding = f"{true} taken for {pred} is not shown to be more than chance spread: {evidence}."
        rows.append(
            _row(
                f"{model}_confuses_{true}_as_{pred}_{split}".lower(),
                f"The {model.upper()} takes {true} for {pred}",
                split,
                chosen,
                r["rate"],
                low,
                high,
                "one-sided exact binomial of the pair among the class's errors vs. even spread, "
                f"Holm over all {m} off-diagonal pairs; Wilson interval",
                f"{r['count']} of {errors[i]} errors",
                p,
                r["support"],
                verdict,
                finding,
            )
        )
    return rows


# ---- what the filter images look like ---------------------------------------------------------

FILTER_TEST = (
    f"permutation test of the class labels between the two networks' filter images "
    f"({stats.PERMUTATIONS} permutations, seeded) on the total variation distance"
)
SHARE_TEST = "one-sided Fisher exact vs. the re-initialised network's images; bootstrap interval"


def filter_rows(filter_table, tests, layer, chosen=NOTHING_CHOSEN):
    """Two claims, worded from plot_filters' tables: the classes of the
    filter images (``filters.measure``) and the tests made there
    (``filters.class_tests``): the CNN puts the trained network's filter
    images in other classes than the re-initialised network's (a
    permutation test, no interval: the distance is never below 0), and
    more of them in the study's class than the null's."""
    from fer_workflow import CLASS_NAMES

    counts = np.stack(
        [
            np.bincount(filter_table[c].to_numpy(np.int64), minlength=NUM_CLASSES)
            for c in ("label", "null_label")
        ]
    )
    differ, share = (
        tests.set_index("test").loc[name] for name in ("classes_differ_from_null", "study_class_share")
    )
    study_class, n = share["study_class"], int(share["n"])
    top = counts[0].max()
    modal = [CLASS_NAMES[k] for k in np.flatnonzero(counts[0] == top)]
    mode_class = (
        f"the most common class is {modal[0]} ({top})"
        if len(modal) == 1
        else f"the most common classes are {', '.join(modal[:-1])} and {modal[-1]} ({top} each)"
    )

    def spread(row):
        return ", ".join(f"{CLASS_NAMES[k]} {c}" for k, c in enumerate(row) if c)

    distance, chance, p = differ["estimate"], differ["null_95th"], differ["p"]
    verdict = stats.verdict(p, distance)
    evidence = (
        f"trained: {spread(counts[0])}; re-initialised: {spread(counts[1])} ({n} filters each); "
        f"total variation distance {distance:.2f} against {chance:.2f} at the 95th percentile of "
        f"relabelled filters, permutation {_p(p)}"
    )
    if verdict == stats.SUPPORTED:
        finding = f"The CNN sees other classes in {layer}'s filter images than in a re-initialised network's: {evidence}."
    else:
        finding = f"The CNN's classes for {layer}'s filter images are not shown to differ from a re-initialised network's: {evidence}."
    rows = [
        _row(
            f"filter_classes_differ_from_null_{layer}",
            f"The CNN puts {layer}'s filter images in other classes than a re-initialised network's",
            "filter images",
            chosen,
            distance,
            np.nan,
            np.nan,
            FILTER_TEST,
            f"TV {distance:.3f}, null 95th percentile {chance:.3f}",
            p,
            n,
            verdict,
            finding,
        )
    ]
    gap, low, high, p = share["estimate"], share["low"], share["high"], share["p"]
    hits, null_hits = int(share["hits"]), int(share["null_hits"])
    verdict = stats.verdict(p, gap)
    evidence = (
        f"{hits} of {n} filter images are {study_class} to the CNN against {null_hits} of {n} of a "
        f"re-initialised network's, difference {_ci(gap, low, high, 2)}, {_p(p)}; {mode_class}"
    )
    if verdict == stats.SUPPORTED:
        finding = f"{layer}'s filter images look like {study_class} to the CNN, beyond the null: {evidence}."
    else:
        finding = (
            f"{layer}'s filter images are not shown to look like {study_class} beyond the null: {evidence}."
        )
    rows.append(
        _row(
            f"filter_images_look_like_{study_class.lower()}_{layer}",
            f"{layer}'s filter images look like {study_class} to the CNN (the study's sentence)",
            "filter images",
            chosen,
            gap,
            low,
            high,
            SHARE_TEST,
            f"{hits} vs {null_hits} of {n}",
            p,
            n,
            verdict,
            finding,
        )
    )
    return rows


def filter_claims(filter_table, tests, layer, chosen=NOTHING_CHOSEN):
    """``filter_rows``, or its two claims as inconclusive rows with the reason
    when a table is missing or has no null network's classes (an older table)."""
    if filter_table is not None and tests is not None and "null_label" in filter_table:
        return filter_rows(filter_table, tests, layer, chosen)
    if filter_table is None or tests is None:
        reason = "no filter-class table" if filter_table is None else "no filter-class tests (an older run)"
    else:
        reason = "the filter-class table has no re-initialised network's classes (an older table)"
    claims = [
        (f"filter_classes_differ_from_null_{layer}",
         f"The CNN puts {layer}'s filter images in other classes than a re-initialised network's", FILTER_TEST),
        (f"filter_images_look_like_{STUDY_CLASS.lower()}_{layer}",
         f"{layer}'s filter images look like {STUDY_CLASS} to the CNN (the study's sentence)", SHARE_TEST),
    ]  # fmt: skip
    return [inconclusive(i, claim, "filter images", chosen, test, reason) for i, claim, test in claims]


# ---- the table --------------------------------------------------------------------------------


def table(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


def markdown(findings):
    """findings.md: a headline count of verdicts, one sentence per claim, then the table."""
    counts = findings["verdict"].value_counts()
    lines = [
        "# Findings",
        "",
        f"{len(findings)} claims: "
        + ", ".join(
            f"{counts.get(v, 0)} {v}" for v in (stats.SUPPORTED, stats.NOT_SUPPORTED, stats.INCONCLUSIVE)
        )
        + ". Each is tested on the split named; 'chosen on split' lists what that split was also "
        "used to choose, which makes its numbers optimistic.",
        "",
    ]
    for record in findings.to_dict("records"):
        lines.append(
            f"- **{record['verdict']}** ({record['split']}; chosen on it: "
            f"{record['chosen_on_split']}): {record['finding']}"
        )
    lines += [
        "",
        "| claim | split | estimate [95% CI] | test | p | n | verdict |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in findings.to_dict("records"):
        interval = f"{r['estimate']:.3f}" + (
            f" [{r['low']:.3f}, {r['high']:.3f}]" if np.isfinite(r["low"]) else ""
        )
        lines.append(
            f"| {r['claim']} | {r['split']} | {interval} | {r['test']} | {_p(r['p'])} | {r['n']} | "
            f"{r['verdict']} |"
        )
    return "\n".join(lines) + "\n"


def html_page(findings):
    """findings.html: the same as a table, for the report's first page."""
    colour = {stats.SUPPORTED: "#1a7f37", stats.NOT_SUPPORTED: "#cf222e", stats.INCONCLUSIVE: "#9a6700"}
    cells = [
        "<table><thead><tr><th>verdict</th><th>finding</th><th>split (chosen on it)</th></tr></thead><tbody>"
    ]
    for r in findings.to_dict("records"):
        cells.append(
            f"<tr><td style='color:{colour[r['verdict']]};font-weight:bold'>{html.escape(r['verdict'])}</td>"
            f"<td>{html.escape(r['finding'])}</td>"
            f"<td>{html.escape(r['split'])} ({html.escape(r['chosen_on_split'])})</td></tr>"
        )
    cells.append("</tbody></table>")
    return "\n".join(cells) + "\n"


# ---- all claims of one run --------------------------------------------------------------------


def collect(
    dataset,
    predictions,
    records,
    faithfulness_table,
    faithfulness_faces,
    chosen,
    top_k=5,
    sanity_threshold=0.5,
    preferred_method=None,
    replicates=None,
    agreement=None,
    filter_table=None,
    filter_tests=None,
    filter_layer=None,
    ensemble=None,
):
    """Every claim of one run, as the findings table.

    ``predictions`` and ``records``: {"cnn": ..., "dnn": ...} (predict_model's
    arrays, the models' JSON records); ``chosen``: the config's
    findings.chosen_on_validation; ``agreement``: the annotator claims
    (``agreement.findings_rows`` as a table), whose validation rows get the
    same provenance. Test rows only where test labels are known.
    """
    from fer_workflow.evaluation.metrics import split_labels_and_probs

    epochs = {m: records[m].get("epoch_chosen_on", "none") for m in records}
    on_val = chosen_on_validation(chosen["recipe_trials"], epochs)
    on_val_explain = chosen_on_validation({}, {}, saliency_method=chosen["saliency_method"])
    splits = ["validation", "test"] if dataset.has_test_labels else ["validation"]
    rows = []
    for split in splits:
        y, cnn = split_labels_and_probs(dataset, predictions["cnn"], split)
        _, dnn = split_labels_and_probs(dataset, predictions["dnn"], split)
        rows.append(
            model_comparison(
                y, cnn.argmax(1), dnn.argmax(1), split, on_val if split == "validation" else NOTHING_CHOSEN
            )
        )
    if replicates is not None:
        rows.append(seed_comparison(replicates, on_val))
    else:
        rows.append(
            inconclusive(
                "cnn_beats_dnn_seeds",
                "The CNN is more accurate than the DNN, over replicate seeds",
                "validation",
                on_val,
                "paired t-interval over seeds",
                "this run trained one seed (replicates.seeds is empty); presets/fer2013-replicates.yaml trains several",
            )
        )
    rows.append(ensemble_comparison(ensemble, on_val))
    rows += faithfulness_rows(faithfulness_table, on_val_explain)
    rows += sanity_rows(faithfulness_table, sanity_threshold, on_val_explain)
    rows += method_pair_rows(faithfulness_faces, on_val_explain)
    rows += region_claims(
        faithfulness_faces, faithfulness_table, sanity_threshold, preferred_method, on_val_explain
    )
    for split in splits:
        y, cnn = split_labels_and_probs(dataset, predictions["cnn"], split)
        rows += confusion_rows(
            y, cnn.argmax(1), top_k, split, on_val if split == "validation" else NOTHING_CHOSEN
        )
    rows += filter_claims(filter_table, filter_tests, filter_layer)
    if agreement is not None:
        for row in agreement[COLUMNS].to_dict("records"):
            row["chosen_on_split"] = on_val if row["split"] == "validation" else NOTHING_CHOSEN
            rows.append(_row(*row.values()))
    return table(rows)
