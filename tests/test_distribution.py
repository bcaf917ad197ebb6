"""Distributions of per-row losses and calibration errors through the evaluation (issue 15).

* ``--distribution``: every quantile lies within the sketch's stated relative error α of
  numpy's exact order statistic (``method="inverted_cdf"``; the weighted analogue with
  weights), on heavy-tailed data, at several chunk sizes and worker counts; the state is the
  same bits at every worker count;
* ``ece``/``mce`` equal the formula (written out here, with torchmetrics' binning: a value on
  an edge goes to the upper bin, 1.0 to the last) on data with values on bin edges and ties.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli

LEVELS = {"p50": 0.5, "p90": 0.9, "p99": 0.99, "p99.9": 0.999, "max": 1.0}


def _weighted_inverted_cdf(x: np.ndarray, w: np.ndarray, q: float) -> float:
    """The smallest x whose cumulative weight reaches q·W."""
    order = np.argsort(x, kind="stable")
    cum = np.cumsum(w[order])
    return float(x[order][np.searchsorted(cum, q * cum[-1], side="left")])


@pytest.fixture(scope="module")
def heavy(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 40_000
    y = rng.normal(size=n)
    p = y + rng.lognormal(0.0, 2.0, n) * rng.choice([-1.0, 1.0], n)
    w = rng.integers(0, 4, n).astype(float)
    path = tmp_path_factory.mktemp("dist") / "heavy.parquet"
    pq.write_table(pa.table({"pred": p, "target": y, "weight": w}), path, row_group_size=5000)
    return path, (p - y) ** 2, np.abs(p - y), w


@pytest.mark.parametrize(("chunk", "workers"), [(1000, 1), (777, 2), (40_000, 3)])
def test_quantiles_within_the_stated_relative_error(heavy, chunk, workers):
    path, se, ae, _ = heavy
    report = losscli.evaluate(str(path), losses=["mse", "mae"], distribution=True,
                              chunk_size=chunk, workers=workers, quantile_levels=[0.75])
    for result, values in zip(report.losses, (se, ae)):
        dist = result.distribution
        assert dist is not None and dist["relative_accuracy"] == 0.01
        for name, q in {**LEVELS, "p75": 0.75}.items():
            exact = float(np.quantile(values, q, method="inverted_cdf"))
            got = dist["quantiles"][name]
            assert abs(got - exact) <= 0.01 * abs(exact) + 1e-300, (result.name, name, got, exact)
        assert dist["quantiles"]["max"] == float(values.max())


def test_weighted_quantiles_and_worker_invariance(heavy):
    path, se, _, w = heavy
    runs = [losscli.evaluate(str(path), losses=["mse"], weight_col="weight", distribution=True,
                             chunk_size=1000, workers=k) for k in (1, 2)]
    assert runs[0].losses[0].distribution == runs[1].losses[0].distribution
    dist = runs[0].losses[0].distribution
    for name, q in LEVELS.items():
        exact = _weighted_inverted_cdf(se, w, q) if q < 1 else float(se[w > 0].max())
        assert abs(dist["quantiles"][name] - exact) <= 0.01 * exact, (name,)


def test_distribution_in_json_and_only_for_per_row_losses(cli, samples):
    r = cli("eval", samples / "regression.parquet", "-l", "mse", "-l", "rmse", "--distribution",
            "-f", "json")
    assert r.exit_code == 0, r.stderr
    losses = json.loads(r.stdout)["losses"]
    assert set(losses[0]["distribution"]["quantiles"]) == set(LEVELS)
    assert "distribution" not in losses[1]  # rmse has no per-row value


def _ece_formula(conf: np.ndarray, correct: np.ndarray, bins: int = 15) -> tuple[float, float]:
    """ECE and MCE as written: bin b holds b/bins <= c < (b+1)/bins, and 1.0 the last bin."""
    idx = np.minimum(np.floor(conf * bins).astype(int), bins - 1)
    edges = np.arange(bins + 1) / bins
    idx = np.where(conf >= edges[np.minimum(idx + 1, bins)], np.minimum(idx + 1, bins - 1), idx)
    ece, mce = 0.0, 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            gap = abs(correct[m].mean() - conf[m].mean())
            ece += m.mean() * gap
            mce = max(mce, gap)
    return ece, mce


def test_binary_ece_mce_equal_the_formula_with_values_on_edges():
    rng = np.random.default_rng(1)
    edges = np.arange(16) / 15  # every edge, including 0 and 1, and ties on them
    p = np.concatenate([np.repeat(edges, 7), rng.uniform(0, 1, 300)])
    y = (rng.uniform(0, 1, p.size) < p).astype(float)
    ece, mce = _ece_formula(p, y)
    report = losscli.evaluate(predictions=p, targets=y, losses=["ece", "mce"], task="binary", chunk_size=13)
    assert report["ece"] == pytest.approx(ece, rel=1e-12)
    assert report["mce"] == pytest.approx(mce, rel=1e-12)
    assert len(report.result("ece").details["bins"]) == 15  # type: ignore[index]


def test_multiclass_ece_is_top_label_confidence_against_correctness():
    rng = np.random.default_rng(2)
    z = np.round(rng.normal(0, 1.5, (400, 3)), 1)  # rounded: tied maxima and shared values
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = rng.integers(0, 3, 400).astype(float)
    conf, pred = p.max(axis=1), p.argmax(axis=1)
    ece, mce = _ece_formula(conf, (pred == y).astype(float))
    report = losscli.evaluate(predictions=p, targets=y, losses=["ece", "mce"], chunk_size=50)
    assert report["ece"] == pytest.approx(ece, rel=1e-12)
    assert report["mce"] == pytest.approx(mce, rel=1e-12)
    logits = losscli.evaluate(predictions=z, targets=y, losses=["ece"], from_logits=True)
    assert logits["ece"] == pytest.approx(report["ece"], rel=1e-12)
