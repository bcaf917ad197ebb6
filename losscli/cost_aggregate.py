"""``expected_cost`` with a cost matrix (:mod:`losscli.cost_matrix`): the settings its binary
ranking aggregate reads, and the multi-class aggregate.

Binary: the ranking aggregate (:class:`losscli.metric_aggregates.RankingMetric`) reads the
expected cost from the exact per-score counts at the best or a fixed threshold
(:class:`losscli.stats.operating_points.Costs`); :func:`cost_settings` gives it the matrix
and threshold of a loss instance, checked against the run's two classes.

Multi-class (:class:`ClassCost`): Σ_ij C[i, j]·M[i, j] / Σ M over the argmax predictions,
M the exact weighted confusion matrix (:class:`losscli.stats.confusion.ConfusionMatrix`:
integer counts, or exact sums of the weights), summed in exact rationals and rounded once
— the same bits for any chunking, worker count, engine or merge; equal to scikit-learn's
``(C * confusion_matrix(y, argmax, sample_weight=w)).sum() / w.sum()``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from losscli import cost_matrix
from losscli.aggregate_base import Aggregate, true_classes
from losscli.errors import UsageError
from losscli.stats.confusion import ConfusionMatrix
from losscli.stats.exact import fraction_to_float
from losscli.stats.fields import Fields, check
from losscli.stats.operating_points import Costs

if TYPE_CHECKING:
    from typing_extensions import Self

    from losscli.registry import LossInstance


def _where(inst: LossInstance) -> str:
    return f"{cost_matrix.FLAG} of {inst.name}"


def cost_settings(inst: LossInstance) -> dict[str, Any]:
    """The expected_cost settings of a binary ranking aggregate (those given):
    ``cost_matrix`` (canonical text, 2×2) and ``threshold`` (fixed; absent: the best)."""
    out: dict[str, Any] = {}
    text = inst.params.get("cost_matrix")
    if text is not None:
        _no_pair(inst)
        cost_matrix.check_size(str(text), 2, _where(inst))
        out["cost_matrix"] = str(text)
    threshold = inst.params.get("threshold")
    if threshold is not None:
        out["threshold"] = float(threshold)
    return out


def _no_pair(inst: LossInstance) -> None:
    spec = inst.spec
    given = [p.name for p in spec.params if p.name in ("cost_fp", "cost_fn")
             and inst.params.get(p.name) != p.default]
    if given:
        raise UsageError(f"{inst.name}: give the costs once — {cost_matrix.FLAG} (the whole "
                         f"matrix) or {' and '.join(given)}, not both.")


def binary_costs(matrix_text: str | None, threshold: float | None, cost_fp: float,
                 cost_fn: float) -> Costs:
    """The :class:`Costs` of a binary aggregate's settings."""
    return Costs.settings(matrix_text, threshold, cost_fp, cost_fn)


class ClassCost(Aggregate):
    """Multi-class expected cost: Σ C[i, j]·M[i, j] / Σ M (rows i: true class, columns j:
    the argmax prediction), exact."""

    name = "class_cost"
    needs = ("target",)

    def __init__(self, classes: int = 3, cost_matrix: str | None = None) -> None:
        super().__init__()
        self.classes = int(classes)
        # default: the 0-1 costs (the error rate of the argmax)
        self.cost_matrix = cost_matrix or ";".join(
            " ".join("0" if i == j else "1" for j in range(self.classes))
            for i in range(self.classes))
        self.matrix = ConfusionMatrix(self.classes)

    @classmethod
    def create(cls, inst: LossInstance) -> Aggregate:
        classes = int(inst.options.get("classes", 0))
        text = inst.params.get("cost_matrix")
        if text is None:  # every error costs 1 (the binary default's analogue): the error
            # rate of the argmax; cost_fp/cost_fn name binary errors only
            given = [p.name for p in inst.spec.params if p.name in ("cost_fp", "cost_fn")
                     and inst.params.get(p.name) != p.default]
            if given:
                raise UsageError(
                    f"{inst.name}: {' and '.join(given)} are a binary cost; on multi-class "
                    f"data give {cost_matrix.FLAG} with a {classes}×{classes} matrix (rows: "
                    "true class, columns: predicted class, in the order of the prediction "
                    "columns).")
            return cls(classes)
        _no_pair(inst)
        cost_matrix.check_size(str(text), classes, _where(inst))
        return cls(classes, str(text))

    def config(self) -> dict[str, Any]:
        return {"classes": self.classes, "cost_matrix": self.cost_matrix}

    def update(self, losses: np.ndarray, weights: np.ndarray | None,
               arrays: dict[str, np.ndarray] | None = None) -> None:
        n = losses.shape[0]
        if n == 0:
            return
        assert arrays is not None
        self.count(n, weights)
        # argmax of the scores (first on ties, as numpy and scikit-learn's predict do)
        self.matrix.update(true_classes(arrays["target"], False), np.argmax(losses, axis=1),
                           weights)

    def merge(self, other: Aggregate) -> Self:
        super().merge(other)
        assert isinstance(other, ClassCost)
        self.matrix.merge(other.matrix)
        return self

    def own_result(self) -> float:
        costs = cost_matrix.matrix(self.cost_matrix)
        cells = self.matrix.cells()
        total = sum(cells.values(), Fraction(0))
        if total == 0:
            return float("nan")
        cost = sum((Fraction(costs[i][j]) * v for (i, j), v in cells.items()), Fraction(0))
        return fraction_to_float(cost / total)

    def details(self) -> dict[str, Any] | None:
        return {"cost_matrix": cost_matrix.matrix(self.cost_matrix),
                "layout": "rows: true class, columns: predicted class (argmax)",
                "exact": "from the confusion counts of the argmax (--auc-bins does not apply)"}

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "state": self.matrix.to_dict()}

    def _load(self, f: Fields) -> None:
        super()._load(f)
        self.matrix = f.part("state", ConfusionMatrix.from_dict)
        check(self.matrix.classes == self.classes, "state",
              f"{self.matrix.classes} classes, not {self.classes}")
        try:
            cost_matrix.check_size(self.cost_matrix, self.classes, "config")
        except (UsageError, ValueError):
            check(False, "config", "a cost matrix of another size")


__all__ = ["ClassCost", "binary_costs", "cost_settings"]
