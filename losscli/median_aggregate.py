"""The aggregate of ``median_absolute_error``: the exact (weighted) median of the per-row
values, every value and weight kept (:mod:`losscli.stats.median`: 16 B per row, stated in
the report). A kind of :data:`losscli.aggregate_base.KIND_MODULES` (imported on use)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.aggregate_base import MAX_CONFIG_INT, Aggregate
from losscli.stats.fields import Fields, check, decode_array, encode_array
from losscli.stats.median import BYTES_PER_ROW, weighted_median

if TYPE_CHECKING:
    from typing_extensions import Self


class Median(Aggregate):
    """The exact (weighted) median of the per-row values (sklearn
    ``median_absolute_error``); values of shape (n, K) — several outputs — give one median
    per column, averaged uniformly (sklearn's ``multioutput="uniform_average"``). A
    whole-data statistic: every value and weight is kept, :data:`BYTES_PER_ROW` per row and
    column, as :meth:`details` and :meth:`note` say."""

    name = "median"
    per_row = False

    def __init__(self) -> None:
        super().__init__()
        self.columns = 0  # K, set by the first rows
        self.values: list[np.ndarray] = []  # (n, K) each
        self.weights: list[np.ndarray] | None = None  # None: every weight is 1

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        n = losses.shape[0]
        if n == 0:
            return
        v = np.asarray(losses, dtype=np.float64).reshape(n, -1)
        if self.columns and v.shape[1] != self.columns:
            raise ValueError(f"{v.shape[1]} values per row after {self.columns}")
        self.columns = v.shape[1]
        self.count(n, weights)
        if weights is not None and self.weights is None:
            self.weights = [np.ones(a.shape[0]) for a in self.values]
        self.values.append(v.copy())
        if self.weights is not None:
            self.weights.append(np.ones(n) if weights is None
                                else np.asarray(weights, dtype=np.float64).copy())

    def merge(self, other: Aggregate) -> Self:
        super().merge(other)
        assert isinstance(other, Median)
        if other.columns and self.columns and other.columns != self.columns:
            raise ValueError("cannot merge medians of different column counts")
        self.columns = self.columns or other.columns
        if other.weights is not None and self.weights is None:
            self.weights = [np.ones(a.shape[0]) for a in self.values]
        self.values.extend(other.values)
        if self.weights is not None:
            self.weights.extend(other.weights if other.weights is not None
                                else [np.ones(a.shape[0]) for a in other.values])
        return self

    def _arrays(self) -> tuple[np.ndarray, np.ndarray | None]:
        """The rows' values (n, K) and weights, sorted: the canonical multiset."""
        k = max(self.columns, 1)
        v = np.concatenate(self.values) if self.values else np.zeros((0, k))
        w = np.concatenate(self.weights) if self.weights is not None and self.values else (
            np.zeros(0) if self.weights is not None else None)
        keys = [v[:, j] for j in range(k - 1, -1, -1)]
        order = np.lexsort(keys if w is None else [w, *keys])
        return v[order], None if w is None else w[order]

    def own_result(self) -> float:
        v, w = self._arrays()
        medians = [weighted_median(np.ascontiguousarray(v[:, j]), w)
                   for j in range(v.shape[1])]
        return math.fsum(medians) / len(medians)

    def details(self) -> dict[str, Any] | None:
        out: dict[str, Any] = {"method": "exact", "values_kept": self.rows * max(self.columns, 1),
                               "memory_bytes": BYTES_PER_ROW * self.rows * max(self.columns, 1)}
        if self.columns > 1:
            v, w = self._arrays()
            out["per_column"] = [weighted_median(np.ascontiguousarray(v[:, j]), w)
                                 for j in range(self.columns)]
        return out

    def note(self) -> str:
        """How the value was computed, for the report's notes."""
        return (f"exact median: every value and weight kept in memory ({BYTES_PER_ROW} B per "
                f"value, {self.rows * max(self.columns, 1)} values), not the --distribution "
                "sketch's approximation")

    def to_dict(self) -> dict[str, Any]:
        v, w = self._arrays()
        return {**super().to_dict(), "columns": self.columns, "values": encode_array(v.ravel(), "<f8"),
                **({"weights": encode_array(w, "<f8")} if w is not None else {})}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.columns = f.count("columns", hi=MAX_CONFIG_INT)
        check(self.columns > 0 or self.rows == 0, "columns", "0 columns for rows")
        n, k = self.rows, max(self.columns, 1)
        v = f.part("values", lambda t: decode_array(t, "<f8", "", n * k)).reshape(n, k)
        self.values = [v] if n else []
        if f.has("weights"):
            w = f.part("weights", lambda t: decode_array(t, "<f8", "", n))
            check(bool(np.all(w >= 0)), "weights", "a negative weight")
            self.weights = [w] if n else []
        else:
            self.weights = None
