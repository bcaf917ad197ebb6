"""The Python API mirrors the CLI: evaluate, check, compare, merge and inspect at the top
level, the command's options as keywords, in-memory data of every common kind, and no
silent swap of roles. Every reference value is computed here (scikit-learn, numpy)."""

from __future__ import annotations

import importlib
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import f1_score, mean_squared_error, r2_score

import losscli
from losscli.errors import UsageError
from tests.conftest import SAMPLES, run_losscli

RNG = np.random.default_rng(7)
Y = RNG.normal(size=200)
P = Y + RNG.normal(scale=0.3, size=200)


def test_top_level_names_are_the_commands():
    for name in ("evaluate", "check", "compare", "merge", "inspect", "Report", "CheckResult",
                 "Comparison"):
        assert name in dir(losscli)
        assert callable(getattr(losscli, name))
    # the functions stay the functions once every submodule is imported
    importlib.import_module("losscli.cli")  # imports render, gate, ... as the CLI does

    assert callable(losscli.compare) and losscli.compare.__module__ == "losscli.api"


def test_two_arrays_by_position_are_refused_naming_the_keywords():
    with pytest.raises(UsageError, match=r"y_true=\.\.\., y_pred=\.\.\."):
        losscli.evaluate(Y, P, losses=["r2"])
    with pytest.raises(UsageError, match="y_true="):
        losscli.check(list(Y), list(P), losses=["r2"])


def test_scikit_learn_keywords_give_scikit_learns_numbers():
    report = losscli.evaluate(y_true=Y, y_pred=P, losses=["r2", "mse"])
    assert report["r2"] == pytest.approx(r2_score(Y, P), rel=1e-12)
    assert report["mse"] == pytest.approx(mean_squared_error(Y, P), rel=1e-12)
    same = losscli.evaluate(predictions=P, targets=Y, losses=["r2"])
    assert same["r2"] == report["r2"]
    # the swap would have been a different number: the refusal matters
    assert r2_score(P, Y) != pytest.approx(r2_score(Y, P), rel=1e-6)


def test_roles_given_twice_are_refused():
    with pytest.raises(UsageError, match="given twice"):
        losscli.evaluate(P, y_pred=P, y_true=Y)
    with pytest.raises(UsageError, match="given twice"):
        losscli.evaluate(targets=Y, y_true=Y, y_pred=P)


def test_a_path_and_arrays_by_position_stay_allowed(tmp_path):
    path = tmp_path / "p.npy"
    np.save(path, P)
    assert losscli.evaluate(str(path), Y, losses="mse")["mse"] == pytest.approx(
        mean_squared_error(Y, P), rel=1e-12)


@pytest.mark.parametrize("kind", ["pandas", "polars", "arrow_table", "arrow_batch",
                                  "arrow_reader"])
def test_in_memory_frames_of_every_kind(kind):
    frame = pd.DataFrame({"pred": P, "target": Y})
    if kind == "polars":
        pl = pytest.importorskip("polars")
        data = pl.DataFrame({"pred": P, "target": Y})
    elif kind.startswith("arrow"):
        table = pa.table({"pred": P, "target": Y})
        data = {"arrow_table": table, "arrow_batch": table.to_batches()[0],
                "arrow_reader": table.to_reader()}[kind]
    else:
        data = frame
    report = losscli.evaluate(data, losses=["mse", "r2"])
    assert report["mse"] == pytest.approx(mean_squared_error(Y, P), rel=1e-12)
    assert report["r2"] == pytest.approx(r2_score(Y, P), rel=1e-12)


def test_series_of_polars_and_arrow_arrays_by_keyword():
    pl = pytest.importorskip("polars")
    report = losscli.evaluate(y_true=pl.Series("y", Y), y_pred=pa.array(P), losses="mse")
    assert report["mse"] == pytest.approx(mean_squared_error(Y, P), rel=1e-12)


def test_check_takes_dicts_and_is_truthy_when_it_passes():
    value = mean_squared_error(Y, P)
    ok = losscli.check(y_true=Y, y_pred=P, losses=["mse"], max={"mse": value * 1.01})
    bad = losscli.check(y_true=Y, y_pred=P, losses=["mse", "r2"], max={"mse": value * 0.99},
                        min={"r2": 0.0})
    assert bool(ok) is True and ok.passed
    assert bool(bad) is False and [v.label for v in bad.failed] == ["mse"]
    assert "failed (mse)" in repr(bad)
    with pytest.raises(UsageError, match=r"max="):
        losscli.check(y_true=Y, y_pred=P, max_=["mse=1"])
    with pytest.raises(UsageError, match="belongs to one loss"):
        losscli.check(y_true=Y, y_pred=P, max=1.0)


