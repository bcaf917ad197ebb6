"""Divergence, embedding and probabilistic kernels against known values (hand-derived from
the formula of the reference each names; arithmetic written out with ``math``), extremes
and relations."""

from __future__ import annotations

import math

import numpy as np
import pytest

import losscli

EPS = float(np.finfo(np.float64).eps)
P = [0.25, 0.75]
Q = [0.5, 0.5]


def per_row(pred, target, loss, **kw):
    report = losscli.evaluate(predictions=np.asarray(pred, float), targets=np.asarray(target, float),
                              losses=[loss], reduction="none", **kw)
    (label,) = [k for k in report.per_row if k != "row"]
    return report.per_row[label]


def one(pred, target, loss, **kw) -> float:
    return float(per_row([pred], [target], loss, **kw)[0])


# --- divergences -------------------------------------------------------------------------

def test_kl_div_torch_batchmean_formula():
    # torch kl_div(log p, q, reduction='batchmean') per row: Σ q·(log q − log p)
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert one(P, Q, "kl_div") == pytest.approx(expected, rel=1e-14)
    assert expected == pytest.approx(0.5 * math.log(4 / 3), rel=1e-14)
    # batchmean: the mean over rows of the per-row sums
    rows = [P, [0.5, 0.5], [0.9, 0.1]]
    targets = [Q, Q, [0.2, 0.8]]
    by_row = [0.5 * math.log(4 / 3), 0.0, 0.2 * math.log(0.2 / 0.9) + 0.8 * math.log(0.8 / 0.1)]
    got = losscli.evaluate(predictions=np.array(rows), targets=np.array(targets), losses="kl_div")["kl_div"]
    assert got == pytest.approx(sum(by_row) / 3, rel=1e-14)


def test_kl_div_zero_terms_and_class_index_targets():
    # 0·log 0 = 0: q = [1, 0] against p = [0.8, 0.2] is −log 0.8; a class index is one-hot
    assert one([0.8, 0.2], [1.0, 0.0], "kl_div") == pytest.approx(-math.log(0.8), rel=1e-15)
    assert one([0.8, 0.2], 0, "kl_div") == pytest.approx(-math.log(0.8), rel=1e-15)


def test_kl_div_extremes():
    # p = 0 where q > 0: clipped at eps, so q·log(q/eps) = −log eps (finite, documented);
    # eps = 0 gives the mathematical value, inf
    assert one([0.0, 1.0], [1.0, 0.0], "kl_div") == pytest.approx(-math.log(EPS), rel=1e-14)
    assert one([0.0, 1.0], [1.0, 0.0], "kl_div:eps=0") == math.inf
    # logits ±800: log-softmax is finite
    assert one([-800.0, 800.0], [1.0, 0.0], "kl_div", from_logits=True) == pytest.approx(1600.0)


def test_kl_div_is_cross_entropy_minus_entropy():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, (50, 3))
    q = np.exp(rng.normal(0, 1, (50, 3)))
    q /= q.sum(axis=1, keepdims=True)
    entropy = -np.sum(q * np.log(q), axis=1)
    np.testing.assert_allclose(per_row(z, q, "kl_div", from_logits=True),
                               per_row(z, q, "softmax_cross_entropy") - entropy, rtol=1e-11)


def test_js_div_formula_bounds_and_symmetry():
    m = [0.375, 0.625]
    kl_qm = sum(qi * math.log(qi / mi) for qi, mi in zip(Q, m))
    kl_pm = sum(pi * math.log(pi / mi) for pi, mi in zip(P, m))
    assert one(P, Q, "js_div") == pytest.approx(0.5 * kl_qm + 0.5 * kl_pm, rel=1e-14)
    assert one(Q, P, "js_div") == pytest.approx(one(P, Q, "js_div"), rel=1e-14)
    # disjoint supports reach the maximum log 2 (finite at probabilities 0 and 1), equal
    # distributions give 0
    assert one([1.0, 0.0], [0.0, 1.0], "js_div") == pytest.approx(math.log(2), rel=1e-15)
    assert one(P, P, "js_div") == 0.0


def test_hellinger_and_total_variation():
    h = math.sqrt(0.5 * ((math.sqrt(0.25) - math.sqrt(0.5)) ** 2
                         + (math.sqrt(0.75) - math.sqrt(0.5)) ** 2))
    assert one(P, Q, "hellinger") == pytest.approx(h, rel=1e-14)
    assert one(P, Q, "total_variation") == pytest.approx(0.25, rel=1e-15)
    assert one([1.0, 0.0], [0.0, 1.0], "hellinger") == pytest.approx(1.0)
    assert one([1.0, 0.0], [0.0, 1.0], "total_variation") == 1.0


