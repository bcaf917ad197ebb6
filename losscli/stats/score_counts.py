"""The exact ROC state: each class's scores as sorted runs, 8 bytes a row of distinct scores.

A :class:`ScoreCounts` keeps, per class (negative rows, positive rows), the multiset of its
scores as a few sorted float64 *runs* (:class:`Run`). A run is stored in whichever of two
forms is smaller: the sorted scores themselves, one entry per row (8 B a row — the form of
distinct scores: no count is stored at all), or, when the run holds at most half as many
distinct scores as rows, the distinct scores with an int64 count each (16 B per distinct
score and class). So 10**7 rows of distinct scores take 80 MB, and heavily tied scores
take 16 B per distinct (score, class) pair, however many rows share them.

A chunk is split by label and each half sorted (one ``np.sort`` each) into a run. Runs of a
class merge log-structured: a new run is merged with the last one while that one holds at
most twice as many entries (a concatenation and a stable sort, which merges two sorted runs
in linear time), so a class holds O(log n) runs and the work is O(n log n) over the
stream; merging another state pushes its runs (they are never written to, so they are
shared, not copied). The peak while merging is about 2.5× the largest merge's bytes.

The canonical form (:meth:`ScoreCounts.compact`) — one run per class, in the smaller form
— is a function of the multiset of (score, label, count) rows only: any chunking, merge
order or tree gives the same arrays, bit for bit.

The ROC AUC is computed from the integers exactly (:meth:`ScoreCounts.auc_fraction`): for
each positive entry at score x, with N_<(x) and N_≤(x) the negative rows scored below and at
most x (binary searches into the negatives' run, in blocks of :data:`BLOCK` entries),

    AUC = Σ_positives (N_<(x) + N_≤(x)) / (2·P·N)

— numerator and denominator are integers (int64 while 2·P·N < 2**62, Python ints beyond),
and the one division is correctly rounded: the float64 nearest the exact AUC. Pure: no I/O.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

#: int64 arithmetic is exact below this (sums of counts, 2·P·N).
_INT_SAFE = 1 << 62
#: Entries of a run read at a time when ranking it against the other class (bounded
#: temporaries: a few int64 arrays of this length).
BLOCK = 1 << 17


class Run:
    """One class's scores, sorted: ``keys`` (float64, increasing) and ``counts`` — None when
    every key is one row (keys may repeat: 8 B a row), else int64 counts of distinct keys.
    ``rows``: the rows it holds; ``distinct``: whether its keys are distinct. Never written
    to after construction (runs are shared between states)."""

    __slots__ = ("counts", "distinct", "keys", "rows")

    def __init__(self, keys: np.ndarray, counts: np.ndarray | None, rows: int,
                 distinct: bool) -> None:
        self.keys, self.counts, self.rows, self.distinct = keys, counts, rows, distinct

    @property
    def size(self) -> int:
        return int(self.keys.shape[0])

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + (0 if self.counts is None else self.counts.nbytes))

    def encoded(self) -> tuple[np.ndarray, np.ndarray]:
        """(distinct keys, int64 counts), whatever the form."""
        if self.counts is not None:
            return self.keys, self.counts
        if self.distinct:
            return self.keys, np.ones(self.size, np.int64)
        k = self.keys
        start = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
        return k[start], np.diff(np.append(start, k.shape[0]))

    def cumulative(self) -> np.ndarray | None:
        """Rows before each distinct key (and all rows at the end), or None for one row a
        key."""
        if self.counts is None:
            return None
        cum = np.zeros(self.size + 1, np.int64)
        np.cumsum(self.counts, out=cum[1:])
        return cum


_EMPTY = Run(np.zeros(0, np.float64), None, 0, True)


def from_sorted(k: np.ndarray) -> Run:
    """The run of sorted scores, one row each (``k`` is kept, not copied), run-length
    encoded when that is smaller (at most half as many distinct scores as rows)."""
    n = k.shape[0]
    if n < 2:
        return Run(k, None, n, True)
    change = k[1:] != k[:-1]
    d = int(np.count_nonzero(change)) + 1
    if 2 * d > n:
        return Run(k, None, n, d == n)
    start = np.flatnonzero(np.concatenate(([True], change)))
    del change
    return Run(k[start], np.diff(np.append(start, n)), n, True)


def from_distinct(k: np.ndarray, c: np.ndarray) -> Run:
    """The run of distinct sorted scores with int64 counts ≥ 1, in the smaller form (the
    same run :func:`from_sorted` gives for the rows spelled out)."""
    d = k.shape[0]
    if d == 0:
        return _EMPTY
    rows = int(c.sum())
    if 2 * d > rows:
        return Run(np.repeat(k, c), None, rows, d == rows)
    return Run(k, c, rows, True)


def merge_runs(runs: list[Run]) -> Run:
    """One run of all of ``runs`` (the list is emptied, so runs nobody else holds are freed
    before the sort)."""
    if not runs:
        return _EMPTY
    if len(runs) == 1:
        return runs.pop()
    if all(r.counts is None for r in runs):
        k = np.concatenate([r.keys for r in runs])
        runs.clear()
        k.sort(kind="stable")  # timsort: a linear merge of the sorted runs
        return from_sorted(k)
    parts = [r.encoded() for r in runs]
    runs.clear()
    k = np.concatenate([p[0] for p in parts])
    c = np.concatenate([p[1] for p in parts])
    del parts
    order = np.argsort(k, kind="stable")
    k, c = k[order], c[order]
    del order
    start = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    return from_distinct(k[start], np.add.reduceat(c, start))


class _Side:
    """One class's runs, log-structured: sizes (entries) shrink at least by half from each
    run to the next, so there are O(log n) of them."""

    __slots__ = ("rows", "runs")

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.rows = 0

    def push(self, run: Run) -> None:
        if run.rows == 0:
            return
        self.runs.append(run)
        self.rows += run.rows
        while len(self.runs) >= 2 and self.runs[-2].size <= 2 * self.runs[-1].size:
            last = self.runs[-2:]
            del self.runs[-2:]
            self.runs.append(merge_runs(last))

    def run(self) -> Run:
        """The one canonical run (merging what is left)."""
        if len(self.runs) > 1:
            runs, self.runs = self.runs, []
            self.runs = [merge_runs(runs)]
        return self.runs[0] if self.runs else _EMPTY

    def settle(self) -> list[Run]:
        """The runs, those after the largest merged into one (less than the largest holds:
        a small merge, so the largest is never copied): at most two runs to search."""
        if len(self.runs) > 2:
            rest = self.runs[1:]
            del self.runs[1:]
            self.runs.append(merge_runs(rest))
        return self.runs

    def copy(self) -> _Side:
        out = _Side()
        out.runs, out.rows = list(self.runs), self.rows
        return out

    @property
    def nbytes(self) -> int:
        return sum(r.nbytes for r in self.runs)


def _grouped(s: np.ndarray, c: np.ndarray) -> Run:
    """The run of scores ``s`` (any order) with int64 counts ``c`` (zeros dropped)."""
    keep = c > 0
    s, c = s[keep], c[keep]
    order = np.argsort(s, kind="stable")
    s, c = s[order], c[order]
    if s.shape[0] == 0:
        return _EMPTY
    start = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    return from_distinct(s[start], np.add.reduceat(c, start))


def _rank_in(ref: tuple[np.ndarray, bool, np.ndarray | None], x: np.ndarray) -> np.ndarray:
    """2·(rows of ``ref`` scored below x) + (rows scored x), for sorted ``x`` (int64);
    ``ref``: a run's (keys, distinct, cumulative counts)."""
    rk, distinct, cum = ref
    lo = np.searchsorted(rk, x, "left")
    if distinct:  # at most one entry equal to x: no second search
        hi = lo + (rk[np.minimum(lo, rk.shape[0] - 1)] == x)
    else:
        hi = np.searchsorted(rk, x, "right")
    if cum is not None:
        lo, hi = cum[lo], cum[hi]
    return lo + hi


