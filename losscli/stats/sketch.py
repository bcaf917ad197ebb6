"""A mergeable quantile sketch with relative accuracy: DDSketch (Masson, Rim & Lee 2019,
"DDSketch: a fast and fully-mergeable quantile sketch with relative-error guarantees",
PVLDB 12(12)).

A positive value x goes to the bucket ``i = ⌈log_γ(x)⌉``, γ = (1 + α)/(1 − α), which holds
the values in (γ^(i−1), γ^i]; the bucket's representative ``2γ^i/(γ + 1)`` is within a
relative error α of every one of them. Negative values go to a second store by |x|, zeros
to a count of their own. Each store is a :class:`~losscli.stats.keyed.KeyedSums` of bucket
weights — integer counts when unweighted, exact sums of the float weights otherwise — so
merging is exact and the state of any split of the rows equals the state of one pass, bit
for bit (independent even of the chunking: a value's bucket depends only on the value).
``min`` and ``max`` are kept exactly.

Every row counts: an infinite value (``exp(800)`` overflows) has no bucket, so ±inf rows
are tallied apart (exact weights, like a bucket) and sit below/above every finite value —
a quantile that falls on them is ±inf, and the max is inf. A NaN value makes every
quantile NaN, as numpy's ``np.quantile`` does (and the loss's own mean is NaN then too).

:meth:`QuantileSketch.quantile` returns, within relative error α, the smallest x whose
cumulative weight reaches q·W — numpy's ``np.quantile(x, q, method="inverted_cdf")`` for unit
weights, and its weighted analogue — with q = 0 and q = 1 giving the exact min and max.

Memory: 8 B of key + 8 B per limb per non-empty bucket, ≈ log(max/min)/log γ buckets per
sign, ~115 per decade at α = 0.01, independent of the row count (lognormal σ = 3, 10**6
rows: 1 227 buckets, ~20 KB; 26 KB as JSON). Cost (CI machine): update 0.08 s per 10**6
unweighted rows, 0.25 s weighted; a quantile ~7 ms (exact rational cumulative weights).
``max_buckets`` (default 4096) caps each store: when exceeded the lowest-magnitude buckets
are collapsed into the lowest kept one (DDSketch's "collapsing lowest" store). The
collapse keeps merging exact and order-independent (the kept threshold is the
``max_buckets``-th largest index of the whole data, whatever the split) but quantiles that
fall in a collapsed bucket lose the α guarantee; :attr:`QuantileSketch.collapsed` tells.

Bucket indices use ``np.log``: a value within ~1 ulp of a bucket boundary may land in the
neighbouring bucket on a platform whose ``log`` rounds differently; the error bound still
holds (up to that ulp), but states from different platforms may then differ in that count.
"""

from __future__ import annotations

import bisect
import itertools
import math
from fractions import Fraction
from typing import Any

import numpy as np

from losscli.stats.exact import float_to_json
from losscli.stats.fields import Fields, check, nested
from losscli.stats.keyed import KeyedSums


