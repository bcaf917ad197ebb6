"""Reduce a stream of aligned batches to a :class:`~losscli.state.State`: every selected
loss, for every model, in one pass.

The engine does no I/O of its own: batches come from the readers, per-row output goes to
the sink it is handed, and the result is a mergeable state. Order per chunk: non-finite
values (``nan_policy``), negative weights, each loss's domain (each distinct rule once per
chunk and input), then the kernels, which receive their parameters and the options they
declare (``LossSpec.options``: task, from_logits, threshold), and the aggregates.

Models: ``compare`` evaluates several prediction inputs against the same targets in one
pass; model 0 reads role ``pred``, model m > 0 role ``pred#m`` (see :func:`pred_role`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from losscli.aggregates import row_values
from losscli.domain import CheckContext, Domain
from losscli.errors import InputError, UsageError
from losscli.grouping import MAX_GROUPS, BatchGroups, too_many_groups
from losscli.io.inputs import Batch
from losscli.registry import LossInstance
from losscli.state import Cell, Fingerprint, NonFinite, Position, State
from losscli.stats.calibration import CalibrationError
from losscli.stats.sketch import QuantileSketch
from losscli.uncertainty import CIConfig, Uncertainty, flush_bootstrap
from losscli.vocab import NAN_POLICIES, REDUCTIONS

Describe = Callable[..., str]


#: Tasks whose predictions a calibration state (Plan.calibration) bins, and its bins
#: (ece's default: 15 equal-width bins on [0, 1]).
CALIBRATED_TASKS = ("binary", "multiclass")
CALIBRATION_BINS = 15


def pred_role(model: int) -> str:
    """The role holding model ``model``'s predictions: ``pred``, ``pred#1``, ..."""
    return "pred" if model == 0 else f"pred#{model}"


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

    def needs_ids(self, state: State) -> bool:
        """Whether batches must carry row identities: only the bootstrap resamples by them
        (``state``: this plan's new state, whose trackers say which method each loss uses;
        a group's trackers are built the same way)."""
        return (self.ci is not None or self.paired is not None) and any(
            u.boot is not None for cell in state.cells
            for u in (cell.uncertainty or []) + [x for row in (cell.paired or []) for x in row])

    def new_state(self) -> State:
        """The empty state: merging it changes nothing."""
        return State(self.new_cells(), groups={} if self.group_by else None)

    def new_cells(self) -> list[Cell]:
        """One empty cell per model (the overall state's, or a new group's)."""
        cells = []
        for model in range(self.models):
            aggs = [inst.new_aggregate() for inst in self.instances]
            cell = Cell(aggs)
            flags = [inst.spec.indicator for inst in self.instances]
            if self.ci is not None:
                cell.uncertainty = [Uncertainty.for_aggregate(a, self.ci, indicator=f)
                                    for a, f in zip(aggs, flags)]
            if self.paired is not None and model > 0:
                cell.paired = [[Uncertainty.for_aggregate(a, self.paired, paired=True,
                                                          indicator=f)
                                for a, f in zip(aggs, flags)] for _ in range(model)]
            if self.distribution is not None:
                cell.sketches = [QuantileSketch(self.distribution) if inst.spec.per_row else None
                                 for inst in self.instances]
            if self.calibration is not None:
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
    sink: Any = None,
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

    for batch in batches:
        n = len(batch)
        arrays = batch.arrays
        if plan.fingerprint and "target" in arrays:
            if state.fingerprint is None:
                state.fingerprint = Fingerprint()
            state.fingerprint.add(hasher.sum(arrays["target"], arrays.get("weight")), n)
        if (counting_only or plan.nan_policy == "raise") and not _all_finite(arrays):
            _count_nonfinite(arrays, batch.start, state.nonfinite, batch.rows)
        if not (counting_only or state.nonfinite.counts):
            # only counting once a NaN was seen, to report every bad value at once
            try:
                groups = _batch_groups(batch, plan, state)
                _reduce_batch(batch, plan, state, contexts, options, columns, describe, sink,
                              ids, groups)
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
        state.groups[key] = plan.new_cells()
    return groups


