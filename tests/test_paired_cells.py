"""Paired tests for the confusion metrics (issue 23 item 3): ``compare`` and the paired gate
test f1, mcc, cohen_kappa and balanced_accuracy (and the other confusion metrics) by the
cell bootstrap of the joint table (true class, model's class, reference's class) on the
shared rows — replicate metric(model) − metric(reference), its percentile interval and a
two-sided bootstrap p-value. The difference equals scikit-learn's on the shared rows; the
false-alarm rate on two equal models is the level (binomial tolerance) and the power on a
clearly worse model high; the same bits at any chunk size, worker count and merge; beyond
10 classes the row says why there is no test."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import (
    balanced_accuracy_score,
    cohen_kappa_score,
    f1_score,
    matthews_corrcoef,
)

from losscli.stats.confusion_replicates import ConfusionSpec, spec_text
from losscli.uncertainty import CIConfig, Uncertainty
from tests.conftest import run_losscli

SKLEARN = {"f1": f1_score, "mcc": matthews_corrcoef, "cohen_kappa": cohen_kappa_score,
           "balanced_accuracy": balanced_accuracy_score}
METRICS = list(SKLEARN)


def _models(seed: int, n: int, right_a: float, right_b: float):
    """Binary labels and two models' scores: each right with its probability, independently
    given the label (scores 0.8/0.2, thresholded at 0.5)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    a = np.where(rng.uniform(size=n) < right_a, y, 1 - y)
    b = np.where(rng.uniform(size=n) < right_b, y, 1 - y)
    return y, np.where(a == 1, 0.8, 0.2), np.where(b == 1, 0.8, 0.2)


def _compare(path, *extra) -> dict:
    proc = run_losscli("compare", path, "--pred-col", "b", "--pred-col", "a",
                       *[x for m in METRICS for x in ("--loss", m)], "-f", "json", *extra)
    assert proc.returncode == 0, proc.stderr.decode()
    return {r["name"]: r for r in json.loads(proc.stdout)["losses"]}


def _paired(kind_metric: str, seed: int = 0) -> Uncertainty:
    return Uncertainty("confusion_paired", CIConfig(seed=seed), aggregate="confusion",
                       classes=2, paired=True, metric=spec_text(ConfusionSpec(kind_metric)))


def _p_value(metric: str, y, a, b, seed: int) -> float:
    u = _paired(metric, seed)
    u.update(np.zeros(y.size), None, None)
    u.update_pair((a >= 0.5).astype(int), (b >= 0.5).astype(int), y, None)
    got = u.test()
    assert got is not None and got.p_value is not None, got
    return got.p_value


def test_compare_tests_the_confusion_metrics_through_the_cli(tmp_path):
    y, a, b = _models(1, 400, 0.9, 0.75)
    path = tmp_path / "two.csv"
    pd.DataFrame({"a": a, "b": b, "target": y}).to_csv(path, index=False)
    rows = _compare(path)
    for name, fn in SKLEARN.items():
        row = rows[name]
        want = fn(y, (a >= 0.5).astype(int)) - fn(y, (b >= 0.5).astype(int))
        assert row["diff"]["a"] == pytest.approx(want, rel=1e-12, abs=1e-15)
        low, high = row["diff_interval"]["a"]
        assert low <= row["diff"]["a"] <= high and low > 0, (name, low, high)
        assert row["p_value"]["a"] < 0.05 and row["verdict"]["a"] == "better", row
    proc = run_losscli("compare", path, "--pred-col", "b", "--pred-col", "a", "--loss", "mcc",
                       env={"COLUMNS": "250"})
    line = next(x for x in proc.stdout.decode().splitlines() if x.split("|")[0].strip() == "mcc")
    assert "better" in line and "no paired test" not in line


def test_false_alarm_rate_on_two_equal_models_is_the_level():
    sims = 300
    rejected = dict.fromkeys(METRICS, 0)
    for seed in range(sims):
        y, a, b = _models(500 + seed, 200, 0.8, 0.8)
        for m in METRICS:
            rejected[m] += _p_value(m, y, a, b, seed) < 0.05
    tolerance = 3 * math.sqrt(0.05 * 0.95 / sims)  # a binomial's three standard deviations
    for m, r in rejected.items():
        assert abs(r / sims - 0.05) <= tolerance, (m, r / sims)


def test_power_on_a_clearly_worse_model():
    sims = 60
    for m in METRICS:
        found = sum(_p_value(m, *_models(900 + s, 300, 0.9, 0.75), s) < 0.05
                    for s in range(sims))
        assert found / sims >= 0.9, (m, found / sims)


