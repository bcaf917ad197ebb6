"""Integer counts of negatives and positives per distinct score: the exact ROC state in 24 B.

A :class:`ScoreCounts` keeps three parallel numpy arrays — the sorted distinct scores
(float64), and per score the count of negative and of positive rows (int64) — so one
distinct score costs 24 bytes. A chunk is counted by two ``np.sort`` calls (its positive
and its negative scores) and run lengths; chunks wait in a list of sorted *runs* until they
hold half as many entries as the main arrays, then are merged into them (a sort of the runs,
a ``searchsorted`` into the main arrays, counts added in place and new scores inserted), so
the main arrays are rewritten O(log) times and the state never holds more than 1.5 entries
per distinct score (≤ 36 B; 24 B after :meth:`compact`). Counts are integers, so merging is
exact and the compacted state is a function of the multiset of (score, label, count) rows
only: any chunking, merge order or tree gives the same arrays, bit for bit.

The ROC AUC is computed from the integers exactly (:func:`exact_auc`): with scores in
increasing order, N_below the negatives under a score,

    AUC = Σ_s pos(s)·(2·N_below(s) + neg(s)) / (2·P·N)

— numerator and denominator are integers (int64 while 2·P·N < 2**63, Python ints beyond),
and the one division is correctly rounded: the float64 nearest the exact AUC. Pure: no I/O.
"""

from __future__ import annotations

import base64
from fractions import Fraction
from typing import Any

import numpy as np

#: int64 arithmetic is exact below this (sums of counts, 2·P·N).
_INT_SAFE = 1 << 62