def test_total_variation_hellinger_inequality():
    # H² ≤ TV ≤ √2·H for every pair of distributions
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(5), 200)
    q = rng.dirichlet(np.ones(5), 200)
    h, tv = per_row(p, q, "hellinger"), per_row(p, q, "total_variation")
    assert np.all(h**2 <= tv + 1e-15) and np.all(tv <= math.sqrt(2) * h + 1e-15)


# --- triplet -----------------------------------------------------------------------------

def _triplet(a, p, n, loss="triplet"):
    report = losscli.evaluate(np.asarray(a, float), positive=np.asarray(p, float),
                              negative=np.asarray(n, float), losses=[loss], reduction="none")
    (label,) = [k for k in report.per_row if k != "row"]
    return report.per_row[label]


def test_triplet_torch_formula():
    # torch triplet_margin_loss: max(‖a − p + eps‖ − ‖a − n + eps‖ + margin, 0)
    a, p, n = [[0.0, 0.0]], [[3.0, 4.0]], [[3.0, 3.5]]
    d_ap, d_an = 5.0, math.hypot(3.0, 3.5)
    assert _triplet(a, p, n, "triplet:eps=0")[0] == pytest.approx(d_ap - d_an + 1.0, rel=1e-15)
    # swap: d(a, n) ← min(d(a, n), d(p, n)) = 0.5
    assert _triplet(a, p, n, "triplet:eps=0,swap=true")[0] == pytest.approx(5.5, rel=1e-15)
    # eps is added to the differences (torch pairwise_distance)
    e = 1e-6
    d_ap = math.hypot(-3.0 + e, -4.0 + e)
    d_an = math.hypot(-3.0 + e, -3.5 + e)
    assert _triplet(a, p, n)[0] == pytest.approx(d_ap - d_an + 1.0, rel=1e-14)
    # p = 1: L1 distances 7 and 6.5; margin 0.2
    assert _triplet(a, p, n, "triplet:p=1,eps=0,margin=0.2")[0] == pytest.approx(0.7)
    # an easy triplet costs 0
    assert _triplet([[0.0]], [[0.1]], [[5.0]])[0] == 0.0


# --- gaussian_nll, poisson_nll -----------------------------------------------------------

def _nll(pred, target, loss, **kw):
    report = losscli.evaluate(predictions=np.asarray(pred, float), targets=np.asarray(target, float),
                              losses=[loss], reduction="none", **kw)
    (label,) = [k for k in report.per_row if k != "row"]
    return report.per_row[label]


def test_gaussian_nll_torch_formula():
    # torch gaussian_nll_loss: 0.5·(log max(v, eps) + (ŷ − y)² / max(v, eps)) [+ 0.5·log 2π]
    got = _nll([1.0, 0.0], [3.0, 0.0], "gaussian_nll", var=np.array([4.0, 0.0]))
    assert got[0] == pytest.approx(0.5 * (math.log(4.0) + 1.0), rel=1e-15)
    assert got[1] == pytest.approx(0.5 * math.log(1e-6), rel=1e-15)  # var clamped to eps
    full = _nll([1.0], [3.0], "gaussian_nll:full=true", var=np.array([4.0]))
    assert full[0] == pytest.approx(0.5 * (math.log(4.0) + 1.0) + 0.5 * math.log(2 * math.pi))


def test_poisson_nll_torch_formula():
    # log_input (--from-logits): exp(x) − y·x; rates: λ − y·log(λ + eps)
    x = math.log(2.0)
    assert _nll([x], [3.0], "poisson_nll", from_logits=True)[0] == pytest.approx(
        2.0 - 3.0 * x, rel=1e-14)
    assert _nll([2.0], [3.0], "poisson_nll")[0] == pytest.approx(
        2.0 - 3.0 * math.log(2.0 + 1e-8), rel=1e-15)
    # full adds the Stirling term y·log y − y + 0.5·log(2πy) for y > 1 only
    stirling = 3.0 * math.log(3.0) - 3.0 + 0.5 * math.log(2 * math.pi * 3.0)
    got = _nll([2.0, 2.0], [3.0, 1.0], "poisson_nll:full=true")
    assert got[0] == pytest.approx(2.0 - 3.0 * math.log(2.0 + 1e-8) + stirling, rel=1e-14)
    assert got[1] == pytest.approx(2.0 - math.log(2.0 + 1e-8), rel=1e-14)


def test_poisson_nll_extremes():
    # a rate of 0 with eps stays finite; a log-rate of 800 is exp(800) = inf (documented:
    # the true value exceeds float64)
    assert _nll([0.0], [2.0], "poisson_nll")[0] == pytest.approx(-2.0 * math.log(1e-8))
    assert _nll([800.0], [1.0], "poisson_nll", from_logits=True)[0] == math.inf
    assert _nll([-800.0], [1.0], "poisson_nll", from_logits=True)[0] == pytest.approx(800.0)