class QuantileSketch:
    """DDSketch with exact bucket weights (see the module doc).

    ``update(values, weights=None)``: any values (±inf and NaN tallied apart, see the
    module doc), weights ≥ 0 (rows with weight 0 are dropped: they change no quantile, no
    min, no max; a row whose weight is NaN or inf counts as a NaN value).
    ``merge(other)`` in place; ``quantile(q)``; ``rows`` (rows seen), ``total_weight()``
    (exact), ``min``/``max`` (exact, over rows with positive weight).
    """

    kind = "ddsketch"

    def __init__(self, relative_accuracy: float = 0.01, max_buckets: int | None = 4096) -> None:
        if not 0.0 < relative_accuracy < 1.0:
            raise ValueError(f"relative_accuracy: expected a value in (0, 1), got "
                             f"{relative_accuracy}")
        if max_buckets is not None and max_buckets < 1:
            raise ValueError(f"max_buckets: expected ≥ 1 or None, got {max_buckets}")
        self.alpha = float(relative_accuracy)
        self.max_buckets = max_buckets
        self.gamma = (1.0 + self.alpha) / (1.0 - self.alpha)
        # log γ = log1p(2α/(1 − α)): log1p keeps its digits for small α.
        self.log_gamma = math.log1p(2.0 * self.alpha / (1.0 - self.alpha))
        self.rows = 0
        self.positive = KeyedSums()
        self.negative = KeyedSums()
        self.zeros = KeyedSums()
        #: Weights of the non-finite values, by key: -1 (−inf), 1 (+inf), 2 (NaN).
        self.special = KeyedSums()
        self.min = math.inf
        self.max = -math.inf
        self.collapsed = False
        self._order: tuple[list[tuple[int, int]], list[int], int] | None = None

    # -- building -------------------------------------------------------------------------
    def _index(self, magnitudes: np.ndarray) -> np.ndarray:
        """⌈log(m)/log γ⌉ per magnitude (the same operations as the formula, in place in one
        new array: no temporaries per step)."""
        out = np.log(magnitudes)
        np.divide(out, self.log_gamma, out=out)
        np.ceil(out, out=out)
        return out.astype(np.int64)

    def update(self, values: np.ndarray, weights: np.ndarray | None = None) -> None:
        x = np.asarray(values, dtype=np.float64).ravel()
        n = x.shape[0]
        if n == 0:
            return
        w = None
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64).ravel()
            if w.shape != x.shape:
                raise ValueError(f"weights: expected shape {x.shape}, got {w.shape}")
            if (w < 0).any():
                raise ValueError("weights: expected weights ≥ 0")
        self.rows += n
        self._order = None
        finite = np.isfinite(x) if w is None else np.isfinite(x) & np.isfinite(w)
        if not finite.all():
            self._special(x[~finite], None if w is None else w[~finite])
            x = x[finite]
            w = None if w is None else w[finite]
        if w is not None:
            keep = w > 0
            x, w = x[keep], w[keep]
        if x.shape[0] == 0:
            return
        low = float(x.min())
        self.min = min(self.min, low)
        self.max = max(self.max, float(x.max()))
        if low > 0.0:  # every value positive (most losses): no masks, no copies
            self.positive.add(self._index(x), w)
        else:
            for store, mask in ((self.positive, x > 0), (self.negative, x < 0)):
                if mask.any():
                    store.add(self._index(np.abs(x[mask])), None if w is None else w[mask])
            zero = x == 0
            if zero.any():
                self.zeros.add(np.zeros(int(zero.sum()), np.int64),
                               None if w is None else w[zero])
        self._collapse()
        self._settle()

    def _special(self, x: np.ndarray, w: np.ndarray | None) -> None:
        """Tally non-finite rows: ±inf by sign, NaN values (or weights) as NaN — a weight
        of 1 where the weight itself is not finite."""
        if w is not None:
            bad_w = ~np.isfinite(w)
            x = np.where(bad_w, np.nan, x)
            w = np.where(bad_w, 1.0, w)
            keep = w > 0
            x, w = x[keep], w[keep]
        if x.shape[0] == 0:
            return
        keys = np.where(np.isnan(x), 2, np.where(x > 0, 1, -1)).astype(np.int64)
        self.special.add(keys, w)
        if (keys == 1).any():
            self.max = math.inf
        if (keys == -1).any():
            self.min = -math.inf
        self._settle()

    def _settle(self) -> None:
        """Once a NaN was seen, min and max are NaN too (whatever the order of the parts)."""
        if self.has_nan:
            self.min = self.max = math.nan

    @property
    def has_nan(self) -> bool:
        """A NaN value (or weight) was seen: every quantile is NaN."""
        return 2 in self.special.keys.tolist()

    def _collapse(self) -> None:
        if self.max_buckets is None:
            return
        for store in (self.positive, self.negative):
            if len(store) > self.max_buckets:
                store.fold_below(int(store.keys[-self.max_buckets]))
                self.collapsed = True

    def merge(self, other: QuantileSketch) -> QuantileSketch:
        if (other.alpha, other.max_buckets) != (self.alpha, self.max_buckets):
            raise ValueError("cannot merge sketches of different relative accuracy or bucket caps")
        self.rows += other.rows
        self._order = None
        self.positive.merge(other.positive)
        self.negative.merge(other.negative)
        self.zeros.merge(other.zeros)
        self.special.merge(other.special)
        self.min = min(self.min, other.min)
        self.max = max(self.max, other.max)
        self.collapsed |= other.collapsed
        self._collapse()
        self._settle()
        return self

    # -- reading ----------------------------------------------------------------------------
    def total_weight(self) -> Fraction:
        """Σw over rows with positive weight (the row count when unweighted), exactly."""
        return sum((s.totals()[0] for s in (self.negative, self.zeros, self.positive,
                                             self.special)), Fraction(0))

    @property
    def buckets(self) -> int:
        return len(self.positive) + len(self.negative) + len(self.zeros) + len(self.special)

    def _value(self, sign: int, index: int) -> float:
        if sign == 0:
            return 0.0
        if sign in (-2, 2):  # the tallies of ±inf
            return sign * math.inf
        # 2γ^i/(γ+1), as exp(i·log γ): within α of every value of bucket i
        rep = 2.0 * math.exp(index * self.log_gamma) / (self.gamma + 1.0)
        return sign * rep

    def quantile(self, q: float) -> float:
        """The smallest x whose cumulative weight is ≥ q·W (W the total weight, q·W the
        float product), within relative error α (unless it falls in a collapsed bucket);
        q = 0 gives ``min`` and q = 1 ``max`` exactly; ±inf where it falls on infinite
        values, NaN for every q once a NaN was seen.
        For unit weights this is ``np.quantile(x, q, method="inverted_cdf")``. Raises
        ValueError when nothing has been seen."""
        if not 0.0 <= q <= 1.0:
            raise ValueError(f"q: expected a quantile level in [0, 1], got {q}")
        if self.has_nan:
            return math.nan
        if self.max < self.min:
            raise ValueError("quantile of an empty sketch: no row with positive weight was seen")
        if q == 0.0:
            return self.min
        if q == 1.0:
            return self.max
        order, cumulative, scale = self._cumulative()
        # The float product q·W, as numpy computes n·q: q = 0.9 of 1000 rows is the 900th
        # value (the exact Fraction(0.9)·1000 is a hair above 900 and would give the 901st).
        unit = Fraction(2) ** scale
        target = Fraction(q * float(cumulative[-1] * unit)) / unit
        i = min(bisect.bisect_left(cumulative, target), len(order) - 1)
        sign, index = order[i]
        return min(max(self._value(sign, index), self.min), self.max)

    def _cumulative(self) -> tuple[list[tuple[int, int]], list[int], int]:
        """The buckets as (sign, index) in increasing value order, their cumulative weights
        as exact integers of 2**scale units, and that scale — computed once per state (every
        quantile level reads it)."""
        if self._order is None:
            stores = [s for s in (self.negative, self.zeros, self.positive, self.special)
                      if len(s)]
            scale = min((s.scale for s in stores if s.limbs.shape[0]), default=0)

            def units(store: KeyedSums) -> list[int]:
                shift = store.scale - scale if store.limbs.shape[0] else 0
                return [int(u) << shift for u in store.ints()[:, 0].tolist()]

            special = dict(zip(self.special.keys.tolist(), units(self.special)))
            order = [(-2, 0)] if -1 in special else []
            weights = [special[-1]] if -1 in special else []
            order += [(-1, k) for k in self.negative.keys.tolist()[::-1]]
            weights += units(self.negative)[::-1]
            if len(self.zeros):
                order.append((0, 0))
                weights += units(self.zeros)
            order += [(1, k) for k in self.positive.keys.tolist()]
            weights += units(self.positive)
            if 1 in special:
                order.append((2, 0))
                weights.append(special[1])
            self._order = (order, list(itertools.accumulate(weights)), scale)
        return self._order

    def bucket_bounds(self) -> list[tuple[float, float, float]]:
        """The non-empty buckets in increasing value order as ``(low, high, weight)``: a
        positive bucket i holds the values in (γ^(i−1), γ^i], a negative one those in
        [−γ^i, −γ^(i−1)), the zeros are ``(0.0, 0.0, weight)``; weights as float64 (within
        2 ulp of the exact sums). Once the sketch has collapsed, the lowest-magnitude
        bucket of each sign may hold every smaller magnitude: its bound nearest 0 is 0. For
        pictures (histograms); the bounds are not clipped to ``min``/``max`` (γ^i beyond the
        largest float is ``inf``)."""

        def power(k: int) -> float:
            try:
                return math.exp(k * self.log_gamma)
            except OverflowError:
                return math.inf

        out: list[tuple[float, float, float]] = []
        neg = self.negative.floats()[:, 0].tolist()
        keys = self.negative.keys.tolist()
        for j in range(len(keys) - 1, -1, -1):
            inner = 0.0 if (j == 0 and self.collapsed) else power(keys[j] - 1)
            out.append((-power(keys[j]), -inner, neg[j]))
        if len(self.zeros):
            out.append((0.0, 0.0, float(self.zeros.floats()[0, 0])))
        pos = self.positive.floats()[:, 0].tolist()
        keys = self.positive.keys.tolist()
        for j, (k, w) in enumerate(zip(keys, pos)):
            inner = 0.0 if (j == 0 and self.collapsed) else power(k - 1)
            out.append((inner, power(k), w))
        return out

    def quantiles(self, qs: Any) -> np.ndarray:
        return np.array([self.quantile(float(q)) for q in np.asarray(qs, dtype=float).ravel()])

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "relative_accuracy": float_to_json(self.alpha),
                "max_buckets": self.max_buckets, "rows": self.rows,
                "min": float_to_json(self.min), "max": float_to_json(self.max),
                "collapsed": self.collapsed, "positive": self.positive.to_dict(),
                "negative": self.negative.to_dict(), "zeros": self.zeros.to_dict(),
                **({"special": self.special.to_dict()} if len(self.special) else {})}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QuantileSketch:
        """From :meth:`to_dict`'s JSON, every field checked (:mod:`losscli.stats.fields`)."""
        f = Fields(data)
        f.text("kind", choices=(cls.kind,))
        buckets = f.optional_count("max_buckets", lo=1, hi=1 << 20)
        out = nested("relative_accuracy", cls, f.real("relative_accuracy"), buckets)
        out.rows = f.count("rows")
        out.min, out.max = f.real("min"), f.real("max")
        out.collapsed = f.flag("collapsed")
        for name in ("positive", "negative", "zeros", "special"):
            if name != "special" or f.has(name):
                store = f.part(name, KeyedSums.from_dict)
                check(store.channels == 1 and store.key_kind == "int", name,
                      "expected one channel of integer keys")
                setattr(out, name, store)
        keys = out.special.keys.tolist()
        check(set(keys) <= {-1, 1, 2} and len(out.zeros.keys.tolist()) <= 1, "special",
              "unknown keys")
        empty = not (len(out.positive) or len(out.negative) or len(out.zeros))
        check(out.has_nan or (empty and not keys) or out.min <= out.max, "min",
              "larger than max")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, QuantileSketch) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"QuantileSketch(alpha={self.alpha}, rows={self.rows}, buckets={self.buckets})"