def _reduce_batch(batch: Batch, plan: Plan, state: State, contexts: list[CheckContext],
                  options: list[dict[str, Any]], columns: list[str], describe: Describe,
                  sink: Any, ids: Callable[[int, int], np.ndarray] | None = None,
                  groups: BatchGroups | None = None) -> None:
    """One chunk: checks (raising InputError), kernels, aggregates, intervals, per-row
    output; with ``groups``, every group's state too (the kernels run once)."""
    arrays = batch.arrays
    at = Position(batch.start, batch.start)
    for check in plan.aligned:
        _check_aligned(batch, *check)
    weights_all = arrays.get("weight")
    if weights_all is not None:
        _check_weights(weights_all, batch.start, describe, batch.rows)
    for role in arrays:
        if role.startswith("target#"):
            _check_same_targets(arrays["target"], arrays[role], role, batch.start, describe,
                                batch.rows)
    target = arrays.get("target")
    if plan.task == "binary" and target is not None and target.ndim == 1:
        _note_negative_labels(state, target, batch.start, batch.rows)
    batch_ids = (batch.ids if batch.ids is not None else ids(batch.start, len(batch))
                 if ids is not None and (plan.ci is not None or plan.paired is not None)
                 else None)
    earlier: list[tuple[list[np.ndarray], np.ndarray | None]] = []  # per model: values, kept
    # One row set per comparison: under --nan-policy omit, the rows where every model (and
    # the targets, weights) is valid — decided once here, where the models' rows are read
    # together, so that every model and every paired difference sees the same rows.
    common = _common_rows(arrays, plan.nan_policy) if plan.models > 1 else None
    for model, cell in enumerate(state.cells):
        view, rows, keep = _model_view(arrays, model, plan.nan_policy, batch.start, cell,
                                       batch.rows, common)
        _check_domains(plan, contexts, view, rows, describe, model, at)
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
        for i, (inst, agg, opts, column) in enumerate(zip(plan.instances, cell.losses, options,
                                                          columns)):
            spec = inst.spec
            values = spec.kernel(**{r: view[r] for r in spec.inputs}, **opts)
            needs = {r: view[r] for r in spec.aggregate.needs}
            agg.update(values, weights, needs)
            mine.append(values)
            if cell.uncertainty is not None:
                cell.uncertainty[i].update(values, weights, row_ids, needs)
            if cell.paired is not None:
                for k, (their_values, their_keep) in enumerate(earlier):
                    diff, w, d_ids, both = _paired_rows(values, their_values[i], keep,
                                                        their_keep, weights_all, batch_ids)
                    cell.paired[k][i].update(diff, w, d_ids)
                    if grouped is not None and groups is not None:
                        grouped.paired(k, i, groups.restrict(both), diff, w, d_ids)
            if cell.sketches is not None and cell.sketches[i] is not None:
                _sketch(cell.sketches[i], values, weights)
            if grouped is not None:
                grouped.loss(i, agg, values, needs)
            if sink is not None and model == 0:
                row = row_values(values)
                per_row[column] = row if weights is None else row * weights
        if plan.paired is not None:
            earlier.append((mine, keep))
        if cell.calibration is not None and plan.calibration is not None:
            _calibrate(cell.calibration, view, weights, plan.calibration[1])
            if grouped is not None:
                grouped.calibrate(plan.calibration[1])
        if cell.uncertainty is not None or cell.paired is not None:
            flush_bootstrap(_interval_states(cell))
            if grouped is not None:
                for group_cell in grouped.cells:
                    flush_bootstrap(_interval_states(group_cell))
        kept = len(next(iter(view.values()))) if view else 0
        cell.rows += kept
        if sink is not None and model == 0 and kept:
            for name in plan.carry:  # the key and group columns beside the losses
                per_row[name] = batch.keys[name] if keep is None else batch.keys[name][keep]
            sink.write(np.arange(batch.start, batch.start + kept) if rows is None else rows,
                       per_row)


