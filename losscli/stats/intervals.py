"""Confidence intervals and tests from mergeable moments and from bootstrap replicates.

* :class:`Moments` — the mergeable state: rows, rows with positive weight, and the exact
  sums Σw, Σw², Σw·ℓ, Σw·ℓ² (:class:`~losscli.stats.exact.ExactSum`, chunk sums by numpy).
* :func:`mean_interval` — normal interval for the weighted mean, Kish's effective n;
  :func:`rmse_interval` — √mse by the delta method; :func:`wilson_interval` — a 0/1 loss.
* :func:`bootstrap_interval` — percentile or basic interval from replicate values
  (:class:`losscli.stats.resample.BootstrapSums`).
* :func:`paired_test` — two-sided normal p-value of a paired mean difference;
  :func:`mcnemar_exact` — exact McNemar test of paired 0/1 errors; :func:`holm` and
  :func:`bonferroni` — adjusted p-values.

Quantiles of the normal come from :class:`statistics.NormalDist` (no scipy).

**Too few rows.** An interval is undefined — :class:`Interval` with ``low``/``high`` None and
a ``reason`` — when there are fewer than two rows with positive weight (no variance can be
estimated), when the weights sum to 0, or when a sum is not finite (NaN/inf losses). A
bootstrap interval needs at least ⌈2/(1 − level)⌉ finite replicates (40 at 95 %): fewer
leave no replicate beyond the tail quantiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from statistics import NormalDist
from typing import Any

import numpy as np

from losscli.stats.exact import ExactSum, fraction_to_float
from losscli.stats.fields import Fields, check
from losscli.stats.keyed import checked_weights


@dataclass(frozen=True)
class Interval:
    """A two-sided interval [low, high] at ``level`` around ``estimate``; ``low``/``high`` are
    None, and ``reason`` says why, when it is undefined. ``n_eff``: the effective number of
    rows used (Kish), ``se``: the standard error where the method has one."""

    estimate: float
    low: float | None
    high: float | None
    level: float
    method: str
    n_eff: float = math.nan
    se: float = math.nan
    reason: str | None = None
    #: a bootstrap's resampling: ``rows`` (Poisson weights per row), ``cells`` (Poisson
    #: counts per confusion cell, :mod:`losscli.stats.cell_bootstrap`) or ``cells+rows``
    resampling: str | None = None

    @property
    def defined(self) -> bool:
        return self.low is not None and self.high is not None


@dataclass(frozen=True)
class TestResult:
    """A test statistic and its two-sided p-value (None, with ``reason``, when undefined)."""

    __test__ = False  # not a pytest class

    statistic: float
    p_value: float | None
    method: str
    reason: str | None = None


def _z(level: float) -> float:
    if not 0.0 < level < 1.0:
        raise ValueError(f"level: expected a confidence level in (0, 1), got {level}")
    return NormalDist().inv_cdf(0.5 + level / 2.0)


class Moments:
    """Mergeable weighted moments of per-row values ℓ (losses, or paired differences).

    State: ``rows`` (int), ``positive`` (rows with w > 0, int), ``binary`` (every ℓ seen is
    0 or 1) and exact sums ``sw`` = Σw,
    ``sw2`` = Σw², ``swl`` = Σw·ℓ, ``swl2`` = Σw·ℓ² — each chunk's sum by numpy, exact above
    the chunk, so any merge order or tree of the same chunks gives the same bits. Weights
    None means 1 for every row. Memory: six numbers.

    Squares are summed with ``np.sum(v * v)``, never ``np.dot``: BLAS's dot splits long
    vectors over its own threads, so its last bits depend on the machine's BLAS thread count,
    and beside losscli's worker threads those spinning threads made ``--ci`` 1.5x slower.
    """

    kind = "moments"

    def __init__(self) -> None:
        self.rows = 0
        self.positive = 0
        self.sw = ExactSum()
        self.sw2 = ExactSum()
        self.swl = ExactSum()
        self.swl2 = ExactSum()
        self.binary = True  # every value seen is 0 or 1 (what Wilson needs)

    def update(self, values: np.ndarray, weights: np.ndarray | None = None) -> None:
        v = np.asarray(values, dtype=np.float64).ravel()
        n = v.shape[0]
        if n == 0:
            return
        self.rows += n
        if self.binary and not ((v == 0.0) | (v == 1.0)).all():
            self.binary = False
        if weights is None:
            self.positive += n
            self.sw.add(float(n))
            self.sw2.add(float(n))
            self.swl.add(float(np.sum(v)))
            self.swl2.add(float(np.sum(v * v)))
            return
        w = checked_weights(weights, v.shape[0])
        assert w is not None
        self.positive += int(np.count_nonzero(w))
        wl = w * v
        self.sw.add(float(np.sum(w)))
        self.sw2.add(float(np.sum(w * w)))
        self.swl.add(float(np.sum(wl)))
        self.swl2.add(float(np.sum(wl * v)))

    def merge(self, other: Moments) -> Moments:
        self.rows += other.rows
        self.positive += other.positive
        self.binary &= other.binary
        for mine, theirs in zip((self.sw, self.sw2, self.swl, self.swl2),
                                (other.sw, other.sw2, other.swl, other.swl2)):
            mine.merge(theirs)
        return self

    # -- derived ----------------------------------------------------------------------------
    def mean(self) -> float:
        """Σw·ℓ / Σw (NaN when Σw = 0)."""
        if not (self.sw.finite and self.swl.finite):
            wf = self.sw.value
            return self.swl.value / wf if wf else math.nan
        w = self.sw.fraction()
        return fraction_to_float(self.swl.fraction() / w) if w else math.nan

    def n_eff(self) -> float:
        """Kish's effective number of rows (Σw)² / Σw² (Kish 1965, *Survey Sampling*)."""
        w2 = self.sw2.fraction()
        return fraction_to_float(self.sw.fraction() ** 2 / w2) if w2 else 0.0

    def _undefined(self) -> str | None:
        if not all(s.finite for s in (self.sw, self.sw2, self.swl, self.swl2)):
            return "a loss or weight is NaN or infinite"
        if self.sw.fraction() <= 0:
            return "the weights sum to 0"
        if self.positive < 2:
            return (f"{self.positive} row(s) with positive weight: at least 2 are needed to "
                    "estimate a variance")
        return None

    def variance(self) -> float:
        """The weighted variance with the reliability-weights correction::

            s² = Σw(ℓ − ℓ̄)² / (Σw − Σw²/Σw) = [Σw·ℓ² − (Σw·ℓ)²/Σw] / [Σw − Σw²/Σw]

        (GSL ``gsl_stats_wvariance``; = Σ(ℓ − ℓ̄)²/(n − 1) for unit weights). Computed in
        exact rationals from the exact sums, so the subtraction loses nothing beyond the
        chunk sums' own rounding; clamped at 0. NaN when undefined."""
        if self._undefined():
            return math.nan
        sw, sw2 = self.sw.fraction(), self.sw2.fraction()
        num = self.swl2.fraction() - self.swl.fraction() ** 2 / sw
        den = sw - sw2 / sw
        return fraction_to_float(max(num, Fraction(0)) / den)

    def standard_error(self) -> float:
        """SE of the weighted mean: √(s² / n_eff) (Kish's approximation: the variance of a
        mean of n_eff independent rows; exact for equal weights)."""
        return math.sqrt(self.variance() / self.n_eff()) if not self._undefined() else math.nan

    # -- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rows": self.rows, "positive": self.positive,
                "sw": self.sw.to_json(), "sw2": self.sw2.to_json(), "swl": self.swl.to_json(),
                "swl2": self.swl2.to_json(), "binary": self.binary}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Moments:
        """From :meth:`to_dict`'s JSON, every field checked (:mod:`losscli.stats.fields`):
        ``positive ≤ rows``; Σw, Σw² and Σw·ℓ² are sums of non-negative terms; every sum
        within what the rows allow; nothing but zeros without a row of positive weight."""
        f = Fields(data)

        f.text("kind", choices=(cls.kind,))
        out = cls()
        out.rows = f.count("rows")
        out.positive = f.count("positive", hi=out.rows)
        n = out.rows
        out.sw = f.exact_sum("sw", rows=n, non_negative=True)
        out.sw2 = f.exact_sum("sw2", rows=n, non_negative=True)
        out.swl = f.exact_sum("swl", rows=n)
        out.swl2 = f.exact_sum("swl2", rows=n, non_negative=True)
        check(out.positive > 0 or (out.sw.units == 0 and out.sw2.units == 0), "sw",
              "a positive weight sum, but no row with a positive weight")
        out.binary = f.flag("binary")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Moments) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"Moments(rows={self.rows}, mean={self.mean()!r})"


