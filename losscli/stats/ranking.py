"""ROC-AUC and average precision, streamed: exact per-score state or bounded bins.

**Exact mode** (:class:`Ranking`): per distinct score s, the positive weight pos(s) and the
negative weight neg(s), in a :class:`~losscli.stats.keyed.KeyedSums` (integers when
unweighted, exact sums of the float weights otherwise), so merging is a union of sorted
score arrays with per-score sums added exactly, and the state is a function of the multiset
of (score, label, weight) rows only — any chunking, merge order or tree gives the same bits.
With P = Σpos, N = Σneg and scores visited in decreasing order (cumulative TP_k, FP_k
including score k)::

    AUC = Σ_s pos(s)·(N_below(s) + neg(s)/2) / (P·N)        (ties count ½: the trapezoid)
    AP  = Σ_k (TP_k − TP_{k−1})/P · TP_k/(TP_k + FP_k)        (a step per distinct score)

— sklearn's ``roc_auc_score`` and ``average_precision_score`` (with ``sample_weight``),
matched to 1e-12 (the results are computed in float64 from the exact state, so they are
deterministic too). Rows with weight 0 are dropped, as sklearn's ``_binary_clf_curve`` does.

Memory: one entry per distinct score — for float64 scores up to one per row: 8 B of key +
8 B per channel per limb, i.e. 24 B per distinct score unweighted and 40 B with float
weights (two limbs); 10**6 distinct scores ≈ 24–40 MB, 10**8 ≈ 2.4–4 GB. Use the bounded
mode for large data. Cost (CI machine, 10**6 rows of distinct scores): update ~0.3–0.5 s
(the sort of the scores dominates), AUC + AP from the state ~0.05 s; bounded mode: update
0.08 s per 10**6 rows.

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
from losscli.stats.keyed import KeyedSums


@dataclass(frozen=True)
class Score:
    """A ranking metric: ``value`` (NaN when undefined, with ``reason``) and, in the bounded
    mode, the interval [low, high] that surely contains the exact value."""

    value: float
    low: float = math.nan
    high: float = math.nan
    reason: str | None = None


def _rows(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray | None
          ) -> tuple[np.ndarray, np.ndarray]:
    """Validated (scores, (n, 2) values [negative weight, positive weight]) of the rows with
    positive weight."""
    s = np.asarray(scores, dtype=np.float64).ravel()
    y = np.asarray(labels).ravel()
    if y.shape != s.shape:
        raise ValueError(f"labels: expected shape {s.shape}, got {y.shape}")
    if np.isnan(s).any():
        raise ValueError("scores: NaN scores cannot be ranked; drop them first")
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError("labels: NaN labels; drop them first")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels: expected 0/1 (or boolean) labels; map the positive class to 1")
    pos = y.astype(bool)
    if weights is None:
        w = np.ones(s.shape[0])
    else:
        w = np.asarray(weights, dtype=np.float64).ravel()
        if w.shape != s.shape:
            raise ValueError(f"weights: expected shape {s.shape}, got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ValueError("weights: expected finite weights ≥ 0")
        keep = w > 0
        s, pos, w = s[keep], pos[keep], w[keep]
    values = np.zeros((s.shape[0], 2))
    values[~pos, 0] = w[~pos]
    values[pos, 1] = w[pos]
    return s, values


def _auc_ap(neg: np.ndarray, pos: np.ndarray, n_total: float, p_total: float
            ) -> tuple[float, float, str | None, str | None]:
    """AUC and AP from per-score weights in *increasing* score order."""
    auc_reason = ap_reason = None
    if p_total <= 0 or n_total <= 0:
        auc_reason = ("only negative rows: ROC AUC is undefined" if p_total <= 0 else
                      "only positive rows: ROC AUC is undefined")
    if p_total <= 0:
        ap_reason = "no positive row: average precision is undefined"
    auc = ap = math.nan
    if auc_reason is None:
        # in units of P and N: no overflow for huge weights
        pn, nn = pos / p_total, neg / n_total
        neg_below = np.cumsum(nn) - nn
        auc = float(np.sum(pn * (neg_below + 0.5 * nn)))
    if ap_reason is None:
        tp = np.cumsum(pos[::-1])
        fp = np.cumsum(neg[::-1])
        ap = float(np.sum(pos[::-1] / p_total * (tp / (tp + fp))))
    return auc, ap, auc_reason, ap_reason


class Ranking:
    """Exact streamed ROC-AUC and average precision of a binary score (see the module doc).

    ``update(scores, labels, weights=None)``: scores (n,) float (NaN refused; -0.0 is 0.0),
    labels (n,) 0/1 or bool, weights (n,) ≥ 0 or None. ``roc_auc()``, ``average_precision()``
    return a :class:`Score`."""

    kind = "ranking"

    def __init__(self) -> None:
        self.rows = 0
        self.sums = KeyedSums(2, "float")

    def update(self, scores: np.ndarray, labels: np.ndarray,
               weights: np.ndarray | None = None) -> None:
        s, values = _rows(scores, labels, weights)
        self.rows += int(np.asarray(labels).size)
        self.sums.add(s, values)

    def merge(self, other: Ranking) -> Ranking:
        self.rows += other.rows
        self.sums.merge(other.sums)
        return self

    @property
    def distinct_scores(self) -> int:
        return len(self.sums)

    def _totals(self) -> tuple[float, float]:
        n_total, p_total = self.sums.totals()
        return fraction_to_float(n_total), fraction_to_float(p_total)

    def roc_auc(self) -> Score:
        """Area under the ROC curve (sklearn ``roc_auc_score``), exact per-score state."""
        f = self.sums.floats()
        auc, _, reason, _ = _auc_ap(f[:, 0], f[:, 1], *self._totals())
        return Score(auc, auc, auc, reason)

    def average_precision(self) -> Score:
        """Σ_k (R_k − R_{k−1})·P_k (sklearn ``average_precision_score``)."""
        f = self.sums.floats()
        _, ap, _, reason = _auc_ap(f[:, 0], f[:, 1], *self._totals())
        return Score(ap, ap, ap, reason)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "rows": self.rows, "sums": self.sums.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Ranking:
        from losscli.stats.fields import Fields

        f = Fields(data)

        f.text("kind", choices=(cls.kind,))
        out = cls()
        out.rows = f.count("rows")
        out.sums = f.part("sums", KeyedSums.from_dict)
        return out

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.to_dict() == other.to_dict()  # type: ignore[attr-defined]


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
        from losscli.stats.fields import Fields, nested

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


class OneVsRest:
    """One-vs-rest ROC-AUC / AP for C classes: one :class:`Ranking` (or, with ``bins``, one
    :class:`BinnedRanking`) per class. ``update(scores (n, C), labels (n,) in 0..C−1,
    weights)``. ``roc_auc(average)`` and ``average_precision(average)`` with ``average`` in
    ``"macro"`` (mean of the defined per-class values) or ``"weighted"`` (by each class's
    positive weight) or None (the per-class list)."""

    kind = "one_vs_rest"

    def __init__(self, classes: int, bins: int | None = None, **binned: Any) -> None:
        if classes < 2:
            raise ValueError(f"classes: expected ≥ 2, got {classes}")
        self.classes = int(classes)
        self.bins = bins
        self.per_class: list[Ranking | BinnedRanking] = [
            Ranking() if bins is None else BinnedRanking(bins, **binned) for _ in range(classes)]

    def update(self, scores: np.ndarray, labels: np.ndarray,
               weights: np.ndarray | None = None) -> None:
        s = np.asarray(scores, dtype=np.float64)
        y = np.asarray(labels).ravel()
        if s.ndim != 2 or s.shape != (y.shape[0], self.classes):
            raise ValueError(f"scores: expected shape ({y.shape[0]}, {self.classes}), got {s.shape}")
        if not np.isin(y, np.arange(self.classes)).all():
            raise ValueError(f"labels: expected class indices 0..{self.classes - 1}")
        for c, state in enumerate(self.per_class):
            state.update(s[:, c], y == c, weights)

    def merge(self, other: OneVsRest) -> OneVsRest:
        if other.classes != self.classes:
            raise ValueError("cannot merge one-vs-rest states of different class counts")
        for mine, theirs in zip(self.per_class, other.per_class):
            mine.merge(theirs)  # type: ignore[arg-type]
        return self

    def _average(self, scores: list[Score], average: str | None) -> Score | list[Score]:
        if average is None:
            return scores
        if average not in ("macro", "weighted"):
            raise ValueError(f"average: expected 'macro', 'weighted' or None, got {average!r}")
        ok = [i for i, s in enumerate(scores) if s.reason is None]
        undefined = [i for i, s in enumerate(scores) if s.reason is not None]
        reason = (f"classes {undefined} have an undefined value and are left out"
                  if undefined else None)
        if not ok:
            return Score(math.nan, reason="no class has a defined value")
        if average == "macro":
            w = np.ones(len(ok))
        else:
            w = np.array([fraction_to_float(self.per_class[i].sums.totals()[1]) for i in ok])
        vals = [np.array([getattr(scores[i], f) for i in ok]) for f in ("value", "low", "high")]
        v, lo, hi = (float(np.sum(w * x) / np.sum(w)) for x in vals)
        return Score(v, lo, hi, reason)

    def roc_auc(self, average: str | None = "macro") -> Score | list[Score]:
        return self._average([s.roc_auc() for s in self.per_class], average)

    def average_precision(self, average: str | None = "macro") -> Score | list[Score]:
        return self._average([s.average_precision() for s in self.per_class], average)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "classes": self.classes,
                "per_class": [s.to_dict() for s in self.per_class]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OneVsRest:
        from losscli.stats.fields import Fields, check

        f = Fields(data)

        f.text("kind", choices=(cls.kind,))
        out = cls(f.count("classes", lo=2, hi=1 << 20))
        per_class = f.items("per_class", length=out.classes)
        binned = isinstance(per_class[0], dict) and per_class[0].get("kind") == BinnedRanking.kind
        reader = BinnedRanking if binned else Ranking
        out.per_class = f.each("per_class", reader.from_dict)  # type: ignore[attr-defined]
        check(all(s.kind == reader.kind for s in out.per_class), "per_class", "mixed kinds")
        if binned:
            out.bins = out.per_class[0].bins  # type: ignore[union-attr]
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OneVsRest) and self.to_dict() == other.to_dict()
