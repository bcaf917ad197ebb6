"""Intervals and tests.

What is proved here: the moments merge exactly; the intervals equal their formulas and the
references (statsmodels' Wilson interval, McNemar test and Holm/Bonferroni adjustments,
numpy's weighted variance with the reliability correction); and — by simulation — the
nominal 95 % intervals cover the true value in 95 % of data sets: normal, skewed
(lognormal) and weighted losses, rmse (delta method), 0/1 losses with p = 0.1 (Wilson), and
the Poisson percentile bootstrap. The tolerance is 3 binomial standard errors of the
observed coverage: ±3·√(0.95·0.05/R) (±0.034 for R = 400 data sets), so a correct interval
fails with probability ≈ 0.3 % per check — and the seeds are fixed, so the run is
deterministic. ``LOSSCLI_LONG_TESTS=1`` runs R = 4000 (±0.010).
"""

from __future__ import annotations

import json
import math
import os
import random

import numpy as np
import pytest

from losscli.stats.intervals import (
    Moments,
    bonferroni,
    bootstrap_interval,
    discordant_counts,
    holm,
    mcnemar_exact,
    mean_interval,
    paired_test,
    rmse_interval,
    wilson_interval,
)
from losscli.stats.resample import BootstrapSums, row_ids

LONG = os.environ.get("LOSSCLI_LONG_TESTS") == "1"
R = 4000 if LONG else 400
#: Rows per simulated data set: the long run also takes more rows, because the normal
#: interval's coverage error on skewed data shrinks only as O(n^-1/2) (measured over 4000
#: data sets at n = 200: lognormal mean 0.927, rmse 0.939; bootstrap at n = 100: 0.928 —
#: real deficits that the ±0.010 of the long run resolves and the short run's ±0.034 not).
N = 2000 if LONG else 200
TOL = 3 * math.sqrt(0.95 * 0.05 / R)


def _moments(values, weights=None, chunk=None):
    m = Moments()
    if chunk is None:
        m.update(values, weights)
        return m
    for s in range(0, len(values), chunk):
        m.update(values[s:s + chunk], None if weights is None else weights[s:s + chunk])
    return m


# -- moments -------------------------------------------------------------------------------
def test_moments_merge_exactly_in_any_order():
    rng = np.random.default_rng(0)
    v, w = rng.lognormal(size=1000), rng.uniform(0, 3, 1000)
    parts = [_moments(v[s:s + 97], w[s:s + 97]) for s in range(0, 1000, 97)]
    results = []
    for seed in range(3):
        pool = [Moments.from_dict(json.loads(json.dumps(p.to_dict()))) for p in parts]
        random.Random(seed).shuffle(pool)
        acc = Moments()
        for p in pool:
            acc.merge(p)
        results.append(acc)
    assert results[0] == results[1] == results[2] == _moments(v, w, chunk=97)
    assert results[0].rows == 1000


def test_variance_matches_the_reliability_weighted_formula():
    rng = np.random.default_rng(1)
    v, w = rng.normal(3, 2, 500), rng.uniform(0.1, 4, 500)
    m = _moments(v, w)
    mean = np.average(v, weights=w)
    v1, v2 = w.sum(), (w * w).sum()
    expected = np.sum(w * (v - mean) ** 2) / (v1 - v2 / v1)
    assert m.variance() == pytest.approx(expected, rel=1e-12)
    assert m.n_eff() == pytest.approx(v1 ** 2 / v2, rel=1e-15)
    unweighted = _moments(v)
    assert unweighted.variance() == pytest.approx(np.var(v, ddof=1), rel=1e-12)
    assert unweighted.n_eff() == 500.0


def test_mean_interval_formula_and_undefined_cases():
    v = np.array([1.0, 2.0, 4.0, 7.0])
    iv = mean_interval(_moments(v))
    se = np.std(v, ddof=1) / 2.0
    assert iv.defined and iv.estimate == 3.5
    assert iv.low == pytest.approx(3.5 - 1.959963984540054 * se, rel=1e-14)
    assert iv.high == pytest.approx(3.5 + 1.959963984540054 * se, rel=1e-14)
    one = mean_interval(_moments(np.array([5.0, 6.0]), np.array([1.0, 0.0])))
    assert not one.defined and "at least 2" in one.reason
    assert "sum to 0" in mean_interval(_moments(np.array([5.0, 6.0]), np.zeros(2))).reason
    assert "NaN" in mean_interval(_moments(np.array([np.nan, 1.0]))).reason
    assert not mean_interval(Moments()).defined
    const = mean_interval(_moments(np.full(10, 2.0)))
    assert (const.low, const.high) == (2.0, 2.0)
    with pytest.raises(ValueError, match="level"):
        mean_interval(_moments(v), level=95)


