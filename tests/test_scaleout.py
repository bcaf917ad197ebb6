"""Beyond one process (issue 14): the Dask engine on a real LocalCluster on 127.0.0.1, and
saved states merged later. Both must give the bits of the local engine over the same units.
"""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.errors import InputError, UsageError
from tests.conftest import run_losscli

distributed = pytest.importorskip("distributed")
# The tests' own clusters beside the module's: their HTTP servers move off port 8787.
pytestmark = pytest.mark.filterwarnings("ignore:Port 8787 is already in use")

LOSSES = ["mse", "mae", "r2", "rmse", "max_error", "huber:delta=0.5"]


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded worker processes on loopback, no dashboard."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None, processes=True) as lc:
        yield lc


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 16 * 1500
    y = rng.normal(size=n)
    p = y + rng.standard_t(2, n)
    p[::9] += 1e7 * rng.choice([-1, 1], p[::9].size)  # cancelling: order would show
    root = tmp_path_factory.mktemp("scale")
    path = root / "all.parquet"
    pq.write_table(pa.table({"pred": p, "target": y}), path, row_group_size=1500)
    parts = root / "parts"
    parts.mkdir()
    for i in range(5):
        sl = slice(i * n // 5, (i + 1) * n // 5)
        pq.write_table(pa.table({"pred": p[sl], "target": y[sl]}), parts / f"part-{i}.parquet")
    return path, parts


def _bits(report):
    return [(r.label, r.value.hex(), None if r.interval is None else (
        r.interval["low"], r.interval["high"]),
        None if r.distribution is None else r.distribution["quantiles"]) for r in report.losses]


def test_dask_engine_gives_the_local_bits(data, cluster):
    path, _ = data
    opts = dict(losses=LOSSES, chunk_size=700)
    local = losscli.evaluate(str(path), **opts)
    remote = losscli.evaluate(str(path), engine="dask", scheduler=cluster.scheduler_address,
                              **opts)
    assert _bits(local) == _bits(remote)


def test_dask_engine_with_intervals_and_distributions(data, cluster):
    path, _ = data
    opts = dict(losses=["mse", "r2", "mae"], chunk_size=700, ci=True, ci_method="bootstrap",
                replicates=60, seed=3, distribution=True)
    local = losscli.evaluate(str(path), **opts)
    remote = losscli.evaluate(str(path), engine="dask", scheduler=cluster.scheduler_address,
                              **opts)
    assert _bits(local) == _bits(remote)


def test_dask_engine_reports_the_first_bad_row_like_a_local_run(tmp_path, cluster):
    n = 12_000
    pred = np.linspace(0, 1, n)
    pred[7_777] = -3.0
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"pred": pred, "target": np.ones(n)}), path, row_group_size=1000)
    with pytest.raises(InputError) as local:
        losscli.evaluate(str(path), losses=["msle"], chunk_size=1000)
    with pytest.raises(InputError) as remote:
        losscli.evaluate(str(path), losses=["msle"], chunk_size=1000, engine="dask",
                         scheduler=cluster.scheduler_address)
    assert str(local.value) == str(remote.value) and "row 7777" in str(local.value)


def test_a_cluster_losscli_starts_itself(data):
    path, _ = data
    started = time.monotonic()
    report = losscli.evaluate(str(path), losses=["mse"], chunk_size=700, engine="dask",
                              workers=2)
    assert report["mse"] == losscli.evaluate(str(path), losses=["mse"], chunk_size=700)["mse"]
    assert time.monotonic() - started < 60


def test_own_cluster_is_quiet_and_loopback_only_when_the_dashboard_port_is_taken(data):
    # Another cluster (or anything) on 8787: distributed would warn in four lines on stderr
    # and move its HTTP server; losscli's cluster serves no dashboard and says nothing.
    import socket

    path, _ = data
    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pass  # already taken: the same situation
    try:
        out = run_losscli("eval", path, "-l", "mse", "--engine", "dask", "--workers", "1",
                          "--format", "json")
    finally:
        holder.close()
    assert out.returncode == 0, out.stderr
    assert out.stderr.decode() == ""
    assert json.loads(out.stdout)["losses"][0]["name"] == "mse"


