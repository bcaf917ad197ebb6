"""Discovering the files of a dataset: folders, globs, hive partitions, object storage
(a real S3 API server: moto on 127.0.0.1), pairing, and credentials kept out of messages."""

from __future__ import annotations

import io
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from losscli.errors import InputError, UsageError
from losscli.io.dataset import discover, pair, parse_storage_options, redact


def _parquet(path, n=5, seed=0):
    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({"pred": rng.normal(size=n), "target": rng.normal(size=n)}), path)


@pytest.fixture
def hive(tmp_path):
    root = tmp_path / "preds"
    for day in ("2026-11-02", "2026-11-01"):
        for part in (1, 0):
            _parquet(root / f"date={day}" / f"part-{part}.parquet")
    (root / "_SUCCESS").write_bytes(b"")
    (root / "date=2026-11-01" / ".part-0.parquet.crc").write_bytes(b"x")
    (root / "_temporary").mkdir()
    _parquet(root / "_temporary" / "part-9.parquet")
    return root


def test_a_folder_is_its_data_files_in_path_order_with_hive_keys(hive):
    ds = discover(str(hive))
    assert [f.relative for f in ds.files] == [
        "date=2026-11-01/part-0.parquet", "date=2026-11-01/part-1.parquet",
        "date=2026-11-02/part-0.parquet", "date=2026-11-02/part-1.parquet"]
    assert ds.partition_keys == ("date",)
    assert ds.files[2].partition == (("date", "2026-11-02"),)
    assert discover(str(hive), partitioning="none").files[0].partition == ()


def test_globs_match_recursively(hive):
    ds = discover(str(hive) + "/**/part-0.parquet")
    assert [f.relative for f in ds.files] == ["date=2026-11-01/part-0.parquet",
                                              "date=2026-11-02/part-0.parquet"]
    assert len(discover(str(hive) + "/date=2026-11-01/*.parquet").files) == 2


def test_empty_mixed_and_inconsistent_datasets_are_errors(tmp_path, hive):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="No data files in"):
        discover(str(tmp_path / "empty"))
    (hive / "date=2026-11-01" / "extra.csv").write_text("pred,target\n1,2\n")
    with pytest.raises(InputError, match="mixes formats"):
        discover(str(hive))
    (hive / "date=2026-11-01" / "extra.csv").unlink()
    _parquet(hive / "loose.parquet")
    with pytest.raises(InputError, match="same key=value folders"):
        discover(str(hive), partitioning="hive")
    assert discover(str(hive)).partition_keys == ()  # auto: not every file is partitioned


def test_targets_pair_file_by_file(tmp_path, hive):
    truth = tmp_path / "truth"
    for day in ("2026-11-01", "2026-11-02"):
        for part in (0, 1):
            _parquet(truth / f"date={day}" / f"part-{part}.parquet")
    pairs = pair(discover(str(hive)), discover(str(truth)))
    assert (pairs[0][0].relative, pairs[0][1].relative) == (
        "date=2026-11-01/part-0.parquet", "date=2026-11-01/part-0.parquet")
    (truth / "date=2026-11-02" / "part-1.parquet").unlink()
    with pytest.raises(InputError, match=r"part-1.parquet' has no targets file"):
        pair(discover(str(hive)), discover(str(truth)))


def test_storage_options_are_typed_and_checked():
    assert parse_storage_options(["endpoint_override=h:9", "anonymous=true",
                                  "connect_timeout=2"]) == {
        "endpoint_override": "h:9", "anonymous": True, "connect_timeout": 2.0}
    with pytest.raises(UsageError, match="Did you mean 'endpoint_override'"):
        parse_storage_options(["endpoint=h:9"])
    with pytest.raises(UsageError, match="KEY=VALUE"):
        parse_storage_options(["anonymous"])


def test_redact_removes_credentials():
    text = "s3://AKIA:sekrit@bucket/k?secret_key=abc&region=x and the token xyz"
    out = redact(text, ("xyz",))
    assert "sekrit" not in out and "abc" not in out and "xyz" not in out and "region=x" in out


# --- object storage: a real S3 API (moto) on loopback -------------------------------------

def _put_parquet(client, bucket, key, n=5, seed=0):
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    pq.write_table(pa.table({"pred": rng.normal(size=n), "target": rng.normal(size=n)}), buf)
    client.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())


def test_s3_folder_glob_and_file(s3_env):
    client = s3_env
    client.create_bucket(Bucket="ds-listing")
    for key in ("run/date=2026-11-01/part-1.parquet", "run/date=2026-11-01/part-0.parquet",
                "run/date=2026-11-02/part-0.parquet"):
        _put_parquet(client, "ds-listing", key)
    client.put_object(Bucket="ds-listing", Key="run/_SUCCESS", Body=b"")
    ds = discover("s3://ds-listing/run/")
    assert [f.relative for f in ds.files] == ["date=2026-11-01/part-0.parquet",
                                              "date=2026-11-01/part-1.parquet",
                                              "date=2026-11-02/part-0.parquet"]
    assert ds.partition_keys == ("date",) and ds.files[0].display.startswith("s3://ds-listing/")
    assert len(discover("s3://ds-listing/run/**/part-0.parquet").files) == 2
    (one,) = discover("s3://ds-listing/run/date=2026-11-02/part-0.parquet").files
    assert pq.ParquetFile(one.open_input_file()).metadata.num_rows == 5


def test_s3_errors_are_one_line_and_quick(s3_env):
    with pytest.raises(InputError, match="Not found: 's3://no-such-bucket/x/'"):
        discover("s3://no-such-bucket/x/")
    started = time.monotonic()
    with pytest.raises(InputError, match="Check the endpoint and the network") as err:
        discover("s3://ds-listing/run/", storage_options={
            "endpoint_override": "127.0.0.1:1", "scheme": "http", "secret_key": "s3cr3t",
            "access_key": "AKIA"})
    assert time.monotonic() - started < 10
    assert "s3cr3t" not in str(err.value) and "\n" not in str(err.value)
