"""One row set per comparison (issue 19, items 3, 4 and the joins of "Also found"):
``compare``, the paired gate (``check --reference-col``) and ``check --reference`` evaluate
every model on the same rows — the rows where *every* model is valid under
``--nan-policy omit``, the keys every model has under a join by key — and each loss's
difference interval is its own (r2 and rmse: n/a, with the reason in the table row).
Models in files of their own are joined to the targets by key. Every number is checked
against numpy / scikit-learn computed here on the common rows."""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
from statistics import NormalDist

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

from tests.conftest import ROOT, run_losscli


def _json(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode in (0, 1), proc.stderr.decode()
    return json.loads(proc.stdout)


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.returncode, err)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


# -- item 3: --nan-policy omit keeps the rows where every model is valid ------------------

@pytest.fixture
def nan_file(tmp_path):
    rng = np.random.default_rng(3)
    n = 40
    y = rng.normal(size=n)
    a = y + rng.normal(0, 0.3, n)
    b = y + rng.normal(0, 0.5, n)
    a[[2, 9]] = np.nan
    b[[9, 17, 30]] = np.nan
    y[5] = np.nan
    df = pd.DataFrame({"pred_a": a, "pred_b": b, "target": y})
    path = tmp_path / "nan.csv"
    df.to_csv(path, index=False)
    keep = np.isfinite(a) & np.isfinite(b) & np.isfinite(y)
    return path, df[keep]


def test_compare_nan_omit_scores_every_model_on_the_same_rows(nan_file):
    path, common = nan_file
    doc = _json(run_losscli("compare", path, "--pred-col", "pred_a", "--pred-col", "pred_b",
                            "--nan-policy", "omit", "--loss", "mse", "--loss", "mae",
                            "--format", "json"))
    rows = {m["name"]: m["rows"] for m in doc["models"]}
    assert rows == {"pred_a": len(common), "pred_b": len(common)}
    values = {row["label"]: row["values"] for row in doc["losses"]}
    for col in ("pred_a", "pred_b"):
        assert values["mse"][col] == pytest.approx(
            mean_squared_error(common.target, common[col]), rel=1e-12)
        assert values["mae"][col] == pytest.approx(
            mean_absolute_error(common.target, common[col]), rel=1e-12)


def test_paired_gate_nan_omit_uses_the_common_rows(nan_file):
    path, common = nan_file
    doc = _json(run_losscli("check", path, "--reference-col", "pred_a", "--pred-col",
                            "pred_b", "--nan-policy", "omit", "--loss", "mse",
                            "--format", "json"))
    check = doc["checks"][0]
    assert doc["rows"] == len(common)
    assert check["value"] == pytest.approx(mean_squared_error(common.target, common.pred_b),
                                           rel=1e-12)
    assert check["baseline"] == pytest.approx(
        mean_squared_error(common.target, common.pred_a), rel=1e-12)


def test_check_reference_file_nan_omit_uses_the_common_rows(nan_file, tmp_path):
    path, common = nan_file
    df = pd.read_csv(path)
    df[["pred_a", "target"]].rename(columns={"pred_a": "pred"}).to_csv(tmp_path / "ref.csv",
                                                                      index=False)
    df[["pred_b", "target"]].rename(columns={"pred_b": "pred"}).to_csv(tmp_path / "cand.csv",
                                                                      index=False)
    doc = _json(run_losscli("check", tmp_path / "cand.csv", "--reference", tmp_path / "ref.csv",
                            "--nan-policy", "omit", "--loss", "mse", "--format", "json"))
    check = doc["checks"][0]
    assert check["value"] == pytest.approx(mean_squared_error(common.target, common.pred_b),
                                           rel=1e-12)
    assert check["baseline"] == pytest.approx(
        mean_squared_error(common.target, common.pred_a), rel=1e-12)


# -- item 4: each loss's difference interval is its own -----------------------------------

@pytest.fixture
def two_models(tmp_path):
    rng = np.random.default_rng(11)
    n = 300
    y = rng.normal(3.0, 2.0, n)
    df = pd.DataFrame({"target": y, "ridge": y + rng.normal(0, 0.8, n),
                       "hgb": y + rng.normal(0.1, 0.9, n)})
    df.to_csv(tmp_path / "both.csv", index=False)
    return tmp_path / "both.csv", df


