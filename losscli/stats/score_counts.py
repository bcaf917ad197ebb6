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

#: int64 arithmetic is exact below this (sums of counts, 2·P·N).
_INT_SAFE = 1 << 62
#: Entries of a run read at a time when ranking it against the other class (bounded
#: temporaries: a few int64 arrays of this length).
BLOCK = 1 << 17


class Run:
    """A piece of one class's sorted scores: ``keys`` (float64, increasing) and ``counts``
    — None when every key is one row (keys may repeat: 8 B a row), else int64 counts of
    distinct keys. ``rows``: the rows it holds; ``distinct``: whether its keys are
    distinct. Never written to after construction (pieces are shared between states)."""

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

    def cut(self, i: int) -> tuple[Run, Run]:
        """The entries before index ``i`` and from it (views, not copies)."""
        if self.counts is None:
            return (Run(self.keys[:i], None, i, self.distinct),
                    Run(self.keys[i:], None, self.size - i, self.distinct))
        c = self.counts
        rows = int(c[:i].sum())
        return (Run(self.keys[:i], c[:i], rows, True),
                Run(self.keys[i:], c[i:], self.rows - rows, True))


_NONE = Run(np.zeros(0, np.float64), None, 0, True)


def from_sorted(k: np.ndarray) -> Run:
    """The piece of sorted scores, one row each (``k`` is kept, not copied), run-length
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
    """The piece of distinct sorted scores with int64 counts ≥ 1, in the smaller form (the
    same piece :func:`from_sorted` gives for the rows spelled out)."""
    rows = int(c.sum())
    if 2 * k.shape[0] > rows:
        return Run(np.repeat(k, c), None, rows, k.shape[0] == rows)
    return Run(k, c, rows, True)


def _owned(r: Run) -> Run:
    """``r`` with arrays of its own (a piece cut from a larger one would keep all of it)."""
    if r.keys.base is None:
        return r
    return Run(r.keys.copy(), None if r.counts is None else r.counts.copy(), r.rows,
               r.distinct)


def _merge(parts: list[Run]) -> Run:
    """One piece of the rows of ``parts`` (sorted pieces whose key ranges may overlap)."""
    parts = [r for r in parts if r.size]
    if len(parts) == 1:
        return _owned(parts[0])
    if all(r.counts is None for r in parts):
        k = np.concatenate([r.keys for r in parts])
        del parts
        k.sort(kind="stable")  # timsort: a linear merge of the sorted parts
        return from_sorted(k)
    enc = [r.encoded() for r in parts]
    del parts
    k = np.concatenate([e[0] for e in enc])
    c = np.concatenate([e[1] for e in enc])
    del enc
    order = np.argsort(k, kind="stable")
    k, c = k[order], c[order]
    del order
    start = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    return from_distinct(k[start], np.add.reduceat(c, start))


def _join(parts: list[Run]) -> Run:
    """One piece of consecutive pieces (each one's keys all below the next one's)."""
    if len(parts) == 1:
        return parts[0]
    if all(r.counts is None and r.distinct for r in parts):
        k = np.concatenate([r.keys for r in parts])
        return Run(k, None, k.shape[0], True)
    return _merge(parts)  # ties or counts: the form is decided again


#: Entries a piece holds (about; merged pieces are emitted once they reach it): merging two
#: runs holds a few pieces more than its inputs, never a copy of a whole run.
PIECE = 1 << 18


def merge_pieces(a: list[Run], b: list[Run]) -> list[Run]:
    """The pieces of two runs (each a list of pieces in increasing key order, every key of
    a piece below the next piece's) merged into one such run, piece by piece: the lists
    are emptied as their pieces are consumed, so pieces nobody else holds are freed as the
    merge goes."""
    a.reverse()
    b.reverse()  # the heads at the ends
    out: list[Run] = []
    acc: list[Run] = []
    held = 0
    while a and b:
        x, y = a.pop(), b.pop()
        # every row at most ``top`` of both heads: at most about a piece of each
        top = min(x.keys[min(x.size, PIECE) - 1], y.keys[min(y.size, PIECE) - 1])
        i = int(np.searchsorted(x.keys, top, "right"))
        j = int(np.searchsorted(y.keys, top, "right"))
        if i < x.size:  # the rest waits (whole, when none of it is due yet)
            x, rest = x.cut(i) if i else (_NONE, x)
            a.append(rest)
        if j < y.size:
            y, rest = y.cut(j) if j else (_NONE, y)
            b.append(rest)
        part = _merge([x, y])
        del x, y
        acc.append(part)
        held += part.size
        if held >= PIECE:
            out.append(_join(acc))
            acc, held = [], 0
    if acc:
        out.append(_join(acc))
    out.extend(_owned(r) for r in reversed(a or b))
    a.clear()
    b.clear()
    return out


class _Side:
    """One class's runs, log-structured: each run a list of pieces; sizes (entries) shrink
    at least by half from each run to the next, so there are O(log n) of them."""

    __slots__ = ("rows", "runs", "sizes")

    def __init__(self) -> None:
        self.runs: list[list[Run]] = []
        self.sizes: list[int] = []
        self.rows = 0

    def push(self, run: list[Run]) -> None:
        run = [p for p in run if p.size]
        if not run:
            return
        self.runs.append(run)
        self.sizes.append(sum(p.size for p in run))
        self.rows += sum(p.rows for p in run)
        while len(self.runs) >= 2 and self.sizes[-2] <= 2 * self.sizes[-1]:
            self._merge_last()

    def _merge_last(self) -> None:
        b, a = self.runs.pop(), self.runs.pop()
        self.sizes[-2:] = []
        merged = merge_pieces(a, b)
        self.runs.append(merged)
        self.sizes.append(sum(p.size for p in merged))

    def pieces(self) -> list[Run]:
        """The one run left after merging them all (piece by piece: bounded extra memory)."""
        while len(self.runs) > 1:
            self._merge_last()
        return self.runs[0] if self.runs else []

    def copy(self) -> _Side:
        out = _Side()
        out.runs = [list(r) for r in self.runs]
        out.sizes, out.rows = list(self.sizes), self.rows
        return out

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for r in self.runs for p in r)


def _grouped(s: np.ndarray, c: np.ndarray) -> Run:
    """The piece of scores ``s`` (any order) with int64 counts ``c`` (zeros dropped)."""
    keep = c > 0
    s, c = s[keep], c[keep]
    order = np.argsort(s, kind="stable")
    s, c = s[order], c[order]
    if s.shape[0] == 0:
        return _NONE
    start = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    return from_distinct(s[start], np.add.reduceat(c, start))


def _encoded(pieces: list[Run]) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys, int64 counts) of a run's pieces, concatenated."""
    enc = [p.encoded() for p in pieces]
    if not enc:
        return np.zeros(0, np.float64), np.zeros(0, np.int64)
    return np.concatenate([e[0] for e in enc]), np.concatenate([e[1] for e in enc])


def _rank_in(ref: tuple[np.ndarray, bool, np.ndarray | None], x: np.ndarray) -> np.ndarray:
    """2·(rows of a piece scored below x) + (rows scored x), for sorted ``x`` (int64);
    ``ref``: the piece's (keys, distinct, cumulative counts)."""
    rk, distinct, cum = ref
    lo = np.searchsorted(rk, x, "left")
    if distinct:  # at most one entry equal to x: no second search
        hi = lo + (rk[np.minimum(lo, rk.shape[0] - 1)] == x)
    else:
        hi = np.searchsorted(rk, x, "right")
    if cum is not None:
        lo, hi = cum[lo], cum[hi]
    return lo + hi


class _Ranker:
    """x(s) = rows of a run scored below s + rows scored at most s, for blocks of sorted
    scores: each score is searched in the one piece whose range holds it."""

    def __init__(self, pieces: list[Run]) -> None:
        self.parts = [(p.keys, p.distinct, p.cumulative()) for p in pieces]
        self.firsts = np.array([p.keys[0] for p in pieces], np.float64)
        rows = np.array([p.rows for p in pieces], np.int64)
        self.before = 2 * (np.cumsum(rows) - rows)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = np.zeros(x.shape[0], np.int64)
        ends = np.searchsorted(x, self.firsts, "left")  # x[ends[j]:] is at or past piece j
        n = len(self.parts)
        for j in range(n):
            lo, hi = int(ends[j]), int(ends[j + 1]) if j + 1 < n else x.shape[0]
            if lo < hi:
                out[lo:hi] = _rank_in(self.parts[j], x[lo:hi]) + self.before[j]
        return out


def rank_sums(ref: list[Run], run: list[Run], squares: bool) -> tuple[int, int]:
    """(Σ c·x, Σ c·x²) over the entries of ``run`` (count c, score s), where x = rows of
    ``ref`` scored below s + rows scored at most s — exact Python integers, the same
    whatever pieces the rows are in (``Σ c·x²`` only when ``squares``; else 0)."""
    s1 = s2 = 0
    if not ref:
        return s1, s2
    rank = _Ranker(ref)
    for piece in run:
        for i in range(0, piece.size, BLOCK):
            x = rank(piece.keys[i:i + BLOCK])
            if piece.counts is None:
                s1 += int(x.sum())  # ≤ BLOCK·2·N: int64 while the rows fit in memory
                if squares:  # x = h·2**21 + l: the squares' sums in int64, then exact
                    h, low = x >> 21, x & ((1 << 21) - 1)
                    s2 += ((int(np.dot(h, h)) << 42) + (int(np.dot(h, low)) << 22)
                           + int(np.dot(low, low)))
            else:
                c = piece.counts[i:i + BLOCK].astype(object)
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

    __slots__ = ("_auc", "_neg", "_pos", "_table", "_variance")

    def __init__(self) -> None:
        self._neg, self._pos = _Side(), _Side()
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
                side.push([_grouped(k, np.asarray(counts, dtype=np.int64).ravel()[mask])])

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
            kn, cn = _encoded(self._neg.pieces())
            kp, cp = _encoded(self._pos.pieces())
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
        kn = _encoded(self._neg.pieces())[0]
        kp = _encoded(self._pos.pieces())[0]
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
            s10 = Fraction(p_total * x2 - x1 * x1, 4 * n_total ** 2 * p_total * (p_total - 1))
            s01 = Fraction(n_total * y2 - y1 * y1, 4 * p_total ** 2 * n_total * (n_total - 1))
            self._variance = s10 / p_total + s01 / n_total
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
            check(int(arr.astype(object).sum()) < _INT_SAFE, name, "counts beyond int64")
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
