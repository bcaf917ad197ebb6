"""The aggregates of the classification metrics (precision/recall/F, ROC-AUC and average
precision, calibration errors): their statistic is not Σw·ℓ but counts, rankings or bins,
each a :class:`~losscli.stats.mergeable.Mergeable` part from :mod:`losscli.stats`. The
kinds are registered in :data:`losscli.aggregate_base.KIND_MODULES` (imported on use)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.aggregate_base import Aggregate, true_classes
from losscli.stats.calibration import CalibrationError
from losscli.stats.confusion import MATRIX_METRICS, ConfusionMatrix, multilabel_prf
from losscli.stats.fields import Fields, check
from losscli.stats.one_vs_rest import OneVsRest
from losscli.stats.operating_points import OPERATING_POINTS, operating_point
from losscli.stats.ranking import BinnedRanking, Ranking

if TYPE_CHECKING:
    from typing_extensions import Self


class _Counted(Aggregate):
    """Base of the metric aggregates, whose statistic is not Σw·ℓ (confusion counts, score
    rankings, calibration bins): they count rows and Σw like every aggregate (for the no
    rows / zero weight errors) and feed a chunk's values and targets to their own
    statistic; they have no mean and one value whatever the reduction."""

    needs = ("target",)

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        n = losses.shape[0]
        if n == 0:
            return
        assert arrays is not None
        self.count(n, weights)
        self.own_update(losses, weights, arrays["target"])

    def own_update(self, losses: np.ndarray, weights: np.ndarray | None,
                   target: np.ndarray) -> None:
        """This aggregate's own statistic from a chunk's values (``losses``) and targets."""
        raise NotImplementedError


class _Stated(_Counted):
    """A metric aggregate whose statistic is one mergeable part, ``state`` (a ranking, a
    calibration table): merged and serialised (``"state"``) here, once for all of them;
    a kind checks a loaded state against its config in :meth:`check_state`."""

    state: Any

    def merge(self, other: Aggregate) -> Self:
        super().merge(other)
        assert isinstance(other, _Stated)
        self.state.merge(other.state)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "state": self.state.to_dict()}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.state = f.part("state", type(self.state).from_dict)
        self.check_state()

    def check_state(self) -> None:
        """Raise a FieldError when the loaded state does not fit the config."""


class Confusion(_Counted):
    """Precision, recall or F_β from a weighted confusion matrix (sklearn
    ``precision_recall_fscore_support``): the kernel gives each row's predicted class (binary:
    ``score >= threshold``; multi-class: the argmax; multi-label: an (n, L) 0/1 matrix), the
    target its true class. ``average``: binary | micro | macro | weighted; the per-class (or
    per-label) values are in :meth:`details`. Counts merge exactly
    (:class:`losscli.stats.confusion.ConfusionMatrix`)."""

    name = "confusion"

    def __init__(self, metric: str = "f1", average: str = "binary", classes: int = 2,
                 labels: int = 0, beta: float = 1.0, binary: bool = True,
                 option: str = "") -> None:
        super().__init__()
        self.metric, self.average, self.classes, self.labels = metric, average, classes, labels
        self.beta, self.binary = beta, binary
        # a metric of the whole matrix (mcc, kappa, ...: stats.confusion.MATRIX_METRICS) and
        # its setting (balanced accuracy's "adjusted", kappa's "linear" / "quadratic")
        self.option = option
        self.matrices = [ConfusionMatrix(2 if labels else classes)
                         for _ in range(max(labels, 1))]

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        task = inst.options.get("task")
        labels = int(inst.options.get("classes", 0)) if task == "multilabel" else 0
        classes = int(inst.options.get("classes", 2)) if task == "multiclass" else 2
        option = ("adjusted" if inst.params.get("adjusted")
                  else str(inst.params.get("weighting") or "").replace("none", ""))
        return cls(inst.spec.name, str(inst.options.get("average", "binary")), classes, labels,
                   binary=task == "binary", option=option)

    def config(self) -> dict[str, Any]:
        out = {"metric": self.metric, "average": self.average, "classes": self.classes,
               "labels": self.labels, "beta": self.beta, "binary": self.binary}
        return {**out, "option": self.option} if self.option else out

    def value_of(self, cm: Any) -> float:
        """This aggregate's metric from a confusion matrix of its classes (a bootstrap
        replicate's, or its own)."""
        if self.metric in MATRIX_METRICS:
            return float(cm.metric(self.metric, self.option))
        return float(self._pick(cm.precision_recall_f(self.average, pos_label=1,
                                                      beta=self.beta)))

    def own_update(self, losses: np.ndarray, weights: np.ndarray | None,
                   target: np.ndarray) -> None:
        if self.labels:
            for j, cm in enumerate(self.matrices):
                cm.update((target[:, j] > 0).astype(np.int64), losses[:, j].astype(np.int64),
                          weights)
            return
        self.matrices[0].update(true_classes(target, self.binary),
                                losses.astype(np.int64), weights)

    def merge(self, other: Aggregate) -> Self:
        assert isinstance(other, Confusion)
        super().merge(other)
        for mine, theirs in zip(self.matrices, other.matrices):
            mine.merge(theirs)
        return self

    def _prf(self, average: str | None) -> Any:
        if not self.labels:
            return self.matrices[0].precision_recall_f(average, pos_label=1, beta=self.beta)
        return multilabel_prf(self.matrices, average, self.beta)

    def _pick(self, prf: Any) -> Any:
        return {"precision": prf.precision, "recall": prf.recall}.get(self.metric, prf.f)

    def own_result(self) -> float:
        if not self.labels:
            return self.value_of(self.matrices[0])
        return float(self._pick(self._prf(self.average)))

    def details(self) -> dict[str, Any] | None:
        if self.metric in MATRIX_METRICS:
            return None
        per = self._prf(None)
        values = [float(v) for v in np.atleast_1d(self._pick(per))]
        key = "per_label" if self.labels else "per_class"
        out: dict[str, Any] = {"average": self.average,
                               key: dict(zip((str(x) for x in per.labels), values))}
        zero = self._prf(self.average).zero_division
        if zero:
            out["zero_division"] = {k: [str(x) for x in v] for k, v in zero.items()}
        return out

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "matrices": [cm.to_dict() for cm in self.matrices]}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.matrices = f.each("matrices", ConfusionMatrix.from_dict,
                               length=max(self.labels, 1))
        for i, cm in enumerate(self.matrices):
            check(cm.classes == (2 if self.labels else self.classes) and cm.rows <= self.rows,
                  f"matrices[{i}]", "a matrix of another class count or more rows than the "
                  "aggregate")


