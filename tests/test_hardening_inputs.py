"""Issue 9, the input side: every example of a foreign input that used to end in a
traceback, a misleading message or unbounded memory, through the CLI. Each either reads
correctly or fails with one line on stderr and exit 2 saying what is wrong and what to do.
"""

from __future__ import annotations

import gzip
import os
import select
import subprocess
import sys
import threading

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.errors import InputError, UsageError
from tests.conftest import ROOT, run_losscli

CSV = b"pred,target\n1,2\n3,5\n"  # mse (1 + 4) / 2 = 2.5, mae 1.5


def one_line_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """Exit 2, nothing on stdout, one line on stderr holding ``fragments``."""
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 2, (proc.returncode, err)
    assert proc.stdout == b"" and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("losscli: error: "), err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    return err


def run(*args, input: bytes | None = None) -> subprocess.CompletedProcess:
    """The CLI in-process (Typer's runner; fast), as a CompletedProcess with bytes output.
    Tests that need a real pipe, FIFO or process use :func:`run_losscli`."""
    from typer.testing import CliRunner

    from losscli.cli import app

    result = CliRunner().invoke(app, [str(a) for a in args], input=input,
                                env={"COLUMNS": "200"}, catch_exceptions=False)
    return subprocess.CompletedProcess(args, result.exit_code, result.stdout_bytes,
                                       result.stderr_bytes)


def mse_of(proc: subprocess.CompletedProcess) -> float:
    import json

    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)["losses"][0]["value"]


# -- 4. text that is not UTF-8, column names, unreadable first rows, compression ---------
def test_text_that_is_not_utf8_names_the_byte_and_offers_encoding(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"pred,t\xe9rget\n1,2\n")
    one_line_error(run("eval", path), "l.csv' is not valid UTF-8 text",
                   "column 2", "0xe9", "--encoding latin-1")
    ok = run("eval", path, "--encoding", "latin-1", "-l", "mae", "-f", "json",
                     "--target-col", "térget")
    assert mse_of(ok) == 1.0


def test_utf16_is_recognised_by_its_mark_and_read_with_encoding(tmp_path):
    data = "pred,target\n1,2\n3,5\n".encode("utf-16")
    path = tmp_path / "u.csv"
    path.write_bytes(data)
    one_line_error(run("eval", path), "UTF-16 byte-order mark", "--encoding utf-16")
    assert mse_of(run("eval", path, "--encoding", "utf-16", "-l", "mse", "-f",
                              "json")) == 2.5
    piped = run("eval", "-", "--encoding", "utf-16", "-l", "mse", "-f", "json",
                        input=data)
    assert mse_of(piped) == 2.5
    ndjson = tmp_path / "u.ndjson"
    ndjson.write_bytes('{"pred": 1, "target": 2}\n{"pred": 3, "target": 5}\n'.encode("cp1252"))
    assert mse_of(run("eval", ndjson, "--encoding", "cp1252", "-l", "mse", "-f",
                              "json")) == 2.5


def test_unknown_encoding_is_a_usage_error():
    one_line_error(run("eval", "sample_data/regression.csv", "--encoding", "klingon"),
                   "encoding must name a text encoding")


def test_non_utf8_ndjson_names_the_line(tmp_path):
    path = tmp_path / "l.ndjson"
    path.write_bytes(b'\n{"pred": 1, "t\xe9rget": 2}\n')
    one_line_error(run("eval", path, "-l", "mse"), "(line 2)", "--encoding")


def test_empty_column_names_from_trailing_commas_are_named(tmp_path, cli):
    path = tmp_path / "e.csv"
    path.write_bytes(b"pred,target,,\n1,2,,\n3,5,,\n")
    assert mse_of(run("eval", path, "-l", "mse", "-f", "json")) == 2.5
    shown = cli("inspect", str(path))
    assert shown.exit_code == 0 and "column_3" in shown.stdout and "column_4" in shown.stdout


def test_duplicated_column_names_are_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"pred,target,pred\n1,2,3\n")
    one_line_error(run("eval", path), "Column name 'pred' appears twice",
                   "columns 1 and 3", "rename one")
    table = pa.Table.from_arrays([pa.array([1.0]), pa.array([2.0]), pa.array([3.0])],
                                 names=["pred", "target", "target"])
    pq.write_table(table, tmp_path / "d.parquet")
    one_line_error(run("eval", tmp_path / "d.parquet"), "'target' appears twice")


