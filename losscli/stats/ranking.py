"""ROC-AUC and average precision, streamed: exact per-score state or bounded bins.

**Exact mode** (:class:`Ranking`): each class's scores, sorted, with integer counts only where
scores repeat (:class:`~losscli.stats.score_counts.ScoreCounts`: 8 B a row of distinct
scores) while every weight is a whole number (no weights, or integer weights) — the counts
of negative rows neg(s) and positive rows pos(s) at each distinct score s, in effect;
the first fractional weight turns the state
into exact per-score sums of the float weights (:class:`~losscli.stats.keyed.KeyedSums`).
Merging adds integers (or exact sums), so the state is a function of the multiset of
(score, label, weight) rows only — any chunking, merge order or tree gives the same bits.
With P = Σpos, N = Σneg and scores visited in decreasing order (cumulative TP_k, FP_k
including score k)::

    AUC = Σ_s pos(s)·(2·N_below(s) + neg(s)) / (2·P·N)      (ties count ½: the trapezoid)
    AP  = Σ_k (TP_k − TP_{k−1})/P · TP_k/(TP_k + FP_k)        (a step per distinct score)

The AUC's numerator and denominator are integers (int64, Python ints past 2**62), divided
once: the result is the float64 nearest the exact AUC — sklearn's ``roc_auc_score`` to the
last bit wherever sklearn's own float trapezoid rounds right, within an ulp where it does
not. AP is summed in float64 from the exact cumulative counts (sklearn's
``average_precision_score`` to 1e-12). Rows with weight 0 are dropped, as sklearn's
``_binary_clf_curve`` does.

Memory: 8 B per distinct score (16 B per distinct (score, class) pair of tied scores),
and a merge holds a few MB more, measured by ``tests/test_auc_memory.py``; 10**7 distinct
scores ≈ 80 MB (the whole ``losscli eval --loss roc_auc`` process on 10**7 distinct scores:
~390 MB peak, of which ~240 MB is the same scan computing brier). The AUC and DeLong's
variance are read from the sorted runs (no per-score table); average precision and the
operating points build the table (24 B a distinct score) when asked. With fractional
weights 8 B of key + 8 B per channel per limb (≥ 40 B). Use the bounded mode for larger
data. Cost (2-core machine, 10**7 rows of distinct scores): update ~1.5 s (two sorts per
chunk and the merges), AUC ~0.2 s, DeLong ~0.7 s from the state.

**Bounded mode** (:class:`BinnedRanking`): ``bins`` equal-width bins over [low, high] of the
score (or of sigmoid(score) for logits, ``transform="sigmoid"``); scores outside the range go
to the edge bins. The same formulas treat each bin as one tied score, and the pairs that
share a bin bound the error::

    |AUC − AUC_binned| ≤ ½·Σ_b pos_b·neg_b / (P·N)

For AP the bound is the best and worst order inside every bin: positives first gives at most
pos_b·(T + pos_b)/(T + F + pos_b) per bin, negatives first at least the integral
pos_b − (D − T)·ln(1 + pos_b/D), D = T + F + neg_b (T, F: weights of the higher bins).
Memory: 8 B × (1 + 2·limbs) per bin.

**Undefined cases.** With one class only, AUC is undefined (0/0): the result is NaN and
``reason`` says why (sklearn 1.9 also returns NaN with an ``UndefinedMetricWarning``; older
versions raise). AP without positives is NaN here too (sklearn returns 0.0 with a warning,
having set recall to 1); AP without negatives is 1.0, as in sklearn.

**DeLong's standard error** (DeLong, DeLong & Clarke-Pearson 1988, Biometrics 44:837):
the structural components are per score too — a positive at score s has
V10(s) = (N_below(s) + ½·neg(s))/N, a negative V01(s) = (P_above(s) + ½·pos(s))/P — so
from the same counts (:func:`delong_se`; the exact mode sums the same terms as integers,
:meth:`~losscli.stats.score_counts.ScoreCounts.delong_variance`)::

    S10 = Σ_s pos(s)·(V10(s) − AUC)² / (P − 1),  S01 = Σ_s neg(s)·(V01(s) − AUC)² / (N − 1)
    SE(AUC) = √(S10/P + S01/N)

(integer weights are row counts; fractional weights are used as frequencies). Computed as
exact integer sums in the exact mode (float64 from the canonical state for weighted sums and
bins), so it is as bit-identical across chunkings and merges as the AUC. No extra state:
the interval costs two passes over the scores.

Multi-class one-vs-rest (:class:`OneVsRest`): one state per class, class c's score against
label == c; ``macro`` averages the defined per-class values, ``weighted`` weights them by
the class's positive weight (sklearn ``multi_class="ovr"``, ``average="macro"/"weighted"``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli.stats.exact import float_to_json, fraction_to_float
from losscli.stats.fields import Fields, nested
from losscli.stats.keyed import KeyedSums
from losscli.stats.score_counts import ScoreCounts, auc_fraction


@dataclass(frozen=True)
class Score:
    """A ranking metric: ``value`` (NaN when undefined, with ``reason``) and, in the bounded
    mode, the interval [low, high] that surely contains the exact value."""

    value: float
    low: float = math.nan
    high: float = math.nan
    reason: str | None = None


def delong_se(neg: Any, pos: Any) -> tuple[float, str | None]:
    """DeLong's standard error of the AUC from per-score negative and positive counts (or
    weights) in increasing score order (see the module doc), and why it is undefined (NaN:
    fewer than two positives or two negatives)."""
    n = np.asarray(neg, dtype=np.float64)
    p = np.asarray(pos, dtype=np.float64)
    n_total, p_total = float(np.sum(n)), float(np.sum(p))
    if not (n_total > 1.0 and p_total > 1.0):
        return math.nan, (f"DeLong's variance needs at least 2 positives and 2 negatives "
                          f"(got {p_total:g} and {n_total:g})")
    below = np.cumsum(n) - n
    above = p_total - np.cumsum(p)
    v10 = (below + 0.5 * n) / n_total
    v01 = (above + 0.5 * p) / p_total
    auc = float(np.sum(p * v10)) / p_total
    s10 = float(np.sum(p * (v10 - auc) ** 2)) / (p_total - 1.0)
    s01 = float(np.sum(n * (v01 - auc) ** 2)) / (n_total - 1.0)
    return math.sqrt(max(s10 / p_total + s01 / n_total, 0.0)), None


def _rows(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Validated (scores, (n, 2) values [negative weight, positive weight]) of the rows with
    positive weight."""
    s, pos, w = checked_rows(scores, labels, weights)
    if w is None:
        w = np.ones(s.shape[0])
    values = np.zeros((s.shape[0], 2))
    values[~pos, 0] = w[~pos]
    values[pos, 1] = w[pos]
    return s, values


