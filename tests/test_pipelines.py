"""losscli in shell pipelines: real subprocesses reading stdin and writing into closed pipes.

Every format that streams is fed through a real pipe (``cat FILE | python -m losscli eval -``)
and must give the same value as reading the file by name; Parquet and Feather are spooled.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import ROOT, SAMPLES, run_losscli

LOSSCLI = f"{shlex.quote(sys.executable)} -m losscli"


def sh(command: str, **kwargs) -> subprocess.CompletedProcess:
    """Run a shell pipeline from the repository root; PIPESTATUS of every stage is printed
    last on stderr as 'status: a b c'."""
    script = f"{command}; echo \"status: ${{PIPESTATUS[*]}}\" >&2"
    return subprocess.run(["bash", "-c", script], capture_output=True, cwd=ROOT, timeout=120,
                          **kwargs)


def statuses(proc: subprocess.CompletedProcess) -> list[int]:
    line = proc.stderr.decode().strip().splitlines()[-1]
    assert line.startswith("status: "), proc.stderr
    return [int(x) for x in line.split()[1:]]


def value(stdout: bytes, loss: str = "mse") -> float:
    doc = json.loads(stdout)
    return next(x["value"] for x in doc["losses"] if x["name"] == loss)


@pytest.fixture(scope="module")
def expected() -> float:
    table = pq.read_table(SAMPLES / "regression.parquet")
    d = table["pred"].to_numpy() - table["target"].to_numpy()
    return float(np.mean(d * d))


@pytest.mark.parametrize("name", ["regression.csv", "regression.ndjson", "regression.parquet",
                                  "regression.feather"])
def test_cat_file_into_eval_dash(name, expected):
    proc = sh(f"cat sample_data/{name} | {LOSSCLI} eval - --loss mse --format json")
    assert statuses(proc) == [0, 0], proc.stderr
    assert value(proc.stdout) == pytest.approx(expected, rel=1e-12)
    assert json.loads(proc.stdout)["inputs"]["predictions"]["path"] == "<stdin>"


def test_no_file_argument_reads_a_pipe(expected):
    proc = sh(f"cat sample_data/regression.csv | {LOSSCLI} eval --loss mse -f json")
    assert statuses(proc) == [0, 0]
    assert value(proc.stdout) == pytest.approx(expected, rel=1e-12)


def test_tsv_gzip_and_format_in_on_stdin(tmp_path, expected):
    data = (SAMPLES / "regression.csv").read_bytes()
    tsv = data.replace(b",", b"\t")
    for payload, extra in ((tsv, []), (gzip.compress(data), []),
                           (tsv, ["--format-in", "tsv"]), (data, ["--format-in", "csv"])):
        proc = run_losscli("eval", "-", "-l", "mse", "-f", "json", *extra, input=payload)
        assert proc.returncode == 0, proc.stderr
        assert value(proc.stdout) == pytest.approx(expected, rel=1e-12)


def test_targets_from_stdin_and_predictions_from_a_file(expected):
    proc = sh(f"cat sample_data/targets.npy | {LOSSCLI} eval sample_data/preds.npy "
              "--targets - -l mse -f json")
    assert statuses(proc) == [0, 0], proc.stderr
    assert value(proc.stdout) == pytest.approx(expected, rel=1e-12)


def test_npy_from_a_pipe_in_small_chunks(tmp_path):
    rng = np.random.default_rng(1)
    rec = np.zeros(10_001, dtype=[("pred", "<f8"), ("target", "<f4")])
    rec["pred"], rec["target"] = rng.normal(size=10_001), rng.normal(size=10_001)
    np.save(tmp_path / "rec.npy", rec)
    proc = sh(f"cat {tmp_path}/rec.npy | {LOSSCLI} eval - -l mae -f json --chunk-size 999")
    assert statuses(proc) == [0, 0], proc.stderr
    want = np.mean(np.abs(rec["pred"] - rec["target"].astype(np.float64)))
    assert value(proc.stdout, "mae") == pytest.approx(want, rel=1e-12)
    # A truncated stream is an input error naming how far it got.
    cut = (tmp_path / "rec.npy").read_bytes()[:5000]
    bad = run_losscli("eval", "-", "-l", "mae", input=cut)
    assert bad.returncode == 2 and b"truncated" in bad.stderr and b"of the 10001 rows" in bad.stderr


def test_arrow_ipc_stream_from_a_pipe(tmp_path, expected):
    table = pq.read_table(SAMPLES / "regression.parquet")
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=77)
    proc = run_losscli("eval", "-", "-l", "mse", "-f", "json", input=sink.getvalue().to_pybytes())
    assert proc.returncode == 0, proc.stderr
    assert value(proc.stdout) == pytest.approx(expected, rel=1e-12)
    assert json.loads(proc.stdout)["inputs"]["predictions"]["format"] == "arrow"


def test_ndjson_in_and_ndjson_out():
    lines = b'{"pred": 1.5, "target": 1.0}\n{"pred": 2, "target": 4, "id": "a"}\n\n' \
            b'{"pred": -1, "target": 0}\n'
    proc = run_losscli("eval", "-", "-l", "mse", "-l", "mae", "-r", "none", "-f", "ndjson",
                       input=lines)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(x) for x in proc.stdout.decode().splitlines()]
    # hand-derived: (1.5-1)^2 = 0.25, (2-4)^2 = 4, (-1-0)^2 = 1
    assert rows == [{"row": 0, "mse": 0.25, "mae": 0.5}, {"row": 1, "mse": 4.0, "mae": 2.0},
                    {"row": 2, "mse": 1.0, "mae": 1.0}]
    report = run_losscli("eval", "-", "-l", "mse", "-f", "ndjson", input=lines)
    (record,) = [json.loads(x) for x in report.stdout.decode().splitlines()]
    assert record["name"] == "mse" and record["value"] == pytest.approx(5.25 / 3, rel=1e-15)


@pytest.mark.parametrize(("payload", "fragment"), [
    (b'{"pred": 1, "target": 2}\n{"pred": "x", "target": 3}\n',
     "Non-numeric value \"x\" in column 'pred' of '<stdin>' (line 2)"),
    (b'{"pred": 1, "target": 2}\n{"pred": 1 "target": 3}\n', "Invalid JSON on line 2"),
    (b'{"pred": 1, "target": 2}\n[1, 2]\n', "Line 2 of '<stdin>' holds a JSON list"),
    (b'[{"pred": 1, "target": 2}]\n', "jq -c '.[]'"),
    (b"", "No data on standard input"),
])
def test_stdin_errors_are_one_line(payload, fragment):
    proc = run_losscli("eval", "-", "-l", "mse", input=payload)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and proc.stdout == b"" and err.count("\n") == 1, err
    assert fragment in err and "Traceback" not in err


def test_stdin_feeds_only_one_input():
    proc = run_losscli("eval", "-", "--targets", "-", input=b"pred\n1\n")
    assert proc.returncode == 2 and b"only one of FILE, --targets" in proc.stderr


@pytest.fixture(scope="module")
def big_parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "big.parquet"
    rng = np.random.default_rng(7)
    n = 600_000
    pq.write_table(pa.table({"pred": rng.normal(size=n), "target": rng.normal(size=n)}), path)
    return path


@pytest.mark.parametrize("fmt", ["csv", "ndjson"])
def test_reduction_none_into_head_exits_zero_quietly(big_parquet, fmt):
    proc = sh(f"{LOSSCLI} eval {big_parquet} --loss huber --reduction none -f {fmt} "
              "--chunk-size 50000 | head -5")
    assert statuses(proc) == [0, 0]
    err = proc.stderr.decode().strip().splitlines()
    assert err[:-1] == [], err  # nothing but the status line: no traceback, no EPIPE noise
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 5
    if fmt == "csv":
        assert lines[0] == "row,huber" and lines[1].startswith("0,")
    else:
        assert json.loads(lines[0])["row"] == 0


def test_head_prints_before_the_pass_ends(big_parquet):
    """The first rows reach the reader while losscli is still computing."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "losscli", "eval", str(big_parquet), "-l", "huber", "-r", "none",
         "--chunk-size", "1000"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None
    first = proc.stdout.readline()
    still_running = proc.poll() is None
    proc.stdout.close()  # like head exiting
    assert proc.wait(timeout=60) == 0
    assert first == b"row,huber\n" and still_running
    assert b"Traceback" not in proc.stderr.read()


