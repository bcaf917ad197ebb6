"""Rows joined by key (issue 11, ``--id-col``): predictions listed in another order than
the targets give the numbers of the aligned files; keys missing or repeated on either side
are one-line errors naming how many and the first keys (``--unmatched omit`` evaluates the
matched rows and says what it left out); files whose id-like columns disagree row by row
stop without ``--id-col``; the join holds across units, workers, saved parts and the
bootstrap (row identity = the key)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli

N = 1200


@pytest.fixture
def files(tmp_path):
    """truth_by_id.csv (id, target, w), preds aligned (CSV) and shuffled (Parquet with 4 row
    groups, so 4 units), and the aligned rows as one DataFrame."""
    rng = np.random.default_rng(0)
    ids = np.arange(100, 100 + N)
    y = rng.normal(size=N)
    pred = 0.6 * y + rng.normal(0, 0.8, N)
    w = rng.uniform(0.5, 2.0, N)
    truth = pd.DataFrame({"id": ids, "target": y, "w": w})
    truth.to_csv(tmp_path / "truth_by_id.csv", index=False)
    aligned = pd.DataFrame({"id": ids, "pred": pred})
    aligned.to_csv(tmp_path / "preds_aligned.csv", index=False)
    perm = rng.permutation(N)
    shuffled = aligned.iloc[perm].reset_index(drop=True)
    pq.write_table(pa.Table.from_pandas(shuffled, preserve_index=False),
                   tmp_path / "preds_shuffled.parquet", row_group_size=N // 4)
    return {"dir": tmp_path, "truth": tmp_path / "truth_by_id.csv",
            "aligned": tmp_path / "preds_aligned.csv",
            "shuffled": tmp_path / "preds_shuffled.parquet", "frame": truth.assign(pred=pred)}


def _values(stdout: str) -> dict[str, float]:
    return {x["label"]: x["value"] for x in json.loads(stdout)["losses"]}


LOSSES = ["-l", "mse", "-l", "mae", "-l", "r2"]


def test_shuffled_rows_joined_by_id_give_the_aligned_numbers(cli, files):
    aligned = cli("eval", files["aligned"], "-t", files["truth"], *LOSSES, "-f", "json")
    joined = cli("eval", files["shuffled"], "-t", files["truth"], "--id-col", "id", *LOSSES,
                 "-f", "json")
    assert aligned.exit_code == 0 and joined.exit_code == 0, joined.stderr
    a, b = _values(aligned.stdout), _values(joined.stdout)
    assert a.keys() == b.keys()
    for k in a:
        assert b[k] == pytest.approx(a[k], rel=1e-12)
    # the case: without the key the shuffled rows gave r2 < 0 silently; now r2 > 0.1
    assert b["r2"] > 0.1
    doc = json.loads(joined.stdout)
    assert doc["inputs"]["join"] == {"id_col": ["id"], "target_id_col": ["id"],
                                     "targets": N, "matched": N, "unmatched_predictions": 0,
                                     "unmatched_targets": 0}
    assert doc["inputs"]["targets"]["path"] == str(files["truth"])
    table = cli("eval", files["shuffled"], "-t", files["truth"], "--id-col", "id", "-l", "mse")
    assert "joined on id" in table.stdout.splitlines()[-1]


def test_misaligned_id_columns_stop_without_id_col(cli, files):
    r = cli("eval", files["shuffled"], "-t", files["truth"], "-l", "r2")
    assert r.exit_code == 2 and r.stdout == ""
    (line,) = r.stderr.strip().splitlines()
    assert "Rows are not aligned: column 'id'" in line and "--id-col id" in line
    assert "at row 0" in line
    # aligned files with an id column pass the check
    assert cli("eval", files["aligned"], "-t", files["truth"], "-l", "r2").exit_code == 0


def test_keys_missing_on_either_side(cli, files):
    truth = pd.read_csv(files["truth"])
    gaps = pd.concat([truth[truth.id != 105],
                      pd.DataFrame({"id": [9000, 9001], "target": [0.0, 1.0], "w": 1.0})])
    gaps.to_csv(files["dir"] / "gaps.csv", index=False)
    r = cli("eval", files["shuffled"], "-t", files["dir"] / "gaps.csv", "--id-col", "id",
            "-l", "mse")
    assert r.exit_code == 2
    (line,) = r.stderr.strip().splitlines()
    assert "1 prediction row of" in line and "has no target" in line and "first: 105" in line
    assert "2 targets of" in line and "9000" in line and "--unmatched omit" in line
    omit = cli("eval", files["shuffled"], "-t", files["dir"] / "gaps.csv", "--id-col", "id",
               "-l", "mse", "--unmatched", "omit", "-f", "json")
    assert omit.exit_code == 0, omit.stderr
    doc = json.loads(omit.stdout)
    assert doc["rows"] == N - 1
    assert doc["inputs"]["join"]["unmatched_predictions"] == 1
    assert doc["inputs"]["join"]["unmatched_targets"] == 2
    assert "left out 1 prediction row without a target and 2 targets without a prediction" \
        in omit.stderr
    inner = files["frame"].merge(gaps[["id"]], on="id")
    expected = float(np.mean((inner.pred - inner.target) ** 2))
    assert doc["losses"][0]["value"] == pytest.approx(expected, rel=1e-12)


def test_repeated_keys_on_either_side(cli, files):
    truth = pd.read_csv(files["truth"])
    pd.concat([truth, truth.iloc[[3]]]).to_csv(files["dir"] / "dup.csv", index=False)
    r = cli("eval", files["shuffled"], "-t", files["dir"] / "dup.csv", "--id-col", "id")
    assert r.exit_code == 2 and "is not unique in" in r.stderr and "first: '103'" in r.stderr
    preds = pd.read_parquet(files["shuffled"])
    # the repeated prediction in another row group (another unit): judged after the merge
    twice = pd.concat([preds, preds.iloc[[0]]])
    pq.write_table(pa.Table.from_pandas(twice, preserve_index=False),
                   files["dir"] / "twice.parquet", row_group_size=N // 4)
    for workers in ("1", "2"):
        r = cli("eval", files["dir"] / "twice.parquet", "-t", files["truth"], "--id-col", "id",
                "--workers", workers)
        assert r.exit_code == 2, r.stdout
        assert "1 target key is matched by more than one prediction row" in r.stderr


def test_composite_keys_other_names_and_types(cli, tmp_path):
    # a composite key (store, day), named otherwise in the targets; the predictions' store
    # is an integer column, the targets' (CSV) is text: compared as text
    rng = np.random.default_rng(4)
    store = np.repeat([1, 2, 3], 4)
    day = np.tile(["mon", "tue", "wed", "thu"], 3)
    y = rng.normal(size=12)
    pred = y + rng.normal(size=12)
    pd.DataFrame({"shop": store, "date": day, "y": y}).to_csv(tmp_path / "t.csv", index=False)
    order = rng.permutation(12)
    pq.write_table(pa.table({"store": store[order], "day": day[order], "pred": pred[order]}),
                   tmp_path / "p.parquet")
    r = cli("eval", tmp_path / "p.parquet", "-t", tmp_path / "t.csv", "--id-col", "store",
            "--id-col", "day", "--target-id-col", "shop", "--target-id-col", "date",
            "-l", "mse", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["losses"][0]["value"] == pytest.approx(
        float(np.mean((pred - y) ** 2)), rel=1e-12)
    bad = cli("eval", tmp_path / "p.parquet", "-t", tmp_path / "t.csv", "--id-col", "store",
              "--target-id-col", "shop", "--target-id-col", "date")
    assert bad.exit_code == 2 and "one target key column per prediction key" in bad.stderr
    missing = cli("eval", tmp_path / "p.parquet", "-t", tmp_path / "t.csv", "--id-col", "store")
    assert missing.exit_code == 2 and "No key column 'store'" in missing.stderr
    assert "--target-id-col" in missing.stderr


def test_weights_from_the_targets_or_a_weights_file(cli, files):
    frame = files["frame"]
    expected = float(np.average((frame.pred - frame.target) ** 2, weights=frame.w))
    r = cli("eval", files["shuffled"], "-t", files["truth"], "--id-col", "id", "--weight-col",
            "w", "-l", "mse", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert _values(r.stdout)["mse"] == pytest.approx(expected, rel=1e-12)
    wfile = files["dir"] / "weights.csv"
    frame[["id", "w"]].iloc[::-1].to_csv(wfile, index=False)  # another order again
    truth_only = files["dir"] / "truth_only.csv"
    frame[["id", "target"]].to_csv(truth_only, index=False)
    r = cli("eval", files["shuffled"], "-t", truth_only, "--weights", wfile, "--weight-col",
            "w", "--id-col", "id", "-l", "mse", "-f", "json")
    assert r.exit_code == 0, r.stderr
    assert _values(r.stdout)["mse"] == pytest.approx(expected, rel=1e-12)


def test_per_row_output_carries_the_key(cli, files):
    out = files["dir"] / "rows.csv"
    r = cli("eval", files["shuffled"], "-t", files["truth"], "--id-col", "id", "-l", "mse",
            "--reduction", "none", "-o", out)
    assert r.exit_code == 0, r.stderr
    rows = pd.read_csv(out)
    assert list(rows.columns) == ["row", "id", "mse"]
    shuffled = pd.read_parquet(files["shuffled"])
    assert (rows["id"].to_numpy() == shuffled["id"].to_numpy()).all()
    want = files["frame"].set_index("id").loc[rows["id"]]
    np.testing.assert_allclose(rows["mse"], (want.pred - want.target) ** 2, rtol=1e-15)


def test_workers_chunks_and_bootstrap(files):
    common = dict(targets=str(files["truth"]), id_col="id", losses=["mse", "r2"], ci=True,
                  ci_method="bootstrap", replicates=50)
    runs = {(w, c): losscli.evaluate(str(files["shuffled"]), workers=w, chunk_size=c,
                                     **common)
            for w, c in ((1, 300), (2, 300), (1, 7))}
    one, two, small = runs[(1, 300)], runs[(2, 300)], runs[(1, 7)]
    assert [(r.value, r.interval) for r in one.losses] == [(r.value, r.interval)
                                                            for r in two.losses]
    for a, b in zip(one.losses, small.losses):
        assert a.value == pytest.approx(b.value, rel=1e-12)
        assert a.interval["low"] == pytest.approx(b.interval["low"], rel=1e-12)
    # the bootstrap resamples rows by their key: the same intervals in any row order
    aligned = pd.read_csv(files["aligned"])
    aligned.to_parquet(files["dir"] / "aligned.parquet", index=False)
    ordered = losscli.evaluate(str(files["dir"] / "aligned.parquet"), **common)
    for a, b in zip(one.losses, ordered.losses):
        assert a.interval["low"] == pytest.approx(b.interval["low"], rel=1e-12)
        assert a.interval["high"] == pytest.approx(b.interval["high"], rel=1e-12)


def test_saved_parts_merge_and_judge_the_targets_after_the_merge(cli, files):
    preds = pd.read_parquet(files["shuffled"])
    d = files["dir"]
    for i, part in enumerate((preds.iloc[:700], preds.iloc[700:])):
        part.to_parquet(d / f"part{i}.parquet", index=False)
        # each part alone leaves targets without a prediction: judged only when merged
        r = cli("eval", d / f"part{i}.parquet", "-t", files["truth"], "--id-col", "id",
                *LOSSES, "--save-state", d / f"{i}.state", "-q")
        assert r.exit_code == 0, r.stderr
    merged = cli("merge", d / "1.state", d / "0.state", "-f", "json")
    assert merged.exit_code == 0, merged.stderr
    whole = cli("eval", files["shuffled"], "-t", files["truth"], "--id-col", "id", *LOSSES,
                "-f", "json")
    for k, v in _values(whole.stdout).items():
        assert _values(merged.stdout)[k] == pytest.approx(v, rel=1e-12)
    assert json.loads(merged.stdout)["inputs"]["join"]["matched"] == N
    alone = cli("merge", d / "0.state")
    assert alone.exit_code == 2 and "500 targets of" in alone.stderr
    assert "no prediction" in alone.stderr
    again = cli("merge", d / "0.state", d / "0.state")
    assert again.exit_code == 2


def test_id_col_needs_a_targets_file(cli, files):
    r = cli("eval", files["truth"], "--id-col", "id", "--pred-col", "w", "-l", "mse")
    assert r.exit_code == 2 and "--targets FILE" in r.stderr
    r = cli("eval", files["aligned"], "--target-id-col", "id", "-t", files["truth"])
    assert r.exit_code == 2 and "--id-col too" in r.stderr


@pytest.mark.parametrize("name,id_like", [("id", True), ("user_id", True), ("Sample-ID", True),
                                          ("key", True), ("uuid", True), ("row_id", True),
                                          ("id_customer", True), ("order_key", True),
                                          ("paid", False), ("valid", False), ("width", False),
                                          ("idx_score", False)])
def test_which_columns_look_like_ids(name, id_like):
    from losscli.io.binding import ID_LIKE

    assert bool(ID_LIKE.search(name.lower())) is id_like


def test_the_readme_shuffled_sample_stops_and_joins(cli, samples):
    args = [samples / "preds_by_id.parquet", "-t", samples / "truth_by_id.csv", "-l", "r2"]
    r = cli("eval", *args)
    assert r.exit_code == 2 and "--id-col user_id" in r.stderr
    aligned = losscli.evaluate(str(samples / "segments.parquet"), losses=["r2"])
    joined = cli("eval", *args, "--id-col", "user_id", "-f", "json")
    assert _values(joined.stdout)["r2"] == pytest.approx(aligned["r2"], rel=1e-12)


def test_labels_as_written_in_a_joined_targets_file(cli, samples, tmp_path):
    # yes/no labels in the targets file, predictions in another order: joined by key, the
    # labels mapped as in one aligned file
    frame = pd.read_csv(samples / "yes_no.csv").assign(id=lambda d: np.arange(len(d)))
    frame[["id", "churned"]].to_csv(tmp_path / "truth.csv", index=False)
    shuffled = frame.drop(columns=["churned"]).sample(frac=1.0, random_state=3)
    shuffled.to_parquet(tmp_path / "preds.parquet", index=False)
    aligned = cli("eval", samples / "yes_no.csv", "--target-col", "churned", "-l", "bce",
                  "-l", "f1", "-f", "json")
    joined = cli("eval", tmp_path / "preds.parquet", "-t", tmp_path / "truth.csv",
                 "--target-col", "churned", "--id-col", "id", "-l", "bce", "-l", "f1",
                 "-f", "json")
    assert joined.exit_code == 0, joined.stderr
    for k, v in _values(aligned.stdout).items():
        assert _values(joined.stdout)[k] == pytest.approx(v, rel=1e-12)
    assert json.loads(joined.stdout)["inputs"]["pos_label"] == "yes"