def mean_interval(m: Moments, level: float = 0.95) -> Interval:
    """Normal interval for the weighted mean: ℓ̄ ± z·√(s²/n_eff), with s² the reliability-
    weighted variance (:meth:`Moments.variance`) and n_eff = (Σw)²/Σw² (Kish 1965). For unit
    weights this is the textbook large-sample interval x̄ ± z·s/√n."""
    z = _z(level)
    est = m.mean()
    reason = m._undefined()
    if reason:
        return Interval(est, None, None, level, "normal", m.n_eff(), reason=reason)
    se = m.standard_error()
    return Interval(est, est - z * se, est + z * se, level, "normal", m.n_eff(), se)


def rmse_interval(m: Moments, level: float = 0.95) -> Interval:
    """Interval for rmse = √mse from the moments of squared errors, by the delta method:
    SE(√mse) = SE(mse) / (2√mse), so rmse ± z·SE(mse)/(2·rmse) (low clamped at 0).
    Undefined when mse = 0 (the derivative of √ is infinite there)."""
    z = _z(level)
    mse = m.mean()
    est = math.sqrt(mse) if mse >= 0 else math.nan
    reason = m._undefined() or ("the mse is 0: the delta method needs mse > 0"
                                if mse == 0 else None)
    if reason:
        return Interval(est, None, None, level, "delta", m.n_eff(), reason=reason)
    se = m.standard_error() / (2.0 * est)
    return Interval(est, max(est - z * se, 0.0), est + z * se, level, "delta", m.n_eff(), se)


