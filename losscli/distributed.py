"""The Dask engine: the same work units, reduced by the workers of a Dask cluster.

Dask only schedules. Each worker opens the inputs itself (local paths it can see, or
object-storage URIs) with losscli's own readers, reduces the units it is given to States
with losscli's own engine, and sends the States back; the client merges them in unit order,
so the result is the same, bit for bit, as the local engine's over the same units.

* ``--scheduler ADDRESS`` connects to a running cluster: the address is checked before
  anything is sent (``SCHEME://HOST:PORT``, :func:`losscli.spec` refuses any other), then
  :func:`check_scheduler` asks it who it is, all within :data:`CONNECT_TIMEOUT` seconds —
  nothing listening, a port that accepts and stays silent, a server that answers in another
  protocol (HTTP) and a Dask worker in place of the scheduler each end in one line. Without
  it losscli starts a ``LocalCluster`` of ``--workers`` processes on 127.0.0.1 (no
  dashboard) and stops it afterwards; a signal arriving while it starts is held until it
  is up (:class:`losscli.interrupts.held`), so that it is stopped whole, leaking nothing.
* Local paths are sent to the workers absolute (a worker's working folder is its own); a
  worker that cannot open an input says that it is a worker that cannot see it.
* A worker that dies mid-run: the scheduler reschedules its units under its own policy (on
  the LocalCluster losscli starts, a unit may be part of one worker death before the run
  gives up); when it gives up, the run stops with that unit's file and rows, exit 2. A
  cluster left without any worker for :data:`NO_WORKER_TIMEOUT` seconds stops the run the
  same way (the scheduler itself would wait for a worker forever).
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
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from losscli.errors import InputError, UsageError
from losscli.state import State
from losscli.units import Unit
from losscli.worker import Job, reduce_unit

#: Seconds to reach a scheduler (and hear it answer as one) before giving up.
CONNECT_TIMEOUT = 5.0
#: Seconds a run waits while the cluster has no worker at all before it stops.
NO_WORKER_TIMEOUT = 10.0
#: Seconds between two looks at the cluster while a unit's result is awaited.
POLL = 0.5


def _import() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError("--engine dask needs Dask's distributed scheduler: pip install "
                         "'losscli[dask]' (or pip install 'dask[distributed]').") from None
    return distributed


def check_scheduler(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Make sure a Dask scheduler answers at ``address`` within ``timeout`` seconds: the
    connection, Dask's handshake and an ``identity`` request, each bounded (Dask's own
    handshake waits forever on a port that accepts and stays silent, and reads an HTTP
    answer as a frame length of exabytes). One InputError line otherwise."""
    import asyncio
    import socket

    _import()
    from distributed.comm import connect
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    fix = ("check the address and that the scheduler runs (e.g. dask scheduler), or drop "
           "--scheduler to start a local cluster.")
    started = time.monotonic()
    if scheme in ("tcp", "tls"):
        host, port = parse_host_port(location)
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise InputError(f"Cannot reach the Dask scheduler at '{address}' within "
                             f"{timeout:g} s ({type(exc).__name__}: "
                             f"{exc.strerror or exc}); {fix}") from None
        with sock:
            if scheme == "tcp":
                _greeting(sock, address, timeout - (time.monotonic() - started), fix)
    left = max(0.5, timeout - (time.monotonic() - started))
    outcome: list[Any] = []

    async def identify() -> Any:
        comm = await connect(address, timeout=left)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    def probe() -> None:
        try:
            outcome.append(asyncio.run(asyncio.wait_for(identify(), left)))
        except BaseException as exc:  # MemoryError: an HTTP answer read as a frame size
            outcome.append(exc)

    # In a thread of its own: an event loop of the caller's (Jupyter) is left alone, and
    # Ctrl-C still reaches the main thread.
    thread = threading.Thread(target=probe, name="losscli-dask-probe", daemon=True)
    thread.start()
    thread.join(left + 1.0)
    got = outcome[0] if outcome else TimeoutError()
    if isinstance(got, TimeoutError | asyncio.TimeoutError):
        raise InputError(
            f"The Dask scheduler at '{address}' accepted the connection but did not answer "
            f"within {timeout:g} s: whatever listens there does not speak the Dask "
            f"protocol; {fix}")
    if isinstance(got, BaseException) or not isinstance(got, dict):
        # An HTTP server's answer read as a Dask frame, a connection closed at once, ...
        raise InputError(
            f"'{address}' does not speak the Dask protocol: what listens there is not a "
            f"Dask scheduler; {fix}")
    if got.get("type") != "Scheduler":
        raise InputError(
            f"'{address}' is a Dask {got.get('type', 'server')}, not the scheduler: give "
            "--scheduler the scheduler's address (dask scheduler prints it).")


#: A Dask peer's first message (its handshake) is a few hundred bytes.
GREETING_MAX_BYTES = 1 << 16