def test_rmse_interval_is_the_delta_method():
    sq = np.array([0.25, 1.0, 4.0, 0.0, 2.25])
    m = _moments(sq)
    mse_iv = mean_interval(m)
    iv = rmse_interval(m)
    rmse = math.sqrt(sq.mean())
    assert iv.estimate == pytest.approx(rmse, rel=1e-15)
    assert iv.se == pytest.approx(mse_iv.se / (2 * rmse), rel=1e-14)
    assert "mse is 0" in rmse_interval(_moments(np.zeros(5))).reason


def test_wilson_matches_statsmodels_and_the_written_formula():
    sm = pytest.importorskip("statsmodels.stats.proportion")
    for k, n in [(0, 10), (1, 10), (3, 171), (17, 171), (50, 50), (12, 1000)]:
        losses = np.r_[np.ones(k), np.zeros(n - k)]
        iv = wilson_interval(_moments(losses))
        lo, hi = sm.proportion_confint(k, n, alpha=0.05, method="wilson")
        assert iv.low == pytest.approx(lo, abs=1e-14) and iv.high == pytest.approx(hi, abs=1e-14)
        # Wilson (1927), as written in Brown, Cai & DasGupta (2001), Statist. Sci. 16:101, eq. 4
        z, p = 1.959963984540054, k / n
        centre = (k + z * z / 2) / (n + z * z)
        half = z * math.sqrt(n) / (n + z * z) * math.sqrt(p * (1 - p) + z * z / (4 * n))
        assert iv.low == pytest.approx(max(centre - half, 0), abs=1e-14)
    # weighted: the effective n replaces n
    w = np.array([1.0, 1.0, 2.0, 2.0, 4.0])
    iv = wilson_interval(_moments(np.array([1.0, 0, 0, 1, 0]), w))
    assert iv.n_eff == pytest.approx(100 / 26)
    with pytest.raises(ValueError, match="0/1"):
        wilson_interval(_moments(np.array([0.5, 1.0])))


def test_bootstrap_interval_percentile_and_basic():
    reps = np.arange(1.0, 101.0)
    iv = bootstrap_interval(50.0, reps)
    # numpy's linear quantile: 1 + 0.025·99 = 3.475 (to rounding)
    assert (iv.low, iv.high) == pytest.approx((3.475, 97.525), rel=1e-14)
    basic = bootstrap_interval(60.0, reps, method="basic")
    assert basic.low == pytest.approx(120 - iv.high) and basic.high == pytest.approx(120 - iv.low)
    few = bootstrap_interval(1.0, np.r_[np.arange(39.0), np.nan])
    assert not few.defined and "at least 40" in few.reason
    assert bootstrap_interval(1.0, np.r_[np.arange(40.0), np.nan]).defined


def test_paired_test():
    d = np.array([0.1, 0.3, -0.1, 0.2, 0.4, 0.0])
    t = paired_test(_moments(d))
    z = d.mean() / (np.std(d, ddof=1) / math.sqrt(6))
    assert t.statistic == pytest.approx(z, rel=1e-13)
    assert t.p_value == pytest.approx(math.erfc(abs(z) / math.sqrt(2)), rel=1e-12)
    assert paired_test(_moments(np.zeros(4))).p_value == 1.0
    assert paired_test(_moments(np.ones(4))).p_value == 0.0
    assert paired_test(_moments(np.ones(1))).p_value is None


def test_mcnemar_exact_worked_example_and_statsmodels():
    # 171 rows; model A wrong on 10, model B on 7, both wrong on 6: b = 4, c = 1.
    a = np.zeros(171, bool)
    b = np.zeros(171, bool)
    a[:10] = True
    b[:6] = True
    b[100] = True
    assert discordant_counts(a, b) == (4, 1)
    assert mcnemar_exact(4, 1).p_value == 0.375  # 2·(C(5,0) + C(5,1))/2⁵ = 12/32
    assert mcnemar_exact(5, 2).p_value == 2 * 29 / 128
    assert mcnemar_exact(0, 0).p_value == 1.0
    assert mcnemar_exact(3, 3).p_value == 1.0
    ct = pytest.importorskip("statsmodels.stats.contingency_tables")
    for bb, cc in [(4, 1), (5, 2), (0, 9), (30, 12), (100, 130)]:
        ref = ct.mcnemar(np.array([[6, bb], [cc, 160]]), exact=True).pvalue
        assert mcnemar_exact(bb, cc).p_value == pytest.approx(ref, rel=1e-12)


