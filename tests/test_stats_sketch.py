"""The DDSketch quantile sketch.

What is proved here: on heavy-tailed data (lognormal σ = 3, Pareto a = 1.1, signed data with
zeros) every quantile q ∈ {0, 0.001, 0.5, 0.9, 0.99, 0.999, 1} and random ones is within
relative error α of numpy's ``np.quantile(x, q, method="inverted_cdf")``, and weighted
quantiles within α of the brute-force weighted rule; the state of any chunking and any merge
order or tree is the state of one pass, bit for bit, JSON included; integer weights equal
repeated rows; the bucket count follows log(max/min)/log γ and the cap keeps merging exact.
"""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction

import numpy as np
import pytest

from losscli.stats.sketch import QuantileSketch

QS = [0.0, 0.001, 0.25, 0.5, 0.9, 0.99, 0.999, 1.0]


def _datasets():
    rng = np.random.default_rng(42)
    signed = rng.standard_cauchy(20_000)
    signed[::10] = 0.0
    return {
        "lognormal3": rng.lognormal(0.0, 3.0, 50_000),
        "pareto": rng.pareto(1.1, 50_000) + 1.0,
        "signed_with_zeros": signed,
        "tiny_and_huge": np.r_[rng.random(1000) * 1e-300, rng.random(1000) * 1e300],
    }


def _sketch(x, w=None, chunk=None, **kw):
    s = QuantileSketch(**kw)
    if chunk is None:
        s.update(x, w)
        return s
    for i in range(0, len(x), chunk):
        s.update(x[i:i + chunk], None if w is None else w[i:i + chunk])
    return s


def _within(got, exact, alpha):
    return abs(got - exact) <= alpha * abs(exact) * (1 + 1e-12)


@pytest.mark.parametrize("name", list(_datasets()))
def test_quantiles_within_alpha_of_inverted_cdf(name):
    x = _datasets()[name]
    s = _sketch(x)
    rng = np.random.default_rng(0)
    for q in [*QS, *rng.random(50).tolist()]:
        exact = float(np.quantile(x, q, method="inverted_cdf"))
        assert _within(s.quantile(q), exact, 0.01), (name, q, s.quantile(q), exact)
    assert s.quantile(0.0) == x.min() and s.quantile(1.0) == x.max()
    assert s.rows == x.size and s.total_weight() == x.size


def test_other_accuracies():
    x = _datasets()["lognormal3"]
    for alpha in (0.001, 0.05, 0.2):
        s = _sketch(x, relative_accuracy=alpha, max_buckets=None)
        for q in QS:
            assert _within(s.quantile(q), float(np.quantile(x, q, method="inverted_cdf")), alpha)


def _weighted_quantile(x, w, q):
    """Brute force: the smallest x with cumulative weight ≥ q·W (float product, as numpy)."""
    order = np.argsort(x, kind="stable")
    xs, ws = x[order], w[order]
    keep = ws > 0
    xs, ws = xs[keep], ws[keep]
    total = sum(Fraction(v) for v in ws.tolist())
    target = Fraction(q * float(total))
    acc = Fraction(0)
    for v, wt in zip(xs.tolist(), ws.tolist()):
        acc += Fraction(wt)
        if acc >= target:
            return v
    return xs[-1]


def test_weighted_quantiles():
    rng = np.random.default_rng(3)
    x = rng.lognormal(0.0, 2.0, 3000) * np.where(rng.random(3000) < 0.2, -1, 1)
    w = rng.exponential(1.0, 3000)
    w[::7] = 0.0
    s = _sketch(x, w, chunk=101)
    for q in [*QS, *rng.random(30).tolist()]:
        exact = _weighted_quantile(x, w, q)
        assert _within(s.quantile(q), exact, 0.01), (q, s.quantile(q), exact)
    assert s.min == x[w > 0].min() and s.max == x[w > 0].max()


def test_integer_weights_equal_repeated_rows():
    rng = np.random.default_rng(4)
    x = rng.lognormal(size=500)
    w = rng.integers(1, 5, 500)
    weighted = _sketch(x, w.astype(float))
    repeated = _sketch(np.repeat(x, w))
    # rows differ (500 against 1202); the bucket weights are the same bits (the weights
    # include odd integers, so both are integers at scale 2**0)
    assert weighted.positive == repeated.positive and weighted.total_weight() == 1202
    assert (weighted.min, weighted.max) == (repeated.min, repeated.max)
    for q in QS:
        assert weighted.quantile(q) == repeated.quantile(q)


