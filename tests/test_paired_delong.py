"""DeLong's paired test of two ROC-AUCs on the same rows (issue 23 item 3): in ``compare``
and the paired gate (``check --reference-col``). Checked against a textbook paired DeLong
over the raw arrays written here (O(P·N) structural components and their covariance), its
false-alarm rate on two equal models by simulation, the same bits across chunk sizes,
workers and merge order, the shared rows under ``--nan-policy omit``, and the reason in the
row where the test does not apply."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from losscli.stats.paired_delong import PairedScores
from losscli.uncertainty import CIConfig, Uncertainty
from tests.conftest import run_losscli

Z = NormalDist().inv_cdf(0.975)


def textbook_paired_delong(y: np.ndarray, a: np.ndarray, b: np.ndarray
                           ) -> tuple[float, float, float]:
    """DeLong, DeLong & Clarke-Pearson (1988) for two correlated AUCs, over the raw arrays:
    per model r, ψ_r(X_i, Y_j) = 1 if X > Y, ½ if X = Y, else 0; V10_r(i) = mean_j ψ_r,
    V01_r(j) = mean_i ψ_r; S10, S01 the 2×2 sample covariances; Var(AUC_a − AUC_b) =
    [1, −1] (S10/m + S01/n) [1, −1]ᵀ. Returns (AUC_a, AUC_b, SE of the difference)."""
    pos, neg = y == 1, y == 0
    v10, v01, aucs = [], [], []
    for s in (a, b):
        x, yy = s[pos], s[neg]
        psi = (x[:, None] > yy[None, :]) + 0.5 * (x[:, None] == yy[None, :])
        aucs.append(psi.mean())
        v10.append(psi.mean(axis=1))
        v01.append(psi.mean(axis=0))
    m, n = int(pos.sum()), int(neg.sum())
    s10, s01 = np.cov(np.array(v10)), np.cov(np.array(v01))
    c = s10 / m + s01 / n
    return float(aucs[0]), float(aucs[1]), math.sqrt(c[0, 0] + c[1, 1] - 2 * c[0, 1])


def _models(seed: int, n: int = 200, ties: bool = True, gap: float = 0.0
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels and two correlated models' scores (model a better by ``gap``)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    signal = rng.normal(0, 1, n)
    a = signal + (1.0 + gap) * y + rng.normal(0, 0.7, n)
    b = signal + 1.0 * y + rng.normal(0, 0.7, n)
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    return y, a, b


def _compare_json(path, *extra: str) -> dict:
    proc = run_losscli("compare", path, "--pred-col", "b", "--pred-col", "a", "--loss",
                       "roc_auc", "-f", "json", *extra)
    assert proc.returncode == 0, proc.stderr.decode()
    (row,) = [r for r in json.loads(proc.stdout)["losses"] if r["name"] == "roc_auc"]
    return row


@pytest.mark.parametrize("seed", range(4))
def test_state_equals_the_textbook_paired_delong(seed):
    y, a, b = _models(seed, ties=seed % 2 == 0, gap=0.3 * seed)
    auc_a, auc_b, se = textbook_paired_delong(y, a, b)
    state = PairedScores()
    for lo in range(0, y.size, 37):  # in chunks, as streamed
        state.update(a[lo:lo + 37], b[lo:lo + 37], y[lo:lo + 37])
    got = state.result()
    assert got.reason is None
    assert got.auc_a == pytest.approx(roc_auc_score(y, a), rel=1e-12)
    assert got.auc_b == pytest.approx(auc_b, rel=1e-12)
    assert got.difference == pytest.approx(auc_a - auc_b, rel=1e-9, abs=1e-15)
    assert got.se == pytest.approx(se, rel=1e-9)


def test_compare_reports_delongs_p_value_and_interval_through_the_cli(tmp_path):
    y, a, b = _models(11, n=300, gap=0.8)
    path = tmp_path / "two.csv"
    pd.DataFrame({"a": a, "b": b, "target": y}).to_csv(path, index=False)
    row = _compare_json(path)
    # the reference is b (first --pred-col); a's difference is AUC_a − AUC_b
    auc_a, auc_b, se = textbook_paired_delong(y, a, b)
    assert row["values"]["a"] == pytest.approx(roc_auc_score(y, a), rel=1e-12)
    assert row["diff"]["a"] == pytest.approx(auc_a - auc_b, rel=1e-9)
    p = 2 * NormalDist().cdf(-abs((auc_a - auc_b) / se))
    assert row["p_value"]["a"] == pytest.approx(p, rel=1e-7)
    low, high = row["diff_interval"]["a"]
    assert low == pytest.approx(auc_a - auc_b - Z * se, rel=1e-9)
    assert high == pytest.approx(auc_a - auc_b + Z * se, rel=1e-9)
    assert p < 0.05 and row["verdict"]["a"] == "better"
    # the table row carries the interval and the verdict, not "no paired test"
    proc = run_losscli("compare", path, "--pred-col", "b", "--pred-col", "a", "--loss",
                       "roc_auc", env={"COLUMNS": "250"})
    line = next(x for x in proc.stdout.decode().splitlines()
                if x.split("|")[0].strip() == "roc_auc")
    assert "better" in line and "no paired test" not in line


def test_false_alarm_rate_on_two_equal_models_is_the_level():
    # two exchangeable models of the same quality: the test at 0.05 rejects ~5% of the time
    sims, rejected = 400, 0
    for seed in range(sims):
        rng = np.random.default_rng(1000 + seed)
        n = 120
        y = rng.integers(0, 2, n)
        signal = rng.normal(0, 1, n) + y
        a = signal + rng.normal(0, 0.8, n)
        b = signal + rng.normal(0, 0.8, n)
        u = Uncertainty("delong_paired", CIConfig(), aggregate="ranking", paired=True)
        u.update_pair(a, b, y, None)
        result = u.test()
        assert result.p_value is not None
        rejected += result.p_value < 0.05
    rate = rejected / sims
    tolerance = 3 * math.sqrt(0.05 * 0.95 / sims)  # a binomial's three standard deviations
    assert abs(rate - 0.05) <= tolerance, rate


def test_same_bits_across_chunk_sizes_workers_and_merge_order(tmp_path):
    y, a, b = _models(5, n=500, gap=0.2)
    path = tmp_path / "two.parquet"
    pd.DataFrame({"a": a, "b": b, "target": y}).to_parquet(path, row_group_size=97)
    base = _compare_json(path)
    for extra in (("--chunk-size", "7"), ("--chunk-size", "131", "--workers", "2")):
        got = _compare_json(path, *extra)
        assert got["p_value"] == base["p_value"] and got["diff_interval"] == base[
            "diff_interval"], extra
    one, two = PairedScores(), PairedScores()
    one.update(a[:200], b[:200], y[:200])
    two.update(a[200:], b[200:], y[200:])
    forward = PairedScores.from_dict(json.loads(json.dumps(one.to_dict()))).merge(two)
    backward = PairedScores.from_dict(two.to_dict()).merge(PairedScores.from_dict(one.to_dict()))
    assert forward.result() == backward.result()
    assert forward == backward  # one canonical order in the saved form


def test_nan_policy_omit_pairs_the_shared_rows(tmp_path):
    y, a, b = _models(7, n=240, gap=0.5)
    a_nan, b_nan = a.copy(), b.copy()
    a_nan[[3, 50]] = np.nan
    b_nan[[50, 99, 120]] = np.nan
    path = tmp_path / "gaps.csv"
    pd.DataFrame({"a": a_nan, "b": b_nan, "target": y}).to_csv(path, index=False)
    row = _compare_json(path, "--nan-policy", "omit")
    keep = ~(np.isnan(a_nan) | np.isnan(b_nan))
    auc_a, auc_b, se = textbook_paired_delong(y[keep], a[keep], b[keep])
    assert row["diff"]["a"] == pytest.approx(auc_a - auc_b, rel=1e-9)
    assert row["p_value"]["a"] == pytest.approx(
        2 * NormalDist().cdf(-abs((auc_a - auc_b) / se)), rel=1e-7)


def test_paired_gate_uses_delong_and_fails_a_significantly_worse_model(tmp_path):
    y, good, worse = _models(3, n=400, gap=0.5)  # p ≈ 0.0004
    path = tmp_path / "gate.csv"
    pd.DataFrame({"pred": worse, "ref": good, "target": y}).to_csv(path, index=False)
    proc = run_losscli("check", path, "--reference-col", "ref", "--loss", "roc_auc",
                       "-f", "json")
    assert proc.returncode == 1, proc.stderr.decode()
    report = json.loads(proc.stdout)
    assert "roc_auc" in report["failed"]
    auc_w, auc_g, se = textbook_paired_delong(y, worse, good)
    (check,) = [c for c in report["checks"] if c["name"] == "roc_auc"]
    assert check["p_value"] == pytest.approx(
        2 * NormalDist().cdf(-abs((auc_w - auc_g) / se)), rel=1e-7)
    # the same model as its own reference: no significant change, exit 0
    pd.DataFrame({"pred": good, "ref": good, "target": y}).to_csv(path, index=False)
    assert run_losscli("check", path, "--reference-col", "ref", "--loss", "roc_auc"
                       ).returncode == 0


def test_where_delong_does_not_apply_the_row_says_why(tmp_path):
    y, a, b = _models(2, n=120)
    w = np.random.default_rng(2).uniform(0.5, 2.0, y.size)
    path = tmp_path / "w.csv"
    pd.DataFrame({"a": a, "b": b, "target": y, "w": w}).to_csv(path, index=False)
    row = _compare_json(path, "--weight-col", "w")
    assert row["p_value"]["a"] is None
    assert "unweighted rows" in row["diff_interval_reason"]["a"]
    # multi-class one-vs-rest: no paired DeLong, and the reason names it
    rng = np.random.default_rng(0)
    p1, p2 = rng.dirichlet(np.ones(3), 90), rng.dirichlet(np.ones(3), 90)
    path = tmp_path / "mc.csv"
    frame = {f"a_{k}": p1[:, k] for k in range(3)}
    frame.update({f"b_{k}": p2[:, k] for k in range(3)})
    frame["target"] = rng.integers(0, 3, 90)
    pd.DataFrame(frame).to_csv(path, index=False)
    proc = run_losscli("compare", path, "--pred-col", "a_*", "--pred-col", "b_*", "--loss",
                       "roc_auc", env={"COLUMNS": "250"})
    assert proc.returncode == 0, proc.stderr.decode()
    assert "a ranking's paired tests (DeLong's for ROC-AUC" in proc.stdout.decode()


def test_hand_edited_paired_state_is_refused():
    u = Uncertainty("delong_paired", CIConfig(), aggregate="ranking", paired=True)
    u.update_pair(np.array([0.1, 0.9]), np.array([0.2, 0.8]), np.array([0, 1]), None)
    data = json.loads(json.dumps(u.to_dict()))
    assert Uncertainty.from_dict(data) == u
    import base64

    data["pairs"]["labels"] = base64.b64encode(bytes([0, 2])).decode()
    from losscli.stats.fields import FieldError

    with pytest.raises(FieldError, match="labels other than 0 and 1"):
        Uncertainty.from_dict(data)
    data["pairs"]["labels"] = base64.b64encode(bytes([0])).decode()
    with pytest.raises(FieldError, match="different lengths"):
        Uncertainty.from_dict(data)


def test_each_group_is_paired_on_its_own_rows(tmp_path):
    y, a, b = _models(9, n=450, gap=0.4)
    g = np.random.default_rng(99).choice(["east", "north", "west"], y.size)
    path = tmp_path / "groups.parquet"
    pd.DataFrame({"a": a, "b": b, "target": y, "g": g}).to_parquet(path)
    proc = run_losscli("compare", path, "--pred-col", "b", "--pred-col", "a", "--loss",
                       "roc_auc", "--group-by", "g", "--chunk-size", "41", "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    for group in json.loads(proc.stdout)["groups"]:
        rows = g == group["key"]["g"]
        auc_a, auc_b, se = textbook_paired_delong(y[rows], a[rows], b[rows])
        (row,) = group["losses"]
        assert row["diff"]["a"] == pytest.approx(auc_a - auc_b, rel=1e-9)
        assert row["p_value"]["a"] == pytest.approx(
            2 * NormalDist().cdf(-abs((auc_a - auc_b) / se)), rel=1e-7)