def _sketch(sketch: Any, values: np.ndarray, weights: np.ndarray | None) -> None:
    """Add per-row values to a quantile sketch: every row, an infinite or NaN one (possible
    under --nan-policy propagate, or an overflowing loss) included — the sketch tallies
    them apart."""
    sketch.update(row_values(values), weights)


def _calibrate(cal: CalibrationError, view: dict[str, np.ndarray],
               weights: np.ndarray | None, from_logits: bool) -> None:
    """Add a chunk's probabilities (sigmoid / softmax of logits) and true classes to a
    calibration state, as the ece kernel and aggregate do. Rows with a NaN/inf prediction,
    target or weight (possible under --nan-policy propagate) are left out."""
    from losscli.aggregates import true_classes
    from losscli.losses.common import binary_probability, class_probabilities

    pred, target = view["pred"], view["target"]
    binary = cal.task == "binary"
    probs = binary_probability(pred, from_logits) if binary else class_probabilities(
        pred, from_logits)
    finite = _rows_finite(probs) & _rows_finite(target)
    if weights is not None:
        finite &= np.isfinite(weights)
    if not finite.all():
        probs, target = probs[finite], target[finite]
        weights = None if weights is None else weights[finite]
    cal.update(probs, true_classes(target, binary), weights)


def _rows_finite(a: np.ndarray) -> np.ndarray:
    ok = np.isfinite(a)
    return ok if ok.ndim == 1 else ok.all(axis=1)


def _interval_states(cell: Cell) -> list[Uncertainty]:
    return (cell.uncertainty or []) + [u for row in (cell.paired or []) for u in row]


def _paired_rows(values: np.ndarray, reference: np.ndarray, keep: np.ndarray | None,
                 reference_keep: np.ndarray | None, weights: np.ndarray | None,
                 ids: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None,
                                                  np.ndarray | None, np.ndarray | None]:
    """Paired differences between two models' per-row values on the rows both kept
    (--nan-policy omit may drop different rows for each), with their weights and row ids
    (the same resampling for every model) and the mask of those rows (None: all)."""
    if keep is None and reference_keep is None:
        return row_values(values) - row_values(reference), weights, ids, None
    n = len(keep) if keep is not None else len(reference_keep)  # type: ignore[arg-type]
    mine = np.ones(n, bool) if keep is None else keep
    theirs = np.ones(n, bool) if reference_keep is None else reference_keep
    both = mine & theirs
    diff = row_values(values)[both[mine]] - row_values(reference)[both[theirs]]
    return (diff, None if weights is None else weights[both],
            None if ids is None else ids[both], both)


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
                if self.groups.counts[g]:
                    _sketch(cell.sketches[i], parts[g], self.split("weight")[g])  # type: ignore[index]

    def paired(self, k: int, i: int, groups: BatchGroups, diff: np.ndarray,
               weights: np.ndarray | None, ids: np.ndarray | None) -> None:
        parts, w, d_ids = groups.split(diff), groups.split(weights), groups.split(ids)
        for g, cell in enumerate(self.cells):
            if groups.counts[g]:
                cell.paired[k][i].update(parts[g], w[g], d_ids[g])  # type: ignore[index]

    def calibrate(self, from_logits: bool) -> None:
        views = {r: self.split(r) for r in ("pred", "target")}
        for g, cell in enumerate(self.cells):
            if self.groups.counts[g] and cell.calibration is not None:
                _calibrate(cell.calibration, {r: p[g] for r, p in views.items()},
                           self.split("weight")[g], from_logits)


