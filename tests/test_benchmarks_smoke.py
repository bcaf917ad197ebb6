"""The benchmark harness on tiny data, so it cannot rot. No timing assertions.

Peers that are not installed (the ``bench`` extra is optional) are skipped by the harness;
losscli and the plain numpy peer always run, so their values are always cross-checked. The
cases of issues 12–14 run in the same ``--quick`` run (all but ``big``, which has its own
tiny test); a case whose server or engine is not installed (moto for ``s3``, distributed for
``dask``) is skipped with that reason, and so are its tests here.
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

from benchmarks import cases, data  # noqa: E402
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


def _named(doc: dict, name: str) -> dict:
    return next(c for c in doc["cases"] if c["name"] == name)


def _tool(case: dict, tool: str) -> dict:
    return next(e for e in case["tools"] if e["tool"] == tool)


def _ran(entry: dict) -> dict:
    """The entry of a tool that must have run, or skip when its package is missing."""
    if entry["status"] == "skipped":
        pytest.skip(f"{entry['tool']}: {entry['note']}")
    assert entry["status"] == "ok", entry
    return entry


def _close(a: dict, b: dict, keys=None) -> None:
    keys = keys if keys is not None else set(a) & set(b)
    assert keys
    for k in keys:
        assert rel_diff(a[k], b[k]) <= 1e-9, (k, a[k], b[k])


def test_quick_run_succeeds_and_writes_results(quick_run):
    proc, doc, md = quick_run
    assert proc.returncode == 0, proc.stderr[-3000:]
    ids = [c["id"] for c in doc["cases"]]
    for case_id in ("regression parquet 10k", "regression csv 10k", "regression npy 10k",
                    "start-up"):
        assert case_id in ids
    names = [c["name"] for c in doc["cases"]]
    assert set(cases.CASE_NAMES) - set(cases.FULL_ONLY) <= set(names)
    assert "big" not in names  # 100M rows: the full run only
    assert doc["machine"]["cores"] >= 1 and doc["machine"]["packages"]["numpy"]
    assert "| **losscli** |" in md and "## Targets (issues 6, 12–15)" in md


def test_losscli_runs_every_case_it_can(quick_run):
    """losscli's own runs never fail and are skipped only when the case's extra is missing."""
    _, doc, _ = quick_run
    for case in doc["cases"]:
        for e in case["tools"]:
            if e["tool"].startswith("losscli"):
                assert e["status"] == "ok" or "(the case needs it)" in e.get("note", ""), (
                    case["id"], e)


def test_every_target_has_a_row_and_a_verdict(quick_run):
    _, doc, md = quick_run
    rows = {t["target"]: t for t in doc["targets"]}
    for t in doc["targets"]:
        assert t["met"] in (True, False, "noisy", "reported", None), t
        assert t["issue"] and t["goal"] and t["measured"]
    issues = {t["issue"] for t in doc["targets"]}
    for issue in ("6, 12a", "6, 12b", "12c", "12d", "12e", "12f", "13a", "13b", "13c", "14a",
                  "14b", "14c", "15"):
        assert issue in issues, issue
    assert any(k.startswith("`--group-by` int64") for k in rows)
    assert any(k.startswith("`--group-by` string") for k in rows)
    assert "| 13b | `--ci` (analytic)" in md


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


# -- issues 12–14 ----------------------------------------------------------------------------

def test_many_file_inputs_give_the_single_files_values(quick_run):
    """The hive folder, its S3 copy, the Dask engine and every --workers hold or read the
    rows of the regression file: the same values, and each peer's agree."""
    _, doc, _ = quick_run
    ref = _entry(doc, "regression parquet 10k", "losscli")["values"]
    for name, tools in (("workers", ("losscli", cases.WORKERS_1, cases.WORKERS_2)),
                        ("hive", ("losscli", cases.ONE_FILE, "polars", "duckdb")),
                        ("s3", ("losscli", cases.LOCAL_DIR, "polars")),
                        ("dask", ("losscli", cases.ENGINE_LOCAL, cases.OWN_CLUSTER,
                                  "dask.dataframe"))):
        case = _named(doc, name)
        for tool in tools:
            entry = _tool(case, tool)
            if entry["status"] == "skipped":
                assert entry["note"].startswith("not installed"), entry
                continue
            assert entry["status"] == "ok", (name, entry)
            _close(entry["values"], ref)
    assert "--workers" in _tool(_named(doc, "workers"), cases.WORKERS_2)["command"]
    assert "--engine dask --scheduler tcp://127.0.0.1:" in _tool(_named(doc, "dask"),
                                                                 "losscli")["command"]
    s3 = _tool(_named(doc, "s3"), "losscli")
    if s3["status"] == "ok":
        assert "s3://bench/data/" in s3["command"]
        assert "endpoint_override=http://127.0.0.1:" in s3["command"]