@pytest.mark.parametrize("args", [["losses"], ["--help"], ["eval", "--help"],
                                  ["eval", "sample_data/regression.csv", "-l", "mse", "-l",
                                   "mae", "-l", "huber", "-l", "r2"]])
def test_short_reads_of_any_output_exit_zero(args):
    proc = sh(f"{LOSSCLI} {' '.join(args)} | head -c 1 >/dev/null")
    assert statuses(proc) == [0, 0]
    assert proc.stderr.decode().strip().splitlines()[:-1] == []


def test_quiet_silences_the_rows_written_message():
    loud = run_losscli("eval", "sample_data/regression.csv", "-l", "mse", "-r", "none")
    quiet = run_losscli("eval", "sample_data/regression.csv", "-l", "mse", "-r", "none", "-q")
    assert b"wrote 1000 rows" in loud.stderr and quiet.stderr == b""
    assert loud.stdout == quiet.stdout and quiet.returncode == 0


def test_spooled_stdin_leaves_no_temporary_file(tmp_path):
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    data = (SAMPLES / "regression.parquet").read_bytes()
    proc = subprocess.run([sys.executable, "-m", "losscli", "eval", "-", "-l", "mse"],
                          input=data, capture_output=True, env=env, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert list(tmp_path.iterdir()) == []
    corrupt = subprocess.run([sys.executable, "-m", "losscli", "eval", "-", "-l", "mse",
                              "--format-in", "parquet"], input=data[:-100], capture_output=True,
                             env=env, cwd=ROOT, timeout=60)
    assert corrupt.returncode == 2 and b"'<stdin>'" in corrupt.stderr
    assert str(tmp_path).encode() not in corrupt.stderr and list(tmp_path.iterdir()) == []


def test_check_and_compare_read_stdin_once():
    check = sh(f"cat sample_data/regression.csv | {LOSSCLI} check - -b sample_data/baseline.json "
               "-f json")
    assert statuses(check) == [0, 0], check.stderr
    assert json.loads(check.stdout)["passed"] is True
    failing = sh(f"cat sample_data/regression.csv | {LOSSCLI} check - -l mse --max mse=1")
    assert statuses(failing) == [0, 1]  # a failed check is exit 1, also from a pipe
    comp = sh(f"cat sample_data/model_b.parquet | {LOSSCLI} compare "
              "a=sample_data/model_preds.parquet b=- -t sample_data/truth.tsv -l mse -f ndjson")
    assert statuses(comp) == [0, 0], comp.stderr
    (row,) = [json.loads(x) for x in comp.stdout.decode().splitlines()]
    assert row["best"] == ["b"] and set(row["values"]) == {"a", "b"}
    # one pass: shared targets from a pipe feed every model
    piped = sh(f"cat sample_data/truth.tsv | {LOSSCLI} compare a=sample_data/model_preds.parquet "
               "b=sample_data/model_b.parquet -t - -l mse -f ndjson")
    assert statuses(piped) == [0, 0], piped.stderr
    assert json.loads(piped.stdout)["values"] == row["values"]
    twice = run_losscli("compare", "a=-", "b=sample_data/model_b.parquet", "-t", "-",
                        input=b"y\n1\n")
    assert twice.returncode == 2 and b"read only once" in twice.stderr


def test_check_reads_a_pipe_without_file_and_gates_on_it():
    data = b"pred,target\n1,2\n3,3\n"  # mse = 0.5
    ok = run_losscli("check", "--loss", "mse", "--max", "mse=1", "--format", "json", input=data)
    assert ok.returncode == 0 and json.loads(ok.stdout)["passed"] is True
    bad = run_losscli("check", "--loss", "mse", "--max", "mse=0.4", "--format", "json",
                      input=data)
    assert bad.returncode == 1 and json.loads(bad.stdout)["passed"] is False


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_quiet_failing_check_says_it_by_exit_code_only(fmt):
    """A failing check under -q: exit 1 and the same stdout, nothing on stderr (the loud run
    says 'check failed: mse')."""
    args = ("check", "sample_data/regression.csv", "-l", "mse", "-l", "mae", "--max", "mse=0.001",
            "-f", fmt)
    loud, quiet = run_losscli(*args), run_losscli(*args, "-q")
    assert loud.returncode == quiet.returncode == 1
    assert b"check failed: mse" in loud.stderr and quiet.stderr == b""
    timeless = re.compile(rb"(time: |\"elapsed_seconds\": )[0-9.]+")
    assert timeless.sub(b"", loud.stdout) == timeless.sub(b"", quiet.stdout)
