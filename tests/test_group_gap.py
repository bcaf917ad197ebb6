"""--group-gap difference|ratio and check --max-gap/--min-gap-ratio (issue 23 item 4): the gap
between the groups of --group-by equals fairlearn's MetricFrame.difference()/.ratio()
(method="between_groups") computed here, at chunk sizes 1 and default and with 2 workers,
weighted and not; the worst group by the loss's direction; its bootstrap interval from the
groups' joint replicates (coverage by simulation) and n/a with the reason under analytic
intervals; the gate through the verdict machinery (exit 1, JSON failed, Markdown, JUnit,
GitHub annotations); one-line usage errors (exit 2)."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losscli
from losscli.errors import UsageError
from losscli.present.check_text import render_check
from losscli.render import render
from tests.conftest import run_losscli

fairlearn_metrics = pytest.importorskip("fairlearn.metrics")
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    mean_absolute_error,
    mean_squared_error,
    r2_score,
)

REGRESSION = {"mse": mean_squared_error, "mae": mean_absolute_error, "r2": r2_score}


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def _frame(metrics: dict, df: pd.DataFrame, weighted: bool):
    params = {k: {"sample_weight": df["w"].to_numpy()} for k in metrics} if weighted else None
    return fairlearn_metrics.MetricFrame(
        metrics=metrics, y_true=df["target"].to_numpy(), y_pred=df["pred"].to_numpy(),
        sensitive_features=df["g"].to_numpy(), sample_params=params)


def _regression_data(seed: int = 3, n: int = 240) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array(["north", "south", "east", "west"]), n, p=[0.4, 0.3, 0.2, 0.1])
    y = rng.normal(size=n).round(2)  # ties
    scale = pd.Series(g).map({"north": 0.5, "south": 1.0, "east": 1.5, "west": 2.0}).to_numpy()
    pred = (y + rng.normal(size=n) * scale).round(2)
    w = rng.integers(1, 4, n).astype(float)
    return pd.DataFrame({"pred": pred, "target": y, "w": w, "g": g})


def _key(row_key: dict) -> str:
    return row_key["g"]


@pytest.mark.parametrize("method, weighted, extra", [
    ("difference", False, []),
    ("ratio", True, ["--chunk-size", "1"]),
    ("difference", True, ["--chunk-size", "7", "--workers", "2"]),
    ("ratio", False, ["--chunk-size", "1", "--workers", "2"]),
])
def test_eval_gap_equals_fairlearn(tmp_path, method, weighted, extra):
    df = _regression_data()
    path = tmp_path / "preds.csv"
    df.to_csv(path, index=False)
    args = ["eval", path, "--group-by", "g", "--group-gap", method, "-l", "mse", "-l", "mae",
            "-l", "r2", "--format", "json", *extra]
    if weighted:
        args += ["--weight-col", "w"]
    proc = run_losscli(*args)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    frame = _frame(REGRESSION, df, weighted)
    expected = (frame.difference(method="between_groups") if method == "difference"
                else frame.ratio(method="between_groups"))
    by_group = frame.by_group
    for entry in doc["losses"]:
        gap = entry["group_gap"]
        name = entry["name"]
        assert gap["method"] == method and gap["groups"] == 4
        assert _close(gap["value"], float(expected[name])), (name, gap, expected[name])
        values = by_group[name]
        assert _key(gap["min_group"]) == values.idxmin()
        assert _key(gap["max_group"]) == values.idxmax()
        assert _close(gap["min"], float(values.min())) and _close(gap["max"], float(values.max()))
        # the worst group by the loss's direction: r2 is better higher
        worst = values.idxmin() if entry["higher_is_better"] else values.idxmax()
        assert _key(gap["worst_group"]) == worst
        assert gap["higher_is_better"] is (method == "ratio")


def test_binary_accuracy_gap_equals_fairlearn_and_worst_is_lowest(tmp_path):
    rng = np.random.default_rng(11)
    n = 300
    g = rng.choice(np.array(["a", "b", "c"]), n)
    y = rng.integers(0, 2, n)
    flip = rng.random(n) < pd.Series(g).map({"a": 0.1, "b": 0.3, "c": 0.2}).to_numpy()
    pred = np.where(flip, 1 - y, y)
    df = pd.DataFrame({"pred": pred, "target": y, "g": g})
    path = tmp_path / "binary.csv"
    df.to_csv(path, index=False)
    for method in ("difference", "ratio"):
        proc = run_losscli("eval", path, "--task", "binary", "-l", "accuracy", "--group-by", "g",
                           "--group-gap", method, "--format", "json", "--chunk-size", "1")
        assert proc.returncode == 0, proc.stderr
        gap = json.loads(proc.stdout)["losses"][0]["group_gap"]
        frame = fairlearn_metrics.MetricFrame(metrics=accuracy_score, y_true=y, y_pred=pred,
                                              sensitive_features=g)
        want = (frame.difference(method="between_groups") if method == "difference"
                else frame.ratio(method="between_groups"))
        assert _close(gap["value"], float(want))
        assert gap["worst_group"] == {"g": frame.by_group.idxmin()}  # accuracy: higher better


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(sizes=st.lists(st.integers(1, 9), min_size=1, max_size=5),
       labels=st.sampled_from([["a", "b", "c", "d", "e"], [3, 1, 2, 5, 4],
                               ["z", "", "é", "0", "null"]]),
       seed=st.integers(0, 10_000), exact=st.booleans())
def test_api_gap_equals_fairlearn_over_group_labels_and_sizes(sizes, labels, seed, exact):
    rng = np.random.default_rng(seed)
    g = np.concatenate([[labels[i]] * n for i, n in enumerate(sizes)])
    g = g[rng.permutation(len(g))]
    y = rng.integers(-3, 4, len(g)).astype(float)
    # exact predictions in some group make its mse 0: a ratio over a largest value of 0
    pred = y.copy() if exact else y + rng.integers(-2, 3, len(g))
    df = pd.DataFrame({"pred": pred, "target": y, "g": g})
    frame = (_frame({"mse": mean_squared_error, "mae": mean_absolute_error}, df, False)
             if len(sizes) > 1 else None)  # (fairlearn refuses a single row)
    for method in ("difference", "ratio"):
        report = losscli.evaluate(df, losses=["mse", "mae"], group_by="g", group_gap=method,
                                  chunk_size=int(rng.integers(1, 5)))
        for res in report.losses:
            gap = res.group_gap
            assert gap is not None and gap["groups"] == len(sizes)
            if frame is None:
                assert gap["value"] is None and "at least 2" in gap["reason"]
                continue
            want = (frame.difference(method="between_groups") if method == "difference"
                    else frame.ratio(method="between_groups"))
            expected = float(want[res.name])
            if not math.isfinite(expected):  # fairlearn: 0/0 = NaN (a largest value of 0)
                assert gap["value"] is None and "largest group value is 0" in gap["reason"]
            else:
                assert _close(gap["value"], expected), (res.name, method, gap, expected)


def test_table_markdown_and_html_show_the_gap_escaped(tmp_path):
    df = pd.DataFrame({"pred": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                       "target": [1.5, 2.0, 2.5, 5.0, 5.5, 4.0],
                       "g": ["<b>x</b>", "<b>x</b>", "b", "b", "c|d", "c|d"]})
    path = tmp_path / "g.csv"
    df.to_csv(path, index=False)
    table = run_losscli("eval", path, "--group-by", "g", "--group-gap", "difference",
                        "-l", "mse")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.decode().splitlines()
    gap_row = next(line for line in lines if "(gap: difference)" in line)
    assert "2" in gap_row.split("|")[-1]
    assert any("mse: gap (difference) 2 = 2.125 (g=c|d, worst) − 0.125 (g=<b>x</b>)" in line
               for line in lines)
    md, out = io.StringIO(), io.StringIO()  # the renderers the CLI prints with
    render(losscli.evaluate(df, losses=["mse"], group_by="g", group_gap="ratio"), "markdown", md)
    assert "| (gap: ratio) |" in md.getvalue() and "g=c\\|d, worst" in md.getvalue()
    render(losscli.evaluate(df, losses=["mse"], group_by="g", group_gap="difference"), "csv", out)
    csv = out.getvalue().splitlines()
    assert csv[-1] == "gap,,3,mse,mse,,2.0,false"  # scope gap: rows = the groups compared
    html = tmp_path / "page.html"
    proc = run_losscli("eval", path, "--group-by", "g", "--group-gap", "difference",
                       "-l", "mse", "--html", html, "-q")
    assert proc.returncode == 0, proc.stderr
    page = html.read_text()
    assert "gap (difference)" in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "<b>x</b>" not in page


def test_bootstrap_interval_and_analytic_na_with_reason(tmp_path):
    df = _regression_data(seed=5, n=400)
    path = tmp_path / "preds.csv"
    df.to_csv(path, index=False)
    doc = json.loads(run_losscli("eval", path, "--group-by", "g", "--group-gap", "difference",
                                 "-l", "mse", "--ci", "--ci-method", "bootstrap", "--format",
                                 "json").stdout)
    gaps = [doc["losses"][0]["group_gap"], *(
        losscli.evaluate(path, losses=["mse"], group_by="g", group_gap="difference", ci=True,
                         ci_method="bootstrap", **extra).losses[0].group_gap
        for extra in ({"chunk_size": 1}, {"chunk_size": 9, "workers": 2}))]
    for other in gaps[1:]:  # the same for any chunking or workers (within 1e-12)
        assert {k: v for k, v in other.items() if k not in ("value", "min", "max",
                                                              "interval")} == {
            k: v for k, v in gaps[0].items() if k not in ("value", "min", "max", "interval")}
        for k in ("value", "min", "max"):
            assert _close(other[k], gaps[0][k])
        for k in ("low", "high"):
            assert _close(other["interval"][k], gaps[0]["interval"][k])
    iv = gaps[0]["interval"]
    assert iv["method"] == "percentile" and iv["low"] < gaps[0]["value"] < iv["high"]
    analytic = run_losscli("eval", path, "--group-by", "g", "--group-gap", "difference",
                           "-l", "mse", "--ci")
    text = analytic.stdout.decode()
    gap_row = next(line for line in text.splitlines() if "(gap: difference)" in line)
    assert "n/a" in gap_row
    assert "interval n/a: no interval for a gap between groups from analytic intervals" in text
    doc = json.loads(run_losscli("eval", path, "--group-by", "g", "--group-gap", "difference",
                                 "-l", "mse", "-l", "max_error", "--ci", "--ci-method",
                                 "bootstrap", "--format", "json").stdout)
    why = doc["losses"][1]["group_gap"]["interval"]
    assert why["low"] is None and "maximum is inconsistent" in why["reason"]


def test_bootstrap_gap_interval_coverage():
    """Two groups whose residuals have standard deviations 1 and 2: the true mse gap is
    4 − 1 = 3. The 90% percentile interval of the joint bootstrap covers it in about 90%
    of the simulations (binomial tolerance: 3 standard deviations)."""
    sims, level, n = 120, 0.90, 300
    covered = 0
    for s in range(sims):
        rng = np.random.default_rng(1000 + s)
        g = rng.integers(0, 2, n)
        e = rng.normal(size=n) * np.where(g == 1, 2.0, 1.0)
        report = losscli.evaluate(
            pd.DataFrame({"pred": e, "target": 0.0, "g": g}), losses=["mse"], group_by="g",
            group_gap="difference", ci=True, ci_method="bootstrap", ci_level=level,
            replicates=200, seed=s)
        iv = report.losses[0].group_gap["interval"]
        covered += iv["low"] <= 3.0 <= iv["high"]
    rate = covered / sims
    sd = math.sqrt(level * (1 - level) / sims)
    assert abs(rate - level) <= 3 * sd + 0.02, rate  # 0.02: the percentile bootstrap's bias


def test_fewer_than_two_groups_is_na_with_reason(tmp_path):
    path = tmp_path / "one.csv"
    pd.DataFrame({"pred": [1.0, 2.0], "target": [1.0, 3.0], "g": ["a", "a"]}).to_csv(
        path, index=False)
    proc = run_losscli("eval", path, "--group-by", "g", "--group-gap", "difference", "-l",
                       "mse", "--format", "json")
    gap = json.loads(proc.stdout)["losses"][0]["group_gap"]
    assert gap["value"] is None and gap["reason"] == "1 group with a value: a gap needs at least 2"
    table = run_losscli("eval", path, "--group-by", "g", "--group-gap", "difference",
                        "-l", "mse").stdout.decode()
    assert "mse: gap (difference) n/a: 1 group with a value: a gap needs at least 2" in table


@pytest.mark.parametrize("args, words", [
    (["eval", "--group-gap", "difference"], "--group-gap difference compares the groups"),
    (["eval", "--group-by", "g", "--group-gap", "spread"], "group_gap must be one of"),
    (["check", "--max-gap", "mse=0.1"], "--max-gap bounds the gap between the groups"),
    (["check", "--group-by", "g", "--max-gap", "mse=0.1", "--group-gap", "ratio"],
     "use --min-gap-ratio for the ratio"),
])
def test_usage_errors_are_one_line_exit_2(tmp_path, args, words):
    path = tmp_path / "g.csv"
    pd.DataFrame({"pred": [1.0, 2.0], "target": [1.0, 3.0], "g": ["a", "b"]}).to_csv(
        path, index=False)
    proc = run_losscli(args[0], path, "-l", "mse", *args[1:])
    err = proc.stderr.decode().strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1, proc.stderr
    assert words in err[0] and "Traceback" not in err[0]


@pytest.mark.parametrize("options, words", [
    ({"max_gap": {"mse": 0.1}, "min_gap_ratio": {"mse": 0.5}}, "give one of them"),
    ({"max_gap": ["mse=abc"]}, "--max-gap mse=abc"),
    ({"max_gap": {"msee": 1}}, "msee"),
    ({"min_gap_ratio": {"mse": "0.5"}}, "min_gap_ratio takes"),
])
def test_api_gap_bounds_usage_errors(options, words):
    df = pd.DataFrame({"pred": [1.0, 2.0], "target": [1.0, 3.0], "g": ["a", "b"]})
    with pytest.raises(UsageError, match=words):
        losscli.check(df, losses=["mse"], group_by="g", **options)


def test_check_max_gap_gates_through_the_verdict(tmp_path):
    df = _regression_data()
    path = tmp_path / "preds.csv"
    df.to_csv(path, index=False)
    gap = float(_frame(REGRESSION, df, False).difference(method="between_groups")["mse"])
    base = ["check", path, "--group-by", "g", "-l", "mse", "-l", "mae"]
    passed = run_losscli(*base, "--max-gap", f"mse={gap * 1.01}", "--format", "json")
    assert passed.returncode == 0, passed.stderr
    doc = json.loads(passed.stdout)
    assert doc["passed"] and doc["failed"] == []
    failed = run_losscli(*base, "--max-gap", f"mse={gap * 0.5}", "--format", "json")
    assert failed.returncode == 1
    doc = json.loads(failed.stdout)
    assert doc["failed"] == ["group gap: mse"]
    check = next(c for c in doc["checks"] if c.get("gap"))
    assert check["status"] == "fail" and "above --max-gap" in check["reasons"][0]
    assert "worst group g=west" in check["reasons"][0] or "worst group g=" in check["reasons"][0]
    assert failed.stderr.decode().strip().endswith("check failed: group gap: mse")
    result = losscli.check(df, losses=["mse", "mae"], group_by="g", max_gap={"mse": gap / 2})
    md, junit = io.StringIO(), io.StringIO()  # the renderers the CLI prints with
    render_check(result, "markdown", md)
    render_check(result, "junit", junit)
    assert "### ❌ losscli check failed: `group gap: mse`" in md.getvalue()
    assert '<testcase name="group gap: mse"' in junit.getvalue()
    assert "<failure" in junit.getvalue().split('name="group gap: mse"')[1].split(
        "</testcase>")[0]
    summary = tmp_path / "summary.md"
    gh = run_losscli(*base, "--max-gap", f"mse={gap * 0.5}",
                     env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert gh.returncode == 1
    assert "::error title=losscli check%3A group gap%3A mse failed::" in gh.stderr.decode()
    assert "group gap: mse" in summary.read_text()


def test_check_min_gap_ratio_and_the_api(tmp_path):
    df = _regression_data()
    ratio = float(_frame(REGRESSION, df, False).ratio(method="between_groups")["mae"])
    good = losscli.check(df, losses=["mae"], group_by="g", min_gap_ratio={"mae": ratio * 0.9})
    assert good.passed and good.verdicts[-1].label == "group gap: mae"
    assert _close(good.verdicts[-1].value, ratio)
    bad = losscli.check(df, losses=["mae"], group_by="g", min_gap_ratio={"mae": ratio * 1.1})
    assert not bad.passed and bad.outcome.failed == ["group gap: mae"]
    assert "below --min-gap-ratio" in bad.verdicts[-1].reasons[0]
    diff = losscli.check(df, losses=["mae"], group_by="g", max_gap=["mae=100"])
    assert diff.passed and diff.report.losses[0].group_gap["method"] == "difference"
    with pytest.raises(UsageError, match="--max-gap bounds the gap"):
        losscli.check(df, losses=["mae"], max_gap={"mae": 1.0})
    path = tmp_path / "p.csv"
    df.to_csv(path, index=False)
    cli = run_losscli("check", path, "--group-by", "g", "-l", "mae", "--min-gap-ratio",
                      f"mae={ratio * 1.1}", "--format", "json")
    assert cli.returncode == 1 and json.loads(cli.stdout)["failed"] == ["group gap: mae"]


def test_check_max_gap_with_ci_fails_only_when_the_whole_interval_is_beyond(tmp_path):
    df = _regression_data(seed=8, n=200)
    report = losscli.evaluate(df, losses=["mse"], group_by="g", group_gap="difference",
                              ci=True, ci_method="bootstrap")
    gap = report.losses[0].group_gap
    low, high, value = gap["interval"]["low"], gap["interval"]["high"], gap["value"]
    within = losscli.check(df, losses=["mse"], group_by="g", ci=True, ci_method="bootstrap",
                           max_gap={"mse": (low + value) / 2})
    assert within.passed and "within noise" in within.verdicts[-1].reasons[0]
    beyond = losscli.check(df, losses=["mse"], group_by="g", ci=True, ci_method="bootstrap",
                           max_gap={"mse": low * 0.9})
    assert not beyond.passed and "whole 95% interval" in beyond.verdicts[-1].reasons[0]
    assert high > value


def test_merged_states_keep_the_gap(tmp_path):
    # parts evaluated apart with --group-gap merge into the gap of one run over all rows
    from fairlearn.metrics import MetricFrame
    from sklearn.metrics import mean_squared_error

    rng = np.random.default_rng(17)
    n = 900
    frame = pd.DataFrame({"pred": rng.normal(size=n), "target": rng.normal(size=n),
                          "site": rng.choice(["a", "b", "c"], n)})
    frame.loc[frame.site == "c", "pred"] += 1.0
    paths = []
    for i, part in enumerate((frame.iloc[:400], frame.iloc[400:])):
        part.to_parquet(tmp_path / f"{i}.parquet")
        state = tmp_path / f"{i}.state"
        proc = run_losscli("eval", tmp_path / f"{i}.parquet", "-l", "mse", "--group-by",
                           "site", "--group-gap", "difference", "--save-state", state, "-q")
        assert proc.returncode == 0, proc.stderr.decode()
        paths.append(state)
    proc = run_losscli("merge", *reversed(paths), "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    gap = json.loads(proc.stdout)["losses"][0]["group_gap"]
    mf = MetricFrame(metrics=mean_squared_error, y_true=frame.target, y_pred=frame.pred,
                     sensitive_features=frame.site)
    assert gap["value"] == pytest.approx(mf.difference(method="between_groups"), rel=1e-12)
    assert gap["worst_group"] == {"site": "c"}


def test_informational_loss_gap_names_no_worst_group(tmp_path):
    """threshold_at_fpr has no better direction: its gap names both ends and no 'worst'
    (JSON worst_group null, the table line, a --max-gap reason), the gap's value still
    scikit-learn's thresholds per group subtracted."""
    from sklearn.metrics import roc_curve

    rng = np.random.default_rng(5)
    n = 600
    site = rng.choice(["a", "b", "c"], n)
    y = rng.integers(0, 2, n)
    p = np.clip(0.35 * y + rng.random(n) * 0.7 + (site == "c") * 0.1, 0, 1).round(4)
    path = tmp_path / "s.csv"
    pd.DataFrame({"p": p, "y": y, "site": site}).to_csv(path, index=False)
    args = (path, "--pred-col", "p", "--target-col", "y", "-l", "threshold_at_fpr:fpr=0.1",
            "--group-by", "site", "--group-gap", "difference")
    doc = json.loads(run_losscli("eval", *args, "-f", "json").stdout)
    gap = doc["losses"][0]["group_gap"]
    assert gap["worst_group"] is None

    def threshold(mask: np.ndarray) -> float:
        fpr, tpr, th = roc_curve(y[mask], p[mask], drop_intermediate=False)
        i = np.flatnonzero(fpr <= 0.1)
        return float(th[i[np.argmax(tpr[i])]])

    per = [threshold(site == s) for s in "abc"]
    assert gap["value"] == pytest.approx(max(per) - min(per), rel=1e-12)
    proc = run_losscli("eval", *args)
    table = proc.stdout.decode() + proc.stderr.decode()
    gap_lines = [line for line in table.splitlines() if "gap (difference)" in line]
    assert gap_lines and not any("worst" in line for line in gap_lines)
    proc = run_losscli("check", *args, "--max-gap", "threshold_at_fpr(fpr=0.1)=0.0001")
    assert proc.returncode == 1, proc.stderr.decode()
    out = proc.stdout.decode() + proc.stderr.decode()
    assert "worst group" not in out and "site=a" in out and "site=c" in out