def test_inspect_on_first_rows_that_cannot_be_read(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"pred,target\n1,2\nx\"y,3\n")
    one_line_error(run("inspect", path), "Non-numeric value 'x\"y'", "row 1")
    ragged = tmp_path / "ragged.csv"
    ragged.write_bytes(b"pred,target\n1,2,3,4\n")
    one_line_error(run("inspect", ragged), "has 4 fields, but the header names 2")


def corrupt_page(tmp_path) -> str:
    """A Parquet file whose footer is intact but whose first data page is garbage."""
    path = tmp_path / "corrupt.parquet"
    values = np.random.default_rng(0).random(5000)
    pq.write_table(pa.table({"pred": values, "target": values}), path, compression="snappy")
    start = pq.ParquetFile(path).metadata.row_group(0).column(0).data_page_offset
    data = bytearray(path.read_bytes())
    data[start + 200:start + 264] = b"\xff" * 64  # inside the page (the footer is intact)
    path.write_bytes(bytes(data))
    return str(path)


def test_corrupt_parquet_page_in_eval_and_inspect(tmp_path):
    path = corrupt_page(tmp_path)
    for command in ("eval", "inspect"):
        one_line_error(run(command, path), "corrupt.parquet")


@pytest.mark.parametrize("how", ["file", "stdin"])
def test_truncated_and_non_gzip_compressed_input(tmp_path, how):
    good = gzip.compress(CSV * 1000)
    truncated = good[: len(good) // 2]
    if how == "file":
        (tmp_path / "t.csv.gz").write_bytes(truncated)
        proc = run_losscli("eval", tmp_path / "t.csv.gz")
        (tmp_path / "n.csv.gz").write_bytes(CSV)
        one_line_error(run_losscli("eval", tmp_path / "n.csv.gz"), "named like a gzip file",
                       "not compressed")
    else:
        proc = run_losscli("eval", "-", input=truncated)
        one_line_error(run_losscli("eval", "-", input=b"\x1f\x8b" + b"garbage" * 10),
                       "Cannot decompress '<stdin>' as gzip")
    one_line_error(proc, "Cannot decompress", "as gzip", "truncated or corrupt")


def test_compressed_npy_and_parquet_files_are_read(tmp_path):
    np.save(tmp_path / "p.npy", np.array([1.0, 3.0]))
    (tmp_path / "p.npy.gz").write_bytes(gzip.compress((tmp_path / "p.npy").read_bytes()))
    np.save(tmp_path / "t.npy", np.array([2.0, 5.0]))
    proc = run("eval", tmp_path / "p.npy.gz", "-t", tmp_path / "t.npy", "-l", "mse",
                       "-f", "json")
    assert mse_of(proc) == 2.5
    pq.write_table(pa.table({"pred": [1.0, 3.0], "target": [2.0, 5.0]}), tmp_path / "x.parquet")
    (tmp_path / "x.parquet.gz").write_bytes(gzip.compress((tmp_path / "x.parquet").read_bytes()))
    assert mse_of(run("eval", tmp_path / "x.parquet.gz", "-l", "mse", "-f", "json")) == 2.5


# -- 6. messages that tell the truth -------------------------------------------------------
def test_header_wider_than_64_kib_is_read(tmp_path):
    names = [f"class_{i:05d}" for i in range(12_000)]
    header = ",".join([*names, "pred", "target"])
    assert len(header) > 64 << 10
    zeros = ",".join("0" for _ in names)
    path = tmp_path / "wide.csv"
    path.write_text(f"{header}\n{zeros},1,2\n{zeros},3,5\n")
    assert mse_of(run("eval", path, "-l", "mse", "-f", "json")) == 2.5
    assert mse_of(run("eval", "-", "-l", "mse", "-f", "json",
                              input=path.read_bytes())) == 2.5


@pytest.mark.parametrize("ending", [b"\r", b"\r\n"])
def test_cr_line_endings_are_read(tmp_path, ending):
    data = CSV.replace(b"\n", ending)
    (tmp_path / "cr.csv").write_bytes(data)
    assert mse_of(run("eval", tmp_path / "cr.csv", "-l", "mse", "-f", "json")) == 2.5
    assert mse_of(run("eval", "-", "-l", "mse", "-f", "json", input=data)) == 2.5
    ndjson = b'{"pred": 1, "target": 2}\r{"pred": 3, "target": 5}\r'
    (tmp_path / "cr.ndjson").write_bytes(ndjson)
    assert mse_of(run("eval", tmp_path / "cr.ndjson", "-l", "mse", "-f", "json")) == 2.5


def run_with_fd(data: bytes, *args: str) -> subprocess.CompletedProcess:
    """Run losscli reading ``/dev/fd/N``, a pipe the test writes: what ``<(cmd)`` gives."""
    read, write = os.pipe()
    proc = subprocess.Popen([sys.executable, "-m", "losscli", *args, f"/dev/fd/{read}"],
                            pass_fds=(read,), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            cwd=ROOT)
    os.close(read)
    writer = threading.Thread(target=lambda: (os.write(write, data), os.close(write)))
    writer.start()
    out, err = proc.communicate(timeout=120)
    writer.join()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_process_substitution_and_fifos_are_read_as_streams(tmp_path):
    assert mse_of(run_with_fd(CSV, "eval", "-l", "mse", "-f", "json")) == 2.5
    table = pa.table({"pred": [1.0, 3.0], "target": [2.0, 5.0]})
    pq.write_table(table, tmp_path / "x.parquet")
    parquet = (tmp_path / "x.parquet").read_bytes()
    assert mse_of(run_with_fd(parquet, "eval", "-l", "mse", "-f", "json")) == 2.5
    fifo = tmp_path / "named.csv"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes, args=(CSV,))
    writer.start()
    assert mse_of(run_losscli("eval", fifo, "-l", "mse", "-f", "json")) == 2.5
    writer.join()


