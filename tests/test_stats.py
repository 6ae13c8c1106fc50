"""Paired tests and intervals (fer_workflow.evaluation.stats) against hand-computed values."""

import numpy as np
import pytest
from scipy import stats as sps

from fer_workflow.evaluation import stats
from fer_workflow.explain import filters


def test_bootstrap_mean_covers_the_mean_and_drops_nans():
    values = np.r_[np.random.default_rng(1).normal(2.0, 1.0, 400), np.nan, np.nan]
    mean, low, high, n = stats.bootstrap_mean(values)
    assert n == 400
    assert mean == pytest.approx(np.nanmean(values))
    assert low < mean < high
    # the percentile interval is about the normal one, 1.96 standard errors
    assert high - low == pytest.approx(2 * 1.96 * np.nanstd(values, ddof=1) / 20, rel=0.15)


def test_bootstrap_mean_of_nothing_is_nan():
    assert np.isnan(stats.bootstrap_mean([np.nan])[0])
    assert stats.bootstrap_mean([np.nan])[3] == 0


def test_signed_rank_p_matches_scipy_and_handles_all_zero():
    d = np.array([0.3, -0.1, 0.5, 0.2, 0.7, 0.1, -0.05, 0.4])
    assert stats.signed_rank_p(d) == pytest.approx(sps.wilcoxon(d).pvalue)
    assert stats.signed_rank_p(np.zeros(10)) == 1.0
    assert np.isnan(stats.signed_rank_p([np.nan]))


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04 with m = 3: 0.03, 0.04, 0.04 (monotone)
    adjusted = stats.holm([0.04, 0.01, np.nan, 0.02])
    np.testing.assert_allclose(adjusted, [0.04, 0.03, np.nan, 0.04])
    assert stats.holm([0.9, 0.8])[0] == 1.0


def test_mcnemar_counts_and_exact_p():
    a = np.array([1, 1, 1, 1, 1, 1, 0, 0, 1, 0], bool)
    b = np.array([0, 0, 0, 0, 0, 1, 0, 1, 1, 0], bool)
    result = stats.mcnemar_exact(a, b)
    assert (result["a_only"], result["b_only"]) == (5, 1)
    assert result["p"] == pytest.approx(sps.binomtest(5, 6, 0.5).pvalue)
    assert result["difference"] == pytest.approx(0.4)
    assert result["low"] < 0.4 < result["high"]


def test_mcnemar_of_a_copy_finds_no_difference():
    a = np.random.default_rng(0).random(300) < 0.6
    result = stats.mcnemar_exact(a, a.copy())
    assert result["p"] == 1.0 and result["difference"] == 0
    assert result["low"] < 0 < result["high"]
    assert stats.verdict(result["p"], result["difference"]) == stats.NOT_SUPPORTED


def test_mcnemar_refuses_different_face_counts():
    with pytest.raises(ValueError, match="same faces"):
        stats.mcnemar_exact(np.ones(3, bool), np.ones(4, bool))


@pytest.mark.parametrize(
    ("p", "estimate", "direction", "expected"),
    [
        (0.001, 0.2, 1, stats.SUPPORTED),
        (0.001, -0.2, 1, stats.NOT_SUPPORTED),
        (0.001, -0.2, -1, stats.SUPPORTED),
        (0.3, 0.2, 1, stats.NOT_SUPPORTED),
        (np.nan, 0.2, 1, stats.INCONCLUSIVE),
    ],
)
def test_verdict(p, estimate, direction, expected):
    assert stats.verdict(p, estimate, direction) == expected


def test_interval_verdict():
    assert stats.interval_verdict(0.1, 0.3) == stats.SUPPORTED
    assert stats.interval_verdict(-0.1, 0.3) == stats.NOT_SUPPORTED
    assert stats.interval_verdict(-0.3, -0.1, direction=-1) == stats.SUPPORTED
    assert stats.interval_verdict(np.nan, 0.3) == stats.INCONCLUSIVE


def total_variation(a, b):
    return filters.class_distance(a, b)


def test_permutation_test_of_labels():
    same = np.tile(np.arange(7), 5)
    observed, p, chance = stats.permutation_test(same, same[::-1], total_variation, resamples=2000)
    assert observed == 0 and p == 1.0 and chance > 0
    apart = np.r_[np.zeros(20, int), np.ones(15, int)]
    observed, p, _ = stats.permutation_test(np.full(35, 5), apart, total_variation, resamples=2000)
    assert observed == 1.0 and p == pytest.approx(1 / 2001)  # never 0
    # seeded: the same p again
    once, again = (stats.permutation_test(same, apart, total_variation, resamples=500)[1] for _ in range(2))
    assert once == again