def rank_sums(refs: list[Run], runs: list[Run], squares: bool) -> tuple[int, int]:
    """(Σ c·x, Σ c·x²) over the entries of ``runs`` (count c, score s), where x =
    rows of ``refs`` scored below s + rows scored at most s — exact Python integers, the
    same whatever runs the rows are in (``Σ c·x²`` only when ``squares``; else 0)."""
    s1 = s2 = 0
    prepared = [(r.keys, r.distinct, r.cumulative()) for r in refs if r.size]
    for run in runs:
        for i in range(0, run.size, BLOCK):
            xs = run.keys[i:i + BLOCK]
            x = np.zeros(xs.shape[0], np.int64)
            for ref in prepared:
                x += _rank_in(ref, xs)
            if run.counts is None:
                s1 += int(x.sum())  # ≤ BLOCK·2·N: int64 while the rows fit in memory
                if squares:  # x = h·2**21 + l: the squares' sums in int64, then exact
                    h, low = x >> 21, x & ((1 << 21) - 1)
                    s2 += ((int(np.dot(h, h)) << 42) + (int(np.dot(h, low)) << 22)
                           + int(np.dot(low, low)))
            else:
                c = run.counts[i:i + BLOCK].astype(object)
                xo = x.astype(object)
                s1 += int((c * xo).sum())
                if squares:
                    s2 += int((c * xo * xo).sum())
    return s1, s2


