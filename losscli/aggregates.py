"""How a loss's per-row values become one number: small mergeable aggregate objects.

Each loss declares its aggregate kind (``LossSpec.aggregate_kind``); the engine only calls
``update`` with a chunk's per-row values and weights, ``merge`` with another part's
aggregate, and ``result`` at the end. Adding a statistic is one class (a kind of
:class:`~losscli.aggregate_base.Aggregate`) and its line in
:data:`~losscli.aggregate_base.KIND_MODULES`. The kinds built on Σw·ℓ live here; the others
(median, ratios, classification metrics, metrics per query) in modules imported when a loss
of their kind is built: a regression run loads none. :data:`AGGREGATES` is every kind.

Every merged quantity is exact (:class:`~losscli.stats.exact.ExactSum`, integers, maxima,
exact sums of products), so merging parts in any order or tree gives the same bits; the only
rounding is numpy's within one chunk, which a given chunking fixes. Each aggregate
round-trips through ``to_dict``/``from_dict`` bit for bit.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.aggregate_base import (
    MAX_CONFIG_INT,
    Aggregate,
    all_kinds,
    kind,
    no_rows_error,
    row_values,
    true_classes,
)
from losscli.stats.exact import ExactProducts, ExactSum, float_to_json, fraction_to_float
from losscli.stats.fields import Fields, check

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = ["R2", "Aggregate", "D2Tweedie", "ExplainedVariance", "Max", "Mean", "RootMean",
           "all_kinds", "kind", "row_values", "true_classes"]


def __getattr__(name: str) -> dict[str, type[Aggregate]]:
    """``AGGREGATES``: every kind by name, each module imported (read on use, not with this
    module: :func:`~losscli.aggregate_base.all_kinds`)."""
    if name == "AGGREGATES":
        return all_kinds()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Mean(Aggregate):
    """The weighted mean Σw·ℓ / Σw (the default); the base of the kinds built on Σw·ℓ.

    Values of shape (n, K) — one per output of a multi-output regression, one per label of a
    multi-label task — are kept per column in ``parts`` (an aggregate of the same kind each)
    and combined by :meth:`combine`: by default their uniform average (sklearn's
    ``multioutput="uniform_average"``); the breakdown is in :meth:`details`.
    """

    name = "mean"
    per_row = True

    def __init__(self) -> None:
        super().__init__()
        self.total = ExactSum()
        self.parts: list[Mean] | None = None

    def details(self) -> dict[str, Any] | None:
        if self.parts is None:
            return None
        return {"per_column": [part.result() for part in self.parts]}

    # -- running state ------------------------------------------------------------------
    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        n = losses.shape[0]
        if n == 0:
            return
        if losses.ndim == 2:
            self._update_parts(losses, weights, arrays or {})
            losses = row_values(losses)  # a row's value: the mean over its columns
        elif self.parts is not None:
            raise ValueError("one value per row after several: the column count changed")
        self.count(n, weights)
        self.total.add(float(np.sum(losses if weights is None else weights * losses)))

    @classmethod
    def update_groups(cls, aggs: list[Aggregate], groups: Any, losses: np.ndarray,
                      weights: np.ndarray | None, arrays: dict[str, np.ndarray],
                      split: Any) -> None:
        """A mean of one value per row is summed per group in one pass (what ``update``
        adds from a chunk's rows, with each group's sum taken in row order); every other
        aggregate gets its group's rows."""
        if cls.update is Mean.update and losses.ndim == 1 and all(
                isinstance(a, Mean) and a.parts is None for a in aggs):
            counts = groups.counts
            totals = groups.sums(losses if weights is None else weights * losses)
            sums = counts if weights is None else groups.sums(weights)
            for agg, n, w, t in zip(aggs, counts.tolist(), sums.tolist(), totals.tolist()):
                if n and isinstance(agg, Mean):
                    agg.rows += n
                    agg.weight.add(float(w))
                    agg.total.add(t)
            return
        super().update_groups(aggs, groups, losses, weights, arrays, split)

    def _update_parts(self, losses: np.ndarray, weights: np.ndarray | None,
                      arrays: dict[str, np.ndarray]) -> None:
        k = losses.shape[1]
        if self.parts is None:
            if self.rows:
                raise ValueError("several values per row after one: the column count changed")
            self.parts = [type(self)(**self.config()) for _ in range(k)]
        if len(self.parts) != k:
            raise ValueError(f"{k} values per row after {len(self.parts)}")
        for j, part in enumerate(self.parts):
            part.update(np.ascontiguousarray(losses[:, j]), weights,
                        {r: (a[:, j] if a.ndim == 2 else a) for r, a in arrays.items()})

    def merge(self, other: Aggregate) -> Self:
        self.same_kind(other)
        assert isinstance(other, Mean)
        if other.parts is not None:
            if self.parts is None and not self.rows:
                self.parts = [type(self)(**self.config()) for _ in other.parts]
            if self.parts is None or len(self.parts) != len(other.parts):
                raise ValueError("cannot merge aggregates of different column counts")
            for mine, theirs in zip(self.parts, other.parts):
                mine.merge(theirs)
        elif self.parts is not None and other.rows:
            raise ValueError("cannot merge aggregates of different column counts")
        super().merge(other)
        self.total.merge(other.total)
        return self

    # -- results --------------------------------------------------------------------------
    def mean(self) -> float:
        """Σw·ℓ / Σw."""
        self.checked()
        return self.total.value / self.weight.value

    def result(self, reduction: str = "mean") -> float:
        """The loss value: Σw·ℓ/Σw for "mean", Σw·ℓ for "sum"."""
        if reduction == "sum":
            if self.rows == 0:
                raise no_rows_error()
            return self.total.value
        if self.parts is not None:
            return self.combine([part.result(reduction) for part in self.parts])
        return self.own_result()

    def own_result(self) -> float:
        """The value over one column of values (see :meth:`result`)."""
        return self.mean()

    def combine(self, values: list[float]) -> float:
        """The value of (n, K) values from the K columns' values: their uniform average."""
        self.checked()
        return math.fsum(values) / len(values)

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out = {**super().to_dict(), "total": self.total.to_json()}
        if self.parts is not None:
            out["parts"] = [part.to_dict() for part in self.parts]
        return out

    def _load(self, f: Fields) -> None:
        """Σw·ℓ is bounded by the rows (one finite float sum per chunk)."""
        super()._load(f)
        self.total = f.exact_sum("total", rows=self.rows)
        if f.has("parts"):
            parts = f.each("parts", lambda d: Aggregate.from_dict(d, f.context),
                           longest=MAX_CONFIG_INT)
            for i, part in enumerate(parts):
                check(part.rows == self.rows and type(part) is type(self), f"parts[{i}]",
                      f"a column of another kind or row count ({part.rows} rows, not "
                      f"{self.rows})")
            self.parts = [p for p in parts if isinstance(p, Mean)]


