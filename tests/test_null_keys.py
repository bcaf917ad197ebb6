"""Issue 19, item 20: group keys and loss names.

* Integer and boolean key columns holding nulls are grouped (null a group of its own, as the
  README promises), with the values pandas' ``groupby(dropna=False)`` gives.
* A null key and the string ``"null"`` are two groups and print as two texts: ``(null)``
  and ``null`` (JSON keeps ``null`` and ``"null"``).
* An unknown loss name gets only plausible suggestions: ``mcc`` is not ``mce``.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.feather as feather
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_losscli


def _table(n: int = 60) -> pa.Table:
    rng = np.random.default_rng(7)
    return pa.table({
        "pred": rng.normal(size=n), "target": rng.normal(size=n),
        # nulls in some row groups only: chunks with and without nulls must agree (none
        # on the first row: NDJSON takes a column's type from its first line)
        "k": pa.array([None if i % 7 == 3 and i < 30 else i % 3 for i in range(n)], pa.int32()),
        "b": pa.array([None if i % 5 == 4 else bool(i % 2) for i in range(n)], pa.bool_()),
        "s": pa.array([None if i % 4 == 3 else ("null" if i % 4 == 1 else "x")
                       for i in range(n)]),
    })


def _expected(table: pa.Table, by: list[str]) -> dict:
    df = table.to_pandas()
    df["se"] = (df["pred"] - df["target"]) ** 2
    out = {}
    for key, part in df.groupby(by, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        plain = tuple(None if pd.isna(v) else (bool(v) if isinstance(v, (bool, np.bool_))
                                               else int(v) if isinstance(v, (int, np.integer, float))
                                               else v) for v in key)
        out[plain] = (len(part), float(part["se"].mean()))
    return out


@pytest.mark.parametrize("fmt", ["parquet", "feather", "ndjson"])
def test_integer_and_boolean_keys_with_nulls_are_groups(tmp_path, fmt):
    table = _table()
    path = tmp_path / f"keys.{fmt}"
    if fmt == "parquet":
        pq.write_table(table, path, row_group_size=16)
    elif fmt == "feather":
        feather.write_feather(table, path, chunksize=16)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in table.to_pylist()))
    r = run_losscli("eval", path, "-l", "mse", "-g", "k", "-g", "b", "--chunk-size", "16",
                    "-f", "json")
    assert r.returncode == 0, r.stderr
    got = {tuple(g["key"][c] for c in ("k", "b")): (g["rows"], g["losses"][0]["value"])
           for g in json.loads(r.stdout)["groups"]}
    want = _expected(table, ["k", "b"])
    assert got.keys() == want.keys() and (None, None) in got
    for key, (rows, value) in want.items():
        assert got[key][0] == rows and got[key][1] == pytest.approx(value, rel=1e-12)


def test_integer_keys_with_nulls_on_their_own_and_by_key_order(tmp_path):
    table = _table()
    pq.write_table(table, tmp_path / "k.parquet", row_group_size=16)
    r = run_losscli("eval", tmp_path / "k.parquet", "-l", "mse", "-g", "k")
    assert r.returncode == 0, r.stderr
    firsts = [line.split("|")[0].strip() for line in r.stdout.decode().splitlines()[2:-1]]
    assert firsts == ["(all)", "0", "1", "2", "(null)"]  # null last


def test_a_null_key_and_the_string_null_print_apart(tmp_path):
    table = _table()
    path = tmp_path / "s.parquet"
    pq.write_table(table, path, row_group_size=16)
    doc = json.loads(run_losscli("eval", path, "-l", "mse", "-g", "s", "-f", "json").stdout)
    want = _expected(table, ["s"])
    assert {g["key"]["s"]: g["rows"] for g in doc["groups"]} == {
        k[0]: v[0] for k, v in want.items()}
    assert {"null", None} <= {g["key"]["s"] for g in doc["groups"]}

    table_out = run_losscli("eval", path, "-l", "mse", "-g", "s").stdout.decode()
    cells = [line.split("|")[0].strip() for line in table_out.splitlines()[2:-1]]
    assert cells == ["(all)", "null", "x", "(null)"]
    md = run_losscli("eval", path, "-l", "mse", "-g", "s", "-f", "markdown").stdout.decode()
    assert "| null | 15 |" in md and "| (null) | 15 |" in md
    check = run_losscli("check", path, "-l", "mse", "-g", "s", "--max", "mse=0.01")
    assert check.returncode == 1
    assert "(s=null, s=x, s=(null))" in check.stderr.decode()


def test_key_labels_are_one_text_per_value():
    from losscli.grouping import key_label, key_text

    values = [None, "null", "(null)", '"(null)"', "", "x", 3, True, 1.5]
    labels = [key_label(v) for v in values]
    assert len(set(labels)) == len(values)
    assert labels[:3] == ["(null)", "null", '"(null)"']
    assert key_text(["a", "b"], (None, "null")) == "a=(null), b=null"


def test_an_acronym_one_letter_from_two_metrics_is_not_taken_for_either(samples):
    # mcf is one letter from mcc and from mce: an acronym, not a typo of either
    r = run_losscli("eval", samples / "regression.parquet", "-l", "mcf")
    err = r.stderr.decode()
    assert r.returncode == 2 and err.count("\n") == 1, err
    assert err == ("losscli: error: Unknown loss 'mcf'. Run 'losscli losses' to list "
                   "them.\n")


@pytest.mark.parametrize("name, hint", [
    ("mcf", None), ("kld", None), ("f2", None), ("bleu", None),
    ("mea", "Did you mean 'mae'?"), ("msee", "Did you mean 'mse'?"),
    ("hubr", "Did you mean 'huber'?"), ("crossentropy", "Did you mean 'cross_entropy'?"),
    ("accuracy_scor", "Did you mean 'accuracy_score'?")])
def test_unknown_loss_names_get_plausible_suggestions_only(name, hint):
    from losscli.errors import UsageError
    from losscli.registry import get_loss

    with pytest.raises(UsageError) as err:
        get_loss(name)
    text = str(err.value)
    assert f"Unknown loss '{name}'." in text and "Run 'losscli losses' to list them." in text
    if hint is None:
        assert "Did you mean" not in text
    else:
        assert hint in text


def test_join_keys_with_a_null_match_the_same_rows_in_any_chunking(tmp_path):
    # An integer key column with a null arrives as Python objects in the chunks that hold
    # the null only: every chunk must still compare keys the same way (as integers).
    rng = np.random.default_rng(3)
    n = 3000
    ids = rng.permutation(n)
    key = pa.array([None if i == 5 else int(v) for i, v in enumerate(ids)], pa.int64())
    pq.write_table(pa.table({"id": key, "pred": rng.normal(size=n)}), tmp_path / "p.parquet",
                   row_group_size=500)
    pq.write_table(pa.table({"id": np.arange(n), "target": rng.normal(size=n)}),
                   tmp_path / "t.parquet")
    merged = pd.read_parquet(tmp_path / "p.parquet").merge(pd.read_parquet(tmp_path / "t.parquet"),
                                                           on="id")
    want = float(((merged["pred"] - merged["target"]) ** 2).mean())
    for chunk in ("100", "700"):
        r = run_losscli("eval", tmp_path / "p.parquet", "-t", tmp_path / "t.parquet", "--id-col",
                        "id", "--unmatched", "omit", "-l", "mse", "--chunk-size", chunk, "-f",
                        "json")
        assert r.returncode == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["rows"] == len(merged) == n - 1, chunk
        assert doc["losses"][0]["value"] == pytest.approx(want, rel=1e-12)
