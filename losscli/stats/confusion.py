"""A weighted confusion matrix, streamed, and the metrics read from it.

:class:`ConfusionMatrix` keeps M[t, p] = Σ w over rows with true class t and predicted class
p, for C classes, in a :class:`~losscli.stats.keyed.KeyedSums` keyed by t·C + p — integers
when unweighted, exact sums of the float weights otherwise — so merging is exact and the
state depends only on the multiset of rows (any chunking, merge order or tree: the same
bits). Memory: only the cells that occur, 8 B key + 8 B per limb each (≤ C² cells).

From M, with tp_c = M[c, c], pred_c = Σ_t M[t, c], true_c = Σ_p M[c, p], all exact::

    accuracy  = Σ_c tp_c / Σ M                        (sklearn ``accuracy_score``)
    precision = tp_c / pred_c,  recall = tp_c / true_c,
    F_β       = (1 + β²)·tp_c / (β²·true_c + pred_c)  (sklearn ``precision_recall_fscore_support``)

Of the whole matrix: the Matthews correlation (sklearn ``matthews_corrcoef``), balanced
accuracy (``balanced_accuracy_score``), Cohen's kappa (``cohen_kappa_score``), and for
binary data specificity tn/(tn + fp) and the negative predictive value tn/(tn + fn)
(:meth:`ConfusionMatrix.metric`).

``average``: None (per class), ``"binary"`` (the ``pos_label`` class only; at most two classes
may occur), ``"micro"`` (tp, pred, true summed over classes first), ``"macro"`` (unweighted
mean over the classes), ``"weighted"`` (mean weighted by true_c). As in sklearn, the classes
averaged over are those that occur in the true or the predicted labels (a row of weight 0
counts as occurring). Zero division follows sklearn's default (``zero_division="warn"``): the
value is 0.0 and the condition is reported in ``PRF.zero_division`` so the caller can warn.
Ratios are computed in exact rationals and rounded once.

:func:`multilabel_prf`: the same for the L labels of a multi-label task, one 2×2 matrix per
label (sklearn's multi-label ``precision_recall_fscore_support``).

:class:`MultilabelHamming`: the Hamming loss of an (n, L) 0/1 label matrix,
Σ_i w_i·d_i / (L·Σ_i w_i) with d_i the number of labels row i gets wrong (sklearn
``hamming_loss``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from losscli.stats.exact import fraction_to_float
from losscli.stats.fields import Fields, check
from losscli.stats.keyed import KeyedSums, checked_weights

AVERAGES = (None, "binary", "micro", "macro", "weighted")
#: Metrics of the whole matrix (:meth:`ConfusionMatrix.metric`).
MATRIX_METRICS = ("mcc", "balanced_accuracy", "cohen_kappa", "specificity", "npv")


@dataclass(frozen=True)
class PRF:
    """Precision, recall and F_β: floats for an average, arrays (one per ``labels`` entry)
    for ``average=None``; ``support`` (true_c) only per class. ``zero_division`` maps
    "precision" / "recall" / "f-score" to the labels whose value was 0/0 and set to 0.0."""

    precision: Any
    recall: Any
    f: Any
    support: np.ndarray | None
    labels: list[int]
    zero_division: dict[str, list[int]] = field(default_factory=dict)


def _divide(num: Fraction, den: Fraction, name: str, label: int,
            flags: dict[str, list[int]]) -> Fraction:
    if den == 0:
        flags.setdefault(name, []).append(label)
        return Fraction(0)
    return num / den


class ConfusionMatrix:
    """Mergeable weighted confusion matrix of C classes (see the module doc).

    ``update(y_true, y_pred, weights=None)``: integer class indices 0..C−1, shape (n,)."""

    kind = "confusion"

    def __init__(self, classes: int) -> None:
        if classes < 1:
            raise ValueError(f"classes: expected ≥ 1, got {classes}")
        self.classes = int(classes)
        self.rows = 0
        self.sums = KeyedSums(1, "int")

    def update(self, y_true: np.ndarray, y_pred: np.ndarray,
               weights: np.ndarray | None = None) -> None:
        t = np.asarray(y_true).ravel()
        p = np.asarray(y_pred).ravel()
        if t.shape != p.shape:
            raise ValueError(f"y_pred: expected shape {t.shape}, got {p.shape}")
        for name, arr in (("y_true", t), ("y_pred", p)):
            if arr.size and (arr.dtype.kind not in "iub" or arr.min() < 0
                             or arr.max() >= self.classes):
                raise ValueError(f"{name}: expected class indices 0..{self.classes - 1}")
        if t.size == 0:
            return
        self.rows += t.size
        keys = t.astype(np.int64) * self.classes + p.astype(np.int64)
        self.sums.add(keys, checked_weights(weights, t.size))

    def merge(self, other: ConfusionMatrix) -> ConfusionMatrix:
        if other.classes != self.classes:
            raise ValueError("cannot merge confusion matrices of different class counts")
        self.rows += other.rows
        self.sums.merge(other.sums)
        return self

    # -- reading ----------------------------------------------------------------------------
    def cells(self) -> dict[tuple[int, int], Fraction]:
        """The occurring cells (t, p) → exact weight."""
        ints = self.sums.ints()[:, 0].tolist()
        unit = self.sums.unit()
        return {divmod(int(k), self.classes): Fraction(int(u)) * unit
                for k, u in zip(self.sums.keys.tolist(), ints)}

    def matrix(self) -> np.ndarray:
        """(C, C) float64: M[t, p], each correctly rounded."""
        out = np.zeros((self.classes, self.classes))
        for (t, p), v in self.cells().items():
            out[t, p] = fraction_to_float(v)
        return out

    def labels(self) -> list[int]:
        """Classes that occur as a true or a predicted label (sorted)."""
        return sorted({c for cell in self.cells() for c in cell})

    def _sums(self) -> tuple[dict[int, Fraction], dict[int, Fraction], dict[int, Fraction],
                             Fraction]:
        tp: dict[int, Fraction] = {}
        pred: dict[int, Fraction] = {}
        true: dict[int, Fraction] = {}
        total = Fraction(0)
        for (t, p), v in self.cells().items():
            total += v
            pred[p] = pred.get(p, Fraction(0)) + v
            true[t] = true.get(t, Fraction(0)) + v
            if t == p:
                tp[t] = tp.get(t, Fraction(0)) + v
        return tp, pred, true, total

    def accuracy(self) -> float:
        """Σ_c M[c, c] / Σ M (NaN when the weights sum to 0)."""
        tp, _, _, total = self._sums()
        return fraction_to_float(sum(tp.values(), Fraction(0)) / total) if total else math.nan

    def hamming_loss(self) -> float:
        """1 − accuracy: the share of wrong labels (sklearn ``hamming_loss``, multiclass)."""
        tp, _, _, total = self._sums()
        return fraction_to_float(1 - sum(tp.values(), Fraction(0)) / total) if total else math.nan

    def precision_recall_f(self, average: str | None = None, pos_label: int = 1,
                           beta: float = 1.0) -> PRF:
        """Precision, recall and F_β (see the module doc; sklearn
        ``precision_recall_fscore_support`` with its default ``zero_division``)."""
        if average not in AVERAGES:
            raise ValueError(f"average: expected one of {AVERAGES}, got {average!r}")
        if not beta >= 0:
            raise ValueError(f"beta: expected ≥ 0, got {beta}")
        tp, pred, true, _ = self._sums()
        labels = self.labels()
        if average == "binary":
            if len(labels) > 2:
                raise ValueError(f"average='binary' needs at most 2 classes, but {labels} occur; "
                                 "choose 'micro', 'macro' or 'weighted'")
            if not 0 <= pos_label < self.classes:
                raise ValueError(f"pos_label: expected a class 0..{self.classes - 1}, "
                                 f"got {pos_label}")
            labels = [pos_label]
        zero = Fraction(0)
        flags: dict[str, list[int]] = {}
        b2 = Fraction(beta) ** 2

        def prf(t: Fraction, pr: Fraction, tr: Fraction, label: int) -> tuple[Fraction, ...]:
            p = _divide(t, pr, "precision", label, flags)
            r = _divide(t, tr, "recall", label, flags)
            if math.isinf(beta):
                f = r
            elif beta == 0:
                f = p
            else:
                f = _divide((1 + b2) * t, b2 * tr + pr, "f-score", label, flags)
            return p, r, f

        if average == "micro":
            t = sum((tp.get(c, zero) for c in labels), zero)
            pr = sum((pred.get(c, zero) for c in labels), zero)
            tr = sum((true.get(c, zero) for c in labels), zero)
            p, r, f = prf(t, pr, tr, -1)
            return PRF(fraction_to_float(p), fraction_to_float(r), fraction_to_float(f), None,
                       labels, flags)
        per = [prf(tp.get(c, zero), pred.get(c, zero), true.get(c, zero), c) for c in labels]
        support = [true.get(c, zero) for c in labels]
        if average is None:
            cols = [np.array([fraction_to_float(x[i]) for x in per]) for i in range(3)]
            return PRF(cols[0], cols[1], cols[2],
                       np.array([fraction_to_float(s) for s in support]), labels, flags)
        if not per:
            return PRF(math.nan, math.nan, math.nan, None, labels, flags)
        weights = ([Fraction(1)] * len(per) if average != "weighted" or sum(support) == 0
                   else support)  # all-zero support: a plain mean, as sklearn's _nanaverage
        wsum = sum(weights, zero)
        avg = [fraction_to_float(sum((w * x[i] for w, x in zip(weights, per)), zero) / wsum)
               for i in range(3)]
        return PRF(avg[0], avg[1], avg[2], None, labels, flags)

    # -- metrics of the whole matrix (issue 23) ------------------------------------------
    def matthews(self) -> float:
        """Matthews correlation coefficient (sklearn ``matthews_corrcoef``; Gorodkin's
        multi-class R_K): with t_c, p_c the true and predicted totals, s the diagonal sum
        and n the total, (s·n − Σ t_c·p_c) / √((n² − Σ p_c²)·(n² − Σ t_c²)); 0.0 when
        either factor is 0. The square is exact, rounded once, then its root taken."""
        tp, pred, true, n = self._sums()
        zero = Fraction(0)
        s = sum(tp.values(), zero)
        cov_tp = s * n - sum((true[c] * pred.get(c, zero) for c in true), zero)
        cov_pp = n * n - sum((v * v for v in pred.values()), zero)
        cov_tt = n * n - sum((v * v for v in true.values()), zero)
        if cov_pp * cov_tt == 0:
            return 0.0
        r = math.sqrt(fraction_to_float(cov_tp * cov_tp / (cov_pp * cov_tt)))
        return -r if cov_tp < 0 else r

    def balanced_accuracy(self, adjusted: bool = False) -> float:
        """The mean recall over the classes with a true weight > 0 (sklearn
        ``balanced_accuracy_score``); ``adjusted``: rescaled so that chance is 0 and a
        perfect score 1, (b − 1/K)/(1 − 1/K) for K such classes."""
        tp, _, true, _ = self._sums()
        recalls = [tp.get(c, Fraction(0)) / t for c, t in true.items() if t]
        if not recalls:
            return math.nan
        score = sum(recalls, Fraction(0)) / len(recalls)
        if not adjusted:
            return fraction_to_float(score)
        chance = Fraction(1, len(recalls))
        if chance == 1:  # one class: 0/0 or x/0, as numpy divides
            return math.nan if score == 1 else -math.inf
        return fraction_to_float((score - chance) / (1 - chance))

    def cohen_kappa(self, weights: str | None = None) -> float:
        """Cohen's kappa of the true and predicted labels (sklearn ``cohen_kappa_score``
        with ``labels=range(C)``): 1 − Σ w_ij·M_ij / Σ w_ij·E_ij, E_ij = t_i·p_j / n, with
        disagreement weights w_ij = [i ≠ j] (None), |i − j| (``linear``) or (i − j)²
        (``quadratic``) between class indices. NaN when Σ w·E is 0 (one class only)."""
        if weights not in (None, "linear", "quadratic"):
            raise ValueError(f"weights: expected None, 'linear' or 'quadratic', got {weights!r}")

        def w(i: int, j: int) -> int:
            d = abs(i - j)
            return d if weights == "linear" else d * d if weights == "quadratic" else int(d > 0)

        _, pred, true, n = self._sums()
        observed = sum((v * w(t, p) for (t, p), v in self.cells().items()), Fraction(0))
        expected = sum((ti * pj * w(i, j) for i, ti in true.items() for j, pj in pred.items()),
                       Fraction(0))
        if expected == 0:
            return math.nan if observed == 0 else -math.inf
        return fraction_to_float(1 - n * observed / expected)

    def specificity(self) -> float:
        """Binary: tn / (tn + fp), the recall of class 0 (sklearn ``recall_score`` with
        ``pos_label`` the negative label); 0.0 when no row is negative (sklearn's default
        zero_division)."""
        return float(self.precision_recall_f("binary", pos_label=0).recall)

    def npv(self) -> float:
        """Binary: tn / (tn + fn), the negative predictive value — the precision of class 0
        (sklearn ``precision_score`` with ``pos_label`` the negative label); 0.0 when no row
        is predicted negative."""
        return float(self.precision_recall_f("binary", pos_label=0).precision)

    def metric(self, name: str, option: str = "") -> float:
        """One of :data:`MATRIX_METRICS` by name; ``option``: ``adjusted`` (balanced
        accuracy), ``linear`` or ``quadratic`` (kappa's weights)."""
        if name == "mcc":
            return self.matthews()
        if name == "balanced_accuracy":
            return self.balanced_accuracy(option == "adjusted")
        if name == "cohen_kappa":
            return self.cohen_kappa(option or None)
        if name == "specificity":
            return self.specificity()
        if name == "npv":
            return self.npv()
        raise ValueError(f"metric: expected one of {MATRIX_METRICS}, got {name!r}")

    # -- serialisation --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "classes": self.classes, "rows": self.rows,
                "sums": self.sums.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConfusionMatrix:
        """From :meth:`to_dict`'s JSON, every field checked (:mod:`losscli.stats.fields`)."""
        f = Fields(data)

        f.text("kind", choices=(cls.kind,))
        out = cls(f.count("classes", lo=1, hi=1 << 20))
        out.rows = f.count("rows")
        out.sums = f.part("sums", KeyedSums.from_dict)
        cells = out.sums.keys
        check(out.sums.channels == 1 and (not cells.size or (
            0 <= int(cells[0]) and int(cells[-1]) < out.classes * out.classes)), "sums",
            f"cells outside a {out.classes}×{out.classes} matrix")
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ConfusionMatrix) and self.to_dict() == other.to_dict()