def _auc_ap(neg: np.ndarray, pos: np.ndarray, n_total: float, p_total: float
            ) -> tuple[float, float, str | None, str | None]:
    """AUC and AP from per-score weights in *increasing* score order (floats: the binned
    mode's bins)."""
    auc_reason, ap_reason = undefined_reasons(n_total, p_total)
    auc = ap = math.nan
    if auc_reason is None:
        # in units of P and N: no overflow for huge weights
        pn, nn = pos / p_total, neg / n_total
        neg_below = np.cumsum(nn) - nn
        auc = float(np.sum(pn * (neg_below + 0.5 * nn)))
    if ap_reason is None:
        ap = _ap(neg, pos, p_total)
    return auc, ap, auc_reason, ap_reason


def undefined_reasons(n_total: float, p_total: float) -> tuple[str | None, str | None]:
    auc_reason = ap_reason = None
    if p_total <= 0 or n_total <= 0:
        auc_reason = ("only negative rows: ROC AUC is undefined" if p_total <= 0 else
                      "only positive rows: ROC AUC is undefined")
    if p_total <= 0:
        ap_reason = "no positive row: average precision is undefined"
    return auc_reason, ap_reason


def _ap(neg: np.ndarray, pos: np.ndarray, p_total: float) -> float:
    """Σ_k pos_k/P · TP_k/(TP_k + FP_k), scores visited in decreasing order (cumulative
    counts exact when ``neg``/``pos`` are integers)."""
    tp = np.cumsum(pos[::-1])
    fp = np.cumsum(neg[::-1])
    return float(np.sum(pos[::-1] / p_total * (tp / (tp + fp))))


