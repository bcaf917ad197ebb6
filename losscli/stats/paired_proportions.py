"""The interval of a paired difference of two proportions (two models' 0/1 losses on the
same rows), consistent with McNemar's exact test that judges it.

Of n paired rows, b have the model's loss 1 and the reference's 0, c the reverse (the
discordant pairs); the difference of the two means is θ̂ = (b − c)/n. ``compare`` and the
paired gate test θ = 0 with McNemar's exact test (:func:`losscli.stats.intervals.
mcnemar_exact`). A Wald interval θ̂ ± z·SE beside it can exclude 0 while the test does not
reject (228 rows, b = 3, c = 11: Wald [−0.067, −0.003], p = 0.057). So the interval here is
the union of two:

* **Tango's score interval** (Tango 1998, "Equivalence test and confidence interval for the
  difference in proportions for the paired-sample design", Stat. Med. 17:891–908): the δ
  with |Z(δ)| ≤ z, Z(δ) = (b − c − nδ) / √(n·(2q̂ + δ − δ²)), where q̂ is the maximum
  likelihood estimate of P(model 0, reference 1) under θ = δ, the root of
  2n·q² + W·q − c·δ(1 − δ) = 0, W = −b − c + (2n − b + c)·δ:
  q̂ = (√(W² + 8n·c·δ(1 − δ)) − W) / (4n). At δ = 0, Z = (b − c)/√(b + c): McNemar's
  asymptotic statistic. Fagerland, Lydersen & Laake (2014, Stat. Med. 33:2850) recommend it
  for its coverage; no package of the test extra has it (statsmodels has none for paired
  proportions), so it is computed from the paper, ends by bisection on the monotone Z;
* **the exact conditional interval**: given the m = b + c discordant pairs, b is
  Binomial(m, π) with θ = (2π − 1)·(b + c)/n; Clopper & Pearson's (1934) exact interval
  for π, mapped to θ with the observed discordant share (m/n). It contains 0 exactly when
  McNemar's exact test does not reject at 1 − ``level`` (the same binomial tails).

The union contains both; it excludes 0 exactly when both do — when McNemar's exact test
rejects (exact ⇒ asymptotic rejection: checked with scipy for every b + c ≤ 3000 at levels
0.5–0.999; tests/test_paired_proportions.py checks every b + c ≤ 60) — and covers θ at least
as often as Tango's interval (which has near-nominal coverage).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from statistics import NormalDist

from losscli.stats.intervals import Interval, mcnemar_exact


def tango_interval(b: int, c: int, n: int, level: float) -> tuple[float, float]:
    """Tango's score interval for θ = (p_b − p_c) (see the module doc), within [−1, 1]."""
    z = NormalDist().inv_cdf(0.5 + level / 2.0)

    def score(d: float) -> float:
        w = -b - c + (2 * n - b + c) * d
        q = (math.sqrt(max(w * w + 8.0 * n * c * d * (1.0 - d), 0.0)) - w) / (4.0 * n)
        var = n * (2.0 * q + d - d * d)
        num = b - c - n * d
        if var <= 0.0:
            return math.copysign(math.inf, num) if num else 0.0
        return num / math.sqrt(var)

    est = (b - c) / n
    return _root(score, -1.0, est, z), _root(score, est, 1.0, -z)


def _root(fn: Callable[[float], float], lo: float, hi: float, target: float) -> float:
    """The δ in [lo, hi] where the decreasing ``fn`` crosses ``target`` (bisection to the
    last bit); an end of the range where it does not cross."""
    if fn(lo) <= target:
        return lo
    if fn(hi) >= target:
        return hi
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid in (lo, hi):
            break
        if fn(mid) > target:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _log_betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function (Numerical Recipes §6.4,
    modified Lentz), for x < (a + 1)/(a + b + 2)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100_000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        step = d * c
        h *= step
        if abs(step - 1.0) < 1e-16:
            break
    return math.log(h)


def beta_cdf(x: float, a: float, b: float) -> float:
    """The regularised incomplete beta function I_x(a, b) (a, b > 0)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
             + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(front + _log_betacf(a, b, x)) / a
    return 1.0 - math.exp(front + _log_betacf(b, a, 1.0 - x)) / b


def exact_conditional_interval(b: int, c: int, n: int, level: float) -> tuple[float, float]:
    """Clopper–Pearson's interval for π = P(b | discordant) from b of m = b + c, mapped to
    θ = (2π − 1)·m/n; [0, 0] without a discordant pair. Its ends are snapped to π = ½
    where float rounding would disagree with McNemar's exact p-value (computed exactly)."""
    m = b + c
    if m == 0:
        return 0.0, 0.0
    alpha = 1.0 - level
    # P(X ≥ b | π) = I_π(b, m − b + 1) rises with π; P(X ≤ b | π) = 1 − I_π(b + 1, m − b) falls
    low = 0.0 if b == 0 else _root(lambda p: -beta_cdf(p, b, m - b + 1), 0.0, 1.0, -alpha / 2)
    high = 1.0 if b == m else _root(lambda p: 1.0 - beta_cdf(p, b + 1, m - b), 0.0, 1.0,
                                    alpha / 2)
    p = mcnemar_exact(b, c).p_value
    assert p is not None
    if p >= alpha:
        low, high = min(low, 0.5), max(high, 0.5)
    elif b > c:
        low = max(low, math.nextafter(0.5, 1.0))
    else:
        high = min(high, math.nextafter(0.5, 0.0))
    share = m / n
    return (2.0 * low - 1.0) * share, (2.0 * high - 1.0) * share


def paired_proportion_interval(b: int, c: int, n: int, level: float) -> Interval:
    """The union of Tango's and the exact conditional interval (see the module doc), method
    ``tango+exact``; undefined without a row."""
    if n <= 0:
        return Interval(math.nan, None, None, level, "tango+exact", reason="no paired row")
    t_lo, t_hi = tango_interval(b, c, n, level)
    e_lo, e_hi = exact_conditional_interval(b, c, n, level)
    est = (b - c) / n
    return Interval(est, max(min(t_lo, e_lo), -1.0), min(max(t_hi, e_hi), 1.0), level,
                    "tango+exact", float(n))
