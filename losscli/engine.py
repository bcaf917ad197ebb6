"""Reduce a stream of aligned batches to a :class:`~losscli.state.State`: every selected
loss, for every model, in one pass.

The engine does no I/O of its own: batches come from the readers, per-row output goes to
the sink it is handed, and the result is a mergeable state. Order per chunk: non-finite
values (``nan_policy``), negative weights, each loss's domain (each distinct rule once per
chunk and input), then the kernels, which receive their parameters and the options they
declare (``LossSpec.options``: task, from_logits, threshold), and the aggregates. The
residual ``pred - target`` is computed once per chunk for every loss that has a form of it
alone (``LossSpec.of_residual``: mse, mae, huber...), before the finite check, which reads
it too (a finite difference has finite terms); the fingerprint then skips its own NaN pass.

Models: ``compare`` evaluates several prediction inputs against the same targets in one
pass; model 0 reads role ``pred``, model m > 0 role ``pred#m`` (see :func:`pred_role`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.aggregates import row_values
from losscli.checks import (
    Describe,
    all_finite,
    check_aligned,
    check_domains,
    check_same_targets,
    check_weights,
    common_rows,
    count_nonfinite,
    model_view,
    note_negative_labels,
)
from losscli.domain import CheckContext
from losscli.errors import InputError, UsageError
from losscli.fingerprint import RowHasher
from losscli.group_update import GroupUpdate, add_to_sketch, interval_states
from losscli.grouping import MAX_GROUPS, BatchGroups, too_many_groups
from losscli.interval_kinds import CIConfig
from losscli.interval_parts import flush_bootstrap
from losscli.io.base import Sink
from losscli.io.inputs import Batch
from losscli.paired import paired_rows, shared_scores
from losscli.registry import LossInstance
from losscli.state import Cell, Fingerprint, Position, State
from losscli.vocab import NAN_POLICIES, REDUCTIONS

#: Tasks whose predictions a calibration state (Plan.calibration) bins, and its bins
#: (ece's default: 15 equal-width bins on [0, 1]).
CALIBRATED_TASKS = ("binary", "multiclass")
CALIBRATION_BINS = 15


@dataclass(frozen=True)
class Plan:
    """What the engine computes: the loss instances, for how many models, how rows are
    reduced and what NaN does. Validated on construction."""

    instances: tuple[LossInstance, ...]
    models: int = 1
    reduction: str = "mean"
    nan_policy: str = "raise"
    ci: CIConfig | None = None  # confidence intervals of each loss
    #: paired differences between the models (compare's verdicts): how they are tested
    paired: CIConfig | None = None
    #: --distribution: the sketches' relative accuracy α (None: no distributions)
    distribution: float | None = None
    fingerprint: bool = True  # hash the targets and weights (state.Fingerprint)
    #: (task, from_logits): keep each model's calibration state (Cell.calibration) of its
    #: predicted probabilities — binary or multiclass — for a reliability diagram; None: not
    calibration: tuple[str, bool] | None = None
    #: --group-by: the key columns (raw, in ``Batch.keys``); each group keeps a state of its
    #: own (``State.groups``) beside the overall one, at most ``max_groups`` of them
    group_by: tuple[str, ...] = ()
    max_groups: int = MAX_GROUPS
    #: key columns (``Batch.keys``) written beside each row's losses (--reduction none):
    #: the join key (--id-col) and the group columns
    carry: tuple[str, ...] = ()
    #: Row-aligned files that both hold an id-like column: (column, its key in
    #: ``Batch.keys`` on the predictions' side, on the targets' side, the two file names);
    #: a row where they differ stops the run (the files are not aligned: use --id-col)
    aligned: tuple[tuple[str, str, str, str, str], ...] = ()
    #: --query-col: the key column (in ``Batch.keys``) naming each row's query; the ranking
    #: metrics per query read its hashes as role ``query`` (losscli.query_aggregate)
    query: str | None = None
    contexts: tuple[CheckContext, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        check_reduction(self.instances, self.reduction)
        if self.ci is not None and self.reduction != "mean":
            raise UsageError(
                f"--ci gives intervals for mean values; with --reduction {self.reduction} "
                "there is no mean to put an interval on. Drop --ci, or use --reduction mean.")
        if self.calibration is not None and self.calibration[0] not in CALIBRATED_TASKS:
            raise ValueError(f"calibration: task must be one of {CALIBRATED_TASKS}, got "
                             f"{self.calibration[0]!r}")
        if self.nan_policy not in NAN_POLICIES:
            raise UsageError(
                f"Unknown --nan-policy '{self.nan_policy}'; use one of: "
                f"{', '.join(NAN_POLICIES)}."
            )
        contexts = tuple(
            CheckContext(task=inst.options.get("task", "regression"),
                         from_logits=bool(inst.options.get("from_logits", False)))
            for inst in self.instances)
        object.__setattr__(self, "contexts", contexts)

    @property
    def task(self) -> str:
        return self.contexts[0].task if self.contexts else "regression"

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON (a saved state's header): each loss instance by its ``--loss``
        argument and the evaluation-wide options it was bound with; :meth:`from_dict`
        rebuilds the same plan."""
        return {
            "losses": [{"loss": inst.loss_arg,
                        **{k: inst.options[k] for k in ("task", "from_logits", "classes")
                           if k in inst.options}} for inst in self.instances],
            "models": self.models, "reduction": self.reduction, "nan_policy": self.nan_policy,
            "ci": None if self.ci is None else self.ci.to_dict(),
            "paired": None if self.paired is None else self.paired.to_dict(),
            "distribution": self.distribution, "fingerprint": self.fingerprint,
            "calibration": None if self.calibration is None else list(self.calibration),
            "group_by": list(self.group_by), "max_groups": self.max_groups,
            "carry": list(self.carry), "aligned": [list(a) for a in self.aligned],
            "query": self.query,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        """The plan :meth:`to_dict` wrote: the instances resolved again from their
        ``--loss`` arguments and bound to the same task, logits and classes."""
        from losscli.registry import resolve_losses
        from losscli.tasks import bind_options

        instances = [inst for x in data["losses"] for inst in bind_options(
            resolve_losses([x["loss"]], {}), x.get("task", "regression"),
            from_logits=bool(x.get("from_logits", False)), classes=x.get("classes"))]
        ci, paired, calibration = data.get("ci"), data.get("paired"), data.get("calibration")
        return cls(tuple(instances), models=int(data.get("models") or 1),
                   reduction=data.get("reduction", "mean"),
                   nan_policy=data.get("nan_policy", "raise"),
                   ci=None if ci is None else CIConfig(**ci),
                   paired=None if paired is None else CIConfig(**paired),
                   distribution=data.get("distribution"),
                   fingerprint=bool(data.get("fingerprint", True)),
                   calibration=None if calibration is None else (str(calibration[0]),
                                                                 bool(calibration[1])),
                   group_by=tuple(data.get("group_by") or ()),
                   max_groups=int(data.get("max_groups") or MAX_GROUPS),
                   carry=tuple(data.get("carry") or ()),
                   aligned=tuple(tuple(a) for a in data.get("aligned") or ()),  # type: ignore[misc]
                   query=data.get("query"))

    def needs_ids(self, state: State) -> bool:
        """Whether batches must carry row identities: only the bootstrap resamples by them
        (``state``: this plan's new state, whose trackers say which method each loss uses;
        a group's trackers are built the same way)."""
        return (self.ci is not None or self.paired is not None) and any(
            u.boot is not None for cell in state.cells
            for u in (cell.uncertainty or []) + [x for row in (cell.paired or []) for x in row])

    def new_state(self) -> State:
        """The empty state: merging it changes nothing."""
        if self.group_by:
            return State(self.new_cells(), groups={}).read_overall_from_groups()
        return State(self.new_cells())

    def new_cells(self, key: tuple[Any, ...] | None = None) -> list[Cell]:
        """One empty cell per model (the overall state's, or a new group's: ``key``)."""
        stream = 0  # a cell bootstrap's draws per group (stats.cell_bootstrap; 0: overall)
        if self.ci is not None or self.paired is not None:
            from losscli.uncertainty import Uncertainty

            if key is not None:
                from losscli.stats.cell_bootstrap import group_stream

                stream = group_stream(key)
        cells = []
        for model in range(self.models):
            aggs = [inst.new_aggregate() for inst in self.instances]
            cell = Cell(aggs)
            flags = [inst.spec.indicator for inst in self.instances]
            if self.ci is not None:
                cell.uncertainty = [Uncertainty.for_aggregate(a, self.ci, indicator=f,
                                                              stream=stream)
                                    for a, f in zip(aggs, flags)]
            if self.paired is not None and model > 0:
                cell.paired = [[Uncertainty.for_aggregate(a, self.paired, paired=True,
                                                          indicator=f, stream=stream)
                                for a, f in zip(aggs, flags)] for _ in range(model)]
            if self.distribution is not None:
                from losscli.stats.sketch import QuantileSketch

                cell.sketches = [QuantileSketch(self.distribution) if inst.spec.per_row else None
                                 for inst in self.instances]
            if self.calibration is not None:
                from losscli.stats.calibration import CalibrationError

                cell.calibration = CalibrationError(CALIBRATION_BINS, self.calibration[0])
            cells.append(cell)
        return cells


def check_reduction(losses: Iterable[LossInstance], reduction: str) -> None:
    """Refuse reductions a loss does not have (rmse, r2, max_error have no per-row value)."""
    if reduction not in REDUCTIONS:
        raise UsageError(f"Unknown reduction '{reduction}'; use one of: {', '.join(REDUCTIONS)}.")
    if reduction != "mean":
        whole = [inst.name for inst in losses if not inst.spec.per_row]
        if whole:
            raise UsageError(
                f"{', '.join(whole)} {'has' if len(whole) == 1 else 'have'} no per-row value, so "
                f"--reduction {reduction} is not defined; use --reduction mean, or drop "
                f"{'it' if len(whole) == 1 else 'them'} (mse is the per-row form of rmse)."
            )


def reduce(
    batches: Iterable[Batch],
    plan: Plan,
    *,
    describe: Describe | None = None,
    sink: Sink | None = None,
    on_batch: Callable[[int], None] | None = None,
    counting_only: bool = False,
    ids: Callable[[int, int], np.ndarray] | None = None,
) -> State:
    """Stream ``batches`` through every loss of ``plan`` and return their state.

    ``describe(role, index=None)`` names a role's column and file in errors (``index``:
    which of a row's several values); ``sink`` receives per-row losses (model 0) when the
    reduction is ``none``; ``on_batch(rows_done)`` is called after each batch.

    Nothing is raised for bad rows: the first bad value (a negative weight, a value out of
    a loss's domain, misaligned model targets) stops the pass and is recorded in the
    state's ``error`` with its position; NaN/inf under ``nan_policy`` ``raise`` are counted
    to the end (from the first one on, only counted, as ``counting_only`` does from the
    start). :func:`raise_pending` raises the earliest of them, as a serial pass would.
    ``ids(start, n)`` gives the identities of rows ``start .. start + n`` (the bootstrap's).
    """
    describe = describe or _plain_name
    if plan.reduction == "none" and sink is None and not counting_only:
        raise UsageError("--reduction none needs somewhere to write rows (an output sink).")
    state = plan.new_state()
    if ids is not None and not plan.needs_ids(state):
        ids = None  # analytic intervals only: no row identities to compute
    # Stateful rules (which negative binary label came first) keep their state per pass.
    contexts = [CheckContext(c.task, c.from_logits, state={}) for c in plan.contexts]
    shared: dict[str, Any] = {}
    for ctx in contexts:
        ctx.state = shared
    options = [inst.kernel_kwargs() for inst in plan.instances]
    columns = [inst.column for inst in plan.instances]
    hasher = RowHasher()
    # pred - target, once per chunk before the finite check (which it serves too), when a
    # loss reads it (LossSpec.of_residual); else per model view in _reduce_batch
    early = plan.nan_policy == "raise" and not counting_only and any(
        inst.spec.of_residual is not None for inst in plan.instances)

    for batch in batches:
        n = len(batch)
        arrays = batch.arrays
        residual = _residual(arrays) if early else None
        finite = None  # the chunk's values all finite: True when checked so
        if counting_only or plan.nan_policy == "raise":
            finite = all_finite(arrays, residual)
            if not finite:
                count_nonfinite(arrays, batch.start, state.nonfinite, batch.rows)
        if plan.fingerprint and "target" in arrays:
            if state.fingerprint is None:
                state.fingerprint = Fingerprint()
            state.fingerprint.add(hasher.sum(arrays["target"], arrays.get("weight"),
                                             finite=bool(finite)), n)
        if not (counting_only or state.nonfinite.counts):
            # only counting once a NaN was seen, to report every bad value at once
            try:
                groups = _batch_groups(batch, plan, state)
                if groups is not None and plan.query is not None:  # a query in one group
                    from losscli.query_scan import check_groups

                    check_groups(batch, plan.query, groups, shared.setdefault("queries", {}),
                                 plan.instances)
                _reduce_batch(batch, plan, state, contexts, options, columns, describe, sink,
                              ids, groups, residual)
            except InputError as exc:
                state.note_error(Position(batch.start, batch.start), str(exc))
                break
        if on_batch is not None:
            on_batch(batch.start + n if batch.rows is None or not n
                     else int(batch.rows[-1]) + 1)
    return state


def _batch_groups(batch: Batch, plan: Plan, state: State) -> BatchGroups | None:
    """The groups of a batch's rows (--group-by), their cells created in ``state`` (at most
    ``plan.max_groups``: beyond, an InputError)."""
    if not plan.group_by:
        return None
    groups = BatchGroups.of([batch.keys[name] for name in plan.group_by], plan.group_by)
    assert state.groups is not None
    new = [key for key in groups.keys if key not in state.groups]
    if len(state.groups) + len(new) > plan.max_groups:
        raise too_many_groups(len(state.groups) + len(new), plan.max_groups, plan.group_by)
    for key in new:
        state.groups[key] = plan.new_cells(key)
    return groups


def _reduce_batch(batch: Batch, plan: Plan, state: State, contexts: list[CheckContext],
                  options: list[dict[str, Any]], columns: list[str], describe: Describe,
                  sink: Sink | None, ids: Callable[[int, int], np.ndarray] | None = None,
                  groups: BatchGroups | None = None, residual: np.ndarray | None = None,
                  ) -> None:
    """One chunk: checks (raising InputError), kernels, aggregates, intervals, per-row
    output; with ``groups``, every group's state too (the kernels run once). ``residual``:
    the chunk's pred - target (:func:`_residual`), if computed already."""
    arrays = batch.arrays
    at = Position(batch.start, batch.start)
    for check in plan.aligned:
        check_aligned(batch, *check)
    weights_all = arrays.get("weight")
    if weights_all is not None:
        check_weights(weights_all, batch.start, describe, batch.rows)
    for role in arrays:
        if role.startswith("target#"):
            check_same_targets(arrays["target"], arrays[role], role, batch.start, describe,
                                batch.rows)
    target = arrays.get("target")
    if plan.task == "binary" and target is not None and target.ndim == 1:
        note_negative_labels(state, target, batch.start, batch.rows)
    batch_ids = (batch.ids if batch.ids is not None else ids(batch.start, len(batch))
                 if ids is not None and (plan.ci is not None or plan.paired is not None)
                 else None)
    earlier: list[tuple[list[np.ndarray], np.ndarray | None]] = []  # per model: values, kept
    # One row set per comparison: under --nan-policy omit, the rows where every model (and
    # the targets, weights) is valid — decided once here, where the models' rows are read
    # together, so that every model and every paired difference sees the same rows.
    common = common_rows(arrays, plan.nan_policy) if plan.models > 1 else None
    for model, cell in enumerate(state.cells):
        view, rows, keep = model_view(arrays, model, plan.nan_policy, batch.start, cell,
                                       batch.rows, common)
        check_domains(plan.instances, contexts, view, rows, describe, model, at)
        if plan.query is not None:
            from losscli.query_scan import query_view

            query_view(view, batch, plan.query, keep, rows)
        weights = view.get("weight")
        row_ids = None if batch_ids is None else (batch_ids if keep is None else batch_ids[keep])
        grouped = None
        if groups is not None:
            assert state.groups is not None
            grouped = GroupUpdate(groups.restrict(keep),
                                  [state.groups[key][model] for key in groups.keys], view,
                                  weights, row_ids)
            grouped.count(groups)
        per_row: dict[str, np.ndarray] = {}
        mine: list[np.ndarray] = []
        d = residual if model == 0 and keep is None else None  # this view's pred - target
        for i, (inst, agg, opts, column) in enumerate(zip(plan.instances, cell.losses, options,
                                                          columns)):
            spec = inst.spec
            if spec.of_residual is not None and (d is not None or (d := _residual(view)) is not None):
                values = spec.of_residual(d, **opts)
            else:
                values = spec.kernel(**{r: view[r] for r in spec.inputs}, **opts)
            needs = {r: view[r] for r in spec.aggregate.needs}
            agg.update(values, weights, needs)
            mine.append(values)
            if cell.uncertainty is not None:
                cell.uncertainty[i].update(values, weights, row_ids, needs)
            if cell.paired is not None:
                for k, (their_values, their_keep) in enumerate(earlier):
                    diff, w, d_ids, both = paired_rows(values, their_values[i], keep,
                                                        their_keep, weights_all, batch_ids)
                    pair = cell.paired[k][i]
                    pair.update(diff, w, d_ids)
                    if pair.queries is not None:  # per query (compare keeps common rows)
                        pair.queries.update(values, their_values[i], view, weights)
                    scores = (shared_scores(values, their_values[i], view["target"], keep,
                                             their_keep)
                              if pair.wants_pairs else None)
                    if scores is not None:
                        pair.update_pair(*scores, w)
                    if grouped is not None and groups is not None:
                        grouped.paired(k, i, groups.restrict(both), diff, w, d_ids, scores,
                                       None if pair.queries is None
                                       else (values, their_values[i]))
            if cell.sketches is not None and (sketch := cell.sketches[i]) is not None:
                add_to_sketch(sketch, values, weights)
            if grouped is not None:
                grouped.loss(i, agg, values, needs)
            if sink is not None and model == 0:
                row = row_values(values)
                per_row[column] = row if weights is None else row * weights
        if plan.paired is not None:
            earlier.append((mine, keep))
        if cell.calibration is not None and plan.calibration is not None:
            from losscli.calibrate import calibrate

            calibrate(cell.calibration, view, weights, plan.calibration[1])
            if grouped is not None:
                grouped.calibrate(plan.calibration[1])
        if cell.uncertainty is not None or cell.paired is not None:
            flush_bootstrap(interval_states(cell))
            if grouped is not None:
                for group_cell in grouped.cells:
                    flush_bootstrap(interval_states(group_cell))
        kept = len(next(iter(view.values()))) if view else 0
        cell.rows += kept
        if sink is not None and model == 0 and kept:
            for name in plan.carry:  # the key and group columns beside the losses
                per_row[name] = batch.keys[name] if keep is None else batch.keys[name][keep]
            sink.write(np.arange(batch.start, batch.start + kept) if rows is None else rows,
                       per_row)


def _residual(arrays: dict[str, np.ndarray]) -> np.ndarray | None:
    """pred - target (a new array), or None when they are missing or differ in shape."""
    pred, target = arrays.get("pred"), arrays.get("target")
    if pred is None or target is None or pred.shape != target.shape:
        return None
    with np.errstate(all="ignore"):  # inf - inf: a NaN, counted or propagated as any NaN
        return np.subtract(pred, target)


def _plain_name(role: str, index: int | None = None) -> str:
    return role if index is None else f"{role}[{index}]"

