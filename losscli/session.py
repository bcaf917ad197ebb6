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
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from losscli import engine, tasks
from losscli.errors import InputError, UsageError
from losscli.io.inputs import Batch, Inputs, resolve_inputs
from losscli.io.prefetch import prefetch
from losscli.registry import LossInstance, all_losses, resolve_losses
from losscli.report import LossResult, Report
from losscli.spec import Columns, RunSpec
from losscli.state import Coverage, State
from losscli.vocab import EMBEDDING_ROLES, ROLES

DEFAULT_CHUNK_SIZE = 1 << 18
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


@dataclass(frozen=True)
class Unit:
    """A work unit: rows of the inputs that reduce to one State. ``file`` is where its rows
    come from (relative to the input root), ``first_row`` the row of that file where it
    starts, ``rows`` how many it covers (None when unknown before reading)."""

    index: int
    file: str
    first_row: int
    rows: int | None


def as_source(obj: Any, name: str, default_column: str) -> Any:
    """A path stays a path; an array or pandas object becomes an in-memory source."""
    from losscli.io.formats.memory import ArraySource

    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "columns") and hasattr(obj, "to_numpy"):  # pandas DataFrame
        return ArraySource(name, {str(c): obj[c].to_numpy() for c in obj.columns})
    if hasattr(obj, "to_numpy"):  # pandas Series
        return ArraySource(name, {str(obj.name or default_column): obj.to_numpy()})
    return ArraySource(name, {default_column: np.asarray(obj)})


def _is_array(obj: Any) -> bool:
    return isinstance(obj, np.ndarray | list | tuple)


