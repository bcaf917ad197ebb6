"""``--write FORMAT=FILE``: more formats of the one result, written by the same run (JUnit
and GitLab's metrics report from one ``check``). Through the real CLI: each file equals what
``--format`` prints on stdout in the same run, for every format of eval/check/compare; bad
requests are one line and exit 2, with nothing written and an existing file untouched."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, mean_squared_error

from losscli import vocab
from tests.conftest import ROOT, run_losscli

DATA = str(ROOT / "sample_data/regression.csv")
MODELS = tuple(str(ROOT / "sample_data" / f) for f in ("model_preds.parquet", "model_b.parquet"))
TRUTH = str(ROOT / "sample_data/truth.tsv")


def _argv(command: str) -> list[str]:
    if command == "compare":
        return ["compare", *MODELS, "-t", TRUTH, "-l", "mse", "-l", "mae"]
    extra = ["--max", "mse=0.001"] if command == "check" else []
    return [command, DATA, "-l", "mse", "-l", "mae", *extra]


CASES = [(command, fmt) for command, formats in
         (("eval", vocab.OUTPUT_FORMATS), ("check", vocab.CHECK_FORMATS),
          ("compare", vocab.OUTPUT_FORMATS)) for fmt in formats]


@pytest.mark.parametrize("command,fmt", CASES)
def test_each_file_is_what_format_prints_in_the_same_run(tmp_path, command, fmt):
    """Every other format of the command written beside the stdout one: the file of the
    stdout's format equals stdout byte for byte (the same result, rendered once more)."""
    others = [f for c, f in CASES if c == command and f != fmt][:2]
    files = {f: tmp_path / f"out.{f}" for f in (fmt, *others)}
    args = [a for f, p in files.items() for a in ("--write", f"{f}={p}")]
    proc = run_losscli(*_argv(command), "-f", fmt, *args)
    assert proc.returncode == (1 if command == "check" else 0), proc.stderr.decode()
    assert files[fmt].read_bytes() == proc.stdout
    for f, path in files.items():
        assert f"wrote {f} to {path}" in proc.stderr.decode()
        assert path.stat().st_size > 0


def test_one_check_gives_junit_and_metrics_with_the_values(tmp_path):
    """The GitLab job in one run: JUnit (the failing loss a failed test case) and the
    metrics report (each value scikit-learn's), exit 1, -q silent."""
    junit, metrics = tmp_path / "j.xml", tmp_path / "m.txt"
    proc = run_losscli(*_argv("check"), "-q", "--write", f"junit={junit}",
                       "--write", f"openmetrics={metrics}")
    assert proc.returncode == 1 and proc.stderr == b""
    cases = {c.get("name"): c for c in ET.parse(junit).getroot().iter("testcase")}
    assert cases["mse"].find("failure") is not None and cases["mae"].find("failure") is None
    frame = pd.read_csv(DATA)
    pred, target = frame.iloc[:, 0], frame.iloc[:, 1]
    want = {"mse": mean_squared_error(target, pred), "mae": mean_absolute_error(target, pred)}
    got = {line.split('"')[1]: float(line.split()[-1]) for line in metrics.read_text().splitlines()
           if line.startswith("losscli_loss_value{")}
    assert got == pytest.approx(want, rel=1e-12)


def test_eval_table_with_written_json_carries_the_fingerprint(tmp_path):
    """The JSON written beside a table is the whole JSON report (with the data fingerprint
    a later baseline compares)."""
    out = tmp_path / "r.json"
    proc = run_losscli("eval", DATA, "-l", "mse", "--write", f"json={out}")
    assert proc.returncode == 0 and b"mse" in proc.stdout
    doc = json.loads(out.read_text())
    assert doc["fingerprint"]["rows"] == 1000
    same = json.loads(run_losscli("eval", DATA, "-l", "mse", "-f", "json").stdout)
    assert doc["fingerprint"] == same["fingerprint"]
    assert doc["losses"][0]["value"] == same["losses"][0]["value"]


@pytest.mark.parametrize("write,message", [
    ("junit", "give FORMAT=FILE"),
    ("=x.xml", "give FORMAT=FILE"),
    ("xml=x.xml", "writes no format 'xml'; choose one of"),
    ("json=-", "standard output is --format's"),
])
def test_bad_requests_are_one_line_and_exit_2(tmp_path, write, message):
    proc = run_losscli(*_argv("check"), "--write", write, cwd=tmp_path)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and message in err and len(err.strip().splitlines()) == 1
    assert "Traceback" not in err and list(tmp_path.iterdir()) == []


def test_eval_only_formats_and_no_per_row_reports(tmp_path):
    proc = run_losscli(*_argv("eval"), "--write", f"junit={tmp_path / 'j.xml'}")
    assert proc.returncode == 2 and b"eval writes no format 'junit'" in proc.stderr
    proc = run_losscli(*_argv("eval"), "-r", "none", "--write", f"json={tmp_path / 'r.json'}")
    assert proc.returncode == 2 and b"--write needs a report" in proc.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_output_guard_keeps_inputs_and_other_outputs(tmp_path):
    """--write goes through the one output guard: not onto an input, not onto another
    output, not the same format twice; the file already there is untouched."""
    data = tmp_path / "d.csv"
    data.write_bytes(open(DATA, "rb").read())
    before = data.read_bytes()
    proc = run_losscli("check", data, "-l", "mse", "--write", f"json={data}")
    assert proc.returncode == 2 and b"would destroy the input" in proc.stderr
    assert data.read_bytes() == before
    same = tmp_path / "same.txt"
    same.write_text("keep")
    proc = run_losscli("check", data, "-l", "mse", "--write", f"json={same}",
                       "--write", f"junit={same}")
    assert proc.returncode == 2 and b"are the same file" in proc.stderr
    proc = run_losscli("check", data, "-l", "mse", "--write", f"json={same}",
                       "--html", same)
    assert proc.returncode == 2 and b"are the same file" in proc.stderr
    proc = run_losscli("check", data, "-l", "mse", "--write", f"json={tmp_path / 'a'}",
                       "--write", f"json={tmp_path / 'b'}")
    assert proc.returncode == 2 and b"given twice" in proc.stderr
    assert same.read_text() == "keep"


def test_bad_data_leaves_an_existing_file_untouched(tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"pred": [1.0, np.nan], "target": [1.0, 2.0]}).to_csv(bad, index=False)
    out = tmp_path / "j.xml"
    out.write_text("last run")
    proc = run_losscli("check", bad, "-l", "mse", "--write", f"junit={out}")
    assert proc.returncode == 2 and out.read_text() == "last run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "j.xml"]  # no temporary
