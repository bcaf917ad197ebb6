"""Terminal pictures (losscli.plot): histograms of a per-row loss from the quantile sketch,
reliability diagrams from the calibration state, per-group bars with intervals, overlays.

What is checked: the sketch's bucket bounds hold every value and the whole weight; the
histogram's columns carry the data's weight (against ``np.histogram``, within the weight of
the buckets cut by a column edge) and the bars are drawn in proportion; heavy tails
(lognormal σ = 3) switch to a log axis and light ones do not; every quantile, ECE, MCE,
count, value and interval bound is printed whole and equal to the number computed here;
labels wrap but keep every character; no line is wider than asked (80–200 columns);
control characters in names never reach the terminal; empty inputs say why. Then the same
pictures in a real pseudo-terminal (80 and 160 columns): colour, bars, whole numbers,
nothing wider than the terminal — and plain text with NO_COLOR or into a pipe.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import numpy as np
import pyarrow.csv as pacsv
import pytest

from losscli import plot
from losscli.stats.calibration import CalibrationError
from losscli.stats.sketch import QuantileSketch
from tests.conftest import ROOT, SAMPLES, run_pty

WIDTHS = [80, 120, 160, 200]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def sketch_of(x, w=None, **kw) -> QuantileSketch:
    s = QuantileSketch(**kw)
    s.update(np.asarray(x, dtype=float), None if w is None else np.asarray(w, dtype=float))
    return s


def lognormal(n=50_000, sigma=3.0, seed=0):
    return np.random.default_rng(seed).lognormal(0.0, sigma, n)


def regression_errors():
    t = pacsv.read_csv(SAMPLES / "regression.csv").to_pydict()
    pred, target = np.array(t["pred"]), np.array(t["target"])
    return pred, target, np.array(t["weight"])


def binary_calibration(weighted=False):
    t = pacsv.read_csv(SAMPLES / "binary.csv").to_pydict()
    p, y, w = np.array(t["prob"]), np.array(t["label"]), np.array(t["weight"])
    cal = CalibrationError(15)
    cal.update(p, y, w if weighted else None)
    return cal, p, y, w


def fits(pic: plot.Picture, width: int) -> None:
    for line in pic.text_lines():
        assert plot.cells(line) <= width, (width, plot.cells(line), line)


# ---------------------------------------------------------------------------------------
# the sketch's buckets

def test_bucket_bounds_hold_every_value_and_the_whole_weight():
    rng = np.random.default_rng(1)
    x = np.r_[lognormal(20_000), -rng.lognormal(0, 1, 5_000), np.zeros(300)]
    w = rng.uniform(0.1, 3.0, x.size)
    for weights in (None, w):
        s = sketch_of(x, weights)
        buckets = s.bucket_bounds()
        lows = np.array([b[0] for b in buckets])
        highs = np.array([b[1] for b in buckets])
        assert (lows <= highs).all() and (highs[:-1] <= lows[1:]).all()  # ordered, disjoint
        total = sum(b[2] for b in buckets)
        assert total == pytest.approx(float(s.total_weight()), rel=1e-12)
        # each value lies in the bucket whose upper bound is the first ≥ it (to 1 ulp)
        k = np.searchsorted(highs * (1 + 1e-15) + 1e-300 * (highs == 0), x, side="left")
        k = np.minimum(k, len(buckets) - 1)
        assert (x >= lows[k] * (1 + 1e-15 * np.sign(lows[k])) - 1e-300).all()
        got = np.bincount(k, weights=weights, minlength=len(buckets))
        np.testing.assert_allclose(got, [b[2] for b in buckets], rtol=1e-9)
    assert (0.0, 0.0, 300.0) in sketch_of(x).bucket_bounds()


def test_bucket_bounds_of_a_collapsed_sketch_reach_zero():
    x = lognormal(5_000)
    s = sketch_of(x, max_buckets=20)
    assert s.collapsed
    buckets = s.bucket_bounds()
    assert len(buckets) == 20 and buckets[0][0] == 0.0
    assert sum(b[2] for b in buckets) == 5_000
    h = plot.Histogram.from_sketch(s, "mse")
    assert "collapsed" in plot.histogram(h, 80).plain()


# ---------------------------------------------------------------------------------------
# histograms

def test_histogram_carries_the_sketchs_quantiles_and_bound():
    x = lognormal()
    s = sketch_of(x)
    h = plot.Histogram.from_sketch(s, "mse", levels=(0.9, 0.25))
    assert [n for n, _ in h.quantiles] == ["p25", "p50", "p90", "max"]  # p50 always, max last
    assert h.quantile("p90") == s.quantile(0.9) and h.quantile("max") == x.max()
    assert h.alpha == 0.01 and h.rows == x.size and h.total_weight == x.size
    assert not h.weighted
    hw = plot.Histogram.from_sketch(sketch_of(x, np.full(x.size, 2.0)), "mse")
    assert hw.weighted and hw.total_weight == 2 * x.size


@pytest.mark.parametrize(("name", "values", "log"), [
    ("lognormal σ=3", lognormal(), True),
    ("lognormal σ=0.75", lognormal(sigma=0.75), False),  # max/p50 ≈ e^(0.75·4.5) ≈ 30
    ("|normal|", np.abs(np.random.default_rng(2).normal(size=50_000)), False),
    ("signed", np.r_[lognormal(), -1.0], False),  # a negative value: linear
    ("mostly zero", np.r_[np.zeros(30_000), lognormal(20_000)], False),  # p50 = 0
])
def test_the_log_axis_rule(name, values, log):
    s = sketch_of(values)
    h = plot.Histogram.from_sketch(s, "loss")
    axis = plot.HistogramAxis.of([h])
    median = np.quantile(values, 0.5, method="inverted_cdf")
    if values.min() >= 0 and median > 0:  # the data are far from the threshold
        ratio = values.max() / median
        assert bool(ratio > 100 * 1.05) == log and bool(ratio < 100 / 1.05) == (not log), ratio
    assert axis.log is log
    text = plot.histogram(h, 80).plain()
    assert ("log x axis: heavy tail" in text) is log
    assert ("(log scale)" in text) is log
    if not log:
        assert "linear x axis" in text


@pytest.mark.parametrize("columns", [37, 60, 150])
@pytest.mark.parametrize("data", ["lognormal", "uniform", "exponential"])
def test_columns_carry_the_weight_of_the_data(data, columns):
    """Against ``np.histogram`` of the same rows: the only misplaced weight is that of the
    buckets cut by a column edge (spread uniformly over them), at most their weight each."""
    rng = np.random.default_rng(5)
    x = {"lognormal": lognormal(100_000), "uniform": rng.uniform(0, 10, 100_000),
         "exponential": rng.exponential(1.0, 100_000)}[data]
    h = plot.Histogram.from_sketch(sketch_of(x), data)
    axis = plot.HistogramAxis.of([h])
    got = plot.bin_weights(h, axis, columns)
    assert got.sum() == pytest.approx(x.size, rel=1e-12)
    if axis.log:
        edges = np.logspace(np.log10(axis.low), np.log10(axis.high), columns + 1)
    else:
        edges = np.linspace(axis.low, axis.high, columns + 1)
    edges[0], edges[-1] = x.min(), x.max()
    exact, _ = np.histogram(x, bins=edges)
    cut = 0.0
    for e in edges[1:-1]:
        cut += sum(w for lo, hi, w in h.buckets if lo < e <= hi)
    assert np.abs(got - exact).sum() <= 2 * cut + 1e-6 * x.size
    assert np.abs(got - exact).sum() < 0.02 * x.size  # and that is small


def _bar_levels(pic: plot.Picture):
    """Per column, the eighths of bar drawn, the top of the y axis, and the column count."""
    lines = pic.text_lines()
    axis_row = next(i for i, line in enumerate(lines) if "└" in line)
    x0 = lines[axis_row].index("└") + 1
    n = len(lines[axis_row]) - x0
    top_row = next(i for i, line in enumerate(lines) if "┤" in line)
    top = float(lines[top_row].split("┤")[0].strip().replace(",", "").rstrip("%"))
    rows = lines[top_row:axis_row]
    levels = np.zeros(n, dtype=int)
    for line in rows:
        for c in range(n):
            ch = line[x0 + c] if x0 + c < len(line) else " "
            levels[c] += " ▁▂▃▄▅▆▇█".index(ch) if ch in " ▁▂▃▄▅▆▇█" else 0
    return levels, top, n, len(rows)


@pytest.mark.parametrize("width", WIDTHS)
def test_bars_are_proportional_to_the_weight(width):
    h = plot.Histogram.from_sketch(sketch_of(lognormal()), "mse")
    pic = plot.histogram(h, width)
    levels, top, n, height = _bar_levels(pic)
    weights = plot.bin_weights(h, plot.HistogramAxis.of([h]), n)
    expected = np.rint(weights / top * height * 8).astype(int)
    expected[(weights > 0) & (expected == 0)] = 1  # a column with any weight shows ▁
    np.testing.assert_array_equal(levels, expected)
    assert top >= weights.max() and levels.max() >= 0.5 * height * 8  # the axis is not loose


@pytest.mark.parametrize("width", WIDTHS)
def test_histogram_prints_every_quantile_whole_and_fits(width):
    h = plot.Histogram.from_sketch(sketch_of(lognormal()), "huber(delta=0.5)")
    pic = plot.histogram(h, width)
    fits(pic, width)
    lines = pic.text_lines()
    text = pic.plain()
    for name, value in h.quantiles:
        assert any(f"{name} = {value:.6g}" in line for line in lines), (name, value)
        assert f"▲{name}" in text or f"{name}▲" in text  # marked under the axis
    assert "█" in text and "huber(delta=0.5) per row (log scale)" in text
    assert "±1 % (relative)" in text and "α = 0.01" in text and "50,000 rows" in text


def test_linear_histogram_of_the_sample_regression_errors():
    pred, target, weight = regression_errors()
    err = np.abs(pred - target)
    h = plot.Histogram.from_sketch(sketch_of(err, weight), "mae")
    pic = plot.histogram(h, 80)
    text = pic.plain()
    assert h.weighted and "weight" in text and "total weight 1253.058" in text
    assert "linear x axis: max / p50 =" in text and "≤ 100" in text
    assert f"max = {float(err.max()):.6g}" in text
    levels, top, _, _ = _bar_levels(pic)
    assert levels.sum() > 0 and top > 0


def test_zeros_on_a_log_axis_are_counted_not_drawn():
    x = np.r_[lognormal(40_000), np.zeros(123)]
    h = plot.Histogram.from_sketch(sketch_of(x), "mse")
    text = plot.histogram(h, 100).plain()
    assert "log x axis" in text and "123 rows at 0, not on the log axis" in text
    axis = plot.HistogramAxis.of([h])
    assert plot.bin_weights(h, axis, 50).sum() == pytest.approx(40_000)


def test_every_row_the_same_value():
    h = plot.Histogram.from_sketch(sketch_of(np.full(10, 0.25)), "zero_one")
    text = plot.histogram(h, 80).plain()
    assert "every row has the value 0.25" in text and "max = 0.25" in text


def test_nothing_to_plot_says_why():
    empty = plot.Histogram.from_sketch(QuantileSketch(), "mse")
    assert plot.histogram(empty, 80) is None and empty.reason()
    assert plot.picture(empty, 80) is None
    msg = plot.nothing_to_plot([empty], skipped=["rmse"])
    assert msg is not None and msg.startswith("nothing to plot:")
    assert "mse: no row" in msg and "rmse: no per-row values" in msg and "--plot" in msg
    assert plot.nothing_to_plot([], skipped=["rmse", "r2"]).count("no per-row values") == 1
    full = plot.Histogram.from_sketch(sketch_of(lognormal(100)), "mae")
    assert plot.nothing_to_plot([empty, full]) is None
    cal = CalibrationError()
    assert plot.reliability(plot.Reliability.from_calibration(cal, "ece"), 80) is None
    assert plot.group_bars(plot.GroupBars.of("mse", [("a", None, None, None)]), 80) is None
    assert plot.draw([empty], skipped=["rmse"]) == msg  # draws nothing, returns the reason


# ---------------------------------------------------------------------------------------
# reliability diagrams

def _ece_by_formula(p, y, w, bins=15):
    """ECE/MCE straight from the formula (independent of CalibrationError)."""
    edges = np.array([k / bins for k in range(bins + 1)])
    b = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, bins - 1)
    W = np.bincount(b, w, bins)
    C = np.bincount(b, w * p, bins)
    A = np.bincount(b, w * y, bins)
    keep = W > 0
    return (np.abs(A - C)[keep].sum() / W.sum(), (np.abs(A - C)[keep] / W[keep]).max(),
            W, C, A)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("weighted", [False, True])
def test_reliability_of_the_sample_classifier(width, weighted):
    cal, p, y, w = binary_calibration(weighted)
    r = plot.Reliability.from_calibration(cal, "ece")
    ece, mce, W, C, A = _ece_by_formula(p, y, w if weighted else np.ones_like(p))
    assert r.ece == pytest.approx(ece, rel=1e-12) and r.mce == pytest.approx(mce, rel=1e-12)
    pic = plot.reliability(r, width)
    fits(pic, width)
    text = pic.plain()
    assert f"ECE = {r.ece:.6g}" in text and f"MCE = {r.mce:.6g}" in text
    assert "●" in text and "·" in text and "confidence (mean predicted probability)" in text
    assert r.weighted is weighted and ("weight" in text) is weighted
    lines = pic.text_lines()
    for b in r.table:  # each bin's row: range, count in full, means, gap
        assert W[b.index] == pytest.approx(b.weight, rel=1e-12)
        rng_text = f"[{b.low:.3f}, {b.high:.3f}{']' if b.index == 14 else ')'}"
        row = next(line for line in lines if rng_text in line)
        tail = row[row.index(rng_text) + len(rng_text):].split()
        assert tail[:2] == [plot.format_count(b.weight), f"{C[b.index] / W[b.index]:.4f}"]
        assert tail[2:4] == [f"{A[b.index] / W[b.index]:.4f}",
                             f"{A[b.index] / W[b.index] - C[b.index] / W[b.index]:+.4f}"]


def test_the_table_sits_beside_the_diagram_when_it_fits():
    cal, *_ = binary_calibration()
    r = plot.Reliability.from_calibration(cal, "ece")
    narrow, wide = plot.reliability(r, 80).text_lines(), plot.reliability(r, 160).text_lines()
    assert len(wide) < len(narrow)
    assert any(re.search("[┤│].*\\[0.000, 0.067\\)", line) for line in wide)
    assert not any(re.search("[┤│].*\\[0.000, 0.067\\)", line) for line in narrow)


def test_markers_sit_at_mean_confidence_and_accuracy():
    """Two bins: confidence 0.95 with accuracy 0.5 (over-confident), 0.25 with 0.25."""
    p = np.r_[np.full(4, 0.95), np.full(4, 0.25)]
    y = np.r_[1, 1, 0, 0, 1, 0, 0, 0]
    cal = CalibrationError(15)
    cal.update(p, y)
    pic = plot.reliability(plot.Reliability.from_calibration(cal, "ece"), 80)
    lines = pic.text_lines()
    row_of = {tick: next(i for i, line in enumerate(lines) if line.lstrip().startswith(tick + "┤"))
              for tick in ("1", "0.75", "0.5", "0.25", "0")}
    x0 = lines[row_of["0.5"]].index("┤") + 1
    axis = next(line for line in lines if "└" in line)
    width = len(axis) - axis.index("└") - 1
    for conf, acc in ((0.95, "0.5"), (0.25, "0.25")):
        col = x0 + int(conf * width)
        assert lines[row_of[acc]][col] == "●", (conf, acc, lines[row_of[acc]])
    col = x0 + int(0.95 * width)  # the gap from 0.5 up to the diagonal at 0.95
    between = [lines[i][col] for i in range(row_of["0.75"], row_of["0.5"])]
    assert between and all(ch == "│" for ch in between)


def test_multiclass_reliability_with_weights():
    t = pacsv.read_csv(SAMPLES / "multiclass.csv").to_pydict()
    probs = np.stack([t[f"p_{k}"] for k in range(4)], axis=1)
    cal = CalibrationError(15, "multiclass")
    cal.update(probs, np.array(t["label"]), np.array(t["weight"]))
    r = plot.Reliability.from_calibration(cal, "ece", model="model_b")
    text = plot.reliability(r, 100).plain()
    assert "multiclass" in text and "top-label" in text and "model: model_b" in text
    assert f"ECE = {cal.result('l1'):.6g}" in text and r.weighted
    for b in r.table:
        assert plot.format_count(b.weight) in text


# ---------------------------------------------------------------------------------------
# per-group bars

LONG = "country=United Kingdom of Great Britain and Northern Ireland|product=widgets and more"
GROUPS = [
    ("country=DE", 1.2345678901234567, 1.0987654321098765, 1.3703703703703705),
    ("country=FR", 0.8, 0.75, 0.86),
    (LONG, 2.5, 1.9, 3.1),
    ("null", 0.3, None, None),
    ("tiny", None, None, None),
]


def _first_cells(line: str, n: int) -> str:
    out, used = "", 0
    for ch in line:
        used += plot.cells(ch)
        if used > n:
            break
        out += ch
    return out


def _label_column(pic: plot.Picture) -> tuple[list[str], int]:
    """The text left of the bars on each line under the axis rule (by columns)."""
    lines = pic.text_lines()
    rule = next(i for i, line in enumerate(lines) if "┴" in line)
    x0 = len(lines[rule]) - len(lines[rule].lstrip())
    return [_first_cells(line, x0).rstrip() for line in lines[rule + 1:]], x0


@pytest.mark.parametrize("width", WIDTHS)
def test_group_bars_numbers_whole_and_labels_complete(width):
    g = plot.GroupBars.of("mse", GROUPS, overall=1.1, level=0.95, method="normal")
    pic = plot.group_bars(g, width)
    fits(pic, width)
    text = pic.plain()
    flat = " ".join(pic.text_lines())
    for _, value, low, high in GROUPS:
        if value is not None:
            assert format(value, ".6g") in text
        if low is not None:
            assert format(low, ".6g") in text and format(high, ".6g") in text
            assert f"[{low:.6g}," in flat and f"{high:.6g}]" in flat
    labels, _ = _label_column(pic)
    joined = "".join(labels).replace(" ", "")
    for name, *_ in GROUPS:
        assert name.replace(" ", "") in joined, name
    assert "n/a" in text and "overall = 1.1" in text and "95 % interval (normal)" in text
    assert "█" in text and "├" in text and "┤" in text and "●" in text


def test_group_bars_draw_negative_values_to_the_left():
    g = plot.GroupBars.of("r2", [("a", 0.5, None, None), ("b", -0.5, None, None)],
                          higher_is_better=True)
    lines = plot.group_bars(g, 80).text_lines()
    zero = next(line for line in lines if "┴" in line)
    header = lines[lines.index(zero) - 1]
    zcol = header.index(" 0 ") + 1  # the tick "0"
    a = next(line for line in lines if line.startswith("a "))
    b = next(line for line in lines if line.startswith("b "))
    assert "█" in a[zcol:] and "█" not in a[:zcol]
    assert "█" in b[:zcol] and "█" not in b[zcol + 1:].split("-0.5")[0]


def test_group_bars_from_a_report_dict():
    doc = {"losses": [{"label": "mse", "value": 1.5, "higher_is_better": False}],
           "groups": [
               {"key": {"region": "north", "year": 2024}, "rows": 10,
                "losses": [{"label": "mse", "value": 1.0, "interval": {
                    "low": 0.5, "high": 1.5, "level": 0.9, "method": "bootstrap"}}]},
               {"key": {"region": None}, "rows": 1, "passed": False,
                "losses": [{"label": "mse", "value": 2.0, "interval": {
                    "low": None, "high": None, "reason": "fewer than 2 rows"}}]}]}
    g = plot.GroupBars.from_report(doc, "mse")
    assert [b.label for b in g.bars] == ["region=north, year=2024", "region=(null)"]
    assert g.overall == 1.5 and g.level == 0.9 and g.method == "bootstrap"
    assert g.bars[0].low == 0.5 and g.bars[1].low is None and g.bars[1].failed
    assert g.bars[1].note == "fewer than 2 rows"
    text = plot.group_bars(g, 80).plain()
    assert "(fewer than 2 rows)" in text and "✗ region=(null)" in text
    assert "90 % interval (bootstrap)" in text


# ---------------------------------------------------------------------------------------
# overlays (compare)

@pytest.mark.parametrize("width", [80, 160])
def test_overlay_of_two_models(width):
    hs = [plot.Histogram.from_sketch(sketch_of(lognormal(30_000, s, seed=i)), "mse", model=m)
          for i, (m, s) in enumerate((("baseline", 2.0), ("candidate", 3.0)))]
    pic = plot.overlay_histograms(hs, width)
    fits(pic, width)
    text = pic.plain()
    assert "● baseline" in text and "○ candidate" in text and "log scale" in text
    assert "share of rows" in text
    for h in hs:
        for _, value in h.quantiles:
            assert format(value, ".6g") in text
    assert text.count("●") > 10 and text.count("○") > 10  # both curves drawn
    assert plot.picture(hs, width).plain() == text


def test_overlay_of_two_reliability_curves():
    rng = np.random.default_rng(3)
    rs = []
    for name, sharpen in (("a", 1.0), ("b", 2.5)):
        z = rng.normal(0, 2, 3000)
        y = (rng.random(3000) < 1 / (1 + np.exp(-z))).astype(int)
        cal = CalibrationError()
        cal.update(1 / (1 + np.exp(-z * sharpen)), y)
        rs.append(plot.Reliability.from_calibration(cal, "ece", model=name))
    pic = plot.overlay_reliability(rs, 80)
    fits(pic, 80)
    text = pic.plain()
    for r, mark in zip(rs, "●○"):
        assert format(r.ece, ".6g") in text and format(r.mce, ".6g") in text and f"{mark} {r.model}" in text
    assert rs[1].ece > rs[0].ece  # the sharpened model is the worse calibrated


# ---------------------------------------------------------------------------------------
# every width

def test_every_picture_fits_every_width_and_numbers_stay_whole():
    rng = np.random.default_rng(0)
    hists = [plot.Histogram.from_sketch(sketch_of(x), name) for name, x in (
        ("cauchy", rng.standard_cauchy(5_000)), ("lognormal", lognormal(5_000)),
        ("one value", np.zeros(10)), ("near the largest float", np.r_[rng.random(99) * 1e300,
                                                                      1.7e308]))]
    cal, *_ = binary_calibration()
    rel = plot.Reliability.from_calibration(cal, "ece")
    groups = plot.GroupBars.of("mse", GROUPS, overall=1.1)
    numbers = {format(v, ".6g") for h in hists for _, v in h.quantiles}
    numbers |= {format(rel.ece, ".6g"), format(rel.mce, ".6g")}
    numbers |= {format(x, ".6g") for row in GROUPS for x in row[1:] if x is not None}
    for width in range(plot.MIN_WIDTH, plot.MAX_WIDTH + 1, 3):
        pics = [*(plot.histogram(h, width) for h in hists), plot.overlay_histograms(hists[:2], width),
                plot.reliability(rel, width), plot.overlay_reliability([rel, rel], width),
                plot.group_bars(groups, width)]
        words = set()
        for pic in pics:
            fits(pic, width)
            for line in pic.text_lines():
                words |= {w.strip("[],()") for w in line.split()}
        assert numbers <= words, (width, numbers - words)


def test_wrap_breaks_at_spaces_never_inside_a_number():
    assert plot.wrap("log x axis: heavy tail, max / p50 = 96,556 > 100", 38) == [
        "log x axis: heavy tail, max / p50 =", "96,556 > 100"]
    assert plot.wrap("a_b_c_d_e_f_g_h_1.2345_6", 10) == ["a_b_c_d_e_", "f_g_h_", "1.2345_6"]
    assert plot.wrap("x" * 30, 12) == ["x" * 12, "x" * 12, "x" * 6]  # no break point: cut
    assert plot.pack(["p50 = 0.9900000000000001", "p90 = 46.0661161346668"], 30) == [
        "p50 = 0.9900000000000001", "p90 = 46.0661161346668"]


# ---------------------------------------------------------------------------------------
# names from data

def test_control_characters_in_names_never_reach_the_terminal():
    evil = "mse\x1b[2J\x07\u202eevil\nname\udcff"
    h = plot.Histogram.from_sketch(sketch_of(lognormal(1000)), evil, model="m\x1b]0;x\x07")
    g = plot.GroupBars.of(evil, [(evil, 1.0, 0.5, 1.5)])
    for pic in (plot.histogram(h, 80), plot.group_bars(g, 80),
                plot.overlay_histograms([h, h], 80)):
        text = pic.plain()
        assert not re.search("[\x00-\x09\x0b-\x1f\x7f\u202e\ud800-\udfff]", text)
        # one escape for every output (errors spell a newline \\n too)
        assert "mse\\x1b[2J\\x07\\u202eevil\\nname\\udcff" in text.replace("\n", "")


def test_wide_characters_count_two_columns():
    g = plot.GroupBars.of("mse", [("地域=東京都" * 6, 1.0, None, None)])
    pic = plot.group_bars(g, 80)
    fits(pic, 80)
    assert "".join(_label_column(pic)[0]) == "地域=東京都" * 6


# ---------------------------------------------------------------------------------------
# a real terminal

SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np, pyarrow.csv as pacsv
    from losscli import plot
    from losscli.stats.calibration import CalibrationError
    from losscli.stats.sketch import QuantileSketch

    sk = QuantileSketch()
    sk.update(np.random.default_rng(0).lognormal(0.0, 3.0, 50_000))
    h = plot.Histogram.from_sketch(sk, "mse")
    t = pacsv.read_csv("sample_data/binary.csv").to_pydict()
    cal = CalibrationError(15)
    cal.update(np.array(t["prob"]), np.array(t["label"]))
    r = plot.Reliability.from_calibration(cal, "ece")
    g = plot.GroupBars.of("mse", json.loads(sys.argv[2]), overall=1.1, level=0.95)
    assert plot.draw([h, r, g]) is None
    with open(sys.argv[1], "w") as f:
        json.dump({"quantiles": h.quantiles, "ece": r.ece, "mce": r.mce,
                   "counts": [b.weight for b in r.table]}, f)
""")