@pytest.mark.parametrize("name, column", [("groups-int", "g"), ("groups-str", "s")])
def test_group_by_values_match_the_peers_group_by_group(quick_run, name, column):
    _, doc, _ = quick_run
    case = _named(doc, name)
    ours = _ran(_tool(case, "losscli"))["values"]
    groups = {k.split("/")[0] for k in ours if "/" in k}
    assert len(groups) == data.GROUPS and all(g.startswith(f"{column}=") for g in groups)
    assert sum(ours[f"{g}/rows"] for g in groups) == case["rows"]
    plain = _ran(_tool(case, cases.NO_GROUPS))["values"]
    _close(ours, plain, {"mse", "mae"})
    for peer in ("polars", "duckdb"):
        entry = _tool(case, peer)
        if entry["status"] == "skipped":
            continue
        assert set(_ran(entry)["values"]) == set(ours)
        _close(ours, entry["values"])
    assert "--group-by " + column in _tool(case, "losscli")["command"]


def test_interval_values_match_the_peers_and_the_floor(quick_run):
    _, doc, _ = quick_run
    ci = _named(doc, "ci")
    ours = _ran(_tool(ci, "losscli"))["values"]
    assert {"mse.low", "mse.high", "huber.low", "huber.high"} <= set(ours)
    assert ours["mse.low"] < ours["mse"] < ours["mse.high"]
    for peer in ("polars", "duckdb"):
        if _tool(ci, peer)["status"] != "skipped":
            _close(ours, _ran(_tool(ci, peer))["values"])
    boot = _named(doc, "bootstrap")
    ours = _ran(_tool(boot, "losscli"))["values"]
    floor = _ran(_tool(boot, cases.FLOOR))["values"]
    assert set(floor) == set(ours) and len(ours) == 9
    _close(ours, floor)  # the same replicate weights: the same percentile intervals
    assert "--replicates 100" in _tool(boot, "losscli")["command"]


def test_start_up_and_import_report(quick_run):
    _, doc, md = quick_run
    start = _named(doc, "startup")
    assert _tool(start, cases.EVAL_TINY)["status"] == "ok"
    titles = [i["title"] for i in doc["imports"]]
    assert titles == ["eval, JSON", "eval, table", "--help"]
    json_eval = doc["imports"][0]
    assert json_eval["returncode"] == 0 and "losscli" in json_eval["imports"]
    assert {"numpy", "pyarrow", "typer"} <= set(json_eval["imports"])
    row = next(t for t in doc["targets"] if t["issue"] == "14c")
    assert row["met"] is True, row  # eval does not import dask
    assert "## Imports (`python -X importtime`)" in md
    assert "| typer |" in md