def test_int64_above_2_53_is_read_as_the_nearest_float(tmp_path):
    big = 2**53 + 1
    pq.write_table(pa.table({"pred": pa.array([big], pa.int64()),
                             "target": pa.array([big - 1], pa.int64())}), tmp_path / "b.parquet")
    proc = run("eval", tmp_path / "b.parquet", "-l", "mae", "-f", "json")
    assert mse_of(proc) == float(big) - float(big - 1)  # 0.0: both round to 2**53
    assert b"truncated" not in proc.stderr


def test_a_line_longer_than_the_limit_says_so_and_the_limit_can_be_raised(tmp_path):
    field = b"x" * (3 << 20)
    path = tmp_path / "long.csv"
    path.write_bytes(b"pred,target,note\n1,2,a\n3,5," + field + b"\n")
    err = one_line_error(run("eval", path, "--max-line-bytes", "1M"),
                         "Line 3 of", "longer than 1 MiB", "--max-line-bytes")
    assert "block size" not in err
    assert mse_of(run("eval", path, "--max-line-bytes", "8M", "-l", "mse", "-f",
                              "json")) == 2.5
    ndjson = tmp_path / "long.ndjson"
    ndjson.write_bytes(b'{"pred": 1, "target": 2}\n{"pred": 3, "target": 5, "n": "'
                       + field + b'"}\n')
    one_line_error(run("eval", ndjson, "--max-line-bytes", "1M"), "longer than 1 MiB")
    assert mse_of(run("eval", ndjson, "--max-line-bytes", "4M", "-l", "mse", "-f",
                              "json")) == 2.5


def test_a_100_mb_field_stops_at_the_default_limit(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as f:
        f.write(b"pred,target,note\n1,2,")
        f.write(b"x" * (100 << 20))
        f.write(b"\n")
    one_line_error(run("eval", path), "Line 2 of", "longer than 16 MiB",
                   "--max-line-bytes")


def test_control_characters_from_a_file_are_escaped(tmp_path, cli):
    path = tmp_path / "esc.csv"
    path.write_bytes(b'pred,"t\x1b[31mX\x07\nY",target\n1,2,3\n')
    err = one_line_error(run("eval", path, "--pred-col", "nope"), "No column 'nope'")
    assert "\x1b" not in err and "\x07" not in err and "t\\x1b[31mX\\x07\\nY" in err
    shown = cli("inspect", str(path))
    assert shown.exit_code == 0
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "t\\x1b[31mX\\x07\\nY" in shown.stdout


# -- 7. pipes ----------------------------------------------------------------------------
def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "losscli", *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)