def multilabel_prf(matrices: list[ConfusionMatrix], average: str | None, beta: float) -> PRF:
    """sklearn's multi-label P/R/F: per label (the positive class of each label's 2x2
    matrix), then micro (counts summed over labels), macro or weighted (by support)."""
    tp, pred, true = [], [], []
    for cm in matrices:
        cells = cm.cells()
        tp.append(cells.get((1, 1), Fraction(0)))
        pred.append(cells.get((1, 1), Fraction(0)) + cells.get((0, 1), Fraction(0)))
        true.append(cells.get((1, 1), Fraction(0)) + cells.get((1, 0), Fraction(0)))
    b2 = Fraction(beta) ** 2
    zero: dict[str, list[int]] = {}

    def scores(t: Fraction, p: Fraction, r: Fraction, label: int) -> tuple[Fraction, ...]:
        prec = _divide(t, p, "precision", label, zero)
        rec = _divide(t, r, "recall", label, zero)
        f = _divide((1 + b2) * t, b2 * r + p, "f-score", label, zero)
        return prec, rec, f

    labels = list(range(len(matrices)))
    if average == "micro":
        prec, rec, f = scores(sum(tp, Fraction(0)), sum(pred, Fraction(0)),
                              sum(true, Fraction(0)), -1)
        return PRF(float(prec), float(rec), float(f), None, labels, zero)
    per = [scores(t, p, r, j) for j, (t, p, r) in enumerate(zip(tp, pred, true))]
    if average is None:
        return PRF(np.array([float(x[0]) for x in per]), np.array([float(x[1]) for x in per]),
                   np.array([float(x[2]) for x in per]),
                   np.array([float(x) for x in true]), labels, zero)
    if average == "weighted":
        total = sum(true, Fraction(0))
        w = [t / total if total else Fraction(0) for t in true]
    else:
        w = [Fraction(1, len(per))] * len(per)
    avg = [float(sum((wi * x[k] for wi, x in zip(w, per)), Fraction(0))) for k in range(3)]
    return PRF(avg[0], avg[1], avg[2], None, labels, zero)