def run_in_pty(columns: int, tmp_path, env: dict | None = None) -> tuple[str, dict]:
    """Run SCRIPT with stdout on a pseudo-terminal of ``columns`` columns."""
    out = tmp_path / f"expected{columns}.json"
    code, _, seen = run_pty([str(out), json.dumps(GROUPS)], command=[sys.executable, "-c", SCRIPT],
                            columns=columns, rows=50, env=env, stdout_to_pty=True)
    assert code == 0, seen.decode(errors="replace")
    return seen.decode(), json.loads(out.read_text())


@pytest.mark.parametrize("columns", [80, 160])
def test_pictures_on_a_real_terminal(columns, tmp_path):
    raw, expected = run_in_pty(columns, tmp_path)
    assert "\x1b[" in raw  # styled: rich at a terminal
    text = ANSI.sub("", raw).replace("\r\n", "\n")
    lines = text.split("\n")
    widest = max(plot.cells(line) for line in lines)
    assert widest <= columns, widest
    assert widest >= columns - 10  # drawn at the terminal's width, not a default
    for name, value in expected["quantiles"]:
        assert any(f"{name} = {value:.6g}" in line for line in lines), (name, value)
    assert f"ECE = {expected['ece']:.6g}" in text and f"MCE = {expected['mce']:.6g}" in text
    for count in expected["counts"]:
        assert re.search(rf"\)\s+{int(count)}\s", text) or re.search(rf"\]\s+{int(count)}\s", text)
    assert "log x axis: heavy tail" in text and "mse per row (log scale)" in text
    assert sum(text.count(ch) for ch in "▁▂▃▄▅▆▇█") > 100  # bars drawn
    flat = " ".join(lines)
    for _, value, low, high in GROUPS:
        if value is not None:
            assert format(value, ".6g") in flat
        if low is not None:
            assert f"[{low:.6g}," in flat and f"{high:.6g}]" in flat


