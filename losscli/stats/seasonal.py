"""The seasonal-naive scale of a series, streamed and merged in row order.

For a season length m and the target series y_1..y_n as read (several values per row: one
series per column), the in-sample scale of the seasonal naive forecast is

    scale = 1/(n − m) · Σ_{t=m+1..n} |y_t − y_{t−m}|        (one column; pooled over columns)

(Hyndman & Koehler 2006, the MASE denominator computed on the evaluated series itself).

A pair (t − m, t) lies inside one part of the rows or straddles two consecutive parts, so
:class:`SeasonalScale` keeps, per part of consecutive rows: its row count n, the sum of
|y_t − y_{t−m}| over its own pairs, and its first and last min(m, n) targets (the head and
the tail). Merging part A with the part B that follows it adds the pairs whose earlier row
is in A's tail and later row in B's head, then keeps the first m rows of A's head followed
by B's, and the last m rows of A's tail followed by B's — also when a part is shorter than
m (its head is then all of it, and pairs reaching further back are found at a later merge).
The merge is associative, so any chunking, unit split, worker count, engine or saved-state
merge gives the same pairs — provided the parts are merged **in row order**, the contract
every merge of losscli keeps (units in unit order, saved states in the order of their row
ranges). The sum of a chunk's own pairs is numpy's (pairwise); the pairs across parts
are added one by one and sums above the chunk are exact
(:class:`~losscli.stats.exact.ExactSum`), so merges are exactly associative, equal
chunkings give equal bits and any two agree to the last few ulps.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from losscli.stats.exact import ExactSum
from losscli.stats.fields import FieldError, Fields, check, decode_array, encode_array


class SeasonalScale:
    """Σ |y_t − y_{t−m}| over the pairs of a run of consecutive rows, mergeable in row
    order (see the module doc). ``width``: values per row (0 until the first rows)."""

    def __init__(self, m: int) -> None:
        if m < 1:
            raise ValueError(f"season length: expected ≥ 1, got {m}")
        self.m = int(m)
        self.rows = 0
        self.width = 0
        self.within = ExactSum()
        self.head = np.empty((0, 0))
        self.tail = np.empty((0, 0))

    @property
    def pairs(self) -> int:
        """How many values |y_t − y_{t−m}| the sum holds."""
        return max(self.rows - self.m, 0) * self.width

    def update(self, y: np.ndarray) -> None:
        """Add the next rows of the series (after every row added so far)."""
        y = np.asarray(y, dtype=np.float64)
        y = y.reshape(y.shape[0], -1)
        if y.shape[0] == 0:
            return
        part = SeasonalScale(self.m)
        part.rows, part.width = y.shape[0], y.shape[1]
        if y.shape[0] > self.m:
            part.within.add(float(np.sum(np.abs(y[self.m:] - y[:-self.m]))))
        part.head, part.tail = y[:self.m].copy(), y[-self.m:].copy()
        self.merge(part)

    def merge(self, other: SeasonalScale) -> SeasonalScale:
        """Fold in ``other``, the rows that follow this part's; returns self."""
        if other.m != self.m:
            raise ValueError(f"cannot merge seasonal scales of season lengths {self.m} and "
                             f"{other.m}")
        if not other.rows:
            return self
        if not self.rows:
            self.rows, self.width = other.rows, other.width
            self.within = other.within.copy()
            self.head, self.tail = other.head.copy(), other.tail.copy()
            return self
        if other.width != self.width:
            raise ValueError(f"cannot merge series of {self.width} and {other.width} values "
                             "per row")
        m, a = self.m, self.tail.shape[0]
        # pairs (j in other's head, its row − m in this tail): tail index a + j − m ≥ 0
        j = np.arange(max(m - a, 0), min(m, other.head.shape[0]))
        for x in np.abs(other.head[j] - self.tail[a + j - m]).ravel().tolist():
            self.within.add(x)  # one by one, exactly: any grouping of parts, the same bits
        self.within.merge(other.within)
        self.head = np.concatenate([self.head, other.head])[:m]
        self.tail = np.concatenate([self.tail, other.tail])[-m:]
        self.rows += other.rows
        return self

    def scale(self) -> float:
        """The mean |y_t − y_{t−m}| (NaN without a pair)."""
        pairs = self.pairs
        return self.within.value / pairs if pairs else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"m": self.m, "rows": self.rows, "width": self.width,
                "within": self.within.to_json(),
                "head": encode_array(self.head, "<f8"), "tail": encode_array(self.tail, "<f8")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SeasonalScale:
        f = Fields(data)
        out = cls(f.count("m", lo=1, hi=1 << 31))
        out.rows = f.count("rows")
        out.width = f.count("width", hi=1 << 20)
        out.within = f.exact_sum("within", rows=max(out.rows, 1), non_negative=True, adds=2)
        keep = min(out.m, out.rows)
        for name in ("head", "tail"):
            flat = decode_array(f.raw(name), "<f8", name)
            check(flat.size == keep * out.width, name,
                  f"{flat.size} values, not {keep} rows × {out.width}")
            if not np.isfinite(flat).all():
                raise FieldError(name, "a value that is not finite")
            setattr(out, name, flat.reshape(keep, out.width) if out.width else
                    np.empty((0, 0)))
        check(out.rows == 0 or out.width > 0, "width", "rows without values")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SeasonalScale) and self.to_dict() == other.to_dict()


__all__ = ["SeasonalScale"]
