"""Issue 19, the Dask boundary: the Dask engine gives the local engine's bits with a join and
the bootstrap (item 8), and every way a cluster can fail ends in one line, exit 2, within
the timeouts (item 19): a malformed address, a server that speaks another protocol, a port
that accepts and stays silent, a worker given as the scheduler, a cluster whose only worker
died, Ctrl-C while losscli's own cluster starts; relative paths reach the workers absolute
(item 20). Every server listens on 127.0.0.1 only and is started here.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT, run_losscli

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.filterwarnings("ignore:Port 8787 is already in use")


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on loopback (their nannies set
    OPENBLAS_NUM_THREADS=1, as on any Dask worker), no dashboard."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as lc:
        yield lc


@pytest.fixture(scope="module")
def joined(tmp_path_factory):
    """Predictions in shuffled order, targets in another file, joined by 'id'."""
    root = tmp_path_factory.mktemp("joined")
    rng = np.random.default_rng(1)
    n = 5000
    ids = np.arange(n)
    y = rng.normal(size=n)
    p = y + rng.normal(size=n)
    perm = rng.permutation(n)
    pq.write_table(pa.table({"id": ids[perm], "pred": p[perm]}), root / "preds.parquet",
                   row_group_size=700)
    pd.DataFrame({"id": ids, "target": y}).to_csv(root / "truth.csv", index=False)
    return root


def _one_line(r: subprocess.CompletedProcess) -> str:
    err = r.stderr.decode()
    assert r.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("losscli: error: "), err
    assert b"Traceback" not in r.stderr and r.stdout == b""
    return err


def _without_time(stdout: bytes) -> dict:
    doc = json.loads(stdout)
    doc.pop("elapsed_seconds", None)
    return doc


# --- item 8: the join and the bootstrap on the Dask engine ------------------------------------

def test_join_and_bootstrap_give_the_local_bits_on_dask(joined, cluster):
    # The local run's BLAS uses every core; a Dask worker's uses one. Replicate sums by a
    # matrix product differed in the last bits; they are the same now.
    args = ["eval", joined / "preds.parquet", "-t", joined / "truth.csv", "--id-col", "id",
            "--ci", "--ci-method", "bootstrap", "-l", "mse", "-l", "mae", "-l", "r2",
            "-f", "json"]
    local = run_losscli(*args, env={"OPENBLAS_NUM_THREADS": "2"})
    assert local.returncode == 0, local.stderr
    dask = run_losscli(*args, "--engine", "dask", "--scheduler", cluster.scheduler_address)
    assert dask.returncode == 0, dask.stderr
    assert _without_time(local.stdout) == _without_time(dask.stdout)
    assert all(x["interval"]["method"] == "percentile"
               for x in json.loads(local.stdout)["losses"])


# --- item 19: one line, quickly -----------------------------------------------------------------

def test_seed_beyond_64_bits_is_one_line(joined):
    import losscli

    r = run_losscli("eval", joined / "preds.parquet", "-t", joined / "truth.csv", "--id-col",
                    "id", "--ci", "--ci-method", "bootstrap", "--seed", str(2**64))
    assert "--seed must be a whole number from 0 to 2**64 - 1" in _one_line(r)
    top = losscli.evaluate(str(joined / "preds.parquet"), str(joined / "truth.csv"),
                           id_col="id", losses=["mse"], ci=True, ci_method="bootstrap",
                           seed=2**64 - 1)
    assert top.losses[0].interval["low"] is not None


@pytest.mark.parametrize("address", ["notaurl", "tcp://[::1"])
def test_a_malformed_scheduler_address_is_one_line_at_once(joined, address):
    started = time.monotonic()
    r = run_losscli("eval", joined / "preds.parquet", "-t", joined / "truth.csv", "--id-col",
                    "id", "--engine", "dask", "--scheduler", address)
    err = _one_line(r)
    assert "--scheduler takes a Dask scheduler's address, SCHEME://HOST:PORT" in err
    assert repr(address) in err
    # nothing is tried: the time of starting Python only (Dask's retries took ~11 s)
    assert time.monotonic() - started < 8


@pytest.mark.parametrize("address, ok", [
    ("http://127.0.0.1:80", False), ("tcp://127.0.0.1:0", False), ("tcp://127.0.0.1", False),
    ("127.0.0.1", False), ("tcp://h:65536", False), ("tcp://10.0.0.5:8786", True),
    ("tcp://[::1]:8786", True), ("localhost:8786", True), ("tls://sched.example:8786", True)])
def test_scheduler_addresses_are_checked_before_anything_is_sent(address, ok):
    from losscli.errors import UsageError
    from losscli.spec import build_spec

    if ok:
        assert build_spec("x.parquet", engine="dask", scheduler=address).options.scheduler \
            == address
    else:
        with pytest.raises(UsageError, match="SCHEME://HOST:PORT"):
            build_spec("x.parquet", engine="dask", scheduler=address)


def _serve(handler):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
            handler(conn)

    threading.Thread(target=accept, daemon=True).start()
    return server, held


def test_an_http_server_is_not_a_scheduler(joined):
    class Quiet(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        r = run_losscli("eval", joined / "preds.parquet", "--engine", "dask", "--scheduler",
                        f"tcp://127.0.0.1:{httpd.server_address[1]}")
        elapsed = time.monotonic() - started
    finally:
        httpd.shutdown()
        httpd.server_close()
    err = _one_line(r)
    assert "does not speak the Dask protocol" in err and "EiB" not in err
    assert elapsed < 25  # 5 s of waiting, the rest is starting Python


def test_a_port_that_accepts_and_stays_silent_is_one_line_within_the_timeout(joined):
    server, held = _serve(lambda conn: None)
    try:
        started = time.monotonic()
        r = run_losscli("eval", joined / "preds.parquet", "--engine", "dask", "--scheduler",
                        f"tcp://127.0.0.1:{server.getsockname()[1]}")
        elapsed = time.monotonic() - started
    finally:
        server.close()
        for conn in held:
            conn.close()
    err = _one_line(r)
    assert "does not speak the Dask protocol: it accepted the connection but said nothing " \
           "within 5 s" in err
    assert elapsed < 25  # it hung for good before


def test_a_server_of_another_protocol_is_named(joined):
    server, held = _serve(lambda conn: conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n"))
    try:
        r = run_losscli("eval", joined / "preds.parquet", "--engine", "dask", "--scheduler",
                        f"tcp://127.0.0.1:{server.getsockname()[1]}")
    finally:
        server.close()
        for conn in held:
            conn.close()
    err = _one_line(r)
    assert "does not speak the Dask protocol (it began with b'SSH-2.0-'" in err


def test_a_worker_given_as_the_scheduler_is_named(joined, cluster):
    worker = next(iter(cluster.scheduler_info["workers"]))
    r = run_losscli("eval", joined / "preds.parquet", "--engine", "dask", "--scheduler", worker)
    assert "is a Dask Worker, not the scheduler" in _one_line(r)


def test_the_only_worker_of_a_cluster_dying_stops_the_run_naming_it(joined):
    # A scheduler and one worker process without a nanny (no one to start it again), killed.
    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=None,
                                  processes=True) as lc, distributed.Client(lc) as client:
        worker = subprocess.Popen(
            [sys.executable, "-m", "distributed.cli.dask_worker", lc.scheduler_address,
             "--no-nanny", "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            client.wait_for_workers(1, timeout=60)
        finally:
            worker.kill()
            worker.wait()
        deadline = time.monotonic() + 30
        while client.nthreads():
            assert time.monotonic() < deadline
            time.sleep(0.1)
        started = time.monotonic()
        r = run_losscli("eval", joined / "preds.parquet", "-t", joined / "truth.csv",
                        "--id-col", "id", "--engine", "dask", "--scheduler", lc.scheduler_address)
        elapsed = time.monotonic() - started
    err = _one_line(r)
    assert re.search(r"Work unit 0 \('preds.parquet', rows 0\.\.\d+\) failed: the cluster has "
                     r"had no worker for 10 s", err), err
    assert elapsed < 60  # it waited forever before


def test_ctrl_c_while_the_local_cluster_starts_leaves_no_semaphore_warning(joined, tmp_path):
    # The signal lands while LocalCluster starts its worker processes (once the first child
    # process exists): the start is finished, then the cluster stopped whole.
    psutil = pytest.importorskip("psutil")
    proc = subprocess.Popen(
        [sys.executable, "-m", "losscli", "eval", str(joined / "preds.parquet"), "-t",
         str(joined / "truth.csv"), "--id-col", "id", "--engine", "dask", "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT,
        env={**os.environ, "TMPDIR": str(tmp_path)})
    deadline = time.monotonic() + 60
    while not psutil.Process(proc.pid).children():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.02)
    time.sleep(0.3)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=90)
    assert proc.returncode == 130, err
    assert err == b"losscli: interrupted\n" and out == b""  # no resource_tracker warning
    deadline = time.monotonic() + 15
    while any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert list(tmp_path.iterdir()) == []


# --- item 20: paths the workers can open ------------------------------------------------------

def test_relative_paths_reach_the_workers_absolute(joined, cluster, tmp_path):
    # The workers run in the tests' folder; the command runs in another one and names its
    # inputs relative to it.
    for name in ("preds.parquet", "truth.csv"):
        (tmp_path / name).write_bytes((joined / name).read_bytes())
    args = ["eval", "preds.parquet", "-t", "truth.csv", "--id-col", "id", "-l", "mse",
            "-f", "json"]
    remote = run_losscli(*args, "--engine", "dask", "--scheduler", cluster.scheduler_address,
                         cwd=tmp_path)
    assert remote.returncode == 0, remote.stderr
    import losscli

    local = losscli.evaluate(str(tmp_path / "preds.parquet"), str(tmp_path / "truth.csv"),
                             id_col="id", losses=["mse"])
    assert json.loads(remote.stdout)["losses"][0]["value"] == local.losses[0].value


def test_a_worker_that_cannot_see_an_input_says_so(joined, cluster, tmp_path):
    from losscli.session import Session
    from losscli.spec import build_spec
    from losscli.units import plan_units
    from losscli.worker import job_for, reduce_unit

    session = Session(build_spec(str(joined / "preds.parquet"), str(joined / "truth.csv"),
                                 id_col="id"))
    unit = plan_units(session)[0]
    job = job_for(session)
    gone = str(tmp_path / "on-another-machine.parquet")
    job = replace(job, spec=replace(job.spec, inputs=replace(job.spec.inputs, predictions=gone)),
                  models=[replace(m, predictions=gone) for m in job.models])
    with distributed.Client(cluster.scheduler_address) as client:
        kind, message = client.submit(reduce_unit, unit, job, pure=False).result()
    assert kind == "error"
    assert message.startswith("On the Dask worker tcp://127.0.0.1:")
    assert gone in message and "same files at the same absolute paths" in message
