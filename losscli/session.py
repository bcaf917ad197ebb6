"""One evaluation session: open the inputs once, decide the task and the loss instances,
and run the plan of work units, each reduced to a mergeable :class:`~losscli.state.State`.

    spec = build_spec("preds.parquet", losses=["mse"])      # validated, no I/O
    session = Session(spec)                                  # opens the inputs, reads the
    state = session.run()                                    #   first rows for the task
    report = session.report(state)

Data flows one way: inputs → work units → engine (kernels) → State (merged in unit order)
→ Report → renderer. ``eval``, ``check``, ``compare`` and the Python API all run through
here; ``compare`` passes several models, read in the same pass against the same targets.

Row identity: each unit knows the file its rows come from (relative to the input root) and
the row within that file where it starts (:class:`Unit`), recorded in the state's coverage.

The unit plan (:meth:`Session.units`) depends on the inputs' layout and the chunk size only:

* a Parquet file is cut at its row groups (whole groups; small ones merged), an NPY file or
  in-memory arrays into row ranges, a local Feather file at its record batches;
* a local, uncompressed UTF-8 CSV/TSV/NDJSON file, once its records are counted by a scan,
  at rows that are multiples of ``UNIT_CHUNKS × chunk size`` — so its chunks are those of
  one pass over the file, and whether it is cut (more than :data:`TEXT_SPLIT_WORKERS`
  workers, a file over :data:`TEXT_SPLIT_BYTES`) changes no bit;
* standard input, compressed text and text in object storage: one unit, read as a stream;
* many files (a folder, a glob, a URI): each file as a lone file of its format would be, or
  one unit; a unit never spans two files. A file whose row count is unknown before it is
  read (text not scanned) leaves the rows of the files after it unplaced: their units
  count rows from their file's start and are moved into place (their positions shifted)
  when merged in order — an error found in such a unit is found again with its rows in
  place, so messages name rows of the whole input as a serial pass would.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli import engine, tasks
from losscli.errors import InputError, UsageError
from losscli.executor import available_cpus, ordered_map
from losscli.grouping import key_dict, sort_key, too_many_groups
from losscli.io.inputs import Batch, Inputs, resolve_inputs
from losscli.io.prefetch import prefetch
from losscli.registry import LossInstance, all_losses, resolve_losses
from losscli.report import DataFingerprint, GroupResult, LossResult, Report
from losscli.spec import DEFAULT_CHUNK_SIZE, Columns, RunSpec
from losscli.state import Cell, Coverage, NonFinite, Position, State, UnitError, coalesce
from losscli.uncertainty import CIConfig
from losscli.vocab import EMBEDDING_ROLES, ROLES

#: Column names that identify rows (checked on both sides of a row-aligned pair of files).
ID_LIKE = re.compile(r"^(id|key|uid|uuid|guid|row_?id|sample_?id|record_?id|index)$|[_-]id$"
                     r"|^id[_-]|[_-]key$")
#: Values per chunk when rows are wide (class scores, embeddings): with ``chunk_size`` left
#: to its default, a chunk holds this many values rather than DEFAULT_CHUNK_SIZE rows.
WIDE_CHUNK_VALUES = 1 << 20


def default_chunk_size(width: int) -> int:
    """Rows per chunk for rows of ``width`` values: DEFAULT_CHUNK_SIZE, fewer when wide (a
    1M x 100 float64 chunk would be 200 MB per array; this keeps it near 8 MB), down to one
    row when a row alone holds a million values or more."""
    return DEFAULT_CHUNK_SIZE if width <= 1 else max(1, WIDE_CHUNK_VALUES // width)


@dataclass(frozen=True)
class ModelInput:
    """One model of a comparison: its name, its predictions (a path, ``-``, an array or a
    DataFrame) and the column(s) holding them."""

    name: str
    predictions: Any
    pred_col: Columns = ()
    #: The option that named ``pred_col`` (what messages tell the user to change).
    flag: str = "--pred-col"


@dataclass(frozen=True)
class Resolved:
    """What a session decided from its first rows; a worker given it (and the spec) opens
    the same inputs and reduces units without reading those rows again."""

    task: str
    decided_by: str
    losses: tuple[str, ...]  # --loss arguments of the instances (canonical names)
    widths: tuple[tuple[str, int], ...]
    chunk_size: int
    labels: Any = None  # the target column's losscli.labels.LabelMap (None: numbers)


@dataclass(frozen=True)
class Unit:
    """A work unit: rows of the inputs that reduce to one State.

    ``file`` is where its rows come from (relative to the input root) and ``first_row`` the
    row of that file where it starts; ``start``/``stop`` are its rows in the whole input
    (``stop`` None: the unit is the whole input, or with ``part`` the whole file, read as
    one stream, e.g. a pipe); ``rows`` how many it covers (None when unknown before
    reading). ``part``: the file of a multi-file input the unit reads (its index), each
    input's file of that index. ``placed`` False: the rows of the files before are not
    known yet, so ``start``/``stop`` count from the file's first row (see the module doc).
    """

    index: int
    file: str
    first_row: int
    rows: int | None
    start: int = 0
    stop: int | None = None
    part: int | None = None
    placed: bool = True


#: Units hold between one and UNIT_CHUNKS chunks: row groups smaller than a chunk are
#: merged into one unit, a range longer than UNIT_CHUNKS chunks is cut in equal parts. The
#: plan depends only on the data's layout and the chunk size — never on the number of
#: workers — so every worker count reduces the same chunks and merges them in the same order:
#: the same bits.
UNIT_CHUNKS = 4
#: Text files (CSV, TSV, NDJSON) are scanned and cut into units only with more workers (and
#: CPUs) than this: read as one stream, a file's blocks are already parsed on two threads
#: beside the kernels, and the scan reads the file once more (200 MB, 5M rows of CSV: 0.14 s,
#: against 0.85 s of CPU to parse and reduce them; on 2 CPUs, in one process, the cut file
#: took 0.57 s, the stream 0.34 s). Cutting changes no bit (see the module doc), only time.
TEXT_SPLIT_WORKERS = 2
#: ... and only files of at least this many bytes.
TEXT_SPLIT_BYTES = 32 << 20
#: ``--workers auto`` for inputs in object storage: more threads than CPUs, since they wait
#: on the network (at most REMOTE_MAX_WORKERS: every thread holds a row group in memory).
REMOTE_WORKERS_PER_CPU = 4
REMOTE_MAX_WORKERS = 16
_PREPARING = threading.Lock()


def plan_ranges(points: list[int], chunk_size: int, cut: bool = True) -> list[tuple[int, int]]:
    """Unit ranges from a source's natural split points (see :data:`UNIT_CHUNKS`); with
    ``cut`` False a range is never cut inside (a Parquet row group is read whole)."""
    low, high = chunk_size, UNIT_CHUNKS * chunk_size
    merged: list[tuple[int, int]] = []
    start = points[0]
    for end in points[1:]:
        if end - start >= low or end == points[-1]:
            if end > start:
                merged.append((start, end))
            start = end
    if len(merged) > 1 and merged[-1][1] - merged[-1][0] < low:  # a short tail joins
        (a, _), (_, b) = merged[-2], merged[-1]
        merged[-2:] = [(a, b)]
    out: list[tuple[int, int]] = []
    for a, b in merged:
        parts = -(-(b - a) // high) if cut else 1
        out.extend((a + (b - a) * i // parts, a + (b - a) * (i + 1) // parts)
                   for i in range(parts))
    return out


class _Rows:
    """A thread-safe count of the rows reduced so far, for ``on_batch(rows_done)``."""

    def __init__(self, on_batch: Callable[[int], None] | None) -> None:
        self._on_batch = on_batch
        self._done = 0
        self._lock = threading.Lock()
        self._last: dict[int, int] = {}

    def callback(self, unit: Unit, base: int) -> Callable[[int], None] | None:
        """``on_batch`` of one unit whose first row is numbered ``base``."""
        if self._on_batch is None:
            return None
        on_batch = self._on_batch

        def seen(end: int) -> None:  # the engine reports the end row of each batch
            with self._lock:
                self._done += end - self._last.get(unit.index, base)
                self._last[unit.index] = end
                on_batch(self._done)

        return seen


class _Buffered:
    """Per-row values of one unit, held until the units before it are written."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        self.parts.append((rows, values))

    def close(self) -> None:
        pass

    def replay(self, sink: Any) -> None:
        for rows, values in self.parts:
            sink.write(rows, values)


