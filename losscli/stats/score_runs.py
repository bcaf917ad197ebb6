"""The sorted runs behind the exact ROC state (:mod:`losscli.stats.score_counts`): pieces of
one class's sorted scores (:class:`Run`: 8 B a row of distinct scores, or distinct scores
with int64 counts), their piece-by-piece merge (:func:`merge_pieces`: a few pieces of
extra memory, never a copy of a whole run), a class's log-structured runs (:class:`Side`)
and the exact integer rank sums of one class's scores against the other's
(:func:`rank_sums`). Pure: no I/O.
"""

from __future__ import annotations

import numpy as np

#: int64 arithmetic is exact below this (sums of counts, 2·P·N).
INT_SAFE = 1 << 62
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


class Side:
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

    def copy(self) -> Side:
        out = Side()
        out.runs = [list(r) for r in self.runs]
        out.sizes, out.rows = list(self.sizes), self.rows
        return out

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for r in self.runs for p in r)


def grouped_run(s: np.ndarray, c: np.ndarray) -> Run:
    """The piece of scores ``s`` (any order) with int64 counts ``c`` (zeros dropped)."""
    keep = c > 0
    s, c = s[keep], c[keep]
    order = np.argsort(s, kind="stable")
    s, c = s[order], c[order]
    if s.shape[0] == 0:
        return _NONE
    start = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    return from_distinct(s[start], np.add.reduceat(c, start))


def encoded_pieces(pieces: list[Run]) -> tuple[np.ndarray, np.ndarray]:
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
