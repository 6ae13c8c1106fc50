"""Paired tests and intervals behind the study's claims (``fer_workflow.findings.claims``).

Every claim compares two things measured on the same faces, so every test
here is paired: McNemar's exact test for two classifiers' right/wrong
answers, the Wilcoxon signed-rank test and a percentile bootstrap interval
for per-face score differences, and Holm's correction when several methods
are tested at once.
"""

import numpy as np
from scipy import stats

CONFIDENCE = 0.95
ALPHA = 0.05
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
PERMUTATIONS = 10000


def bootstrap_mean(values, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED, confidence=CONFIDENCE):
    """Mean of the finite ``values`` and its percentile bootstrap interval: (mean, low, high, n).

    NaNs are left out and counted: ``n`` is the number of values used.
    """
    v = np.asarray(values, np.float64).ravel()
    v = v[np.isfinite(v)]
    n = len(v)
    if n == 0:
        return np.nan, np.nan, np.nan, 0
    if n == 1:
        return float(v[0]), np.nan, np.nan, 1
    idx = np.random.default_rng(seed).integers(0, n, size=(resamples, n))
    means = v[idx].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(v.mean()), float(low), float(high), n


def signed_rank_p(differences):
    """Two-sided Wilcoxon signed-rank p-value of paired ``differences`` (NaNs left out).

    1.0 when every difference is zero (nothing to rank: no difference found),
    NaN without any difference.
    """
    d = np.asarray(differences, np.float64).ravel()
    d = d[np.isfinite(d)]
    if len(d) == 0:
        return np.nan
    if not np.any(d != 0):
        return 1.0
    return float(stats.wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def holm(pvalues):
    """Holm's step-down adjusted p-values (same order; NaNs stay NaN and do not count)."""
    p = np.asarray(pvalues, np.float64)
    out = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    m = len(finite)
    if m == 0:
        return out
    order = finite[np.argsort(p[finite], kind="stable")]
    adjusted = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adjusted, 1.0)
    return out


def mcnemar_exact(correct_a, correct_b):
    """McNemar's exact test of two classifiers on the same faces.

    ``correct_a`` and ``correct_b`` are per-face booleans. Returns a dict:
    ``a_only`` (faces only A gets right), ``b_only``, the two-sided exact
    binomial p-value on those discordant faces (1.0 when there are none),
    and the paired accuracy difference A - B with its 95% interval (Wald on
    the paired difference, with the discordant counts; Agresti & Min 2005's
    +1 adjustment keeps it from collapsing at 0 discordant faces).
    """
    a = np.asarray(correct_a, bool)
    b = np.asarray(correct_b, bool)
    if a.shape != b.shape:
        raise ValueError(f"correct_a has {a.shape} faces, correct_b {b.shape}: they must be the same faces")
    n = len(a)
    a_only, b_only = int((a & ~b).sum()), int((~a & b).sum())
    p = 1.0 if a_only + b_only == 0 else float(stats.binomtest(a_only, a_only + b_only, 0.5).pvalue)
    diff = (a_only - b_only) / n if n else np.nan
    # Agresti-Min: add 0.5 to each cell of the 2x2 table (n + 2).
    n1, n12, n21 = n + 2, a_only + 0.5, b_only + 0.5
    d1 = (n12 - n21) / n1
    se = np.sqrt(max((n12 + n21) / n1 - d1**2, 0) / n1) if n else np.nan
    z = stats.norm.ppf(0.5 + CONFIDENCE / 2)
    return {
        "n": n,
        "a_only": a_only,
        "b_only": b_only,
        "difference": float(diff),
        "low": float(d1 - z * se),
        "high": float(d1 + z * se),
        "p": p,
    }


SUPPORTED, NOT_SUPPORTED, INCONCLUSIVE = "supported", "not supported", "inconclusive"


def verdict(p, estimate, direction=1, alpha=ALPHA):
    """The verdict on a directional claim ("A is larger than B": ``direction`` +1).

    supported: the (corrected) test rejects "no difference" and the estimate
    lies on the claimed side; not supported: it does not (no difference
    found), or it does on the other side; inconclusive: nothing to test.
    """
    if not np.isfinite(p) or not np.isfinite(estimate):
        return INCONCLUSIVE
    if p < alpha and np.sign(estimate) == np.sign(direction):
        return SUPPORTED
    return NOT_SUPPORTED


def interval_verdict(low, high, null=0.0, direction=1):
    """The verdict from an interval alone: supported when it lies wholly on the
    claimed side of ``null``, inconclusive when it is undefined."""
    if not (np.isfinite(low) and np.isfinite(high)):
        return INCONCLUSIVE
    side = low > null if direction > 0 else high < null
    return SUPPORTED if side else NOT_SUPPORTED


def permutation_test(a, b, statistic, resamples=PERMUTATIONS, seed=BOOTSTRAP_SEED):
    """Monte-Carlo permutation p-value that ``statistic(a, b)`` is larger than
    when the group labels are exchangeable: the items of ``a`` and ``b`` are
    pooled and dealt again at random (seeded) ``resamples`` times. Returns
    (observed, p, null_95th_percentile); p = (1 + #{null >= observed}) /
    (1 + resamples), never 0. Exact in level for any table, sparse or not.

    ``statistic(a_batch, b_batch)`` takes (resamples, len) arrays and returns
    one value per row (it is called with single rows, shaped (1, len), for
    the observed value)."""
    a, b = np.asarray(a), np.asarray(b)
    observed = float(statistic(a[None], b[None])[0])
    pooled = np.concatenate([a, b])
    rng = np.random.default_rng(seed)
    dealt = rng.permuted(np.broadcast_to(pooled, (resamples, len(pooled))), axis=1)
    null = statistic(dealt[:, : len(a)], dealt[:, len(a) :])
    # Ties with the observed value count against the claim (a small tolerance for float sums).
    p = (1 + int(np.sum(null >= observed - 1e-12))) / (1 + resamples)
    return observed, float(p), float(np.percentile(null, 95))


def upper_bound_under(high, threshold):
    """True when an interval's upper bound ``high`` is defined and lies under
    ``threshold``: the sanity check's one criterion (``faithfulness``'s
    ``sanity_flagged`` and ``findings``' sanity rows and region method)."""
    return bool(np.isfinite(high) and high < threshold)


def fisher_greater(hits_a, n_a, hits_b, n_b):
    """One-sided Fisher exact p that group A's rate of hits exceeds group B's."""
    table = [[hits_a, n_a - hits_a], [hits_b, n_b - hits_b]]
    return float(stats.fisher_exact(table, alternative="greater").pvalue)


def bootstrap_difference(
    a, b, statistic, resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED, confidence=CONFIDENCE
):
    """``statistic(a, b)`` and its percentile bootstrap interval, resampling
    each group's items (two independent samples): (value, low, high)."""
    a, b = np.asarray(a), np.asarray(b)
    rng = np.random.default_rng(seed)
    draws = [
        statistic(a[rng.integers(0, len(a), len(a))], b[rng.integers(0, len(b), len(b))])
        for _ in range(resamples)
    ]
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(draws, [tail, 100 - tail])
    return float(statistic(a, b)), float(low), float(high)
