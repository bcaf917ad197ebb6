"""Every group's share of a chunk (``--group-by``): :class:`GroupUpdate` hands each group's
cells the rows of their group, of the values the engine (:func:`losscli.engine.reduce`)
computed once for the whole chunk; and the two updates the engine makes the same way for
a whole cell and a group's (:func:`add_to_sketch`, :func:`interval_states`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from losscli.aggregates import row_values
from losscli.grouping import BatchGroups
from losscli.state import Cell

if TYPE_CHECKING:
    from losscli.stats.sketch import QuantileSketch
    from losscli.uncertainty import Uncertainty


def add_to_sketch(sketch: QuantileSketch, values: np.ndarray, weights: np.ndarray | None) -> None:
    """Add per-row values to a quantile sketch: every row, an infinite or NaN one (possible
    under --nan-policy propagate, or an overflowing loss) included — the sketch tallies
    them apart."""
    sketch.update(row_values(values), weights)


def interval_states(cell: Cell) -> list[Uncertainty]:
    return (cell.uncertainty or []) + [u for row in (cell.paired or []) for u in row]


class GroupUpdate:
    """One model's update of every group of a batch: the group cells (in the order of the
    batch's :class:`BatchGroups`) get the rows of their group, of values computed once for
    the whole batch. Means are summed per group in one pass (``np.bincount``); what needs
    the rows themselves (other aggregates, intervals, sketches) gets them split by group."""

    def __init__(self, groups: BatchGroups, cells: list[Cell], view: dict[str, np.ndarray],
                 weights: np.ndarray | None, ids: np.ndarray | None) -> None:
        self.groups = groups
        self.cells = cells
        self.view = view
        self.weights = weights
        self.ids = ids
        self._split: dict[str, list[Any]] = {}

    def split(self, name: str, values: np.ndarray | None = None) -> list[Any]:
        """Per group, its rows of a view array (``name``), cached; or of ``values``."""
        if values is not None:
            return self.groups.split(values)
        if name not in self._split:
            source = {"weight": self.weights, "ids": self.ids}.get(name, self.view.get(name))
            self._split[name] = self.groups.split(source)
        return self._split[name]

    def count(self, all_rows: BatchGroups) -> None:
        for cell, n, total in zip(self.cells, self.groups.counts, all_rows.counts):
            cell.rows += int(n)
            cell.rows_skipped += int(total - n)

    def loss(self, i: int, agg: Any, values: np.ndarray,
             needs: dict[str, np.ndarray]) -> None:
        aggs = [cell.losses[i] for cell in self.cells]
        type(agg).update_groups(aggs, self.groups, values, self.weights, needs, self.split)
        first = self.cells[0]
        if first.uncertainty is not None:
            parts = self.split("", values)
            need_parts = {r: self.split(r) for r in needs}
            for g, cell in enumerate(self.cells):
                if self.groups.counts[g]:
                    cell.uncertainty[i].update(  # type: ignore[index]
                        parts[g], self.split("weight")[g], self.split("ids")[g],
                        {r: p[g] for r, p in need_parts.items()})
        if first.sketches is not None and first.sketches[i] is not None:
            parts = self.split("", values)
            for g, cell in enumerate(self.cells):
                if (self.groups.counts[g] and cell.sketches is not None
                        and (sketch := cell.sketches[i]) is not None):
                    add_to_sketch(sketch, parts[g], self.split("weight")[g])

    def paired(self, k: int, i: int, groups: BatchGroups, diff: np.ndarray,
               weights: np.ndarray | None, ids: np.ndarray | None,
               scores: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
               queries: tuple[np.ndarray, np.ndarray] | None = None) -> None:
        parts, w, d_ids = groups.split(diff), groups.split(weights), groups.split(ids)
        split = None if scores is None else [groups.split(x) for x in scores]
        ranked = None if queries is None else [groups.split(x) for x in queries]
        for g, cell in enumerate(self.cells):
            if groups.counts[g]:
                pair = cell.paired[k][i]  # type: ignore[index]
                pair.update(parts[g], w[g], d_ids[g])
                if split is not None:
                    pair.update_pair(split[0][g], split[1][g], split[2][g], w[g])
                if ranked is not None and pair.queries is not None:  # ranking per query
                    pair.queries.update(ranked[0][g], ranked[1][g],
                                        {r: self.split(r)[g] for r in pair.queries.needs}, w[g])

    def calibrate(self, from_logits: bool) -> None:
        from losscli.calibrate import calibrate

        views = {r: self.split(r) for r in ("pred", "target")}
        for g, cell in enumerate(self.cells):
            if self.groups.counts[g] and cell.calibration is not None:
                calibrate(cell.calibration, {r: p[g] for r, p in views.items()},
                           self.split("weight")[g], from_logits)