#: Integer weights up to this are counts (exact in int64 and in a chunk's float bincount).
_MAX_COUNT_WEIGHT = float(1 << 31)
#: Rows × weight the count mode holds before it turns to exact float sums (int64 headroom).
_MAX_COUNTED = 1 << 61


class Ranking:
    """Exact streamed ROC-AUC and average precision of a binary score (see the module doc).

    ``update(scores, labels, weights=None)``: scores (n,) float (NaN refused; -0.0 is 0.0),
    labels (n,) 0/1 or bool, weights (n,) ≥ 0 or None. ``roc_auc()``, ``average_precision()``
    return a :class:`Score`.

    The state is each class's sorted scores (:class:`ScoreCounts`, 8 B a distinct score)
    while every weight is a whole number (none given, or integer weights); the first
    fractional weight turns it into exact float sums (:class:`KeyedSums`). Either way the
    AUC is the correctly rounded exact value."""

    kind = "ranking"

    def __init__(self) -> None:
        self.rows = 0
        self.counts: ScoreCounts | None = ScoreCounts()
        self._sums: KeyedSums | None = None

    @property
    def sums(self) -> KeyedSums:
        """The exact per-score sums (the counts turned into sums if need be)."""
        self._to_sums()
        assert self._sums is not None
        return self._sums

    def _to_sums(self) -> None:
        if self.counts is None:
            return
        sums = KeyedSums(2, "float")
        keys, neg, pos = self.counts.table()
        if keys.size:
            values = np.stack([neg, pos], axis=1).astype(np.float64)  # < 2**53: exact
            sums.add(keys, values)
        self._sums, self.counts = sums, None

    def update(self, scores: np.ndarray, labels: np.ndarray,
               weights: np.ndarray | None = None) -> None:
        self.rows += int(np.asarray(labels).size)
        if self.counts is not None:
            s, pos, w = checked_rows(scores, labels, weights)
            if w is None:
                if self.counts.total() + s.shape[0] < _MAX_COUNTED:
                    self.counts.add(s, pos)
                    return
            elif (w <= _MAX_COUNT_WEIGHT).all() and (w == np.floor(w)).all():
                if self.counts.total() + float(np.sum(w)) < _MAX_COUNTED:
                    self.counts.add(s, pos, w.astype(np.int64))
                    return
            self._to_sums()
        s, values = _rows(scores, labels, weights)
        self.sums.add(s, values)

    def merge(self, other: Ranking) -> Ranking:
        self.rows += other.rows
        if self.counts is not None and other.counts is not None:
            if self.counts.total() + other.counts.total() < _MAX_COUNTED:
                self.counts.merge(other.counts)
                return self
        theirs = other.sums if other.counts is None else _as_sums(other.counts)
        self.sums.merge(theirs)
        return self

    @property
    def distinct_scores(self) -> int:
        return len(self.counts) if self.counts is not None else len(self.sums)

    @property
    def nbytes(self) -> int:
        """Bytes the state holds (24 per distinct score while it counts)."""
        return self.counts.nbytes if self.counts is not None else self.sums.nbytes

    def positive_weight(self) -> float:
        if self.counts is not None:
            return float(self.counts.totals()[1])
        return fraction_to_float(self.sums.totals()[1])

    def roc_auc(self) -> Score:
        """Area under the ROC curve (sklearn ``roc_auc_score``): the exact rational from the
        integer state, correctly rounded."""
        if self.counts is not None:
            n_count, p_count = self.counts.totals()
            reason = undefined_reasons(n_count, p_count)[0]
            frac = None if reason is not None else self.counts.auc_fraction()
        else:
            n_sum, p_sum = self.sums.totals()
            reason = undefined_reasons(fraction_to_float(n_sum), fraction_to_float(p_sum))[0]
            ints = None if reason is not None else self.sums.ints()
            frac = None if ints is None else auc_fraction(ints[:, 0], ints[:, 1])
        if reason is not None:
            return Score(math.nan, math.nan, math.nan, reason)
        auc = math.nan if frac is None else fraction_to_float(frac)
        return Score(auc, auc, auc, None)

    def roc_auc_se(self) -> tuple[Score, float, str | None]:
        """The AUC, DeLong's standard error (:func:`delong_se`) and why it is undefined."""
        score = self.roc_auc()
        if score.reason is not None:
            return score, math.nan, score.reason
        if self.counts is not None:
            n_count, p_count = self.counts.totals()
            if n_count > 1 and p_count > 1:  # exact, from the runs: no per-score table
                return score, math.sqrt(max(float(self.counts.delong_variance()), 0.0)), None
            return (score, *delong_se(np.array([n_count]), np.array([p_count])))
        f = self.sums.floats()
        return (score, *delong_se(f[:, 0], f[:, 1]))

    def average_precision(self) -> Score:
        """Σ_k (R_k − R_{k−1})·P_k (sklearn ``average_precision_score``)."""
        if self.counts is not None:
            n_total, p_total = self.counts.totals()
            reason = undefined_reasons(n_total, p_total)[1]
            if reason:
                return Score(math.nan, math.nan, math.nan, reason)
            _, neg, pos = self.counts.table()
            ap = _ap(neg, pos, float(p_total))
            return Score(ap, ap, ap, reason)
        f = self.sums.floats()
        n_t, p_t = (fraction_to_float(x) for x in self.sums.totals())
        _, ap, _, reason = _auc_ap(f[:, 0], f[:, 1], n_t, p_t)
        return Score(ap, ap, ap, reason)

    def to_dict(self) -> dict[str, Any]:
        if self.counts is not None:
            return {"kind": self.kind, "rows": self.rows, "counts": self.counts.to_dict()}
        return {"kind": self.kind, "rows": self.rows, "sums": self.sums.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ranking:
        f = Fields(data)

        f.text("kind", choices=(cls.kind,))
        out = cls()
        out.rows = f.count("rows")
        if f.has("counts"):
            out.counts = f.part("counts", ScoreCounts.from_dict)
        else:
            out._sums = f.part("sums", KeyedSums.from_dict)
            out.counts = None
        return out

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]


