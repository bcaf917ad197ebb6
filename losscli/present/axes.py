"""Axes shared by the terminal and SVG drawings of a histogram: round ticks, the x axis
(linear, or logarithmic for a heavy tail) and the weight of a histogram per column."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from losscli.present.pictures import Histogram

__all__ = ["HEAVY_TAIL", "HistogramAxis", "bin_weights", "nice_ceiling", "nice_ticks", "tick_text"]

#: max / p50 above which a histogram's x axis is logarithmic.
HEAVY_TAIL = 100.0


def tick_text(value: float) -> str:
    """An axis tick (a round number) exactly and short: ``0.25``, ``1000``, ``1e-05`` →
    ``1e-5``."""
    if value == 0:
        return "0"
    text = format(value, ".12g")
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant}e{int(exp)}"
    return text




# ---------------------------------------------------------------------------------------
# axes

def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ raw."""
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    exp = math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = m * 10.0**exp
        if step >= raw * (1 - 1e-12):
            return step
    return 10.0 ** (exp + 1)


def _round_tick(value: float, step: float) -> float:
    digits = max(0, 1 - math.floor(math.log10(step)))
    return round(value, digits) + 0.0


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """Round numbers (multiples of 1, 2, 2.5 or 5 × 10^k) within [low, high], about
    ``count`` of them (at least two when low < high)."""
    if not high > low:
        return [low]
    count = max(1, count)
    step = _nice_step((high - low) / count)
    while True:
        first = math.ceil(low / step - 1e-9)
        last = math.floor(high / step + 1e-9)
        if last - first >= 1 or step <= (high - low) * 1e-9:
            break
        step = _nice_step(step / 2.1)
    return [_round_tick(k * step, step) for k in range(first, last + 1)]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k that is ≥ value (> 0)."""
    if not value > 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        top = m * 10.0**exp
        if top >= value * (1 - 1e-12):
            return _round_tick(top, 10.0 ** (exp - 1))
    return 10.0 ** (exp + 1)


@dataclass(frozen=True)
class HistogramAxis:
    """The x axis shared by one or several histograms: [low, high], linear or log, and the
    sentence that says which rule chose it."""

    low: float
    high: float
    log: bool
    rule: str

    @classmethod
    def of(cls, hists: Sequence[Histogram]) -> HistogramAxis:
        hs = [h for h in hists if h.reason() is None]
        lo = min(h.minimum for h in hs)
        hi = max(h.maximum for h in hs)
        medians = [h.median for h in hs]
        if lo < 0:
            return cls(lo, hi, False, "linear x axis (negative values)")
        if min(medians) <= 0:
            return cls(lo, hi, False, "linear x axis (p50 = 0)")
        ratio = hi / min(medians)
        shown = format(ratio, ",.0f") if ratio >= 10 else format(ratio, ".3g")
        if ratio > HEAVY_TAIL:
            floor = min(h.positive_floor for h in hs)
            return cls(floor, hi, True,
                       f"log x axis: heavy tail, max / p50 = {shown} > {HEAVY_TAIL:g}")
        return cls(lo, hi, False, f"linear x axis: max / p50 = {shown} ≤ {HEAVY_TAIL:g}")

    @property
    def degenerate(self) -> bool:
        return not self.high > self.low

    def position(self, value: float) -> float:
        """Where ``value`` lies on the axis, 0 at ``low`` and 1 at ``high`` (not clipped;
        -inf for values ≤ 0 on a log axis)."""
        if self.degenerate:
            return 0.5
        if self.log:
            if value <= 0:
                return -math.inf
            return (math.log10(value) - math.log10(self.low)) / (
                math.log10(self.high) - math.log10(self.low))
        return (value - self.low) / (self.high - self.low)

    def ticks(self, count: int) -> list[tuple[float, str]]:
        """About ``count`` round ticks within the axis: (value, text)."""
        if self.degenerate:
            return [(self.low, tick_text(self.low))]
        if not self.log:
            return [(v, tick_text(v)) for v in nice_ticks(self.low, self.high, count)]
        first = math.ceil(math.log10(self.low) - 1e-9)
        last = math.floor(math.log10(self.high) + 1e-9)
        every = max(1, math.ceil((last - first + 1) / max(1, count)))
        out = []
        for k in range(first, last + 1):
            if (k - first) % every:
                continue
            text = tick_text(float(10.0**k)) if -3 <= k <= 4 else f"1e{k}"
            out.append((10.0**k, text))
        return out


def bin_weights(h: Histogram, axis: HistogramAxis, columns: int) -> np.ndarray:
    """The weight of ``h`` in each of ``columns`` equal columns of ``axis``: every bucket
    (clipped to [min, max]) spread uniformly over its width in the axis' scale; point
    masses (and buckets narrower than 1e-9 column) go to one column. On a log axis the
    zeros are left out (:attr:`Histogram.zero_weight`)."""
    n = max(1, int(columns))
    out = np.zeros(n)
    if axis.degenerate:
        out[n // 2] = sum(w for _, _, w in h.buckets)
        return out
    starts, ends, weights = [], [], []
    for lo, hi, w in h.buckets:
        a = min(max(lo, h.minimum), h.maximum)
        b = min(max(hi, h.minimum), h.maximum)
        if axis.log:
            if b <= 0:
                continue
            a = max(a, axis.low)
        starts.append(axis.position(a) * n)
        ends.append(axis.position(b) * n)
        weights.append(w)
    if not weights:
        return out
    ua, ub, wt = np.array(starts), np.array(ends), np.array(weights)
    point = (ub - ua) < 1e-9
    if point.any():
        cols = np.clip(np.floor(ua[point]).astype(np.int64), 0, n - 1)
        np.add.at(out, cols, wt[point])
    spread = ~point
    if spread.any():
        sa, sb, ws = ua[spread][:, None], ub[spread][:, None], wt[spread][:, None]
        edges = np.arange(n + 1, dtype=np.float64)[None, :]
        cdf = (ws * np.clip((edges - sa) / (sb - sa), 0.0, 1.0)).sum(axis=0)
        out += np.diff(cdf)
    return np.maximum(out, 0.0)