class RootMean(Mean):
    """√(Σw·ℓ / Σw): rmse from per-row squared errors. A whole-data statistic."""

    name = "root_mean"
    per_row = False

    def own_result(self) -> float:
        # sklearn root_mean_squared_error: per output √mse, then their uniform average
        return math.sqrt(self.mean())


class Max(Mean):
    """The largest ℓ over rows with weight > 0 (max_error). A whole-data statistic."""

    name = "max"
    per_row = False

    def __init__(self) -> None:
        super().__init__()
        self.maximum = -math.inf

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        super().update(losses, weights, arrays)
        if losses.shape[0] == 0 or losses.ndim == 2:
            return
        kept = losses if weights is None else losses[weights > 0]
        if kept.size:
            self._fold(float(np.max(kept)))

    def _fold(self, value: float) -> None:
        # NaN wins whatever the order (Python's max() would depend on it).
        if value != value or self.maximum != self.maximum:
            self.maximum = math.nan
        else:
            self.maximum = max(self.maximum, value)

    def merge(self, other: Aggregate) -> Self:
        super().merge(other)
        assert isinstance(other, Max)
        self._fold(other.maximum)
        return self

    def own_result(self) -> float:
        self.checked()
        return self.maximum

    def combine(self, values: list[float]) -> float:
        self.checked()
        return math.nan if any(v != v for v in values) else max(values)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "maximum": float_to_json(self.maximum)}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.maximum = f.real("maximum")