def _runs(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys of a sorted array and how often each occurs (int64)."""
    n = sorted_keys.shape[0]
    if n == 0:
        return sorted_keys, np.zeros(0, np.int64)
    start = np.flatnonzero(np.concatenate(([True], sorted_keys[1:] != sorted_keys[:-1])))
    counts = np.diff(np.append(start, n)).astype(np.int64)
    return sorted_keys[start], counts


def _merge_into(keys: np.ndarray, neg: np.ndarray, pos: np.ndarray, k2: np.ndarray,
                n2: np.ndarray, p2: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge sorted-distinct (k2, n2, p2) into sorted-distinct (keys, neg, pos); the counts
    of ``neg``/``pos`` are added to in place where the key is already there."""
    if k2.shape[0] == 0:
        return keys, neg, pos
    if keys.shape[0] == 0:
        return k2, n2, p2
    idx = np.searchsorted(keys, k2)
    hit = idx < keys.shape[0]
    hit[hit] = keys[idx[hit]] == k2[hit]
    if hit.any():
        at = idx[hit]
        neg[at] += n2[hit]
        pos[at] += p2[hit]
    new = ~hit
    if not new.any():
        return keys, neg, pos
    where = idx[new]
    return (np.insert(keys, where, k2[new]), np.insert(neg, where, n2[new]),
            np.insert(pos, where, p2[new]))


def _reduce_sorted(keys: np.ndarray, neg: np.ndarray, pos: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(keys, neg, pos) rows in any order → sorted distinct keys with summed counts."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    start = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1]))) if k.size else order[:0]
    return (k[start], np.add.reduceat(neg[order], start) if k.size else neg[:0],
            np.add.reduceat(pos[order], start) if k.size else pos[:0])


def _encode(arr: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(arr, dtype=dtype).tobytes()).decode("ascii")


def _decode(text: str, dtype: str) -> np.ndarray:
    return np.frombuffer(base64.b64decode(text), dtype=dtype).copy()


class ScoreCounts:
    """Per distinct float64 score, the int64 counts of negative and positive rows (see the
    module doc). ``add(scores, positive, counts=None)``: scores (n,) float64 without NaN
    (-0.0 is folded onto 0.0), ``positive`` (n,) bool, ``counts`` (n,) non-negative
    integers (a row's integer weight) or None (1 each)."""

    __slots__ = ("_neg", "_pending", "_pending_len", "_pos", "keys")

    def __init__(self) -> None:
        self.keys = np.zeros(0, np.float64)
        self._neg = np.zeros(0, np.int64)
        self._pos = np.zeros(0, np.int64)
        self._pending: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._pending_len = 0

    # -- building -------------------------------------------------------------------------
    def add(self, scores: np.ndarray, positive: np.ndarray,
            counts: np.ndarray | None = None) -> None:
        s = np.asarray(scores, dtype=np.float64).ravel() + 0.0
        positive = np.asarray(positive, dtype=bool).ravel()
        if s.shape[0] == 0:
            return
        if counts is None:
            kp, cp = _runs(np.sort(s[positive]))
            kn, cn = _runs(np.sort(s[~positive]))
            keys, neg, pos = _merge_into(kn, cn, np.zeros_like(cn), kp, np.zeros_like(cp), cp)
        else:
            c = np.asarray(counts, dtype=np.int64).ravel()
            keys, neg, pos = _reduce_sorted(s, np.where(positive, 0, c), np.where(positive, c, 0))
        self._push(keys, neg, pos)

    def _push(self, keys: np.ndarray, neg: np.ndarray, pos: np.ndarray) -> None:
        if keys.shape[0] == 0:
            return
        self._pending.append((keys, neg, pos))
        self._pending_len += keys.shape[0]
        if self._pending_len > self.keys.shape[0] // 2:
            self.compact()

    def compact(self) -> ScoreCounts:
        """Merge the waiting runs into the main arrays (the canonical form)."""
        if not self._pending:
            return self
        if len(self._pending) == 1:
            k, n, p = self._pending[0]
        else:
            k, n, p = _reduce_sorted(*(np.concatenate(parts) for parts in zip(*self._pending)))
        self._pending, self._pending_len = [], 0
        self.keys, self._neg, self._pos = _merge_into(self.keys, self._neg, self._pos, k, n, p)
        return self

    def merge(self, other: ScoreCounts) -> ScoreCounts:
        """Add ``other``'s counts (``other`` is left as it was). Its arrays are read, not
        copied — merged at once, so no borrowed array outlives the call — except into an
        empty state, which takes copies."""
        other.compact()
        if other.keys.shape[0] == 0:
            return self
        self.compact()
        if self.keys.shape[0] == 0:
            self.keys, self._neg, self._pos = (other.keys.copy(), other._neg.copy(),
                                               other._pos.copy())
            return self
        self.keys, self._neg, self._pos = _merge_into(self.keys, self._neg, self._pos,
                                                      other.keys, other._neg, other._pos)
        return self

    def copy(self) -> ScoreCounts:
        self.compact()
        out = ScoreCounts()
        out.keys, out._neg, out._pos = self.keys.copy(), self._neg.copy(), self._pos.copy()
        return out

    # -- reading --------------------------------------------------------------------------
    @property
    def neg(self) -> np.ndarray:
        return self.compact()._neg

    @property
    def pos(self) -> np.ndarray:
        return self.compact()._pos

    def __len__(self) -> int:
        return int(self.compact().keys.shape[0])

    @property
    def nbytes(self) -> int:
        """Bytes held by the arrays, waiting runs included."""
        return int(self.keys.nbytes + self._neg.nbytes + self._pos.nbytes
                   + sum(a.nbytes + b.nbytes + c.nbytes for a, b, c in self._pending))

    def totals(self) -> tuple[int, int]:
        """(N, P): the total negative and positive counts, exact."""
        return int(self.neg.sum(dtype=np.int64)), int(self.pos.sum(dtype=np.int64))

    def total(self) -> int:
        """Rows (integer weight) counted so far, waiting runs included (an overflow guard)."""
        return (int(self._neg.sum()) + int(self._pos.sum())
                + sum(int(n.sum()) + int(p.sum()) for _, n, p in self._pending))

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Exact, JSON-safe: little-endian float64 keys and int64 counts, base64."""
        self.compact()
        return {"keys": _encode(self.keys, "<f8"), "neg": _encode(self._neg, "<i8"),
                "pos": _encode(self._pos, "<i8")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreCounts:
        """From :meth:`to_dict`'s JSON, checked: keys strictly increasing and not NaN, counts
        ≥ 0, every key counted, as many counts as keys, totals within int64."""
        from losscli.stats.fields import Fields, check, nested

        f = Fields(data)
        out = cls()
        out.keys = nested("keys", _decode, f.text("keys", longest=1 << 31), "<f8")
        out._neg = nested("neg", _decode, f.text("neg", longest=1 << 31), "<i8")
        out._pos = nested("pos", _decode, f.text("pos", longest=1 << 31), "<i8")
        k = out.keys
        check(not np.isnan(k).any(), "keys", "a NaN score")
        check(bool(np.all(k[1:] > k[:-1])), "keys", "not strictly increasing")
        check(not (k.size and k[0] == 0.0 and np.signbit(k[0])), "keys", "-0.0 (folded onto 0.0)")
        for name, arr in (("neg", out._neg), ("pos", out._pos)):
            check(arr.shape == k.shape, name, f"{arr.shape[0]} counts for {k.shape[0]} scores")
            check(not (arr < 0).any(), name, "a negative count")
            check(int(arr.astype(object).sum()) < _INT_SAFE, name, "counts beyond int64")
        check(bool(np.all((out._neg + out._pos) > 0)), "neg", "a score with no row")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScoreCounts) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"ScoreCounts(scores={len(self)})"


def auc_fraction(neg: Any, pos: Any) -> Fraction | None:
    """The exact AUC of per-score counts in increasing score order (int64 arrays or object
    arrays of Python ints), or None when a class is absent."""
    n_total = int(neg.sum())
    p_total = int(pos.sum())
    if n_total <= 0 or p_total <= 0:
        return None
    den = 2 * p_total * n_total
    if neg.dtype != object and den < _INT_SAFE:
        below = np.cumsum(neg) - neg
        num = int(np.sum(pos * (2 * below + neg)))  # every partial sum ≤ 2·P·N: exact
    else:
        n_obj = np.asarray(neg, dtype=object)
        p_obj = np.asarray(pos, dtype=object)
        below = np.cumsum(n_obj) - n_obj
        num = int(np.sum(p_obj * (2 * below + n_obj)))
    return Fraction(num, den)
