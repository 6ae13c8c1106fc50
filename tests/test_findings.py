"""The findings table: verdicts follow the data, on cases built to be supported
and to be unsupported, so that no verdict is hard-wired."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from fer_workflow import findings
from fer_workflow.evaluation import replicates, stats
from fer_workflow.explain import filters

RNG = np.random.default_rng(0)


def labels_and_answers(n=600, accuracy=0.7, seed=0):
    """Labels (the same for every seed) and answers right on about ``accuracy`` of them."""
    y = np.random.default_rng(99).integers(0, 7, n)
    rng = np.random.default_rng(seed)
    right = rng.random(n) < accuracy
    wrong = (y + rng.integers(1, 7, n)) % 7
    return y, np.where(right, y, wrong)


def test_a_better_model_is_supported():
    y, good = labels_and_answers(accuracy=0.7, seed=1)
    _, bad = labels_and_answers(accuracy=0.35, seed=2)
    row = findings.model_comparison(y, good, bad, "validation", "nothing")
    assert row["verdict"] == stats.SUPPORTED
    assert row["low"] > 0 and 0.25 < row["estimate"] < 0.45
    assert row["finding"].startswith("The CNN is more accurate than the DNN")


def test_a_copy_of_the_other_model_is_not_supported():
    y, answers = labels_and_answers()
    row = findings.model_comparison(y, answers, answers.copy(), "validation", "nothing")
    assert row["verdict"] == stats.NOT_SUPPORTED
    assert row["estimate"] == 0 and row["p"] == 1.0
    assert row["finding"].startswith("No difference found")


def test_the_worse_model_claimed_better_is_the_opposite():
    y, good = labels_and_answers(accuracy=0.7, seed=1)
    _, bad = labels_and_answers(accuracy=0.35, seed=2)
    row = findings.model_comparison(y, bad, good, "test", "nothing")
    assert row["verdict"] == stats.NOT_SUPPORTED
    assert row["finding"].startswith("The opposite holds")
    assert row["split"] == "test"


def test_seed_comparison_from_the_replicate_table():
    per_seed = []
    for seed, (a, b) in enumerate([(0.66, 0.40), (0.67, 0.39), (0.65, 0.41)]):
        per_seed += [
            {"model": "cnn", "seed": seed, "val_accuracy": a, "val_macro_f1": a},
            {"model": "dnn", "seed": seed, "val_accuracy": b, "val_macro_f1": b},
        ]
    row = findings.seed_comparison(replicates.aggregate(per_seed), "nothing")
    assert row["verdict"] == stats.SUPPORTED and row["n"] == 3
    assert row["estimate"] == pytest.approx(0.26)
    one_seed = replicates.aggregate(per_seed[:2])
    assert findings.seed_comparison(one_seed, "nothing")["verdict"] == stats.INCONCLUSIVE


def faces(share, null_share, centre):
    return {
        "methods": np.array(["gradcam", "random"]),
        "region_names": np.array(["brows", "mouth"]),
        "region_share": share[None],
        "region_share_random_model": null_share[None],
        "centre_prior_share": np.asarray(centre, float),
    }


def test_a_region_is_attended_only_beyond_both_nulls():
    n = 200
    null_share = np.clip(RNG.normal([0.10, 0.10], 0.02, (n, 2)), 0, 1)
    trained = null_share + np.array([0.0, 0.15]) + RNG.normal(0, 0.02, (n, 2))
    # the mouth beats the re-initialised CNN and the centre prior; the brows beat neither
    rows = findings.region_rows(faces(trained, null_share, [0.10, 0.12]), "gradcam", "nothing")
    verdicts = {r["claim_id"]: r["verdict"] for r in rows}
    assert verdicts == {"attends_brows": stats.NOT_SUPPORTED, "attends_mouth": stats.SUPPORTED}
    # a centre prior that already puts more mass on the mouth than the CNN does: not attended
    rows = findings.region_rows(faces(trained, null_share, [0.10, 0.40]), "gradcam", "nothing")
    assert rows[1]["verdict"] == stats.NOT_SUPPORTED


def test_random_region_shares_are_not_attended():
    n = 200
    null_share = RNG.dirichlet(np.ones(2), n)
    trained = RNG.dirichlet(np.ones(2), n)
    rows = findings.region_rows(faces(trained, null_share, [0.5, 0.5]), "gradcam", "nothing")
    assert [r["verdict"] for r in rows] == [stats.NOT_SUPPORTED] * 2


def test_sane_method_prefers_the_configured_passing_method():
    table = pd.DataFrame(
        {
            "method": ["vanilla", "smoothgrad", "gradcam", "random"],
            "sanity_correlation": [0.13, 0.52, 0.08, np.nan],
            "sanity_correlation_high": [0.16, 0.55, 0.10, np.nan],
        }
    )
    assert findings.sane_method(table) == "gradcam"
    assert findings.sane_method(table, preferred="vanilla") == "vanilla"
    assert findings.sane_method(table, preferred="smoothgrad") == "gradcam"
    table["sanity_correlation_high"] = [0.6, 0.7, 0.55, np.nan]
    assert findings.sane_method(table) is None


def test_one_sanity_criterion_the_upper_bound_under_the_threshold():
    """A method whose mean is under the threshold but whose upper bound is
    over it fails the sanity row and is not chosen for the region claims."""
    table = pd.DataFrame(
        {
            "method": ["vanilla", "gradcam", "random"],
            "sanity_n_valid": [200, 200, pd.NA],
            "sanity_correlation": [0.48, 0.30, np.nan],
            "sanity_correlation_low": [0.45, 0.27, np.nan],
            "sanity_correlation_high": [0.51, 0.33, np.nan],
        }
    )
    verdicts = [r["verdict"] for r in findings.sanity_rows(table, 0.5, "nothing")]
    assert verdicts == [stats.NOT_SUPPORTED, stats.SUPPORTED]
    assert findings.sane_method(table, preferred="vanilla", threshold=0.5) == "gradcam"
    assert findings.sane_method(table.iloc[[0, 2]], preferred="vanilla", threshold=0.5) is None


def test_a_systematic_confusion_is_supported_and_even_spread_is_not():
    y = np.repeat(np.arange(7), 100)
    pred = y.copy()
    fear = np.flatnonzero(y == 2)
    pred[fear[:30]] = 4  # Fear taken for Sad 30 times
    angry = np.flatnonzero(y == 0)
    pred[angry[:30]] = np.repeat([1, 2, 3, 4, 5, 6], 5)  # Angry's errors spread evenly
    rows = findings.confusion_rows(y, pred, 2, "validation", "nothing")
    by_pair = {(r["claim"]): r for r in rows}
    fear_sad = by_pair["The CNN takes Fear for Sad"]
    assert fear_sad["verdict"] == stats.SUPPORTED and fear_sad["estimate"] == pytest.approx(0.3)
    assert fear_sad["low"] < 0.3 < fear_sad["high"]
    spread = [r for r in rows if r["claim"].startswith("The CNN takes Angry")]
    assert spread and all(r["verdict"] == stats.NOT_SUPPORTED for r in spread)


def faithfulness_table(verdict_deletion, verdict_insertion):
    row = {
        "method": "vanilla", "n_faces": 200, "n_valid": 198, "sanity_n_valid": 197,
        "sanity_correlation": 0.1, "sanity_correlation_low": 0.08, "sanity_correlation_high": 0.12,
        "sanity_flagged": False,
    }  # fmt: skip
    for curve, verdict in (("deletion", verdict_deletion), ("insertion", verdict_insertion)):
        row |= {
            f"{curve}_vs_random": -0.01, f"{curve}_vs_random_low": -0.03, f"{curve}_vs_random_high": 0.01,
            f"{curve}_vs_random_p": 0.2, f"{curve}_vs_random_p_holm": 0.4, f"{curve}_beats_random": verdict,
        }  # fmt: skip
    return pd.DataFrame([row, {"method": "random", "n_faces": 200, "n_valid": 200}])


def test_faithfulness_rows_follow_the_tables_verdicts_and_name_the_failing_method():
    rows = findings.faithfulness_rows(faithfulness_table(stats.NOT_SUPPORTED, stats.SUPPORTED), "nothing")
    assert [r["claim_id"] for r in rows][:2] == [
        "vanilla_deletion_beats_random",
        "vanilla_insertion_beats_random",
    ]
    assert rows[0]["verdict"] == stats.NOT_SUPPORTED
    assert "vanilla is not shown to beat a random pixel order on the deletion curve" in rows[0]["finding"]
    assert "198 of 200 faces" in rows[0]["finding"]
    sanity = findings.sanity_rows(faithfulness_table("", ""), 0.5, "nothing")
    assert sanity[0]["verdict"] == stats.SUPPORTED and sanity[0]["n"] == 197
    flagged = findings.sanity_rows(faithfulness_table("", "").assign(sanity_correlation_high=0.55), 0.5, "x")
    assert flagged[0]["verdict"] == stats.NOT_SUPPORTED


def test_chosen_on_validation_phrase():
    phrase = findings.chosen_on_validation(
        {"cnn": 24, "dnn": 0}, {"cnn": "none", "dnn": "validation"}, saliency_method=True
    )
    assert phrase == "recipe (CNN 24 trials); kept epoch (DNN); saliency method"
    assert findings.chosen_on_validation({"cnn": 0}, {"cnn": "none"}) == "nothing"


def test_markdown_and_html_carry_every_claim():
    y, good = labels_and_answers(accuracy=0.7, seed=1)
    table = findings.table([findings.model_comparison(y, good, good.copy(), "validation", "nothing")])
    text = findings.markdown(table)
    assert "1 claims: 0 supported, 1 not supported, 0 inconclusive" in text
    assert "No difference found" in text
    assert "not supported" in findings.html_page(table)


def filter_table(trained, null):
    from fer_workflow import CLASS_NAMES

    return pd.DataFrame(
        {
            "filter": range(len(trained)),
            "label": trained,
            "class": [CLASS_NAMES[k] for k in trained],
            "null_label": null,
            "null_class": [CLASS_NAMES[k] for k in null],
        }
    )


def filter_rows(trained, null, layer="block3_conv2"):
    """The findings' rows from plot_filters' two tables of these labels."""
    table = filter_table(trained, null)
    return findings.filter_rows(table, filters.class_tests(table), layer)


def test_filter_images_against_the_null():
    """All Surprise against a spread null: both claims supported; the same
    distribution as the null: neither."""
    rng = np.random.default_rng(0)
    spread = rng.integers(0, 7, 40)
    rows = filter_rows(np.full(40, 5), spread)
    assert [r["claim_id"] for r in rows] == [
        "filter_classes_differ_from_null_block3_conv2",
        "filter_images_look_like_surprise_block3_conv2",
    ]
    assert [r["verdict"] for r in rows] == [stats.SUPPORTED, stats.SUPPORTED]
    assert rows[1]["low"] > 0 and "the most common class is Surprise (40)" in rows[1]["finding"]
    same = filter_rows(spread, spread[::-1])
    assert [r["verdict"] for r in same] == [stats.NOT_SUPPORTED, stats.NOT_SUPPORTED]
    assert 0 <= same[0]["estimate"] <= 1 and same[0]["split"] == "filter images"


def test_road_rows_come_from_the_road_columns():
    table = faithfulness_table(stats.SUPPORTED, stats.SUPPORTED)
    row = table.iloc[0].to_dict()
    for curve in ("road_morf", "road_lerf"):
        row |= {
            f"{curve}_vs_random": -0.02, f"{curve}_vs_random_low": -0.03, f"{curve}_vs_random_high": -0.01,
            f"{curve}_vs_random_p": 0.001, f"{curve}_vs_random_p_holm": 0.003, f"{curve}_beats_random": stats.SUPPORTED,
        }  # fmt: skip
    rows = findings.faithfulness_rows(pd.DataFrame([row, table.iloc[1].to_dict()]), "nothing")
    assert [r["claim_id"] for r in rows][2:] == [
        "vanilla_road_morf_beats_random",
        "vanilla_road_lerf_beats_random",
    ]
    assert "ROAD" in rows[2]["claim"]


# ---- most-confused pairs: selection-aware -----------------------------------------------------

VAL_SUPPORT = np.array([400, 44, 410, 722, 483, 317, 496])  # FER2013's validation classes


def even_errors(rng, accuracy=0.65):
    """Labels and answers whose errors spread evenly over the other six classes."""
    y = np.repeat(np.arange(7), VAL_SUPPORT)
    wrong = rng.random(len(y)) > accuracy
    return y, np.where(wrong, (y + rng.integers(1, 7, len(y))) % 7, y)


def familywise_false_positive_rate(n_matrices=400, top_k=5, seed=0):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_matrices):
        y, pred = even_errors(rng)
        rows = findings.confusion_rows(y, pred, top_k, "validation", "nothing")
        hits += any(r["verdict"] == stats.SUPPORTED for r in rows)
    return hits / n_matrices


def test_even_errors_make_a_confusion_claim_at_most_5_percent_of_the_time():
    """The pairs are picked by rate on the faces they are tested on; Holm over
    the picked five alone made a claim on about 20% of these matrices."""
    assert familywise_false_positive_rate() <= stats.ALPHA


def test_confusion_p_values_cover_all_42_pairs():
    y, pred = even_errors(np.random.default_rng(1))
    rows = findings.confusion_rows(y, pred, 3, "validation", "nothing")
    assert all("Holm over all 42 off-diagonal pairs" in r["test"] for r in rows)
    from fer_workflow.evaluation.metrics import confusion_counts

    p = findings.confusion_pvalues(confusion_counts(y, pred))
    assert np.isfinite(p).sum() == 42 and np.isnan(np.diag(p)).all()
    # by hand: 30 of a class's 60 errors on one class, against 1/6
    counts = np.zeros((7, 7), int)
    counts[0] = [40, 30, 6, 6, 6, 6, 6]
    assert findings.confusion_pvalues(counts)[0, 1] == pytest.approx(
        sps.binomtest(30, 60, 1 / 6, alternative="greater").pvalue
    )


# ---- region claims: Holm over regions x nulls -------------------------------------------------


def test_region_claims_are_holm_corrected_over_regions_and_nulls():
    """A region whose two uncorrected p-values are just under 0.05 is not
    attended once the four tests (2 regions x 2 nulls) are corrected."""
    n = 60
    rng = np.random.default_rng(3)
    null_share = np.full((n, 2), 0.10)
    # the brows: barely above both nulls (uncorrected p about 0.02); the mouth: far above
    noise = rng.normal(0, 1, n)
    noise = (noise - noise.mean()) / noise.std()
    brows = 0.10 + 0.02 * (noise + 0.22)
    trained = np.stack([brows, np.full(n, 0.3) + 0.01 * noise], axis=1)
    rows = findings.region_rows(faces(trained, null_share, [0.10, 0.10]), "gradcam", "nothing")
    raw = stats.signed_rank_p(trained[:, 0] - 0.10)
    assert raw < 0.05 < stats.holm([raw, raw, 1e-9, 1e-9])[0]
    assert [r["verdict"] for r in rows] == [stats.NOT_SUPPORTED, stats.SUPPORTED]
    assert all("Holm over regions x nulls" in r["test"] for r in rows)
    # the row's p is the larger of its region's two corrected p-values
    assert rows[0]["p"] == pytest.approx(2 * raw)


# ---- claims that cannot be computed -----------------------------------------------------------


def sanity_table(high):
    return pd.DataFrame(
        {
            "method": ["gradcam", "random"],
            "sanity_correlation": [high - 0.02, np.nan],
            "sanity_correlation_high": [high, np.nan],
        }
    )


def test_region_claims_without_a_sane_method_are_an_inconclusive_row():
    share = np.full((10, 2), 0.5)
    rows = findings.region_claims(faces(share, share, [0.5, 0.5]), sanity_table(0.7), 0.5, None, "nothing")
    assert len(rows) == 1 and rows[0]["verdict"] == stats.INCONCLUSIVE
    assert "no saliency method passes the sanity check" in rows[0]["finding"]


def test_region_claims_from_an_older_faces_file_are_an_inconclusive_row():
    rows = findings.region_claims({"methods": np.array(["gradcam"])}, sanity_table(0.2), 0.5, None, "nothing")
    assert [r["verdict"] for r in rows] == [stats.INCONCLUSIVE]
    assert "no region shares" in rows[0]["finding"]


def test_filter_claims_without_a_null_are_inconclusive_rows():
    older = filter_table(np.full(40, 5), np.zeros(40, int)).drop(columns=["null_label", "null_class"])
    rows = findings.filter_claims(
        older, filters.class_tests(filter_table(np.full(40, 5), np.zeros(40, int))), "block3_conv2"
    )
    assert [r["verdict"] for r in rows] == [stats.INCONCLUSIVE] * 2
    assert all("no re-initialised network's classes" in r["finding"] for r in rows)
    missing = findings.filter_claims(None, None, "block3_conv2")
    assert [r["verdict"] for r in missing] == [stats.INCONCLUSIVE] * 2
    assert "no filter-class table" in missing[0]["finding"]
    untested = findings.filter_claims(filter_table(np.full(40, 5), np.zeros(40, int)), None, "block3_conv2")
    assert [r["verdict"] for r in untested] == [stats.INCONCLUSIVE] * 2
    assert "no filter-class tests" in untested[1]["finding"]


def test_a_faithfulness_table_without_road_gives_inconclusive_road_rows():
    rows = findings.faithfulness_rows(faithfulness_table(stats.SUPPORTED, stats.SUPPORTED), "nothing")
    road = [r for r in rows if "road" in r["claim_id"]]
    assert [r["claim_id"] for r in road] == [
        "vanilla_road_morf_beats_random",
        "vanilla_road_lerf_beats_random",
    ]
    assert all(r["verdict"] == stats.INCONCLUSIVE and "no road" in r["finding"] for r in road)


def test_inconclusive_wording_is_not_the_negative_wording():
    """The workflow test ties 'not shown' / 'no difference' to 'not supported'."""
    for row in [
        *findings.filter_claims(None, None, "x"),
        *findings.region_claims(None, sanity_table(0.7), 0.5, None, "nothing"),
        *findings.method_pair_rows(None, "nothing"),
    ]:
        text = row["finding"].lower()
        assert row["verdict"] == stats.INCONCLUSIVE and "inconclusive" in text
        assert "not shown" not in text and "no difference" not in text


# ---- filter classes: a permutation test, no degenerate interval ------------------------------


def test_filter_class_test_is_a_permutation_test_without_an_interval():
    rng = np.random.default_rng(0)
    spread = rng.integers(0, 7, 40)
    other = np.random.default_rng(1).integers(0, 7, 40)
    row = filter_rows(spread, other)[0]
    # the distance is > 0 whenever the labels differ at all: no interval of it is printed as evidence
    assert row["estimate"] > 0 and np.isnan(row["low"]) and np.isnan(row["high"])
    assert "permutation" in row["test"] and row["verdict"] == stats.NOT_SUPPORTED
    assert "[" not in row["finding"].split(";")[-1]


def test_filter_class_permutation_test_holds_its_level_on_sparse_tables():
    """Both networks' labels drawn from one sparse distribution: the test
    rejects at most about 5% of the time (the chi-square did not promise that)."""
    probs = [0.02, 0.02, 0.06, 0.3, 0.1, 0.3, 0.2]
    rng = np.random.default_rng(7)
    rejections = 0
    for _ in range(100):
        trained, null = rng.choice(7, 32, p=probs), rng.choice(7, 32, p=probs)
        _, p, _ = stats.permutation_test(trained, null, filters.class_distance, resamples=500, seed=1)
        rejections += p < stats.ALPHA
    assert rejections <= 10


# ---- saliency methods against each other ------------------------------------------------------


def method_faces(gap, n=120, seed=0):
    """Per-face AUCs of two methods (b better on deletion by ``gap``) and random."""
    rng = np.random.default_rng(seed)
    a = rng.normal(0.5, 0.1, n)
    aucs = np.stack([a, a - gap + rng.normal(0, 0.05, n), rng.normal(0.6, 0.1, n)])
    return {"methods": np.array(["vanilla", "gradcam", "random"])} | {
        f"{curve}_auc": aucs for curve in ("deletion", "insertion", "road_morf", "road_lerf")
    }


def test_methods_are_ranked_only_by_a_paired_test():
    from fer_workflow.explain import faithfulness

    table = faithfulness.method_comparisons(method_faces(0.05))
    assert len(table) == 4  # one pair x four curves, Holm over the four
    deletion = table.set_index("curve").loc["deletion"]
    assert deletion["better"] == "gradcam" and deletion["verdict"] == stats.SUPPORTED
    insertion = table.set_index("curve").loc["insertion"]
    assert insertion["better"] == "vanilla"  # lower insertion AUC is worse
    rows = findings.method_pair_rows(method_faces(0.05), "nothing")
    assert rows[0]["claim_id"] == "vanilla_vs_gradcam_deletion"
    assert rows[0]["finding"].startswith("gradcam falls faster on the deletion curve than vanilla")
    same = findings.method_pair_rows(method_faces(0.0), "nothing")
    assert all(r["verdict"] == stats.NOT_SUPPORTED for r in same)
    assert same[0]["finding"].startswith("No difference found between vanilla and gradcam")
