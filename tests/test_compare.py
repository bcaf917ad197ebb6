"""Side-by-side comparison (``losscli compare``): models from files or columns, the leader
per loss by direction (``leader``: the best value) and the best model (``best``: only a model
significantly better than every other, by paired tests), differences to the reference, every
output format. Four rows prove nothing: ``best`` is empty there, ``leader`` is not.

Targets t = [1, 2, 3, 4] (Σ(t - t̄)² = 5). Errors per model, and hand-derived values:
  a: [0, 0, 0, 3]   mse 9/4 = 2.25   mae 3/4 = 0.75   max_error 3   r2 = 1 - 9/5 = -0.8
  b: [1, -1, 1, -1] mse 1            mae 1            max_error 1   r2 = 1 - 4/5 = 0.2
  c: [2, 2, 2, 2]   mse 4            mae 2            max_error 2   r2 = 1 - 16/5 = -2.2
So mae is best for a (lower), while mse, max_error and r2 (higher is better) are best for b.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.comparison import Model, compare, parse_models
from losscli.errors import InputError, UsageError
from tests.conftest import run_losscli

T = np.array([1.0, 2.0, 3.0, 4.0])
ERRORS = {"a": [0.0, 0.0, 0.0, 3.0], "b": [1.0, -1.0, 1.0, -1.0], "c": [2.0, 2.0, 2.0, 2.0]}
EXPECTED = {  # loss -> model -> value
    "mse": {"a": 2.25, "b": 1.0, "c": 4.0},
    "mae": {"a": 0.75, "b": 1.0, "c": 2.0},
    "max_error": {"a": 3.0, "b": 1.0, "c": 2.0},
    "r2": {"a": -0.8, "b": 0.2, "c": -2.2},
}
LOSSES = ["mse", "mae", "max_error", "r2"]


@pytest.fixture
def files(tmp_path):
    """model_a/b/c.parquet (a `yhat` column each), truth.csv, and all.parquet (columns)."""
    paths = {}
    for name, err in ERRORS.items():
        paths[name] = tmp_path / f"model_{name}.parquet"
        pq.write_table(pa.table({"yhat": T + np.array(err)}), paths[name])
    paths["truth"] = tmp_path / "truth.csv"
    paths["truth"].write_text("y\n" + "\n".join(f"{t:g}" for t in T) + "\n")
    paths["all"] = tmp_path / "all.parquet"
    pq.write_table(pa.table({"target": T, **{k: T + np.array(e) for k, e in ERRORS.items()}}),
                   paths["all"])
    return paths


def as_json(cli, *args):
    r = cli("compare", *args, "--format", "json")
    assert r.exit_code == 0, r.stderr
    assert r.stderr == ""
    return json.loads(r.stdout)


def check_values(doc, models):
    for loss in doc["losses"]:
        for m in models:
            assert loss["values"][m] == pytest.approx(EXPECTED[loss["name"]][m[-1]], abs=1e-15)


# --- the API ---------------------------------------------------------------------------

def test_one_model(files):
    comp = compare([Model("a", str(files["a"]))], str(files["truth"]), losses=LOSSES)
    assert comp.names == ["a"] and comp.reference == "a"
    for row in comp.rows:
        assert row.values == (pytest.approx(EXPECTED[row.name]["a"]),)
        assert row.best == (0,) and row.diff == (0.0,)


def test_two_models_best_respects_direction(files):
    comp = compare({"a": str(files["a"]), "b": str(files["b"])}, str(files["truth"]),
                   losses=LOSSES)
    leader = {row.name: [comp.names[i] for i in row.leader] for row in comp.rows}
    assert leader == {"mse": ["b"], "mae": ["a"], "max_error": ["b"], "r2": ["b"]}
    # four rows: no difference is significant, so no model is crowned
    assert all(comp.best_names(row) == [] for row in comp.rows)
    assert {row.name: row.verdict[1] for row in comp.rows} == {
        "mse": "~", "mae": "~", "max_error": None, "r2": "~"}
    mae = next(r for r in comp.rows if r.name == "mae")
    assert mae.diff == (0.0, 0.25) and mae.relative_diff == (0.0, pytest.approx(1 / 3))
    r2 = next(r for r in comp.rows if r.name == "r2")
    # r2 rises by 1.0 from -0.8: relative to |reference| = 0.8 that is +125 %
    assert r2.diff[1] == pytest.approx(1.0) and r2.relative_diff[1] == pytest.approx(1.25)
    # each value is exactly what evaluate() gives for that model alone
    alone = losscli.evaluate(str(files["b"]), str(files["truth"]), losses=LOSSES)
    assert [r.values[1] for r in comp.rows] == [x.value for x in alone.losses]


def test_ties_share_best_and_zero_reference_has_no_relative_diff():
    perfect, also = T.copy(), T.copy()
    comp = compare({"p": perfect, "q": also, "r": T + 1}, T, losses=["mse", "r2"])
    mse = comp.rows[0]
    assert [comp.names[i] for i in mse.leader] == ["p", "q"] and mse.verdict[1] == "same"
    assert mse.diff == (0.0, 0.0, 1.0) and mse.relative_diff == (None, None, None)


def test_models_with_other_losses_are_refused():
    from losscli.comparison import build_rows

    a = losscli.evaluate(predictions=T, targets=T + 1, losses=["mse"])
    b = losscli.evaluate(predictions=T, targets=T + 1, losses=["mae"])
    with pytest.raises(InputError, match="Model 'b' was evaluated with other losses"):
        build_rows([a, b], ["a", "b"])


# --- naming models ---------------------------------------------------------------------

def test_parse_models_names():
    assert [(m.name, m.predictions, m.pred_col) for m in parse_models(
        ["x/model_a.parquet", "b=y/model_b.csv.gz"], ["A=x/model_a.parquet"])] == [
        ("A", "x/model_a.parquet", None), ("b", "y/model_b.csv.gz", None)]
    # clashing stems fall back to the paths
    assert [m.name for m in parse_models(["r1/preds.parquet", "r2/preds.parquet"])] == [
        "r1/preds.parquet", "r2/preds.parquet"]
    # one file, several columns: the columns are the models
    assert [(m.name, m.pred_col) for m in parse_models(
        ["all.parquet"], ["B=b"], ["a", "b"])] == [("a", "a"), ("B", "b")]
    # one column for several files applies to each
    assert [m.pred_col for m in parse_models(["a.csv", "b.csv"], [], ["yhat"])] == ["yhat"] * 2


@pytest.mark.parametrize(("args", "message"), [
    ((["a.csv", "b.csv"], [], ["p", "q"]), "--pred-col was given 2 times with 2 files"),
    ((["x/m.csv", "y/m.csv"], ["m=x/m.csv", "m=y/m.csv"], None), "Two models are called 'm'"),
    ((["a=a.csv", "a=b.csv"], [], None), "Two models are called 'a'"),
    ((["a.csv"], ["z=zzz.csv"], None), "'zzz.csv' is not one of the models"),
    ((["a.csv"], ["z"], None), "write it as NAME=PATH"),
    ((["m=all.parquet"], [], ["p", "q"]), "name them with --name NAME=COLUMN"),
    (([], [], None), "at least one"),
])
def test_parse_models_errors(args, message):
    with pytest.raises(UsageError, match=message):
        parse_models(*args)


# --- the command -----------------------------------------------------------------------

def test_cli_three_files_with_shared_targets(cli, files):
    doc = as_json(cli, files["a"], files["b"], files["c"], "--targets", files["truth"],
                  *[x for loss in LOSSES for x in ("--loss", loss)])
    names = ["model_a", "model_b", "model_c"]
    assert [m["name"] for m in doc["models"]] == names and doc["reference"] == "model_a"
    assert all(m["rows"] == 4 for m in doc["models"])
    check_values(doc, names)
    by = {x["name"]: x for x in doc["losses"]}
    assert by["mae"]["leader"] == ["model_a"] and by["r2"]["leader"] == ["model_b"]
    assert by["mse"]["diff"] == {"model_a": 0.0, "model_b": -1.25, "model_c": 1.75}
    assert by["mse"]["relative_diff"]["model_c"] == pytest.approx(1.75 / 2.25)
    assert by["r2"]["higher_is_better"] is True


def test_cli_named_models(cli, files):
    doc = as_json(cli, f"first={files['a']}", files["b"], "--name", f"second={files['b']}",
                  "-t", files["truth"], "-l", "mse")
    assert [m["name"] for m in doc["models"]] == ["first", "second"]
    assert doc["losses"][0]["values"] == {"first": 2.25, "second": 1.0}
    assert doc["losses"][0]["leader"] == ["second"]


def test_cli_pred_columns_as_models(cli, files):
    doc = as_json(cli, files["all"], "--pred-col", "a", "--pred-col", "b", "--pred-col", "c",
                  "--name", "best=b", *[x for loss in LOSSES for x in ("-l", loss)])
    assert [m["name"] for m in doc["models"]] == ["a", "best", "c"]
    assert [m["inputs"]["predictions"]["column"] for m in doc["models"]] == ["a", "b", "c"]
    assert {m["inputs"]["targets"]["column"] for m in doc["models"]} == {"target"}
    by = {x["name"]: x for x in doc["losses"]}
    assert by["mae"]["values"] == {"a": 0.75, "best": 1.0, "c": 2.0}
    assert by["max_error"]["leader"] == ["best"] and by["mae"]["leader"] == ["a"]


def test_cli_one_model(cli, files):
    doc = as_json(cli, files["all"], "--pred-col", "c", "-l", "mse")
    assert [m["name"] for m in doc["models"]] == ["all"]
    assert doc["losses"][0]["values"] == {"all": 4.0} and doc["losses"][0]["leader"] == ["all"]


def test_cli_table_markdown_csv(cli, files):
    args = [files["a"], files["b"], "-t", files["truth"], "-l", "mae", "-l", "r2"]
    table = cli("compare", *args)
    assert table.exit_code == 0 and table.stderr == ""
    header = [c.strip() for c in table.stdout.splitlines()[0].split("|")]
    assert header == ["loss", "better", "model_a", "model_b", "Δ model_b vs model_a", "best"]
    assert "+0.25 (+33.33%)" in table.stdout and "reference: model_a" in table.stdout
    md = cli("compare", *args, "-f", "markdown").stdout.splitlines()
    assert md[0] == "| loss | better | model_a | model_b | Δ model_b vs model_a | best |"
    # four rows: the leader's value is bold, the difference is noise (~), nobody is crowned
    assert md[2] == "| `mae` | lower | **0.75** | 1 | +0.25 (+33.33%) ~ | ~ |"
    assert md[3].startswith("| `r2` | higher | -0.8 | **0.2** |") and md[3].endswith("| ~ |")
    rows = list(csv.DictReader(io.StringIO(cli("compare", *args, "-f", "csv").stdout)))
    assert [(r["loss"], r["model"], r["leader"], r["best"], r["verdict"]) for r in rows] == [
        ("mae", "model_a", "true", "false", ""), ("mae", "model_b", "false", "false", "~"),
        ("r2", "model_a", "false", "false", ""), ("r2", "model_b", "true", "false", "~")]
    assert float(rows[1]["diff"]) == 0.25


@pytest.mark.parametrize(("extra", "message"), [
    (["--pred-col", "p", "--pred-col", "q"], "--pred-col was given 2 times with 2 files"),
    (["-l", "msee"], "Did you mean 'mse'?"),
    (["--reduction", "sum"], "No such option"),
])
def test_cli_errors_exit_2(cli, files, extra, message):
    r = cli("compare", files["a"], files["b"], "-t", files["truth"], *extra)
    assert r.exit_code == 2 and r.stdout == "" and message in r.stderr


def test_cli_missing_model_file_is_reported_before_any_pass(cli, files, tmp_path):
    r = cli("compare", files["a"], tmp_path / "nope.parquet", "-t", files["truth"])
    assert r.exit_code == 2 and r.stdout == "" and "File not found" in r.stderr


def test_subprocess_compare(files):
    proc = run_losscli("compare", files["all"], "--pred-col", "a", "--pred-col", "b",
                       "--loss", "r2", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["losses"][0]["leader"] == ["b"] and doc["losses"][0]["values"]["a"] == -0.8
