"""The exact ROC state: each class's scores as sorted runs, 8 bytes a row of distinct scores.

A :class:`ScoreCounts` keeps, per class (negative rows, positive rows), the multiset of its
scores as a few sorted float64 *runs*, each a list of *pieces* (:class:`Run`, about
:data:`PIECE` entries each, every key of a piece below the next piece's). A piece is
stored in whichever of two forms is smaller: the sorted scores themselves, one entry per
row (8 B a row — the form of distinct scores: no count is stored at all), or, when it holds
at most half as many distinct scores as rows, the distinct scores with an int64 count each
(16 B per distinct score and class). So 10**7 rows of distinct scores take 80 MB (measured
by ``tests/test_auc_memory.py``), and heavily tied scores 16 B per distinct (score, class)
pair, however many rows share them.

A chunk is split by label and each half sorted (one ``np.sort`` each) into a run. Runs of a
class merge log-structured: a new run is merged with the last one while that one holds at
most twice as many entries, so a class holds O(log n) runs and the work is O(n log n) over
the stream. Two runs merge piece by piece (:func:`merge_pieces`: the rows up to the
smaller of the two heads' first ~piece, concatenated and stably sorted — a linear merge),
and each input piece is dropped once consumed, so a merge holds a few pieces (~2 MB each) more
than the state, never a copy of a whole run. Merging another state pushes its runs: its
pieces are never written to, so they are shared, not copied.

The ROC AUC is exact (:meth:`ScoreCounts.auc_fraction`): for each positive entry at score
s, with x(s) = N_<(s) + N_≤(s) the negative rows scored below and at most s (a binary search
in the one piece of the negatives' run whose range holds s, in blocks of :data:`BLOCK`),

    AUC = Σ_positives x(s) / (2·P·N)

— numerator and denominator are integers (int64 sums of blocks, added as Python ints), and
the one division is correctly rounded: the float64 nearest the exact AUC. DeLong's variance
(:meth:`ScoreCounts.delong_variance`) is a ratio of such integer sums too (Σx, Σx² over the
positives, Σy, Σy² over the negatives). Both are sums over rows, so they do not depend on
how the rows are cut into runs and pieces: any chunking, worker count, merge order or tree
gives the same bits. :meth:`ScoreCounts.table` builds the per-distinct-score counts (24 B a
distinct score, on demand) for what reads a curve: average precision, the operating points,
the per-score bootstrap, a saved state. Pure: no I/O.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from losscli.stats.score_runs import (
    BLOCK,
    INT_SAFE,
    Run,
    Side,
    encoded_pieces,
    from_distinct,
    from_sorted,
    grouped_run,
    rank_sums,
)


class ScoreCounts:
    """Per class, the sorted scores of its rows (see the module doc). ``add(scores,
    positive, counts=None)``: scores (n,) float64 without NaN (-0.0 is folded onto 0.0),
    ``positive`` (n,) bool, ``counts`` (n,) non-negative integers (a row's integer weight)
    or None (1 each). :meth:`table` gives the per-distinct-score counts (negatives,
    positives) that the curves read; the AUC and DeLong's variance need no table."""

    __slots__ = ("_auc", "_neg", "_pos", "_table", "_variance")

    def __init__(self) -> None:
        self._neg, self._pos = Side(), Side()
        self._table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        # read once, until the next change: the AUC's numerator and DeLong's variance
        self._auc: int | None = None
        self._variance: Fraction | None = None

    # -- building -------------------------------------------------------------------------
    def add(self, scores: np.ndarray, positive: np.ndarray,
            counts: np.ndarray | None = None) -> None:
        s = np.asarray(scores, dtype=np.float64).ravel()
        positive = np.asarray(positive, dtype=bool).ravel()
        if s.shape[0] == 0:
            return
        self._table = self._auc = self._variance = None
        for side, mask in ((self._pos, positive), (self._neg, ~positive)):
            k = s[mask]  # a copy: sorted in place
            k += 0.0  # -0.0 → 0.0
            if counts is None:
                k.sort()
                side.push([from_sorted(k)])
            else:
                side.push([grouped_run(k, np.asarray(counts, dtype=np.int64).ravel()[mask])])

    def compact(self) -> ScoreCounts:
        """Merge each class's runs into one."""
        self._neg.pieces()
        self._pos.pieces()
        return self

    def merge(self, other: ScoreCounts) -> ScoreCounts:
        """Add ``other``'s rows; its runs are shared, never written to (``other`` is left as
        it was)."""
        self._table = self._auc = self._variance = None
        for mine, theirs in ((self._neg, other._neg), (self._pos, other._pos)):
            for run in list(theirs.runs):
                mine.push(list(run))
        return self

    def sides(self) -> tuple[list[list[Run]], list[list[Run]]]:
        """The runs of each class (negatives, positives), each a list of sorted pieces:
        shared, never to be written to (what :mod:`losscli.stats.score_union` reads)."""
        return self._neg.runs, self._pos.runs

    def copy(self) -> ScoreCounts:
        out = ScoreCounts()
        out._neg, out._pos = self._neg.copy(), self._pos.copy()
        return out

    # -- reading --------------------------------------------------------------------------
    def table(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(keys, neg, pos): the distinct scores in increasing order and the int64 counts of
        negative and positive rows at each (24 B per distinct score, built on demand and
        kept until the next change)."""
        if self._table is None:
            kn, cn = encoded_pieces(self._neg.pieces())
            kp, cp = encoded_pieces(self._pos.pieces())
            k = np.concatenate((kn, kp))
            n = np.concatenate((cn, np.zeros(kp.shape[0], np.int64)))
            p = np.concatenate((np.zeros(kn.shape[0], np.int64), cp))
            order = np.argsort(k, kind="stable")
            k, n, p = k[order], n[order], p[order]
            del order
            if k.size:
                start = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
                k, n, p = k[start], np.add.reduceat(n, start), np.add.reduceat(p, start)
            self._table = (k, n, p)
        return self._table

    @property
    def keys(self) -> np.ndarray:
        return self.table()[0]

    @property
    def neg(self) -> np.ndarray:
        return self.table()[1]

    @property
    def pos(self) -> np.ndarray:
        return self.table()[2]

    def __len__(self) -> int:
        """Distinct scores (over both classes)."""
        kn = encoded_pieces(self._neg.pieces())[0]
        kp = encoded_pieces(self._pos.pieces())[0]
        both = 0
        for i in range(0, kp.shape[0], BLOCK):
            x = kp[i:i + BLOCK]
            at = np.minimum(np.searchsorted(kn, x), max(kn.shape[0] - 1, 0))
            both += int(np.count_nonzero(kn[at] == x)) if kn.shape[0] else 0
        return int(kn.shape[0] + kp.shape[0] - both)

    @property
    def nbytes(self) -> int:
        """Bytes held by the runs (and the table, while it is kept)."""
        held = self._neg.nbytes + self._pos.nbytes
        return held + (sum(a.nbytes for a in self._table) if self._table is not None else 0)

    def totals(self) -> tuple[int, int]:
        """(N, P): the total negative and positive counts, exact."""
        return self._neg.rows, self._pos.rows

    def total(self) -> int:
        """Rows (integer weight) counted so far (an overflow guard)."""
        return self._neg.rows + self._pos.rows

    def auc_fraction(self) -> Fraction | None:
        """The exact AUC (see the module doc), or None when a class is absent: from the
        class with fewer entries, Σ_pos (N_< + N_≤) = 2·P·N − Σ_neg (P_< + P_≤)."""
        n_total, p_total = self.totals()
        if n_total <= 0 or p_total <= 0:
            return None
        den = 2 * p_total * n_total
        if self._auc is None:
            neg, pos = self._neg.pieces(), self._pos.pieces()
            if sum(r.size for r in pos) <= sum(r.size for r in neg):
                self._auc = rank_sums(neg, pos, False)[0]
            else:
                self._auc = den - rank_sums(pos, neg, False)[0]
        return Fraction(self._auc, den)

    def delong_variance(self) -> Fraction:
        """DeLong's variance of the AUC, exact (P, N ≥ 2): with x = N_< + N_≤ of each
        positive row and y = P_< + P_≤ of each negative one (the structural components are
        V10 = x/(2N), V01 = 1 − y/(2P)),

            S10 = (P·Σx² − (Σx)²) / (4·N²·P·(P − 1)),  S01 = (N·Σy² − (Σy)²) / (4·P²·N·(N − 1))
            Var = S10/P + S01/N

        — sums of integers, so the same bits for any chunking, merge order or runs."""
        if self._variance is None:
            n_total, p_total = self.totals()
            neg, pos = self._neg.pieces(), self._pos.pieces()
            x1, x2 = rank_sums(neg, pos, True)
            y1, y2 = rank_sums(pos, neg, True)
            self._auc = x1
            self._variance = delong_fraction(n_total, p_total, x1, x2, y1, y2)
        return self._variance

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Exact, JSON-safe: the table's little-endian float64 keys and int64 counts,
        base64."""
        from losscli.stats.fields import encode_array

        k, n, p = self.table()
        return {"keys": encode_array(k, "<f8"), "neg": encode_array(n, "<i8"),
                "pos": encode_array(p, "<i8")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ScoreCounts:
        """From :meth:`to_dict`'s JSON, checked: keys strictly increasing and not NaN, counts
        ≥ 0, every key counted, as many counts as keys, totals within int64."""
        from losscli.stats.fields import Fields, check, decode_array

        f = Fields(data)
        k = decode_array(f.text("keys", longest=1 << 31), "<f8", "keys")
        neg = decode_array(f.text("neg", longest=1 << 31), "<i8", "neg")
        pos = decode_array(f.text("pos", longest=1 << 31), "<i8", "pos")
        check(not np.isnan(k).any(), "keys", "a NaN score")
        check(bool(np.all(k[1:] > k[:-1])), "keys", "not strictly increasing")
        check(not (k.size and k[0] == 0.0 and np.signbit(k[0])), "keys", "-0.0 (folded onto 0.0)")
        for name, arr in (("neg", neg), ("pos", pos)):
            check(arr.shape == k.shape, name, f"{arr.shape[0]} counts for {k.shape[0]} scores")
            check(not (arr < 0).any(), name, "a negative count")
            check(int(arr.astype(object).sum()) < INT_SAFE, name, "counts beyond int64")
        check(bool(np.all((neg + pos) > 0)), "neg", "a score with no row")
        out = cls()
        for side, c in ((out._neg, neg), (out._pos, pos)):
            has = c > 0
            if has.any():
                side.push([from_distinct(k[has], c[has])])
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScoreCounts) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"ScoreCounts(rows={self.total()})"


def delong_fraction(n_total: int, p_total: int, x1: int, x2: int, y1: int, y2: int
                    ) -> Fraction:
    """DeLong's variance from the exact rank sums (:meth:`ScoreCounts.delong_variance`):
    Σx, Σx² over the positives and Σy, Σy² over the negatives (P, N ≥ 2)."""
    s10 = Fraction(p_total * x2 - x1 * x1, 4 * n_total ** 2 * p_total * (p_total - 1))
    s01 = Fraction(n_total * y2 - y1 * y1, 4 * p_total ** 2 * n_total * (n_total - 1))
    return s10 / p_total + s01 / n_total


def auc_fraction(neg: Any, pos: Any) -> Fraction | None:
    """The exact AUC of per-score counts in increasing score order (int64 arrays or object
    arrays of Python ints), or None when a class is absent."""
    n_total = int(neg.sum())
    p_total = int(pos.sum())
    if n_total <= 0 or p_total <= 0:
        return None
    den = 2 * p_total * n_total
    if neg.dtype != object and den < INT_SAFE:
        below = np.cumsum(neg) - neg
        num = int(np.sum(pos * (2 * below + neg)))  # every partial sum ≤ 2·P·N: exact
    else:
        n_obj = np.asarray(neg, dtype=object)
        p_obj = np.asarray(pos, dtype=object)
        below = np.cumsum(n_obj) - n_obj
        num = int(np.sum(p_obj * (2 * below + n_obj)))
    return Fraction(num, den)