def test_the_same_bits_at_any_chunk_size_worker_count_and_merge(tmp_path):
    y, a, b = _models(2, 500, 0.85, 0.8)
    path = tmp_path / "two.parquet"
    pd.DataFrame({"a": a, "b": b, "target": y}).to_parquet(path, row_group_size=97)
    base = _compare(path)
    for extra in (("--chunk-size", "7"), ("--chunk-size", "1"),
                  ("--chunk-size", "131", "--workers", "2")):
        got = _compare(path, *extra)
        for m in METRICS:
            assert (got[m]["p_value"], got[m]["diff_interval"]) == (
                base[m]["p_value"], base[m]["diff_interval"]), (m, extra)
    # states of two parts, merged either way (and through JSON): the same test
    pa, pb = (a >= 0.5).astype(int), (b >= 0.5).astype(int)
    parts = []
    for lo, hi in ((0, 180), (180, 500)):
        u = _paired("f1", 3)
        u.update(np.zeros(hi - lo), None, None)
        u.update_pair(pa[lo:hi], pb[lo:hi], y[lo:hi], None)
        parts.append(u)
    whole = _paired("f1", 3)
    whole.update(np.zeros(500), None, None)
    whole.update_pair(pa, pb, y, None)
    forward = Uncertainty.from_dict(json.loads(json.dumps(parts[0].to_dict()))).merge(parts[1])
    backward = Uncertainty.from_dict(parts[1].to_dict()).merge(
        Uncertainty.from_dict(parts[0].to_dict()))
    assert forward == backward == whole
    assert forward.test() == whole.test()


def test_nan_policy_omit_pairs_the_shared_rows(tmp_path):
    y, a, b = _models(4, 300, 0.85, 0.7)
    a_nan, b_nan = a.copy(), b.copy()
    a_nan[[3, 50]] = np.nan
    b_nan[[50, 99, 120]] = np.nan
    path = tmp_path / "gaps.csv"
    pd.DataFrame({"a": a_nan, "b": b_nan, "target": y}).to_csv(path, index=False)
    rows = _compare(path, "--nan-policy", "omit")
    keep = ~(np.isnan(a_nan) | np.isnan(b_nan))
    for name, fn in SKLEARN.items():
        want = (fn(y[keep], (a[keep] >= 0.5).astype(int))
                - fn(y[keep], (b[keep] >= 0.5).astype(int)))
        assert rows[name]["diff"]["a"] == pytest.approx(want, rel=1e-12, abs=1e-15)
        assert rows[name]["p_value"]["a"] is not None


def test_weighted_rows_are_tested_on_the_per_row_path(tmp_path):
    y, a, b = _models(6, 300, 0.9, 0.7)
    w = np.random.default_rng(6).uniform(0.5, 2.0, y.size).round(2)
    path = tmp_path / "w.csv"
    pd.DataFrame({"a": a, "b": b, "target": y, "w": w}).to_csv(path, index=False)
    rows = _compare(path, "--weight-col", "w")
    for name, fn in SKLEARN.items():
        want = (fn(y, (a >= 0.5).astype(int), sample_weight=w)
                - fn(y, (b >= 0.5).astype(int), sample_weight=w))
        assert rows[name]["diff"]["a"] == pytest.approx(want, rel=1e-9, abs=1e-12)
        assert rows[name]["p_value"]["a"] < 0.05


def test_three_classes_are_tested_and_eleven_say_why_not(tmp_path):
    rng = np.random.default_rng(7)
    for k, tested in ((3, True), (11, False)):
        n = 300
        y = rng.integers(0, k, n)
        frame = {}
        for model, right in (("b", 0.6), ("a", 0.9)):
            pred = np.where(rng.uniform(size=n) < right, y, rng.integers(0, k, n))
            scores = rng.uniform(0, 0.1, (n, k))
            scores[np.arange(n), pred] = 1.0
            frame.update({f"{model}_{c}": scores[:, c] for c in range(k)})
        frame["target"] = y
        path = tmp_path / f"k{k}.csv"
        pd.DataFrame(frame).to_csv(path, index=False)
        proc = run_losscli("compare", path, "--pred-col", "b_*", "--pred-col", "a_*", "--loss",
                           "f1:average=macro", "--loss", "cohen_kappa", "-f", "json")
        assert proc.returncode == 0, proc.stderr.decode()
        for row in json.loads(proc.stdout)["losses"]:
            if tested:
                assert row["p_value"]["a_*"] < 0.05 and row["verdict"]["a_*"] == "better", row
            else:
                assert row["p_value"]["a_*"] is None
                assert "10 classes" in row["diff_interval_reason"]["a_*"], row


def test_the_paired_gate_fails_a_significantly_worse_model(tmp_path):
    y, good, worse = _models(8, 400, 0.9, 0.75)
    path = tmp_path / "gate.csv"
    pd.DataFrame({"pred": worse, "ref": good, "target": y}).to_csv(path, index=False)
    proc = run_losscli("check", path, "--reference-col", "ref", "--loss", "f1", "--loss", "mcc",
                       "-f", "json")
    assert proc.returncode == 1, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert {"f1", "mcc"} <= set(report["failed"])
    for check in report["checks"]:
        assert check["p_value"] is not None and check["p_value"] < 0.05, check
    pd.DataFrame({"pred": good, "ref": good, "target": y}).to_csv(path, index=False)
    assert run_losscli("check", path, "--reference-col", "ref", "--loss", "f1").returncode == 0
