"""The predictions' side of a join by key (``--id-col``, issue 21: joins at a few bytes per
key): text keys are read as Arrow arrays and stay so through re-chunking, the lookup and the
bootstrap's identities — no Python object per key — while the numbers, the per-row output
carrying the key and the messages naming keys are those of a pandas merge."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli
from tests.conftest import run_losscli

N = 300


def _ids(n: int, rng: np.random.Generator) -> list[str]:
    """Distinct text keys of several lengths, some not ASCII."""
    stems = ["k", "clé-", "客户", "id_with_a_longer_prefix_"]
    return [f"{stems[i % 4]}{v}" for i, v in enumerate(rng.permutation(10 * n)[:n])]


@pytest.fixture
def frames(tmp_path):
    """preds.parquet (id, pred; row groups of 41 rows, 12 rows whose key no target has) and
    truth.csv (id, target: the other rows in another order); the pandas inner merge."""
    rng = np.random.default_rng(21)
    ids = _ids(N, rng)
    pred = rng.normal(size=N)
    target = 0.5 * pred + rng.normal(0, 0.7, N)
    preds = pd.DataFrame({"id": ids, "pred": pred})
    truth = pd.DataFrame({"id": ids, "target": target}).iloc[12:].sample(frac=1, random_state=3)
    pq.write_table(pa.Table.from_pandas(preds, preserve_index=False), tmp_path / "preds.parquet",
                   row_group_size=41)
    truth.to_csv(tmp_path / "truth.csv", index=False)
    merged = preds.merge(truth, on="id", how="inner")
    return {"dir": tmp_path, "preds": tmp_path / "preds.parquet", "truth": tmp_path / "truth.csv",
            "merged": merged, "preds_frame": preds}


@pytest.mark.parametrize("extra", [["--chunk-size", "1"], ["--chunk-size", "7"], [],
                                   ["--workers", "2", "--chunk-size", "50"]])
def test_string_keys_joined_equal_a_pandas_merge(frames, extra):
    r = run_losscli("eval", frames["preds"], "-t", frames["truth"], "--id-col", "id",
                    "--unmatched", "omit", "-l", "mse", "-l", "mae", "-f", "json", *extra)
    assert r.returncode == 0, r.stderr.decode()
    values = {x["label"]: x["value"] for x in json.loads(r.stdout)["losses"]}
    m = frames["merged"]
    assert values["mse"] == pytest.approx(float(np.mean((m.pred - m.target) ** 2)), rel=1e-12)
    assert values["mae"] == pytest.approx(float(np.mean(np.abs(m.pred - m.target))), rel=1e-12)


def test_messages_and_per_row_output_name_the_keys_as_written(frames):
    extra = ["--workers", "2", "--chunk-size", "7"]
    m = frames["merged"]
    # without --unmatched omit: one line naming the first keys without a target
    r = run_losscli("eval", frames["preds"], "-t", frames["truth"], "--id-col", "id",
                    "-l", "mse", *extra)
    err = r.stderr.decode()
    assert r.returncode == 2 and "Traceback" not in err
    assert "12 prediction rows" in err and repr(frames["preds_frame"].id[0]) in err
    # the per-row output carries the key as written (Python strings only there)
    out = frames["dir"] / "rows.csv"
    r = run_losscli("eval", frames["preds"], "-t", frames["truth"], "--id-col", "id",
                    "--unmatched", "omit", "-l", "mse", "--reduction", "none", "-o", out, *extra)
    assert r.returncode == 0, r.stderr.decode()
    rows = pd.read_csv(out).sort_values("row")
    want = m.set_index("id").loc[rows["id"]]
    assert sorted(rows["id"]) == sorted(m.id)
    np.testing.assert_allclose(rows["mse"], (want.pred - want.target) ** 2, rtol=1e-15)


def test_predictions_text_keys_never_become_python_objects(frames, monkeypatch):
    """Spies on the readers' raw key columns and on every key column the join compares:
    the predictions' ``id`` arrives as Arrow and no object array of keys reaches the
    lookup or the hashes, at chunk sizes that cut the row groups (re-chunking joins
    pieces)."""
    import losscli.io.formats.parquet as parquet
    import losscli.io.join as join
    import losscli.io.keyindex as keyindex

    kinds: list[str] = []
    real_raw = parquet.raw_values

    def raw_values(source, column, array, start):
        out = real_raw(source, column, array, start)
        if str(column) == "id":
            kinds.append("object" if isinstance(out, np.ndarray) and out.dtype.kind == "O"
                         else type(out).__module__.split(".")[0])
        return out

    objects: list[int] = []
    real_hash, real_lookup = keyindex.hash_keys, keyindex.KeyTable.lookup

    def seen(columns):
        objects.extend(len(c) for c in columns
                       if isinstance(c, np.ndarray) and c.dtype.kind == "O")

    def hash_keys(columns):
        seen(columns)
        return real_hash(columns)

    def lookup(self, probe, hashes=None):
        seen(probe)
        return real_lookup(self, probe, hashes)

    monkeypatch.setattr(parquet, "raw_values", raw_values)
    monkeypatch.setattr(join, "hash_keys", hash_keys)
    monkeypatch.setattr(keyindex.KeyTable, "lookup", lookup)
    m = frames["merged"]
    for chunk in (7, 64):
        report = losscli.evaluate(str(frames["preds"]), targets=str(frames["truth"]),
                                  id_col="id", unmatched="omit", losses=["mse"],
                                  chunk_size=chunk, workers=1, ci=True,
                                  ci_method="bootstrap", replicates=40)
        assert report.losses[0].value == pytest.approx(
            float(np.mean((m.pred - m.target) ** 2)), rel=1e-12)
    assert kinds and set(kinds) == {"pyarrow"}, kinds
    assert objects == [], f"object arrays of keys joined: {objects}"
