"""The exact ROC sums of a union of exact ROC states, read without building the union: what
``--group-by``'s overall ROC AUC and DeLong interval are read from (the overall ranking
keeps nothing of its own: its rows are its groups' rows, :class:`~losscli.stats.ranking.
Ranking`'s union mode).

:func:`union_sums` walks the runs of both classes of every state
(:meth:`~losscli.stats.score_counts.ScoreCounts.sides`) together, in increasing score, a
slice at a time. Each step takes from every run its entries up to one score ``top`` — the
lowest of the runs' ``step``-th next entries, so a step holds at most about :data:`SPAN`
entries, and every entry at ``top`` falls in the same step (ties never straddle steps).
Within a step, each positive's x = N_< + N_≤ (negatives scored below it, and at most it)
is its rank among the step's negatives plus twice the negatives of the earlier steps, all
of which score below it (likewise y for the negatives against the positives):

    Σx = Σ_steps (Σ x_step + 2·N_before·P_step),
    Σx² = Σ_steps (Σ x_step² + 4·N_before·Σ x_step + 4·N_before²·P_step)

— sums of integers (:func:`~losscli.stats.score_runs.rank_sums` within a step), so the AUC
and DeLong's variance are the same bits as those of the one merged state, whatever the
runs, pieces, chunks or merge order. Memory: a step's slices (views of the pieces) and one
sorted copy of one class's slices: a few :data:`SPAN`-long arrays, never the union.
Pure: no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from losscli.stats.exact import fraction_to_float
from losscli.stats.keyed import KeyedSums
from losscli.stats.ranking import Ranking, Score, checked_rows, delong_se, undefined_reasons
from losscli.stats.score_counts import ScoreCounts, delong_fraction
from losscli.stats.score_runs import Run, from_distinct, from_sorted, rank_sums

#: Entries (of all runs together) a step takes, about: bounded temporaries.
SPAN = 1 << 19


class UnionSums(NamedTuple):
    """The exact sums of a union: N and P (rows of each class), Σx over the positives
    (the AUC is Σx / (2·P·N)) and, when asked for (DeLong's variance), Σx², Σy, Σy²."""

    n: int
    p: int
    x1: int
    x2: int = 0
    y1: int = 0
    y2: int = 0


class _Cursor:
    """The rest of one sorted run (its pieces, each one's keys below the next one's)."""

    __slots__ = ("head", "rest")

    def __init__(self, pieces: list[Run]) -> None:
        self.rest = [p for p in reversed(pieces) if p.size]
        self.head: Run | None = self.rest.pop() if self.rest else None

    def bound(self, step: int) -> float:
        """The ``step``-th next key (or the last of the head piece)."""
        assert self.head is not None
        return float(self.head.keys[min(self.head.size, step) - 1])

    def take(self, top: float) -> Run | None:
        """The next entries scored at most ``top`` (a view), or None: all in the head
        piece, since every key of the next piece is above the head's last."""
        head = self.head
        assert head is not None
        i = int(np.searchsorted(head.keys, top, "right"))
        if i == 0:
            return None
        if i < head.size:
            out, self.head = head.cut(i)
            return out
        self.head = self.rest.pop() if self.rest else None
        return head


def _sorted(parts: list[Run]) -> list[Run]:
    """The rows of ``parts`` (sorted pieces whose ranges may overlap) as one sorted piece,
    in a list (empty for none)."""
    if len(parts) <= 1:
        return parts
    if all(p.counts is None for p in parts):
        k = np.concatenate([p.keys for p in parts])
        k.sort(kind="stable")  # timsort: a merge of the sorted parts
        return [from_sorted(k)]
    enc = [p.encoded() for p in parts]
    k = np.concatenate([e[0] for e in enc])
    c = np.concatenate([e[1] for e in enc])
    order = np.argsort(k, kind="stable")
    k, c = k[order], c[order]
    start = np.flatnonzero(np.concatenate(([True], k[1:] != k[:-1])))
    return [from_distinct(k[start], np.add.reduceat(c, start))]


def union_sums(states: list[ScoreCounts], squares: bool) -> UnionSums:
    """The exact sums of the union of ``states`` (see the module doc): Σx always; Σx², Σy
    and Σy² only when ``squares`` (else 0)."""
    for state in states:
        state.compact()  # one run a class, as reading its own AUC leaves it: fewer cursors
    neg = [_Cursor(run) for s in states for run in s.sides()[0]]
    pos = [_Cursor(run) for s in states for run in s.sides()[1]]
    n_before = p_before = x1 = x2 = y1 = y2 = 0
    while True:
        live = [c for c in (*neg, *pos) if c.head is not None]
        if not live:
            break
        step = max(SPAN // len(live), 1)
        top = min(c.bound(step) for c in live)
        negs = [r for c in neg if c.head is not None and (r := c.take(top)) is not None]
        poss = [r for c in pos if c.head is not None and (r := c.take(top)) is not None]
        n_step = sum(r.rows for r in negs)
        p_step = sum(r.rows for r in poss)
        if squares:
            negs, poss = _sorted(negs), _sorted(poss)
            a1, a2 = rank_sums(negs, poss, True)
            b1, b2 = rank_sums(poss, negs, True)
            y1 += b1 + 2 * p_before * n_step
            y2 += b2 + 4 * p_before * b1 + 4 * p_before * p_before * n_step
        else:  # the class with fewer entries is searched in the other
            a2 = 0
            if sum(r.size for r in poss) <= sum(r.size for r in negs):
                a1 = rank_sums(_sorted(negs), poss, False)[0]
            else:  # every (positive, negative) pair counts 2 to Σx or Σy, or 1 to each
                a1 = 2 * p_step * n_step - rank_sums(_sorted(poss), negs, False)[0]
        x1 += a1 + 2 * n_before * p_step
        x2 += a2 + 4 * n_before * a1 + 4 * n_before * n_before * p_step
        n_before += n_step
        p_before += p_step
    if not squares:
        x2 = 0
    return UnionSums(n_before, p_before, x1, x2, y1, y2)


class RankingUnion(Ranking):
    """A :class:`~losscli.stats.ranking.Ranking` of the rows of other rankings, kept nowhere
    here: ``--group-by``'s overall ranking, whose rows are exactly its groups' (each row is
    in one group, null keys a group of their own). ``parts()`` gives them when asked (groups
    appear as rows come, and merge by key). The AUC and DeLong's variance are read from the
    parts' runs (:func:`union_sums`: a step's slices of memory); what reads a curve (AP,
    operating points, the per-score bootstrap), a saved state or the fractional-weight mode
    reads the union built by merging the parts (kept until a part changes) — the state, bit
    for bit, that one ranking fed every row would hold.

    ``update`` counts the rows and refuses what a ranking refuses (the parts get the same
    rows); a merge adds the other's rows, which come with its groups, merged into these by
    key (:meth:`losscli.state.State.merge`). Every read checks that the parts hold as many
    rows as were counted here."""

    def __init__(self, parts: Callable[[], list[Ranking]]) -> None:
        super().__init__()
        self._parts = parts
        self._built: tuple[list[tuple[Ranking, int]], Ranking] | None = None
        self._read: tuple[list[tuple[Ranking, int]], UnionSums] | None = None

    # -- what the base class keeps, read from the union -----------------------------------
    @property  # type: ignore[override]
    def counts(self) -> ScoreCounts | None:
        return self.built().counts

    @counts.setter
    def counts(self, value: ScoreCounts | None) -> None:
        pass  # Ranking.__init__'s empty state: nothing is kept here

    @property
    def sums(self) -> KeyedSums:
        return self.built().sums

    def _current(self) -> tuple[list[Ranking], list[tuple[Ranking, int]]]:
        """The parts, and what identifies their content (each part and its rows)."""
        parts = self._parts()
        rows = sum(p.rows for p in parts)
        if rows != self.rows:
            raise RuntimeError(f"the overall ranking counted {self.rows} rows, its groups "
                               f"{rows}: a row went to no group or to two")
        return parts, [(p, p.rows) for p in parts]

    @staticmethod
    def _same(seen: list[tuple[Ranking, int]], now: list[tuple[Ranking, int]]) -> bool:
        return len(seen) == len(now) and all(
            a is b and r == s for (a, r), (b, s) in zip(seen, now))

    def built(self) -> Ranking:
        """The union as one ranking (built once, again when a part has changed)."""
        parts, now = self._current()
        if self._built is None or not self._same(self._built[0], now):
            self._built = None
            out = Ranking()
            for part in parts:
                out.merge(part)
            self._built = (now, out)
        return self._built[1]

    def _union_sums(self) -> UnionSums | None:
        """The union's exact sums (all of them: the AUC is read before its interval, and
        the squares cost a fraction of the walk), or None when a part keeps sums
        (fractional weights)."""
        parts, now = self._current()
        counts = [p.counts for p in parts]
        if any(c is None or isinstance(p, RankingUnion) for p, c in zip(parts, counts)):
            return None
        if self._read is None or not self._same(self._read[0], now):
            self._read = (now, union_sums([c for c in counts if c is not None], True))
        return self._read[1]

    # -- the Ranking interface ------------------------------------------------------------
    def update(self, scores: np.ndarray, labels: np.ndarray,
               weights: np.ndarray | None = None) -> None:
        self.rows += int(np.asarray(labels).size)
        checked_rows(scores, labels, weights)  # the same refusal as the parts'

    def merge(self, other: Ranking) -> Ranking:
        self.rows += other.rows  # its rows come with its groups
        return self

    @property
    def nbytes(self) -> int:
        """Bytes held: the built union's, while it is kept (none of its own)."""
        return 0 if self._built is None else self._built[1].nbytes

    def positive_weight(self) -> float:
        got = self._union_sums()
        return self.built().positive_weight() if got is None else float(got.p)

    def roc_auc(self) -> Score:
        got = self._union_sums()
        if got is None:
            return self.built().roc_auc()
        reason = undefined_reasons(got.n, got.p)[0]
        if reason is not None:
            return Score(math.nan, math.nan, math.nan, reason)
        auc = fraction_to_float(Fraction(got.x1, 2 * got.p * got.n))
        return Score(auc, auc, auc, None)

    def roc_auc_se(self) -> tuple[Score, float, str | None]:
        score = self.roc_auc()
        if score.reason is not None:
            return score, math.nan, score.reason
        got = self._union_sums()
        if got is None:
            return self.built().roc_auc_se()
        if got.n > 1 and got.p > 1:
            variance = delong_fraction(got.n, got.p, got.x1, got.x2, got.y1, got.y2)
            return score, math.sqrt(max(float(variance), 0.0)), None
        return (score, *delong_se(np.array([got.n]), np.array([got.p])))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ranking) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]


def union_of(parts: Callable[[], list[Any]], per_class: int | None = None) -> list[Ranking]:
    """The exact rankings of ``parts()`` (aggregates with a ranking ``state``; ``per_class``:
    class c's of a one-vs-rest state): what a :class:`RankingUnion` reads (a module-level
    function, so that a state stays picklable for Dask)."""
    return [p.state if per_class is None else p.state.per_class[per_class] for p in parts()]
