"""Forecast metrics through the real CLI (issue 23 item 7): prediction intervals (coverage,
interval_width, interval_score), sMAPE, WAPE and MASE.

No package of the test extra has these metrics: each reference is its formula from the
literature computed here with numpy, plus a hand-computed case. Every metric is streamed with
a mergeable state, so chunk sizes 1 and 7, the default, two workers and a merge of saved
states all give the same value.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_losscli

INTERVAL = ["coverage", "interval_width", "interval_score:alpha=0.2"]
POINT = ["smape", "wape", "mase", "mase_scaled:scale=1.7"]
RUNS = [(), ("--chunk-size", "1"), ("--chunk-size", "7"), ("--workers", "2", "--chunk-size", "7")]


def _values(*args: object) -> dict[str, float]:
    proc = run_losscli("eval", *map(str, args), "-f", "json")
    assert proc.returncode == 0, proc.stderr
    return {d["label"]: d["value"] for d in json.loads(proc.stdout)["losses"]}


def _references(f: pd.DataFrame, w: np.ndarray) -> dict[str, float]:
    """Each metric's formula, weighted: a mean is Σw·ℓ/Σw, a ratio Σw·a/Σw·b."""
    y, p, lo, hi, naive = (f[c].to_numpy() for c in ("target", "pred", "lower", "upper", "naive"))
    alpha = 0.2
    e = np.abs(y - p)
    den = np.abs(y) + np.abs(p)
    smape = np.where(den == 0, 0.0, 200.0 * e / np.where(den == 0, 1.0, den))
    mean = lambda v: float(np.sum(w * v) / np.sum(w))  # noqa: E731
    return {
        # PICP (Khosravi et al. 2011): the fraction of targets inside [L, U], bounds included
        "coverage": mean((lo <= y) & (y <= hi)),
        "interval_width": mean(hi - lo),
        # Gneiting & Raftery 2007 eq. 43
        "interval_score(alpha=0.2)": mean((hi - lo) + 2 / alpha * (lo - y) * (y < lo)
                                          + 2 / alpha * (y - hi) * (y > hi)),
        "smape": mean(smape),
        "wape": float(np.sum(w * e) / np.sum(w * np.abs(y))),
        "mase": float(np.sum(w * e) / np.sum(w * np.abs(y - naive))),
        "mase_scaled(scale=1.7)": mean(e / 1.7),
    }


@pytest.fixture(scope="module")
def forecast(tmp_path_factory):
    """A seasonal series with ties: targets exactly on a bound, zeros in y and ŷ (sMAPE 0/0)
    and predictions equal to targets; integer-valued weights with repeats."""
    rng = np.random.default_rng(23)
    n = 61
    y = np.round(rng.normal(10.0, 4.0, n), 1)
    p = np.round(y + rng.normal(0.0, 2.0, n), 1)
    half = np.round(rng.uniform(0.5, 3.0, n), 1)
    lo, hi = p - half, p + half
    y[:5] = lo[:5]  # on the lower bound: inside
    y[5:10] = hi[5:10]  # on the upper bound: inside
    y[10:13] = p[10:13] = 0.0  # sMAPE 0/0 := 0
    lo[13:15] = hi[13:15] = p[13:15] = y[13:15]  # a zero-width interval holding y
    naive = np.round(np.roll(y, 7) + rng.normal(0.0, 0.5, n), 1)
    w = rng.integers(1, 4, n).astype(float)
    frame = pd.DataFrame({"pred": p, "target": y, "lower": lo, "upper": hi, "naive": naive,
                          "w": w})
    path = tmp_path_factory.mktemp("forecast") / "f.parquet"
    frame.to_parquet(path)
    return path, frame, w


@pytest.mark.parametrize("run", [RUNS[0], RUNS[1], RUNS[3]], ids=["default", "chunk1",
                                                                  "workers2_chunk7"])
def test_every_metric_equals_its_formula_at_any_chunking(forecast, run):
    path, frame, w = forecast
    losses = [a for name in INTERVAL + POINT for a in ("-l", name)]
    got = _values(path, *losses, "--weight-col", "w", *run)
    ref = _references(frame, w)
    assert got.keys() == ref.keys()
    for name, value in ref.items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


