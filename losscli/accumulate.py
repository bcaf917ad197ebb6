"""Mergeable running state: the one accumulator every loss goes through.

State is sums, counts and a maximum, never arrays, so partial states from chunks, files or
machines merge exactly (``a.merge(b)`` == one pass over both). Chunk sums come from numpy's
pairwise summation; sums across chunks use Neumaier compensation in float64, so where the
chunk boundaries fall changes a result by far less than 1e-12 relative.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from losscli.errors import InputError


@dataclass
class CompensatedSum:
    """Neumaier-compensated float64 sum: ``value`` is ``hi + lo``."""

    hi: float = 0.0
    lo: float = 0.0

    def add(self, x: float) -> None:
        t = self.hi + x
        if abs(self.hi) >= abs(x):
            self.lo += (self.hi - t) + x
        else:
            self.lo += (x - t) + self.hi
        self.hi = t

    def merge(self, other: CompensatedSum) -> None:
        self.add(other.hi)
        self.add(other.lo)

    @property
    def value(self) -> float:
        return self.hi + self.lo


@dataclass
class Moments:
    """Weighted count, mean and sum of squared deviations (Chan et al.'s parallel merge)."""

    weight: float = 0.0
    mean: float = 0.0
    m2: float = 0.0

    def update(self, values: np.ndarray, weights: np.ndarray | None) -> None:
        if values.size == 0:
            return
        if weights is None:
            w = float(values.size)
            mean = float(np.mean(values))
            dev = values - mean
            m2 = float(np.dot(dev, dev))
        else:
            w = float(np.sum(weights))
            if w == 0.0:
                return
            mean = float(np.sum(weights * values) / w)
            dev = values - mean
            m2 = float(np.sum(weights * dev * dev))
        self.merge(Moments(w, mean, m2))

    def merge(self, other: Moments) -> None:
        if other.weight == 0.0:
            return
        if self.weight == 0.0:
            self.weight, self.mean, self.m2 = other.weight, other.mean, other.m2
            return
        total = self.weight + other.weight
        delta = other.mean - self.mean
        self.mean += delta * other.weight / total
        self.m2 += other.m2 + delta * delta * self.weight * other.weight / total
        self.weight = total


@dataclass
class Accumulator:
    """Running state of one loss instance over the rows seen so far.

    ``total`` is Σ w·ℓ, ``weight`` is Σ w (the row count when unweighted), ``maximum`` the
    largest ℓ over rows with w > 0, and ``target`` the weighted target moments (kept only
    for losses whose aggregate needs them, i.e. r2).
    """

    aggregate: str = "mean"
    rows: int = 0
    weight: CompensatedSum = field(default_factory=CompensatedSum)
    total: CompensatedSum = field(default_factory=CompensatedSum)
    maximum: float = -math.inf
    target: Moments | None = None

    def __post_init__(self) -> None:
        if self.aggregate == "r2" and self.target is None:
            self.target = Moments()

    def update(
        self, losses: np.ndarray, weights: np.ndarray | None, target: np.ndarray | None = None
    ) -> None:
        """Add one chunk: per-row losses, their weights (None = all ones) and the target."""
        n = losses.shape[0]
        if n == 0:
            return
        self.rows += n
        if weights is None:
            self.weight.add(float(n))
            self.total.add(float(np.sum(losses)))
            if self.aggregate == "max":
                self.maximum = max(self.maximum, float(np.max(losses)))
        else:
            self.weight.add(float(np.sum(weights)))
            self.total.add(float(np.sum(weights * losses)))
            if self.aggregate == "max":
                kept = losses[weights > 0]
                if kept.size:
                    self.maximum = max(self.maximum, float(np.max(kept)))
        if self.target is not None and target is not None:
            self.target.update(target, weights)

    def merge(self, other: Accumulator) -> Accumulator:
        """Fold ``other`` into this state (in place) and return it."""
        if other.aggregate != self.aggregate:
            raise ValueError("cannot merge accumulators of different aggregates")
        self.rows += other.rows
        self.weight.merge(other.weight)
        self.total.merge(other.total)
        self.maximum = max(self.maximum, other.maximum)
        if self.target is not None and other.target is not None:
            self.target.merge(other.target)
        return self

    def result(self, reduction: str = "mean") -> float:
        """The loss value: Σw·ℓ/Σw for "mean", Σw·ℓ for "sum", or the loss's own statistic."""
        if self.rows == 0:
            raise InputError(
                "No rows left to evaluate (the input is empty, or every row was omitted). "
                "Check the file, or use --nan-policy raise to see which values were dropped."
            )
        weight = self.weight.value
        if reduction == "sum":
            return self.total.value
        if weight <= 0.0:
            raise InputError(
                "Sample weights sum to 0, so the weighted mean is undefined. "
                "Give at least one row a positive weight."
            )
        mean = self.total.value / weight
        if self.aggregate == "mean":
            return mean
        if self.aggregate == "root_mean":
            return math.sqrt(mean)
        if self.aggregate == "max":
            return self.maximum
        if self.aggregate == "r2":
            assert self.target is not None
            ss_res = self.total.value
            ss_tot = self.target.m2
            if ss_tot == 0.0:  # sklearn r2_score with force_finite=True
                return 1.0 if ss_res == 0.0 else 0.0
            return 1.0 - ss_res / ss_tot
        raise ValueError(f"unknown aggregate {self.aggregate!r}")