class _KillOnUnit(distributed.WorkerPlugin):
    """Kills the worker process when it starts a given unit: every time, or only the first
    time (a marker file remembers)."""

    def __init__(self, unit: int, marker: str | None) -> None:
        self.unit, self.marker = unit, marker

    def transition(self, key, start, finish, **kwargs):
        name = key if isinstance(key, str) else str(key)
        if finish == "executing" and name.startswith("losscli-") and name.endswith(
                f"-{self.unit}"):
            if self.marker is not None:
                if os.path.exists(self.marker):
                    return
                open(self.marker, "w").close()
            os._exit(1)


def test_a_worker_dying_once_is_retried(data, tmp_path):
    path, _ = data
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=None) as lc, distributed.Client(lc) as c:
        c.register_plugin(_KillOnUnit(3, str(tmp_path / "killed-once")))
        report = losscli.evaluate(str(path), losses=LOSSES, chunk_size=700, engine="dask",
                                  scheduler=lc.scheduler_address)
        assert (tmp_path / "killed-once").exists()
    assert _bits(report) == _bits(losscli.evaluate(str(path), losses=LOSSES, chunk_size=700))


def test_a_unit_that_kills_every_worker_stops_the_run_naming_it(data):
    path, _ = data
    import dask

    with dask.config.set({"distributed.scheduler.allowed-failures": 1}), \
            distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                     dashboard_address=None) as lc, \
            distributed.Client(lc) as c:
        c.register_plugin(_KillOnUnit(5, None))
        # the scheduler gives up on unit 5, and on any unit that shared a dying worker with it
        with pytest.raises(InputError, match=r"Work unit \d+ \('all.parquet', rows \d+\.\.\d+\) "
                                             r"failed: the workers running it died"):
            losscli.evaluate(str(path), losses=["mse"], chunk_size=700, engine="dask",
                             scheduler=lc.scheduler_address)


def test_an_unreachable_scheduler_is_one_line_quickly(data):
    path, _ = data
    started = time.monotonic()
    r = run_losscli("eval", path, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:9")
    assert r.returncode == 2 and b"Cannot reach the Dask scheduler at 'tcp://127.0.0.1:9'" in r.stderr
    assert r.stderr.count(b"\n") == 1 and time.monotonic() - started < 40


@pytest.mark.parametrize("sig, code, word", [(2, 130, b"interrupted"), (15, 143, b"terminated")])
def test_a_signal_mid_run_cancels_and_leaves_nothing_behind(tmp_path, sig, code, word):
    # losscli's own LocalCluster, a run of several seconds (5-row chunks); the
    # signal comes once the workers exist: exit 130/143, one line, no report, no worker
    # process left running, nothing left in the temporary folder.
    import subprocess
    import sys

    psutil = pytest.importorskip("psutil")
    n = 2_000_000
    rng = np.random.default_rng(0)
    pq.write_table(pa.table({"pred": rng.normal(size=n), "target": rng.normal(size=n)}),
                   tmp_path / "slow.parquet", row_group_size=50_000)
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "losscli", "eval", str(tmp_path / "slow.parquet"), "-l", "mse",
         "-l", "huber", "--engine", "dask", "--workers", "1", "--chunk-size", "5", "-f",
         "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "TMPDIR": str(scratch)})
    started = time.monotonic()
    children: list = []
    while time.monotonic() - started < 30 and not children:  # the worker process
        time.sleep(0.2)
        children = psutil.Process(proc.pid).children(recursive=True)
    time.sleep(1.5)  # the worker is now reducing units (the whole run takes ~10 s)
    children = psutil.Process(proc.pid).children(recursive=True)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err == b"losscli: " + word + b"\n" and out == b""
    deadline = time.monotonic() + 10
    while any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children):
        assert time.monotonic() < deadline, [c.pid for c in children if c.is_running()]
        time.sleep(0.2)
    assert list(scratch.iterdir()) == []


def test_dask_refusals():
    with pytest.raises(UsageError, match="--reduction none streams per-row values"):
        losscli.evaluate("x.parquet", engine="dask", reduction="none")
    with pytest.raises(UsageError, match="standard input"):
        losscli.evaluate("-", engine="dask")
    with pytest.raises(UsageError, match="add engine='dask'"):
        losscli.evaluate("x.parquet", scheduler="tcp://h:1")


# --- saved states ----------------------------------------------------------------------------

