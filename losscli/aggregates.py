"""How a loss's per-row values become one number: small mergeable aggregate objects.

Each loss declares its aggregate class (``LossSpec.aggregate``); the engine only calls
``update`` with a chunk's per-row values and weights, ``merge`` with another part's
aggregate, and ``result`` at the end. Adding a statistic is one class here.

Every merged quantity is exact (:class:`~losscli.stats.exact.ExactSum`, integers, maxima,
exact sums of products), so merging parts in any order or tree gives the same bits; the only
rounding is numpy's within one chunk, which a given chunking fixes. Each aggregate
round-trips through ``to_dict``/``from_dict`` bit for bit.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from losscli.errors import InputError
from losscli.stats.exact import (
    ExactProducts,
    ExactSum,
    float_to_json,
    fraction_to_float,
)
from losscli.stats.fields import FieldError, Fields, check, nested

#: The largest class, label or bin count a saved aggregate's config may name.
MAX_CONFIG_INT = 1 << 20


def no_rows_error() -> InputError:
    return InputError(
        "No rows left to evaluate (the input is empty, or every row was omitted). "
        "Check the file, or use --nan-policy raise to see which values were dropped."
    )


def zero_weight_error() -> InputError:
    return InputError(
        "Sample weights sum to 0, so the weighted mean is undefined. "
        "Give at least one row a positive weight."
    )


def row_values(values: np.ndarray) -> np.ndarray:
    """One value per row: (n, K) values (outputs, labels) become their mean per row — what
    ``--reduction none`` writes and ``sum`` adds up, consistent with the uniform average."""
    return values if values.ndim == 1 else values.mean(axis=1)


class Aggregate:
    """Base: Σw·ℓ, Σw and the row count, which every aggregate keeps.

    ``per_row``: the loss has a value per row, so the ``sum`` and ``none`` reductions are
    defined. ``needs``: roles whose arrays ``update`` also receives (r2: the target).

    Values of shape (n, K) — one per output of a multi-output regression, one per label of a
    multi-label task — are kept per column in ``parts`` (an aggregate of the same kind each)
    and combined by :meth:`combine`: by default their uniform average (sklearn's
    ``multioutput="uniform_average"``); the breakdown is in :meth:`details`.
    """

    name: ClassVar[str] = "mean"
    per_row: ClassVar[bool] = True
    needs: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.rows = 0
        self.weight = ExactSum()
        self.total = ExactSum()
        self.parts: list[Aggregate] | None = None

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        """An empty aggregate for a loss instance (configured aggregates read its params
        and options: see :meth:`config`)."""
        return cls()

    def config(self) -> dict[str, Any]:
        """What the aggregate was built with (serialised; ``cls(**config)`` rebuilds it)."""
        return {}

    def details(self) -> dict[str, Any] | None:
        """A breakdown beside the value: per column for (n, K) values, else None."""
        if self.parts is None:
            return None
        return {"per_column": [part.result() for part in self.parts]}

    # -- running state ------------------------------------------------------------------
    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        """Add one chunk: per-row losses and their weights (None: all ones)."""
        n = losses.shape[0]
        if n == 0:
            return
        if losses.ndim == 2:
            self._update_parts(losses, weights, arrays or {})
            losses = row_values(losses)  # a row's value: the mean over its columns
        elif self.parts is not None:
            raise ValueError("one value per row after several: the column count changed")
        self.rows += n
        if weights is None:
            self.weight.add(float(n))
            self.total.add(float(np.sum(losses)))
        else:
            self.weight.add(float(np.sum(weights)))
            self.total.add(float(np.sum(weights * losses)))

    @classmethod
    def update_groups(cls, aggs: list[Aggregate], groups: Any, losses: np.ndarray,
                      weights: np.ndarray | None, arrays: dict[str, np.ndarray],
                      split: Any) -> None:
        """``update`` for each group of a batch at once (``--group-by``): ``aggs[g]`` gets
        the rows of group ``g`` of :class:`losscli.grouping.BatchGroups` ``groups``.
        ``split(role)`` gives the rows of an input role per group (cached for the batch).
        A mean of one value per row is summed per group in one pass (what ``update`` adds
        from a chunk's rows, with each group's sum taken in row order); every other
        aggregate gets its group's rows."""
        if cls.update is Aggregate.update and losses.ndim == 1 and all(
                a.parts is None for a in aggs):
            counts = groups.counts
            totals = groups.sums(losses if weights is None else weights * losses)
            sums = counts if weights is None else groups.sums(weights)
            for agg, n, w, t in zip(aggs, counts.tolist(), sums.tolist(), totals.tolist()):
                if n:
                    agg.rows += n
                    agg.weight.add(float(w))
                    agg.total.add(t)
            return
        parts = groups.split(losses)
        w = split("weight")
        need = {r: split(r) for r in arrays}
        for g, agg in enumerate(aggs):
            if groups.counts[g]:
                agg.update(parts[g], w[g], {r: p[g] for r, p in need.items()})

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

    def merge(self, other: Aggregate) -> Aggregate:
        """Fold ``other`` (the same kind) into this one, in place; returns self."""
        if type(other) is not type(self):
            raise ValueError(f"cannot merge a {other.name} aggregate into a {self.name} one")
        if other.parts is not None:
            if self.parts is None and not self.rows:
                self.parts = [type(self)(**self.config()) for _ in other.parts]
            if self.parts is None or len(self.parts) != len(other.parts):
                raise ValueError("cannot merge aggregates of different column counts")
            for mine, theirs in zip(self.parts, other.parts):
                mine.merge(theirs)
        elif self.parts is not None and other.rows:
            raise ValueError("cannot merge aggregates of different column counts")
        self.rows += other.rows
        self.weight.merge(other.weight)
        self.total.merge(other.total)
        return self

    # -- results --------------------------------------------------------------------------
    def mean(self) -> float:
        if self.rows == 0:
            raise no_rows_error()
        weight = self.weight.value
        if weight <= 0.0:
            raise zero_weight_error()
        return self.total.value / weight

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
        self.mean()  # the same errors for no rows or zero weight
        return math.fsum(values) / len(values)

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.name, "rows": self.rows,
                               "weight": self.weight.to_json(), "total": self.total.to_json()}
        config = self.config()
        if config:
            out["config"] = config
        if self.parts is not None:
            out["parts"] = [part.to_dict() for part in self.parts]
        return out

    def _load(self, f: Fields) -> None:
        """Read the state's fields (checked: :mod:`losscli.stats.fields`). The weights are
        ≥ 0 and one finite float sum per chunk is added, so Σw is non-negative and both sums
        are bounded by the rows; without weights Σw is the row count itself."""
        self.rows = f.count("rows")
        self.weight = f.exact_sum("weight", rows=self.rows, non_negative=True)
        self.total = f.exact_sum("total", rows=self.rows)
        if f.context.get("weighted") is False and self.weight.finite and self.rows < 1 << 53:
            check(self.weight.fraction() == self.rows, "weight",
                  f"Σw is not the row count {self.rows}, but the run had no weights")
        if f.has("parts"):
            self.parts = f.each("parts", lambda d: Aggregate.from_dict(d, f.context),
                                longest=MAX_CONFIG_INT)
            for i, part in enumerate(self.parts):
                check(part.rows == self.rows and type(part) is type(self), f"parts[{i}]",
                      f"a column of another kind or row count ({part.rows} rows, not "
                      f"{self.rows})")

    @classmethod
    def from_dict(cls, data: dict[str, Any], context: dict[str, Any] | None = None
                  ) -> Aggregate:
        """An aggregate from :meth:`to_dict`'s JSON, every field checked (FieldError)."""
        f = Fields(data, context)
        name = f.text("kind", choices=tuple(AGGREGATES))
        config = f.raw("config", {})
        if not isinstance(config, dict) or not all(
                isinstance(v, str | float | bool | None) or (
                    isinstance(v, int) and 0 <= v <= MAX_CONFIG_INT) for v in config.values()):
            raise FieldError("config", f"expected an object of plain settings (whole numbers "
                             f"up to {MAX_CONFIG_INT}), got {config!r:.200}")
        agg = nested("config", lambda: AGGREGATES[name](**config))
        agg._load(f)
        return agg

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(rows={self.rows})"