def test_a_header_error_is_reported_before_the_writer_closes_the_pipe():
    proc = start("eval", "-", "--pred-col", "nope")
    assert proc.stdin is not None
    proc.stdin.write(b"pred,target\n")
    proc.stdin.flush()
    try:
        code = proc.wait(timeout=60)  # the pipe stays open all along
    finally:
        proc.stdin.close()
        proc.kill()
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert code == 2 and "No column 'nope' (--pred-col)" in err


def read_line(stream, timeout: float) -> bytes:
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else b""


@pytest.mark.parametrize(("header", "row"), [(b"pred,target\n", b"%d,%d\n"),
                                             (b"", b'{"pred": %d, "target": %d}\n')])
def test_per_row_output_follows_a_slow_pipe_line_by_line(header, row):
    proc = start("eval", "-", "-l", "mae", "-r", "none")
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(header + row % (1, 3))
    proc.stdin.flush()
    try:
        assert read_line(proc.stdout, 60) == b"row,mae\n"
        assert read_line(proc.stdout, 60) == b"0,2\n"  # while the pipe is still open
        proc.stdin.write(row % (5, 5))
        proc.stdin.flush()
        assert read_line(proc.stdout, 60) == b"1,0\n"
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0


def test_a_slow_pipe_aligned_with_a_targets_file(tmp_path):
    (tmp_path / "t.csv").write_text("target\n3\n2\n3\n")
    proc = start("eval", "-", "-t", str(tmp_path / "t.csv"), "-l", "mae", "-r", "none")
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"pred\n1\n")
    proc.stdin.flush()
    try:
        assert read_line(proc.stdout, 60) == b"row,mae\n"
        assert read_line(proc.stdout, 60) == b"0,2\n"
        proc.stdin.write(b"4\n6\n")
    finally:
        proc.stdin.close()
        rest = proc.stdout.read()
        proc.wait(timeout=60)
    assert rest == b"1,2\n2,3\n" and proc.returncode == 0


def test_task_detection_waits_for_rows_that_look_binary():
    """Rows that look binary may not decide the task until more arrive: the answer must not
    depend on when the writer pauses, so nothing is evaluated before it resumes."""
    proc = start("eval", "-", "-l", "mae", "-r", "none")
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"pred,target\n0.5,1\n")
    proc.stdin.flush()
    try:
        assert read_line(proc.stdout, 1.5) == b""  # waits: 0.5 vs 1 looks binary
        proc.stdin.write(b"3,5\n")
    finally:
        proc.stdin.close()
    out = proc.stdout.read()
    proc.wait(timeout=60)
    assert out == b"row,mae\n0,0.5\n1,2\n"


# -- the Python API keeps its errors too -------------------------------------------------
def test_api_errors_are_losscli_errors(tmp_path):
    path = tmp_path / "l.csv"
    path.write_bytes(b"pred,t\xe9rget\n1,2\n")
    with pytest.raises(InputError, match="--encoding"):
        losscli.evaluate(str(path))
    report = losscli.evaluate(str(path), encoding="latin-1", losses="mae")
    assert report["mae"] == 1.0
    with pytest.raises(UsageError, match="max_line_bytes"):
        losscli.evaluate(str(path), max_line_bytes="lots")



def test_library_warnings_never_reach_stderr(tmp_path):
    # An NPY header written by Python 2 (`3L`): numpy reads it, with a two-line
    # UserWarning naming losscli's source. stderr carries losscli's lines alone; -W shows it.
    import struct

    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (3L,), }"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    data = (b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")
            + np.array([1.0, 2.0, 3.0]).tobytes())
    (tmp_path / "old.npy").write_bytes(data)
    np.save(tmp_path / "t.npy", np.array([1.0, 2.0, 2.0]))
    out = run_losscli("eval", tmp_path / "old.npy", "-t", tmp_path / "t.npy", "-l", "mse",
                      "-f", "json")
    assert out.returncode == 0 and out.stderr == b""
    piped = run_losscli("eval", "-", "--format-in", "npy", "-t", tmp_path / "t.npy", "-l",
                        "mse", "-f", "json", input=data)
    assert piped.returncode == 0 and piped.stderr == b"", piped.stderr
    shown = run_losscli("eval", "-", "--format-in", "npy", "-t", tmp_path / "t.npy", "-l",
                        "mse", input=data, env={"PYTHONWARNINGS": "always"})
    assert b"Python 2" in shown.stderr
