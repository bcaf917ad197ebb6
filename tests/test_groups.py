"""Per-group results (issue 13, ``--group-by``): every group's values are those of its rows
evaluated alone, whatever the chunking or the worker count; keys of every type with null a
group of its own; the cap on groups; per-row output with the group columns; ``check`` per
group (bounds, baselines with groups, new and missing groups, the Bonferroni correction
that keeps a pure-noise run over 100 groups passing — measured by simulation); ``compare``
per group; saved states with groups."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.gate import check

# -- data -------------------------------------------------------------------------------


def _regression(n: int = 3000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    country = np.array(["DE", "FR", "IT", None], dtype=object)[rng.integers(0, 4, n)]
    return pd.DataFrame({"pred": y + rng.normal(0, 0.5 + (country == "IT"), n), "target": y,
                         "weight": rng.uniform(0.0, 2.0, n), "country": country,
                         "shop": rng.integers(1, 4, n)})


def _binary(n: int = 3000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n).astype(float)
    p = np.clip(0.3 * y + rng.uniform(0, 0.7, n), 0.01, 0.99).round(2)  # ties in the scores
    return pd.DataFrame({"pred": p, "target": y, "weight": rng.integers(1, 4, n).astype(float),
                         "segment": rng.integers(0, 3, n)})


def _multiclass(n: int = 2000, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(n, 3))
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return pd.DataFrame({"p_0": probs[:, 0], "p_1": probs[:, 1], "p_2": probs[:, 2],
                         "target": rng.integers(0, 3, n).astype(float),
                         "day": np.array([dt.date(2024, 5, d) for d in (1, 2)])[
                             rng.integers(0, 2, n)]})


def _write(df: pd.DataFrame, path, row_group: int = 700) -> str:
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path,
                   row_group_size=row_group)
    return str(path)


def _group_mask(column: pd.Series, value) -> np.ndarray:
    if value is None:
        return column.isna().to_numpy()
    if isinstance(value, str) and column.dtype == object and isinstance(
            column.dropna().iloc[0], dt.date):
        return (column.astype(str) == value).to_numpy()
    return (column == value).to_numpy()


CASES = {
    "regression": (_regression, dict(losses=["mse", "mae", "rmse", "r2", "max_error", "huber"],
                                     weight_col="weight"), "country"),
    "binary": (_binary, dict(losses=["bce", "zero_one", "accuracy", "f1", "roc_auc",
                                     "average_precision", "brier"],
                             weight_col="weight"), "segment"),
    "multiclass": (_multiclass, dict(losses=["cross_entropy", "accuracy", "f1:average=macro"],
                                     pred_col="p_*"), "day"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_group_is_its_rows_evaluated_alone(case, tmp_path):
    make, options, key = CASES[case]
    df = make()
    path = _write(df, tmp_path / "all.parquet")
    report = losscli.evaluate(path, group_by=key, chunk_size=256, **options)
    whole = losscli.evaluate(path, chunk_size=256, **options)
    # the overall values are those of a run without groups, to the bit
    assert [r.value for r in report.losses] == [r.value for r in whole.losses]
    assert report.groups is not None and len(report.groups) == df[key].nunique(dropna=False)
    for group in report.groups:
        mask = _group_mask(df[key], group.key[key])
        alone = losscli.evaluate(_write(df[mask], tmp_path / "g.parquet"), **options)
        assert group.rows == mask.sum()
        for mine, theirs in zip(group.losses, alone.losses):
            assert mine.label == theirs.label
            assert mine.value == pytest.approx(theirs.value, rel=1e-12, abs=1e-15), mine.label


@pytest.mark.parametrize("case", CASES)
def test_groups_do_not_depend_on_chunks_or_workers(case, tmp_path):
    make, options, key = CASES[case]
    path = _write(make(), tmp_path / "all.parquet", row_group=300)
    runs = {(chunk, workers): losscli.evaluate(path, group_by=key, chunk_size=chunk,
                                               workers=workers, ci=True, **options)
            for chunk, workers in ((7, 1), (300, 1), (300, 2), (5000, 2))}

    def table(report):
        return [(tuple(g.key.items()), g.rows, [(r.value, r.interval) for r in g.losses])
                for g in report.groups]

    # the same units whatever the workers: the same bits
    assert table(runs[(300, 1)]) == table(runs[(300, 2)])
    base = runs[(300, 1)]
    for other in (runs[(7, 1)], runs[(5000, 2)]):
        for g, h in zip(base.groups, other.groups):
            assert g.key == h.key and g.rows == h.rows
            for a, b in zip(g.losses, h.losses):
                assert a.value == pytest.approx(b.value, rel=1e-12, abs=1e-15)
                if a.interval and a.interval.get("low") is not None:
                    assert a.interval["low"] == pytest.approx(b.interval["low"], rel=1e-12)
                    assert a.interval["high"] == pytest.approx(b.interval["high"], rel=1e-12)


def test_key_types_order_and_null_group(tmp_path):
    n = 12
    table = pa.table({
        "pred": np.arange(n, dtype=float), "target": np.zeros(n),
        "s": pa.array(["b", "a", None, "b", "a", "c", "b", None, "a", "c", "b", "a"]),
        "i": pa.array([3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2], pa.int64()),
        "flag": pa.array([True, False] * 6),
        "day": pa.array([dt.date(2024, 1, 1 + i % 3) for i in range(n)], pa.date32()),
    })
    path = tmp_path / "k.parquet"
    pq.write_table(table, path)
    by_s = losscli.evaluate(str(path), losses=["mae"], group_by="s")
    assert [g.key["s"] for g in by_s.groups] == ["a", "b", "c", None]  # null last
    assert [g.rows for g in by_s.groups] == [4, 4, 2, 2]
    by_two = losscli.evaluate(str(path), losses=["mae"], group_by=["flag", "i"])
    keys = [(g.key["flag"], g.key["i"]) for g in by_two.groups]
    assert keys == sorted(keys) and len(keys) == 6 and isinstance(keys[0][0], bool)
    by_day = losscli.evaluate(str(path), losses=["mae"], group_by="day")
    assert [g.key["day"] for g in by_day.groups] == ["2024-01-01", "2024-01-02", "2024-01-03"]
    # --sort value: the worst group first (mae: the highest)
    worst = losscli.evaluate(str(path), losses=["mae"], group_by="i", sort="value")
    values = [g.losses[0].value for g in worst.groups]
    assert values == sorted(values, reverse=True)
    doc = json.loads(by_s.to_json())
    assert doc["group_by"] == ["s"]
    assert doc["groups"][3]["key"] == {"s": None} and doc["groups"][3]["rows"] == 2
    assert [x["name"] for x in doc["groups"][3]["losses"]] == ["mae"]


def test_group_of_a_csv_column(cli, tmp_path):
    path = tmp_path / "p.csv"
    path.write_text("pred,target,region\n1,0,north\n2,0,south\n3,0,north\n,0,south\n")
    r = cli("eval", path, "-l", "mae", "--group-by", "region", "--nan-policy", "omit",
            "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [(g["key"], g["rows"], g["losses"][0]["value"]) for g in doc["groups"]] == [
        ({"region": "north"}, 2, 2.0), ({"region": "south"}, 1, 2.0)]
    assert doc["groups"][1]["rows_skipped"] == 1


def test_group_table_on_the_terminal(cli, tmp_path):
    path = _write(_regression(600), tmp_path / "r.parquet")
    r = cli("eval", path, "-l", "mse", "-l", "mae", "-g", "country", "--ci")
    assert r.exit_code == 0, r.stderr
    lines = r.stdout.splitlines()
    cells = [[c.strip() for c in line.split("|")] for line in lines]
    assert cells[0] == ["country", "rows", "mse", "interval", "mae", "interval"]
    assert cells[2][:2] == ["(all)", "600"] and cells[2][3].startswith("[")
    assert [row[0] for row in cells[3:7]] == ["DE", "FR", "IT", "(null)"]
    assert "rows: 600 · groups: 4" in lines[-1]
    md = cli("eval", path, "-l", "mse", "-g", "country", "-f", "markdown").stdout
    assert md.splitlines()[0] == "| country | rows | `mse` |"
    assert "| (all) |  | 600 |" not in md and md.splitlines()[2].startswith("| (all) | 600 |")
    csv = cli("eval", path, "-l", "mse", "-g", "country", "-f", "csv").stdout.splitlines()
    assert csv[0] == "scope,country,rows,loss,label,params,value,higher_is_better"
    assert csv[1].startswith("overall,,600,mse") and csv[2].startswith("group,DE,")
    nd = [json.loads(x) for x in cli("eval", path, "-l", "mse", "-g", "country", "-f",
                                     "ndjson").stdout.splitlines()]
    assert nd[0]["key"] is None and nd[1]["key"] == {"country": "DE"}


def test_a_group_with_one_row_has_no_interval_and_a_group_without_a_class_no_auc(tmp_path):
    df = pd.DataFrame({"pred": [0.1, 0.8, 0.3, 0.9, 0.6], "target": [0.0, 1.0, 0.0, 1.0, 1.0],
                       "g": ["a", "a", "a", "a", "lonely"]})
    path = _write(df, tmp_path / "b.parquet")
    report = losscli.evaluate(path, losses=["bce", "roc_auc"], group_by="g", ci=True)
    lonely = report.groups[1]
    assert lonely.key == {"g": "lonely"} and lonely.rows == 1
    bce, auc = lonely.losses
    assert bce.value == pytest.approx(-np.log(0.6))
    assert bce.interval["low"] is None and bce.interval["reason"]  # n/a, never a number
    assert auc.value is None and "undefined" in auc.reason
    assert report.losses[1].value is not None  # overall there are both classes


def test_bad_group_inputs(cli, tmp_path):
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"pred": rng.normal(size=500), "target": rng.normal(size=500),
                       "score": rng.normal(size=500), "id": np.arange(500)})
    path = _write(df, tmp_path / "x.parquet")
    missing = cli("eval", path, "--pred-col", "pred", "-g", "contry")
    assert missing.exit_code == 2 and "contry" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1 and "Traceback" not in missing.stderr
    floaty = cli("eval", path, "--pred-col", "pred", "-g", "score")
    assert floaty.exit_code == 2 and "float column" in floaty.stderr and "Bin it" in floaty.stderr
    many = cli("eval", path, "--pred-col", "pred", "-g", "id", "--max-groups", "100")
    assert many.exit_code == 2 and "more than 100 groups" in many.stderr
    assert "--max-groups" in many.stderr and len(many.stderr.strip().splitlines()) == 1
    ci_sum = cli("eval", path, "--pred-col", "pred", "-l", "mse", "-g", "id", "--ci",
                 "--reduction", "sum")
    assert ci_sum.exit_code == 2 and "--ci" in ci_sum.stderr
    twice = cli("eval", path, "--pred-col", "pred", "-g", "id", "-g", "id")
    assert twice.exit_code == 2 and "twice" in twice.stderr


@pytest.mark.parametrize("suffix", ["csv", "parquet", "ndjson"])
def test_per_row_output_carries_the_group_columns(cli, tmp_path, suffix):
    df = pd.DataFrame({"pred": [1.0, 2.0, np.nan, 4.0], "target": [0.0, 0.0, 0.0, 0.0],
                       "shop": ["x", None, "y", "x"], "n": [1, 2, 3, 4]})
    path = _write(df, tmp_path / "d.parquet")
    out = tmp_path / f"rows.{suffix}"
    r = cli("eval", path, "-l", "mae", "-g", "shop", "-g", "n", "--reduction", "none",
            "--nan-policy", "omit", "-o", out)
    assert r.exit_code == 0, r.stderr
    if suffix == "parquet":
        got = pq.read_table(out).to_pylist()
    elif suffix == "csv":
        got = pd.read_csv(out, keep_default_na=False).to_dict("records")
        got = [{**g, "shop": g["shop"] or None} for g in got]
    else:
        got = [json.loads(line) for line in out.read_text().splitlines()]
    assert got == [{"row": 0, "shop": "x", "n": 1, "mae": 1.0},
                   {"row": 1, "shop": None, "n": 2, "mae": 2.0},
                   {"row": 3, "shop": "x", "n": 4, "mae": 4.0}]
    npy = cli("eval", path, "-l", "mae", "-g", "shop", "--reduction", "none", "--nan-policy",
              "omit", "-o", tmp_path / "rows.npy")
    assert npy.exit_code == 2 and "NPY holds the losses only" in npy.stderr


# -- check per group --------------------------------------------------------------------

def test_check_applies_bounds_to_every_group(cli, tmp_path):
    path = _write(_regression(), tmp_path / "r.parquet")
    doc = json.loads(cli("eval", path, "-l", "mae", "-g", "country", "-f", "json").stdout)
    values = {g["key"]["country"]: g["losses"][0]["value"] for g in doc["groups"]}
    bound = (values["DE"] + values["IT"]) / 2  # IT (the noisiest) is above, the rest below
    assert doc["losses"][0]["value"] < bound
    r = cli("check", path, "-l", "mae", "-g", "country", "--max", f"mae={bound}")
    assert r.exit_code == 1
    assert "country=IT" in r.stdout and r.stdout.splitlines()[-1].startswith("FAILED")
    assert r.stdout.splitlines()[-1].startswith("FAILED: 1 of 4 groups (country=IT)")
    md = cli("check", path, "-l", "mae", "-g", "country", "--max", f"mae={bound}",
             "-f", "markdown").stdout
    assert md.splitlines()[2] == "**Failing groups:** `country=IT`"
    js = json.loads(cli("check", path, "-l", "mae", "-g", "country", "--max", f"mae={bound}",
                        "-f", "json").stdout)
    # "failed" lists the failing group checks too (issue 19, item 11: it was [])
    assert js["passed"] is False and js["failed"] == ["country=IT: mae"] and js[
        "failed_groups"] == [{"country": "IT"}]
    it = next(g for g in js["groups"] if g["key"] == {"country": "IT"})
    assert it["passed"] is False and it["checks"][0]["status"] == "fail"


def test_check_against_a_baseline_with_groups(cli, tmp_path):
    df = _regression()
    path = _write(df, tmp_path / "r.parquet")
    base = tmp_path / "base.json"
    assert cli("check", path, "-l", "mae", "-g", "country", "--save", base).exit_code == 0
    same = cli("check", path, "-g", "country", "--baseline", base, "-f", "json")
    assert same.exit_code == 0, same.stdout
    assert all(g["checks"][0]["status"] == "same" for g in json.loads(same.stdout)["groups"])
    # a new group, and one gone from the data
    moved = df.assign(country=df["country"].replace({"FR": "ES"}))
    path2 = _write(moved, tmp_path / "r2.parquet")
    r = cli("check", path2, "-g", "country", "--baseline", base, "-f", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["failed_groups"] == [{"country": "FR"}]
    assert [g["key"] for g in doc["missing_groups"]] == [{"country": "FR"}]
    es = next(g for g in doc["groups"] if g["key"] == {"country": "ES"})
    assert es["status"] == "new" and es["passed"] is True and "new since" in es["note"]
    allowed = cli("check", path2, "-g", "country", "--baseline", base, "--allow-missing")
    assert allowed.exit_code == 0, allowed.stdout
    assert "missing" in allowed.stdout and "new" in allowed.stdout
    # a baseline without groups: every group against the overall value
    flat = tmp_path / "flat.json"
    assert cli("check", path, "-l", "mae", "--save", flat).exit_code == 0
    r = cli("check", path, "-g", "country", "--baseline", flat, "--rtol", "0.05", "-f", "json")
    assert r.exit_code == 1
    assert {"country": "IT"} in json.loads(r.stdout)["failed_groups"]
    # a baseline of other groups
    other = cli("check", path, "-g", "shop", "--baseline", base)
    assert other.exit_code == 2 and "same --group-by" in other.stderr


def _noise_groups(groups: int, rows: int, rng) -> pd.DataFrame:
    """Errors ~ N(0, 1) in every group: every group's true mse is 1."""
    return pd.DataFrame({"pred": rng.normal(size=groups * rows), "target": 0.0,
                         "g": np.repeat(np.arange(groups), rows)})