def test_importtime_tree_and_packages():
    """Children come before their parent, one level deeper; a package's cumulative time
    sums its outermost imports (pyarrow.parquet, imported later by losscli.io, counts)."""
    from benchmarks import importtime

    text = "\n".join([
        "import time: self [us] | cumulative | imported package",
        "import time:      1000 |       1000 |     pandas.core",
        "import time:      2000 |       3000 |   pandas",
        "import time:       500 |       3500 | pyarrow",
        "import time:      4000 |       4000 |   pyarrow.parquet",
        "import time:      2000 |       6000 | losscli.io",
    ])
    roots = importtime.parse(text)
    assert [r.name for r in roots] == ["pyarrow", "losscli.io"]
    assert roots[0].children[0].name == "pandas" and roots[0].children[0].children[0].depth == 2
    assert roots[1].children[0].name == "pyarrow.parquet"
    pkgs = {p["package"]: p for p in importtime.packages(roots)}
    assert pkgs["pandas"] == {"package": "pandas", "modules": 2, "self_ms": 3.0,
                              "cumulative_ms": 3.0, "via": "pyarrow"}
    assert pkgs["pyarrow"] == {"package": "pyarrow", "modules": 2, "self_ms": 4.5,
                               "cumulative_ms": 7.5, "via": "-"}
    assert pkgs["losscli"]["cumulative_ms"] == 6.0
    assert [p["package"] for p in importtime.packages(roots)] == ["pyarrow", "losscli", "pandas"]


def test_values_are_checked_per_value_not_per_tool():
    """A tool printing more values (groups) is checked on each of them against the tools
    that print it, even when a plain tool agrees with everyone on the overall values."""
    from benchmarks import run

    ok = {"mse": 1.0, "g=0/mse": 2.0, "g=1/mse": 0.5}
    values = {"losscli": {**ok, "g=1/mse": 0.6}, "plain": {"mse": 1.0}, "polars": dict(ok),
              "duckdb": dict(ok)}
    worst = run.check_round(values, ["losscli", "plain", "polars", "duckdb"])
    assert worst["losscli"][0] > 0.1 and worst["losscli"][1] == "g=1/mse"
    assert worst["losscli"][2] == "polars"
    assert all(worst[t][0] == 0.0 for t in ("plain", "polars", "duckdb"))


def test_s3_credentials_only_in_the_s3_commands(tmp_path):
    from benchmarks.services import S3_ENV

    losscli = next(t for t in cases.TOOLS if t.name == "losscli")
    s3 = Case("regression", "s3", 1000, [tmp_path], name="s3",
              extra={"endpoint": "http://127.0.0.1:1"})
    hive = Case("regression", "hive", 1000, [tmp_path], name="hive")
    assert losscli.env is not None and losscli.env(hive) is None
    env = losscli.env(s3)
    assert env is not None and all(env[k] == v for k, v in S3_ENV.items())
    assert "AWS_ENDPOINT_URL" not in env
    argv = losscli.command(s3)
    assert argv is not None and "--storage-option" in argv
    assert "endpoint_override=http://127.0.0.1:1" in argv


def test_the_big_case_runs_at_a_tiny_size(tmp_path):
    """'big' is left out of --quick; at a tiny --big-rows it is a regression Parquet case
    of its own (losscli, polars, DuckDB), its data streamed into a Parquet-only folder."""
    from benchmarks import run

    args = run.parse_args(["--quick", "--cases", "big", "--big-rows", "3k", "--cache",
                           str(tmp_path)])
    built, _ = run.build_cases(args, {"mse", "mae", "huber"})
    assert [(c.name, c.rows, c.files[0].parent.name) for c in built] == [
        ("big", 3000, "regression-parquet_3k")]
    assert not (tmp_path / "regression-parquet_3k" / "data.csv").exists()
    result = run.run_case(built[0], run.TOOLS, args, exact=None)
    by_tool = {e["tool"]: e for e in result["tools"]}
    assert by_tool["losscli"]["status"] == "ok"
    assert set(by_tool) <= {"losscli", "polars", "duckdb"}
    assert result["name"] == "big" and result["id"] == "regression parquet 3k"