def test_check_against_a_baseline_with_a_global_and_a_per_loss_tolerance(tmp_path):
    base = tmp_path / "base.json"
    first = losscli.check(y_true=Y, y_pred=P, losses=["mse", "mae"], save=str(base))
    assert first and base.exists()
    worse = P + 0.05
    strict = losscli.check(y_true=Y, y_pred=worse, baseline=str(base), rtol=0.001)
    loose = losscli.check(y_true=Y, y_pred=worse, baseline=str(base),
                          rtol={"mse": 0.5, "mae": 0.5})
    assert not strict and loose
    # the CLI says the same of the same files
    np.save(tmp_path / "p.npy", worse)
    np.save(tmp_path / "y.npy", Y)
    cli = run_losscli("check", tmp_path / "p.npy", "--targets", tmp_path / "y.npy",
                      "--baseline", base, "--rtol", "0.001", "-q")
    assert cli.returncode == 1


def test_compare_and_merge_and_inspect(tmp_path):
    comparison = losscli.compare({"a": P, "b": P + 0.2}, y_true=Y, losses=["mse"])
    assert comparison.value("a", "mse") == pytest.approx(mean_squared_error(Y, P), rel=1e-12)
    assert comparison.value("b", "mse") == pytest.approx(mean_squared_error(Y, P + 0.2),
                                                         rel=1e-12)
    whole = pq.read_table(SAMPLES / "regression.parquet")
    half = whole.num_rows // 2
    pq.write_table(whole.slice(0, half), tmp_path / "a.parquet")
    pq.write_table(whole.slice(half), tmp_path / "b.parquet")
    for part in ("a", "b"):
        losscli.evaluate(str(tmp_path / f"{part}.parquet"), losses=["mse"],
                         save_state=str(tmp_path / f"{part}.state"))
    merged = losscli.merge(tmp_path / "a.state", str(tmp_path / "b.state"))
    as_list = losscli.merge([tmp_path / "b.state", tmp_path / "a.state"])
    df = whole.to_pandas()
    want = mean_squared_error(df["target"], df["pred"])
    assert merged["mse"] == pytest.approx(want, rel=1e-12) and as_list["mse"] == merged["mse"]
    info = losscli.inspect(SAMPLES / "regression.parquet")
    assert [c["name"] for c in info["columns"]][:2] == ["pred", "target"]


def test_to_dataframe_is_long_with_groups_classes_and_intervals():
    report = losscli.evaluate(str(SAMPLES / "segments.parquet"), losses=["mse"],
                              group_by="region", ci=True)
    df = report.to_dataframe()
    overall = df[df.scope == "overall"]
    assert len(overall) == 1 and overall["value"].iloc[0] == report["mse"]
    groups = df[df.scope == "group"]
    source = pq.read_table(SAMPLES / "segments.parquet").to_pandas()
    for _, row in groups.iterrows():
        key = row["region"]
        part = source[source.region.isna()] if key is None or key != key else \
            source[source.region == key]
        assert row["value"] == pytest.approx(mean_squared_error(part.target, part.pred),
                                             rel=1e-12)
        assert row["ci_low"] < row["value"] < row["ci_high"]
        assert row["rows"] == len(part)
    assert len(groups) == source.region.nunique(dropna=False)

    classes = losscli.evaluate(str(SAMPLES / "iris_like.csv"), pred_col="p_*",
                               target_col="species", losses=["f1"])
    frame = pd.read_csv(SAMPLES / "iris_like.csv")
    names = ["setosa", "versicolor", "virginica"]
    predicted = np.array(names)[frame[[f"p_{n}" for n in names]].to_numpy().argmax(axis=1)]
    per_class = f1_score(frame.species, predicted, labels=names, average=None)
    cdf = classes.to_dataframe()
    rows = cdf[cdf["class"].notna()].set_index("class")["value"]
    assert list(rows.index) == names
    np.testing.assert_allclose(rows.to_numpy(), per_class, rtol=1e-12)


def test_repr_is_short_and_html_is_escaped():
    report = losscli.evaluate(y_true=Y, y_pred=P, losses=["mse", "mae"], ci=True)
    text = repr(report)
    assert text.startswith("<Report 200 rows: mse=") and len(text) < 120
    html = report._repr_html_()
    assert html.count("<tr>") == 3 and "interval" in html
    frame = pd.DataFrame({"pred": P[:4], "target": Y[:4], "<g>": ["a", "x", "x", "a"]})
    grouped = losscli.evaluate(frame, losses=["mse"], group_by="<g>")
    assert "groups by &lt;g&gt;" in grouped._repr_html_()
    assert "<g>" not in grouped._repr_html_()
    assert "2 groups" in repr(grouped)


def test_the_api_and_the_cli_print_the_same_json(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(pa.table({"pred": P, "target": Y}), path)
    cli = run_losscli("eval", path, "--loss", "mse", "--loss", "huber:delta=0.5",
                      "--format", "json")
    api = losscli.evaluate(str(path), losses=["mse", "huber:delta=0.5"]).to_dict()
    doc = json.loads(cli.stdout)
    assert [x["value"] for x in doc["losses"]] == [x["value"] for x in api["losses"]]