class _Placement:
    """Where each file of a multi-file input starts in the whole, learnt as units are merged
    in order: what an unplaced unit's rows are shifted by (see :class:`Unit`)."""

    def __init__(self) -> None:
        self.rows = 0  # rows of the units merged so far
        self.file_start: dict[int, int] = {}

    def shift(self, unit: Unit) -> int | None:
        """0 for a placed unit; for an unplaced one the first row of its file in the whole
        (None while the units before it are not all merged)."""
        if unit.placed or unit.part is None:
            return 0
        if unit.part in self.file_start:
            return self.file_start[unit.part]
        return self.rows if unit.first_row == 0 else None

    def merged(self, unit: Unit, state: State) -> None:
        if unit.part is not None:
            self.file_start.setdefault(unit.part, self.rows - unit.first_row)
        self.rows += sum(c.rows for c in state.coverage)

    def copy(self) -> _Placement:
        out = _Placement()
        out.rows, out.file_start = self.rows, dict(self.file_start)
        return out


def _rebase(state: State, shift: int) -> None:
    """Move the row positions a state recorded by ``shift`` rows (NaN/inf first rows, first
    negative labels, the error's position; not its message)."""
    if not shift:
        return

    def moved(at: Position) -> Position:
        return Position(at.chunk_start + shift, at.row + shift)

    state.nonfinite.first = {role: moved(at) for role, at in state.nonfinite.first.items()}
    for seen in state.negatives.values():
        seen.at = moved(seen.at)
    if state.error is not None:
        state.error = UnitError(moved(state.error.at), state.error.message)


def as_source(obj: Any, name: str, default_column: str) -> Any:
    """A path stays a path; in-memory data becomes an in-memory source."""
    from losscli.io.formats.memory import from_object

    if obj is None or isinstance(obj, str):
        return obj
    return from_object(obj, name, default_column)


def _is_array(obj: Any) -> bool:
    return isinstance(obj, np.ndarray | list | tuple)


def _has_columns(source: Any, names: tuple[str, ...]) -> bool:
    cols = [str(c).lower() for c in source.columns]
    return all(n in cols for n in names)


#: Quantiles every --distribution reports (``max`` is the exact maximum).
QUANTILES = (0.5, 0.9, 0.99, 0.999)


def quantile_name(level: float) -> str:
    """``p50``, ``p99.9``, ``max`` for 1."""
    if level >= 1.0:
        return "max"
    return "p" + format(level * 100, ".10g")


def distribution_dict(sketch: Any, extra: tuple[float, ...] = ()) -> dict[str, Any]:
    """A loss's distribution as the report carries it: the quantiles (within the sketch's
    relative error α of the order statistics) and α itself."""
    from losscli.report import json_float

    levels = sorted(set(QUANTILES) | set(extra) | {1.0})
    if sketch.rows == 0 or sketch.total_weight() == 0:
        return {"relative_accuracy": sketch.alpha, "rows": sketch.rows,
                "quantiles": {}, "reason": "no row with positive weight and a finite value"}
    return {"relative_accuracy": sketch.alpha, "rows": sketch.rows,
            "quantiles": {quantile_name(q): json_float(float(sketch.quantile(q)))
                          for q in levels},
            **({"collapsed": True} if getattr(sketch, "collapsed", False) else {})}


def calibration_plan(instances: Sequence[LossInstance], task: str,
                     from_logits: bool) -> tuple[str, bool] | None:
    """What :attr:`engine.Plan.calibration` keeps for a reliability diagram: (task,
    from_logits) for a binary or multi-class classifier whose predictions are known to be
    probabilities — logits (``from_logits``), or checked to lie in [0, 1] by a selected
    loss (bce, brier, cross_entropy, ...) — and that no selected ece/mce already bins
    (its own state is drawn then); None otherwise (scores of a margin loss are no
    probabilities, and a diagram of them would mean nothing)."""
    from losscli.aggregates import Calibration
    from losscli.losses.common import PROBABILITIES

    if task not in engine.CALIBRATED_TASKS:
        return None
    if any(inst.spec.aggregate is Calibration for inst in instances):
        return None
    if not (from_logits or any(PROBABILITIES in inst.spec.domain for inst in instances)):
        return None
    return (task, from_logits)


