"""Operating points (issue 23 item 5): precision_at_recall, recall_at_precision,
threshold_at_fpr and expected_cost, read from the exact ranking state — equal to
scikit-learn's ``precision_recall_curve`` / ``roc_curve`` read the same way (computed here),
on data with ties and sample weights, for chunk sizes 1, 7 and the default and 2 workers,
through the real CLI; with ``bins=`` / ``--auc-bins`` the bound holds the exact value.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import precision_recall_curve, roc_curve

import losscli
from tests.conftest import run_losscli

LOSSES = ("precision_at_recall:min_recall=0.8", "recall_at_precision:min_precision=0.7",
          "threshold_at_fpr:fpr=0.1", "expected_cost:cost_fp=1,cost_fn=5")


def reference(loss: str, s: np.ndarray, y: np.ndarray, w: np.ndarray | None
              ) -> tuple[float, dict[str, float]]:
    """The metric read from scikit-learn's curves, and the TPR / threshold it is read at."""
    name, _, rest = loss.partition(":")
    par = {k: float(v) for k, v in (kv.split("=") for kv in rest.split(",") if kv)}
    if name in ("precision_at_recall", "recall_at_precision"):
        p, r, t = precision_recall_curve(y, s, sample_weight=w)
        if name == "precision_at_recall":
            ok = np.flatnonzero(r >= par.get("min_recall", 0.9))
            k = ok[np.argmax(p[ok])]
            return float(p[k]), {"threshold": float(t[k]), "tpr": float(r[k])}
        # without the appended end point (precision 1, recall 0: "predict nothing")
        ok = np.flatnonzero(p[:-1] >= par.get("min_precision", 0.9))
        if not ok.size:
            return math.nan, {}
        k = ok[np.argmax(r[ok])]
        return float(r[k]), {"threshold": float(t[k]), "tpr": float(r[k])}
    fpr, tpr, thr = roc_curve(y, s, sample_weight=w, drop_intermediate=False)
    if name == "threshold_at_fpr":
        ok = np.flatnonzero(fpr <= par.get("fpr", 0.01))
        j = ok[np.argmax(tpr[ok])]
        if tpr[j] == 0:
            return math.nan, {}
        return float(thr[j]), {"tpr": float(tpr[j]), "fpr": float(fpr[j])}
    ww = np.ones(len(y)) if w is None else w
    pos, neg = float(ww[y == 1].sum()), float(ww[y == 0].sum())
    a, b = par.get("cost_fp", 1.0), par.get("cost_fn", 1.0)
    costs = (a * fpr * neg + b * (1 - tpr) * pos) / (pos + neg)
    j = int(np.argmin(costs))
    return float(costs[j]), ({"threshold": float(thr[j])} if j else {})


