"""What a worker does with one work unit: reduce it to its :class:`~losscli.state.State`
(:func:`reduce`) — on a thread of the local engine, or in a process of a Dask cluster, which
maps the picklable :func:`reduce_unit` over the units with a :class:`Job` (the run
description, the models and what the client decided from the data): each Dask worker opens
the inputs itself once per job and keeps that session for the job's other units.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from losscli import engine
from losscli.errors import LossCliError
from losscli.io.base import Sink
from losscli.io.inputs import Batch
from losscli.io.prefetch import prefetch
from losscli.session import ModelInput, Resolved, Session
from losscli.spec import DATA_FIELDS, RunSpec
from losscli.state import Coverage, State, UnitError
from losscli.units import Unit, prepare


def reduce(session: Session, unit: Unit, *, sink: Sink | None = None,
           on_batch: Callable[[int], None] | None = None,
           stop: threading.Event | None = None, counting_only: bool = False,
           prefetched: bool = True, shift: int = 0) -> State:
    """Reduce one work unit to its State (a bad row stops it; the error is in the state).
    ``shift``: rows of the files before an unplaced unit's file (its rows are numbered
    from there; see :class:`Unit`)."""
    read = 0
    join = session.join
    tally = None if join is None else join.new_state()

    def counted(batches: Iterator[Batch]) -> Iterator[Batch]:
        nonlocal read
        for batch in batches:
            if stop is not None and stop.is_set():
                return
            read += len(batch)
            if join is not None and tally is not None:  # --id-col: the targets of the keys
                batch = join.join(batch, tally)
                if not len(batch):
                    continue
            yield batch

    prepare(session)
    base = unit.start + shift
    if unit.part is not None or unit.stop is not None:
        session.inputs.drop_peeked()  # read in ranges: the peeked rows are not replayed
    if unit.part is not None:
        hi = None if unit.stop is None else unit.first_row + unit.stop - unit.start
        batches: Iterator[Batch] = session.inputs.batches_in_file(
            unit.part, unit.first_row, hi, session.chunk_size, base)
    elif unit.stop is None:
        batches = session.inputs.batches(session.chunk_size)
    else:
        batches = session.inputs.batches_between(unit.start, unit.stop, session.chunk_size)
    state = engine.reduce(counted(prefetch(batches) if prefetched else batches), session.plan,
                          describe=session.describe, sink=sink, on_batch=on_batch,
                          counting_only=counting_only, ids=_row_ids(session, unit, base))
    state.coverage = [Coverage(unit.file, unit.first_row, read)]
    state.join = tally
    if state.error is not None and unit.part is not None and len(
            session.inputs.main.files) > 1:
        # The engine names the row of the whole input; say which file holds it.
        where = session.inputs.main.files[unit.part].display
        state.error = UnitError(state.error.at, f"{state.error.message.rstrip()} (In "
                                f"'{where}', whose first row is row {base - unit.first_row}"
                                " of the input.)")
    return state


def _row_ids(session: Session, unit: Unit, base: int) -> Callable[[int, int], np.ndarray] | None:
    """Row identities for the bootstrap: (the unit's file, the row within that file) —
    the same whatever the split into units or the order they run in (``base``: the
    number of the unit's first row)."""
    if session.plan.ci is None and session.plan.paired is None:
        return None  # (the engine asks only when a state resamples rows: Plan.needs_ids)
    from losscli.stats.resample import file_key, row_ids

    key = file_key(unit.file)

    def ids(start: int, n: int) -> np.ndarray:
        return row_ids(key, unit.first_row + (start - base), n)

    return ids


@dataclass(frozen=True)
class Job:
    """What a worker needs to reduce any unit of a session: the run description, the
    models, and what the client decided from the data (task, losses, widths, chunk size)."""

    spec: RunSpec
    models: Sequence[ModelInput]
    resolved: Resolved
    flags: dict[str, Any] = field(default_factory=dict)  # Session's keyword options
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


_SESSIONS: dict[str, Session] = {}
_LOCK = threading.Lock()


def reduce_unit(unit: Unit, job: Job) -> State | tuple[str, str]:
    """Run on a worker: the State of one unit, or ``("error", message)`` for an input error
    (returned, not raised, so that the scheduler never retries it)."""
    try:
        with _LOCK:
            session = _SESSIONS.get(job.token)
            if session is None:
                _SESSIONS.clear()  # one job at a time per worker is kept open
                try:
                    session = _SESSIONS[job.token] = Session(job.spec, job.models,
                                                             job.resolved, **job.flags)
                except LossCliError as exc:  # the client opened these inputs: not the worker
                    return ("error", f"On the Dask worker {_worker_address()}: "
                            f"{str(exc).rstrip()} The workers open the inputs themselves: "
                            "they need the same files at the same absolute paths (a shared "
                            "file system), or inputs in object storage (s3://...).")
        return reduce(session, unit, prefetched=False)
    except LossCliError as exc:
        return ("error", str(exc))


def _worker_address() -> str:
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):  # not on a worker (called directly)
        return "(this process)"


def _absolute(path: Any) -> Any:
    """A local path as an absolute one (a worker runs in a folder of its own); URIs, ``-``
    and in-memory data unchanged. Not normalised: ``..`` stays as the user wrote it."""
    if not isinstance(path, str) or path == "-" or "://" in path or os.path.isabs(path):
        return path
    return os.path.join(os.getcwd(), path)


def job_for(session: Session) -> Job:
    """What the workers need, with every local input path made absolute."""
    inputs = session.spec.inputs
    spec = replace(session.spec, inputs=replace(
        inputs, **{f: _absolute(getattr(inputs, f)) for f in DATA_FIELDS}))
    models = [replace(m, predictions=_absolute(m.predictions))
              if hasattr(m, "predictions") else m for m in session.models]
    return Job(spec, models, session.resolved(), dict(session.flags))
