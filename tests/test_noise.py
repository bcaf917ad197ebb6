"""Gates and comparisons that ignore noise (issue 13): paired tests in ``compare`` (``~`` when
a difference is not significant, the best mark only for a model significantly better than
every other), ``check --ci`` (a bound fails only when the whole interval is beyond it), and
the paired gate ``check --reference-col`` — with its false-alarm rate measured by
simulation."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from losscli.comparison import compare
from losscli.gate import check


@pytest.fixture
def ten_vs_seven(tmp_path):
    """171 rows, label 0; model a wrong on rows 0-9 (10 errors), b on 0-5 and 10 (7): 4 rows
    only a gets wrong, 1 only b — McNemar's exact test: p = 2·P(Bin(5, ½) ≤ 1) = 0.375."""
    n = 171
    a, b = np.zeros(n), np.zeros(n)
    a[:10] = 1.0
    b[:6] = 1.0
    b[10] = 1.0
    path = tmp_path / "ab.parquet"
    pq.write_table(pa.table({"label": np.zeros(n), "a": a, "b": b}), path)
    return path


def test_ten_errors_against_seven_is_noise(cli, ten_vs_seven):
    args = [ten_vs_seven, "--pred-col", "a", "--pred-col", "b", "--target-col", "label",
            "-l", "zero_one", "--task", "binary"]
    doc = json.loads(cli("compare", *args, "-f", "json").stdout)
    (row,) = doc["losses"]
    assert row["values"] == {"a": 10 / 171, "b": 7 / 171}
    assert row["verdict"]["b"] == "~" and row["p_value"]["b"] == pytest.approx(0.375)
    assert row["best"] == [] and row["leader"] == ["b"]
    assert "Holm" in doc["tests"]
    table = cli("compare", *args).stdout
    assert "~" in table and "+42.86 %" not in table


def _models(n, shift, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    return y, {"a": y + rng.normal(0, 1, n), "b": y + rng.normal(0, 1 + shift, n),
               "c": y + rng.normal(0, 1 + 2 * shift, n)}


def test_a_real_difference_is_crowned_and_pairwise_tested():
    y, m = _models(4000, 0.3)
    comp = compare(m, y, losses=["mse", "mae", "rmse", "r2"])
    for row in comp.rows:
        assert comp.best_names(row) == ["a"], row.label  # better than b and c, significantly
        assert row.verdict[1:] == ("worse", "worse")  # b and c against a, whatever the direction
    # b and c alike, a far better: a wins; with only b and c (pure noise apart), nobody does
    y, m = _models(4000, 0.0, seed=1)
    comp = compare({"b": m["b"], "c": m["c"]}, y, losses=["mse"])
    assert comp.best_names(comp.rows[0]) == [] and comp.rows[0].verdict[1] == "~"


def test_compare_bootstrap_paired():
    y, m = _models(2000, 0.3, seed=2)
    comp = compare({"a": m["a"], "b": m["b"]}, y, losses=["mse", "r2"], ci=True,
                   ci_method="bootstrap", replicates=100)
    assert [comp.best_names(r) for r in comp.rows] == [["a"], ["a"]]
    assert comp.rows[0].diff_interval[1][0] > 0  # b's per-row squared errors are larger


def test_paired_gate_passes_noise_and_fails_a_regression(cli, tmp_path):
    rng = np.random.default_rng(3)
    n = 3000
    y = rng.normal(size=n)
    cols = {"target": y, "old": y + rng.normal(0, 1, n), "same": y + rng.normal(0, 1, n),
            "worse": y + rng.normal(0, 1.2, n)}
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table(cols), path)
    base = [path, "--reference-col", "old", "-l", "mse", "-l", "mae", "--rtol", "0.02"]
    noise = cli("check", *base, "--pred-col", "same", "-f", "json")
    assert noise.exit_code == 0, noise.stdout
    doc = json.loads(noise.stdout)
    assert doc["reference"] == "old" and all(c["p_value"] > 0.05 for c in doc["checks"])
    worse = cli("check", *base, "--pred-col", "worse", "-f", "json")
    assert worse.exit_code == 1
    assert all(c["status"] == "fail" and c["diff_interval"][0] > 0.02
               for c in json.loads(worse.stdout)["checks"])


