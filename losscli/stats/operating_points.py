"""Operating points of a binary score, read from the ranking state (no second pass).

The exact state of :class:`~losscli.stats.ranking.Ranking` holds, per distinct score, the
weight of the negative and of the positive rows (integer counts, or exact sums with
fractional weights). Visiting the scores in decreasing order, their cumulative sums are
the confusion counts of the rule ``positive when score ≥ t`` at every threshold t that
changes anything — TP(t), FP(t), with P = ΣTP, N = ΣFP — exactly the points of
scikit-learn's ``precision_recall_curve`` / ``roc_curve`` (``drop_intermediate=False``).
The cumulative sums are exact integers (int64, or Python ints of the sums' unit), turned
into float64 once, so every merge order gives the same bits. Each metric reads that curve:

- ``precision_at_recall`` (R): max precision TP/(TP+FP) over thresholds with TP/P ≥ R
  (sklearn: ``max(precision[recall >= R])``); the threshold reached is the highest one;
- ``recall_at_precision`` (Q): max recall over thresholds with precision ≥ Q (sklearn's
  curve without its appended end point precision 1, recall 0 — "predict nothing" is not
  an operating point here: NaN with a reason when no threshold reaches Q);
- ``threshold_at_fpr`` (F): the highest threshold t with the largest TPR such that
  FP(t)/N ≤ F (sklearn ``roc_curve``: ``i = flatnonzero(fpr <= F)``, ``i[argmax(tpr[i])]``);
  NaN with a reason when only "predict nothing" (TPR 0) keeps FPR ≤ F;
- ``expected_cost`` (a cost matrix C, rows the true class, columns the predicted one, as
  scikit-learn's ``confusion_matrix``): (C_tn·TN + C_fp·FP + C_fn·FN + C_tp·TP)/(P + N) —
  the expected cost per unit of weight at the best threshold ("predict nothing" included),
  or at a fixed threshold t (the last point with threshold ≥ t); ``cost_fp``/``cost_fn``
  are the matrix ``0 a; b 0``.

**Bounded mode** (:class:`~losscli.stats.ranking.BinnedRanking`): each bin is one tied
score. A bin's lower edge gives an exact operating point (the rows of the bins at or above
it are those scoring at least that edge), so the binned reading is achievable; a threshold
inside bin b has TP ∈ [TP_b − pos_b, TP_b] and FP ∈ [FP_b − neg_b, FP_b], which bounds the
exact value from the other side (see :func:`binned`). The threshold of
``threshold_at_fpr`` is bounded by the edges of the bins it can lie in: above the first bin
that breaks the FPR as a whole, within the bin where the reading stops.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.stats.ranking import BinnedRanking, Ranking

#: The operating-point metrics (registry names) and the parameter of each.
OPERATING_POINTS = {"precision_at_recall": "min_recall", "recall_at_precision": "min_precision",
                    "threshold_at_fpr": "fpr", "expected_cost": "cost_fp"}


@dataclass(frozen=True)
class Point:
    """An operating-point metric: ``value`` (NaN when undefined, with ``reason``), the
    operating point it was read at (``at``: threshold, precision, recall, tpr, fpr) and, in
    the bounded mode, [low, high] surely holding the exact value."""

    value: float
    low: float = math.nan
    high: float = math.nan
    reason: str | None = None
    at: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Curve:
    """The confusion counts at every threshold, highest threshold first: ``thresholds``
    (the distinct scores, or the bins' lower edges), cumulative ``tp``/``fp`` (float64 of
    the exact sums) and, per threshold, the weight ``pos``/``neg`` it adds."""

    thresholds: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    pos: np.ndarray
    neg: np.ndarray

    @property
    def p(self) -> float:
        return float(self.tp[-1]) if self.tp.size else 0.0

    @property
    def n(self) -> float:
        return float(self.fp[-1]) if self.fp.size else 0.0


def curve_of(keys: np.ndarray, neg: Any, pos: Any) -> Curve:
    """The curve of per-key (neg, pos) in increasing key order: int64 counts, or object
    arrays of Python ints (cumulated exactly, then rounded once)."""
    n, p = np.asarray(neg)[::-1], np.asarray(pos)[::-1]
    as_float = (lambda a: a.astype(np.float64)) if n.dtype != object else (
        lambda a: np.array([float(x) for x in a], dtype=np.float64))
    return Curve(np.asarray(keys, dtype=np.float64)[::-1], as_float(np.cumsum(p)),
                 as_float(np.cumsum(n)), as_float(p), as_float(n))


def _no_positive(c: Curve) -> str | None:
    return "no positive row: recall is undefined" if c.p <= 0 else None


def precision_at_recall(c: Curve, min_recall: float) -> Point:
    if reason := _no_positive(c):
        return Point(math.nan, reason=reason)
    recall, precision = c.tp / c.p, c.tp / (c.tp + c.fp)
    ok = np.flatnonzero(recall >= min_recall)
    k = int(ok[np.argmax(precision[ok])])
    return Point(float(precision[k]), at=_at(c, k))


def recall_at_precision(c: Curve, min_precision: float) -> Point:
    if reason := _no_positive(c):
        return Point(math.nan, reason=reason)
    recall, precision = c.tp / c.p, c.tp / (c.tp + c.fp)
    ok = np.flatnonzero(precision >= min_precision)
    if not ok.size:
        return Point(math.nan, reason=f"no threshold reaches precision ≥ {min_precision:g} "
                                      f"(the highest is {float(precision.max()):.6g})")
    k = int(ok[np.argmax(recall[ok])])
    return Point(float(recall[k]), at=_at(c, k))


def threshold_at_fpr(c: Curve, fpr: float) -> Point:
    if c.p <= 0 or c.n <= 0:
        return Point(math.nan, reason="only negative rows: TPR is undefined" if c.p <= 0
                     else "only positive rows: FPR is undefined")
    tpr, rate = c.tp / c.p, c.fp / c.n
    ok = np.flatnonzero(rate <= fpr)
    k = int(ok[np.argmax(tpr[ok])]) if ok.size else -1
    if k < 0 or tpr[k] <= 0:
        return Point(math.nan, reason=f"no threshold with FPR ≤ {fpr:g} finds a positive row "
                                      "(TPR 0: only 'predict nothing' keeps the FPR)",
                     at={"tpr": 0.0, "fpr": 0.0})
    return Point(float(c.thresholds[k]), at=_at(c, k))


@dataclass(frozen=True)
class Costs:
    """``expected_cost``'s costs, C[true][predicted] of the binary rule (scikit-learn's
    confusion-matrix layout: ``tn fp; fn tp``), and the threshold it is read at (None: the
    best one)."""

    tn: float = 0.0
    fp: float = 1.0
    fn: float = 1.0
    tp: float = 0.0
    threshold: float | None = None

    @classmethod
    def of(cls, rows: Any = None, cost_fp: float = 1.0, cost_fn: float = 1.0,
           threshold: float | None = None) -> Costs:
        """From a 2×2 matrix ``rows`` (else ``cost_fp``/``cost_fn`` off the diagonal)."""
        if rows is None:
            return cls(0.0, float(cost_fp), float(cost_fn), 0.0, threshold)
        (tn, fp), (fn, tp) = rows
        return cls(float(tn), float(fp), float(fn), float(tp), threshold)

    @classmethod
    def settings(cls, matrix_text: str | None, threshold: float | None, cost_fp: float,
                 cost_fn: float) -> Costs:
        """From an aggregate's settings: a 2×2 matrix as canonical text (``"tn fp;fn tp"``,
        :mod:`losscli.cost_matrix`) or None, the fixed threshold or None."""
        rows = None if matrix_text is None else [
            [float(e) for e in row.split()] for row in matrix_text.split(";")]
        return cls.of(rows, cost_fp, cost_fn, threshold)

    def total(self, c: Curve, tp: Any, fp: Any) -> Any:
        """C_fp·FP + C_fn·FN + C_tn·TN + C_tp·TP at counts ``tp``/``fp`` (FN = P − TP,
        TN = N − FP; a zero diagonal adds exact zeros: the off-diagonal cost's bits)."""
        return self.fp * fp + self.fn * (c.p - tp) + self.tn * (c.n - fp) + self.tp * tp


def expected_cost(c: Curve, cost_fp: float | Costs, cost_fn: float = 1.0) -> Point:
    """The expected cost per unit of weight: at the best threshold ("predict nothing"
    included), or at the fixed ``Costs.threshold`` (positive when score ≥ t; the point
    read says so: ``at["threshold"]`` is t itself)."""
    costs = cost_fp if isinstance(cost_fp, Costs) else Costs.of(None, cost_fp, cost_fn)
    total = c.p + c.n
    nothing = costs.total(c, 0.0, 0.0)
    if costs.threshold is not None:
        k = int(np.count_nonzero(c.thresholds >= costs.threshold))
        at = {"threshold": costs.threshold, "tpr": 0.0, "fpr": 0.0} if k == 0 else {
            **_at(c, k - 1), "threshold": costs.threshold}
        value = nothing if k == 0 else float(costs.total(c, c.tp[k - 1], c.fp[k - 1]))
        return Point(float(value / total), at=at)
    values = np.concatenate(([nothing], costs.total(c, c.tp, c.fp)))
    k = int(np.argmin(values))
    at = {"threshold": math.inf, "tpr": 0.0, "fpr": 0.0} if k == 0 else _at(c, k - 1)
    return Point(float(values[k] / total), at=at)


def _at(c: Curve, k: int) -> dict[str, float]:
    """The operating point at threshold index ``k``: threshold, precision, recall (= TPR),
    FPR (NaN without negatives)."""
    p, n = c.p, c.n
    return {"threshold": float(c.thresholds[k]),
            "precision": float(c.tp[k] / (c.tp[k] + c.fp[k])),
            "tpr": float(c.tp[k] / p) if p > 0 else math.nan,
            "fpr": float(c.fp[k] / n) if n > 0 else math.nan}


def read(c: Curve, metric: str, level: float, cost_fn: float, costs: Costs | None = None
         ) -> Point:
    """The metric ``metric`` (see :data:`OPERATING_POINTS`) of the curve; ``level``: its
    parameter (expected_cost: cost_fp, unless ``costs`` gives the whole matrix)."""
    if metric == "precision_at_recall":
        return precision_at_recall(c, level)
    if metric == "recall_at_precision":
        return recall_at_precision(c, level)
    if metric == "threshold_at_fpr":
        return threshold_at_fpr(c, level)
    return expected_cost(c, costs or Costs.of(None, level, cost_fn))


# -- the bounded mode ------------------------------------------------------------------------
def binned(c: Curve, metric: str, level: float, cost_fn: float, lower_edge: Any,
           upper_edge: Any, costs: Costs | None = None) -> Point:
    """The binned reading of ``metric`` with the bound that holds for the exact value.
    ``c.thresholds`` are the bins' indices; ``lower_edge(b)``/``upper_edge(b)`` their edges
    in score space (±inf at the clipped ends). A threshold inside bin b has FP ≥ FP_b − neg_b
    and TP ≤ TP_b, so its precision is at most TP_b/(TP_b + FP_b − neg_b) and its cost at
    least a·(FP_b − neg_b) + b·(P − TP_b)."""
    costs = costs or Costs.of(None, level, cost_fn)
    if metric == "expected_cost" and costs.threshold is not None:
        return _binned_fixed(c, costs, lower_edge, upper_edge)
    got = read(c, metric, level, cost_fn, costs)
    k = _index(c, got)
    at = dict(got.at)
    if k is not None:
        at["threshold"] = float(lower_edge(int(c.thresholds[k])))
    fp_lo = c.fp - c.neg
    if metric == "expected_cost":  # each count at the end of its bin that costs least
        fp_x = fp_lo if costs.fp >= costs.tn else c.fp
        tp_x = c.tp if costs.fn >= costs.tp else c.tp - c.pos
        low = min(costs.total(c, 0.0, 0.0), float(costs.total(c, tp_x, fp_x).min()))
        return Point(got.value, low / (c.p + c.n), got.value, None, at)
    if metric == "threshold_at_fpr":
        if got.reason is not None or k is None:
            why = got.reason or "undefined"
            if c.p > 0 and c.n > 0:  # a threshold inside the top bin may still reach it
                why += " at a bin edge (an exact threshold may: try more bins or bins=0)"
            return Point(math.nan, reason=why, at=at)
        # the exact threshold lies above the first bin that breaks the FPR (it is
        # infeasible as a whole) and within bin k, the lowest one adding positives
        m = int(np.count_nonzero(c.fp / c.n <= level))
        below = lower_edge(int(c.thresholds[m])) if m < len(c.thresholds) else -math.inf
        value = at["threshold"]
        return Point(value, min(below, value), max(upper_edge(int(c.thresholds[k])), value),
                     None, at)
    if got.reason is not None and c.p <= 0:
        return Point(math.nan, reason=got.reason)
    best_prec = np.where(c.tp > 0, c.tp / np.maximum(c.tp + fp_lo, 1e-300), 0.0)
    if metric == "precision_at_recall":
        high = float(best_prec[c.tp / c.p >= level].max())
        return Point(got.value, got.value, max(high, got.value), None, at)
    ok = best_prec >= level
    high = float((c.tp[ok] / c.p).max()) if ok.any() else math.nan
    if got.reason is not None:
        more = f" at a bin edge (an exact threshold may: recall ≤ {high:.6g})" if ok.any() else ""
        return Point(math.nan, reason=got.reason + more)
    return Point(got.value, got.value, max(high, got.value), None, at)


def _binned_fixed(c: Curve, costs: Costs, lower_edge: Any, upper_edge: Any) -> Point:
    """expected_cost at a fixed threshold t from bins: the bins whose lower edge is ≥ t are
    called positive; the one bin holding t (if any) is split by t somewhere, so its rows
    bound the exact value (the reading counts them negative)."""
    t = costs.threshold
    assert t is not None
    edges = np.array([lower_edge(int(b)) for b in c.thresholds], dtype=np.float64)
    j = int(np.count_nonzero(edges >= t))
    tp0, fp0 = (float(c.tp[j - 1]), float(c.fp[j - 1])) if j else (0.0, 0.0)
    tp1, fp1 = tp0, fp0
    if j < len(c.thresholds) and upper_edge(int(c.thresholds[j])) > t:
        tp1, fp1 = float(c.tp[j]), float(c.fp[j])
    total = c.p + c.n
    corners = [float(costs.total(c, a, b)) for a in (tp0, tp1) for b in (fp0, fp1)]
    return Point(corners[0] / total, min(corners) / total, max(corners) / total, None,
                 {"threshold": t, "tpr": tp0 / c.p if c.p > 0 else math.nan,
                  "fpr": fp0 / c.n if c.n > 0 else math.nan})


def _index(c: Curve, got: Point) -> int | None:
    """The threshold index a reading was taken at (None: "predict nothing" or undefined)."""
    t = got.at.get("threshold")
    if t is None or not math.isfinite(t):
        return None
    hit = np.flatnonzero(c.thresholds == t)
    return int(hit[0]) if hit.size else None


def operating_point(state: Ranking | BinnedRanking, metric: str, level: float, cost_fn: float,
                    costs: Costs | None = None) -> Point:
    """``metric`` read from a binary ranking state: exact from a
    :class:`~losscli.stats.ranking.Ranking`, bounded from a
    :class:`~losscli.stats.ranking.BinnedRanking`; ``costs``: expected_cost's matrix and
    threshold (else ``level``/``cost_fn`` are cost_fp/cost_fn)."""
    if isinstance(state, Ranking):
        if state.counts is not None:
            cnt = state.counts.compact()
            return read(curve_of(cnt.keys, cnt.neg, cnt.pos), metric, level, cost_fn, costs)
        ints = state.sums.ints()
        return read(curve_of(state.sums.keys, ints[:, 0], ints[:, 1]), metric, level, cost_fn,
                    costs)
    ints = state.sums.ints()
    width = (state.high - state.low) / state.bins

    def edge(b: int) -> float:
        if b <= 0:
            return -math.inf
        if b >= state.bins:
            return math.inf
        e = state.low + b * width
        if state.transform == "sigmoid":  # back to the logit the rows were given in
            return math.log(e) - math.log1p(-e) if 0.0 < e < 1.0 else math.copysign(
                math.inf, e - 0.5)
        return e

    c = curve_of(state.sums.keys, ints[:, 0], ints[:, 1])
    return binned(c, metric, level, cost_fn, edge, lambda b: edge(b + 1), costs)