class MultilabelHamming:
    """Hamming loss of multi-label 0/1 predictions: Σ_i w_i·d_i / (L·Σ_i w_i), d_i the
    number of the L labels row i gets wrong (sklearn ``hamming_loss`` with
    ``sample_weight``). State: Σw and Σw·d, exact (per-row products w·d rounded once)."""

    kind = "multilabel_hamming"

    def __init__(self, labels: int) -> None:
        if labels < 1:
            raise ValueError(f"labels: expected ≥ 1, got {labels}")
        self.labels = int(labels)
        self.rows = 0
        self.sums = KeyedSums(2, "int")

    def update(self, y_true: np.ndarray, y_pred: np.ndarray,
               weights: np.ndarray | None = None) -> None:
        t = np.asarray(y_true)
        p = np.asarray(y_pred)
        if t.ndim != 2 or t.shape != p.shape or t.shape[1] != self.labels:
            raise ValueError(f"expected (n, {self.labels}) label matrices, got {t.shape} and "
                             f"{p.shape}")
        if not (np.isin(t, (0, 1)).all() and np.isin(p, (0, 1)).all()):
            raise ValueError("expected 0/1 label matrices")
        n = t.shape[0]
        if n == 0:
            return
        self.rows += n
        d = np.count_nonzero(t != p, axis=1).astype(np.float64)
        w = checked_weights(weights, n)
        w = np.ones(n) if w is None else w
        self.sums.add(np.zeros(n, np.int64), np.stack([w, w * d], axis=1))

    def merge(self, other: MultilabelHamming) -> MultilabelHamming:
        if other.labels != self.labels:
            raise ValueError("cannot merge Hamming states of different label counts")
        self.rows += other.rows
        self.sums.merge(other.sums)
        return self

    def result(self) -> float:
        w, wd = self.sums.totals()
        return fraction_to_float(wd / (self.labels * w)) if w else math.nan

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "labels": self.labels, "rows": self.rows,
                "sums": self.sums.to_dict()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MultilabelHamming:
        f = Fields(data)

        f.text("kind", choices=(cls.kind,))
        out = cls(f.count("labels", lo=1, hi=1 << 20))
        out.rows = f.count("rows")
        out.sums = f.part("sums", KeyedSums.from_dict)
        return out

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MultilabelHamming) and self.to_dict() == other.to_dict()

