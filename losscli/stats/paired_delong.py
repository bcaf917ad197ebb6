"""DeLong's paired test of two ROC-AUCs on the same rows (DeLong, DeLong & Clarke-Pearson
1988), streamed: the rows' two scores and label are kept, and the test is computed once at
the end by ranks (Sun & Xu 2014's fast algorithm: O(n log n)).

Why the rows: the covariance of the two AUCs is the covariance, over the positives (and over
the negatives), of each row's placement value under model A and under model B — a pairing
that the per-score counts of :mod:`losscli.stats.ranking` (kept per model) cannot give. So
this state holds 17 bytes per row (two float64 scores and a 0/1 label), merged by
concatenation; the result does not depend on the order of the rows (they are sorted
before anything is summed), so chunk sizes, workers and merges give the same bits.

Unweighted rows only (DeLong's statistic has no weighted form in common use): with sample
weights other than 0 and 1 the test says why it is absent. A row of weight 0 is left out.
The reference implementations agree: pROC's ``roc.test(method="delong", paired=TRUE)``
and the textbook O(P·N) structural components (``tests/test_paired_delong.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.stats.fields import encode_array

#: Bytes this state keeps per row: two float64 scores and a 0/1 label.
BYTES_PER_ROW = 17


@dataclass(frozen=True)
class PairedAuc:
    """The two AUCs, their difference (a − b), its standard error, and why there is none."""

    auc_a: float
    auc_b: float
    difference: float
    se: float
    reason: str | None = None


def _midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x`` with ties at their mean rank."""
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    n = x.shape[0]
    starts = np.flatnonzero(np.concatenate(([True], sorted_x[1:] != sorted_x[:-1])))
    ends = np.concatenate((starts[1:], [n]))
    mid = (starts + ends + 1) / 2.0  # the mean of ranks starts+1 .. ends
    ranks = np.empty(n)
    ranks[order] = np.repeat(mid, ends - starts)
    return ranks


def _placements(scores: np.ndarray, positive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each positive's fraction of negatives scored below it (ties half), and each
    negative's fraction of positives scored above it (ties half)."""
    pos, neg = scores[positive], scores[~positive]
    m, n = pos.shape[0], neg.shape[0]
    all_ranks = _midranks(np.concatenate((pos, neg)))
    v10 = (all_ranks[:m] - _midranks(pos)) / n
    v01 = 1.0 - (all_ranks[m:] - _midranks(neg)) / m
    return v10, v01


class PairedScores:
    """The rows two models share for a paired ROC-AUC test: scores ``a`` (this model),
    ``b`` (the reference) and the 0/1 label of each row."""

    def __init__(self) -> None:
        self._parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.weighted = False
        self._result: PairedAuc | None = None  # computed once, until rows are added

    def update(self, a: np.ndarray, b: np.ndarray, labels: np.ndarray,
               weights: np.ndarray | None = None) -> None:
        a = np.asarray(a, dtype=np.float64).reshape(-1)
        b = np.asarray(b, dtype=np.float64).reshape(-1)
        y = np.asarray(labels).reshape(-1) > 0
        self._result = None
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64).reshape(-1)
            if np.any((w != 0.0) & (w != 1.0)):
                self.weighted = True
            keep = w != 0.0
            a, b, y = a[keep], b[keep], y[keep]
        if a.shape[0]:
            self._parts.append((a.copy(), b.copy(), y.astype(np.uint8)))

    def _arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        if not self._parts:
            return np.empty(0), np.empty(0), np.empty(0, np.uint8)
        if len(self._parts) > 1:
            joined = tuple(np.concatenate([p[i] for p in self._parts]) for i in range(3))
            self._parts = [joined]  # type: ignore[list-item]
        a, b, y = self._parts[0]
        return a, b, y

    @property
    def rows(self) -> int:
        return sum(p[0].shape[0] for p in self._parts)

    def nbytes(self) -> int:
        return self.rows * BYTES_PER_ROW

    def merge(self, other: PairedScores) -> PairedScores:
        self._parts.extend(other._parts)
        self.weighted = self.weighted or other.weighted
        self._result = None
        return self

    def result(self) -> PairedAuc:
        """AUC(a) − AUC(b) and DeLong's standard error of it (computed once: the interval,
        the test and the reason all read it)."""
        if self._result is None:
            self._result = self._compute()
        return self._result

    def _compute(self) -> PairedAuc:
        a, b, y = self._arrays()
        # one canonical order, whatever order the rows arrived in
        order = np.lexsort((b, a, y))
        a, b, positive = a[order], b[order], y[order].astype(bool)
        m = int(np.count_nonzero(positive))
        n = int(positive.shape[0]) - m
        if self.weighted:
            return PairedAuc(math.nan, math.nan, math.nan, math.nan,
                             "DeLong's paired test takes unweighted rows (sample weights "
                             "other than 0 and 1 were given)")
        if m < 2 or n < 2:
            return PairedAuc(math.nan, math.nan, math.nan, math.nan,
                             f"DeLong's paired test needs at least 2 positives and 2 negatives "
                             f"on the shared rows (got {m} and {n})")
        v10a, v01a = _placements(a, positive)
        v10b, v01b = _placements(b, positive)
        auc_a, auc_b = float(np.mean(v10a)), float(np.mean(v10b))
        s10 = np.cov(np.vstack((v10a, v10b)))  # (m − 1) in the denominator
        s01 = np.cov(np.vstack((v01a, v01b)))
        cov = s10 / m + s01 / n
        var = float(cov[0, 0] + cov[1, 1] - 2.0 * cov[0, 1])
        return PairedAuc(auc_a, auc_b, auc_a - auc_b, math.sqrt(max(var, 0.0)))

    # -- serialisation ------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Exact, JSON-safe: little-endian float64 scores and uint8 labels, base64, in one
        canonical row order (so equal states, however merged, write the same text)."""
        a, b, y = self._arrays()
        order = np.lexsort((b, a, y))
        a, b, y = a[order], b[order], y[order]

        return {"a": encode_array(a, "<f8"), "b": encode_array(b, "<f8"),
                "labels": encode_array(y, "u1"),
                "weighted": self.weighted}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PairedScores:
        """From :meth:`to_dict`'s JSON, checked: three arrays of one length, labels 0/1."""
        from losscli.stats.fields import FieldError, Fields, decode_array

        f = Fields(data)

        def dec(name: str, dtype: str) -> np.ndarray:
            return decode_array(f.raw(name), dtype, name)

        a, b, y = dec("a", "<f8"), dec("b", "<f8"), dec("labels", "u1")
        if not (a.shape == b.shape == y.shape):
            raise FieldError("labels", "scores and labels of different lengths")
        if np.any(y > 1):
            raise FieldError("labels", "labels other than 0 and 1")
        if np.any(np.isnan(a)) or np.any(np.isnan(b)):
            raise FieldError("a", "NaN scores")
        out = cls()
        out.weighted = f.flag("weighted", False)
        if a.shape[0]:
            out._parts = [(a, b, y)]
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PairedScores) and self.to_dict() == other.to_dict()
