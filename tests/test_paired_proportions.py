"""The interval of a paired difference of 0/1 losses agrees with McNemar's exact test that
judges it (issue 23; before: a Wald interval excluded 0 while p = 0.057 on 228 rows): the
union of Tango's score interval and the exact conditional (Clopper–Pearson) interval
(:mod:`losscli.stats.paired_proportions`). Tango's ends solve his score equation written out
here from the paper, the Clopper–Pearson ends equal scipy's beta quantiles; the property
tested: **for every b, c with b + c ≤ 60 and two n, the interval excludes 0 exactly when
McNemar's exact p < α** (and through the CLI on generated data); coverage by simulation."""

from __future__ import annotations

import json
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from scipy.stats import beta

from losscli.stats.intervals import mcnemar_exact
from losscli.stats.paired_proportions import (
    exact_conditional_interval,
    paired_proportion_interval,
    tango_interval,
)
from tests.conftest import run_losscli


def tango_z(b: int, c: int, n: int, d: float) -> float:
    """Tango (1998) eq. for the score statistic, the constrained MLE q of P(0, 1) solving
    2n·q² + (−b − c + (2n − b + c)·d)·q − c·d·(1 − d) = 0."""
    w = -b - c + (2 * n - b + c) * d
    q = (-w + math.sqrt(w * w + 8 * n * c * d * (1 - d))) / (4 * n)
    return (b - c - n * d) / math.sqrt(n * (2 * q + d - d * d))


@pytest.mark.parametrize("b, c, n", [(3, 11, 228), (10, 2, 40), (0, 5, 30), (7, 7, 100)])
def test_tango_ends_solve_the_score_equation(b, c, n):
    z = NormalDist().inv_cdf(0.975)
    lo, hi = tango_interval(b, c, n, 0.95)
    assert tango_z(b, c, n, lo) == pytest.approx(z, abs=1e-8)
    assert tango_z(b, c, n, hi) == pytest.approx(-z, abs=1e-8)
    # at 0 the statistic is McNemar's asymptotic one
    if b + c:
        assert tango_z(b, c, n, 0.0) == pytest.approx((b - c) / math.sqrt(b + c), rel=1e-12)
    grid = np.linspace(-0.999, 0.999, 20001)
    inside = grid[[abs(tango_z(b, c, n, d)) <= z for d in grid]]
    assert lo == pytest.approx(inside.min(), abs=1e-4)
    assert hi == pytest.approx(inside.max(), abs=1e-4)


def test_the_exact_conditional_ends_are_clopper_pearson():
    for b, c, n in ((3, 11, 228), (9, 1, 50), (40, 25, 400)):
        m = b + c
        lo, hi = exact_conditional_interval(b, c, n, 0.95)
        p_lo, p_hi = beta.ppf(0.025, b, m - b + 1), beta.ppf(0.975, b + 1, m - b)
        assert lo == pytest.approx((2 * p_lo - 1) * m / n, rel=1e-9)
        assert hi == pytest.approx((2 * p_hi - 1) * m / n, rel=1e-9)


@pytest.mark.parametrize("level", [0.95, 0.9])
def test_the_interval_excludes_0_exactly_when_mcnemar_rejects(level):
    for m in range(0, 61):
        for b in range(m + 1):
            c = m - b
            p = mcnemar_exact(b, c).p_value
            for n in (m + 20, 300):
                iv = paired_proportion_interval(b, c, n, level)
                assert iv.low <= (b - c) / n <= iv.high
                assert (iv.low > 0 or iv.high < 0) == (p < 1 - level), (b, c, n, p, iv)


def test_the_reported_contradiction_is_gone_through_the_cli(tmp_path):
    # 228 rows, the model right where the reference is wrong on 3, wrong where it is right
    # on 11: McNemar's exact p = 0.057; the Wald interval was [-0.067, -0.0032]
    n = 228
    y = np.zeros(n, int)
    ref = np.full(n, 0.2)  # a score ≥ 0.5 predicts 1: wrong (every label is 0)
    model = np.full(n, 0.2)
    ref[:3] = 0.8  # the model right, the reference wrong: 3 rows
    model[3:14] = 0.8  # the model wrong, the reference right: 11 rows
    model[14:25], ref[14:25] = 0.8, 0.8  # both wrong on 11 more
    path = tmp_path / "m.csv"
    pd.DataFrame({"ref": ref, "model": model, "target": y}).to_csv(path, index=False)
    proc = run_losscli("compare", path, "--pred-col", "model", "--pred-col", "ref",
                       "--loss", "accuracy", "-f", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    (row,) = json.loads(proc.stdout)["losses"]
    assert row["p_value"]["ref"] == pytest.approx(mcnemar_exact(3, 11).p_value, rel=1e-12)
    low, high = row["diff_interval"]["ref"]
    assert low < 0 < high and row["verdict"]["ref"] == "~"


def test_on_generated_data_the_cli_interval_agrees_with_the_verdict(tmp_path):
    rng = np.random.default_rng(12)
    agree = 0
    for i in range(6):
        n = 150
        y = rng.integers(0, 2, n)
        a = np.where(rng.uniform(size=n) < 0.8, y, 1 - y)
        b = np.where(rng.uniform(size=n) < 0.8 - 0.03 * i, y, 1 - y)
        path = tmp_path / f"g{i}.csv"
        pd.DataFrame({"a": np.where(a == 1, 0.9, 0.1), "b": np.where(b == 1, 0.9, 0.1),
                      "target": y}).to_csv(path, index=False)
        proc = run_losscli("compare", path, "--pred-col", "a", "--pred-col", "b", "--loss",
                           "zero_one", "--loss", "accuracy", "-f", "json")
        assert proc.returncode == 0, proc.stderr.decode()
        for row in json.loads(proc.stdout)["losses"]:
            low, high = row["diff_interval"]["b"]
            excludes = low > 0 or high < 0
            assert excludes == (row["p_value"]["b"] < 0.05), row
            agree += excludes
    assert agree > 0  # some of the six differ significantly


def test_coverage_by_simulation():
    # P(model 1, ref 0) = 0.12, P(model 0, ref 1) = 0.05: θ = 0.07
    sims, n, theta = 400, 150, 0.07
    rng = np.random.default_rng(40)
    hits = 0
    for _ in range(sims):
        cells = rng.multinomial(n, [0.12, 0.05, 0.83])
        iv = paired_proportion_interval(int(cells[0]), int(cells[1]), n, 0.95)
        hits += iv.low <= theta <= iv.high
    # at least nominal (the union is conservative), within three binomial standard errors
    assert hits / sims >= 0.95 - 3 * math.sqrt(0.95 * 0.05 / sims), hits / sims