def wilson_interval(m: Moments, level: float = 0.95) -> Interval:
    """Wilson score interval (Wilson 1927, JASA 22:209) for a proportion p̂ = Σw·ℓ/Σw of
    0/1 losses, on the effective n = n_eff (Kish; the "effective sample size" Wilson
    interval of survey statistics, e.g. Dean & Pagano 2015)::

        centre = (p̂ + z²/2n) / (1 + z²/n),  half = z/(1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²)

    = statsmodels ``proportion_confint(count, n, method="wilson")`` for unit weights.
    Defined from one row on (it never needs a variance estimate); raises ValueError when the
    losses are not all 0 or 1 (``Moments.binary``)."""
    z = _z(level)
    est = m.mean()
    if not all(s.finite for s in (m.sw, m.sw2, m.swl, m.swl2)):
        return Interval(est, None, None, level, "wilson", reason="a loss is NaN or infinite")
    if not m.binary:
        raise ValueError("wilson_interval: expected 0/1 losses (zero_one), got other values")
    if m.positive < 1 or m.sw.fraction() <= 0:
        return Interval(est, None, None, level, "wilson", 0.0, reason="no row with positive weight")
    n = m.n_eff()
    p = est
    z2n = z * z / n
    centre = (p + z2n / 2.0) / (1.0 + z2n)
    half = z / (1.0 + z2n) * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    return Interval(est, max(centre - half, 0.0), min(centre + half, 1.0), level, "wilson", n,
                    math.sqrt(p * (1.0 - p) / n))


def delong_interval(estimate: float, se: float, level: float = 0.95, *,
                    low: float | None = None, high: float | None = None,
                    reason: str | None = None) -> Interval:
    """DeLong's interval for a ROC-AUC (DeLong, DeLong & Clarke-Pearson 1988): the plain
    normal interval AUC ± z·SE on the AUC scale, clipped to [0, 1] — as R's pROC
    ``ci.auc(method="delong")`` (no logit transform). ``se`` from
    :func:`losscli.stats.ranking.delong_se`. ``low``/``high``: a binned AUC's guaranteed
    bound (``--auc-bins``), widened by z·SE on each side. Undefined (with ``reason``) when
    the SE is."""
    z = _z(level)
    if reason is not None or not math.isfinite(se):
        return Interval(estimate, None, None, level, "delong",
                        reason=reason or "DeLong's standard error is undefined")
    lo = estimate if low is None or not math.isfinite(low) else low
    hi = estimate if high is None or not math.isfinite(high) else high
    return Interval(estimate, max(lo - z * se, 0.0), min(hi + z * se, 1.0), level, "delong",
                    se=se)


def bootstrap_interval(estimate: float, replicates: np.ndarray, level: float = 0.95,
                       method: str = "percentile") -> Interval:
    """Bootstrap interval from replicate values θ*_b (e.g. ``BootstrapSums.means()[:, j]``).

    ``percentile`` (Efron 1979): [q(α/2), q(1 − α/2)]; ``basic`` (Davison & Hinkley 1997,
    eq. 5.6): [2θ̂ − q(1 − α/2), 2θ̂ − q(α/2)]; q is numpy's ``np.quantile(..., method=
    "linear")`` (Hyndman & Fan type 7) of the finite replicates. Non-finite replicates (a
    Poisson replicate that drew no row has no mean) are dropped; fewer than ⌈2/α⌉ finite
    ones leave the interval undefined. ``se`` is the replicates' standard deviation."""
    if method not in ("percentile", "basic"):
        raise ValueError(f"method: expected 'percentile' or 'basic', got {method!r}")
    _z(level)
    alpha = 1.0 - level
    reps = np.asarray(replicates, dtype=np.float64).ravel()
    finite = reps[np.isfinite(reps)]
    need = math.ceil(2.0 / alpha - 1e-9)
    if finite.size < need:
        return Interval(estimate, None, None, level, method, reason=(
            f"{finite.size} finite bootstrap replicates: at least {need} are needed for a "
            f"{level * 100:.6g}% interval (raise --replicates)"))
    lo, hi = np.quantile(finite, [alpha / 2.0, 1.0 - alpha / 2.0], method="linear")
    se = float(np.std(finite, ddof=1))
    if method == "basic":
        lo, hi = 2.0 * estimate - hi, 2.0 * estimate - lo
    return Interval(estimate, float(lo), float(hi), level, method, se=se)