def test_pure_noise_over_100_groups_passes_with_ci(tmp_path):
    # each group's mse is judged against its true value 1: without the correction about
    # 2.5 % of the groups' intervals lie wholly above it by chance (92 % of such runs
    # would fail); Bonferroni over the 100 groups keeps a false alarm below 5 %
    rng = np.random.default_rng(11)
    runs, failed, uncorrected = 100, 0, 0
    for _ in range(runs):
        df = _noise_groups(100, 40, rng)
        result = check(df, losses=["mse"], group_by="g", ci=True, max_=["mse=1"])
        failed += not result.passed
        plain = losscli.evaluate(df, losses=["mse"], group_by="g", ci=True)
        uncorrected += any(g.losses[0].interval["low"] > 1.0 for g in plain.groups)
        assert result.correction.startswith("Bonferroni over 100 groups × 1 loss")
    assert failed / runs <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / runs)
    assert uncorrected / runs > 0.5  # what the correction prevents


def test_readme_style_noise_check_passes(cli, tmp_path):
    df = _noise_groups(100, 50, np.random.default_rng(5))
    path = _write(df, tmp_path / "noise.parquet")
    r = cli("check", path, "-l", "mse", "-g", "g", "--ci", "--max", "mse=1")
    assert r.exit_code == 0, r.stdout
    assert "Bonferroni over 100 groups" in r.stdout and "groups: 100 passed" in r.stdout