class Mean(Aggregate):
    """The weighted mean Σw·ℓ / Σw (the default)."""


class RootMean(Aggregate):
    """√(Σw·ℓ / Σw): rmse from per-row squared errors. A whole-data statistic."""

    name = "root_mean"
    per_row = False

    def own_result(self) -> float:
        # sklearn root_mean_squared_error: per output √mse, then their uniform average
        return math.sqrt(self.mean())


class Max(Aggregate):
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

    def merge(self, other: Aggregate) -> Aggregate:
        super().merge(other)
        assert isinstance(other, Max)
        self._fold(other.maximum)
        return self

    def own_result(self) -> float:
        self.mean()  # the same errors for no rows or zero weight
        return self.maximum

    def combine(self, values: list[float]) -> float:
        self.mean()
        return math.nan if any(v != v for v in values) else max(values)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "maximum": float_to_json(self.maximum)}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.maximum = f.real("maximum")


class R2(Aggregate):
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

    def merge(self, other: Aggregate) -> Aggregate:
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
        self.mean()  # the same errors for no rows or zero weight
        ss_res = self.total.value
        ss_tot = self.ss_tot()
        if ss_tot == 0.0:  # sklearn r2_score with force_finite=True
            return 1.0 if ss_res == 0.0 else 0.0
        return 1.0 - ss_res / ss_tot

    def combine(self, values: list[float]) -> float:
        """sklearn ``r2_score(multioutput=...)``: the uniform average of the outputs' r2, or
        their average weighted by each output's Σw·(y − ȳ)² (``variance_weighted``)."""
        self.mean()
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

    def merge(self, other: Aggregate) -> Aggregate:
        super().merge(other)
        assert isinstance(other, ExplainedVariance)
        self.residual.merge(other.residual)
        return self

    def own_result(self) -> float:
        self.mean()  # the same errors for no rows or zero weight
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

    def merge(self, other: Aggregate) -> Aggregate:
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
        self.mean()  # the same errors for no rows or zero weight
        if self.rows < 2:  # sklearn: "not well-defined with less than two samples"
            return math.nan
        num, den = self.total.value, self.deviance_of_mean()
        with np.errstate(all="ignore"):
            return float(1 - np.float64(num) / np.float64(den))

    def combine(self, values: list[float]) -> float:
        self.mean()
        return math.fsum(values) / len(values)

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "target_sum": self.t_sum.to_json(),
                "target_g": self.t_g.to_json()}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.t_sum = f.exact_sum("target_sum", rows=self.rows)
        self.t_g = f.exact_sum("target_g", rows=self.rows)


