"""What each reader can do, as the capability protocols of :mod:`losscli.io.base` see it
(the code outside :mod:`losscli.io.formats` asks only them): a file of text is
:class:`Scannable`, a folder is :class:`MultiFile`, a pipe is :class:`Piped` (read once),
a local input is not :class:`Remote`; and the runs that depend on it, through the CLI."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.feather as pf
import pyarrow.parquet as pq
import pytest
import sklearn.metrics as skm

from losscli.io.base import (
    MultiFile,
    Piped,
    Scannable,
    Source,
    is_remote,
    partition_keys,
    readable_twice,
)
from losscli.io.formats import open_source
from tests.conftest import run_losscli

N = 40


def _frame() -> dict[str, list[float]]:
    rng = np.random.default_rng(7)
    return {"pred": rng.random(N).tolist(), "target": rng.random(N).tolist()}


def _write(path: Path, fmt: str) -> None:
    table = pa.table(_frame())
    if fmt == "csv":
        path.write_text("pred,target\n" + "".join(
            f"{p!r},{t!r}\n" for p, t in zip(*_frame().values())))
    elif fmt == "ndjson":
        path.write_text("".join(json.dumps({"pred": p, "target": t}) + "\n"
                                for p, t in zip(*_frame().values())))
    elif fmt == "parquet":
        pq.write_table(table, path)
    elif fmt == "arrow":
        with pa.ipc.new_stream(path, table.schema) as writer:  # a stream, read from a pipe
            writer.write_table(table)
    elif fmt == "feather":
        pf.write_feather(table, path)
    else:
        np.save(path, np.column_stack(list(_frame().values())))


@pytest.mark.parametrize(("fmt", "scannable"), [
    ("csv", True), ("ndjson", True), ("parquet", False), ("feather", False), ("npy", False)])
def test_a_file_is_readable_twice_and_scannable_when_text(tmp_path, fmt, scannable):
    path = tmp_path / f"x.{fmt}"
    _write(path, fmt)
    source = open_source(str(path))
    assert isinstance(source, Source) and not isinstance(source, MultiFile)
    assert isinstance(source, Scannable) is scannable
    assert readable_twice(source) and not is_remote(source)
    assert partition_keys(source) == ()


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "arrow", "npy", "parquet"])
def test_a_pipe_is_read_once(tmp_path, fmt):
    data = tmp_path / f"data.{fmt}"
    _write(data, fmt)
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)

    def feed() -> None:
        with open(fifo, "wb") as out:
            out.write(data.read_bytes())

    writer = threading.Thread(target=feed)
    writer.start()
    try:
        source = open_source(str(fifo), fmt)
        # Parquet from a pipe is spooled to a temporary file first: a file again.
        assert readable_twice(source) is (fmt == "parquet")
        assert isinstance(source, Piped) is (fmt != "parquet")
        chunks = list(source.chunks([source.columns[0]], 1000))
        assert sum(len(next(iter(c.values()))) for c in chunks if c) == N
    finally:
        writer.join(timeout=10)


def test_a_folder_is_many_files_with_its_partition_keys(tmp_path):
    for day in ("2026-11-01", "2026-11-02"):
        (tmp_path / "preds" / f"date={day}").mkdir(parents=True)
        _write(tmp_path / "preds" / f"date={day}" / "part-0.csv", "csv")
    source = open_source(str(tmp_path / "preds"))
    assert isinstance(source, MultiFile) and isinstance(source, Source)
    assert len(source.files) == 2 and not source.pattern and not is_remote(source)
    assert partition_keys(source) == ("date",) and readable_twice(source)
    assert all(isinstance(source.part(i), Scannable) for i in range(2))
    assert open_source(str(tmp_path / "preds" / "*" / "*.csv")).pattern


def test_labels_from_an_ndjson_pipe_are_read_once():
    """NDJSON from standard input is piped: its labels are mapped while the one pass runs
    (it cannot be read twice), and the values are those of scikit-learn."""
    rng = np.random.default_rng(3)
    p, y = rng.random(200), rng.random(200) < 0.4
    rows = "".join(json.dumps({"prob": float(a), "label": "yes" if b else "no"}) + "\n"
                   for a, b in zip(p, y))
    proc = run_losscli("eval", "-", "--format-in", "ndjson", "--pos-label", "yes", "-l", "f1",
                       "-l", "log_loss", "--format", "json", input=rows.encode())
    assert proc.returncode == 0, proc.stderr
    values = {e["name"]: e["value"] for e in json.loads(proc.stdout)["losses"]}
    assert values["f1"] == pytest.approx(skm.f1_score(y, p >= 0.5), rel=1e-9)
    assert values[next(k for k in values if k != "f1")] == pytest.approx(skm.log_loss(y, p), rel=1e-9)


def test_a_glob_of_a_folder_runs_and_says_it_was_a_pattern(tmp_path):
    for day in ("2026-11-01", "2026-11-02"):
        (tmp_path / f"date={day}").mkdir()
        _write(tmp_path / f"date={day}" / "part-0.parquet", "parquet")
    proc = run_losscli("eval", str(tmp_path / "*" / "*.parquet"), "-l", "mse",
                       "--group-by", "date", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["inputs"]["predictions"]["pattern"] is True
    frame = _frame()
    expected = skm.mean_squared_error(frame["target"] * 2, frame["pred"] * 2)
    assert doc["losses"][0]["value"] == pytest.approx(expected, rel=1e-9)
    assert sorted(g["key"]["date"] for g in doc["groups"]) == ["2026-11-01", "2026-11-02"]


@pytest.mark.parametrize(("fmt", "parsed"), [("csv", "parse to"), ("ndjson", "hold")])
def test_a_scanned_text_file_reads_its_ranges_and_sees_a_change(tmp_path, fmt, parsed):
    path = tmp_path / f"x.{fmt}"
    _write(path, fmt)
    source = open_source(str(path))
    assert isinstance(source, Scannable) and source.scan(8)
    assert source.split_points() == [0, 8, 16, 24, 32, N]
    got = np.concatenate([c["pred"] for c in source.read_range(["pred"], 5, 27, 4) if c])
    assert got.tolist() == _frame()["pred"][5:27]
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines[:20] + lines[22:]))  # two rows gone since the scan
    with pytest.raises(Exception, match=f"changed while it was read: rows 32..40 now {parsed}"):
        list(source.read_range(["pred"], 32, N, 4))