def test_compare_ci_every_loss_row_has_its_own_interval(two_models):
    path, df = two_models
    losses = ["mse", "mae", "r2", "rmse"]
    args = [a for loss in losses for a in ("--loss", loss)]
    doc = _json(run_losscli("compare", path, "--pred-col", "ridge", "--pred-col", "hgb",
                            *args, "--ci", "--format", "json"))
    z = NormalDist().inv_cdf(0.975)
    per_row = {"mse": lambda p: (p - df.target) ** 2, "mae": lambda p: (p - df.target).abs()}
    whole = {"mse": mean_squared_error, "mae": mean_absolute_error, "r2": r2_score,
             "rmse": lambda y, p: math.sqrt(mean_squared_error(y, p))}
    by_label = {row["label"]: row for row in doc["losses"]}
    assert set(by_label) == set(losses)
    for label, row in by_label.items():
        ref, mine = whole[label](df.target, df.ridge), whole[label](df.target, df.hgb)
        assert row["values"]["ridge"] == pytest.approx(ref, rel=1e-12)
        assert row["diff"]["hgb"] == pytest.approx(mine - ref, rel=1e-9)
        iv = row["diff_interval"]["hgb"]
        if label in per_row:  # a mean loss: mean(d) ± z·sd/√n of the per-row difference
            d = (per_row[label](df.hgb) - per_row[label](df.ridge)).to_numpy()
            half = z * d.std(ddof=1) / math.sqrt(len(d))
            assert iv == pytest.approx([d.mean() - half, d.mean() + half], rel=1e-9)
            assert iv[0] <= row["diff"]["hgb"] <= iv[1]
        else:  # no interval of its own: n/a, and why
            assert iv is None
            assert label in row["diff_interval_reason"]["hgb"]


def test_compare_ci_table_r2_row_says_na_not_the_mse_interval(two_models):
    path, _ = two_models
    proc = run_losscli("compare", path, "--pred-col", "ridge", "--pred-col", "hgb",
                       "--loss", "mse", "--loss", "r2", "--ci", env={"COLUMNS": "250"})
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    mse_line = next(line for line in lines if line.split("|")[0].strip() == "mse")
    r2_line = next(line for line in lines if line.split("|")[0].strip() == "r2")
    interval = mse_line[mse_line.index("["):mse_line.index("]") + 1]
    assert interval not in r2_line
    assert "interval n/a: see below" in r2_line  # and why, once, under the table
    assert sum(line.startswith("· r2: no paired interval for r2") for line in lines) == 1


# -- "Also found": models in files of their own joined to the targets by key -------------

