"""The benchmark harness on tiny data, so it cannot rot. No timing assertions.

Peers that are not installed (the ``bench`` extra is optional) are skipped by the harness;
losscli and the plain numpy peer always run, so their values are always cross-checked.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import data  # noqa: E402
from benchmarks.cases import Case, Tool  # noqa: E402
from benchmarks.harness import rel_diff, run_once  # noqa: E402


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, dict, str]:
    tmp = tmp_path_factory.mktemp("bench")
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--cache", str(tmp / "cache"),
         "--out", str(tmp / "results")],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    doc = json.loads((tmp / "results" / "latest.json").read_text()) if proc.returncode in (0, 1) \
        else {}
    md = (tmp / "results" / "latest.md").read_text() if doc else ""
    return proc, doc, md


def _entry(doc: dict, case_id: str, tool: str) -> dict:
    case = next(c for c in doc["cases"] if c["id"] == case_id)
    return next(e for e in case["tools"] if e["tool"] == tool)


def test_quick_run_succeeds_and_writes_results(quick_run):
    proc, doc, md = quick_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    ids = [c["id"] for c in doc["cases"]]
    for case_id in ("regression parquet 10k", "regression csv 10k", "regression npy 10k",
                    "start-up"):
        assert case_id in ids
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["packages"]["numpy"]
    assert "| **losscli** |" in md and "## Targets (issue 6)" in md


def test_every_tool_ran_agreed_or_was_skipped_for_a_reason(quick_run):
    _, doc, _ = quick_run
    for case in doc["cases"]:
        for e in case["tools"]:
            assert e["status"] in ("ok", "skipped"), (case["id"], e)
            if e["status"] == "skipped":
                assert e["note"].startswith(("not installed", "losscli does not list")), e
            else:
                assert e["min_s"] <= e["median_s"] <= e["max_s"]
                assert e["peak_rss_mb"] > 1


def test_losscli_and_numpy_agree_and_are_accurate(quick_run):
    _, doc, _ = quick_run
    ours = _entry(doc, "regression npy 10k", "losscli")
    peer = _entry(doc, "regression npy 10k", "numpy")
    assert ours["status"] == peer["status"] == "ok"
    for k in ("mse", "mae", "huber"):
        assert rel_diff(ours["values"][k], peer["values"][k]) <= 1e-9
    for fmt in ("parquet", "csv", "npy"):
        assert _entry(doc, f"regression {fmt} 10k", "losscli")["rel_error_vs_fsum"] <= 1e-12
        # Every format holds the same numbers, so losscli prints the same values from each.
        assert _entry(doc, f"regression {fmt} 10k", "losscli")["values"] == ours["values"]


def test_a_tool_printing_other_values_is_flagged_not_timed(tmp_path):
    from benchmarks import run

    folder = data.ensure(tmp_path, "regression", 1000, log=lambda _: None)
    case = Case("regression", "npy", 1000, data.files("regression", folder)["npy"])
    liar = Tool("liar", lambda c: [sys.executable, "-c",
                                   'print(\'{"mse": 1.0, "mae": 1.0, "huber": 1.0}\')'])
    honest = [t for t in run.TOOLS if t.name in ("losscli", "numpy")]
    args = run.parse_args(["--quick", "--cache", str(tmp_path)])
    result = run.run_case(case, [*honest, liar], args, exact=None)
    by_tool = {e["tool"]: e for e in result["tools"]}
    assert by_tool["liar"]["status"] == "MISMATCH"
    assert "median_s" not in by_tool["liar"]
    assert by_tool["losscli"]["status"] == by_tool["numpy"]["status"] == "ok"


def test_generated_data_is_deterministic_and_identical_across_formats(tmp_path):
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    a = data.regression_chunk(3, 500)
    b = data.regression_chunk(3, 500)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    folder = data.ensure(tmp_path, "regression", 2500, log=lambda _: None)
    files = data.files("regression", folder)
    pred, target = np.load(files["npy"][0]), np.load(files["npy"][1])
    assert len(pred) == 2500 and not np.array_equal(pred, target)
    for table in (pq.read_table(files["parquet"][0]), pacsv.read_csv(files["csv"][0])):
        assert np.array_equal(table.column("pred").to_numpy(), pred)
        assert np.array_equal(table.column("target").to_numpy(), target)


def test_child_peak_rss_is_its_own(tmp_path):
    big = run_once([sys.executable, "-c", "import numpy as np; x = np.ones(40_000_000); x += 1"])
    small = run_once([sys.executable, "-c", "pass"])
    assert big.returncode == small.returncode == 0
    assert big.rss > 300 * 2**20  # 320 MB of float64 touched
    assert small.rss < 100 * 2**20  # not inflated by the benchmark process or the last child


def test_parse_size():
    assert data.parse_size("10k") == 10_000
    assert data.parse_size("1M") == 1_000_000
    assert data.parse_size("2500") == 2500
    assert data.size_label(100_000_000) == "100M"
    with pytest.raises(ValueError):
        data.parse_size("1.5")


def test_the_distribution_case_runs_beside_the_plain_run(quick_run):
    """issue 15: losscli with --distribution is timed on the regression Parquet cases, its
    values checked like any tool's, and its ratio to the plain run is a target."""
    _, doc, md = quick_run
    plain = _entry(doc, "regression parquet 10k", "losscli")
    dist = _entry(doc, "regression parquet 10k", "losscli --distribution")
    assert dist["status"] == "ok" and dist["values"] == plain["values"]
    assert "--distribution" in dist["command"]
    for case in doc["cases"]:
        if (case["task"], case["format"]) != ("regression", "parquet"):
            assert all(e["tool"] != "losscli --distribution" for e in case["tools"])
    assert any(t["target"].startswith("`--distribution`, Parquet 10M") for t in doc["targets"])
    assert "| **losscli --distribution** |" in md