def _as_sums(counts: ScoreCounts) -> KeyedSums:
    r = Ranking()
    r.counts = counts.copy()
    return r.sums


def checked_rows(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Validated (scores, positive mask, weights or None) of the rows with positive weight."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels: expected shape {s.shape}, got {y.shape}")
    if np.isnan(s).any():
        raise ValueError("scores: NaN scores cannot be ranked; drop them first")
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError("labels: NaN labels; drop them first")
    if y.dtype != np.bool_ and not np.isin(y, (0, 1)).all():
        raise ValueError("labels: expected 0/1 (or boolean) labels; map the positive class to 1")
    pos = y.astype(bool)
    if weights is None:
        return s, pos, None
    w = np.asarray(weights, dtype=np.float64).ravel()
    if w.shape != s.shape:
        raise ValueError(f"weights: expected shape {s.shape}, got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights: expected finite weights ≥ 0")
    keep = w > 0
    return s[keep], pos[keep], w[keep]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # exp of −|x| only: no overflow for large logits
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


class BinnedRanking:
    """Bounded-memory ROC-AUC and AP: ``bins`` equal-width bins over [low, high] (after the
    ``transform``: None, or ``"sigmoid"`` for logits); each result comes with a guaranteed
    [low, high] (see the module doc). Bin of s: ⌊(s − low)/(high − low)·bins⌋ clipped to
    [0, bins − 1], so ``high`` itself is in the last bin."""

    kind = "binned_ranking"

    def __init__(self, bins: int = 1000, low: float = 0.0, high: float = 1.0,
                 transform: str | None = None) -> None:
        if bins < 1:
            raise ValueError(f"bins: expected ≥ 1, got {bins}")
        if not low < high:
            raise ValueError(f"range: expected low < high, got [{low}, {high}]")
        if transform not in (None, "sigmoid"):
            raise ValueError(f"transform: expected None or 'sigmoid', got {transform!r}")
        self.bins, self.low, self.high, self.transform = int(bins), float(low), float(high), transform
        self.rows = 0
        self.sums = KeyedSums(2, "int")

    def _bin(self, s: np.ndarray) -> np.ndarray:
        if self.transform == "sigmoid":
            s = _sigmoid(s)
        pos = np.floor((s - self.low) / (self.high - self.low) * self.bins)
        return np.clip(pos, 0, self.bins - 1).astype(np.int64)

    def update(self, scores: np.ndarray, labels: np.ndarray,
               weights: np.ndarray | None = None) -> None:
        s, values = _rows(scores, labels, weights)
        self.rows += int(np.asarray(labels).size)
        self.sums.add(self._bin(s), values)

    def merge(self, other: BinnedRanking) -> BinnedRanking:
        if (other.bins, other.low, other.high, other.transform) != (
                self.bins, self.low, self.high, self.transform):
            raise ValueError("cannot merge binned rankings with different bins")
        self.rows += other.rows
        self.sums.merge(other.sums)
        return self

    def positive_weight(self) -> float:
        return fraction_to_float(self.sums.totals()[1])

    def _weights(self) -> tuple[np.ndarray, np.ndarray, float, float]:
        f = self.sums.floats()
        n_total, p_total = self.sums.totals()
        return f[:, 0], f[:, 1], fraction_to_float(n_total), fraction_to_float(p_total)

    def roc_auc(self) -> Score:
        """AUC with ties within a bin counted ½, and [value ∓ ½·Σ pos_b·neg_b/(P·N)]."""
        neg, pos, n_total, p_total = self._weights()
        auc, _, reason, _ = _auc_ap(neg, pos, n_total, p_total)
        if reason:
            return Score(auc, reason=reason)
        slack = 0.5 * float(np.sum(pos * neg)) / (p_total * n_total)
        return Score(auc, max(auc - slack, 0.0), min(auc + slack, 1.0))

    def roc_auc_se(self) -> tuple[Score, float, str | None]:
        """The binned AUC (with its bound), DeLong's standard error of the binned AUC (each
        bin one tied score) and why it is undefined."""
        score = self.roc_auc()
        if score.reason is not None:
            return score, math.nan, score.reason
        neg, pos, _, _ = self._weights()
        return (score, *delong_se(neg, pos))

    def average_precision(self) -> Score:
        """AP with each bin one tied score, and the best/worst in-bin orders as bounds."""
        neg, pos, n_total, p_total = self._weights()
        _, ap, _, reason = _auc_ap(neg, pos, n_total, p_total)
        if reason:
            return Score(ap, reason=reason)
        p, n = pos[::-1], neg[::-1]  # decreasing score
        t_before = np.cumsum(p) - p
        f_before = np.cumsum(n) - n
        upper = np.where(p > 0, p * (t_before + p) / np.maximum(t_before + f_before + p, 1e-300),
                         0.0)
        d = t_before + f_before + n
        with np.errstate(divide="ignore", invalid="ignore"):
            lower = np.where(d > 0, p - (d - t_before) * np.log1p(p / np.where(d > 0, d, 1.0)), p)
        lo = float(np.sum(np.maximum(lower, 0.0))) / p_total
        hi = float(np.sum(upper)) / p_total
        return Score(ap, min(lo, ap), min(max(hi, ap), 1.0))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "bins": self.bins, "low": float_to_json(self.low),
                "high": float_to_json(self.high), "transform": self.transform,
                "rows": self.rows, "sums": self.sums.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BinnedRanking:
        f = Fields(data)

        f.text("kind", choices=(cls.kind,))
        transform = f.raw("transform")
        out = nested("bins", cls, f.count("bins", lo=1, hi=1 << 24), f.real("low", finite=True),
                     f.real("high", finite=True),
                     None if transform is None else f.text("transform", choices=("sigmoid",)))
        out.rows = f.count("rows")
        out.sums = f.part("sums", KeyedSums.from_dict)
        return out

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]