class _Counted(Aggregate):
    """Base of aggregates whose state is not Σw·ℓ (confusion counts, score rankings): they
    count rows and weight like every aggregate, and keep their own statistic."""

    per_row = False
    needs = ("target",)

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        n = losses.shape[0]
        if n == 0:
            return
        assert arrays is not None
        self.rows += n
        self.weight.add(float(n) if weights is None else float(np.sum(weights)))
        self.own_update(losses, weights, arrays["target"])

    def own_update(self, losses: np.ndarray, weights: np.ndarray | None,
                   target: np.ndarray) -> None:
        """This aggregate's own statistic from a chunk's values (``losses``) and targets."""
        raise NotImplementedError

    def result(self, reduction: str = "mean") -> float:
        self.mean_weight_check()
        return self.own_result()

    def mean_weight_check(self) -> None:
        if self.rows == 0:
            raise no_rows_error()
        if self.weight.value <= 0.0:
            raise zero_weight_error()

    def mean(self) -> float:  # Σw·ℓ has no meaning here; only the checks
        self.mean_weight_check()
        return math.nan


def true_classes(target: np.ndarray, binary: bool) -> np.ndarray:
    """Class per row: a binary label (0 or -1 → 0, 1 → 1), a class index, or the argmax of
    a distribution. (NaN rows never reach an aggregate under --nan-policy raise/omit.)"""
    if binary:
        return (target > 0).astype(np.int64)
    if target.ndim == 2:
        return np.argmax(np.nan_to_num(target, nan=-np.inf), axis=1)
    return np.where(np.isfinite(target), target, 0).astype(np.int64)


