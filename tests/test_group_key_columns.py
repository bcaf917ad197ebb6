"""Group columns named like the fields of a long-form table (``label``, ``value``, ``rows``,
``scope``... — grouping by the target column ``label`` is common): the CSV header and
``Report.to_dataframe()`` keep every key under its own column (``group_NAME`` when the name
is taken) with the key's values, never a duplicate header or a key overwritten by a field.
Checked against pandas' groupby of the same rows."""

from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import losscli
from tests.conftest import run_losscli

TAKEN = ["label", "value", "rows", "scope", "loss", "params", "name", "class", "column",
         "higher_is_better", "ci_low", "ci_high", "direction", "group_label"]


def _frame(names: list[str], seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 300
    data = {"pred": rng.normal(size=n), "target": rng.normal(size=n)}
    for i, name in enumerate(names):
        data[name] = rng.choice([f"{name[:3]}{j}" for j in range(2 + i)], n)
    return pd.DataFrame(data)


def _expected(frame: pd.DataFrame, names: list[str]) -> dict[tuple, float]:
    sq = (frame.pred - frame.target) ** 2
    return {k if isinstance(k, tuple) else (k,): v
            for k, v in sq.groupby([frame[n] for n in names]).mean().items()}


@settings(max_examples=25, deadline=None, derandomize=True)
@given(st.lists(st.sampled_from([*TAKEN, "g", "site"]), min_size=1, max_size=3, unique=True))
def test_dataframe_keeps_every_key(names):
    frame = _frame(names)
    df = losscli.evaluate(frame, losses=["mse"], group_by=names, pred_col="pred",
                          target_col="target").to_dataframe()
    assert len(set(df.columns)) == len(df.columns)
    key_cols = list(df.columns[1:1 + len(names)])
    for name, col in zip(names, key_cols):
        assert col == name or (col.endswith("_" + name) and col.startswith("group_"))
    groups = df[df.scope == "group"]
    got = {tuple(row[c] for c in key_cols): row.value for _, row in groups.iterrows()}
    want = _expected(frame, names)
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) <= 1e-12 * max(1.0, abs(want[k])) for k in want)
    assert (df[df.scope == "overall"].name == "mse").all()  # the fields keep their values


def test_cli_csv_header_is_unique_and_keeps_the_keys(tmp_path):
    names = ["label", "value", "site"]
    frame = _frame(names, seed=1)
    path = tmp_path / "d.csv"
    frame.to_csv(path, index=False)
    args = [a for n in names for a in ("-g", n)]
    proc = run_losscli("eval", path, "-l", "mse", *args, "-f", "csv", "--ci", "--pred-col",
                       "pred", "--target-col", "target")
    assert proc.returncode == 0, proc.stderr.decode()
    rows = list(csv.reader(io.StringIO(proc.stdout.decode())))
    header = rows[0]
    assert len(set(header)) == len(header)
    assert header[:4] == ["scope", "group_label", "group_value", "site"]
    table = [dict(zip(header, r)) for r in rows[1:] if r[0] == "group"]
    got = {(r["group_label"], r["group_value"], r["site"]): float(r["value"]) for r in table}
    want = _expected(frame, names)
    assert got.keys() == want.keys()
    assert all(abs(got[k] - want[k]) <= 1e-12 * max(1.0, abs(want[k])) for k in want)
    assert {r["label"] for r in table} == {"mse"}