class RankingMetric(_Stated):
    """ROC-AUC or average precision of scores against labels, streamed
    (:mod:`losscli.stats.ranking`): exact (memory grows with the distinct scores: 8 bytes
    a row of distinct float64 scores, 16 per distinct tied (score, class)) or, with
    ``bins``, over that many
    equal-width bins of the score range ([0, 1] for probabilities, the sigmoid of other
    scores), with the error bound the shared bins imply in :meth:`details`. Binary; one-vs-
    rest macro average for multi-class (probabilities) and over the labels of multi-label
    data."""

    name = "ranking"
    higher_is_better = True

    def __init__(self, metric: str = "roc_auc", classes: int = 0, bins: int = 0,
                 transform: str | None = None, multilabel: bool = False,
                 level: float | None = None, cost_fn: float | None = None,
                 cost_matrix: str | None = None, threshold: float | None = None) -> None:
        super().__init__()
        self.metric, self.classes, self.bins, self.transform = metric, classes, bins, transform
        self.multilabel, self.level, self.cost_fn = multilabel, level, cost_fn
        # expected_cost: its cost matrix and fixed threshold (losscli.cost_aggregate)
        self.cost_matrix, self.threshold = cost_matrix, threshold
        if classes:
            self.state = OneVsRest(classes, bins=bins or None,
                                   **({"transform": transform} if bins else {}))
        elif bins:
            self.state = BinnedRanking(bins, transform=transform)
        else:
            self.state = Ranking()

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        task = inst.options.get("task")
        classes = int(inst.options.get("classes", 0)) if task in ("multiclass", "multilabel") else 0
        bins = int(inst.params.get("bins") or 0)
        transform = "sigmoid" if bins and (
            inst.options.get("from_logits") or task == "multilabel") else None
        point = OPERATING_POINTS.get(inst.spec.name)
        if point == "cost_fp":  # expected_cost: its matrix (multi-class: of the argmax)
            from losscli.cost_aggregate import ClassCost, cost_settings
            if task == "multiclass":
                return ClassCost.create(inst)
        return cls(inst.spec.name, classes, bins, transform, multilabel=task == "multilabel",
                   level=None if point is None else float(inst.params[point]),
                   cost_fn=(float(inst.params["cost_fn"]) if "cost_fn" in inst.params
                            else None), **(cost_settings(inst) if point == "cost_fp" else {}))

    def config(self) -> dict[str, Any]:
        out = {"metric": self.metric, "classes": self.classes, "bins": self.bins,
               "transform": self.transform, "multilabel": self.multilabel}
        if self.level is not None:
            out["level"] = self.level
        out.update({k: v for k, v in (("cost_matrix", self.cost_matrix),
                                      ("threshold", self.threshold)) if v is not None})
        return out if self.cost_fn is None else {**out, "cost_fn": self.cost_fn}

    def own_update(self, losses: np.ndarray, weights: np.ndarray | None,
                   target: np.ndarray) -> None:
        if self.multilabel:
            # multi-label: label j is class j's one-vs-rest problem
            for j, state in enumerate(self.state.per_class):
                state.update(losses[:, j], target[:, j] > 0, weights)
            return
        labels = (true_classes(target, False) if self.classes
                  else target > 0)  # bool: no 0/1 check
        self.state.update(losses, labels, weights)

    def _score(self, average: str | None = "macro") -> Any:
        if self.level is not None:
            from losscli.cost_aggregate import binary_costs
            costs = binary_costs(self.cost_matrix, self.threshold, self.level,
                                 self.cost_fn or 0.0) if self.metric == "expected_cost" else None
            return operating_point(self.state, self.metric, self.level, self.cost_fn or 0.0,
                                   costs)
        if self.metric == "roc_auc":
            return self.state.roc_auc(average) if self.classes else self.state.roc_auc()
        return (self.state.average_precision(average) if self.classes
                else self.state.average_precision())

    def own_result(self) -> float:
        return float(self._score().value)

    def union_of(self, parts: Callable[[], list[Aggregate]]) -> None:
        """The exact rankings (binary, or each class's one-vs-rest) read from ``parts()``'
        (:class:`~losscli.stats.score_union.RankingUnion`): none of the scores kept twice."""
        from losscli.stats.score_union import RankingUnion, union_of

        if self.rows:
            raise ValueError("a ranking reads its parts' rows only from the start")
        if isinstance(self.state, Ranking):
            self.state = RankingUnion(partial(union_of, parts))
        elif isinstance(self.state, OneVsRest) and self.state.bins is None:
            self.state.per_class = [RankingUnion(partial(union_of, parts, c))
                                    for c in range(self.state.classes)]

    def roc_auc_se(self) -> tuple[Any, float, str | None]:
        """The reported AUC (a :class:`~losscli.stats.ranking.Score`), DeLong's standard
        error and why it is undefined (the report's averaging for one-vs-rest)."""
        return (self.state.roc_auc_se("macro") if self.classes else self.state.roc_auc_se())

    def details(self) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        score = self._score()
        if self.bins:
            out["bins"] = self.bins
            out["bound"] = [score.low, score.high]
        if getattr(score, "reason", None):
            out["reason"] = score.reason
        if getattr(score, "at", None):
            out["at"] = dict(score.at)  # the operating point reached: threshold, tpr, ...
        if self.classes:
            out["per_class"] = {str(i): float(s.value)
                                for i, s in enumerate(self._score(None))}
        return out or None

    def check_state(self) -> None:
        if self.classes:
            check(self.state.classes == self.classes and (self.state.bins or 0) == self.bins,
                  "state", f"{self.state.classes} classes, not {self.classes}")