def test_derived_datasets_hold_the_regression_rows(tmp_path, monkeypatch):
    """Parquet-only, grouped and hive datasets are the regression rows, streamed chunk by
    chunk (a small CHUNK here, so the hive parts straddle chunks)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    monkeypatch.setattr(data, "CHUNK", 700)
    n = 2500
    ref = pq.read_table(data.files("regression", data.ensure(tmp_path, "regression", n,
                                                             log=lambda _: None))["parquet"][0])
    only = data.ensure(tmp_path, "regression-parquet", n, log=lambda _: None)
    assert sorted(p.name for p in only.iterdir()) == ["data.parquet", "meta.json"]
    assert pq.read_table(only / "data.parquet").equals(ref)
    assert pq.ParquetFile(only / "data.parquet").metadata.num_row_groups == 4
    hive = data.files("hive", data.ensure(tmp_path, "hive", n, log=lambda _: None))["hive"][0]
    parts = sorted(hive.glob("part=*/part-0.parquet"))
    assert len(parts) == data.PARTS and parts[0].parent.name == "part=00"
    assert pa.concat_tables(pq.read_table(p) for p in parts).equals(ref)
    grouped = pq.read_table(data.ensure(tmp_path, "grouped", n, log=lambda _: None)
                            / "data.parquet")
    assert grouped.select(["pred", "target"]).equals(ref)
    assert grouped.schema.field("g").type == pa.int64()
    assert grouped.schema.field("s").type == pa.string()
    assert set(grouped.column("s").to_pylist()) <= set(data.segment_names())
    g = grouped.column("g").to_numpy()
    assert g.min() >= 0 and g.max() < data.GROUPS


def test_a_case_without_its_extra_is_skipped_with_the_reason(tmp_path):
    """A case whose server or engine is not importable (moto for s3, distributed for dask)
    skips every tool, losscli included, naming the module; nothing is run."""
    from benchmarks import run

    folder = data.ensure(tmp_path, "hive", 400, log=lambda _: None)
    case = Case("regression", "s3", 400, data.files("hive", folder)["hive"], name="s3",
                requires=("no_such_module_for_the_test",),
                extra={"endpoint": "http://127.0.0.1:PORT"})
    args = run.parse_args(["--quick", "--cache", str(tmp_path)])
    result = run.run_case(case, run.TOOLS, args, exact=None)
    assert result["tools"] and all(e["status"] == "skipped" for e in result["tools"])
    assert all(e["note"] == "not installed: no_such_module_for_the_test (the case needs it)"
               for e in result["tools"])


@pytest.mark.parametrize("name", ["churn", "churn-join"])
def test_churn_job_values_match_the_peers_channel_by_channel(quick_run, name):
    """The churn job (issue 21): text labels yes/no, four metrics incl. the exact roc_auc,
    overall and per channel, one file or two joined by id — every losscli variant agrees
    with every installed peer (DuckDB SQL, polars, pandas + scikit-learn)."""
    _, doc, _ = quick_run
    case = _named(doc, name)
    assert case["rows"] == 10_000  # --quick: the size is configurable (--churn-rows)
    plain = _ran(_tool(case, "losscli"))["values"]
    assert set(cases.LOSSES["churn"]) <= set(plain)
    grouped = _ran(_tool(case, cases.CHURN_GROUPS))["values"]
    with_ci = _ran(_tool(case, cases.CHURN_GROUPS_CI))["values"]
    channels = {k.split("/")[0] for k in grouped if "/" in k}
    assert channels == {f"channel={c}" for c in data.CHANNELS}
    assert sum(grouped[f"{g}/rows"] for g in channels) == case["rows"]
    _close(plain, grouped)
    _close(grouped, with_ci)
    if name == "churn":  # the same job on the labels as 0/1: the same values
        _close(plain, _ran(_tool(case, cases.CHURN_01))["values"])
    else:  # the joined case has no 0/1 run
        assert cases.CHURN_01 not in {e["tool"] for e in case["tools"]}
    assert with_ci["accuracy.low"] < with_ci["accuracy"] < with_ci["accuracy.high"]
    ran = 0
    for peer in ("duckdb", "polars", "pandas+sklearn"):
        entry = _tool(case, peer)
        if entry["status"] == "skipped":
            continue
        ran += 1
        assert set(_ran(entry)["values"]) == set(grouped)
        _close(grouped, entry["values"])
    assert ran >= 1
    if name == "churn-join":
        assert "--id-col id" in _tool(case, "losscli")["command"]


def test_churn_data_has_unique_ids_across_chunks(tmp_path, monkeypatch):
    """Several generated chunks: every id once in each file, the same rows in all three."""
    import pyarrow.parquet as pq

    monkeypatch.setattr(data, "_chunks", lambda n: [(0, 300), (1, 400), (2, n - 700)])
    folder = tmp_path / "churn"
    folder.mkdir()
    data._write_churn(folder, 1000)
    tables = {f: pq.read_table(folder / f"{f}.parquet").to_pydict()
              for f in ("data", "pred", "target")}
    for f, t in tables.items():
        assert len(t["id"]) == len(set(t["id"])) == 1000, f
    one = dict(zip(tables["data"]["id"], tables["data"]["label"]))
    assert dict(zip(tables["target"]["id"], tables["target"]["label"])) == one
    assert tables["pred"]["id"] == tables["data"]["id"] != tables["target"]["id"]
    assert tables["data"]["y"] == [int(label == "yes") for label in tables["data"]["label"]]
    assert set(tables["data"]["channel"]) <= set(data.CHANNELS)


# -- issue 21b: ten classes, text labels ------------------------------------------------------

def test_tenclass_values_match_the_peers(quick_run):
    """The 10-class job runs in the quick run: losscli on the p_<label> columns and text
    labels agrees with every installed peer (DuckDB SQL, polars, pandas + scikit-learn) on
    cross_entropy, accuracy and macro f1."""
    _, doc, md = quick_run
    case = _named(doc, "tenclass")
    assert case["rows"] == 10_000  # --quick; --tenclass-rows sets it
    entry = _ran(_tool(case, "losscli"))
    ours = entry["values"]
    assert set(cases.LOSSES["tenclass"]) <= set(ours)
    assert "--pred-col p_* --target-col label" in entry["command"]
    assert "--loss f1:average=macro" in entry["command"]
    ran = 0
    for peer in ("duckdb", "polars", "pandas+sklearn"):
        e = _tool(case, peer)
        if e["status"] == "skipped":
            continue
        ran += 1
        assert set(_ran(e)["values"]) == set(cases.LOSSES["tenclass"])
        _close(ours, e["values"])
    assert ran >= 1
    assert any(t["target"].startswith("10 classes, text labels") for t in doc["targets"])
    assert f"### {case['id']}" in md


def test_tenclass_losscli_equals_scikit_learn_on_the_generated_data(tmp_path, monkeypatch):
    """The case's own losscli command on generated data (several chunks and row groups)
    prints scikit-learn's log_loss, accuracy_score and f1_score(average='macro'), computed
    here from the same file with the labels matched to their p_<label> columns by name —
    and a mapping by sorted labels (the columns are not in sorted order) would differ."""
    import pyarrow.parquet as pq
    from sklearn import metrics as skm

    from benchmarks import run

    monkeypatch.setattr(data, "_chunks", lambda n: [(0, 700), (1, 900), (2, n - 1600)])
    monkeypatch.setattr(data, "TENCLASS_ROW_GROUP", 512)
    n = 3000
    file = data.files("tenclass", data.ensure(tmp_path, "tenclass", n, log=lambda _: None))[
        "parquet"][0]
    assert pq.ParquetFile(file).metadata.num_row_groups > 3
    table = pq.read_table(file)
    labels = list(data.TENCLASS_LABELS)
    assert labels != sorted(labels) and len(set(labels)) == 10
    assert table.column_names == [*data.tenclass_columns(), "label"]
    proba = np.column_stack([table.column(c).to_numpy() for c in data.tenclass_columns()])
    y = np.asarray(table.column("label").to_pylist(), dtype=object)
    assert len(y) == n and set(y) == set(labels)  # every class occurs
    assert np.allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    hat = np.asarray(labels, dtype=object)[proba.argmax(axis=1)]
    # scikit-learn orders probability columns by the sorted labels.
    order = [labels.index(k) for k in sorted(labels)]
    want = {"cross_entropy": skm.log_loss(y, proba[:, order], labels=sorted(labels)),
            "accuracy": skm.accuracy_score(y, hat),
            "f1": skm.f1_score(y, hat, average="macro", labels=labels)}
    assert len(set(hat)) == 10 and 0.3 < want["accuracy"] < 0.7  # every class predicted

    losscli = next(t for t in cases.TOOLS if t.name == "losscli")
    case = Case("tenclass", "parquet", n, [file], name="tenclass")
    argv = losscli.command(case)
    assert argv is not None and argv[1:4] == ["-m", "losscli", "eval"]
    result = run_once(argv, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["inputs"]["classes"] == labels and doc["inputs"]["classes_from"] == "columns"
    got = run.flatten_report(doc)
    _close(got, want, set(want))
    # A mis-mapping (columns taken as the sorted labels) would show in every value.
    wrong = skm.log_loss(y, proba, labels=sorted(labels))
    assert rel_diff(wrong, want["cross_entropy"]) > 1e-3
    # Deterministic: the same chunks give the same bytes.
    again = data.tenclass_chunk(1, 900)
    assert np.array_equal(again[0], proba[700:1600]) and list(again[1]) == list(y[700:1600])


# -- issue 21: the exact AUC of distinct scores -----------------------------------------------

def test_auc_case_values_match_the_peers(quick_run):
    """The auc case runs in the quick run: losscli's exact roc_auc of distinct scores agrees
    with polars (average ranks) and DuckDB (an integer rank sum), and its target row (≤ 1.5×
    polars, peak RSS ≤ 300 MB) is in the table."""
    _, doc, md = quick_run
    case = _named(doc, "auc")
    assert case["rows"] == 10_000  # --quick; --auc-rows sets it
    entry = _ran(_tool(case, "losscli"))
    ours = entry["values"]
    assert set(ours) == {"roc_auc"} and 0.5 < ours["roc_auc"] < 1.0
    assert "--loss roc_auc" in entry["command"]
    ran = 0
    for peer in ("duckdb", "polars"):
        e = _tool(case, peer)
        if e["status"] == "skipped":
            continue
        ran += 1
        assert set(_ran(e)["values"]) == {"roc_auc"}
        _close(ours, e["values"])
    assert ran >= 1
    row = next(t for t in doc["targets"] if t["target"].startswith("exact roc_auc"))
    assert row["goal"] == "≤ 1.50× polars, peak RSS ≤ 300 MB" and row["issue"] == "21"
    assert f"### {case['id']}" in md


def test_auc_data_scores_are_distinct(tmp_path, monkeypatch):
    """Several generated chunks: every score distinct, labels 0/1 drawn from the scores."""
    import pyarrow.parquet as pq

    monkeypatch.setattr(data, "_chunks", lambda n: [(0, 3000), (1, n - 3000)])
    folder = tmp_path / "auc"
    folder.mkdir()
    data._write_auc(folder, 10_000)
    t = pq.read_table(folder / "data.parquet").to_pydict()
    assert len(set(t["p"])) == len(t["p"]) == 10_000
    assert set(t["y"]) == {0, 1}