def test_paired_check_per_group_fails_only_the_regressed_group(tmp_path):
    rng = np.random.default_rng(8)
    n = 6000
    y = rng.normal(size=n)
    g = rng.integers(0, 6, n)
    old = y + rng.normal(0, 1, n)
    new = y + rng.normal(0, 1, n)
    new[g == 4] = y[g == 4] + rng.normal(0, 2, (g == 4).sum())  # a real regression in 4
    df = pd.DataFrame({"new": new, "old": old, "target": y, "g": g})
    result = check(df, pred_col="new", reference_col="old", losses=["mse"], group_by="g")
    assert [c.key for c in result.failed_groups] == [{"g": 4}]
    assert result.correction.startswith("Holm over 6 paired tests")
    noise = df.assign(new=y + rng.normal(0, 1, n))
    assert check(noise, pred_col="new", reference_col="old", losses=["mse"],
                 group_by="g").passed


# -- compare and saved states -------------------------------------------------------------

def test_compare_per_group(cli, tmp_path):
    n = 171
    a, b = np.zeros(2 * n), np.zeros(2 * n)
    a[:10] = b[:6] = b[10] = 1.0  # group 0: 10 errors vs 7 (McNemar p = 0.375): noise
    a[n:n + 60] = 1.0  # group 1: 60 vs 0: real
    df = pd.DataFrame({"label": 0.0, "a": a, "b": b, "half": np.repeat(["first", "second"], n)})
    path = _write(df, tmp_path / "ab.parquet")
    args = [path, "--pred-col", "a", "--pred-col", "b", "--target-col", "label", "-l",
            "zero_one", "--task", "binary", "-g", "half"]
    r = cli("compare", *args, "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    first, second = doc["groups"]
    assert first["key"] == {"half": "first"} and first["rows"] == {"a": n, "b": n}
    assert first["losses"][0]["verdict"]["b"] == "~" and first["losses"][0]["best"] == []
    assert second["losses"][0]["verdict"]["b"] == "better"
    table = cli("compare", *args).stdout
    assert "first" in table and "second" in table


def test_saved_states_with_groups_merge_like_one_run(cli, tmp_path):
    df = _regression(2000)
    parts = [_write(df.iloc[:1200], tmp_path / "a.parquet"),
             _write(df.iloc[1200:], tmp_path / "b.parquet")]
    for i, part in enumerate(parts):
        r = cli("eval", part, "-l", "mse", "-l", "r2", "-g", "country", "--ci",
                "--save-state", tmp_path / f"{i}.state", "-q")
        assert r.exit_code == 0, r.stderr
    merged = json.loads(cli("merge", tmp_path / "1.state", tmp_path / "0.state",
                            "-f", "json").stdout)
    whole = losscli.evaluate(df, losses=["mse", "r2"], group_by="country")
    assert [g["key"] for g in merged["groups"]] == [g.key for g in whole.groups]
    for g, h in zip(merged["groups"], whole.groups):
        assert g["rows"] == h.rows
        for a, b in zip(g["losses"], h.losses):
            assert a["value"] == pytest.approx(b.value, rel=1e-12)
            assert a["interval"]["low"] is not None


def test_batch_groups_of_several_columns_when_one_is_constant():
    # (a hive partition key is constant within a file: its batch has one value)
    from losscli.grouping import BatchGroups

    g = BatchGroups.of([np.array(["a", "a", "a"], dtype=object), np.array([2, 1, 2])],
                       ("x", "y"))
    assert sorted(g.keys) == [("a", 1), ("a", 2)]
    assert [g.keys[c] for c in g.codes] == [("a", 2), ("a", 1), ("a", 2)]
    g = BatchGroups.of([np.array([1, 2]), np.array([None, None], dtype=object),
                        np.array([True, True])], ("x", "y", "z"))
    assert sorted(g.keys) == [(1, None, True), (2, None, True)]


def _row_keys(g):
    return [g.keys[c] for c in g.codes]


@pytest.mark.parametrize("dictionary", [
    ["b", "a", None, "c"],        # a null entry in the dictionary itself
    ["a", "b", "a"],              # a repeated entry: one group
    ["z", "a", "b", "unused"],    # entries no row uses
])
def test_text_keys_from_dictionary_codes_equal_plain_text(dictionary):
    # Parquet and Arrow dictionary columns arrive with their codes (io.arrow.CodedText):
    # the groups must be exactly those of hashing each row's string.
    from losscli.grouping import BatchGroups
    from losscli.io.arrow import raw_values

    rng = np.random.default_rng(3)
    idx = rng.integers(0, 3, 500)
    nulls = rng.random(500) < 0.1
    arr = pa.DictionaryArray.from_arrays(pa.array(idx, pa.int32(), mask=nulls),
                                         pa.array(dictionary))
    coded = raw_values("f", "k", arr, 0)
    assert coded.codes is not None
    plain = np.array(arr.to_pylist(), dtype=object)
    for lo, hi in ((0, 500), (17, 230), (499, 500)):  # whole, and re-chunked slices
        a, b = BatchGroups.of([coded[lo:hi]], ("k",)), BatchGroups.of([plain[lo:hi]], ("k",))
        assert _row_keys(a) == _row_keys(b)
        assert sorted(a.keys, key=str) == sorted(b.keys, key=str)  # no group without rows
        assert len(set(a.keys)) == len(a.keys)
    # anything but a basic slice drops the codes: coded as text again
    assert coded[nulls].codes is None and coded[[1, 2]].codes is None
    # pieces of batches joined again (the re-chunking) keep them, with only the values used
    from losscli.io.arrow import concatenate

    other = raw_values("f", "k", pa.DictionaryArray.from_arrays(
        pa.array([1, 0, 1], pa.int8()), pa.array(["new", dictionary[0]])), 0)
    joined = concatenate([coded[400:], other, coded[:50]])
    assert joined.codes is not None and len(joined.values) <= len(dictionary) + 2
    expect = np.concatenate([plain[400:], np.array(other.tolist(), dtype=object), plain[:50]])
    assert list(joined) == list(expect)
    a, b = BatchGroups.of([joined], ("k",)), BatchGroups.of([expect], ("k",))
    assert _row_keys(a) == _row_keys(b) and len(set(a.keys)) == len(a.keys)


def test_dictionary_read_text_groups_equal_plain_strings(tmp_path):
    # A small-dictionary text column is read as an Arrow dictionary; the same data stored
    # without a dictionary is read as strings: same groups, and at one chunk size the same
    # bits for any worker count (across chunk sizes: 1e-12).
    rng = np.random.default_rng(4)
    n = 30_000
    t = pa.table({"pred": rng.normal(size=n), "target": rng.normal(size=n),
                  "s": rng.choice(["de", "fr", "\x1bx", None], n).tolist()})
    coded, plain = tmp_path / "coded.parquet", tmp_path / "plain.parquet"
    pq.write_table(t, coded, row_group_size=7_000)
    pq.write_table(t, plain, row_group_size=7_000, use_dictionary=False)
    df = t.to_pandas()
    ref = ((df.pred - df.target) ** 2).groupby(df.s, dropna=False).mean()
    for cs in (999, 65_536):
        results = [losscli.evaluate(str(p), losses=["mse"], group_by=["s"], workers=w,
                                    chunk_size=cs).to_dict()["groups"]
                   for p in (coded, plain) for w in (1, 3)]
        for other in results[1:]:
            assert other == results[0]
        got = {g["key"]["s"]: g["losses"][0]["value"] for g in results[0]}
        assert got.keys() == {"de", "fr", "\x1bx", None}
        for key, value in ref.items():
            assert got[None if isinstance(key, float) else key] == pytest.approx(value,
                                                                                rel=1e-12)


def test_a_group_interval_that_needs_more_replicates_is_said_once_per_loss(tmp_path):
    """With --group-by --ci, each group's interval is at the Bonferroni level (99.44 % for
    3 groups × 3 losses), which a 200-replicate bootstrap cannot give: the verdict notes it
    and judges on the value. The text and Markdown say so once per loss, naming the groups
    (before, only JSON said why a group's f1 was judged on its value)."""
    from tests.conftest import run_losscli

    df = _binary(600)
    path = _write(df, tmp_path / "b.parquet")
    args = ["-l", "roc_auc", "-l", "f1", "-l", "accuracy", "-g", "segment", "--ci",
            "--min", "f1=0"]
    doc = json.loads(run_losscli("check", path, *args, "-f", "json").stdout)
    need = [(g["key"]["segment"], r["label"]) for g in doc["groups"] for r in g["losses"]
            if (r.get("interval") or {}).get("reason", "").startswith("200 finite")]
    assert {label for _, label in need} == {"f1"} and len(need) == 3  # from the report itself
    for fmt, mark in (("table", "· "), ("markdown", "- ℹ️ ")):
        out = run_losscli("check", path, *args, "-f", fmt).stdout.decode()
        lines = [ln for ln in out.splitlines() if "judged on its value" in ln]
        assert len(lines) == 1, out
        assert lines[0].startswith(mark) and "f1: 200 finite bootstrap replicates" in lines[0]
        for key, _ in need:
            assert f"segment={key}" in lines[0]
    out = run_losscli("check", path, *args, "--replicates", "400").stdout.decode()
    assert "judged on its value" not in out