@pytest.mark.parametrize("chunk", [1, 17, 1000])
def test_any_chunking_and_merge_order_gives_the_same_state(chunk):
    rng = np.random.default_rng(chunk)
    x = np.r_[rng.lognormal(0, 3, 1500), -rng.pareto(1.5, 400), np.zeros(100)]
    rng.shuffle(x)
    w = rng.uniform(0, 2, x.size)
    for weights in (None, w):
        whole = _sketch(x, weights)
        parts = [_sketch(x[i:i + chunk], None if weights is None else weights[i:i + chunk])
                 for i in range(0, x.size, chunk)]
        for seed in range(2):
            pool = [QuantileSketch.from_dict(json.loads(json.dumps(p.to_dict()))) for p in parts]
            random.Random(seed).shuffle(pool)
            while len(pool) > 1:  # a random merge tree
                i = random.Random(seed + len(pool)).randrange(len(pool) - 1)
                a, b = pool.pop(i), pool.pop(i)
                pool.append(a.merge(b))
            assert pool[0] == whole


def test_bucket_count_and_cap():
    x = _datasets()["lognormal3"]
    s = _sketch(x, max_buckets=None)
    bound = math.log(x.max() / x.min()) / s.log_gamma + 1
    assert s.buckets <= bound and not s.collapsed
    capped = _sketch(x, max_buckets=600)
    assert capped.collapsed and len(capped.positive) == 600
    # the cap keeps the top 600 buckets (a factor e^12): upper quantiles keep their accuracy
    for q in (0.9, 0.99, 0.999, 1.0):
        assert _within(capped.quantile(q), float(np.quantile(x, q, method="inverted_cdf")), 0.01)
    parts = [_sketch(x[i:i + 5000], max_buckets=600) for i in range(0, x.size, 5000)]
    random.Random(1).shuffle(parts)
    merged = parts[0]
    for p in parts[1:]:
        merged.merge(p)
    assert merged == capped


def test_refusals_and_empty():
    # Infinite values are counted (issue 19): they sit beyond every finite value; a NaN
    # makes every quantile NaN, as np.quantile does.
    inf = QuantileSketch()
    inf.update(np.array([np.inf, 1.0, -np.inf, 2.0, np.inf]))
    assert inf.rows == 5 and inf.total_weight() == 5
    assert (inf.max, inf.min) == (np.inf, -np.inf)
    for q in (0.0, 0.2, 0.5, 0.7, 0.9, 1.0):
        want = float(np.quantile([np.inf, 1.0, -np.inf, 2.0, np.inf], q, method="inverted_cdf"))
        got = inf.quantile(q)
        assert got == want or abs(got - want) <= 0.01 * abs(want), (q, got, want)
    inf.update(np.array([np.nan]))
    assert inf.rows == 6 and np.isnan(inf.quantile(0.5)) and np.isnan(inf.quantile(1.0))
    assert QuantileSketch.from_dict(inf.to_dict()) == inf
    s = QuantileSketch()
    with pytest.raises(ValueError, match="empty sketch"):
        s.quantile(0.5)
    s.update(np.array([1.0, 2.0]), np.array([0.0, 0.0]))
    assert s.rows == 2 and s.buckets == 0
    with pytest.raises(ValueError, match="empty sketch"):
        s.quantile(0.5)
    with pytest.raises(ValueError, match="different relative accuracy"):
        s.merge(QuantileSketch(0.02))
    with pytest.raises(ValueError, match="quantile level"):
        _sketch(np.ones(3)).quantile(1.5)


def test_non_finite_rows_merge_in_any_order_like_one_pass():
    rng = np.random.default_rng(5)
    x = rng.lognormal(0, 2, 300)
    x[rng.choice(300, 12, replace=False)] = np.inf
    x[rng.choice(300, 5, replace=False)] = -np.inf
    x[7] = np.nan
    w = rng.integers(0, 3, 300).astype(float)
    one = QuantileSketch()
    one.update(x, w)
    for seed in range(3):
        cuts = np.sort(np.random.default_rng(seed).choice(np.arange(1, 300), 4, replace=False))
        parts = []
        for lo, hi in zip([0, *cuts], [*cuts, 300]):
            part = QuantileSketch()
            part.update(x[lo:hi], w[lo:hi])
            parts.append(part)
        random.Random(seed).shuffle(parts)
        merged = parts[0]
        for p in parts[1:]:
            merged.merge(p)
        assert merged == one and merged.rows == 300
    assert np.isnan(one.quantile(0.5)) and np.isnan(one.max)
