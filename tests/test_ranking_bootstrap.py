"""--ci for average precision and the operating points by the per-score bootstrap (issue 23
item 3): each replicate draws Poisson(neg(s)), Poisson(pos(s)) per distinct score from the
exact counts (:mod:`losscli.stats.score_bootstrap`). The replicate metric at the original
counts equals scikit-learn's; coverage by simulation (binomial tolerance) for AP and
precision_at_recall; the same bits at chunk sizes 1, 7 and the default, with 2 workers and
after ``losscli merge`` (group gaps included); the budget's n/a in the table row; rows
weighted other than 0/1 n/a with the reason. Also DeLong's degenerate interval at AUC 1 is
noted in the row, and the paired gate of a confusion metric judges on its paired interval."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    average_precision_score,
    f1_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)

import losscli
from losscli.stats.score_bootstrap import BUDGET, replicate_metric
from losscli.stats.score_counts import ScoreCounts
from tests.conftest import run_losscli


def _data(seed: int, n: int, shift: float = 0.8, digits: int = 1):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.4).astype(int)
    return y, np.round(rng.normal(shift * y, 1.0), digits)


# -- the replicate metric at the original counts is scikit-learn's ----------------------------
@pytest.mark.parametrize("seed", range(6))
def test_the_replicate_metric_at_the_original_counts_equals_sklearn(seed):
    y, s = _data(seed, 300, digits=1 if seed % 2 else 2)
    c = ScoreCounts()
    c.add(s, y == 1)
    c.compact()
    keys, neg, pos = c.keys, c.neg[None, :], c.pos[None, :]

    def rep(metric, level=math.nan, cost_fn=0.0):
        return float(replicate_metric(keys, neg, pos, metric, level, cost_fn)[0])

    assert rep("average_precision") == pytest.approx(average_precision_score(y, s), abs=1e-12)
    assert rep("roc_auc") == pytest.approx(roc_auc_score(y, s), abs=1e-12)
    precision, recall, _ = precision_recall_curve(y, s, drop_intermediate=False)
    for r in (0.1, 0.5, 0.9):
        assert rep("precision_at_recall", r) == pytest.approx(
            precision[recall >= r].max(), abs=1e-12)
    for q in (0.5, 0.7):
        ok = precision[:-1] >= q  # without sklearn's appended end point (1, 0)
        want = recall[:-1][ok].max() if ok.any() else math.nan
        assert rep("recall_at_precision", q) == pytest.approx(want, abs=1e-12, nan_ok=True)
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    for f in (0.05, 0.2):
        i = np.flatnonzero(fpr <= f)
        k = i[np.argmax(tpr[i])]
        assert rep("threshold_at_fpr", f) == (thr[k] if tpr[k] > 0 else pytest.approx(math.nan,
                                                                                     nan_ok=True))
    p, n = y.sum(), (1 - y).sum()
    costs = 1.0 * fpr * n + 2.0 * (1 - tpr) * p  # roc_curve starts at "predict nothing"
    assert rep("expected_cost", 1.0, 2.0) == pytest.approx(costs.min() / len(y), abs=1e-12)


# -- coverage by simulation --------------------------------------------------------------------
def _population(shift: float, prevalence: float = 0.4):
    """Per rounded score (one decimal), the probability of a negative and a positive row."""
    grid = np.round(np.arange(-6.0, 7.0, 0.1), 1)
    cdf = NormalDist().cdf

    def mass(mu):
        return np.array([cdf(g + 0.05 - mu) - cdf(g - 0.05 - mu) for g in grid])

    return grid, (1 - prevalence) * mass(0.0), prevalence * mass(shift)


def test_coverage_of_average_precision_and_precision_at_recall():
    grid, pn, pp = _population(0.8)
    ys = np.r_[np.zeros(grid.size), np.ones(grid.size)]
    ss, ws = np.r_[grid, grid], np.r_[pn, pp]
    truth_ap = average_precision_score(ys, ss, sample_weight=ws)
    precision, recall, _ = precision_recall_curve(ys, ss, sample_weight=ws)
    truth_par = precision[recall >= 0.5].max()
    datasets, hits_ap, hits_par = 150, 0, 0
    rng = np.random.default_rng(11)
    for i in range(datasets):
        y = (rng.uniform(size=600) < 0.4).astype(int)
        s = np.round(rng.normal(0.8 * y, 1.0), 1)
        report = losscli.evaluate(predictions=s, targets=y, task="binary", ci=True, seed=i,
                                  losses=["average_precision",
                                          "precision_at_recall:min_recall=0.5"])
        ap, par = (r.interval for r in report.losses)
        assert ap["resampling"] == "scores" and ap["method"] == "percentile", ap
        hits_ap += ap["low"] <= truth_ap <= ap["high"]
        hits_par += par["low"] <= truth_par <= par["high"]
    # 95% nominal: 3 binomial standard deviations below (150 datasets: 0.053)
    tol = 3 * math.sqrt(0.95 * 0.05 / datasets)
    assert hits_ap / datasets >= 0.95 - tol, hits_ap
    assert hits_par / datasets >= 0.95 - tol, hits_par
    assert hits_ap / datasets <= 1.0 and hits_par < datasets  # not a degenerate interval


# -- the same bits at any chunking, workers and merges -----------------------------------------
LOSSES = ["-l", "average_precision", "-l", "precision_at_recall:min_recall=0.6",
          "-l", "threshold_at_fpr:fpr=0.1", "-l", "expected_cost:cost_fp=1,cost_fn=3",
          "-l", "roc_auc"]


def _intervals(doc: dict) -> list:
    out = [(r["name"], r["interval"]["low"], r["interval"]["high"],
            r["interval"].get("resampling")) for r in doc["losses"]]
    for g in doc.get("groups") or []:
        out += [(tuple(g["key"].values()), r["name"], r["interval"]["low"],
                 r["interval"]["high"]) for r in g["losses"]]
    out += [(r["name"], "gap", r["group_gap"]["interval"]["low"],
             r["group_gap"]["interval"]["high"]) for r in doc["losses"]]
    return out


def _run(*args) -> dict:
    proc = run_losscli(*args)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def test_the_same_bits_at_any_chunk_size_worker_count_and_merge(tmp_path):
    y, s = _data(4, 300, digits=2)
    g = np.random.default_rng(4).choice(np.array(["web", "shop"]), y.size)
    root = tmp_path / "all"
    root.mkdir()
    df = pd.DataFrame({"pred": s, "target": y, "g": g})
    df.iloc[:120].to_csv(root / "a.csv", index=False)
    df.iloc[120:].to_csv(root / "b.csv", index=False)
    common = [*LOSSES, "--task", "binary", "--ci", "--ci-method", "bootstrap", "--group-by", "g",
              "--group-gap", "difference", "--replicates", "80", "--seed", "7", "-f", "json"]
    runs = [_run("eval", root, *common, *chunk) for chunk in
            ([], ["--chunk-size", "1"], ["--chunk-size", "7"],
             ["--chunk-size", "50", "--workers", "2"])]
    for part in ("a", "b"):
        proc = run_losscli("eval", root / f"{part}.csv", *common, "--chunk-size", "13",
                           "--save-state", tmp_path / f"{part}.state", "-q")
        assert proc.returncode == 0, proc.stderr.decode()
    runs.append(_run("merge", tmp_path / "b.state", tmp_path / "a.state", "-f", "json"))
    first = _intervals(runs[0])
    for other in runs[1:]:
        assert _intervals(other) == first
    for r in runs[0]["losses"]:  # every one has an interval, its gap too (joint replicates)
        assert r["interval"]["resampling"] == "scores", r
        assert r["interval"]["low"] <= r["value"] <= r["interval"]["high"], r
        assert r["group_gap"]["interval"]["low"] is not None, r
    # another seed draws other replicates
    other = _run("eval", root, *common[:-4], "--seed", "8", "-f", "json")
    assert _intervals(other) != first


# -- the budget, and weights ------------------------------------------------------------------
def test_the_budget_gives_n_a_with_the_fix_in_the_table_row(tmp_path):
    distinct = 2001
    assert distinct * 100_000 > BUDGET
    rng = np.random.default_rng(2)
    y = rng.integers(0, 2, distinct)
    path = tmp_path / "many.csv"
    pd.DataFrame({"pred": np.arange(distinct) / distinct, "target": y}).to_csv(path, index=False)
    proc = run_losscli("eval", path, "-l", "average_precision", "--ci", "--replicates",
                       "100000", env={"COLUMNS": "250"})
    assert proc.returncode == 0, proc.stderr.decode()
    row = next(x for x in proc.stdout.decode().splitlines() if "average_precision" in x)
    assert "n/a" in row and "budget" in row and "--auc-bins" in row, row
    # binned, the same data is within the budget: an interval per bin draw
    doc = _run("eval", path, "-l", "average_precision:bins=100", "--ci", "-f", "json")
    iv = doc["losses"][0]["interval"]
    assert iv["low"] is not None and iv["resampling"] == "scores", iv


def test_rows_weighted_other_than_0_or_1_give_n_a_with_the_reason(tmp_path):
    y, s = _data(3, 200)
    w = np.where(np.arange(y.size) % 5 == 0, 2.0, 1.0)
    path = tmp_path / "w.csv"
    pd.DataFrame({"pred": s, "target": y, "w": w}).to_csv(path, index=False)
    doc = _run("eval", path, "-l", "average_precision", "--ci", "--weight-col", "w",
               "-f", "json")
    iv = doc["losses"][0]["interval"]
    assert iv["low"] is None and "weights other than 0 or 1" in iv["reason"], iv
    pd.DataFrame({"pred": s, "target": y, "w": (w == 1).astype(float)}).to_csv(path,
                                                                                index=False)
    iv = _run("eval", path, "-l", "average_precision", "--ci", "--weight-col", "w",
              "-f", "json")["losses"][0]["interval"]
    assert iv["low"] is not None, iv  # weights 0/1: rows dropped or kept, still counts


# -- DeLong's degenerate interval ---------------------------------------------------------------
def test_delong_at_auc_one_is_noted_as_degenerate_in_the_row(tmp_path):
    y = np.r_[np.zeros(20, int), np.ones(15, int)]
    s = np.r_[np.linspace(0, 0.4, 20), np.linspace(0.6, 1, 15)]
    assert roc_auc_score(y, s) == 1.0
    path = tmp_path / "sep.csv"
    pd.DataFrame({"pred": s, "target": y}).to_csv(path, index=False)
    iv = _run("eval", path, "-l", "roc_auc", "--ci", "-f", "json")["losses"][0]["interval"]
    assert (iv["low"], iv["high"], iv["method"]) == (1.0, 1.0, "delong")
    assert "degenerate" in iv["reason"] and "every positive" in iv["reason"], iv
    proc = run_losscli("eval", path, "-l", "roc_auc", "--ci", env={"COLUMNS": "250"})
    row = next(x for x in proc.stdout.decode().splitlines() if "roc_auc" in x)
    assert "[1, 1]" in row and "degenerate" in row, row


# -- the paired gate of a confusion metric judges on its paired interval -----------------------
def test_the_paired_gate_of_f1_uses_the_paired_interval(tmp_path):
    rng = np.random.default_rng(8)
    n = 1500
    y = rng.integers(0, 2, n)
    good = np.where(rng.uniform(size=n) < 0.9, y, 1 - y)
    worse = np.where(rng.uniform(size=n) < 0.84, y, 1 - y)
    path = tmp_path / "gate.csv"
    pd.DataFrame({"pred": np.where(worse == 1, 0.8, 0.2), "ref": np.where(good == 1, 0.8, 0.2),
                  "target": y}).to_csv(path, index=False)
    change = f1_score(y, worse) - f1_score(y, good)
    assert change < -0.03

    def gate(atol: float):
        proc = run_losscli("check", path, "--reference-col", "ref", "--loss", "f1",
                           "--atol", f"{atol:.6f}", "-f", "json")
        return proc.returncode, json.loads(proc.stdout)["checks"][0]

    code, check = gate(0.0)
    assert code == 1 and check["p_value"] < 0.05, check
    low, high = check["diff_interval"]
    assert low < change < high < 0, check
    assert check["change"] == pytest.approx(change, abs=1e-12)
    # an allowance between the interval's near end and the change: the change alone would
    # fail, the whole interval is not beyond it — it passes
    code, check = gate((-high - change) / 2)
    assert code == 0, check
    code, check = gate(-high * 0.5)  # the whole interval beyond the allowance: fails
    assert code == 1 and "whole interval of the difference" in " ".join(check["reasons"]), check


# -- paired tests of average precision and an operating point (compare, check) -----------------
def _two_models(seed: int, n: int, shift_a: float, shift_b: float):
    rng = np.random.default_rng(seed)
    y = (rng.uniform(size=n) < 0.4).astype(int)
    common = rng.normal(0, 0.7, n)  # the models share part of their noise: a paired design
    a = np.round(shift_a * y + common + rng.normal(0, 0.7, n), 1)
    b = np.round(shift_b * y + common + rng.normal(0, 0.7, n), 1)
    return y, a, b


def test_the_paired_replicate_at_the_original_counts_is_the_difference_of_sklearns():
    from losscli.stats.paired_delong import PairedScores
    from losscli.stats.paired_ranking import _counts, _per_score

    y, a, b = _two_models(2, 300, 1.0, 0.6)
    pairs = PairedScores()
    pairs.update(a, b, y)
    triples = np.stack([a, b, y.astype(float)], axis=1)
    uniq, counts = np.unique(triples, axis=0, return_counts=True)
    draws = counts[None, :].astype(float)  # "replicate = the original counts"
    got = []
    for col in (0, 1):
        keys, idx, positive = _per_score(uniq[:, col], uniq[:, 2])
        got.append(replicate_metric(keys, *_counts(draws, idx, positive, keys.size),
                                    "average_precision")[0])
    assert got[0] == pytest.approx(average_precision_score(y, a), abs=1e-12)
    assert got[1] == pytest.approx(average_precision_score(y, b), abs=1e-12)


def test_compare_gives_average_precision_a_paired_test_the_same_at_any_chunking(tmp_path):
    y, a, b = _two_models(3, 600, 1.2, 0.5)
    path = tmp_path / "two.csv"
    pd.DataFrame({"a": a, "b": b, "target": y}).to_csv(path, index=False)
    args = ["compare", path, "--pred-col", "a", "--pred-col", "b", "-l", "average_precision",
            "-l", "threshold_at_fpr:fpr=0.2", "--seed", "4", "-f", "json"]
    runs = [_run(*args, *extra) for extra in ([], ["--chunk-size", "7"],
                                             ["--chunk-size", "50", "--workers", "2"])]
    rows = {r["name"]: r for r in runs[0]["losses"]}
    ap = rows["average_precision"]
    want = average_precision_score(y, b) - average_precision_score(y, a)
    assert ap["diff"]["b"] == pytest.approx(want, abs=1e-12)
    low, high = ap["diff_interval"]["b"]
    assert low < want < high < 0 and ap["p_value"]["b"] < 0.05 and ap["verdict"]["b"] == "worse"
    assert rows["threshold_at_fpr"]["diff_interval"]["b"] is not None
    for other in runs[1:]:
        assert [(r["diff_interval"], r["p_value"]) for r in other["losses"]] == [
            (r["diff_interval"], r["p_value"]) for r in runs[0]["losses"]]
    # the table row carries the marker (a paired test ran), not "no paired test"
    proc = run_losscli(*args[:-2], env={"COLUMNS": "250"})
    line = next(x for x in proc.stdout.decode().splitlines() if "average_precision" in x)
    assert "worse" in line and "no paired test" not in line, line


def test_the_paired_test_of_average_precision_rarely_alarms_on_equal_models():
    alarms, datasets = 0, 60
    for i in range(datasets):
        y, a, b = _two_models(100 + i, 300, 0.8, 0.8)
        got = losscli.compare({"a": a, "b": b}, y, losses=["average_precision"], seed=i,
                              task="binary")
        row = got.to_dict()["losses"][0]
        alarms += row["p_value"]["b"] < 0.05
    # 5% nominal: at most 3 binomial standard deviations above (60 datasets: 0.084)
    assert alarms / datasets <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / datasets), alarms


def test_check_reference_col_gates_average_precision_on_its_paired_interval(tmp_path):
    y, a, b = _two_models(5, 600, 1.2, 0.5)
    path = tmp_path / "gate.csv"
    pd.DataFrame({"pred": b, "ref": a, "target": y}).to_csv(path, index=False)
    proc = run_losscli("check", path, "--reference-col", "ref", "-l", "average_precision",
                       "-f", "json")
    assert proc.returncode == 1, proc.stderr.decode()
    check = json.loads(proc.stdout)["checks"][0]
    assert check["p_value"] < 0.05 and check["diff_interval"][1] < 0, check
    w = tmp_path / "w.csv"
    pd.DataFrame({"pred": b, "ref": a, "target": y,
                  "w": np.where(np.arange(y.size) % 4 == 0, 2.0, 1.0)}).to_csv(w, index=False)
    proc = run_losscli("check", w, "--reference-col", "ref", "-l", "average_precision",
                       "--weight-col", "w", "-f", "json")
    check = json.loads(proc.stdout)["checks"][0]
    assert check.get("p_value") is None and any("weights other than 0 or 1" in x
                                            for x in check["notes"]), check