def test_two_workers_give_the_bits_of_one_at_the_same_chunking(forecast):
    """Sums are exact across chunks (the only rounding is numpy's within a chunk, which the
    chunk size fixes), so splitting the work between workers changes no bit."""
    path, _, _ = forecast
    losses = [a for name in INTERVAL + POINT for a in ("-l", name)]
    one = _values(path, *losses, "--weight-col", "w", "--chunk-size", "7")
    two = _values(path, *losses, "--weight-col", "w", "--chunk-size", "7", "--workers", "2")
    assert one == two


def test_hand_computed_case(tmp_path):
    """Three rows by hand: y = 1, 5, 0 in [0, 2], [2, 4], [1, 3] (alpha 0.5: 2/α = 4).
    Inside, above by 1, below by 1: coverage 1/3, width 2, score (2 + 6 + 6)/3 = 14/3.
    ŷ = 0, 3, 0 and y = 0, 1, 2 for the point metrics: |e| = 0, 2, 2; sMAPE rows 0 (0/0),
    200·2/4 = 100, 200·2/2 = 200 → 100; WAPE 4/3; naive 1, 1, 1 → |y − naive| 1, 0, 1,
    MASE 4/2 = 2."""
    path = tmp_path / "hand.csv"
    pd.DataFrame({"target": [1.0, 5.0, 0.0], "lower": [0.0, 2.0, 1.0],
                  "upper": [2.0, 4.0, 3.0]}).to_csv(path, index=False)
    got = _values(path, "-l", "coverage", "-l", "interval_width", "-l",
                  "interval_score:alpha=0.5")
    assert got == pytest.approx({"coverage": 1 / 3, "interval_width": 2.0,
                                 "interval_score(alpha=0.5)": 14 / 3}, rel=1e-15)
    point = tmp_path / "point.csv"
    pd.DataFrame({"pred": [0.0, 3.0, 0.0], "target": [0.0, 1.0, 2.0],
                  "naive": [1.0, 1.0, 1.0]}).to_csv(point, index=False)
    got = _values(point, "-l", "smape", "-l", "wape", "-l", "mase", "-l",
                  "mase_scaled:scale=0.5")
    assert got == pytest.approx({"smape": 100.0, "wape": 4 / 3, "mase": 2.0,
                                 "mase_scaled(scale=0.5)": 8 / 3}, rel=1e-15)


def test_merge_of_saved_states_equals_the_whole(forecast, tmp_path):
    path, frame, _ = forecast
    losses = [a for name in INTERVAL + POINT for a in ("-l", name)]
    states = []
    # parts of 28 = 4 · 7 rows: the whole file read in chunks of 7 has the same chunks
    for i, rows in enumerate((slice(0, 28), slice(28, None))):
        part = tmp_path / f"part{i}.parquet"
        frame[rows].to_parquet(part)
        states.append(tmp_path / f"part{i}.state")
        proc = run_losscli("eval", part, *losses, "--weight-col", "w", "-q", "--chunk-size",
                           "7", "--save-state", states[-1])
        assert proc.returncode == 0, proc.stderr
    proc = run_losscli("merge", states[1], states[0], "-f", "json")
    assert proc.returncode == 0, proc.stderr
    merged = {d["label"]: d["value"] for d in json.loads(proc.stdout)["losses"]}
    assert merged == _values(path, *losses, "--weight-col", "w", "--chunk-size", "7")


def test_coverage_has_wilsons_interval_and_is_higher_better(forecast):
    path, frame, _ = forecast
    proc = run_losscli("eval", path, "-l", "coverage", "--ci", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    entry = json.loads(proc.stdout)["losses"][0]
    assert entry["higher_is_better"] is True
    assert entry["interval"]["method"] == "wilson"
    # Wilson's score interval of k inside out of n, computed here
    y, lo, hi = frame["target"], frame["lower"], frame["upper"]
    n, k, z = len(y), float(((lo <= y) & (y <= hi)).sum()), 1.959963984540054
    center = (k + z * z / 2) / (n + z * z)
    half = z * np.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    assert entry["interval"]["low"] == pytest.approx(center - half, rel=1e-6)
    assert entry["interval"]["high"] == pytest.approx(center + half, rel=1e-6)


def test_ratio_metrics_have_a_delta_method_interval(forecast):
    # (before issue 21/23: n/a "no streamed interval for a ratio of sums"; the interval
    # itself is checked in tests/test_ratio_intervals.py)
    path, _, _ = forecast
    proc = run_losscli("eval", path, "-l", "wape", "-l", "mase", "--ci", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    for entry in json.loads(proc.stdout)["losses"]:
        iv = entry["interval"]
        assert iv["method"] == "delta" and iv["low"] <= entry["value"] <= iv["high"], entry


def test_lower_above_upper_is_one_line_naming_file_column_and_row(tmp_path):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"target": [1.0, 3.0, 5.0], "lo": [0.0, 2.0, 6.0],
                  "hi": [2.0, 4.0, 4.0]}).to_csv(path, index=False)
    proc = run_losscli("eval", path, "-l", "interval_score", "-l", "interval_width",
                       "--lower-col", "lo", "--upper-col", "hi")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "column 'lo'" in err and str(path) in err and "row 2" in err, err
    assert "--lower-col" in err