def test_no_colour_with_no_color_on_a_terminal(tmp_path):
    raw, expected = run_in_pty(80, tmp_path, env={"NO_COLOR": "1"})
    assert "\x1b" not in raw
    assert f"ECE = {expected['ece']:.6g}" in raw


def test_plain_text_into_a_pipe(tmp_path):
    out = tmp_path / "e.json"
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR")}
    proc = subprocess.run([sys.executable, "-c", SCRIPT, str(out), json.dumps(GROUPS)],
                          capture_output=True, cwd=ROOT, env=env, timeout=120, check=True)
    text = proc.stdout.decode()
    assert "\x1b" not in text and "█" in text
    assert max(plot.cells(line) for line in text.splitlines()) <= 80  # the default width
    expected = json.loads(out.read_text())
    assert f"ECE = {expected['ece']:.6g}" in text


def test_terminal_width_is_clamped(monkeypatch):
    import io

    monkeypatch.setenv("COLUMNS", "500")
    assert plot.terminal_width(io.StringIO()) == plot.MAX_WIDTH
    monkeypatch.setenv("COLUMNS", "20")
    assert plot.terminal_width(io.StringIO()) == plot.MIN_WIDTH
    monkeypatch.delenv("COLUMNS")
    assert plot.terminal_width(io.StringIO()) == 80