class R2(Mean):
    """1 − Σw·(y − ŷ)² / Σw·(y − ȳ)² (sklearn ``r2_score``, ``force_finite=True``).

    The per-row values are squared errors (Σw·ℓ is the residual sum of squares); the total
    sum of squares comes from the targets. Each chunk c contributes, computed by numpy about
    its own float mean m: its weight W, M = Σw·(y − m)² and S = Σw·(y − m) (not quite 0,
    since m is rounded). With A = Σ(W·m + S), B = Σ W·m², C = Σ m·S kept as exact
    integers (:class:`ExactProducts`), ``SS_tot = Σ M + B + 2C − A² / ΣW`` exactly for
    those chunk figures, so the parts merge exactly in any order and a large offset
    (targets near 1e8 with unit variance) costs no digits.
    """

    name = "r2"
    per_row = False
    needs = ("target",)

    MULTIOUTPUT = ("uniform_average", "variance_weighted")

    def __init__(self, multioutput: str = "uniform_average") -> None:
        super().__init__()
        self.multioutput = multioutput
        self.t_weight = ExactSum()  # Σ W
        self.t_m2 = ExactSum()  # Σ M
        self.t_a = ExactProducts(2)  # Σ (W·m + S·1)
        self.t_b = ExactProducts(3)  # Σ W·m·m
        self.t_c = ExactProducts(2)  # Σ m·S

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        super().update(losses, weights, arrays)
        target = None if arrays is None else arrays.get("target")
        if target is None or target.size == 0 or losses.ndim == 2:
            return
        if weights is None:
            w = float(target.size)
            mean = float(np.mean(target))
            dev = target - mean
            m2 = float(np.sum(dev * dev))  # not np.dot: see stats.intervals.Moments
            resid = float(np.sum(dev))
        else:
            w = float(np.sum(weights))
            if w == 0.0:
                return
            mean = float(np.sum(weights * target) / w)
            dev = target - mean
            wdev = weights * dev
            m2 = float(np.sum(wdev * dev))
            resid = float(np.sum(wdev))
        self.t_m2.add(m2)
        if not all(math.isfinite(x) for x in (w, mean, resid)):
            self.t_m2.add(math.nan)  # NaN/inf targets (--nan-policy propagate): NaN result
            return
        self.t_weight.add(w)
        self.t_a.add(w, mean)
        self.t_a.add(resid, 1.0)
        self.t_b.add(w, mean, mean)
        self.t_c.add(mean, resid)

    def merge(self, other: Aggregate) -> Self:
        super().merge(other)
        assert isinstance(other, R2)
        self.t_weight.merge(other.t_weight)
        self.t_m2.merge(other.t_m2)
        self.t_a.merge(other.t_a)
        self.t_b.merge(other.t_b)
        self.t_c.merge(other.t_c)
        return self

    def ss_tot(self) -> float:
        """Σw·(y − ȳ)² over every row seen."""
        if not self.t_m2.finite:
            return self.t_m2.value
        weight = self.t_weight.fraction()
        if weight == 0:
            return 0.0
        a = self.t_a.fraction()
        exact = (self.t_m2.fraction() + self.t_b.fraction() + 2 * self.t_c.fraction()
                 - a * a / weight)
        return fraction_to_float(max(exact, Fraction(0)))

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        return cls(str(inst.params.get("multioutput") or "uniform_average"))

    def config(self) -> dict[str, Any]:
        return {} if self.multioutput == "uniform_average" else {"multioutput": self.multioutput}

    def own_result(self) -> float:
        self.checked()
        ss_res = self.total.value
        ss_tot = self.ss_tot()
        if ss_tot == 0.0:  # sklearn r2_score with force_finite=True
            return 1.0 if ss_res == 0.0 else 0.0
        return 1.0 - ss_res / ss_tot

    def combine(self, values: list[float]) -> float:
        """sklearn ``r2_score(multioutput=...)``: the uniform average of the outputs' r2, or
        their average weighted by each output's Σw·(y − ȳ)² (``variance_weighted``)."""
        self.checked()
        if self.multioutput == "uniform_average":
            return math.fsum(values) / len(values)
        assert self.parts is not None
        weights = [p.ss_tot() for p in self.parts if isinstance(p, R2)]
        if not any(weights):  # every output constant: sklearn falls back to uniform weights
            return math.fsum(values) / len(values)
        return math.fsum(w * v for w, v in zip(weights, values)) / math.fsum(weights)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "target_weight": self.t_weight.to_json(),
                "target_m2": self.t_m2.to_json(), "target_a": self.t_a.to_json(),
                "target_b": self.t_b.to_json(), "target_c": self.t_c.to_json()}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        rows = self.rows  # Σw ≥ 0 and Σw·(y − m)² ≥ 0; Σ W·m·m ≥ 0; A adds two terms a chunk
        self.t_weight = f.exact_sum("target_weight", rows=rows, non_negative=True)
        self.t_m2 = f.exact_sum("target_m2", rows=rows, non_negative=True, adds=2)
        self.t_a = f.products("target_a", 2, rows=rows, adds=2)
        self.t_b = f.products("target_b", 3, rows=rows, non_negative=True)
        self.t_c = f.products("target_c", 2, rows=rows)