class Confusion(_Counted):
    """Precision, recall or F_β from a weighted confusion matrix (sklearn
    ``precision_recall_fscore_support``): the kernel gives each row's predicted class (binary:
    ``score >= threshold``; multi-class: the argmax; multi-label: an (n, L) 0/1 matrix), the
    target its true class. ``average``: binary | micro | macro | weighted; the per-class (or
    per-label) values are in :meth:`details`. Counts merge exactly
    (:class:`losscli.stats.confusion.ConfusionMatrix`)."""

    name = "confusion"
    METRICS = ("precision", "recall", "f1")

    def __init__(self, metric: str = "f1", average: str = "binary", classes: int = 2,
                 labels: int = 0, beta: float = 1.0, binary: bool = True,
                 option: str = "") -> None:
        super().__init__()
        from losscli.stats.confusion import ConfusionMatrix

        self.metric, self.average, self.classes, self.labels = metric, average, classes, labels
        self.beta, self.binary = beta, binary
        # a metric of the whole matrix (mcc, kappa, ...: stats.confusion.MATRIX_METRICS) and
        # its setting (balanced accuracy's "adjusted", kappa's "linear" / "quadratic")
        self.option = option
        self.matrices = [ConfusionMatrix(2 if labels else classes)
                         for _ in range(max(labels, 1))]

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        task = inst.options.get("task")
        labels = int(inst.options.get("classes", 0)) if task == "multilabel" else 0
        classes = int(inst.options.get("classes", 2)) if task == "multiclass" else 2
        option = ("adjusted" if inst.params.get("adjusted")
                  else str(inst.params.get("weighting") or "").replace("none", ""))
        return cls(inst.spec.name, str(inst.options.get("average", "binary")), classes, labels,
                   binary=task == "binary", option=option)

    def config(self) -> dict[str, Any]:
        out = {"metric": self.metric, "average": self.average, "classes": self.classes,
               "labels": self.labels, "beta": self.beta, "binary": self.binary}
        return {**out, "option": self.option} if self.option else out

    def value_of(self, cm: Any) -> float:
        """This aggregate's metric from a confusion matrix of its classes (a bootstrap
        replicate's, or its own)."""
        from losscli.stats.confusion import MATRIX_METRICS

        if self.metric in MATRIX_METRICS:
            return cm.metric(self.metric, self.option)
        return float(self._pick(cm.precision_recall_f(self.average, pos_label=1,
                                                      beta=self.beta)))

    def own_update(self, losses: np.ndarray, weights: np.ndarray | None,
                   target: np.ndarray) -> None:
        if self.labels:
            for j, cm in enumerate(self.matrices):
                cm.update((target[:, j] > 0).astype(np.int64), losses[:, j].astype(np.int64),
                          weights)
            return
        self.matrices[0].update(true_classes(target, self.binary),
                                losses.astype(np.int64), weights)

    def merge(self, other: Aggregate) -> Aggregate:
        assert isinstance(other, Confusion)
        super().merge(other)
        for mine, theirs in zip(self.matrices, other.matrices):
            mine.merge(theirs)
        return self

    def _prf(self, average: str | None) -> Any:
        if not self.labels:
            return self.matrices[0].precision_recall_f(average, pos_label=1, beta=self.beta)
        return _multilabel_prf(self.matrices, average, self.beta)

    def _pick(self, prf: Any) -> Any:
        return {"precision": prf.precision, "recall": prf.recall}.get(self.metric, prf.f)

    def own_result(self) -> float:
        if not self.labels:
            return self.value_of(self.matrices[0])
        return float(self._pick(self._prf(self.average)))

    def details(self) -> dict[str, Any] | None:
        from losscli.stats.confusion import MATRIX_METRICS

        if self.metric in MATRIX_METRICS:
            return None
        per = self._prf(None)
        values = [float(v) for v in np.atleast_1d(self._pick(per))]
        key = "per_label" if self.labels else "per_class"
        out: dict[str, Any] = {"average": self.average,
                               key: dict(zip((str(x) for x in per.labels), values))}
        zero = self._prf(self.average).zero_division
        if zero:
            out["zero_division"] = {k: [str(x) for x in v] for k, v in zero.items()}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "matrices": [cm.to_dict() for cm in self.matrices]}

    def _load(self, f: Fields) -> None:
        from losscli.stats.confusion import ConfusionMatrix

        super()._load(f)
        self.matrices = f.each("matrices", ConfusionMatrix.from_dict,
                               length=max(self.labels, 1))
        for i, cm in enumerate(self.matrices):
            check(cm.classes == (2 if self.labels else self.classes) and cm.rows <= self.rows,
                  f"matrices[{i}]", "a matrix of another class count or more rows than the "
                  "aggregate")