def _has_columns(source: Any, names: tuple[str, ...]) -> bool:
    cols = [str(c).lower() for c in source.columns]
    return all(n in cols for n in names)


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
    """

    def __init__(self, spec: RunSpec, models: Sequence[ModelInput] | None = None) -> None:
        self.spec = spec
        self.sink: Any = None
        ins, opts = spec.inputs, spec.options
        models = list(models) if models else [ModelInput("", ins.predictions, ins.pred_col)]
        self.models = models
        instances = resolve_losses(list(opts.losses), dict(opts.params)) if opts.losses else []
        columns: dict[str, Any] = {k: list(v) or None for k, v in ins.columns().items()}
        files = {"var": as_source(ins.var, "variances", "var"),
                 "positive": as_source(ins.positive, "positives", "positive"),
                 "negative": as_source(ins.negative, "negatives", "negative")}
        first = models[0]
        main = as_source(first.predictions, "predictions", "pred")
        if isinstance(main, str):
            from losscli.io.formats import open_source

            main = open_source(main, ins.format_in, encoding=ins.encoding,
                               max_line_bytes=ins.max_line_bytes)
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
        )
        self._bind_models(main)
        self.chunk_size = ins.chunk_size or default_chunk_size(self.inputs.declared_width())
        specs = [i.spec for i in instances]

        def settled(rows: dict[str, np.ndarray]) -> bool:
            """Whether more rows could not change the task: then a pipe that pauses (tail
            -f) is not waited on for DETECT_ROWS rows. Rows that look binary may not."""
            found, by = tasks.detect_task(rows, specs, task=opts.task, roles=roles,
                                          from_logits=opts.from_logits,
                                          describe=self.inputs.describe)
            target = rows.get("target")
            return by != "values" or (found == "regression" and target is not None
                                      and bool(np.isfinite(target).any()))

        sample = self.inputs.peek(self.chunk_size, tasks.DETECT_ROWS, settled=settled)
        self.widths = ({} if sample is None else
                       {role: 1 if a.ndim == 1 else a.shape[1] for role, a in sample.items()})
        task, decided_by = tasks.detect_task(
            sample, [i.spec for i in instances], task=opts.task, roles=roles,
            from_logits=opts.from_logits, describe=self.inputs.describe)
        if not instances:
            instances = resolve_losses(list(tasks.DEFAULT_LOSSES[task]), dict(opts.params))
        tasks.check_fit(instances, task, self.widths, self.inputs.describe)
        for m in range(1, len(models)):
            role = engine.pred_role(m)
            if self.widths.get(role, 1) != self.widths.get("pred", 1):
                raise InputError(
                    f"Model '{models[m].name}' has {self.widths.get(role, 1)} values per row "
                    f"({self.inputs.describe(role)}) but '{models[0].name}' has "
                    f"{self.widths.get('pred', 1)}; compare models of the same task."
                )
        instances = tasks.bind_options(instances, task, from_logits=opts.from_logits,
                                       threshold=opts.threshold)
        self.task = task
        self.context = tasks.context(instances, task, decided_by, from_logits=opts.from_logits,
                                     threshold=opts.threshold)
        self.plan = engine.Plan(tuple(instances), models=len(models), reduction=opts.reduction,
                                nan_policy=ins.nan_policy)

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

        ins = self.spec.inputs
        shared = ins.targets is not None
        opened: dict[str, Any] = {}
        for m, model in enumerate(self.models[1:], start=1):
            same_file = model.predictions is self.models[0].predictions or (
                isinstance(model.predictions, str) and model.predictions == self.models[0].predictions)
            if same_file:
                source = main
            elif isinstance(model.predictions, str):
                source = opened.get(model.predictions) or open_source(
                    model.predictions, ins.format_in, encoding=ins.encoding,
                    max_line_bytes=ins.max_line_bytes)
                opened[model.predictions] = source
            else:
                source = as_source(model.predictions, model.name, "pred")
            self.inputs.bind_model(m, source, list(model.pred_col) or None,
                                   list(ins.target_col) or None,
                                   own_target=not shared and not same_file)

    # -- the run -----------------------------------------------------------------------------
    @property
    def instances(self) -> list[LossInstance]:
        return list(self.plan.instances)

    def describe(self, role: str, index: int | None = None) -> str:
        return self.inputs.describe(role, index)

    def units(self) -> list[Unit]:
        """The work units, in row order. Today the whole input is one unit read as one
        stream of chunks (the first rows, read to detect the task, are replayed)."""
        main = self.inputs.main
        return [Unit(0, os.path.basename(main.name) if os.sep in main.name else main.name, 0,
                     self.inputs.num_rows)]

    def reduce(self, unit: Unit, *, sink: Any = None,
               on_batch: Callable[[int], None] | None = None) -> State:
        """Reduce one work unit to its State (errors in its rows raise at once)."""
        read = 0

        def counted(batches: Iterator[Batch]) -> Iterator[Batch]:
            nonlocal read
            for batch in batches:
                read += len(batch)
                yield batch

        state = engine.reduce(counted(prefetch(self.inputs.batches(self.chunk_size))), self.plan,
                              describe=self.describe, sink=sink, on_batch=on_batch)
        state.coverage = [Coverage(unit.file, unit.first_row, read)]
        return state

    def open_sink(self) -> Any:
        """Where per-row values go under ``--reduction none``: the ``output`` file, standard
        output in ``output_format``, or memory (the Python API's ``report.per_row``)."""
        opts = self.spec.options
        columns = [inst.column for inst in self.plan.instances]
        if opts.output is None and opts.output_format is None:
            return MemorySink(columns)
        from losscli.io.sinks import open_sink

        return open_sink(opts.output, columns, opts.output_format if opts.output is None else None)

    def run(self, *, on_batch: Callable[[int], None] | None = None, sink: Any = None) -> State:
        """Reduce every unit and merge the states in unit order; then raise what can only be
        judged on all the rows (NaN counts, label conventions). Per-row values go to
        ``sink`` (default: :meth:`open_sink`) when the reduction is ``none``."""
        own_sink = sink is None and self.plan.reduction == "none"
        if own_sink:
            sink = self.open_sink()
        self.sink = sink
        try:
            state = self.plan.new_state()
            for unit in self.units():
                state.merge(self.reduce(unit, sink=sink, on_batch=on_batch))
        finally:
            if own_sink and sink is not None:
                sink.close()
        engine.raise_pending(state, self.describe, self.plan.instances)
        for m, cell in enumerate(state.cells):
            if cell.rows == 0 and cell.rows_skipped == 0:
                role = engine.pred_role(m) if m else next(iter(self.inputs.roles))
                raise InputError(f"{self.inputs.describe(role)} has no data rows; nothing to "
                                 "evaluate.")
        return state

    def report(self, state: State, *, model: int = 0, elapsed: float = 0.0) -> Report:
        """The report of model ``model`` from a (merged) state."""
        cell = state.cells[model]
        reduction = self.plan.reduction
        values: list[float | None] = (
            [None] * len(cell.losses) if reduction == "none"
            else [agg.result(reduction) for agg in cell.losses])
        opts = self.spec.options
        return Report(
            inputs={**self.inputs.to_dict(model), **self.context},
            rows=cell.rows,
            rows_skipped=cell.rows_skipped,
            reduction=reduction,
            losses=[LossResult.of(inst, v) for inst, v in zip(self.plan.instances, values)],
            elapsed_seconds=elapsed,
            output=opts.output if reduction == "none" else None,
        )

    def evaluate(self, *, on_batch: Callable[[int], None] | None = None,
                 started: float | None = None) -> Report:
        """Run and report (model 0); per-row values land in ``report.per_row`` when they
        went to memory."""
        started = time.perf_counter() if started is None else started
        state = self.run(on_batch=on_batch)
        report = self.report(state, elapsed=time.perf_counter() - started)
        if isinstance(self.sink, MemorySink):
            report.per_row = self.sink.result()
        return report
