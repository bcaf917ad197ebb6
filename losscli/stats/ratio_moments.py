"""The interval of a ratio of two sums (wape = Σw·|y − ŷ| / Σw·|y|, mase = Σw·|y − ŷ| /
Σw·|y − naive|), by the delta method, from streamed moments.

A ratio R = Σw·a / Σw·b of per-row numerators a and denominators b (several values in a
row: their sums — a row is what is resampled) is the ratio of two weighted means. Its
linearisation (the delta method; Cochran 1977, *Sampling Techniques*, §6.3–6.4, the ratio
estimator; Kish 1965 for the weights) is the weighted mean of z_i = (a_i − R·b_i) / b̄, so

    Var(R̂) ≈ s_z² / n_eff,   s_z² = Σw·(a − R̂b)² / (Σw − Σw²/Σw) / b̄²,
    Σw·(a − R̂b)² = Σw·a² − 2R̂·Σw·ab + R̂²·Σw·b²,   b̄ = Σw·b / Σw,  n_eff = (Σw)²/Σw²

— for unit weights Cochran's v(R̂) = Σ(a_i − R̂b_i)² / (n(n − 1)·b̄²). The interval is
R̂ ± z·√Var(R̂), its low end clamped at 0 (both ratios are ≥ 0). :class:`RatioMoments`
keeps the sums Σw, Σw², Σw·a, Σw·b, Σw·a², Σw·b², Σw·ab exactly (one float per chunk,
:class:`~losscli.stats.exact.ExactSum`; the variance in exact rationals from them), so it
merges like every state part: the same bits in any order.
"""

from __future__ import annotations

import math
from fractions import Fraction
from statistics import NormalDist
from typing import Any

import numpy as np

from losscli.stats.exact import ExactSum, fraction_to_float
from losscli.stats.fields import Fields, check
from losscli.stats.intervals import Interval

#: The sums kept, in order: Σw, Σw², Σw·a, Σw·b, Σw·a², Σw·b², Σw·ab.
NAMES = ("w", "w2", "wa", "wb", "wa2", "wb2", "wab")


def row_sums(values: np.ndarray) -> np.ndarray:
    """A row's values summed (several outputs or series in a row: the row is resampled)."""
    return values.sum(axis=1) if values.ndim == 2 else values


class RatioMoments:
    """Mergeable moments of a ratio of sums (see the module doc): ``rows``, ``positive``
    (rows of positive weight) and the exact sums of :data:`NAMES`."""

    kind = "ratio_moments"

    def __init__(self) -> None:
        self.rows = 0
        self.positive = 0
        self.sums = {name: ExactSum() for name in NAMES}

    def update(self, numerator: np.ndarray, denominator: np.ndarray,
               weights: np.ndarray | None) -> None:
        """One chunk: per row its numerator a and denominator b (2-D: summed over a row's
        values), and its weight (None: 1)."""
        a, b = (row_sums(np.asarray(x, dtype=np.float64)) for x in (numerator, denominator))
        n = a.shape[0]
        if n == 0:
            return
        w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
        self.rows += n
        self.positive += int(np.count_nonzero(w > 0))
        wa, wb = w * a, w * b
        for name, value in zip(NAMES, (w, w * w, wa, wb, wa * a, wb * b, wa * b)):
            self.sums[name].add(float(np.sum(value)))

    def merge(self, other: RatioMoments) -> RatioMoments:
        self.rows += other.rows
        self.positive += other.positive
        for name in NAMES:
            self.sums[name].merge(other.sums[name])
        return self

    def interval(self, level: float) -> Interval:
        """R̂ ± z·SE by the delta method (see the module doc); undefined — with why — for
        fewer than two rows of positive weight, a zero denominator or a sum not finite."""
        z = NormalDist().inv_cdf(0.5 + level / 2.0)
        s = self.sums
        if not all(x.finite for x in s.values()):
            return Interval(math.nan, None, None, level, "delta",
                            reason="a value or weight is NaN or infinite")
        f = {name: x.fraction() for name, x in s.items()}
        est = fraction_to_float(f["wa"] / f["wb"]) if f["wb"] else math.nan
        why = (f"{self.positive} row(s) with positive weight: at least 2 are needed to "
               "estimate a variance" if self.positive < 2 else
               "the denominator's sum is 0: the ratio is undefined" if not f["wb"] else None)
        n_eff = fraction_to_float(f["w"] ** 2 / f["w2"]) if f["w2"] else 0.0
        if why:
            return Interval(est, None, None, level, "delta", n_eff, reason=why)
        r = f["wa"] / f["wb"]
        ss = max(f["wa2"] - 2 * r * f["wab"] + r * r * f["wb2"], Fraction(0))
        den = f["w"] - f["w2"] / f["w"]
        b_mean = f["wb"] / f["w"]
        var = ss / den / (b_mean * b_mean) / Fraction(f["w"] ** 2) * f["w2"] if den else None
        if var is None:
            return Interval(est, None, None, level, "delta", n_eff,
                            reason="one row carries all the weight: no variance")
        se = math.sqrt(fraction_to_float(var))
        return Interval(est, max(est - z * se, 0.0), est + z * se, level, "delta", n_eff, se)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rows": self.rows, "positive": self.positive,
                **{name: self.sums[name].to_json() for name in NAMES}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RatioMoments:
        """From :meth:`to_dict`'s JSON, every field checked (:mod:`losscli.stats.fields`)."""
        f = Fields(data)
        f.text("kind", choices=(cls.kind,))
        out = cls()
        out.rows = f.count("rows")
        out.positive = f.count("positive", hi=out.rows)
        for name in NAMES:
            out.sums[name] = f.exact_sum(name, rows=out.rows,
                                         non_negative=name in ("w", "w2", "wa2", "wb2"))
        check(out.positive > 0 or out.sums["w"].units == 0, "w",
              "a positive weight sum, but no row with a positive weight")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RatioMoments) and self.to_dict() == other.to_dict()