def build_report(plan: engine.Plan, state: State, *, model: int = 0,
                 inputs: dict[str, Any] | None = None, elapsed: float = 0.0,
                 notes: Sequence[str] = (), output: str | None = None,
                 quantile_levels: tuple[float, ...] = (), sort: str = "key",
                 group_level: Callable[[int], float | None] | None = None) -> Report:
    """The :class:`Report` of one model from a (merged) state: values, breakdowns, intervals
    and distributions. Shared by a session and by ``losscli merge`` of saved states.
    ``group_level(number of groups)``: the level of the groups' intervals when not the --ci
    level (``check --group-by --ci`` corrects for the number of groups tested)."""

    cell = state.cells[model]
    results = cell_results(plan, cell, quantile_levels)
    groups = None
    if state.groups is not None:
        level = None if group_level is None else group_level(len(state.groups))
        groups = [GroupResult(key_dict(plan.group_by, key), cells[model].rows,
                              cells[model].rows_skipped,
                              cell_results(plan, cells[model], quantile_levels, group=True,
                                           level=level))
                  for key, cells in state.groups.items()]
        groups = sort_groups(groups, sort)
    fp = state.fingerprint
    return Report(
        inputs=dict(inputs or {}), rows=cell.rows, rows_skipped=cell.rows_skipped,
        reduction=plan.reduction, losses=results, elapsed_seconds=elapsed, output=output,
        notes=list(notes), ci=None if plan.ci is None else plan.ci.to_dict(),
        fingerprint=None if fp is None else DataFingerprint(fp.hex, fp.rows),
        cell=cell, group_by=plan.group_by, groups=groups,
    )


def cell_results(plan: engine.Plan, cell: Cell, quantile_levels: tuple[float, ...] = (),
                 *, group: bool = False, level: float | None = None) -> list[LossResult]:
    """One result per loss instance from a model's cell: value, breakdown, interval,
    distribution. In a ``group``, a value that cannot be computed (no rows, zero weight, one
    class only...) is None with its reason — one group's lack stops nothing — while
    overall it is the run's error."""
    from losscli.uncertainty import interval_dict

    reduction = plan.reduction
    results = []
    for i, (inst, agg) in enumerate(zip(plan.instances, cell.losses)):
        try:
            value = None if reduction == "none" else agg.result(reduction)
        except InputError as exc:
            if not group:
                raise
            results.append(LossResult.of(inst, None, reason=str(exc).split(". ")[0]))
            continue
        interval = None
        if cell.uncertainty is not None and value is not None:
            interval = interval_dict(cell.uncertainty[i].interval(value, agg, level))
        sketch = None if cell.sketches is None else cell.sketches[i]
        dist = None if sketch is None else distribution_dict(sketch, quantile_levels)
        details = None if reduction == "none" else agg.details()
        undefined = (details or {}).get("reason") if value is not None and value != value \
            else None
        if group and undefined:  # e.g. an AUC of one class: no value, and why
            results.append(LossResult.of(inst, None, details, None, dist, reason=undefined))
            continue
        results.append(LossResult.of(inst, value, details, interval, dist))
    return results


def sort_groups(groups: list[GroupResult], sort: str = "key") -> list[GroupResult]:
    """Groups by key (null last), or with ``sort="value"`` worst first on the first loss
    (highest loss, lowest score; groups without a value last, then by key)."""
    by_key = sorted(groups, key=lambda g: sort_key(tuple(g.key.values())))
    if sort == "key" or not by_key or not by_key[0].losses:
        return by_key
    first = by_key[0].losses[0]
    sign = 1.0 if first.higher_is_better else -1.0

    def badness(g: GroupResult) -> tuple[bool, float]:
        v = g.losses[0].value
        missing = v is None or v != v
        return (missing, 0.0 if missing else sign * v)  # type: ignore[operator]

    return sorted(by_key, key=badness)  # stable: ties stay in key order


class MemorySink:
    """Collects per-row losses for the Python API (the CLI streams them instead)."""

    def __init__(self, columns: list[str]) -> None:
        self.columns = columns
        self.parts: dict[str, list[np.ndarray]] = {"row": [], **{c: [] for c in columns}}

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        self.parts["row"].append(np.asarray(rows, dtype=np.int64))
        for c in self.columns:
            self.parts[c].append(values[c])

    def close(self) -> None:
        pass

    def result(self) -> dict[str, np.ndarray]:
        return {k: np.concatenate(v) if v else np.empty(0) for k, v in self.parts.items()}