class Calibration(_Stated):
    """Expected (``l1``) or maximum (``max``) calibration error over ``bins`` equal-width
    confidence bins (:class:`losscli.stats.calibration.CalibrationError`): binary — the
    probability of class 1 against the label; multi-class — the top-label confidence against
    top-label correctness (torchmetrics' ``BinaryCalibrationError`` /
    ``MulticlassCalibrationError``). The kernel gives the probabilities; the bin table is in
    :meth:`details` (what the reliability diagram draws)."""

    name = "calibration"

    def __init__(self, norm: str = "l1", bins: int = 15, task: str = "binary") -> None:
        super().__init__()
        self.norm, self.bins, self.task = norm, bins, task
        self.state = CalibrationError(bins, task)

    @classmethod
    def create(cls, inst: Any) -> Aggregate:
        task = "multiclass" if inst.options.get("task") == "multiclass" else "binary"
        return cls("max" if inst.spec.name == "mce" else "l1", int(inst.params.get("bins") or 15),
                   task)

    def config(self) -> dict[str, Any]:
        return {"norm": self.norm, "bins": self.bins, "task": self.task}

    def own_update(self, losses: np.ndarray, weights: np.ndarray | None,
                   target: np.ndarray) -> None:
        labels = true_classes(target, self.task == "binary")
        self.state.update(losses, labels, weights)

    def own_result(self) -> float:
        return self.state.result(self.norm)

    def details(self) -> dict[str, Any] | None:
        return {"bins": [[int(b), float(w), float(c / w), float(a / w)]
                         for b, w, c, a in self.state.bin_table()],
                "bin_count": self.bins, "columns": ["bin", "weight", "confidence", "accuracy"]}

    def check_state(self) -> None:
        check((self.state.bins, self.state.task) == (self.bins, self.task), "state",
              f"binned for {self.state.bins} bins ({self.state.task}), not {self.bins} "
              f"({self.task})")