def _multilabel_prf(matrices: list[Any], average: str | None, beta: float) -> Any:
    """sklearn's multi-label P/R/F: per label (the positive class of each label's 2x2
    matrix), then micro (counts summed over labels), macro or weighted (by support)."""
    from fractions import Fraction

    from losscli.stats.confusion import PRF

    tp, pred, true = [], [], []
    for cm in matrices:
        cells = cm.cells()
        tp.append(cells.get((1, 1), Fraction(0)))
        pred.append(cells.get((1, 1), Fraction(0)) + cells.get((0, 1), Fraction(0)))
        true.append(cells.get((1, 1), Fraction(0)) + cells.get((1, 0), Fraction(0)))
    b2 = Fraction(beta) ** 2
    zero: dict[str, list[int]] = {}

    def ratio(num: Fraction, den: Fraction, what: str, label: int) -> Fraction:
        if den == 0:
            zero.setdefault(what, []).append(label)
            return Fraction(0)
        return num / den

    def scores(t: Fraction, p: Fraction, r: Fraction, label: int) -> tuple[Fraction, ...]:
        prec = ratio(t, p, "precision", label)
        rec = ratio(t, r, "recall", label)
        f = ratio((1 + b2) * t, b2 * r + p, "f-score", label)
        return prec, rec, f

    labels = list(range(len(matrices)))
    if average == "micro":
        prec, rec, f = scores(sum(tp, Fraction(0)), sum(pred, Fraction(0)),
                              sum(true, Fraction(0)), -1)
        return PRF(float(prec), float(rec), float(f), None, labels, zero)
    per = [scores(t, p, r, j) for j, (t, p, r) in enumerate(zip(tp, pred, true))]
    if average is None:
        return PRF(np.array([float(x[0]) for x in per]), np.array([float(x[1]) for x in per]),
                   np.array([float(x[2]) for x in per]),
                   np.array([float(x) for x in true]), labels, zero)
    if average == "weighted":
        total = sum(true, Fraction(0))
        w = [t / total if total else Fraction(0) for t in true]
    else:
        w = [Fraction(1, len(per))] * len(per)
    avg = [float(sum((wi * x[k] for wi, x in zip(w, per)), Fraction(0))) for k in range(3)]
    return PRF(avg[0], avg[1], avg[2], None, labels, zero)