def paired_test(differences: Moments) -> TestResult:
    """Two-sided normal test that the weighted mean of paired differences d = ℓ_A − ℓ_B is 0:
    z = d̄ / SE(d̄) (SE as in :func:`mean_interval`), p = 2·Φ(−|z|) (Φ(−|z|) rather than
    1 − Φ(|z|): no cancellation for large |z|). With zero variance: p = 1 if d̄ = 0, else 0."""
    mean = differences.mean()
    reason = differences._undefined()
    if reason:
        return TestResult(math.nan, None, "paired-normal", reason)
    se = differences.standard_error()
    if se == 0.0:
        return TestResult(0.0 if mean == 0 else math.copysign(math.inf, mean),
                          1.0 if mean == 0 else 0.0, "paired-normal")
    z = mean / se
    return TestResult(z, 2.0 * NormalDist().cdf(-abs(z)), "paired-normal")


def delong_difference(difference: float, se: float, level: float = 0.95
                      ) -> tuple[Interval, TestResult]:
    """DeLong's paired comparison of two ROC-AUCs on the same rows: the normal interval of
    their difference, AUC_A − AUC_B ± z·SE, clipped to [−1, 1], and the two-sided test
    z = difference / SE, p = 2·Φ(−|z|) — as R's pROC ``roc.test(method="delong",
    paired=TRUE)``. ``se`` from :class:`losscli.stats.paired_delong.PairedScores`. With a
    zero SE: p = 1 if the difference is 0, else 0."""
    z = _z(level)
    iv = Interval(difference, max(difference - z * se, -1.0), min(difference + z * se, 1.0),
                  level, "delong", se=se)
    if se == 0.0:
        return iv, TestResult(0.0 if difference == 0 else math.copysign(math.inf, difference),
                              1.0 if difference == 0 else 0.0, "delong")
    stat = difference / se
    return iv, TestResult(stat, 2.0 * NormalDist().cdf(-abs(stat)), "delong")


def discordant_counts(errors_a: np.ndarray, errors_b: np.ndarray) -> tuple[int, int]:
    """(b, c): rows that only model A gets wrong, rows that only model B gets wrong."""
    a = np.asarray(errors_a).astype(bool)
    b = np.asarray(errors_b).astype(bool)
    return int(np.count_nonzero(a & ~b)), int(np.count_nonzero(~a & b))


def mcnemar_exact(b: int, c: int) -> TestResult:
    """Exact McNemar test (McNemar 1947) of paired 0/1 errors: under H0 the b + c discordant
    rows split as Binomial(b + c, ½), and p = min(1, 2·P(X ≤ min(b, c))) — statsmodels
    ``mcnemar(table, exact=True)``. Computed in exact integers (Σ C(n, k) / 2ⁿ).

    Only the discordant counts matter: "10 errors against 7 out of 171 rows" with 6 errors
    shared gives b = 4, c = 1 and p = 2·(1 + 5)/32 = 0.375; with 5 shared, b = 5, c = 2 and
    p = 2·29/128 ≈ 0.453. ``statistic`` is min(b, c)."""
    if b < 0 or c < 0:
        raise ValueError(f"mcnemar_exact: expected counts ≥ 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return TestResult(0.0, 1.0, "mcnemar-exact")
    tail = sum(math.comb(n, k) for k in range(min(b, c) + 1))
    p = min(Fraction(1), Fraction(2 * tail, 1 << n))
    return TestResult(float(min(b, c)), fraction_to_float(p), "mcnemar-exact")


def _check_p(p_values: Any) -> np.ndarray:
    p = np.asarray(p_values, dtype=np.float64).ravel()
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p_values: expected values in [0, 1]")
    return p


def bonferroni(p_values: Any) -> np.ndarray:
    """Bonferroni-adjusted p-values min(1, m·p_i) (statsmodels ``multipletests(...,
    method="bonferroni")``)."""
    p = _check_p(p_values)
    return np.minimum(1.0, p * p.size)


def holm(p_values: Any) -> np.ndarray:
    """Holm's step-down adjusted p-values (Holm 1979, Scand. J. Statist. 6:65): with
    p_(1) ≤ … ≤ p_(m) sorted, adj_(i) = max_{j ≤ i} min(1, (m − j + 1)·p_(j)), returned in
    the input order (statsmodels ``multipletests(..., method="holm")``). Reject H_i at level α
    iff adj_i ≤ α."""
    p = _check_p(p_values)
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    out = np.empty(m)
    out[order] = np.maximum.accumulate(stepped)
    return out