def test_paired_gate_false_alarm_rate():
    """200 candidates that differ from the reference only by noise (the same error
    distribution): at alpha = 0.05 with no tolerance, at most 5 % may fail (± 3 binomial
    standard errors)."""
    rng = np.random.default_rng(4)
    fails = 0
    runs = 200
    for _ in range(runs):
        y = rng.normal(size=300)
        ref = y + rng.normal(0, 1, 300)
        new = y + rng.normal(0, 1, 300)
        res = check(new, y, reference=ref, losses=["mse"])
        fails += not res.passed
    assert fails / runs <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / runs), fails


def test_check_ci_fails_only_when_the_whole_interval_is_beyond(cli, tmp_path):
    rng = np.random.default_rng(5)
    y = rng.normal(size=400)
    path = tmp_path / "p.parquet"
    pq.write_table(pa.table({"pred": y + rng.normal(0, 1, 400), "target": y}), path)
    doc = json.loads(cli("eval", path, "-l", "mse", "--ci", "-f", "json").stdout)
    value, iv = doc["losses"][0]["value"], doc["losses"][0]["interval"]
    inside = (value + iv["low"]) / 2  # below the value, above the interval's low end
    plain = cli("check", path, "-l", "mse", "--max", f"mse={inside}")
    assert plain.exit_code == 1  # the value is above the bound ...
    noisy = cli("check", path, "-l", "mse", "--max", f"mse={inside}", "--ci", "-f", "json")
    assert noisy.exit_code == 0  # ... but the interval reaches it: noise, not a failure
    below = cli("check", path, "-l", "mse", "--max", f"mse={iv['low'] * 0.9}", "--ci")
    assert below.exit_code == 1 and "whole interval" in below.stdout
    # the table shows the interval each value was judged by
    header = below.stdout.splitlines()[0]
    assert "95% interval" in header
    assert f"{iv['low']:.6g}" in below.stdout


def test_check_ci_loss_without_interval_is_a_note_not_a_failure(cli, samples):
    # average_precision of weighted rows has no interval (the per-score bootstrap needs row
    # weights 0/1): judged on its value, said once as a note — the failure reasons are only
    # why it failed (was unweighted AP, which has the per-score bootstrap interval now)
    w = ["--weight-col", "weight"]
    r = cli("check", samples / "binary.csv", "-l", "bce", "-l", "average_precision", "--ci",
            "--min", "average_precision=0.9999", "-f", "json", *w)
    assert r.exit_code == 1
    ap = json.loads(r.stdout)["checks"][1]
    assert ap["label"] == "average_precision" and ap["status"] == "fail"
    assert ap["reasons"] == [f"average_precision = {ap['value']:.6g} is below --min 0.9999"]
    assert len(ap["notes"]) == 1 and ap["notes"][0].startswith(
        "average_precision: no per-score bootstrap with row weights other than 0 or 1")
    assert ap["notes"][0].endswith("; judged on its value")
    table = cli("check", samples / "binary.csv", "-l", "bce", "-l", "average_precision",
                "--ci", "--min", "average_precision=0.9999", *w).stdout.splitlines()
    assert "✗ average_precision = " in "\n".join(table)
    assert any(line.startswith("· average_precision: no per-score bootstrap") for line in table)
    md = cli("check", samples / "binary.csv", "-l", "average_precision", "--ci", "--min",
             "average_precision=0.9999", "-f", "markdown", *w).stdout
    assert "| 95% interval |" in md and "- ℹ️ average_precision: no per-score bootstrap" in md