# -- the data fingerprint (state.Fingerprint) -------------------------------------------------
# splitmix64's finaliser (Steele, Lea, Flood 2014; the constants of Vigna's splitmix64.c): a
# bijection on 64-bit words with full avalanche, so a changed value always changes its
# row's hash, and a sum of hashes changes unless the changes cancel (chance ~2^-64).
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_NAN_BITS = np.array([np.nan]).view(np.uint64)[0]  # one bit pattern for every NaN
_WEIGHT_SEED = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: np.ndarray, tmp: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, in place on the uint64 array ``z`` (``tmp``: scratch)."""
    np.right_shift(z, _S30, out=tmp)
    z ^= tmp
    z *= _M1
    np.right_shift(z, _S27, out=tmp)
    z ^= tmp
    z *= _M2
    np.right_shift(z, _S31, out=tmp)
    z ^= tmp
    return z


_ONE_WEIGHT = np.uint64(0)  # mix(bits(1.0) ^ _WEIGHT_SEED), set below


class RowHasher:
    """Sums of per-row hashes of targets and weights (:meth:`sum`), with scratch arrays
    kept from one chunk to the next (no allocation per chunk: measured, allocating them
    doubled the cost)."""

    def __init__(self) -> None:
        self._h = np.empty(0, np.uint64)
        self._tmp = np.empty(0, np.uint64)

    def _scratch(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        if len(self._h) < n:
            self._h, self._tmp = np.empty(n, np.uint64), np.empty(n, np.uint64)
        return self._h[:n], self._tmp[:n]

    @staticmethod
    def _bits(values: np.ndarray, out: np.ndarray) -> np.ndarray:
        """The bits of float64 ``values`` into ``out`` (uint64), with -0.0 as 0.0 and every
        NaN alike."""
        as_float = out.view(np.float64)
        np.add(values, 0.0, out=as_float)  # -0.0 + 0.0 == +0.0
        if not np.isfinite(as_float.sum()):  # cheap test first: a finite sum has no NaN
            out[np.isnan(as_float)] = _NAN_BITS
        return out

    def sum(self, target: np.ndarray, weight: np.ndarray | None = None) -> int:
        """Sum mod 2^64 of one 64-bit hash per row of ``target`` (n,) or (n, C) and its
        weight (1 when there are none, so unweighted rows match weights of 1): with
        ``mix`` the splitmix64 finaliser, ``h = mix(bits(w) ^ SEED)``, then ``h = mix(h ^
        bits(t_j))`` for each value of the row. Order-independent, and additive over any
        split of the rows."""
        n = len(target)
        if n == 0:
            return 0
        h, tmp = self._scratch(n)
        columns = [target] if target.ndim == 1 else [target[:, j] for j in range(target.shape[1])]
        if weight is None:
            self._bits(columns[0], h)
            h ^= _ONE_WEIGHT
        else:
            self._bits(weight, h)
            h ^= _WEIGHT_SEED
            _mix(h, tmp)
            h ^= self._bits(columns[0], tmp)
        _mix(h, tmp)
        for column in columns[1:]:
            h ^= self._bits(column, tmp)
            _mix(h, tmp)
        return int(h.sum(dtype=np.uint64))


_ONE_WEIGHT = _mix(np.array([1.0]).view(np.uint64) ^ _WEIGHT_SEED, np.empty(1, np.uint64))[0]


def row_hashes_sum(target: np.ndarray, weight: np.ndarray | None = None) -> int:
    """:meth:`RowHasher.sum` once (tests, and callers outside a pass)."""
    return RowHasher().sum(target, weight)


def raise_pending(state: State, describe: Describe, instances: Iterable[LossInstance] = ()
                  ) -> None:
    """Raise what could only be judged once every row was seen: NaN/inf values under
    ``--nan-policy raise``, a unit's recorded error, and binary labels using both 0 and -1.
    The earliest in the stream wins, as in a serial pass."""
    found: list[tuple[Position, str]] = []
    nonfinite = state.nonfinite
    if nonfinite.counts:
        role = min(nonfinite.first, key=lambda r: nonfinite.first[r])
        count = nonfinite.counts[role]
        others = sum(nonfinite.counts.values()) - count
        more = f", and {others} more in other columns" if others else ""
        found.append((nonfinite.first[role], (
            f"{describe(role)} has {count} NaN/inf value{'s' if count != 1 else ''} (first at "
            f"row {nonfinite.first[role].row}){more}. Clean the data, or use --nan-policy omit "
            "to skip those rows (or propagate to let NaN through).")))
    if state.error is not None:
        found.append((state.error.at, state.error.message))
    if len(state.negatives) > 1:
        from losscli.losses.common import BINARY_LABELS

        first, second = sorted(state.negatives.items(), key=lambda kv: kv[1].at)
        users = [inst.name for inst in instances if BINARY_LABELS in inst.spec.domain]
        if users:
            label, seen = second
            found.append((seen.at, (
                f"{users[0]} needs {BINARY_LABELS.noun} {BINARY_LABELS.requirement} in "
                f"{describe('target')}, but row {seen.at.row} has {label!r} ({seen.in_chunk} "
                f"such rows in that chunk), after {first[0]!r} at row {first[1].at.row}. "
                f"{BINARY_LABELS.hint}")))
    if found:
        raise InputError(min(found, key=lambda f: f[0])[1])


def _all_finite(arrays: dict[str, np.ndarray]) -> bool:
    # A finite sum proves every value finite (NaN and inf propagate through it): one
    # cheap pass without a mask; only a non-finite sum (or an overflow) looks closer.
    with np.errstate(all="ignore"):
        return all(bool(np.isfinite(np.sum(a))) for a in arrays.values())


def _rows_bad(a: np.ndarray) -> np.ndarray:
    bad = ~np.isfinite(a)
    return bad if bad.ndim == 1 else bad.any(axis=1)


def _count_nonfinite(arrays: dict[str, np.ndarray], start: int, into: NonFinite,
                     rows: np.ndarray | None = None) -> int:
    """Count rows holding NaN/inf, per role; returns the total."""
    total = 0
    for role, a in arrays.items():
        idx = np.flatnonzero(_rows_bad(a))
        if idx.size:
            into.add(role, int(idx.size), Position(start, _row_of(start, rows, int(idx[0]))))
            total += int(idx.size)
    return total


def _common_rows(arrays: dict[str, np.ndarray], nan_policy: str) -> np.ndarray | None:
    """Under ``--nan-policy omit`` with several models: the mask of the rows where every
    array of the batch (every model's predictions and targets, the shared targets and
    weights) is finite; None when no row is dropped (or another policy)."""
    if nan_policy != "omit" or _all_finite(arrays):
        return None
    return np.logical_and.reduce([~_rows_bad(a) for a in arrays.values()])


def _model_view(arrays: dict[str, np.ndarray], model: int, nan_policy: str, start: int,
                cell: Cell, numbers: np.ndarray | None = None,
                common: np.ndarray | None = None,
                ) -> tuple[dict[str, np.ndarray], np.ndarray | None, np.ndarray | None]:
    """The arrays model ``model`` is evaluated on (its predictions as ``pred``), and, when
    ``--nan-policy omit`` dropped rows, their original row numbers and the mask kept (else
    None, None). ``common``: the rows every model keeps (:func:`_common_rows`), when the
    batch holds several models."""
    mine = pred_role(model)
    view = {("pred" if role == mine else role): a for role, a in arrays.items()
            if role == mine or not (role.startswith("pred") or "#" in role)}
    if common is not None:
        keep = common
    elif nan_policy != "omit" or _all_finite(view):
        return view, numbers, None
    else:
        keep = np.logical_and.reduce([~_rows_bad(a) for a in view.values()])
    kept = int(keep.sum())
    cell.rows_skipped += len(keep) - kept
    rows = start + np.flatnonzero(keep) if numbers is None else numbers[keep]
    return {role: a[keep] for role, a in view.items()}, rows, keep


def _plain_name(role: str, index: int | None = None) -> str:
    return role if index is None else f"{role}[{index}]"


def _row_of(start: int, rows: np.ndarray | None, index: int) -> int:
    return start + index if rows is None else int(rows[index])


def _check_weights(weights: np.ndarray, start: int, describe: Describe,
                   rows: np.ndarray | None = None) -> None:
    if weights.size and weights.min() < 0:
        i = int(np.flatnonzero(weights < 0)[0])
        raise InputError(
            f"Negative sample weight {float(weights[i])!r} in {describe('weight')} at row "
            f"{_row_of(start, rows, i)}; sample weights must be >= 0."
        )


def _check_same_targets(shared: np.ndarray, own: np.ndarray, role: str, start: int,
                        describe: Describe, rows: np.ndarray | None = None) -> None:
    """A model file's own targets must be the first model's, row by row: otherwise the
    files are not aligned, and comparing them would compare different rows."""
    same = (shared == own) | (np.isnan(shared) & np.isnan(own))
    if same.ndim == 2:
        same = same.all(axis=1)
    if not same.all():
        i = int(np.flatnonzero(~same)[0])
        raise InputError(
            f"The targets in {describe(role)} differ from those in {describe('target')} at row "
            f"{_row_of(start, rows, i)} ({own[i].tolist()!r} vs {shared[i].tolist()!r}): the model files are "
            "not aligned row by row. Give the shared targets with --targets FILE, or align the "
            "files."
        )


def _check_aligned(batch: Batch, column: str, mine: str, theirs: str, pred_file: str,
                   target_file: str) -> None:
    """The id-like column ``column`` must hold the same value in both files on every row."""
    a, b = batch.keys[mine], batch.keys[theirs]
    if a.dtype.kind != b.dtype.kind or a.dtype.kind == "O":
        from losscli.grouping import key_value

        def text(v: np.ndarray) -> np.ndarray:
            out = np.empty(len(v), dtype=object)
            out[:] = [str(key_value(x)) for x in v]
            return out

        a, b = text(a), text(b)
    same = a == b
    if not np.all(same):
        i = int(np.flatnonzero(~np.asarray(same, dtype=bool))[0])
        raise InputError(
            f"Rows are not aligned: column '{column}' is {a[i]!r} in '{pred_file}' but "
            f"{b[i]!r} in '{target_file}' at row {_row_of(batch.start, batch.rows, i)}: the "
            f"files list their rows in different orders. Join them by key with --id-col "
            f"{column}.")


def _note_negative_labels(state: State, target: np.ndarray, start: int,
                          rows: np.ndarray | None = None) -> None:
    """Record where labels 0 and -1 first appear (a file must use one convention; units
    read apart are compared once merged)."""
    for label in (0.0, -1.0):
        hits = np.flatnonzero(target == label)
        if hits.size:
            state.note_label(label, Position(start, _row_of(start, rows, int(hits[0]))),
                             int(hits.size))


def _check_domains(plan: Plan, contexts: list[CheckContext], view: dict[str, np.ndarray],
                   rows: np.ndarray | None, describe: Describe, model: int,
                   at: Position) -> None:
    """Raise on the first row that breaks a loss's rule. A rule shared by several losses
    (with the same task and from_logits) is checked once per chunk and input."""
    pred = view.get("pred")
    classes = pred.shape[1] if pred is not None and pred.ndim == 2 else None
    checked: set[tuple[int, str, bool]] = set()
    for inst, ctx in zip(plan.instances, contexts):
        ctx.classes = classes
        for rule in inst.spec.domain:
            key = (id(rule), ctx.task, ctx.from_logits)
            if key in checked or not rule.applies(ctx):
                continue
            checked.add(key)
            if model > 0 and rule.role != "pred":
                continue  # shared inputs were checked with model 0
            array = view[rule.role]
            found = rule.violation(array, ctx)
            if found is not None:
                role = pred_role(model) if rule.role == "pred" else rule.role
                _raise_violation(inst, rule, found, array, role, rows, at, describe)


def _raise_violation(inst: LossInstance, rule: Domain, found: Any, array: np.ndarray,
                     role: str, rows: np.ndarray | None, at: Position,
                     describe: Describe) -> None:
    where = (describe(role, found.column) if found.column is not None and array.ndim == 2
             else describe(role))
    row = _row_of(at.chunk_start, rows, found.index)
    raise InputError(found.message(inst.name, where, row))
