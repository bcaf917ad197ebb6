"""Analytic intervals for the classification metrics (issue 23 item 3, issue 21 "intervals
that cost little"): DeLong's interval for ROC-AUC from the exact per-score counts (checked
against a textbook DeLong over the raw arrays, written here, and scikit-learn's AUC; its
coverage by simulation), Wilson's interval for precision/recall/specificity/npv on the
right subset of rows (statsmodels), the same bits across chunk sizes and workers, and the
reason beside ``n/a`` in the table where a metric still has no interval or paired test."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import losscli
from losscli.stats.ranking import Ranking, delong_se
from losscli.uncertainty import CIConfig, Uncertainty
from tests.conftest import run_losscli

Z = NormalDist().inv_cdf(0.975)


def textbook_delong(y: np.ndarray, s: np.ndarray) -> tuple[float, float]:
    """DeLong, DeLong & Clarke-Pearson (1988) over the raw arrays, O(m·n): ψ(X, Y) = 1 if
    X > Y, ½ if X = Y, 0 else (X a positive's score, Y a negative's); V10(X_i) = mean_j ψ,
    V01(Y_j) = mean_i ψ; S10, S01 their sample variances; Var = S10/m + S01/n."""
    x, yy = s[y == 1], s[y == 0]
    psi = (x[:, None] > yy[None, :]) + 0.5 * (x[:, None] == yy[None, :])
    auc = psi.mean()
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    s10 = np.sum((v10 - auc) ** 2) / (len(x) - 1)
    s01 = np.sum((v01 - auc) ** 2) / (len(yy) - 1)
    return float(auc), math.sqrt(s10 / len(x) + s01 / len(yy))


def _data(seed: int, n: int = 120, ties: bool = True) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = rng.normal(0, 1, n) + 0.8 * y
    if ties:
        s = np.round(s, 1)  # many tied scores, across the classes too
    return y, s


@pytest.mark.parametrize("seed", range(6))
def test_delong_se_equals_the_textbook_formula_over_the_raw_rows(seed):
    y, s = _data(seed, ties=seed % 2 == 0)
    auc, se = textbook_delong(y, s)
    report = losscli.evaluate(predictions=s, targets=y, losses=["roc_auc"], ci=True)
    res = report.result("roc_auc")
    assert res.value == pytest.approx(roc_auc_score(y, s), rel=1e-15)
    assert res.value == pytest.approx(auc, rel=1e-12)
    iv = res.interval
    assert iv["method"] == "delong"
    # the plain normal interval on the AUC scale (pROC's ci.auc(method="delong")), clipped
    assert iv["low"] == pytest.approx(max(auc - Z * se, 0.0), rel=1e-9)
    assert iv["high"] == pytest.approx(min(auc + Z * se, 1.0), rel=1e-9)


def test_delong_se_from_counts_with_integer_weights_is_the_replicated_rows():
    y, s = _data(7, n=60)
    w = np.random.default_rng(8).integers(1, 4, y.size)
    state = Ranking()
    state.update(s, y, w.astype(np.float64))
    _, se, why = state.roc_auc_se()
    assert why is None
    assert se == pytest.approx(textbook_delong(np.repeat(y, w), np.repeat(s, w))[1], rel=1e-12)
    # too few of a class: undefined, with the reason
    assert math.isnan(delong_se(np.array([3.0]), np.array([1.0]))[0])


def test_delong_interval_covers_the_true_auc_95_percent_of_the_time():
    # binormal: negatives N(0, 1), positives N(μ, 1): AUC = Φ(μ/√2)
    mu, datasets = 1.0, 300
    truth = NormalDist().cdf(mu / math.sqrt(2))
    rng = np.random.default_rng(21)
    hits = 0
    for _ in range(datasets):
        y = np.repeat([0, 1], [70, 50])
        s = rng.normal(0, 1, y.size) + mu * y
        iv = losscli.evaluate(predictions=s, targets=y, losses=["roc_auc"],
                              ci=True).losses[0].interval
        hits += iv["low"] <= truth <= iv["high"]
    assert 0.92 <= hits / datasets <= 0.98, hits / datasets


def test_multiclass_macro_interval_is_the_bound_of_the_per_class_delong(tmp_path):
    rng = np.random.default_rng(3)
    n, c = 150, 3
    y = rng.integers(0, c, n)
    logits = rng.normal(0, 1, (n, c)) + 1.2 * np.eye(c)[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    report = losscli.evaluate(predictions=p, targets=y, losses=["roc_auc"], ci=True,
                              task="multiclass")
    res = report.losses[0]
    assert res.value == pytest.approx(roc_auc_score(y, p, multi_class="ovr"), rel=1e-12)
    se = np.mean([textbook_delong((y == k).astype(int), p[:, k])[1] for k in range(c)])
    assert res.interval["method"] == "delong"
    assert res.interval["low"] == pytest.approx(res.value - Z * se, rel=1e-9)
    assert res.interval["high"] == pytest.approx(min(res.value + Z * se, 1.0), rel=1e-9)


@pytest.fixture(scope="module")
def binary_file(tmp_path_factory):
    rng = np.random.default_rng(11)
    n = 3000
    y = rng.integers(0, 2, n)
    p = 1 / (1 + np.exp(-(rng.normal(0, 1, n) + 1.1 * (2 * y - 1))))
    p = np.round(p, 3)
    path = tmp_path_factory.mktemp("delong") / "scores.csv"
    pd.DataFrame({"pred": p, "target": y}).to_csv(path, index=False)
    return path, y, p


def test_delong_and_wilson_are_the_same_bits_at_any_chunk_size_and_worker_count(binary_file):
    path, _, _ = binary_file
    losses = ["roc_auc", "precision", "recall", "specificity", "npv"]
    seen = set()
    for chunk, workers in ((3000, 1), (97, 1), (500, 2), (7, 2)):
        rep = losscli.evaluate(str(path), losses=losses, ci=True, chunk_size=chunk,
                               workers=workers)
        seen.add(tuple((r.interval["low"].hex(), r.interval["high"].hex(),
                        r.interval["method"]) for r in rep.losses))
    assert len(seen) == 1, seen


def test_cli_roc_auc_ci_prints_a_delong_interval(binary_file):
    path, y, p = binary_file
    proc = run_losscli("eval", path, "--loss", "roc_auc", "--ci", "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    (res,) = doc["losses"]
    auc, se = textbook_delong(y, p)
    assert res["value"] == pytest.approx(roc_auc_score(y, p), rel=1e-15)
    assert res["interval"]["method"] == "delong"
    assert res["interval"]["low"] == pytest.approx(auc - Z * se, rel=1e-9)
    assert res["interval"]["high"] == pytest.approx(auc + Z * se, rel=1e-9)
    table = run_losscli("eval", path, "--loss", "roc_auc", "--ci", env={"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr.decode()
    line = next(x for x in table.stdout.decode().splitlines() if "roc_auc" in x)
    assert f"{auc - Z * se:.4f}"[:5] in line and "n/a" not in line


@pytest.mark.parametrize("metric", ["precision", "recall", "specificity", "npv"])
def test_wilson_for_precision_recall_is_on_the_right_subset(binary_file, metric):
    from statsmodels.stats.proportion import proportion_confint

    path, y, p = binary_file
    pred = (p >= 0.5).astype(int)
    subset, hit = {"precision": (pred == 1, y == 1), "recall": (y == 1, pred == 1),
                   "specificity": (y == 0, pred == 0), "npv": (pred == 0, y == 0)}[metric]
    count, nobs = int(np.sum(hit & subset)), int(np.sum(subset))
    lo, hi = proportion_confint(count, nobs, alpha=0.05, method="wilson")
    proc = run_losscli("eval", path, "--loss", metric, "--ci", "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    (res,) = json.loads(proc.stdout)["losses"]
    assert res["value"] == pytest.approx(count / nobs, rel=1e-12)
    assert res["interval"]["method"] == "wilson"
    assert res["interval"]["n_eff"] == nobs
    assert res["interval"]["low"] == pytest.approx(lo, rel=1e-9)
    assert res["interval"]["high"] == pytest.approx(hi, rel=1e-9)


def test_bootstrap_method_still_gives_precision_a_percentile_interval(binary_file):
    path, _, _ = binary_file
    rep = losscli.evaluate(str(path), losses=["precision", "roc_auc"], ci=True,
                           ci_method="bootstrap", replicates=100)
    assert rep.result("precision").interval["method"] == "percentile"
    # roc_auc under --ci-method bootstrap: the per-score bootstrap (DeLong's by default)
    assert rep.result("roc_auc").interval["method"] == "percentile"
    assert rep.result("roc_auc").interval["resampling"] == "scores"


def test_no_interval_says_why_in_the_table_row(binary_file):
    path, _, _ = binary_file
    # binary AP has the per-score bootstrap now; with rows weighted other than 0/1 it has none
    weighted = path.parent / "weighted.csv"
    df = pd.read_csv(path)
    df.assign(w=np.where(np.arange(len(df)) % 3 == 0, 2.0, 1.0)).to_csv(weighted, index=False)
    proc = run_losscli("eval", weighted, "--loss", "average_precision", "--loss", "roc_auc",
                       "--ci", "--weight-col", "w", env={"COLUMNS": "250"})
    assert proc.returncode == 0, proc.stderr.decode()
    line = next(x for x in proc.stdout.decode().splitlines()
                if x.split("|")[0].strip().startswith("average_precision"))
    assert "n/a" in line and "weights other than 0 or 1" in line


def test_compare_average_precision_row_says_there_is_no_paired_test(binary_file, tmp_path):
    # roc_auc has DeLong's paired test (tests/test_paired_delong.py), exact average precision
    # the paired bootstrap (tests/test_ranking_bootstrap.py); binned average precision none
    _, y, p = binary_file
    rng = np.random.default_rng(4)
    two = tmp_path / "two.csv"
    pd.DataFrame({"a": p, "b": np.clip(p + rng.normal(0, 0.1, p.size), 0, 1),
                  "target": y}).to_csv(two, index=False)
    proc = run_losscli("compare", two, "--pred-col", "a", "--pred-col", "b", "--loss",
                       "average_precision:bins=100", "--loss", "accuracy",
                       env={"COLUMNS": "250"})
    assert proc.returncode == 0, proc.stderr.decode()
    line = next(x for x in proc.stdout.decode().splitlines()
                if x.split("|")[0].strip().startswith("average_precision"))
    assert "no paired test: see below" in line  # the reason under the table, once
    notes = [x for x in proc.stdout.decode().splitlines()
             if x.startswith("· average_precision(bins=100): no paired test for average_precision")]
    assert len(notes) == 1
    assert line.split("|")[-1].strip() == "—"  # best: no test to say it (not "~", noise)


def test_old_saved_roc_auc_interval_state_still_loads_and_merges():
    ci = CIConfig()
    old = Uncertainty("none", ci, aggregate="ranking")  # what a state saved before held
    loaded = Uncertainty.from_dict(json.loads(json.dumps(old.to_dict())))
    new = Uncertainty("delong", ci, aggregate="ranking")
    assert loaded.merge(new).kind == "delong"
    again = Uncertainty.from_dict(new.to_dict())
    assert again.kind == "delong" and again.moments is None and again.boot is None


def test_paired_gate_says_there_is_no_paired_test_for_average_precision(binary_file, tmp_path):
    _, y, p = binary_file
    two = tmp_path / "gate.csv"
    pd.DataFrame({"pred": p, "ref": np.clip(p + 0.05, 0, 1), "target": y}).to_csv(two,
                                                                                   index=False)
    proc = run_losscli("check", two, "--reference-col", "ref", "--loss",
                       "average_precision:bins=100")  # binned: no paired test (exact: one)
    assert proc.returncode == 0, proc.stderr.decode()
    assert ("no paired test for average_precision(bins=100): a ranking's paired tests"
            in proc.stdout.decode())


def test_multilabel_macro_interval_with_fractional_weights():
    # fractional weights: the state keeps exact weight sums; DeLong uses them as frequencies
    rng = np.random.default_rng(9)
    n, labels = 120, 3
    y = rng.integers(0, 2, (n, labels)).astype(float)
    p = np.round(np.clip(rng.normal(0.3 + 0.4 * y, 0.25), 0.001, 0.999), 2)
    report = losscli.evaluate(predictions=p, targets=y, losses=["roc_auc"], ci=True,
                              task="multilabel", chunk_size=17)
    res = report.losses[0]
    assert res.value == pytest.approx(roc_auc_score(y, p, average="macro"), rel=1e-12)
    se = np.mean([textbook_delong(y[:, j].astype(int), p[:, j])[1] for j in range(labels)])
    assert res.interval["method"] == "delong"
    assert res.interval["low"] == pytest.approx(res.value - Z * se, rel=1e-9)
    w = rng.uniform(0.5, 2, n)
    weighted = losscli.evaluate(predictions=p[:, 0], targets=y[:, 0], weights=w,
                                losses=["roc_auc"], ci=True).losses[0]
    x, yy = p[:, 0][y[:, 0] == 1], p[:, 0][y[:, 0] == 0]
    wx, wy = w[y[:, 0] == 1], w[y[:, 0] == 0]
    psi = (x[:, None] > yy[None, :]) + 0.5 * (x[:, None] == yy[None, :])
    auc = wx @ psi @ wy / (wx.sum() * wy.sum())
    v10, v01 = psi @ wy / wy.sum(), wx @ psi / wx.sum()
    var = (wx @ (v10 - auc) ** 2 / (wx.sum() - 1) / wx.sum()
           + wy @ (v01 - auc) ** 2 / (wy.sum() - 1) / wy.sum())
    assert weighted.value == pytest.approx(auc, rel=1e-12)
    assert weighted.interval["high"] == pytest.approx(auc + Z * math.sqrt(var), rel=1e-9)


def test_binned_auc_interval_is_delong_of_the_bins_widened_to_the_bound():
    y, s = _data(5, n=400, ties=False)
    p = 1 / (1 + np.exp(-s))
    res = losscli.evaluate(predictions=p, targets=y, losses=["roc_auc:bins=20"],
                           ci=True).losses[0]
    binned = np.minimum(np.floor(p * 20), 19)  # each bin one tied score
    _, se = textbook_delong(y, binned)
    low, high = res.details["bound"]
    assert res.interval["method"] == "delong"
    assert res.interval["low"] == pytest.approx(low - Z * se, rel=1e-9)
    assert res.interval["high"] == pytest.approx(min(high + Z * se, 1.0), rel=1e-9)


def test_ece_bootstrap_interval_covers_the_true_ece():
    # confidences on 5 values, one per bin (bins=5), accuracy conf + 0.1 in each: true ECE 0.1
    datasets, n = 200, 600
    rng = np.random.default_rng(31)
    hits = 0
    for i in range(datasets):
        p = rng.choice([0.1, 0.3, 0.5, 0.7, 0.85], n)
        y = (rng.random(n) < p + 0.1).astype(int)
        iv = losscli.evaluate(predictions=p, targets=y, losses=["ece:bins=5"], ci=True,
                              seed=i, replicates=200).losses[0].interval
        assert iv["method"] == "percentile"
        hits += iv["low"] <= 0.1 <= iv["high"]
    tolerance = 3 * math.sqrt(0.95 * 0.05 / datasets)
    assert abs(hits / datasets - 0.95) <= tolerance, hits / datasets


def test_ece_and_mce_intervals_are_the_same_bits_at_any_worker_count(binary_file):
    path, _, _ = binary_file
    seen = set()
    for chunk, workers in ((3000, 1), (500, 2), (500, 1)):
        rep = losscli.evaluate(str(path), losses=["ece", "mce"], ci=True, chunk_size=chunk,
                               workers=workers, replicates=100)
        seen.add(tuple((r.interval["low"].hex(), r.interval["high"].hex())
                       for r in rep.losses))
    other = losscli.evaluate(str(path), losses=["ece", "mce"], ci=True, chunk_size=97,
                             replicates=100)
    assert len(seen) == 1, seen
    for a, b in zip(other.losses, rep.losses):  # other chunk sizes: to round-off
        assert a.interval["low"] == pytest.approx(b.interval["low"], rel=1e-12)
        assert a.interval["high"] == pytest.approx(b.interval["high"], rel=1e-12)


def test_old_saved_roc_auc_interval_state_alone_gives_the_delong_interval():
    from losscli.metric_aggregates import RankingMetric

    y, s = _data(2)
    agg = RankingMetric("roc_auc")
    agg.update(s, None, {"target": y.astype(np.float64)})
    old = Uncertainty.from_dict(Uncertainty("none", CIConfig(), aggregate="ranking").to_dict())
    iv = old.interval(agg.result("mean"), agg)
    auc, se = textbook_delong(y, s)
    assert iv.method == "delong" and iv.low == pytest.approx(auc - Z * se, rel=1e-9)