class Session:
    """An evaluation over opened inputs (see the module doc).

    ``models``: for a comparison, the models to evaluate side by side (the spec's own
    ``predictions`` are then ignored); each model file brings its own target column unless
    the spec names shared ``targets`` or the models are columns of one file.
    ``fingerprint``: hash the targets and weights for the report's data fingerprint (about
    a third of the engine's own time on a two-column file, so ``eval`` skips it unless the
    report is written as JSON, and ``compare`` always does).
    ``keys``: columns read as they are beside the roles (:meth:`Inputs.bind_keys`): every
    batch carries them in ``Batch.keys`` (nothing uses them yet: group-by, ids, labels).
    """

    def __init__(self, spec: RunSpec, models: Sequence[ModelInput] | None = None,
                 resolved: Resolved | None = None, *, fingerprint: bool = True,
                 paired: bool = False, keys: Sequence[str] = ()) -> None:
        self.spec = spec
        self.sink: Any = None
        # A saved state always carries the fingerprint (a merge of parts gates on it).
        fingerprint = fingerprint or spec.options.save_state is not None
        self.flags: dict[str, Any] = {"fingerprint": fingerprint, "paired": paired,
                                      "keys": list(keys)}  # for a worker's copy
        ins, opts = spec.inputs, spec.options
        models = list(models) if models else [ModelInput("", ins.predictions, ins.pred_col)]
        self.models = models
        params = dict(opts.params)
        if opts.threshold is not None:
            params.setdefault("threshold", opts.threshold)
        instances = resolve_losses(list(opts.losses), params) if opts.losses else []
        columns: dict[str, Any] = {k: list(v) or None for k, v in ins.columns().items()}
        files = {"var": as_source(ins.var, "variances", "var"),
                 "positive": as_source(ins.positive, "positives", "positive"),
                 "negative": as_source(ins.negative, "negatives", "negative")}
        first = models[0]
        main = as_source(first.predictions, "predictions", "pred")
        if isinstance(main, str):
            from losscli.io.formats import open_source

            main = open_source(main, ins.format_in, encoding=ins.encoding,
                               max_line_bytes=ins.max_line_bytes,
                               storage_options=dict(ins.storage_options),
                               partitioning=ins.partitioning)
        roles = self._roles_needed([i.spec for i in instances], columns, files, main)
        if "anchor" in roles and _is_array(first.predictions):
            main = as_source(first.predictions, "anchors", "anchor")
        if "target" not in roles and (ins.targets is not None or ins.target_col):
            raise UsageError(
                f"{', '.join(i.name for i in instances) or 'triplet'} reads no targets (it reads "
                f"{', '.join(roles)}); drop --targets/--target-col."
            )
        if "pred" in roles and _is_array(first.predictions) and ins.targets is None:
            raise UsageError("Predictions given as an array need targets: evaluate(pred, target).")
        self.inputs: Inputs = resolve_inputs(
            main,
            as_source(ins.targets, "targets", "target") if "target" in roles else None,
            as_source(ins.weights, "weights", "weight"),
            pred_col=list(first.pred_col) or None,
            target_col=list(ins.target_col) or None,
            weight_col=ins.weight_col,
            format_in=ins.format_in,
            roles=roles,
            files=files,
            columns=columns,
            encoding=ins.encoding,
            max_line_bytes=ins.max_line_bytes,
            storage_options=dict(ins.storage_options),
            partitioning=ins.partitioning,
            join_keys=(ins.id_col, ins.target_id_col or ins.id_col),
            pred_flag=first.flag,
        )
        self._bind_models(main)
        # -- labels (losscli.labels): a target column of strings or booleans (or one named by
        # --classes/--pos-label) is mapped to class indices as it is read; decided (a pass
        # over that column when needed) before the first rows are read.
        from losscli import labels as label_maps

        self.labels = label_maps.bind(self.inputs, classes=opts.classes,
                                      pos_label=opts.pos_label, task=opts.task,
                                      known=None if resolved is None else resolved.labels)
        task_given = label_maps.task_option(self.labels, opts.task)
        # -- end labels
        self.join: Any = None  # --id-col: the targets' KeyIndex
        if ins.id_col:
            self._bind_join(main)
        aligned = () if ins.id_col else self._id_columns(main)
        # the join key and the group columns, read raw beside the roles
        keys = list(dict.fromkeys([*keys, *ins.id_col, *opts.group_by]))
        if self.join is not None:  # group columns only the targets' file has come by key
            keys = [k for k in keys if k not in self.join.extra]
        if keys:
            self.inputs.bind_keys(keys)
        if resolved is not None:  # on a worker: what the client decided, without re-reading
            self.chunk_size = resolved.chunk_size
            self.widths = dict(resolved.widths)
            sample = None
            task, decided_by = resolved.task, resolved.decided_by
            instances = resolve_losses(list(resolved.losses), {})
        else:
            self.chunk_size = ins.chunk_size or default_chunk_size(self.inputs.declared_width())
            specs = list(instances)  # their given parameters count (tasks.fitting_tasks)

            def settled(rows: dict[str, np.ndarray]) -> bool:
                """Whether more rows could not change the task: then a pipe that pauses (tail
                -f) is not waited on for DETECT_ROWS rows. Rows that look binary may not."""
                found, by = tasks.detect_task(rows, specs, task=task_given, roles=roles,
                                              from_logits=opts.from_logits,
                                              describe=self.inputs.describe)
                target = rows.get("target")
                return by != "values" or (found == "regression" and target is not None
                                          and bool(np.isfinite(target).any()))

            sample = self.inputs.peek(self.chunk_size, tasks.DETECT_ROWS,
                                      settled=None if self.join else settled)
            if sample is not None and self.join is not None:  # the sample's targets, by key
                rows = len(next(iter(sample.values())))
                sample.update(self.join.sample(self.inputs.peeked_keys(ins.id_col, rows)))
            self.widths = ({} if sample is None else
                           {role: 1 if a.ndim == 1 else a.shape[1] for role, a in sample.items()})
            task, decided_by = tasks.detect_task(
                sample, specs, task=task_given, roles=roles,
                from_logits=opts.from_logits, describe=self.inputs.describe)
            if self.labels is not None and opts.task is None:
                decided_by = "labels"
        if not instances:
            instances = resolve_losses(list(tasks.DEFAULT_LOSSES[task]), params)
        instances = tasks.resolve_aliases(instances, task)
        tasks.check_fit(instances, task, self.widths, self.inputs.describe)
        for m in range(1, len(models)):
            role = engine.pred_role(m)
            if self.widths.get(role, 1) != self.widths.get("pred", 1):
                raise InputError(
                    f"Model '{models[m].name}' has {self.widths.get(role, 1)} values per row "
                    f"({self.inputs.describe(role)}) but '{models[0].name}' has "
                    f"{self.widths.get('pred', 1)}; compare models of the same task."
                )
        classes = self.widths.get("pred") if task in ("multiclass", "multilabel") else None
        instances = tasks.bind_options(instances, task, from_logits=opts.from_logits,
                                       classes=classes)
        tasks.check_logits(sample, instances, task, self.inputs.describe, opts.assume_logits)
        self.task = task
        self.decided_by = decided_by
        self.notes = tasks.notes(sample, instances, task, decided_by, opts.from_logits)
        self.context = tasks.context(instances, task, decided_by, from_logits=opts.from_logits)
        self.context.update(label_maps.context(self.labels))  # classes, pos_label
        self.plan = engine.Plan(tuple(instances), models=len(models), reduction=opts.reduction,
                                nan_policy=ins.nan_policy, ci=opts.ci_config(),
                                distribution=opts.relative_accuracy if opts.distribution
                                else None, fingerprint=fingerprint,
                                paired=(opts.ci_config() or CIConfig()) if paired and len(models) > 1
                                else None,
                                calibration=calibration_plan(instances, task, opts.from_logits)
                                if opts.calibration else None,
                                group_by=opts.group_by, max_groups=opts.max_groups,
                                carry=tuple(dict.fromkeys([*ins.id_col, *opts.group_by])),
                                aligned=aligned)

    def _id_columns(self, main: Any) -> tuple[tuple[str, str, str, str, str], ...]:
        """Without --id-col, an id-like column (``id``, ``*_id``, ``key``, ``uid``...) found
        in both the predictions' and a separate targets file is read on both sides, so that
        rows listed in different orders stop the run instead of giving a wrong number (see
        :data:`losscli.engine.Plan.aligned`)."""
        from losscli.io.inputs import raw_column

        target = self.inputs.roles.get("target")
        if target is None or target.source is main:
            return ()
        used = {c for ref in self.inputs.roles.values() for c in ref.columns}
        found = []
        for column in main.columns:
            name = str(column)
            if name in used or not ID_LIKE.search(name.lower()):
                continue
            other = raw_column(target.source, name)
            if other is None or other in target.columns:
                continue
            mine, theirs = f"\x00align:{name}:pred", f"\x00align:{name}:target"
            self.inputs.keys[mine] = (main, name)
            self.inputs.keys[theirs] = (target.source, other)
            found.append((name, mine, theirs, str(main.name), str(target.source.name)))
        return tuple(found)

    def _bind_join(self, main: Any) -> None:
        """--id-col: take the targets (and a weight column of the targets' file, or a weights
        file) out of the row-aligned inputs into a :class:`~losscli.io.join.KeyIndex`; the
        predictions' key columns are read raw beside them. Models of a comparison in files
        of their own are joined to the same index by the same key (every model on the same
        keys: :meth:`~losscli.io.join.KeyIndex.attach_model`); the first model's file is
        streamed."""
        from losscli.io.inputs import raw_column
        from losscli.io.join import KeyIndex

        ins = self.spec.inputs
        target = self.inputs.roles.get("target")
        if ins.targets is None or target is None or target.source is main:
            raise UsageError(
                "--id-col joins the predictions to a separate targets file by key; give it "
                "with --targets FILE (in one file, rows are already paired: drop --id-col).")
        # Models in files of their own (compare a=x.parquet b=y.parquet, check --reference):
        # each is joined to the targets by the same key, so all are read on the same keys.
        joined_models = [(f"pred#{m}", model) for m, model in enumerate(self.models)
                         if m and self.inputs.roles[f"pred#{m}"].source is not main]
        tkeys = ins.target_id_col or ins.id_col
        tflag = "--target-id-col" if ins.target_id_col else "--id-col"
        weight = self.inputs.roles.get("weight")
        checks = [*((n, main, "--id-col", "") for n in ins.id_col),
                  *((n, target.source, tflag, "") for n in tkeys),
                  *((n, self.inputs.roles[role].source, "--id-col", f" (model '{model.name}')")
                    for role, model in joined_models for n in ins.id_col)]
        if weight is not None and weight.source is not main and weight.source is not (
                target.source):
            checks += [(n, weight.source, tflag, " (the weights file)") for n in tkeys]
        for name, source, flag, what in checks:
            if raw_column(source, name) is None:
                hint = (f"; the weights are joined to the targets by key: add the key column "
                        f"'{name}' to it, or give the weights as a column of the targets file with "
                        "--weight-col" if what == " (the weights file)" else
                        f"; name it with {flag}"
                        + (" (--target-id-col when the targets call it otherwise)"
                           if flag == "--id-col" and source is target.source else ""))
                raise InputError(
                    f"No key column '{name}' in '{source.name}'{what} (columns: "
                    f"{', '.join(map(str, source.columns))}){hint}.")
        self.inputs.joined["target"] = self.inputs.roles.pop("target")
        columns = {"target": target.columns}
        weights = None
        if weight is not None and weight.source is target.source:
            columns["weight"] = weight.columns
            self.inputs.joined["weight"] = self.inputs.roles.pop("weight")
        elif weight is not None and weight.source is not main:  # a weights file, by key
            weights = (weight.source, weight.columns,
                       tuple(raw_column(weight.source, n) or n for n in tkeys))
            self.inputs.joined["weight"] = self.inputs.roles.pop("weight")
        pred_where = (f"'{main.name}'" if not joined_models else
                      f"model '{self.models[0].name}' ('{main.name}')")
        # --group-by columns that the row-aligned inputs lack but the targets' file has are
        # read there and joined by key with the targets.
        aligned = [ref.source for ref in self.inputs.roles.values()]
        extra = {name: col for name in self.spec.options.group_by
                 if not any(raw_column(src, name) is not None for src in aligned)
                 and (col := raw_column(target.source, name)) is not None}
        self.join = KeyIndex.read(target.source, columns,
                                  tuple(raw_column(target.source, n) or n for n in tkeys),
                                  ins.id_col, DEFAULT_CHUNK_SIZE, pred_where, weights,
                                  self.inputs.labels.pop("target", None), extra)
        for role, model in joined_models:
            ref = self.inputs.roles.pop(role)
            self.inputs.joined[role] = ref
            self.join.attach_model(
                role, ref.source, ref.columns,
                tuple(raw_column(ref.source, n) or n for n in ins.id_col),
                name=model.name,
                omit=ins.unmatched == "omit", chunk_size=DEFAULT_CHUNK_SIZE)

    # -- resolution ------------------------------------------------------------------------
    @staticmethod
    def _roles_needed(specs: list[Any], columns: dict[str, Any], files: dict[str, Any],
                      main: Any) -> tuple[str, ...]:
        """The roles to bind: those the selected losses read; without --loss, triplet inputs
        when anchor/positive/negative are given or the main file has such columns, else
        predictions and targets."""
        if specs:
            roles = tuple(dict.fromkeys(r for spec in specs for r in spec.inputs))
        elif any(columns.get(r) or files.get(r) is not None for r in EMBEDDING_ROLES) or (
            _has_columns(main, EMBEDDING_ROLES)
        ):
            roles = EMBEDDING_ROLES
        else:
            roles = ("pred", "target")
        for role in ("var", *EMBEDDING_ROLES):
            if role not in roles and (columns.get(role) or files.get(role) is not None):
                users = sorted({s.name for s in all_losses().values() if role in s.inputs})
                flag = ROLES[role].col_flag if columns.get(role) else ROLES[role].file_flag
                raise UsageError(
                    f"{flag} is read only by {', '.join(users)}, which is not selected; add "
                    f"--loss {users[0]}, or drop {flag}."
                )
        return roles

    def _bind_models(self, main: Any) -> None:
        """Bind models 1.. of a comparison: columns of the first model's file, or their own
        files (each with its own targets unless shared targets were given)."""
        if len(self.models) < 2:
            return
        from losscli.io.formats import open_source
        from losscli.io.inputs import pair_source

        ins = self.spec.inputs
        shared = ins.targets is not None
        opened: dict[str, Any] = {}
        self.inputs.models["pred"] = (self.models[0].name, self.models[0].flag)
        for m, model in enumerate(self.models[1:], start=1):
            same_file = model.predictions is self.models[0].predictions or (
                isinstance(model.predictions, str) and model.predictions == self.models[0].predictions)
            if same_file:
                source = main
            elif isinstance(model.predictions, str):
                source = opened.get(model.predictions)
                if source is None:
                    source = open_source(
                        model.predictions, ins.format_in, encoding=ins.encoding,
                        max_line_bytes=ins.max_line_bytes,
                        storage_options=dict(ins.storage_options),
                        partitioning=ins.partitioning)
                    if not ins.id_col:  # joined by key (see _bind_join), not file by file
                        source = pair_source(source, main, f"model '{model.name}'")
                opened[model.predictions] = source
            else:
                source = as_source(model.predictions, model.name, "pred")
            self.inputs.bind_model(m, source, list(model.pred_col) or None,
                                   list(ins.target_col) or None,
                                   own_target=not shared and not same_file,
                                   name=model.name, flag=model.flag, taken=ins.id_col)

    def resolved(self) -> Resolved:
        """What this session decided from the data (task, loss instances, widths, chunk
        size): with the spec, all another process needs to reduce this session's units."""
        return Resolved(self.task, self.decided_by,
                        tuple(inst.loss_arg for inst in self.plan.instances),
                        tuple(sorted(self.widths.items())), self.chunk_size, self.labels)

    # -- the run -----------------------------------------------------------------------------
    @property
    def instances(self) -> list[LossInstance]:
        return list(self.plan.instances)

    def describe(self, role: str, index: int | None = None) -> str:
        return self.inputs.describe(role, index)

    def units(self) -> list[Unit]:
        """The work units, in row order (the plan: see the module doc). Inputs that can read
        any range of rows are cut at their natural boundaries into units read side by side;
        others (a pipe, compressed text) are one unit read as one stream (the first rows,
        read to detect the task, are replayed); a multi-file input is planned file by
        file."""
        from losscli.io.dataset import single_file_identity
        from losscli.io.formats import DatasetSource

        self._prepare()
        inputs = self.inputs
        main = inputs.main
        if isinstance(main, DatasetSource) and inputs.paired():
            return self._file_units(main)
        name = single_file_identity(main.name)
        if not inputs.splittable():
            return [Unit(0, name, 0, inputs.num_rows)]
        counts = {ref.source.name: ref.source.num_rows for ref in inputs.roles.values()}
        counts.update({s.name: s.num_rows for s, _ in inputs.keys.values()})
        if len(set(counts.values())) > 1:
            shown = " but ".join(f"'{n}' has {c} rows" for n, c in counts.items())
            raise InputError(
                f"Row counts differ: {shown}. Predictions, targets and weights are aligned by "
                "row order, so the files must have the same number of rows.")
        if isinstance(main, DatasetSource):  # rows aligned across differently cut inputs
            units: list[Unit] = []
            starts = main.starts()
            for i in range(len(main.files)):
                part = main.part(i)
                for a, b in plan_ranges(part.split_points(), self.chunk_size,
                                        cut=part.rows_seekable):
                    units.append(Unit(len(units), main.identities[i], a, b - a,
                                      starts[i] + a, starts[i] + b))
            return units
        ranges = plan_ranges(main.split_points(), self.chunk_size, cut=main.rows_seekable)
        return [Unit(i, name, a, b - a, a, b) for i, (a, b) in enumerate(ranges)]

    def _file_units(self, main: Any) -> list[Unit]:
        """Units of paired multi-file inputs: file by file (see the module doc)."""
        from losscli.io.base import can_split

        sources = list(dict.fromkeys([ref.source for ref in self.inputs.roles.values()]
                                     + [s for s, _ in self.inputs.keys.values()]))
        units: list[Unit] = []
        offset: int | None = 0  # rows of the files before, while known
        for i in range(len(main.files)):
            parts = [s.part(i) for s in sources]
            counts = {s.files[i].display: p.num_rows for s, p in zip(sources, parts)
                      if p.num_rows is not None}
            if len(set(counts.values())) > 1:
                shown = " but ".join(f"'{n}' has {c} rows" for n, c in counts.items())
                raise InputError(
                    f"Row counts differ: {shown}. Paired files are aligned by row order, so "
                    "each pair must have the same number of rows.")
            rows = next(iter(counts.values())) if len(counts) == len(parts) else None
            first = main.part(i)
            ranges: list[tuple[int, int]] | None = None
            if rows is not None and all(can_split(p) for p in parts):
                ranges = plan_ranges(first.split_points(), self.chunk_size,
                                     cut=first.rows_seekable)
            placed = offset is not None
            base = offset or 0
            if ranges is None:  # the whole file, read as one stream
                units.append(Unit(len(units), main.identities[i], 0, rows, base, None, i,
                                  placed))
            else:
                units.extend(Unit(len(units) + k, main.identities[i], a, b - a, base + a,
                                  base + b, i, placed) for k, (a, b) in enumerate(ranges))
            offset = None if offset is None or rows is None else offset + rows
        return units

    def _prepare(self) -> None:
        """Before a plan (or a unit on a Dask worker): open the files of the datasets read
        (from object storage on several threads) and, when text files are to be cut (see
        :data:`TEXT_SPLIT_WORKERS`), scan them. Done once."""
        if getattr(self, "_prepared", False):
            return
        with _PREPARING:  # a Dask worker may run several units of a session at once
            if not getattr(self, "_prepared", False):
                self._prepare_sources()
                self._prepared = True

    def _prepare_sources(self) -> None:
        from losscli.io.formats import DatasetSource

        sources = list(dict.fromkeys([ref.source for ref in self.inputs.roles.values()]
                                     + [s for s, _ in self.inputs.keys.values()]))
        split = (self.spec.options.engine == "dask"
                 or min(self.workers, available_cpus()) > TEXT_SPLIT_WORKERS)
        step = UNIT_CHUNKS * self.chunk_size
        for source in sources:
            if isinstance(source, DatasetSource):
                if source.format in ("csv", "tsv", "ndjson"):
                    source.open_all()
                parts = [source.part(i) for i in range(len(source.files))]
            else:
                parts = [source]
            if split:
                for part in parts:
                    scan = getattr(part, "scan", None)
                    if scan is not None and (part.size or 0) >= TEXT_SPLIT_BYTES:
                        scan(step)

    @property
    def workers(self) -> int:
        """Threads reducing units: ``--workers``, else every CPU this process may use, or
        for inputs in object storage :data:`REMOTE_WORKERS_PER_CPU` threads per CPU (at most
        :data:`REMOTE_MAX_WORKERS`; the local engine only: Dask's workers are processes)."""
        if self.spec.options.workers:
            return self.spec.options.workers
        cpus = available_cpus()
        if self.spec.options.engine == "local" and any(
                getattr(ref.source, "remote", False) for ref in self.inputs.roles.values()):
            return min(REMOTE_WORKERS_PER_CPU * cpus, max(REMOTE_MAX_WORKERS, cpus))
        return cpus

    def reduce(self, unit: Unit, *, sink: Any = None,
               on_batch: Callable[[int], None] | None = None,
               stop: threading.Event | None = None, counting_only: bool = False,
               prefetched: bool = True, shift: int = 0) -> State:
        """Reduce one work unit to its State (a bad row stops it; the error is in the state).
        ``shift``: rows of the files before an unplaced unit's file (its rows are numbered
        from there; see :class:`Unit`)."""
        read = 0
        join = self.join
        tally = None if join is None else join.new_state()

        def counted(batches: Iterator[Batch]) -> Iterator[Batch]:
            nonlocal read
            for batch in batches:
                if stop is not None and stop.is_set():
                    return
                read += len(batch)
                if join is not None:  # --id-col: the targets of the keys
                    batch = join.join(batch, tally)
                    if not len(batch):
                        continue
                yield batch

        self._prepare()
        base = unit.start + shift
        if unit.part is not None:
            hi = None if unit.stop is None else unit.first_row + unit.stop - unit.start
            batches: Iterator[Batch] = self.inputs.batches_in_file(
                unit.part, unit.first_row, hi, self.chunk_size, base)
        elif unit.stop is None:
            batches = self.inputs.batches(self.chunk_size)
        else:
            batches = self.inputs.batches_between(unit.start, unit.stop, self.chunk_size)
        state = engine.reduce(counted(prefetch(batches) if prefetched else batches), self.plan,
                              describe=self.describe, sink=sink, on_batch=on_batch,
                              counting_only=counting_only, ids=self._row_ids(unit, base))
        state.coverage = [Coverage(unit.file, unit.first_row, read)]
        state.join = tally
        if state.error is not None and unit.part is not None and len(
                self.inputs.main.files) > 1:
            # The engine names the row of the whole input; say which file holds it.
            where = self.inputs.main.files[unit.part].display
            state.error = UnitError(state.error.at, f"{state.error.message.rstrip()} (In "
                                    f"'{where}', whose first row is row {base - unit.first_row}"
                                    " of the input.)")
        return state

    def _row_ids(self, unit: Unit, base: int) -> Callable[[int, int], np.ndarray] | None:
        """Row identities for the bootstrap: (the unit's file, the row within that file) —
        the same whatever the split into units or the order they run in (``base``: the
        number of the unit's first row)."""
        if self.plan.ci is None:
            return None
        from losscli.stats.resample import file_key, row_ids

        key = file_key(unit.file)

        def ids(start: int, n: int) -> np.ndarray:
            return row_ids(key, unit.first_row + (start - base), n)

        return ids

    def input_paths(self) -> list[str]:
        """The files the inputs are read from (what an output must not overwrite)."""
        from losscli.spec import DATA_FIELDS

        ins = self.spec.inputs
        paths = [getattr(ins, f) for f in DATA_FIELDS]
        paths += [m.predictions for m in self.models]
        paths += [ref.source.name for ref in self.inputs.roles.values()]
        return list(dict.fromkeys(p for p in paths if isinstance(p, str) and p != "-"))

    def open_sink(self) -> Any:
        """Where per-row values go under ``--reduction none``: the ``output`` file, standard
        output in ``output_format``, or memory (the Python API's ``report.per_row``). A file
        is written to a temporary file and renamed into place by ``close()``, removed by
        ``discard()`` (:func:`losscli.io.sinks.open_sink`); an input file is refused."""
        opts = self.spec.options
        columns = [inst.column for inst in self.plan.instances]
        keys = list(self.plan.carry)
        if opts.output is None and opts.output_format is None:
            return MemorySink(keys + columns)
        from losscli.io.sinks import open_sink

        return open_sink(opts.output, columns, opts.output_format if opts.output is None else None,
                         inputs=self.input_paths(), keys=keys)

    def run(self, *, on_batch: Callable[[int], None] | None = None, sink: Any = None) -> State:
        """Reduce every unit (on :attr:`workers` threads) and merge the states in unit order;
        then raise what can only be judged on all the rows (the earliest bad row, NaN counts,
        label conventions), exactly as one serial pass over the same units would. Per-row
        values go to ``sink`` (default: :meth:`open_sink`) when the reduction is ``none``,
        in row order."""
        own_sink = sink is None and self.plan.reduction == "none"
        units = self.units()
        workers = min(self.workers, len(units))
        if self.plan.reduction == "none" and any(u.stop is None or not u.placed for u in units):
            workers = 1  # per-row values are written in place, never buffered whole files
        rows = _Rows(on_batch)
        placement = _Placement()
        serial = workers == 1 and self.spec.options.engine != "dask"

        def work(unit: Unit, stop: threading.Event) -> tuple[State, _Buffered | None, int]:
            # In a serial run every unit before this one is merged: its place is known.
            shift = placement.shift(unit) if serial else 0
            buffer = _Buffered() if sink is not None and workers > 1 else None
            state = self.reduce(unit, sink=buffer or sink,
                                on_batch=rows.callback(unit, unit.start + (shift or 0)),
                                stop=stop, prefetched=workers == 1, shift=shift or 0)
            return state, buffer, shift or 0

        results: Iterator[tuple[Unit, tuple[State, _Buffered | None, int]]]
        if self.spec.options.engine == "dask":
            from losscli import distributed

            results = ((unit, (state, None, 0)) for unit, state in distributed.ordered_states(
                self, units, scheduler=self.spec.options.scheduler, workers=workers,
                on_batch=on_batch))
        else:
            results = ordered_map(work, units, workers=workers,
                                  stop_after=lambda r: r[0].error is not None)
        try:
            if own_sink:
                sink = self.open_sink()
            self.sink = sink
            state = self.plan.new_state()
            # Coverage is joined once at the end: re-joining it at every merge took time
            # quadratic in the units (10,000 files: 8 s).
            covered: list[Coverage] = []
            for unit, (part, buffer, applied) in results:
                shift = placement.shift(unit)
                assert shift is not None  # every unit before this one is merged
                if shift != applied:  # reduced before its place was known
                    if part.error is not None:  # found again in place: rows in its message
                        part = self.reduce(unit, shift=shift, prefetched=False)
                    else:
                        _rebase(part, shift - applied)
                if buffer is not None:
                    buffer.replay(sink)
                if part.error is not None and state.nonfinite.counts:
                    # A NaN came first: a serial pass would be counting NaNs by now, so count
                    # them in this unit and every later one, as it would have.
                    part.nonfinite = self._count_nonfinite(units[unit.index:], workers,
                                                           placement.copy())
                placement.merged(unit, part)
                covered.extend(part.coverage)
                part.coverage = []
                state.merge(part)
                if state.groups is not None and len(state.groups) > self.plan.max_groups:
                    raise too_many_groups(len(state.groups), self.plan.max_groups,
                                          self.plan.group_by)
            state.coverage = coalesce(covered)
            if self.join is not None:  # keys matched twice, or missing on a side
                # (targets without a prediction: judged when saved parts are merged)
                self.join_summary = self.join.judge(
                    state, self.spec.inputs.unmatched == "omit",
                    targets_too=self.spec.options.save_state is None)
            engine.raise_pending(state, self.describe, self.plan.instances)
            for m, cell in enumerate(state.cells):
                if cell.rows == 0 and cell.rows_skipped == 0:
                    role = engine.pred_role(m) if m else next(iter(self.inputs.roles))
                    raise InputError(f"{self.inputs.describe(role)} has no data rows; nothing "
                                     "to evaluate.")
        except BaseException:
            # A failed or interrupted run leaves no partial output (a file sink removes its
            # temporary file; any previous file stays as it was).
            if own_sink and sink is not None:
                getattr(sink, "discard", sink.close)()
            raise
        if own_sink and sink is not None:
            sink.close()  # a file output is renamed into place only now
        return state

    def _count_nonfinite(self, units: list[Unit], workers: int,
                         placement: _Placement) -> NonFinite:
        tallies = NonFinite()
        for unit, part in ordered_map(
                lambda unit, stop: self.reduce(unit, stop=stop, counting_only=True,
                                               prefetched=False),
                units, workers=workers):
            _rebase(part, placement.shift(unit) or 0)
            placement.merged(unit, part)
            tallies.merge(part.nonfinite)
        return tallies

    def report(self, state: State, *, model: int = 0, elapsed: float = 0.0,
               group_level: Callable[[int], float | None] | None = None) -> Report:
        """The report of model ``model`` from a (merged) state (``group_level``: see
        :func:`build_report`)."""
        opts = self.spec.options
        inputs = {**self.inputs.to_dict(model), **self.context}
        notes = list(self.notes)
        summary = getattr(self, "join_summary", None)
        if summary:
            inputs["join"] = summary
            left = [f"{summary[k]} {what}{'s' if summary[k] != 1 else ''} without a {other}"
                    for k, what, other in (
                        ("unmatched_predictions", "prediction row", "target"),
                        ("unmatched_targets", "target", "prediction"))
                    if summary.get(k)]
            if left:
                notes.append(f"--unmatched omit: left out {' and '.join(left)}; "
                             f"{summary['matched']} rows matched")
            notes.extend(self.join.model_notes())
            if "unmatched_targets" not in summary:
                notes.append("targets without a prediction are judged when the saved parts "
                             "are merged (losscli merge)")
        return build_report(self.plan, state, model=model, inputs=inputs,
                            elapsed=elapsed, notes=notes,
                            output=opts.output if self.plan.reduction == "none" else None,
                            quantile_levels=opts.quantile_levels, sort=opts.sort,
                            group_level=group_level)

    def evaluate(self, *, on_batch: Callable[[int], None] | None = None,
                 started: float | None = None,
                 group_level: Callable[[int], float | None] | None = None) -> Report:
        """Run and report (model 0); per-row values land in ``report.per_row`` when they
        went to memory."""
        started = time.perf_counter() if started is None else started
        opts = self.spec.options
        if opts.save_state is not None:  # the one output guard (the CLI called it before too)
            from losscli.io.atomic import guard

            guard([("input", p) for p in self.input_paths()],
                  {"--output": opts.output, "--save-state": opts.save_state})
        state = self.run(on_batch=on_batch)
        report = self.report(state, elapsed=time.perf_counter() - started,
                             group_level=group_level)
        if self.spec.options.save_state is not None:
            from losscli.saved import save_state

            save_state(self.spec.options.save_state, self, state)
        if isinstance(self.sink, MemorySink):
            report.per_row = self.sink.result()
        return report
