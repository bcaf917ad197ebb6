"""Inputs in object storage (issue 12), against a real S3 API: the moto server of
``conftest.s3_server`` on 127.0.0.1, holding a small hive-partitioned dataset (two keys,
several parts, a ``_SUCCESS`` file). Values equal the local run's, bit for bit at the same
chunk size; every format reads; errors are one line; credentials never show."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as pf
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.errors import UsageError
from tests.conftest import run_losscli

LOSSES = ["mse", "mae", "huber:delta=0.5", "r2", "max_error"]
PARTS = [("2026-11-01", "eu", 700), ("2026-11-01", "us", 300), ("2026-11-02", "eu", 1000),
         ("2026-11-02", "us", 450)]
SECRET_ENV = "SeCrEt-EnV-4711"
SECRET_OPT = "SeCrEt-OpT-0815"


def _table(n: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    target = rng.normal(size=n)
    pred = target + rng.normal(size=n)
    pred[::9] += 1e8
    return pa.table({"pred": pred, "target": target, "weight": rng.uniform(0, 2, n)})


def _encode(table: pa.Table, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "parquet":
        pq.write_table(table, buf, row_group_size=250)
    elif fmt == "csv":
        pacsv.write_csv(table, buf)
    elif fmt == "ndjson":
        rows = table.to_pylist()
        buf.write("".join(json.dumps(r) + "\n" for r in rows).encode())
    elif fmt == "feather":
        pf.write_feather(table, buf)
    elif fmt == "npy":
        arr = np.zeros(table.num_rows, dtype=[(c, "f8") for c in table.column_names])
        for c in table.column_names:
            arr[c] = table.column(c).to_numpy()
        np.save(buf, arr)
    return buf.getvalue()


@pytest.fixture
def bucket(s3_env, tmp_path):
    """Bucket 'preds-bucket': the dataset in every format under ``<fmt>/`` (CSV also
    gzipped under ``csv.gz/``), and the same files on the local disk under tmp_path."""
    client = s3_env
    client.create_bucket(Bucket="preds-bucket")
    for fmt in ("parquet", "csv", "ndjson", "feather", "npy", "csv.gz"):
        base = fmt.split(".")[0]
        for i, (date, region, n) in enumerate(PARTS):
            data = _encode(_table(n, i), base)
            if fmt == "csv.gz":
                data = gzip.compress(data)
            key = f"{fmt}/date={date}/region={region}/part-{i}.{fmt}"
            client.put_object(Bucket="preds-bucket", Key=key, Body=data)
            local = tmp_path / key
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(data)
        client.put_object(Bucket="preds-bucket", Key=f"{fmt}/_SUCCESS", Body=b"")
    return tmp_path


@pytest.mark.parametrize("fmt", ["parquet", "csv", "ndjson", "feather", "npy", "csv.gz"])
def test_s3_equals_the_local_run_bit_for_bit(bucket, fmt):
    kw = {"losses": LOSSES, "chunk_size": 250, "weight_col": "weight"}
    remote = losscli.evaluate(f"s3://preds-bucket/{fmt}/", **kw)
    local = losscli.evaluate(str(bucket / fmt), **kw)
    assert [r.value for r in remote.losses] == [r.value for r in local.losses]
    assert remote.rows == sum(n for _, _, n in PARTS)
    assert remote.inputs["predictions"]["path"] == f"s3://preds-bucket/{fmt}/"


def test_s3_at_every_worker_count_and_one_object(bucket):
    values = {w: [r.value for r in losscli.evaluate(
        "s3://preds-bucket/parquet/", losses=LOSSES, workers=w).losses] for w in (1, 3)}
    assert values[1] == values[3]
    one = losscli.evaluate("s3://preds-bucket/parquet/date=2026-11-02/region=eu/part-2.parquet",
                           losses=["mse"])
    assert one.rows == 1000


def test_s3_targets_pair_with_local_predictions_folder(bucket, s3_env):
    """Targets in a bucket, predictions on disk: paired file by file by relative path."""
    client = s3_env
    for i, (date, region, n) in enumerate(PARTS):
        table = _table(n, i)
        client.put_object(Bucket="preds-bucket",
                          Key=f"truth/date={date}/region={region}/part-{i}.parquet",
                          Body=_encode(table.select(["target"]), "parquet"))
    paired = losscli.evaluate(str(bucket / "parquet"), "s3://preds-bucket/truth/",
                              losses=["mse"], pred_col="pred", chunk_size=250)
    alone = losscli.evaluate(str(bucket / "parquet"), losses=["mse"], chunk_size=250)
    assert paired.losses[0].value == alone.losses[0].value


def test_cli_report_stderr_and_saved_state_hold_no_credentials(bucket, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ENV)
    state = tmp_path / "run.state"
    out = run_losscli("eval", "s3://AKIAURI:pAsSwOrDuRi@preds-bucket/parquet/", "--loss", "mse",
                      "--storage-option", f"secret_key={SECRET_OPT}",
                      "--storage-option", "access_key=AKIAOPTION", "--format", "json",
                      "--save-state", state)
    assert out.returncode == 0, out.stderr
    everything = out.stdout + out.stderr.decode() if isinstance(out.stdout, str) else (
        out.stdout + out.stderr).decode()
    everything += state.read_text()
    for secret in (SECRET_ENV, SECRET_OPT, "pAsSwOrDuRi", "AKIAOPTION"):
        assert secret not in everything
    assert json.loads(out.stdout)["inputs"]["predictions"]["path"] == \
        "s3://preds-bucket/parquet/"
    # and in a failure's one line
    bad = run_losscli("eval", "s3://preds-bucket/parquet/", "--loss", "mse",
                      "--storage-option", f"secret_key={SECRET_OPT}",
                      "--storage-option", "endpoint_override=127.0.0.1:1",
                      "--storage-option", "scheme=http")
    assert bad.returncode == 2
    assert SECRET_OPT.encode() not in bad.stderr and SECRET_ENV.encode() not in bad.stderr


def _one_line_error(out) -> str:
    assert out.returncode == 2, out.stderr
    lines = out.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("losscli: error: "), lines
    assert b"Traceback" not in out.stderr and out.stdout == b""
    return lines[0]


def test_missing_bucket_denied_and_unreachable_are_one_line(s3_env, monkeypatch):
    line = _one_line_error(run_losscli("eval", "s3://no-such-bucket/preds/", "--loss", "mse"))
    assert "Not found: 's3://no-such-bucket/preds/'" in line
    line = _one_line_error(run_losscli(
        "eval", "s3://preds-bucket/x/", "--loss", "mse", "--storage-option",
        "endpoint_override=127.0.0.1:1", "--storage-option", "scheme=http",
        "--storage-option", "connect_timeout=1"))
    assert "Check the endpoint and the network" in line
    s3_env.create_bucket(Bucket="locked")
    s3_env.put_object(Bucket="locked", Key="p/a.parquet", Body=_encode(_table(5, 0), "parquet"))
    import moto.settings

    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)  # check keys now
    line = _one_line_error(run_losscli("eval", "s3://locked/p/", "--loss", "mse"))
    assert "Cannot read 's3://locked/p/'" in line and "check the credentials" in line.lower()


def test_unknown_storage_option_is_a_usage_error(cli):
    out = cli("eval", "s3://b/x/", "--storage-option", "endpoint=localhost:9000")
    assert out.exit_code == 2 and "Did you mean 'endpoint_override'" in out.stderr
    with pytest.raises(UsageError, match="--storage-option applies to s3:// URIs"):
        losscli.evaluate("gs://bucket/x/", storage_options={"region": "x"})


def test_a_compressed_binary_object_is_decompressed_into_a_temporary_file(s3_env):
    table = _table(600, 7)
    s3_env.create_bucket(Bucket="gz-bucket")
    s3_env.put_object(Bucket="gz-bucket", Key="p.parquet.gz",
                      Body=gzip.compress(_encode(table, "parquet")))
    s3_env.put_object(Bucket="gz-bucket", Key="p.parquet", Body=_encode(table, "parquet"))
    a = losscli.evaluate("s3://gz-bucket/p.parquet.gz", losses=LOSSES)
    b = losscli.evaluate("s3://gz-bucket/p.parquet", losses=LOSSES)
    assert [r.value for r in a.losses] == [r.value for r in b.losses]


def test_workers_auto_for_object_storage(bucket):
    from losscli.executor import available_cpus
    from losscli.session import Session
    from losscli.spec import build_spec

    remote = Session(build_spec("s3://preds-bucket/parquet/", losses=["mse"]))
    local = Session(build_spec(str(bucket / "parquet"), losses=["mse"]))
    cpus = available_cpus()
    assert remote.workers == min(4 * cpus, max(16, cpus)) and local.workers == cpus
    assert Session(build_spec("s3://preds-bucket/parquet/", losses=["mse"],
                              workers=3)).workers == 3