def _data(seed: int = 3, n: int = 240, fractional: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    s = np.round(rng.random(n), 1)  # ten distinct scores: many ties
    y = (rng.random(n) < 0.2 + 0.6 * s).astype(int)
    w = rng.integers(0, 4, n).astype(float)  # zero weights too (dropped, as sklearn does)
    if fractional:
        w = w + rng.integers(0, 8, n) / 8  # exact in binary: the same cumulative sums
    return pd.DataFrame({"prob": s, "label": y, "weight": w})


def _json(*args: object) -> dict:
    r = run_losscli(*map(str, args), "--format", "json")
    assert r.returncode == 0, r.stderr.decode()
    assert b"Traceback" not in r.stderr
    return json.loads(r.stdout)


@pytest.mark.parametrize("fractional", [False, True])
def test_cli_equals_sklearn_for_every_chunking_and_two_workers(tmp_path, fractional):
    df = _data(fractional=fractional)
    path = tmp_path / "scores.csv"
    df.to_csv(path, index=False)
    s, y, w = df["prob"].to_numpy(), df["label"].to_numpy(), df["weight"].to_numpy()
    loss_args = [a for loss in LOSSES for a in ("--loss", loss)]
    runs = [("--chunk-size", "1"), ("--chunk-size", "7"), (), ("--chunk-size", "50",
                                                               "--workers", "2")]
    docs = [_json("eval", path, "--weight-col", "weight", *loss_args, *run) for run in runs]
    for loss, got in zip(LOSSES, docs[0]["losses"]):
        want, at = reference(loss, s, y, w)
        assert got["value"] == pytest.approx(want, rel=1e-12, abs=1e-12), loss
        for key, v in at.items():
            assert got["details"]["at"][key] == pytest.approx(v, rel=1e-12), (loss, key)
    # merged across chunks and workers with identical bits
    for doc in docs[1:]:
        assert [(x["value"], x["details"]) for x in doc["losses"]] == [
            (x["value"], x["details"]) for x in docs[0]["losses"]]
    # unweighted too (the integer-count state)
    plain = _json("eval", path, *loss_args, "--chunk-size", "7")
    for loss, got in zip(LOSSES, plain["losses"]):
        assert got["value"] == pytest.approx(reference(loss, s, y, None)[0], rel=1e-12)


def test_table_shows_the_operating_point_and_check_bounds_the_threshold(tmp_path):
    df = _data()
    path = tmp_path / "scores.csv"
    df.to_csv(path, index=False)
    want, at = reference("threshold_at_fpr:fpr=0.1", df["prob"].to_numpy(),
                         df["label"].to_numpy(), None)
    r = run_losscli("eval", path, "--loss", "threshold_at_fpr:fpr=0.1")
    assert r.returncode == 0
    lines = r.stdout.decode().splitlines()
    tpr = next(line for line in lines if "at tpr" in line)
    assert float(tpr.split("|")[2]) == pytest.approx(at["tpr"], rel=1e-5)
    below, above = want - 0.05, want + 0.05
    ok = run_losscli("check", path, "--loss", "threshold_at_fpr:fpr=0.1", "--max",
                     f"threshold_at_fpr={above}", "--min", f"threshold_at_fpr={below}")
    assert ok.returncode == 0, ok.stderr.decode()
    bad = run_losscli("check", path, "--loss", "threshold_at_fpr:fpr=0.1", "--max",
                      f"threshold_at_fpr={below}")
    assert bad.returncode == 1 and b"above --max" in bad.stdout


def test_binned_value_with_a_bound_holding_the_exact_value(tmp_path):
    rng = np.random.default_rng(5)
    s = rng.random(400)
    y = (rng.random(400) < s).astype(int)
    path = tmp_path / "scores.csv"
    pd.DataFrame({"prob": s, "label": y}).to_csv(path, index=False)
    loss_args = [a for loss in LOSSES for a in ("--loss", loss)]
    binned = _json("eval", path, *loss_args, "--auc-bins", "20")
    for loss, got in zip(LOSSES, binned["losses"]):
        exact = reference(loss, s, y, None)[0]
        low, high = got["details"]["bound"]
        low = -math.inf if low is None else low
        high = math.inf if high is None else high
        assert low - 1e-12 <= exact <= high + 1e-12, (loss, low, exact, high)
        assert low <= got["value"] <= high


def test_edge_cases_are_one_line_reasons(tmp_path):
    path = tmp_path / "one_class.csv"
    pd.DataFrame({"prob": [0.2, 0.7, 0.7], "label": [0, 0, 0]}).to_csv(path, index=False)
    doc = _json("eval", path, *[a for loss in LOSSES for a in ("--loss", loss)])
    by = {x["name"]: x for x in doc["losses"]}
    for name in ("precision_at_recall", "recall_at_precision", "threshold_at_fpr"):
        reason = by[name]["details"]["reason"]
        assert by[name]["value"] is None and ("only negative rows" in reason
                                              or "no positive row" in reason), by[name]
    # "predict nothing" costs nothing without positives
    assert by["expected_cost"]["value"] == 0.0
    # no threshold reaches the precision: NaN with the reason, in JSON and in the table
    hard = tmp_path / "hard.csv"
    pd.DataFrame({"prob": [0.9, 0.8, 0.1], "label": [0, 1, 1]}).to_csv(hard, index=False)
    doc = _json("eval", hard, "--loss", "recall_at_precision:min_precision=0.95")
    assert "no threshold reaches precision ≥ 0.95" in doc["losses"][0]["details"]["reason"]
    table = run_losscli("eval", hard, "--loss", "recall_at_precision:min_precision=0.95")
    said = [line for line in table.stderr.decode().splitlines() if "no threshold" in line]
    assert table.returncode == 0 and b"Traceback" not in table.stderr
    assert said == ["losscli: note: recall_at_precision(min_precision=0.95): undefined: no "
                    "threshold reaches precision ≥ 0.95 (the highest is 0.666667)"]
    # multi-class: one line, exit 2, naming what applies
    r = run_losscli("eval", "sample_data/multiclass.csv", "--pred-col", "p_*", "--loss",
                    "precision_at_recall")
    err = r.stderr.decode()
    assert r.returncode == 2 and len(err.strip().splitlines()) == 1
    assert "does not apply to multiclass" in err and "roc_auc" in err
    # a level out of range: one line, exit 2
    r = run_losscli("eval", hard, "--loss", "threshold_at_fpr:fpr=1.5")
    assert r.returncode == 2 and b"Traceback" not in r.stderr and b"fpr" in r.stderr


def test_losses_lists_them_with_their_sklearn_reference():
    r = run_losscli("losses", "--format", "json")
    assert r.returncode == 0
    text = r.stdout.decode()
    for name, ref in (("precision_at_recall", "precision_recall_curve"),
                      ("recall_at_precision", "precision_recall_curve"),
                      ("threshold_at_fpr", "roc_curve"), ("expected_cost", "roc_curve")):
        assert name in text and ref in text


_ROWS = st.lists(st.tuples(st.integers(0, 6), st.booleans(), st.integers(0, 3)),
                 min_size=1, max_size=25)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")
@settings(max_examples=60, deadline=None, derandomize=True)
@given(rows=_ROWS, level=st.sampled_from([0.1, 0.5, 0.75, 1.0]),
       cost_fn=st.sampled_from([0.5, 1.0, 4.0]))
def test_hypothesis_exact_equals_sklearn_and_bins_bound_it(rows, level, cost_fn):
    s = np.array([r[0] / 6 for r in rows])
    y = np.array([int(r[1]) for r in rows])
    w = np.array([float(r[2]) for r in rows])
    if w.sum() == 0:
        return
    losses = [f"precision_at_recall:min_recall={level}",
              f"recall_at_precision:min_precision={level}", f"threshold_at_fpr:fpr={level}",
              f"expected_cost:cost_fp=1,cost_fn={cost_fn}"]
    pos, neg = w[y == 1].sum(), w[y == 0].sum()
    exact = losscli.evaluate(predictions=s, targets=y, weights=w, losses=losses)
    binned = losscli.evaluate(predictions=s, targets=y, weights=w,
                              losses=[f"{loss},bins=4" for loss in losses])
    for loss, got, b in zip(losses, exact.losses, binned.losses):
        if loss.startswith("expected_cost") and min(pos, neg) == 0:
            # one class: predict nothing or everything (roc_curve's rates are NaN here)
            assert got.value == min(cost_fn * pos, neg) / (pos + neg)
            continue
        if pos == 0 or (loss.startswith("threshold") and neg == 0):
            assert got.value is None or math.isnan(got.value)
            assert got.details["reason"]
            continue
        want = reference(loss, s, y, w)[0]
        if math.isnan(want):
            assert (got.value is None or math.isnan(got.value)) and got.details["reason"]
            continue
        assert got.value == pytest.approx(want, rel=1e-12, abs=1e-12), loss
        if b.value is None or math.isnan(b.value):
            continue
        low, high = b.details["bound"]
        assert low - 1e-12 <= want <= high + 1e-12, (loss, low, want, high)


def test_saved_states_merge_to_the_one_run(tmp_path):
    df = _data(seed=9, fractional=True)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    df.iloc[:150].to_csv(first, index=False)
    df.iloc[150:].to_csv(second, index=False)
    df.to_csv(whole := tmp_path / "all.csv", index=False)
    loss_args = [a for loss in (*LOSSES, "precision_at_recall:bins=8")
                 for a in ("--loss", loss)]
    for part, state in ((first, "a.json"), (second, "b.json")):
        _json("eval", part, "--weight-col", "weight", *loss_args, "--save-state",
              tmp_path / state)
    merged = _json("merge", tmp_path / "b.json", tmp_path / "a.json")
    one = _json("eval", whole, "--weight-col", "weight", *loss_args)
    assert [(x["value"], x["details"]) for x in merged["losses"]] == [
        (x["value"], x["details"]) for x in one["losses"]]