@pytest.mark.parametrize("args, words", [
    (("-l", "mse", "--lower-col", "lower"), ["--lower-col", "coverage"]),
    (("-l", "interval_score:alpha=0"), ["Parameter 'alpha'", "> 0"]),
    (("-l", "mase_scaled:scale=-1"), ["Parameter 'scale'", "> 0"]),
    (("-l", "coverage", "--upper-col", "nope"), ["nope", "--upper-col"]),
])
def test_bad_inputs_are_one_line_exit_2(args, words):
    proc = run_losscli("eval", "sample_data/forecast.parquet", *args)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err


def test_missing_bound_column_says_which_flag_names_it():
    proc = run_losscli("eval", "sample_data/regression.csv", "-l", "coverage")
    err = proc.stderr.decode()
    assert proc.returncode == 2 and "lower bound" in err and "--lower-col" in err, err


def test_losses_lists_them_with_references():
    proc = run_losscli("losses", "-f", "json")
    assert proc.returncode == 0
    doc = {d["name"]: d for d in json.loads(proc.stdout)}
    for name in ("coverage", "interval_width", "interval_score", "smape", "wape", "mase",
                 "mase_scaled"):
        assert doc[name]["reference"], name
    assert doc["coverage"]["inputs"] == ["target", "lower", "upper"]
    assert doc["mase"]["inputs"] == ["pred", "target", "naive"]
    assert "Gneiting" in doc["interval_score"]["reference"]


def test_api_keywords_bind_the_roles(forecast):
    import losscli

    _, frame, _ = forecast
    renamed = frame.rename(columns={"lower": "a", "upper": "b", "naive": "n"})
    report = losscli.evaluate(predictions=renamed, losses=["coverage", "mase"], lower_col="a",
                              upper_col="b", naive_col="n", chunk_size=5)
    ref = _references(frame, np.ones(len(frame)))
    assert report.to_dict()["losses"][0]["value"] == pytest.approx(ref["coverage"], rel=1e-12)
    assert report.to_dict()["losses"][1]["value"] == pytest.approx(ref["mase"], rel=1e-12)