def _save_parts(parts, tmp_path, extra=()):
    states = []
    for i in range(5):
        out = tmp_path / f"p{i}.state"
        r = run_losscli("eval", parts / f"part-{i}.parquet", *[a for x in LOSSES for a in
                                                              ("-l", x)],
                        "--chunk-size", "700", "--save-state", out, "-q", "-f", "json", *extra)
        assert r.returncode == 0, r.stderr
        states.append(out)
    return states


def test_five_saved_parts_merge_to_one_run_bit_for_bit(data, tmp_path):
    _, parts = data
    states = _save_parts(parts, tmp_path)
    merged = run_losscli("merge", *reversed(states), "-f", "json")
    assert merged.returncode == 0, merged.stderr
    doc = json.loads(merged.stdout)
    # the same rows as one file of five row groups of the parts' sizes, at the same chunk size
    table = pa.concat_tables([pq.read_table(parts / f"part-{i}.parquet") for i in range(5)])
    whole = tmp_path / "whole.parquet"
    pq.write_table(table, whole, row_group_size=len(table) // 5)
    direct = losscli.evaluate(str(whole), losses=LOSSES, chunk_size=700)
    assert [x["value"] for x in doc["losses"]] == [r.value for r in direct.losses]
    assert doc["rows"] == len(table) and len(doc["inputs"]["parts"]) == 5


def test_partition_folders_saved_alone_merge_to_the_whole_folder(samples, tmp_path):
    # Each hive partition evaluated as its own folder: its files are known as in the whole
    # dataset (date=.../part-0.parquet), so the parts do not look like overlapping ranges
    # and their merge is the run over the whole folder, bit for bit (bootstrap included).
    preds, truth = samples / "preds_dir", samples / "truth_dir"
    args = ["-l", "mse", "-l", "r2", "--ci", "--ci-method", "bootstrap", "--replicates", "50",
            "-f", "json"]
    states = []
    for folder in sorted(p for p in preds.iterdir() if p.is_dir()):
        out = tmp_path / f"{folder.name}.state"
        r = run_losscli("eval", folder, "--targets", truth / folder.name, *args,
                        "--save-state", out, "-q")
        assert r.returncode == 0, r.stderr
        states.append(out)
    assert len(states) >= 2
    merged = run_losscli("merge", *states, "-f", "json")
    assert merged.returncode == 0, merged.stderr
    whole = run_losscli("eval", preds, "--targets", truth, *args)
    assert whole.returncode == 0, whole.stderr

    def bits(out):
        return [(x["value"].hex(), x["interval"]["low"].hex(), x["interval"]["high"].hex())
                for x in json.loads(out.stdout)["losses"]]

    assert bits(merged) == bits(whole)


def test_merge_refuses_mismatches(data, tmp_path):
    _, parts = data
    states = _save_parts(parts, tmp_path)
    twice = run_losscli("merge", states[0], states[1], states[0])
    assert twice.returncode == 2 and b"the same part given twice" in twice.stderr
    other = tmp_path / "other.state"
    assert run_losscli("eval", parts / "part-4.parquet", "-l", "mse", "--chunk-size", "700",
                       "--save-state", other, "-q").returncode == 0
    r = run_losscli("merge", states[0], other)
    assert r.returncode == 2 and b"different losses" in r.stderr
    chunk = tmp_path / "chunk.state"
    assert run_losscli("eval", parts / "part-4.parquet", *[a for x in LOSSES for a in ("-l", x)],
                       "--chunk-size", "500", "--save-state", chunk, "-q").returncode == 0
    r = run_losscli("merge", states[0], chunk)
    assert r.returncode == 2 and b"option 'chunk_size': 700 vs 500" in r.stderr
    newer = tmp_path / "newer.state"
    doc = json.loads(states[1].read_text())
    doc["state_version"] = 99
    newer.write_text(json.dumps(doc))
    r = run_losscli("merge", states[0], newer)
    assert r.returncode == 2 and b"state_version 99" in r.stderr
    r = run_losscli("merge", parts / "part-0.parquet")
    assert r.returncode == 2 and b"not a saved state" in r.stderr


def test_dask_engine_over_a_folder_of_text_files_gives_the_local_bits(tmp_path, cluster):
    """CSV parts are read one unit per file; their rows are put in place as the states are
    merged (issue 12): the Dask engine gives the local bits, and the local error."""
    rng = np.random.default_rng(3)
    for i, n in enumerate((900, 1300, 700)):
        y = rng.normal(size=n)
        lines = ["pred,target", *(f"{a!r},{b!r}" for a, b in zip((y + rng.normal(size=n))
                                                                  .tolist(), y.tolist()))]
        (tmp_path / f"part-{i}.csv").write_text("\n".join(lines) + "\n")
    kw = {"losses": LOSSES, "chunk_size": 400}
    local = losscli.evaluate(str(tmp_path), workers=2, **kw)
    dask = losscli.evaluate(str(tmp_path), engine="dask", scheduler=cluster.scheduler_address,
                            **kw)
    assert _bits(local) == _bits(dask)
    bad = tmp_path / "part-2.csv"
    bad.write_text(bad.read_text().replace("\n", "\nnan,1.0\n", 1))
    messages = []
    for extra in ({"workers": 2}, {"engine": "dask", "scheduler": cluster.scheduler_address}):
        with pytest.raises(InputError) as err:
            losscli.evaluate(str(tmp_path), **kw, **extra)
        messages.append(str(err.value))
    assert messages[0] == messages[1] and "first at row 2200" in messages[0]


@pytest.fixture(scope="module")
def hive(tmp_path_factory):
    """A hive dataset (region=.../part-k.parquet) with a segment column and an id column,
    and its targets by id in another (shuffled) file."""
    rng = np.random.default_rng(12)
    root = tmp_path_factory.mktemp("hive")
    ids, preds, segments = [], [], []
    for r, region in enumerate(("east", "north", "west")):
        for k in range(2):
            n = 900 + 100 * k
            i = np.arange(n) + 10_000 * (2 * r + k)
            p = rng.normal(size=n) * (1 + r)
            seg = rng.integers(0, 4, n)
            folder = root / "preds" / f"region={region}"
            folder.mkdir(parents=True, exist_ok=True)
            pq.write_table(pa.table({"id": i, "pred": p, "segment": seg}),
                           folder / f"part-{k}.parquet", row_group_size=300)
            ids.append(i)
            preds.append(p)
            segments.append(seg)
    all_ids = np.concatenate(ids)
    target = np.concatenate(preds) + rng.normal(size=all_ids.size)
    order = rng.permutation(all_ids.size)
    pq.write_table(pa.table({"id": all_ids[order], "target": target[order]}),
                   root / "truth.parquet")
    return root


def _group_bits(report):
    return [(tuple(g.key.items()), g.rows, _bits(g)) for g in report.groups]


def test_dask_engine_per_group_and_intervals_over_a_hive_dataset(hive, cluster):
    opts = dict(targets=str(hive / "truth.parquet"), id_col="id",
                losses=["mse", "mae", "r2"], group_by=["region", "segment"], ci=True,
                ci_method="bootstrap", replicates=40, chunk_size=250)
    local = losscli.evaluate(str(hive / "preds"), **opts)
    remote = losscli.evaluate(str(hive / "preds"), engine="dask",
                              scheduler=cluster.scheduler_address, **opts)
    assert _bits(local) == _bits(remote)
    assert len(local.groups) == 12 and _group_bits(local) == _group_bits(remote)
    assert local.inputs["join"]["matched"] == 5700


def test_dask_engine_over_object_storage(hive, cluster, s3_env, s3_server):
    # the workers read the objects themselves: the endpoint and keys go in the options
    client = s3_env
    client.create_bucket(Bucket="scale")
    for path in sorted((hive / "preds").rglob("*.parquet")):
        client.upload_file(str(path), "scale", f"preds/{path.relative_to(hive / 'preds')}")
    storage = [f"endpoint_override={s3_server}", "access_key=testing", "secret_key=testing",
               "region=us-east-1"]
    opts = dict(losses=["mse", "mae"], group_by="region", ci=True, chunk_size=250,
                target_col="segment", storage_options=storage)
    local = losscli.evaluate(str(hive / "preds"), target_col="segment",
                             **{k: v for k, v in opts.items()
                                if k not in ("storage_options", "target_col")})
    remote = losscli.evaluate("s3://scale/preds/", engine="dask",
                              scheduler=cluster.scheduler_address, **opts)
    assert _bits(local) == _bits(remote)
    assert _group_bits(local) == _group_bits(remote)
