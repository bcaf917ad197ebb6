"""mase with a season length (issue 23 item 7): ``--season-length m`` scales the weighted
MAE by the seasonal-naive scale of the evaluated target series, mean |y_t − y_{t−m}| in
row order (per group with --group-by) — equal to numpy on the whole series (computed
here) and to a hand-computed case, for chunk sizes 1, 2, m − 1, m, 7 and the default, 2
workers over Parquet row groups, standard input, and saved states merged in any order,
through the real CLI.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_losscli

M = 5


def reference(y: np.ndarray, p: np.ndarray, m: int, w: np.ndarray | None = None) -> float:
    """MASE with the seasonal-naive in-sample scale of ``y`` (Hyndman & Koehler 2006)."""
    mae = np.average(np.abs(y - p), weights=w)
    return float(mae / np.mean(np.abs(y[m:] - y[:-m])))


def _series(seed: int = 1, n: int = 97) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = np.round(20 + 5 * np.sin(2 * np.pi * t / M) + rng.normal(0, 1, n), 2)
    return pd.DataFrame({"pred": np.round(y + rng.normal(0, 1.5, n), 2), "target": y,
                         "weight": rng.integers(0, 4, n).astype(float),
                         "store": rng.choice(["a", "b", "c"], n)})  # interleaved groups


def _json(*args: object, input: bytes | None = None) -> dict:
    r = run_losscli(*map(str, args), "--format", "json", input=input)
    assert r.returncode == 0, r.stderr.decode()
    assert b"Traceback" not in r.stderr
    return json.loads(r.stdout)


def _value(doc: dict) -> float:
    return doc["losses"][0]["value"]


def test_hand_computed_case(tmp_path):
    # y = 1 3 2 5 4 6, m = 2: |2−1| + |5−3| + |4−2| + |6−5| = 6 over 4 pairs, scale 1.5;
    # errors |y − ŷ| = 1 0 0 1 0 2: MAE 4/6; MASE = (4/6)/1.5 = 4/9
    path = tmp_path / "hand.csv"
    pd.DataFrame({"pred": [2, 3, 2, 4, 4, 8], "target": [1, 3, 2, 5, 4, 6]}).to_csv(
        path, index=False)
    for chunk in ("1", "2", "4"):
        doc = _json("eval", path, "--loss", "mase", "--season-length", "2", "--chunk-size",
                    chunk)
        assert _value(doc) == pytest.approx(4 / 9, rel=1e-15)
        assert doc["losses"][0]["details"]["scale"] == 1.5
        assert doc["losses"][0]["details"]["pairs"] == 4


def test_equals_numpy_for_every_chunking_and_two_workers(tmp_path):
    df = _series()
    path = tmp_path / "series.csv"
    df.to_csv(path, index=False)
    y, p, w = df["target"].to_numpy(), df["pred"].to_numpy(), df["weight"].to_numpy()
    want = reference(y, p, M, w)
    values = []
    for chunk in ("1", "2", str(M - 1), str(M), "7", None):
        args = () if chunk is None else ("--chunk-size", chunk)
        doc = _json("eval", path, "--weight-col", "weight", "--loss",
                    f"mase:season_length={M}", *args)
        values.append(_value(doc))
    assert values[0] == pytest.approx(want, rel=1e-12)
    assert all(v == pytest.approx(values[0], rel=1e-13) for v in values)
    # 2 workers over Parquet row groups of 13 rows: units merged in row order
    parquet = tmp_path / "series.parquet"
    df.to_parquet(parquet, row_group_size=13)
    doc = _json("eval", parquet, "--weight-col", "weight", "--loss", "mase",
                "--season-length", str(M), "--workers", "2", "--chunk-size", "3")
    assert _value(doc) == pytest.approx(want, rel=1e-12)
    # standard input: the rows in the order they come
    doc = _json("eval", "-", "--format-in", "csv", "--weight-col", "weight", "--loss", "mase",
                "--season-length", str(M), "--chunk-size", "4", input=path.read_bytes())
    assert _value(doc) == pytest.approx(want, rel=1e-12)
    # unweighted
    doc = _json("eval", path, "--loss", "mase", "--season-length", str(M))
    assert _value(doc) == pytest.approx(reference(y, p, M), rel=1e-12)


def test_group_by_interleaved_groups_each_their_own_series(tmp_path):
    df = _series(seed=3, n=120)
    path = tmp_path / "series.csv"
    df.to_csv(path, index=False)
    for chunk in ("1", "4", "50"):
        doc = _json("eval", path, "--loss", "mase", "--season-length", "3", "--group-by",
                    "store", "--chunk-size", chunk)
        assert len(doc["groups"]) == 3
        for g in doc["groups"]:
            part = df[df["store"] == g["key"]["store"]]  # the group's rows in row order
            assert g["losses"][0]["value"] == pytest.approx(
                reference(part["target"].to_numpy(), part["pred"].to_numpy(), 3), rel=1e-12)


def test_saved_states_merge_in_row_order(tmp_path):
    df = _series(seed=5, n=61)
    parts = []
    # parts of 2 (shorter than m), 20 and 39 rows: the cross pairs span more than one part
    for i, (a, b) in enumerate(((0, 2), (2, 22), (22, 61))):
        part = tmp_path / f"part{i}.csv"
        df.iloc[a:b].to_csv(part, index=False)
        state = tmp_path / f"part{i}.state"
        _json("eval", part, "--weight-col", "weight", "--loss", "mase", "--season-length",
              str(M), "--chunk-size", "3", "--save-state", state)
        parts.append(state)
    merged = _json("merge", parts[2], parts[0], parts[1])  # merged in row order whatever given
    want = reference(df["target"].to_numpy(), df["pred"].to_numpy(), M,
                     df["weight"].to_numpy())
    assert _value(merged) == pytest.approx(want, rel=1e-12)
    assert merged["losses"][0]["details"]["pairs"] == 61 - M


def test_too_short_bad_and_conflicting_inputs(tmp_path):
    path = tmp_path / "short.csv"
    pd.DataFrame({"pred": [1.0, 2.0, 3.0], "target": [1.5, 2.0, 2.5]}).to_csv(path, index=False)
    doc = _json("eval", path, "--loss", "mase", "--season-length", "3")
    got = doc["losses"][0]
    assert got["value"] is None and "season length 3" in got["details"]["reason"]
    for args, said in ((("--season-length", "-1"), "season"),
                       (("--season-length", "1.5"), "season"),
                       (("--season-length", "2", "--naive-col", "pred"), "--naive-col")):
        r = run_losscli("eval", path, "--loss", "mase", *args)
        err = r.stderr.decode()
        assert r.returncode == 2 and b"Traceback" not in r.stderr, err
        assert len(err.strip().splitlines()) == 1 and said in err, err
    # mase with a naive column keeps working as before
    naive = tmp_path / "naive.csv"
    pd.DataFrame({"pred": [1.0, 2.0, 3.0], "target": [1.5, 2.0, 2.5],
                  "naive": [1.0, 1.0, 1.0]}).to_csv(naive, index=False)
    doc = _json("eval", naive, "--loss", "mase")
    y, p, n = np.array([1.5, 2.0, 2.5]), np.array([1.0, 2.0, 3.0]), np.ones(3)
    assert _value(doc) == pytest.approx(np.abs(y - p).sum() / np.abs(y - n).sum(), rel=1e-12)