def test_holm_and_bonferroni():
    # Worked example: p = (0.01, 0.04, 0.03, 0.005), m = 4. Sorted: 0.005·4 = 0.02,
    # 0.01·3 = 0.03, 0.03·2 = 0.06, 0.04·1 = 0.04 → running max 0.02, 0.03, 0.06, 0.06.
    p = [0.01, 0.04, 0.03, 0.005]
    np.testing.assert_allclose(holm(p), [0.03, 0.06, 0.06, 0.02], rtol=1e-15)
    np.testing.assert_allclose(bonferroni(p), [0.04, 0.16, 0.12, 0.02], rtol=1e-15)
    mt = pytest.importorskip("statsmodels.stats.multitest")
    rng = np.random.default_rng(5)
    for _ in range(5):
        q = rng.uniform(0, 0.2, 12)
        q[3] = q[7]  # a tie
        np.testing.assert_allclose(holm(q), mt.multipletests(q, method="holm")[1], rtol=1e-14)
        np.testing.assert_allclose(bonferroni(q), mt.multipletests(q, method="bonferroni")[1])
    with pytest.raises(ValueError):
        holm([0.5, 1.5])


# -- coverage by simulation -------------------------------------------------------------
def _coverage(make, interval, truth, seed, n=N):
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(R):
        values, weights = make(rng, n)
        iv = interval(_moments(values, weights))
        assert iv.defined
        hits += iv.low <= truth <= iv.high
    return hits / R


@pytest.mark.parametrize("name,make,interval,truth", [
    ("normal", lambda r, n: (r.normal(2.0, 3.0, n), None), mean_interval, 2.0),
    ("lognormal", lambda r, n: (r.lognormal(0.0, 1.0, n), None), mean_interval, math.exp(0.5)),
    ("weighted", lambda r, n: (r.normal(1.0, 1.0, n), r.lognormal(0.0, 0.7, n)), mean_interval,
     1.0),
    ("rmse", lambda r, n: (r.normal(0.0, 2.0, n) ** 2, None), rmse_interval, 2.0),
    ("zero_one", lambda r, n: ((r.random(n) < 0.1).astype(float), None), wilson_interval, 0.1),
    ("zero_one_weighted", lambda r, n: ((r.random(n) < 0.1).astype(float),
                                        r.uniform(0.5, 2.0, n)), wilson_interval, 0.1),
])
def test_coverage_of_nominal_95(name, make, interval, truth):
    cov = _coverage(make, interval, truth, seed=sum(map(ord, name)))
    print(f"{name}: coverage {cov:.3f}")
    assert abs(cov - 0.95) <= TOL, f"{name}: coverage {cov:.3f}, expected 0.95 ± {TOL:.3f}"


def test_coverage_of_poisson_percentile_bootstrap():
    reps = R // 2
    tol = 3 * math.sqrt(0.95 * 0.05 / reps)
    rng = np.random.default_rng(7)
    hits = 0
    n = N // 2
    for k in range(reps):
        values = rng.normal(5.0, 2.0, n)
        sums = BootstrapSums(200, seed=k, columns=1)
        sums.update(row_ids(k, 0, n), values)
        iv = bootstrap_interval(float(values.mean()), sums.means()[:, 0])
        hits += iv.low <= 5.0 <= iv.high
    cov = hits / reps
    print(f"bootstrap: coverage {cov:.3f}")
    assert abs(cov - 0.95) <= tol, f"bootstrap coverage {cov:.3f}, expected 0.95 ± {tol:.3f}"


def test_too_few_replicates_names_the_level_as_asked():
    # a Bonferroni-corrected level (99.5833 %) is not "100 %"; the reason says how to fix it
    from losscli.stats.intervals import bootstrap_interval

    level = 1 - 0.05 / 12
    got = bootstrap_interval(0.5, np.linspace(0, 1, 200), level, "percentile")
    assert got.low is None
    assert "at least 480 are needed for a 99.5833% interval (raise --replicates)" in got.reason