@pytest.fixture
def keyed(tmp_path):
    """truth.csv (id, target) and each model in its own file, each in another row order
    (a.parquet in 3 row groups); *_aligned: the targets and b in a.parquet's row order."""
    rng = np.random.default_rng(5)
    n = 500
    ids = rng.permutation(np.arange(1000, 1000 + n))
    y = rng.normal(size=n)
    a = y + rng.normal(0, 0.4, n)
    b = y + rng.normal(0, 0.6, n)
    df = pd.DataFrame({"id": ids, "target": y, "a": a, "b": b})
    df[["id", "target"]].to_csv(tmp_path / "truth.csv", index=False)
    orders = {"a": rng.permutation(n), "b": rng.permutation(n)}
    for name in ("a", "b"):
        part = df.iloc[orders[name]][["id", name]].rename(columns={name: "pred"})
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False),
                       tmp_path / f"{name}.parquet", row_group_size=n // 3)
    in_a = df.iloc[orders["a"]]
    for name in ("a", "b"):
        part = in_a[["id", name]].rename(columns={name: "pred"})
        pq.write_table(pa.Table.from_pandas(part, preserve_index=False),
                       tmp_path / f"{name}_aligned.parquet", row_group_size=n // 3)
    in_a[["id", "target"]].to_csv(tmp_path / "truth_aligned.csv", index=False)
    return tmp_path, df


def _core(doc: dict) -> list:
    return [(r["label"], r["values"], r["diff"], r.get("p_value"), r.get("diff_interval"))
            for r in doc["losses"]]


def test_compare_models_in_separate_files_joined_by_key_equal_aligned(keyed):
    d, df = keyed
    common = ["--loss", "mse", "--loss", "mae", "--loss", "r2", "--ci", "--format", "json"]
    joined = _json(run_losscli("compare", f"ridge={d / 'a.parquet'}",
                               f"hgb={d / 'b.parquet'}", "--targets", d / "truth.csv",
                               "--id-col", "id", *common))
    aligned = _json(run_losscli("compare", f"ridge={d / 'a_aligned.parquet'}",
                                f"hgb={d / 'b_aligned.parquet'}", "--targets",
                                d / "truth_aligned.csv", *common))
    assert _core(joined) == _core(aligned)
    values = {r["label"]: r["values"] for r in joined["losses"]}
    assert values["mse"]["hgb"] == pytest.approx(mean_squared_error(df.target, df.b),
                                                 rel=1e-12)
    assert values["r2"]["ridge"] == pytest.approx(r2_score(df.target, df.a), rel=1e-12)


def test_check_reference_file_joined_by_key_equals_aligned(keyed):
    d, _ = keyed
    common = ["--loss", "mse", "--rtol", "0.5", "--format", "json"]
    joined = _json(run_losscli("check", d / "b.parquet", "--reference", d / "a.parquet",
                               "--targets", d / "truth.csv", "--id-col", "id", *common))
    aligned = _json(run_losscli("check", d / "b_aligned.parquet", "--reference",
                                d / "a_aligned.parquet", "--targets", d / "truth_aligned.csv",
                                *common))
    keys = ("value", "baseline", "p_value", "diff_interval", "status")
    assert [{k: c[k] for k in keys} for c in joined["checks"]] == [
        {k: c[k] for k in keys} for c in aligned["checks"]]


def test_key_missing_from_one_model_names_it_and_omit_leaves_it_out_for_all(keyed):
    d, df = keyed
    b = pd.read_parquet(d / "b.parquet")
    gone = b.id.iloc[[3, 10]].tolist()
    b.drop(index=b.index[[3, 10]]).to_parquet(d / "b_missing.parquet")
    args = ["compare", f"ridge={d / 'a.parquet'}", f"hgb={d / 'b_missing.parquet'}",
            "--targets", d / "truth.csv", "--id-col", "id", "--loss", "mse"]
    line = _one_error_line(run_losscli(*args))
    assert "model 'hgb'" in line and "b_missing.parquet" in line and "--unmatched omit" in line
    assert f"'{gone[0]}'" in line or str(gone[0]) in line
    doc = _json(run_losscli(*args, "--unmatched", "omit", "--format", "json"))
    kept = df[~df.id.isin(gone)]
    assert {m["name"]: m["rows"] for m in doc["models"]} == {"ridge": len(kept),
                                                             "hgb": len(kept)}
    values = doc["losses"][0]["values"]
    assert values["ridge"] == pytest.approx(mean_squared_error(kept.target, kept.a), rel=1e-12)
    assert values["hgb"] == pytest.approx(mean_squared_error(kept.target, kept.b), rel=1e-12)
    join = doc["models"][0]["inputs"]["join"]
    assert join["models"] == [{"name": "hgb", "path": str(d / "b_missing.parquet"),
                               "targets_without_a_row": 2, "rows_without_a_target": 0}]


# -- item 20: messages --------------------------------------------------------------------

def test_reference_col_not_found_names_reference_col(two_models):
    path, _ = two_models
    line = _one_error_line(run_losscli("check", path, "--reference-col", "nope",
                                       "--pred-col", "hgb", "--loss", "mse"))
    assert "'nope'" in line and "--reference-col" in line and "--pred-col" not in line


def test_model_compared_with_itself_is_a_clear_error(two_models):
    path, _ = two_models
    line = _one_error_line(run_losscli("check", path, "--reference-col", "hgb", "--pred-col",
                                       "hgb", "--loss", "mse"))
    assert "prediction and prediction" not in line
    assert "'hgb'" in line and "compared with itself" in line
    assert "--reference-col" in line and "--pred-col" in line
    line = _one_error_line(run_losscli("compare", f"x={path}", f"y={path}", "--pred-col",
                                       "ridge", "--loss", "mse"))
    assert "'x'" in line and "'y'" in line and "compared with itself" in line


def test_weights_file_without_the_key_column(keyed):
    d, _ = keyed
    pd.DataFrame({"key": [1, 2], "w": [1.0, 2.0]}).to_csv(d / "w.csv", index=False)
    line = _one_error_line(run_losscli("eval", d / "a.parquet", "--targets", d / "truth.csv",
                                       "--id-col", "id", "--weights", d / "w.csv"))
    assert "include_columns" not in line
    assert "w.csv" in line and "'id'" in line and "--weight-col" in line


# -- item 19: a key index larger than memory ----------------------------------------------

def test_targets_index_larger_than_memory_is_one_line(tmp_path):
    rows, chunk = 64_000_000, 4_000_000  # constant columns: a small file, a large index
    schema = pa.schema([("id", pa.int64()), ("target", pa.float64())])
    part = pa.table({"id": np.zeros(chunk, np.int64), "target": np.zeros(chunk)},
                    schema=schema)
    with pq.ParquetWriter(tmp_path / "big.parquet", schema) as writer:
        for _ in range(rows // chunk):
            writer.write_table(part)
    pd.DataFrame({"id": [0], "pred": [0.0]}).to_parquet(tmp_path / "p.parquet")
    # 3 GiB of address space (room for the interpreter's threads on a many-core machine):
    # the index needs ~3.8 GiB at least
    limit = 3 << 30

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    proc = subprocess.run([sys.executable, "-m", "losscli", "eval", tmp_path / "p.parquet",
                           "--targets", tmp_path / "big.parquet", "--id-col", "id",
                           "--loss", "mse"], capture_output=True, cwd=ROOT, timeout=120,
                          preexec_fn=cap)
    line = _one_error_line(proc)
    assert "big.parquet" in line and "does not fit in memory" in line
    assert f"{rows} rows" in line and "GiB" in line and "without --id-col" in line


# -- property: NaN patterns × join orders --------------------------------------------------

@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(3, 30), data=st.data())
def test_property_compare_equals_sklearn_on_the_common_rows(tmp_path, n, data):
    from losscli.comparison import Model, compare
    from losscli.errors import InputError

    rng = np.random.default_rng(n)
    ids = np.arange(n) * 7 + 3
    y = rng.normal(size=n)
    preds = {m: y + rng.normal(0, 0.5, n) for m in ("a", "b", "c")}
    nan_at = {m: data.draw(st.sets(st.integers(0, n - 1), max_size=max(0, n // 3)), label=m)
              for m in (*preds, "target")}
    for m, where in nan_at.items():
        (y if m == "target" else preds[m])[sorted(where)] = np.nan
    joined = data.draw(st.booleans(), label="joined")
    pd.DataFrame({"id": ids, "target": y}).to_csv(tmp_path / "t.csv", index=False)
    models = []
    for m, p in preds.items():
        order = data.draw(st.permutations(range(n)), label=f"order {m}") if joined else range(n)
        order = list(order)
        pd.DataFrame({"id": ids[order], "pred": p[order]}).to_parquet(tmp_path / f"{m}.parquet")
        models.append(Model(m, str(tmp_path / f"{m}.parquet")))
    keep = np.isfinite(y) & np.logical_and.reduce([np.isfinite(p) for p in preds.values()])
    options = {"losses": ["mse", "mae"], "nan_policy": "omit",
               **({"id_col": ["id"]} if joined else {})}
    if keep.sum() == 0:
        with pytest.raises(InputError, match=r"No rows left|no data rows"):
            compare(models, str(tmp_path / "t.csv"), **options)
        return
    comp = compare(models, str(tmp_path / "t.csv"), **options)
    for i, (m, p) in enumerate(preds.items()):
        assert comp.reports[i].rows == int(keep.sum())
        assert comp.value(m, "mse") == pytest.approx(mean_squared_error(y[keep], p[keep]),
                                                     rel=1e-12, abs=1e-15)
        assert comp.value(m, "mae") == pytest.approx(mean_absolute_error(y[keep], p[keep]),
                                                     rel=1e-12, abs=1e-15)


def test_compare_honours_replicates_seed_and_level_without_ci(tmp_path):
    """The paired bootstraps of compare (and of check --reference-col) use --replicates,
    --seed and --ci-level whether or not --ci is given; before, without --ci they ran with
    the defaults (200 replicates: a p-value never below 1/200, and --seed ignored)."""
    rng = np.random.default_rng(5)
    n = 1500
    y = (rng.random(n) < 0.4).astype(int)
    common = rng.normal(0, 1, n)
    frame = pd.DataFrame({"a": np.round(1.5 * y + common + rng.normal(0, 1, n), 2),
                          "b": np.round(0.5 * y + common + rng.normal(0, 1, n), 2),
                          "target": y})
    path = tmp_path / "two.csv"
    frame.to_csv(path, index=False)

    def run(*extra: str) -> dict:
        r = run_losscli("compare", path, "--pred-col", "a", "--pred-col", "b",
                        "-l", "average_precision", "-l", "f1", *extra, "-f", "json")
        assert r.returncode == 0, r.stderr.decode()
        return {row["name"]: row for row in json.loads(r.stdout)["losses"]}

    default, many = run(), run("--replicates", "1000")
    for name in ("average_precision", "f1"):
        assert default[name]["p_value"]["b"] >= 1 / 201  # the floor of 200 replicates
        assert many[name]["p_value"]["b"] < 1 / 201  # b is clearly worse: 1000 replicates
    other_seed = run("--replicates", "1000", "--seed", "7")
    assert other_seed["f1"]["diff_interval"] != many["f1"]["diff_interval"]
    wide = run("--replicates", "1000", "--ci-level", "0.99")
    lo95, hi95 = many["f1"]["diff_interval"]["b"]
    lo99, hi99 = wide["f1"]["diff_interval"]["b"]
    assert lo99 < lo95 and hi99 > hi95