def test_one_presentation_layer_shape():
    """Issue 20, item 3, the shape: each presentation module at most 500 lines; the picture
    models import no drawing (terminal or SVG) and the page no terminal drawing; no module
    of the package imports another's private names; the number formats, the escape and
    quantile_name each defined once."""
    import ast
    from pathlib import Path

    import losscli

    root = Path(losscli.__file__).parent
    mine = [root / "plot.py", root / "html.py", root / "render.py",
            *sorted((root / "present").glob("*.py"))]
    for path in mine:
        lines = path.read_text(encoding="utf-8").count("\n")
        assert lines <= 500, (path.name, lines)
    defined: dict[str, list[str]] = {}
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("losscli"):
                imported.add(node.module)
                private = [a.name for a in node.names
                           if a.name.startswith("_") and not a.name.startswith("__")]
                assert not private, (path, node.module, private)
            elif isinstance(node, ast.FunctionDef) and node.col_offset == 0:
                defined.setdefault(node.name, []).append(path.name)
        if path.name == "pictures.py":
            assert not imported & {"losscli.present.terminal", "losscli.present.svg",
                                   "losscli.present.canvas", "losscli.plot"}, imported
        if path.name == "html.py":
            assert not {m for m in imported if "terminal" in m or m.endswith(".plot")}, imported
    for name in ("printable", "format_value", "full_precision", "quantile_name"):
        assert len(defined.get(name, [])) == 1, (name, defined.get(name))
    assert "format_number" not in defined  # one name, one meaning (format_value)
