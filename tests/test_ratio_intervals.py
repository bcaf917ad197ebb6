"""Intervals for wape and mase, ratios of two sums (issue 23 item 3; before: n/a "ratio of
sums"): the delta method for a ratio of two weighted means from the streamed moments Σw,
Σw², Σw·a, Σw·b, Σw·a², Σw·b², Σw·ab (:mod:`losscli.stats.ratio_moments`) — equal to a
hand computation and to Cochran's ratio-estimator variance computed here, weighted with
Kish's effective n; coverage by simulation (binomial tolerance); the percentile bootstrap
under ``--ci-method bootstrap``; mase_scaled a plain mean's normal interval."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

import losscli
from losscli.stats.ratio_moments import RatioMoments
from tests.conftest import run_losscli

Z = NormalDist().inv_cdf(0.975)


def _delta(a: np.ndarray, b: np.ndarray, w: np.ndarray | None = None) -> tuple[float, float]:
    """R = Σw·a/Σw·b and its delta-method SE: √(s_z²/n_eff)/b̄ with z = a − R·b, s_z² the
    reliability-weighted variance of z (its weighted mean is 0), n_eff = (Σw)²/Σw² (Kish);
    unweighted, Cochran's v(R) = Σ(a − Rb)² / (n(n − 1)·b̄²)."""
    w = np.ones_like(a) if w is None else w
    r = np.sum(w * a) / np.sum(w * b)
    z = a - r * b
    s2 = np.sum(w * z * z) / (np.sum(w) - np.sum(w * w) / np.sum(w))
    n_eff = np.sum(w) ** 2 / np.sum(w * w)
    return float(r), float(math.sqrt(s2 / n_eff) / (np.sum(w * b) / np.sum(w)))


def _json(*args) -> dict:
    proc = run_losscli(*map(str, args))
    assert proc.returncode == 0, proc.stderr
    return {d["label"]: d for d in json.loads(proc.stdout)["losses"]}


def test_wape_interval_by_hand(tmp_path):
    # y = (2, 2, 4), ŷ = (3, 4, 7): errors a = (1, 2, 3), scale b = |y| = (2, 2, 4)
    # R = 6/8 = 0.75; z = a − R·b = (−0.5, 0.5, 0), Σz² = 0.5, b̄ = 8/3
    # SE = √(0.5 / (3·2)) / (8/3) = √(1/12)·3/8 = 0.10825317547305482
    path = tmp_path / "hand.csv"
    pd.DataFrame({"pred": [3.0, 4.0, 7.0], "target": [2.0, 2.0, 4.0]}).to_csv(path, index=False)
    got = _json("eval", path, "-l", "wape", "--ci", "-f", "json")["wape"]
    se = math.sqrt(1 / 12) * 3 / 8
    assert se == pytest.approx(0.10825317547305482, rel=1e-15)
    assert got["value"] == 0.75
    assert got["interval"]["method"] == "delta"
    assert got["interval"]["low"] == pytest.approx(0.75 - Z * se, rel=1e-12)
    assert got["interval"]["high"] == pytest.approx(0.75 + Z * se, rel=1e-12)


@pytest.mark.parametrize("weighted", [False, True])
def test_wape_and_mase_equal_the_delta_method_at_any_chunking(tmp_path, weighted):
    rng = np.random.default_rng(3)
    n = 240
    y = rng.uniform(2, 12, n).round(1)
    df = pd.DataFrame({"pred": (y + rng.normal(0, 2, n)).round(1), "target": y,
                       "naive": (y + rng.normal(0, 3, n)).round(1),
                       "w": rng.integers(1, 4, n).astype(float)})
    path = tmp_path / "f.csv"
    df.to_csv(path, index=False)
    extra = ["--weight-col", "w"] if weighted else []
    w = df["w"].to_numpy() if weighted else None
    e = np.abs(df["target"] - df["pred"]).to_numpy()
    want = {"wape": _delta(e, np.abs(y), w),
            "mase": _delta(e, np.abs(df["target"] - df["naive"]).to_numpy(), w)}
    runs = [_json("eval", path, "-l", "wape", "-l", "mase", "--naive-col", "naive", "--ci",
                  "-f", "json", *extra, *chunk)
            for chunk in ([], ["--chunk-size", "7"], ["--chunk-size", "1", "--workers", "2"])]
    for got in runs:
        for name, (r, se) in want.items():
            iv = got[name]["interval"]
            assert got[name]["value"] == pytest.approx(r, rel=1e-12)
            assert iv["low"] == pytest.approx(r - Z * se, rel=1e-10)
            assert iv["high"] == pytest.approx(r + Z * se, rel=1e-10)


