"""threshold_at_fpr is a threshold, not a loss: the registry says it has no better direction
(``direction: none``), so the table, JSON, Markdown and HTML say so, ``compare`` marks no
winner, ``check --baseline`` notes its change without failing on it, and explicit
``--max``/``--min`` bounds still gate it — through the real CLI.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from tests.conftest import run_losscli

LOSS = "threshold_at_fpr:fpr=0.2"


def _data(tmp_path, seed: int = 2, n: int = 300):
    rng = np.random.default_rng(seed)
    s = np.round(rng.random(n), 2)
    y = (rng.random(n) < s).astype(int)
    other = np.round(np.clip(s * 0.7 + 0.1 + rng.normal(0, 0.05, n), 0, 1), 2)
    path = tmp_path / "scores.csv"
    pd.DataFrame({"prob": s, "prob_b": other, "label": y}).to_csv(path, index=False)
    return path, s, y, other


def _threshold(s: np.ndarray, y: np.ndarray, fpr_max: float = 0.2) -> float:
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    ok = np.flatnonzero(fpr <= fpr_max)
    return float(thr[ok[np.argmax(tpr[ok])]])


def _json(*args: object) -> dict:
    r = run_losscli(*map(str, args), "--format", "json")
    assert r.returncode in (0, 1), r.stderr.decode()
    return json.loads(r.stdout)


def test_reports_say_it_has_no_better_direction(tmp_path):
    path, s, y, _ = _data(tmp_path)
    doc = _json("eval", path, "--loss", LOSS, "--loss", "roc_auc")
    point, auc = doc["losses"]
    assert point["value"] == _threshold(s, y)
    assert point["direction"] == "none" and "direction" not in auc  # said when informational
    table = run_losscli("eval", path, "--loss", LOSS).stdout.decode()
    row = next(line for line in table.splitlines() if line.startswith(" threshold_at_fpr"))
    assert row.rstrip().endswith("none") and "lower" not in row
    md = run_losscli("eval", path, "--loss", LOSS, "--format", "markdown").stdout.decode()
    assert "| none |" in md
    page = tmp_path / "page.html"
    assert run_losscli("eval", path, "--loss", LOSS, "--html", page).returncode == 0
    assert '<span class="nowrap">none</span>' in page.read_text()
    listing = json.loads(run_losscli("losses", "--format", "json").stdout)
    entry = next(x for x in listing if x["name"] == "threshold_at_fpr") if isinstance(
        listing, list) else listing["threshold_at_fpr"]
    assert entry["direction"] == "none"


def test_compare_marks_no_winner_for_it(tmp_path):
    path, s, y, other = _data(tmp_path)
    assert _threshold(s, y) != _threshold(other, y)
    doc = _json("compare", path, "--pred-col", "prob", "--pred-col", "prob_b", "--loss", LOSS,
                "--loss", "roc_auc")
    point = next(r for r in doc["losses"] if r["name"] == "threshold_at_fpr")
    assert point["direction"] == "none"
    assert point["best"] == [] and point["leader"] == []
    assert point["values"]["prob"] == _threshold(s, y)
    auc = next(r for r in doc["losses"] if r["name"] == "roc_auc")
    assert auc["leader"]  # the score still has a leader


def test_check_baseline_notes_its_change_and_bounds_still_gate(tmp_path):
    path, s, y, other = _data(tmp_path)
    base = tmp_path / "base.json"
    saved = run_losscli("check", path, "--pred-col", "prob_b", "--loss", LOSS, "--save", base)
    assert saved.returncode == 0, saved.stderr.decode()
    # the threshold moved: noted, not failed (a loss that moved this much would fail)
    r = run_losscli("check", path, "--pred-col", "prob", "--loss", LOSS, "--baseline", base,
                    "--format", "json")
    assert r.returncode == 0, (r.stdout.decode(), r.stderr.decode())
    doc = json.loads(r.stdout)
    verdict = doc["checks"][0]
    assert verdict["direction"] == "none" and verdict["passed"]
    assert verdict["baseline"] == _threshold(other, y)
    assert verdict["change"] == _threshold(s, y) - _threshold(other, y)
    assert any("informational" in n for n in verdict["notes"])
    # a baseline alone does not judge it: unchecked ("—"), not "pass"; a bound does
    assert verdict["status"] == "unchecked", verdict["status"]
    bounded = run_losscli("check", path, "--pred-col", "prob", "--loss", LOSS, "--baseline",
                          base, "--max", "threshold_at_fpr=1", "--format", "json")
    assert json.loads(bounded.stdout)["checks"][0]["status"] == "pass"
    # explicit bounds still gate it
    want = _threshold(s, y)
    bad = run_losscli("check", path, "--pred-col", "prob", "--loss", LOSS, "--baseline", base,
                      "--max", f"threshold_at_fpr={want - 0.01}")
    assert bad.returncode == 1 and b"above --max" in bad.stdout
    low = run_losscli("check", path, "--pred-col", "prob", "--loss", LOSS, "--min",
                      f"threshold_at_fpr={want + 0.01}")
    assert low.returncode == 1 and b"below --min" in low.stdout
