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
    float_from_json,
    float_to_json,
    fraction_to_float,
)


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


class Aggregate:
    """Base: Σw·ℓ, Σw and the row count, which every aggregate keeps.

    ``per_row``: the loss has a value per row, so the ``sum`` and ``none`` reductions are
    defined. ``needs``: roles whose arrays ``update`` also receives (r2: the target).
    """

    name: ClassVar[str] = "mean"
    per_row: ClassVar[bool] = True
    needs: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.rows = 0
        self.weight = ExactSum()
        self.total = ExactSum()

    # -- running state ------------------------------------------------------------------
    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        """Add one chunk: per-row losses and their weights (None: all ones)."""
        n = losses.shape[0]
        if n == 0:
            return
        self.rows += n
        if weights is None:
            self.weight.add(float(n))
            self.total.add(float(np.sum(losses)))
        else:
            self.weight.add(float(np.sum(weights)))
            self.total.add(float(np.sum(weights * losses)))

    def merge(self, other: Aggregate) -> Aggregate:
        """Fold ``other`` (the same kind) into this one, in place; returns self."""
        if type(other) is not type(self):
            raise ValueError(f"cannot merge a {other.name} aggregate into a {self.name} one")
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
        return self.mean()

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.name, "rows": self.rows, "weight": self.weight.to_json(),
                "total": self.total.to_json()}

    def _load(self, data: dict[str, Any]) -> None:
        self.rows = int(data["rows"])
        self.weight = ExactSum.from_json(data["weight"])
        self.total = ExactSum.from_json(data["total"])

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Aggregate:
        kind = AGGREGATES.get(data.get("kind", ""))
        if kind is None:
            raise ValueError(f"unknown aggregate {data.get('kind')!r}")
        agg = kind()
        agg._load(data)
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

    def result(self, reduction: str = "mean") -> float:
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
        if losses.shape[0] == 0:
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

    def result(self, reduction: str = "mean") -> float:
        self.mean()  # the same errors for no rows or zero weight
        return self.maximum

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "maximum": float_to_json(self.maximum)}

    def _load(self, data: dict[str, Any]) -> None:
        super()._load(data)
        self.maximum = float_from_json(data["maximum"])


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

    def __init__(self) -> None:
        super().__init__()
        self.t_weight = ExactSum()  # Σ W
        self.t_m2 = ExactSum()  # Σ M
        self.t_a = ExactProducts(2)  # Σ (W·m + S·1)
        self.t_b = ExactProducts(3)  # Σ W·m·m
        self.t_c = ExactProducts(2)  # Σ m·S

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        super().update(losses, weights, arrays)
        target = None if arrays is None else arrays.get("target")
        if target is None or target.size == 0:
            return
        if weights is None:
            w = float(target.size)
            mean = float(np.mean(target))
            dev = target - mean
            m2 = float(np.dot(dev, dev))
            resid = float(np.sum(dev))
        else:
            w = float(np.sum(weights))
            if w == 0.0:
                return
            mean = float(np.sum(weights * target) / w)
            dev = target - mean
            wdev = weights * dev
            m2 = float(np.dot(wdev, dev))
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

    def result(self, reduction: str = "mean") -> float:
        self.mean()  # the same errors for no rows or zero weight
        ss_res = self.total.value
        ss_tot = self.ss_tot()
        if ss_tot == 0.0:  # sklearn r2_score with force_finite=True
            return 1.0 if ss_res == 0.0 else 0.0
        return 1.0 - ss_res / ss_tot

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "target_weight": self.t_weight.to_json(),
                "target_m2": self.t_m2.to_json(), "target_a": self.t_a.to_json(),
                "target_b": self.t_b.to_json(), "target_c": self.t_c.to_json()}

    def _load(self, data: dict[str, Any]) -> None:
        super()._load(data)
        self.t_weight = ExactSum.from_json(data["target_weight"])
        self.t_m2 = ExactSum.from_json(data["target_m2"])
        self.t_a = ExactProducts.from_json(2, data["target_a"])
        self.t_b = ExactProducts.from_json(3, data["target_b"])
        self.t_c = ExactProducts.from_json(2, data["target_c"])


AGGREGATES: dict[str, type[Aggregate]] = {
    cls.name: cls for cls in (Mean, RootMean, Max, R2)
}
