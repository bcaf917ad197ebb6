"""The Dask engine: the same work units, reduced by the workers of a Dask cluster.

Dask only schedules. Each worker opens the inputs itself (local paths it can see, or
object-storage URIs) with losscli's own readers, reduces the units it is given to States
with losscli's own engine, and sends the States back; the client merges them in unit order,
so the result is the same, bit for bit, as the local engine's over the same units.

* ``--scheduler ADDRESS`` connects to a running cluster (within :data:`CONNECT_TIMEOUT`
  seconds, else one line naming the address); without it losscli starts a ``LocalCluster``
  of ``--workers`` processes on 127.0.0.1 (no dashboard) and stops it afterwards.
* A worker that dies mid-run: the scheduler reschedules its units under its own policy (on
  the LocalCluster losscli starts, a unit may be part of one worker death before the run
  gives up); when it gives up, the run stops with that unit's file and rows, exit 2.
* An input error inside a unit (a bad value, a missing column) is not an exception on the
  worker but part of the State it returns (or a returned error), so it is never retried and
  stops the run with the message a local run prints.
* Ctrl-C cancels the futures and closes what losscli started.

Install: ``pip install 'losscli[dask]'``; ``import dask`` happens only on this path.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from losscli.errors import InputError, LossCliError, UsageError

#: Seconds to reach a scheduler before giving up.
CONNECT_TIMEOUT = 5.0


@dataclass(frozen=True)
class Job:
    """What a worker needs to reduce any unit of a session: the run description, the
    models, and what the client decided from the data (task, losses, widths, chunk size)."""

    spec: Any
    models: Sequence[Any]
    resolved: Any
    flags: dict[str, Any] = field(default_factory=dict)  # Session's keyword options
    token: str = field(default_factory=lambda: uuid.uuid4().hex)


_SESSIONS: dict[str, Any] = {}
_LOCK = threading.Lock()


def reduce_unit(unit: Any, job: Job) -> Any:
    """Run on a worker: the State of one unit, or ``("error", message)`` for an input error
    (returned, not raised, so that the scheduler never retries it)."""
    from losscli.session import Session

    try:
        with _LOCK:
            session = _SESSIONS.get(job.token)
            if session is None:
                _SESSIONS.clear()  # one job at a time per worker is kept open
                session = _SESSIONS[job.token] = Session(job.spec, job.models, job.resolved,
                                                         **job.flags)
        return session.reduce(unit, prefetched=False)
    except LossCliError as exc:
        return ("error", str(exc))


def _import() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError("--engine dask needs Dask's distributed scheduler: pip install "
                         "'losscli[dask]' (or pip install 'dask[distributed]').") from None
    return distributed


@contextmanager
def client_for(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A Dask client: connected to ``scheduler``, or to a LocalCluster of ``workers``
    single-threaded worker processes on 127.0.0.1 that is closed on leaving."""
    distributed = _import()
    import logging

    import dask

    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout=f"{CONNECT_TIMEOUT}s",
                                        set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise InputError(
                f"Cannot reach the Dask scheduler at '{scheduler}' within {CONNECT_TIMEOUT:g} s "
                f"({type(exc).__name__}); check the address and that the scheduler runs "
                "(e.g. dask scheduler), or drop --scheduler to start a local cluster.") from None
        try:
            yield client
        finally:
            client.close()
        return
    # The cluster's scratch space (lock files, spills) in a folder of this run's own,
    # removed afterwards: by default Dask leaves dask-scratch-space/ in $TMPDIR.
    scratch = tempfile.mkdtemp(prefix="losscli-dask-")
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                              "distributed.worker.daemon": False,
                              "temporary-directory": scratch}), warnings.catch_warnings():
            # No dashboard: the scheduler's HTTP routes listen on 127.0.0.1, trying port
            # 8787 first; another cluster there is no reason for a four-line warning.
            warnings.filterwarnings("ignore", message="Port .* is already in use",
                                    category=UserWarning)
            cluster = distributed.LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address=None, silence_logs=logging.ERROR, local_directory=scratch)
            client = distributed.Client(cluster, set_as_default=False)
            try:
                yield client
            finally:
                client.close()
                cluster.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def ordered_states(session: Any, units: Sequence[Any], *, scheduler: str | None, workers: int,
                   on_batch: Callable[[int], None] | None = None) -> Iterator[tuple[Any, Any]]:
    """``(unit, State)`` for every unit, in unit order, reduced on the cluster; stops after
    a unit whose state carries an error (the earliest bad row wins)."""
    distributed = _import()
    job = Job(session.spec, session.models, session.resolved(), dict(session.flags))
    done = 0
    with client_for(scheduler, workers) as client:
        futures = client.map(reduce_unit, list(units), job=job, retries=1, pure=False,
                             key=[f"losscli-{job.token}-{u.index}" for u in units])
        try:
            for unit, future in zip(units, futures):
                try:
                    state = future.result()
                except distributed.KilledWorker:
                    rows = "" if unit.rows is None else (
                        f", rows {unit.first_row}..{unit.first_row + unit.rows - 1}")
                    raise InputError(
                        f"Work unit {unit.index} ('{unit.file}'{rows}) failed: the workers "
                        "running it died, and the scheduler gave up on it. Check the workers' "
                        "memory and logs, then run again.") from None
                if isinstance(state, tuple) and state and state[0] == "error":
                    raise InputError(state[1])
                done += state.coverage[0].rows if state.coverage else 0
                if on_batch is not None:
                    on_batch(done)
                yield unit, state
                if state.error is not None:
                    return
        finally:
            client.cancel(futures)
