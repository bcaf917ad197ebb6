"""Ratios of two weighted sums: Σw·ℓ / Σw·d, with ℓ the loss's per-row values and d a
per-row scale read from the inputs (wape: |y|; mase: the naive forecast's |y − naive|); and
mase with a season length m (:class:`SeasonalRatio`): the weighted mean |y − ŷ| over the
seasonal-naive scale of the target series itself (:mod:`losscli.stats.seasonal`, merged in
row order).

Both sums are exact (:class:`~losscli.stats.exact.ExactSum`), so parts merge in any order
or tree to the same bits, as every aggregate of :mod:`losscli.aggregates` does (which
registers these kinds by importing them). A ratio of sums is a whole-data statistic: mean
reduction only. Several values per row (several series or outputs) are pooled: both sums run
over every value, the usual WAPE over many series.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.aggregate_base import Aggregate
from losscli.stats.exact import ExactSum
from losscli.stats.fields import Fields, check
from losscli.stats.seasonal import SeasonalScale

if TYPE_CHECKING:
    from typing_extensions import Self


class Ratio(Aggregate):
    """Σw·ℓ / Σw·d; a kind says what d is (:meth:`scale`). A zero denominator gives NaN
    when the numerator is 0 too, else +inf."""

    per_row = False

    def __init__(self) -> None:
        super().__init__()
        self.total = ExactSum()
        self.denominator = ExactSum()

    def scale(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        """The per-row d of a chunk, shaped as the losses."""
        raise NotImplementedError

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        n = losses.shape[0]
        if n == 0:
            return
        self.count(n, weights)
        d = self.scale(arrays or {})
        w = None if weights is None else (weights if losses.ndim == 1 else weights[:, None])
        self.total.add(float(np.sum(losses if w is None else w * losses)))
        self.denominator.add(float(np.sum(d if w is None else w * d)))

    def merge(self, other: Aggregate) -> Self:
        super().merge(other)
        assert isinstance(other, Ratio)
        self.total.merge(other.total)
        self.denominator.merge(other.denominator)
        return self

    def own_result(self) -> float:
        num, den = self.total.value, self.denominator.value
        if den == 0.0:
            return math.nan if num == 0.0 else math.inf
        return num / den

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "total": self.total.to_json(),
                "denominator": self.denominator.to_json()}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.total = f.exact_sum("total", rows=self.rows, non_negative=True)
        self.denominator = f.exact_sum("denominator", rows=self.rows, non_negative=True)


class AbsTargetRatio(Ratio):
    """WAPE: Σw·|y − ŷ| / Σw·|y|."""

    name = "abs_target_ratio"
    needs = ("target",)

    def scale(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return np.abs(arrays["target"])


class NaiveRatio(Ratio):
    """MASE against a naive forecast: Σw·|y − ŷ| / Σw·|y − naive| (the ratio of the two
    weighted mean absolute errors)."""

    name = "naive_ratio"
    needs = ("target", "naive")

    def scale(self, arrays: dict[str, np.ndarray]) -> np.ndarray:
        return np.abs(arrays["target"] - arrays["naive"])


class SeasonalRatio(Aggregate):
    """MASE with the in-sample scale of the evaluated series: (Σw·|y − ŷ| / Σw) /
    (1/(n − m)·Σ_{t>m} |y_t − y_{t−m}|), the targets in row order (per group with
    --group-by; several values per row: one series per column, pooled). NaN when there
    are no more rows than m; +inf when the scale is 0 and some error is not."""

    name = "seasonal_ratio"
    needs = ("target",)
    ordered = True

    def __init__(self, season_length: int = 1) -> None:
        super().__init__()
        self.season_length = int(season_length)
        self.total = ExactSum()
        self.series = SeasonalScale(self.season_length)

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        return cls(int(inst.params["season_length"]))

    def config(self) -> dict[str, Any]:
        return {"season_length": self.season_length}

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        n = losses.shape[0]
        if n == 0:
            return
        self.count(n, weights)
        w = None if weights is None else (weights if losses.ndim == 1 else weights[:, None])
        self.total.add(float(np.sum(losses if w is None else w * losses)))
        self.series.update((arrays or {})["target"])

    def merge(self, other: Aggregate) -> Self:
        super().merge(other)
        assert isinstance(other, SeasonalRatio)
        self.total.merge(other.total)
        self.series.merge(other.series)
        return self

    def own_result(self) -> float:
        scale = self.series.scale()
        width = max(self.series.width, 1)
        mae = self.total.value / (self.weight.value * width)
        if math.isnan(scale):
            return math.nan
        if scale == 0.0:
            return math.nan if mae == 0.0 else math.inf
        return mae / scale

    def details(self) -> dict[str, Any] | None:
        out: dict[str, Any] = {"season_length": self.season_length,
                               "scale": self.series.scale(), "pairs": self.series.pairs}
        if not self.series.pairs:
            out["reason"] = (f"no more rows than the season length {self.season_length}: "
                             "the seasonal-naive scale is undefined")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "total": self.total.to_json(),
                "series": self.series.to_dict()}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.total = f.exact_sum("total", rows=self.rows, non_negative=True)
        self.series = f.part("series", SeasonalScale.from_dict)
        check(self.series.m == self.season_length and self.series.rows == self.rows,
              "series", f"a series of season length {self.series.m} and {self.series.rows} "
              f"rows, not {self.season_length} and {self.rows}")