def test_wape_interval_covers_the_truth_95_percent_of_the_time():
    # y ~ U(5, 15), ŷ = y + N(0, 2²): the population wape is E|e|/E|y| = 2·√(2/π)/10
    truth = 2 * math.sqrt(2 / math.pi) / 10
    sims, hits = 300, 0
    rng = np.random.default_rng(31)
    for _ in range(sims):
        y = rng.uniform(5, 15, 150)
        p = y + rng.normal(0, 2, 150)
        iv = losscli.evaluate(predictions=p, targets=y, losses=["wape"], ci=True).losses[
            0].interval
        hits += iv["low"] <= truth <= iv["high"]
    assert abs(hits / sims - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / sims), hits / sims


def test_mase_interval_covers_the_truth_95_percent_of_the_time():
    # the model's errors N(0, 2²), the naive forecast's N(0, 3²): mase = 2/3; weights 1..3
    sims, hits = 300, 0
    rng = np.random.default_rng(32)
    for _ in range(sims):
        state = RatioMoments()
        for _chunk in range(3):
            a = np.abs(rng.normal(0, 2, 60))
            b = np.abs(rng.normal(0, 3, 60))
            state.update(a, b, rng.integers(1, 4, 60).astype(float))
        iv = state.interval(0.95)
        hits += iv.low <= 2 / 3 <= iv.high
    assert abs(hits / sims - 0.95) <= 3 * math.sqrt(0.95 * 0.05 / sims), hits / sims


def test_the_state_merges_exactly_and_refuses_edits():
    rng = np.random.default_rng(4)
    a, b = rng.uniform(0, 3, 50), rng.uniform(1, 4, 50)
    one, two, whole = RatioMoments(), RatioMoments(), RatioMoments()
    one.update(a[:20], b[:20], None)
    two.update(a[20:], b[20:], None)
    whole.update(a, b, None)
    merged = RatioMoments.from_dict(json.loads(json.dumps(one.to_dict()))).merge(two)
    # each chunk's float sums rounded once: merged parts agree with one pass to 1e-12
    assert merged.interval(0.9).low == pytest.approx(whole.interval(0.9).low, rel=1e-12)
    assert RatioMoments.from_dict(merged.to_dict()) == merged
    tiny = RatioMoments()
    tiny.update(np.array([1.0]), np.array([2.0]), None)
    assert tiny.interval(0.95).low is None and "at least 2" in tiny.interval(0.95).reason


def test_bootstrap_and_mase_scaled(tmp_path):
    rng = np.random.default_rng(5)
    y = rng.uniform(2, 12, 300)
    path = tmp_path / "b.csv"
    pd.DataFrame({"pred": y + rng.normal(0, 2, 300), "target": y}).to_csv(path, index=False)
    got = _json("eval", path, "-l", "wape", "--ci", "--ci-method", "bootstrap", "-f", "json")
    iv = got["wape"]["interval"]
    assert iv["method"] == "percentile" and iv["resampling"] == "rows"
    assert iv["low"] < got["wape"]["value"] < iv["high"]
    # mase_scaled is a plain mean of |y − ŷ|/scale: the normal interval
    got = _json("eval", path, "-l", "mase_scaled:scale=2", "--ci", "-f", "json")
    entry = next(iter(got.values()))
    assert entry["interval"]["method"] == "normal"