class ScoreCounts:
    """Per class, the sorted scores of its rows (see the module doc). ``add(scores,
    positive, counts=None)``: scores (n,) float64 without NaN (-0.0 is folded onto 0.0),
    ``positive`` (n,) bool, ``counts`` (n,) non-negative integers (a row's integer weight)
    or None (1 each). :meth:`table` gives the per-distinct-score counts (negatives,
    positives) that the curves read; the AUC and DeLong's variance need no table."""

    __slots__ = ("_neg", "_pos", "_table")

    def __init__(self) -> None:
        self._neg, self._pos = _Side(), _Side()
        self._table: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # -- building -------------------------------------------------------------------------
    def add(self, scores: np.ndarray, positive: np.ndarray,
            counts: np.ndarray | None = None) -> None:
        s = np.asarray(scores, dtype=np.float64).ravel()
        positive = np.asarray(positive, dtype=bool).ravel()
        if s.shape[0] == 0:
            return
        self._table = None
        for side, mask in ((self._pos, positive), (self._neg, ~positive)):
            k = s[mask]  # a copy: sorted in place
            k += 0.0  # -0.0 → 0.0
            if counts is None:
                k.sort()
                side.push(from_sorted(k))
            else:
                side.push(_grouped(k, np.asarray(counts, dtype=np.int64).ravel()[mask]))

    def compact(self) -> ScoreCounts:
        """Merge each class's runs into one (the canonical form)."""
        self._neg.run()
        self._pos.run()
        return self

    def merge(self, other: ScoreCounts) -> ScoreCounts:
        """Add ``other``'s rows; its runs are shared, never written to (``other`` is left as
        it was)."""
        self._table = None
        for mine, theirs in ((self._neg, other._neg), (self._pos, other._pos)):
            for run in list(theirs.runs):
                mine.push(run)
        return self

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
            kn, cn = self._neg.run().encoded()
            kp, cp = self._pos.run().encoded()
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
        n, p = self._neg.run(), self._pos.run()
        kn = n.encoded()[0] if not n.distinct else n.keys
        kp = p.encoded()[0] if not p.distinct else p.keys
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
        neg, pos = self._neg.settle(), self._pos.settle()
        den = 2 * p_total * n_total
        if sum(r.size for r in pos) <= sum(r.size for r in neg):
            return Fraction(rank_sums(neg, pos, False)[0], den)
        return Fraction(den - rank_sums(pos, neg, False)[0], den)

    def delong_variance(self) -> Fraction:
        """DeLong's variance of the AUC, exact (P, N ≥ 2): with x = N_< + N_≤ of each
        positive row and y = P_< + P_≤ of each negative one (the structural components are
        V10 = x/(2N), V01 = 1 − y/(2P)),

            S10 = (P·Σx² − (Σx)²) / (4·N²·P·(P − 1)),  S01 = (N·Σy² − (Σy)²) / (4·P²·N·(N − 1))
            Var = S10/P + S01/N

        — sums of integers, so the same bits for any chunking, merge order or runs."""
        n_total, p_total = self.totals()
        neg, pos = self._neg.settle(), self._pos.settle()
        x1, x2 = rank_sums(neg, pos, True)
        y1, y2 = rank_sums(pos, neg, True)
        s10 = Fraction(p_total * x2 - x1 * x1, 4 * n_total ** 2 * p_total * (p_total - 1))
        s01 = Fraction(n_total * y2 - y1 * y1, 4 * p_total ** 2 * n_total * (n_total - 1))
        return s10 / p_total + s01 / n_total

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
            check(int(arr.astype(object).sum()) < _INT_SAFE, name, "counts beyond int64")
        check(bool(np.all((neg + pos) > 0)), "neg", "a score with no row")
        out = cls()
        for side, c in ((out._neg, neg), (out._pos, pos)):
            has = c > 0
            side.push(from_distinct(k[has], c[has]))
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ScoreCounts) and self.to_dict() == other.to_dict()

    def __repr__(self) -> str:
        return f"ScoreCounts(rows={self.total()})"


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
