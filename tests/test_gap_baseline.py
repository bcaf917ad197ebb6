"""check --baseline compares the gap between groups with the baseline's (a baseline written
with --group-gap records it): the gap computed here with pandas (the same definition
fairlearn's MetricFrame.difference()/.ratio() use — test_group_gap checks that), judged
with the loss's --rtol/--atol through the one baseline comparison every verdict uses; the
baseline's method adopted when the run names none; a method mismatch a note; a malformed
baseline gap one line, exit 2. All through the real entry point."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_losscli


def _data(seed: int, shift: float = 0.0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array(["a", "b", "c"]), n)
    y = rng.normal(size=n)
    pred = y + rng.normal(size=n) * np.where(g == "c", 1.5, 1.0)
    pred = pred + np.where(g == "c", shift, 0.0)
    return pd.DataFrame({"pred": pred, "target": y, "g": g})


def _gaps(df: pd.DataFrame) -> dict[str, dict[str, float]]:
    per = {"mse": df.assign(v=(df.pred - df.target) ** 2).groupby("g").v.mean(),
           "mae": df.assign(v=(df.pred - df.target).abs()).groupby("g").v.mean()}
    return {k: {"difference": float(v.max() - v.min()), "ratio": float(v.min() / v.max())}
            for k, v in per.items()}


def _checks(proc) -> dict[str, dict]:
    return {c["label"]: c for c in json.loads(proc.stdout)["checks"]}


@pytest.mark.parametrize("method", ["difference", "ratio"])
def test_gap_worse_than_the_baseline_fails_and_names_the_change(tmp_path, method):
    base_df, new_df = _data(1), _data(1, shift=0.6)
    base_df.to_parquet(tmp_path / "base.parquet")
    new_df.to_parquet(tmp_path / "new.parquet")
    saved = run_losscli("check", tmp_path / "base.parquet", "--group-by", "g", "-l", "mse",
                        "-l", "mae", "--group-gap", method, "--save", tmp_path / "b.json")
    assert saved.returncode == 0, saved.stderr
    # the run names no --group-gap: the baseline's method is adopted
    proc = run_losscli("check", tmp_path / "new.parquet", "--group-by", "g", "--baseline",
                       tmp_path / "b.json", "-f", "json")
    assert proc.returncode == 1, proc.stderr
    checks = _checks(proc)
    want_base, want_new = _gaps(base_df), _gaps(new_df)
    for loss in ("mse", "mae"):
        c = checks[f"group gap: {loss}"]
        assert c["gap"] is True and c["in_baseline"] is True
        assert c["baseline"] == pytest.approx(want_base[loss][method], rel=1e-12)
        assert c["value"] == pytest.approx(want_new[loss][method], rel=1e-12)
        assert c["change"] == pytest.approx(want_new[loss][method] - want_base[loss][method],
                                            rel=1e-9, abs=1e-12)
        worse = (c["change"] < 0) if method == "ratio" else (c["change"] > 0)
        assert worse and c["status"] == "fail"
        assert "got worse" in c["reasons"][0] and "worst group g=c" in c["reasons"][0]
    assert "group gap: mse" in json.loads(proc.stdout)["failed"]


def test_gap_within_rtol_passes_and_same_gap_is_same(tmp_path):
    base_df, new_df = _data(2), _data(2, shift=0.05)
    base_df.to_parquet(tmp_path / "base.parquet")
    new_df.to_parquet(tmp_path / "new.parquet")
    assert run_losscli("check", tmp_path / "base.parquet", "--group-by", "g", "-l", "mse",
                       "--group-gap", "difference", "--save", tmp_path / "b.json").returncode == 0
    change = _gaps(new_df)["mse"]["difference"] - _gaps(base_df)["mse"]["difference"]
    rel = abs(change) / _gaps(base_df)["mse"]["difference"]
    loose = run_losscli("check", tmp_path / "new.parquet", "--group-by", "g", "--baseline",
                        tmp_path / "b.json", "--rtol", f"mse={2 * rel + 0.5}", "-f", "json")
    assert loose.returncode == 0, loose.stdout
    assert _checks(loose)["group gap: mse"]["status"] in ("pass", "improved")
    tight = run_losscli("check", tmp_path / "new.parquet", "--group-by", "g", "--baseline",
                        tmp_path / "b.json", "--rtol", f"mse={rel / 2}", "-f", "json")
    expect = 1 if change > 0 else 0
    assert tight.returncode in (expect, 1)  # the loss itself may fail too
    assert _checks(tight)["group gap: mse"]["status"] == ("fail" if change > 0 else "improved")
    same = run_losscli("check", tmp_path / "base.parquet", "--group-by", "g", "--baseline",
                       tmp_path / "b.json", "-f", "json")
    assert same.returncode == 0 and _checks(same)["group gap: mse"]["status"] == "same"


def test_gap_with_ci_fails_only_when_the_whole_interval_is_worse(tmp_path):
    base_df = _data(3)
    base_df.to_parquet(tmp_path / "base.parquet")
    assert run_losscli("check", tmp_path / "base.parquet", "--group-by", "g", "-l", "mse",
                       "--group-gap", "difference", "--save", tmp_path / "b.json").returncode == 0
    for shift, fails in ((0.02, False), (2.0, True)):
        _data(3, shift=shift).to_parquet(tmp_path / "new.parquet")
        proc = run_losscli("check", tmp_path / "new.parquet", "--group-by", "g", "--baseline",
                           tmp_path / "b.json", "--ci", "--ci-method", "bootstrap",
                           "--replicates", "200", "-f", "json")
        c = _checks(proc)["group gap: mse"]
        low, _high = c["interval"]
        assert (c["status"] == "fail") == fails == (low > c["baseline"]), c


def test_method_mismatch_is_a_note_and_bad_baseline_gap_is_one_line(tmp_path):
    df = _data(4)
    df.to_parquet(tmp_path / "d.parquet")
    assert run_losscli("check", tmp_path / "d.parquet", "--group-by", "g", "-l", "mse",
                       "--group-gap", "ratio", "--save", tmp_path / "b.json").returncode == 0
    proc = run_losscli("check", tmp_path / "d.parquet", "--group-by", "g", "--baseline",
                       tmp_path / "b.json", "--group-gap", "difference", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    c = _checks(proc)["group gap: mse"]
    assert c["status"] == "unchecked" and "not compared" in c["notes"][0]
    doc = json.loads((tmp_path / "b.json").read_text())
    doc["losses"][0]["group_gap"] = {"method": "widest", "value": 1.0}
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    bad = run_losscli("check", tmp_path / "d.parquet", "--group-by", "g", "--baseline",
                      tmp_path / "bad.json")
    assert bad.returncode == 2
    lines = bad.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and "group_gap" in lines[0] and "Traceback" not in lines[0]
