"""One-vs-rest ranking: one :class:`~losscli.stats.ranking.Ranking` (or
:class:`~losscli.stats.ranking.BinnedRanking`) per class, averaged as scikit-learn's
``roc_auc_score(multi_class="ovr")`` and ``average_precision_score`` average them."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from losscli.stats.fields import Fields, check
from losscli.stats.ranking import BinnedRanking, Ranking, Score


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
            w = np.array([self.per_class[i].positive_weight() for i in ok])
        vals = [np.array([getattr(scores[i], f) for i in ok]) for f in ("value", "low", "high")]
        v, lo, hi = (float(np.sum(w * x) / np.sum(w)) for x in vals)
        return Score(v, lo, hi, reason)

    def roc_auc(self, average: str | None = "macro") -> Score | list[Score]:
        return self._average([s.roc_auc() for s in self.per_class], average)

    def average_precision(self, average: str | None = "macro") -> Score | list[Score]:
        return self._average([s.average_precision() for s in self.per_class], average)

    def roc_auc_se(self, average: str = "macro") -> tuple[Score, float, str | None]:
        """The averaged AUC and a standard error for it: the per-class AUCs share rows and
        their covariances are not kept, so the SE of Σ a_c·AUC_c is bounded by Σ a_c·SE_c
        (Cauchy-Schwarz: exact when the classes' AUCs are perfectly correlated, wider
        otherwise) — a conservative interval. Undefined when any averaged class's SE is."""
        score = self.roc_auc(average)
        assert isinstance(score, Score)
        if math.isnan(score.value):
            return score, math.nan, score.reason or "no class has a defined value"
        per = [s.roc_auc_se() for s in self.per_class]
        ok = [i for i, (sc, _, _) in enumerate(per) if sc.reason is None]
        bad = [f"class {i}: {per[i][2]}" for i in ok if per[i][2] is not None]
        if bad:
            return score, math.nan, bad[0]
        w = (np.ones(len(ok)) if average == "macro" else
             np.array([self.per_class[i].positive_weight() for i in ok]))
        se = float(np.sum(w * np.array([per[i][1] for i in ok]))) / float(np.sum(w))
        return score, se, None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "classes": self.classes,
                "per_class": [s.to_dict() for s in self.per_class]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OneVsRest:
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
