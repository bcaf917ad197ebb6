"""--group-by meets --id-col: a group column that only the targets' file holds is read
there and joined by key with the targets, so per-group values equal pandas' merge +
scikit-learn at any chunk size and worker count, with --unmatched omit and in compare."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, log_loss, mean_squared_error

from tests.conftest import run_losscli

N = 600


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("joingroups")
    rng = np.random.default_rng(3)
    ids = np.array([f"id-{i:05d}" for i in range(N)])
    y = rng.normal(size=N)
    truth = pd.DataFrame({"id": ids, "target": y,
                          "region": rng.choice(["east", "west", "north"], size=N),
                          "tier": rng.integers(0, 3, size=N)})
    preds = pd.DataFrame({"id": ids, "pred": y + rng.normal(scale=0.5, size=N),
                          "other": y + rng.normal(scale=0.7, size=N)})
    preds = preds.sample(frac=1, random_state=1).reset_index(drop=True)  # another row order
    truth.to_csv(folder / "truth.csv", index=False)
    preds.to_parquet(folder / "preds.parquet", index=False)
    preds.drop(columns="pred").rename(columns={"other": "pred"}).sample(
        frac=1, random_state=2).to_parquet(folder / "other.parquet", index=False)
    # a labels case: text labels and probabilities, the group in the targets' file
    p = rng.uniform(0.01, 0.99, size=N)
    lab = np.where(rng.uniform(size=N) < p, "yes", "no")
    pd.DataFrame({"id": ids, "label": lab, "channel": rng.choice(["web", "app"], size=N)}).to_csv(
        folder / "labels.csv", index=False)
    pd.DataFrame({"id": ids, "p_yes": p}).sample(frac=1, random_state=4).to_parquet(
        folder / "probs.parquet", index=False)
    return folder, truth, preds


def _groups(doc: dict, key: str) -> dict:
    return {g["key"][key]: {x["label"]: x["value"] for x in g["losses"]} for g in doc["groups"]}


@pytest.mark.parametrize(("chunk", "workers"), [("7", "1"), ("100000", "2")])
@pytest.mark.parametrize("key", ["region", "tier"])
def test_group_column_of_the_targets_file_equals_pandas(files, chunk, workers, key):
    folder, truth, preds = files
    proc = run_losscli("eval", folder / "preds.parquet", "--targets", folder / "truth.csv",
                       "--id-col", "id", "--group-by", key, "--loss", "mse", "--format",
                       "json", "--chunk-size", chunk, "--workers", workers)
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    merged = preds.merge(truth, on="id")
    # CSV keys are read as written (text), as everywhere in losscli
    want = {str(k): mean_squared_error(g.target, g.pred) for k, g in merged.groupby(key)}
    got = _groups(doc, key)
    assert set(got) == set(want)
    for k, value in want.items():
        assert got[k]["mse"] == pytest.approx(value, rel=1e-12)
        rows = next(g["rows"] for g in doc["groups"] if g["key"][key] == k)
        assert rows == int((merged[key].astype(str) == k).sum())


def test_unmatched_omit_drops_the_rows_from_their_groups(files, tmp_path):
    folder, truth, preds = files
    fewer = truth.iloc[: N - 50]
    fewer.to_csv(tmp_path / "fewer.csv", index=False)
    proc = run_losscli("eval", folder / "preds.parquet", "--targets", tmp_path / "fewer.csv",
                       "--id-col", "id", "--unmatched", "omit", "--group-by", "region",
                       "--loss", "mse", "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    merged = preds.merge(fewer, on="id")
    want = {k: mean_squared_error(g.target, g.pred) for k, g in merged.groupby("region")}
    got = _groups(json.loads(proc.stdout), "region")
    assert {k: v["mse"] for k, v in got.items()} == pytest.approx(want, rel=1e-12)


def test_text_labels_grouped_by_a_column_of_the_labels_file(files):
    folder, _, _ = files
    proc = run_losscli("eval", folder / "probs.parquet", "--targets", folder / "labels.csv",
                       "--id-col", "id", "--target-col", "label", "--pos-label", "yes",
                       "--group-by", "channel", "--loss", "accuracy", "--loss", "log_loss",
                       "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    merged = pd.read_parquet(folder / "probs.parquet").merge(
        pd.read_csv(folder / "labels.csv"), on="id")
    got = _groups(json.loads(proc.stdout), "channel")
    for k, g in merged.groupby("channel"):
        y = (g.label == "yes").to_numpy()
        assert got[k]["accuracy"] == pytest.approx(accuracy_score(y, g.p_yes >= 0.5), rel=1e-12)
        assert got[k]["bce"] == pytest.approx(log_loss(y, g.p_yes), rel=1e-12)


def test_compare_models_in_files_of_their_own_grouped_by_the_targets_column(files):
    folder, truth, preds = files
    proc = run_losscli("compare", f"a={folder / 'preds.parquet'}",
                       f"b={folder / 'other.parquet'}", "--targets", folder / "truth.csv",
                       "--id-col", "id", "--group-by", "region", "--loss", "mse",
                       "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    other = pd.read_parquet(folder / "other.parquet").merge(truth, on="id")
    mine = preds.merge(truth, on="id")
    for g in doc["groups"]:
        k = g["key"]["region"]
        values = g["losses"][0]["values"]
        a, b = mine[mine.region == k], other[other.region == k]
        assert values["a"] == pytest.approx(mean_squared_error(a.target, a.pred), rel=1e-12)
        assert values["b"] == pytest.approx(mean_squared_error(b.target, b.pred), rel=1e-12)


def test_a_group_column_found_nowhere_names_both_files(files):
    folder, _, _ = files
    proc = run_losscli("eval", folder / "preds.parquet", "--targets", folder / "truth.csv",
                       "--id-col", "id", "--group-by", "nope", "--loss", "mse")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "nope" in err and "Traceback" not in err