class ExplainedVariance(R2):
    """1 − Var_w(y − ŷ) / Var_w(y) (sklearn ``explained_variance_score``, ``force_finite=True``:
    1.0 when the residuals are constant, 0.0 when only the target is).

    The per-row values are the residuals y − ŷ; their weighted variance is kept with the same
    exact chunk moments as the target's (:class:`R2`), in ``residual``."""

    name = "explained_variance"

    def __init__(self, multioutput: str = "uniform_average") -> None:
        super().__init__(multioutput)
        self.residual = R2()

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        super().update(losses, weights, arrays)
        if losses.ndim == 1 and losses.shape[0]:
            self.residual.update(losses, weights, {"target": losses})

    def merge(self, other: Aggregate) -> Self:
        super().merge(other)
        assert isinstance(other, ExplainedVariance)
        self.residual.merge(other.residual)
        return self

    def own_result(self) -> float:
        self.checked()
        num, den = self.residual.ss_tot(), self.ss_tot()
        if num != num or den != den:
            return math.nan
        if num == 0.0:
            return 1.0
        return 0.0 if den == 0.0 else 1.0 - num / den

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "residual": self.residual.to_dict()}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        residual = f.part("residual", lambda d: Aggregate.from_dict(d, f.context))
        check(type(residual) is R2
              and residual.rows == (0 if self.parts is not None else self.rows),
              "residual", "not the residuals' moments of these rows")
        assert isinstance(residual, R2)
        self.residual = residual


class D2Tweedie(R2):
    """D² = 1 − Σw·d(y, ŷ) / Σw·d(y, ȳ) with d the Tweedie deviance of ``power`` and ȳ the
    weighted mean target (sklearn ``d2_tweedie_score``; NaN for fewer than two rows, and no
    ``force_finite``: a constant target gives −inf, or NaN for a perfect fit).

    The per-row values are the deviances d(y, ŷ). The deviance of the mean expands into sums
    of the targets, kept exactly: with W = Σw, S = Σw·y, ȳ = S/W and A = Σw·g(y),
    Σw·d(y, ȳ) is  p = 0: Σw·(y − ȳ)² (:class:`R2`'s moments);  p = 1: 2·(A − S·log ȳ) with
    g = y·log y;  p = 2: 2·(W·log ȳ − A) with g = log y;  else 2·(A − S·ȳ^(1−p))/((1−p)(2−p))
    with g = max(y, 0)^(2−p) (p < 0) or y^(2−p)."""

    name = "d2_tweedie"

    def __init__(self, power: float = 0.0) -> None:
        super().__init__()
        self.power = float(power)
        self.t_sum = ExactSum()  # S = Σ w·y
        self.t_g = ExactSum()  # A = Σ w·g(y)

    def _g(self, y: np.ndarray) -> np.ndarray:
        p = self.power
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 1:
                return np.where(y == 0, 0.0, y * np.log(np.where(y == 0, 1.0, y)))
            if p == 2:
                return np.log(y)
            return np.power(np.maximum(y, 0) if p < 0 else y, 2 - p)

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        super().update(losses, weights, arrays)
        target = None if arrays is None else arrays.get("target")
        if target is None or target.size == 0 or losses.ndim == 2 or self.power == 0:
            return
        g = self._g(target)
        if weights is None:
            self.t_sum.add(float(np.sum(target)))
            self.t_g.add(float(np.sum(g)))
        else:
            self.t_sum.add(float(np.sum(weights * target)))
            self.t_g.add(float(np.sum(weights * g)))

    def merge(self, other: Aggregate) -> Self:
        super().merge(other)
        assert isinstance(other, D2Tweedie)
        self.t_sum.merge(other.t_sum)
        self.t_g.merge(other.t_g)
        return self

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        return cls(float(inst.params.get("power") or 0.0))

    def config(self) -> dict[str, Any]:
        return {"power": self.power}

    def deviance_of_mean(self) -> float:
        """Σw·d(y, ȳ) over every row seen."""
        p = self.power
        if p == 0:
            return self.ss_tot()
        w, s, a = self.weight.value, self.t_sum.value, self.t_g.value
        with np.errstate(all="ignore"):
            mean = np.float64(s) / np.float64(w)
            if p == 1:
                return float(2 * (a - s * np.log(mean)))
            if p == 2:
                return float(2 * (w * np.log(mean) - a))
            return float(2 * (a - s * np.power(mean, 1 - p)) / ((1 - p) * (2 - p)))

    def own_result(self) -> float:
        self.checked()
        if self.rows < 2:  # sklearn: "not well-defined with less than two samples"
            return math.nan
        num, den = self.total.value, self.deviance_of_mean()
        with np.errstate(all="ignore"):
            return float(1 - np.float64(num) / np.float64(den))

    def combine(self, values: list[float]) -> float:
        self.checked()
        return math.fsum(values) / len(values)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "target_sum": self.t_sum.to_json(),
                "target_g": self.t_g.to_json()}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.t_sum = f.exact_sum("target_sum", rows=self.rows)
        self.t_g = f.exact_sum("target_g", rows=self.rows)