def test_inspect_finds_the_bounds_and_judges_their_order(forecast):
    path, _, _ = forecast
    proc = run_losscli("inspect", path, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert {"lower", "upper", "naive"} <= set(info["roles"])
    assert {"coverage", "interval_score", "mase"} <= set(info["losses"]["fit"])
    proc = run_losscli("inspect", path, "--lower-col", "upper", "--upper-col", "lower")
    assert "coverage: needs lower values <= the upper bound" in proc.stdout.decode()


@pytest.fixture(scope="module")
def quantile_file(tmp_path_factory):
    """Quantile columns named by level (in an unsorted order, one crossing the next), with
    ties (a target equal to a quantile) and integer weights."""
    rng = np.random.default_rng(7)
    n = 53
    y = np.round(rng.normal(0.0, 1.0, n), 2)
    center = np.round(y + rng.normal(0.0, 0.7, n), 2)
    levels = (0.9, 0.1, 0.5, 0.25)
    cols = {f"q_{q}": np.round(center + (q - 0.5) * 2.5 + rng.normal(0, 0.1, n), 2)
            for q in levels}
    cols["q_0.5"][:4] = y[:4]  # ties
    frame = pd.DataFrame({"target": y, **cols, "w": rng.integers(1, 4, n).astype(float)})
    path = tmp_path_factory.mktemp("quantiles") / "q.parquet"
    frame.to_parquet(path)
    return path, frame, levels


@pytest.mark.parametrize("run", RUNS[1::2], ids=["chunk1", "workers2"])
def test_mean_pinball_equals_sklearn_averaged_over_levels(quantile_file, run):
    from sklearn.metrics import mean_pinball_loss

    path, frame, levels = quantile_file
    y, w = frame["target"].to_numpy(), frame["w"].to_numpy()
    ref = np.mean([mean_pinball_loss(y, frame[f"q_{q}"], alpha=q, sample_weight=w)
                   for q in levels])
    got = _values(path, "-l", "mean_pinball", "-l", "crps_quantile", "--quantile-cols",
                  ",".join(f"q_{q}" for q in levels), "--weight-col", "w", *run)
    label = "levels=" + "_".join(map(str, levels))
    assert got[f"mean_pinball({label})"] == pytest.approx(ref, rel=1e-12)
    # crps_quantile: 2 × the mean pinball over the levels (the quantile-score form of CRPS)
    assert got[f"crps_quantile({label})"] == pytest.approx(2 * ref, rel=1e-12)


def test_quantile_hand_case_and_levels_given(tmp_path):
    """y = 1 with quantiles 0 (τ 0.1), 1 (τ 0.5), 3 (τ 0.9): pinball 0.1·1 = 0.1, 0, and
    (0.9 − 1)·(1 − 3) = 0.2 → mean 0.1, crps 0.2. Levels given for columns without them."""
    path = tmp_path / "hand.csv"
    pd.DataFrame({"target": [1.0], "a": [0.0], "b": [1.0], "c": [3.0]}).to_csv(path, index=False)
    got = _values(path, "-l", "mean_pinball:levels=0.1_0.5_0.9", "-l",
                  "crps_quantile:levels=0.1_0.5_0.9", "--quantile-cols", "a,b,c")
    assert got == pytest.approx({"mean_pinball(levels=0.1_0.5_0.9)": 0.1,
                                 "crps_quantile(levels=0.1_0.5_0.9)": 0.2}, rel=1e-15)
    # percentages in the names: q10, q50, q90
    pd.DataFrame({"target": [1.0], "q10": [0.0], "q50": [1.0], "q90": [3.0]}).to_csv(
        path, index=False)
    assert _values(path, "-l", "mean_pinball", "--quantile-cols", "q*") == pytest.approx(
        {"mean_pinball(levels=0.1_0.5_0.9)": 0.1}, rel=1e-15)


@pytest.mark.parametrize("args, words", [
    (("-l", "mean_pinball", "--quantile-cols", "pred,q_0.5"), ["'pred'", "levels="]),
    (("-l", "mean_pinball:levels=0.1_0.5", "--quantile-cols", "q_0.1,q_0.5,q_0.9"),
     ["2 levels", "3 values per row"]),
    (("-l", "mean_pinball:levels=0.1_1.5", "--quantile-cols", "q_0.1,q_0.5"), ["(0, 1)"]),
    (("-l", "crps_quantile"), ["--quantile-cols"]),
    (("-l", "mse", "--quantile-cols", "q_0.1"), ["--quantile-cols", "mean_pinball"]),
])
def test_bad_quantile_inputs_are_one_line_exit_2(args, words):
    proc = run_losscli("eval", "sample_data/forecast.parquet", *args)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and err.count("\n") == 1 and "Traceback" not in err, err
    assert all(w in err for w in words), err


def test_quantile_levels_survive_a_merge_of_saved_states(quantile_file, tmp_path):
    path, frame, _ = quantile_file
    args = ["-l", "mean_pinball", "--quantile-cols", "q_*", "--chunk-size", "7"]
    states = []
    for i, rows in enumerate((slice(0, 21), slice(21, None))):
        part = tmp_path / f"part{i}.parquet"
        frame[rows].to_parquet(part)
        states.append(tmp_path / f"part{i}.state")
        proc = run_losscli("eval", part, *args, "-q", "--save-state", states[-1])
        assert proc.returncode == 0, proc.stderr
    proc = run_losscli("merge", *states, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    merged = {d["label"]: d["value"] for d in json.loads(proc.stdout)["losses"]}
    assert merged == _values(path, *args)