class RankingMetric(_Counted):
    """ROC-AUC or average precision of scores against labels, streamed
    (:mod:`losscli.stats.ranking`): exact (memory grows with the distinct scores: up to one
    entry of 24–40 bytes per row for float64 scores) or, with ``bins``, over that many
    equal-width bins of the score range ([0, 1] for probabilities, the sigmoid of other
    scores), with the error bound the shared bins imply in :meth:`details`. Binary; one-vs-
    rest macro average for multi-class (probabilities) and over the labels of multi-label
    data."""

    name = "ranking"
    higher_is_better = True

    def __init__(self, metric: str = "roc_auc", classes: int = 0, bins: int = 0,
                 transform: str | None = None, multilabel: bool = False) -> None:
        super().__init__()
        from losscli.stats.ranking import BinnedRanking, OneVsRest, Ranking

        self.metric, self.classes, self.bins, self.transform = metric, classes, bins, transform
        self.multilabel = multilabel
        self.state: Any
        if classes:
            self.state = OneVsRest(classes, bins=bins or None,
                                   **({"transform": transform} if bins else {}))
        elif bins:
            self.state = BinnedRanking(bins, transform=transform)
        else:
            self.state = Ranking()

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        task = inst.options.get("task")
        classes = int(inst.options.get("classes", 0)) if task in ("multiclass", "multilabel") else 0
        bins = int(inst.params.get("bins") or 0)
        transform = "sigmoid" if bins and (
            inst.options.get("from_logits") or task == "multilabel") else None
        return cls(inst.spec.name, classes, bins, transform, multilabel=task == "multilabel")

    def config(self) -> dict[str, Any]:
        return {"metric": self.metric, "classes": self.classes, "bins": self.bins,
                "transform": self.transform, "multilabel": self.multilabel}

    def own_update(self, losses: np.ndarray, weights: np.ndarray | None,
                   target: np.ndarray) -> None:
        if self.multilabel:
            # multi-label: label j is class j's one-vs-rest problem
            for j, state in enumerate(self.state.per_class):
                state.update(losses[:, j], (target[:, j] > 0).astype(np.float64), weights)
            return
        labels = (true_classes(target, False) if self.classes
                  else (target > 0).astype(np.float64))
        self.state.update(losses, labels, weights)

    def merge(self, other: Aggregate) -> Aggregate:
        assert isinstance(other, RankingMetric)
        super().merge(other)
        self.state.merge(other.state)
        return self

    def _score(self, average: str | None = "macro") -> Any:
        if self.metric == "roc_auc":
            return self.state.roc_auc(average) if self.classes else self.state.roc_auc()
        return (self.state.average_precision(average) if self.classes
                else self.state.average_precision())

    def own_result(self) -> float:
        return float(self._score().value)

    def details(self) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        score = self._score()
        if self.bins:
            out["bins"] = self.bins
            out["bound"] = [score.low, score.high]
        if getattr(score, "reason", None):
            out["reason"] = score.reason
        if self.classes:
            out["per_class"] = {str(i): float(s.value)
                                for i, s in enumerate(self._score(None))}
        return out or None

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "state": self.state.to_dict()}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.state = f.part("state", type(self.state).from_dict)
        if self.classes:
            check(self.state.classes == self.classes and (self.state.bins or 0) == self.bins,
                  "state", f"{self.state.classes} classes, not {self.classes}")


class Calibration(_Counted):
    """Expected (``l1``) or maximum (``max``) calibration error over ``bins`` equal-width
    confidence bins (:class:`losscli.stats.calibration.CalibrationError`): binary — the
    probability of class 1 against the label; multi-class — the top-label confidence against
    top-label correctness (torchmetrics' ``BinaryCalibrationError`` /
    ``MulticlassCalibrationError``). The kernel gives the probabilities; the bin table is in
    :meth:`details` (what the reliability diagram draws)."""

    name = "calibration"

    def __init__(self, norm: str = "l1", bins: int = 15, task: str = "binary") -> None:
        super().__init__()
        from losscli.stats.calibration import CalibrationError

        self.norm, self.bins, self.task = norm, bins, task
        self.state = CalibrationError(bins, task)

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        task = "multiclass" if inst.options.get("task") == "multiclass" else "binary"
        return cls("max" if inst.spec.name == "mce" else "l1", int(inst.params.get("bins") or 15),
                   task)

    def config(self) -> dict[str, Any]:
        return {"norm": self.norm, "bins": self.bins, "task": self.task}

    def own_update(self, losses: np.ndarray, weights: np.ndarray | None,
                   target: np.ndarray) -> None:
        labels = true_classes(target, self.task == "binary")
        self.state.update(losses, labels, weights)

    def merge(self, other: Aggregate) -> Aggregate:
        assert isinstance(other, Calibration)
        super().merge(other)
        self.state.merge(other.state)
        return self

    def own_result(self) -> float:
        return self.state.result(self.norm)

    def details(self) -> dict[str, Any] | None:
        return {"bins": [[int(b), float(w), float(c / w), float(a / w)]
                         for b, w, c, a in self.state.bin_table()],
                "bin_count": self.bins, "columns": ["bin", "weight", "confidence", "accuracy"]}

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "state": self.state.to_dict()}

    def _load(self, f: Fields) -> None:
        from losscli.stats.calibration import CalibrationError

        super()._load(f)
        self.state = f.part("state", CalibrationError.from_dict)
        check((self.state.bins, self.state.task) == (self.bins, self.task), "state",
              f"binned for {self.state.bins} bins ({self.state.task}), not {self.bins} "
              f"({self.task})")


AGGREGATES: dict[str, type[Aggregate]] = {
    cls.name: cls for cls in (Mean, RootMean, Max, R2, ExplainedVariance, D2Tweedie, Confusion,
                               RankingMetric, Calibration)
}
