"""Running a session: every work unit reduced (on threads of this process, or by the
workers of a Dask cluster) and the states merged in unit order, then what can only be
judged on all the rows raised as one serial pass would; per-row values written in row
order; and :func:`evaluate`, run and report in one call. Saving the merged state
(``--save-state``) is the caller's act (:func:`losscli.saved.save_state`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import numpy as np

from losscli.checks import pred_role, raise_pending
from losscli.errors import InputError
from losscli.executor import ordered_map
from losscli.grouping import too_many_groups
from losscli.io.atomic import guard
from losscli.io.base import Sink
from losscli.io.release import RELEASE_ROWS, release_unused
from losscli.report import Report
from losscli.reporting import build_report
from losscli.session import Session
from losscli.state import Coverage, NonFinite, State, coalesce
from losscli.units import Placement, Unit, plan_units, rebase
from losscli.worker import job_for, reduce


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

    def replay(self, sink: Sink) -> None:
        for rows, values in self.parts:
            sink.write(rows, values)


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


def open_sink(session: Session) -> Sink:
    """Where per-row values go under ``--reduction none``: the ``output`` file, standard
    output in ``output_format``, or memory (the Python API's ``report.per_row``). A file
    is written to a temporary file and renamed into place by ``close()``, removed by
    ``discard()`` (:func:`losscli.io.sinks.open_sink`); an input file is refused."""
    opts = session.spec.options
    columns = [inst.column for inst in session.plan.instances]
    keys = list(session.plan.carry)
    if opts.output is None and opts.output_format is None:
        return MemorySink(keys + columns)
    from losscli.io.sinks import open_sink

    return open_sink(opts.output, columns, opts.output_format if opts.output is None else None,
                     inputs=session.input_paths(), keys=keys)


def run(session: Session, *, on_batch: Callable[[int], None] | None = None,
        sink: Sink | None = None) -> State:
    """Reduce every unit (on the session's :attr:`~Session.workers` threads) and merge the
    states in unit order; then raise what can only be judged on all the rows (the earliest
    bad row, NaN counts, label conventions), exactly as one serial pass over the same units
    would. Per-row values go to ``sink`` (default: :func:`open_sink`) when the reduction is
    ``none``, in row order."""
    own_sink = sink is None and session.plan.reduction == "none"
    units = plan_units(session)
    workers = min(session.workers, len(units))
    if session.plan.reduction == "none" and any(u.stop is None or not u.placed for u in units):
        workers = 1  # per-row values are written in place, never buffered whole files
    rows = _Rows(on_batch)
    placement = Placement()
    serial = workers == 1 and session.spec.options.engine != "dask"

    def work(unit: Unit, stop: threading.Event) -> tuple[State, _Buffered | None, int]:
        # In a serial run every unit before this one is merged: its place is known.
        shift = placement.shift(unit) if serial else 0
        buffer = _Buffered() if sink is not None and workers > 1 else None
        state = reduce(session, unit, sink=buffer or sink,
                       on_batch=rows.callback(unit, unit.start + (shift or 0)),
                       stop=stop, prefetched=workers == 1, shift=shift or 0)
        return state, buffer, shift or 0

    results: Iterator[tuple[Unit, tuple[State, _Buffered | None, int]]]
    if session.spec.options.engine == "dask":
        from losscli import distributed

        results = ((unit, (state, None, 0)) for unit, state in distributed.ordered_states(
            job_for(session), units, scheduler=session.spec.options.scheduler, workers=workers,
            on_batch=on_batch))
    else:
        results = ordered_map(work, units, workers=workers,
                              stop_after=lambda r: r[0].error is not None,
                              when_idle=release_unused if (
                                  session.inputs.num_rows or 0) >= RELEASE_ROWS else None)
    try:
        if own_sink:
            sink = open_sink(session)
        session.sink = sink
        state = session.plan.new_state()
        # Coverage is joined once at the end: re-joining it at every merge took time
        # quadratic in the units (10,000 files: 8 s).
        covered: list[Coverage] = []
        for unit, (part, buffer, applied) in results:
            shift = placement.shift(unit)
            assert shift is not None  # every unit before this one is merged
            if shift != applied:  # reduced before its place was known
                if part.error is not None:  # found again in place: rows in its message
                    part = reduce(session, unit, shift=shift, prefetched=False)
                else:
                    rebase(part, shift - applied)
            if buffer is not None and sink is not None:
                buffer.replay(sink)
            if part.error is not None and state.nonfinite.counts:
                # A NaN came first: a serial pass would be counting NaNs by now, so count
                # them in this unit and every later one, as it would have.
                part.nonfinite = _count_nonfinite(session, units[unit.index:], workers,
                                                  placement.copy())
            placement.merged(unit, part)
            covered.extend(part.coverage)
            part.coverage = []
            state.merge(part)
            if state.groups is not None and len(state.groups) > session.plan.max_groups:
                raise too_many_groups(len(state.groups), session.plan.max_groups,
                                      session.plan.group_by)
        state.coverage = coalesce(covered)
        if placement.rows >= RELEASE_ROWS:  # what the scan's allocators keep, before the
            release_unused()                # state's last merge (see losscli.io.release)
        if session.join is not None:  # keys matched twice, or missing on a side
            # (targets without a prediction: judged when saved parts are merged)
            session.join_summary = session.join.judge(
                state.join, session.spec.inputs.unmatched == "omit",
                targets_too=session.spec.options.save_state is None)
        raise_pending(state, session.describe, session.plan.instances)
        for m, cell in enumerate(state.cells):
            if cell.rows == 0 and cell.rows_skipped == 0:
                role = pred_role(m) if m else next(iter(session.inputs.roles))
                raise InputError(f"{session.inputs.describe(role)} has no data rows; nothing "
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


def _count_nonfinite(session: Session, units: list[Unit], workers: int,
                     placement: Placement) -> NonFinite:
    tallies = NonFinite()
    for unit, part in ordered_map(
            lambda unit, stop: reduce(session, unit, stop=stop, counting_only=True,
                                      prefetched=False),
            units, workers=workers):
        rebase(part, placement.shift(unit) or 0)
        placement.merged(unit, part)
        tallies.merge(part.nonfinite)
    return tallies


def evaluate(session: Session, *, on_batch: Callable[[int], None] | None = None,
             started: float | None = None,
             group_level: Callable[[int], float | None] | None = None
             ) -> tuple[Report, State]:
    """Run and report (model 0); per-row values land in ``report.per_row`` when they
    went to memory. Returns the report and the merged state: saving it (``--save-state``,
    its target guarded here before the run) is the caller's act —
    :func:`losscli.saved.save_state` — so that running never depends on saving."""
    started = time.perf_counter() if started is None else started
    opts = session.spec.options
    if opts.save_state is not None:  # the one output guard (the CLI called it before too)
        guard([("input", p) for p in session.input_paths()],
              {"--output": opts.output, "--save-state": opts.save_state})
    state = run(session, on_batch=on_batch)
    report = report_for(session, state, elapsed=time.perf_counter() - started,
                        group_level=group_level)
    if isinstance(session.sink, MemorySink):
        report.per_row = session.sink.result()
    return report, state


def report_for(session: Session, state: State, *, model: int = 0, elapsed: float = 0.0,
               group_level: Callable[[int], float | None] | None = None) -> Report:
    """The report of model ``model`` of a session's run from its merged state: the inputs,
    the join's summary and notes (``group_level``: see
    :func:`losscli.reporting.build_report`)."""
    opts = session.spec.options
    inputs = {**session.inputs.to_dict(model), **session.context}
    notes = list(session.notes)
    summary = session.join_summary
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
        if session.join is not None:
            notes.extend(session.join.model_notes())
        if "unmatched_targets" not in summary:
            notes.append("targets without a prediction are judged when the saved parts "
                         "are merged (losscli merge)")
    return build_report(session.plan, state, model=model, inputs=inputs,
                        elapsed=elapsed, notes=notes,
                        output=opts.output if session.plan.reduction == "none" else None,
                        quantile_levels=opts.quantile_levels, sort=opts.sort,
                        group_level=group_level, confusion=opts.confusion,
                        group_gap=opts.group_gap)