def _greeting(sock: Any, address: str, left: float, fix: str) -> None:
    """Dask's TCP peers speak first: a handshake whose first 8 bytes are its length
    (little-endian). Silence, a closed connection or another protocol's bytes (an HTTP
    server's) mean that no Dask scheduler listens at ``address``."""
    import struct

    head = b""
    sock.settimeout(max(0.1, left))
    try:
        while len(head) < 8:
            more = sock.recv(8 - len(head))
            if not more:
                break
            head += more
    except TimeoutError:
        raise InputError(
            f"'{address}' does not speak the Dask protocol: it accepted the connection but "
            f"said nothing within {CONNECT_TIMEOUT:g} s (a Dask scheduler greets at once); "
            f"{fix}") from None
    except OSError as exc:
        raise InputError(f"Cannot reach the Dask scheduler at '{address}' "
                         f"({type(exc).__name__}); {fix}") from None
    if len(head) < 8:
        raise InputError(f"'{address}' does not speak the Dask protocol: it closed the "
                         f"connection without a word; {fix}")
    if not 0 < struct.unpack("<Q", head)[0] <= GREETING_MAX_BYTES:
        raise InputError(f"'{address}' does not speak the Dask protocol (it began with "
                         f"{head!r}: another kind of server); {fix}")


@contextmanager
def client_for(scheduler: str | None, workers: int) -> Iterator[Any]:
    """A Dask client: connected to ``scheduler``, or to a LocalCluster of ``workers``
    single-threaded worker processes on 127.0.0.1 that is closed on leaving."""
    distributed = _import()
    import logging

    import dask

    from losscli.interrupts import held

    if scheduler:
        check_scheduler(scheduler)
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
    cluster = client = None
    try:
        with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                              "distributed.worker.daemon": False,
                              "temporary-directory": scratch}), warnings.catch_warnings():
            # No dashboard: the scheduler's HTTP routes listen on 127.0.0.1, trying port
            # 8787 first; another cluster there is no reason for a four-line warning.
            warnings.filterwarnings("ignore", message="Port .* is already in use",
                                    category=UserWarning)
            try:
                # Started whole or not at all: Ctrl-C in the middle of it would leave worker
                # processes half started, their semaphores leaked (the resource tracker's
                # warning at exit); it is raised once the cluster is up, and closes it.
                with held():
                    cluster = distributed.LocalCluster(
                        n_workers=workers, threads_per_worker=1, processes=True,
                        host="127.0.0.1", dashboard_address=None,
                        silence_logs=logging.CRITICAL,
                        local_directory=scratch)
                    client = distributed.Client(cluster, set_as_default=False)
                yield client
            finally:
                # What the cluster logs while it is closed (a worker stopped mid-unit by
                # Ctrl-C, a lost connection) is not the user's: the run's outcome is one
                # line of losscli's own
                logger = logging.getLogger("distributed")
                level = logger.level
                logger.setLevel(logging.CRITICAL + 1)
                try:
                    with held():
                        if client is not None:
                            client.close()
                        if cluster is not None:
                            cluster.close()
                finally:
                    logger.setLevel(level)  # an API caller's logging, as it was
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _result(client: Any, future: Any, unit: Unit, distributed: Any) -> Any:
    """The result of one unit's future; a cluster with no worker for NO_WORKER_TIMEOUT
    seconds (the scheduler would wait for one forever) stops the run naming the unit."""
    alone_since: float | None = None
    while True:
        try:
            return future.result(timeout=POLL)
        except distributed.KilledWorker:
            raise _unit_failed(unit, "the workers running it died, and the scheduler gave up "
                               "on it. Check the workers' memory and logs, then run again."
                               ) from None
        except (distributed.TimeoutError, TimeoutError):
            pass
        if client.nthreads():
            alone_since = None
        elif alone_since is None:
            alone_since = time.monotonic()
        elif time.monotonic() - alone_since >= NO_WORKER_TIMEOUT:
            raise _unit_failed(unit, f"the cluster has had no worker for {NO_WORKER_TIMEOUT:g} "
                               "s (its workers died or left). Start workers (dask worker "
                               "SCHEDULER-ADDRESS), check their memory and logs, then run "
                               "again.")


def _unit_failed(unit: Unit, why: str) -> InputError:
    rows = "" if unit.rows is None else f", rows {unit.first_row}..{unit.first_row + unit.rows - 1}"
    return InputError(f"Work unit {unit.index} ('{unit.file}'{rows}) failed: {why}")


def ordered_states(job: Job, units: Sequence[Unit], *, scheduler: str | None, workers: int,
                   on_batch: Callable[[int], None] | None = None
                   ) -> Iterator[tuple[Unit, State]]:
    """``(unit, State)`` for every unit, in unit order, reduced on the cluster; stops after
    a unit whose state carries an error (the earliest bad row wins)."""
    distributed = _import()
    done = 0
    with client_for(scheduler, workers) as client:
        futures = client.map(reduce_unit, list(units), job=job, retries=1, pure=False,
                             key=[f"losscli-{job.token}-{u.index}" for u in units])
        try:
            for unit, future in zip(units, futures):
                state = _result(client, future, unit, distributed)
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
