"""Confidence intervals through the evaluation (issue 13): coverage by simulation (analytic
and bootstrap), reproducibility (the same bits at any worker count, 1e-12 across chunk
sizes), n/a where no interval is valid, and refusals."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.errors import UsageError

DATASETS = 200
ROWS = 300


def _covers(report, truth: dict[str, float]) -> dict[str, bool]:
    out = {}
    for name, value in truth.items():
        iv = report.result(name).interval
        assert iv is not None and iv["low"] is not None, (name, iv)
        out[name] = iv["low"] <= value <= iv["high"]
    return out


@pytest.mark.parametrize("method", ["analytic", "bootstrap"])
def test_95_percent_intervals_cover_the_truth_95_percent_of_the_time(method):
    # errors e ~ N(0, σ²) with σ = 1.5: the true mse is σ² = 2.25, the true mae σ·√(2/π),
    # the true 0-1 loss with tolerance 1 is P(|e| > 1) = 2·(1 − Φ(1/σ)).
    from statistics import NormalDist

    sigma = 1.5
    truth = {"mse": sigma ** 2, "mae": sigma * np.sqrt(2 / np.pi),
             "zero_one(tolerance=1)": 2 * (1 - NormalDist().cdf(1 / sigma)),
             "rmse": sigma}
    rng = np.random.default_rng(12)
    hits = {k: 0 for k in truth}
    for i in range(DATASETS):
        y = rng.normal(0, 1, ROWS)
        p = y + rng.normal(0, sigma, ROWS)
        report = losscli.evaluate(predictions=p, targets=y,
                                  losses=["mse", "mae", "rmse", "zero_one:tolerance=1"],
                                  ci=True, ci_method=method, replicates=200, seed=i)
        for k, covered in _covers(report, truth).items():
            hits[k] += covered
    # 95 % ± 3 binomial standard errors (√(0.95·0.05/200) = 1.5 %): [0.904, 0.996]
    tolerance = 3 * np.sqrt(0.95 * 0.05 / DATASETS)
    for k, h in hits.items():
        assert abs(h / DATASETS - 0.95) <= tolerance, (method, k, h / DATASETS)


def test_r2_bootstrap_covers_the_truth():
    # y ~ N(0, 1), pred = y + N(0, 0.5²): true r2 = 1 − 0.25/1 = 0.75
    rng = np.random.default_rng(13)
    hits = 0
    for i in range(DATASETS):
        y = rng.normal(0, 1, ROWS)
        p = y + rng.normal(0, 0.5, ROWS)
        report = losscli.evaluate(predictions=p, targets=y, losses=["r2"], ci=True, seed=i)
        iv = report.losses[0].interval
        assert iv is not None and iv["method"] == "percentile"
        hits += iv["low"] <= 0.75 <= iv["high"]
    assert abs(hits / DATASETS - 0.95) <= 3 * np.sqrt(0.95 * 0.05 / DATASETS), hits


@pytest.fixture(scope="module")
def groups_file(tmp_path_factory):
    rng = np.random.default_rng(14)
    n = 12 * 2000
    y = rng.normal(0, 1, n)
    p = y + rng.standard_t(3, n)
    w = rng.uniform(0, 2, n)
    path = tmp_path_factory.mktemp("ci") / "p.parquet"
    pq.write_table(pa.table({"pred": p, "target": y, "weight": w}), path, row_group_size=2000)
    return path


LOSSES = ["mse", "mae", "rmse", "r2", "zero_one:tolerance=1"]


@pytest.mark.parametrize("method", ["auto", "bootstrap"])
def test_intervals_are_the_same_bits_at_every_worker_count(groups_file, method):
    seen = set()
    for workers in (1, 2, 3):
        report = losscli.evaluate(str(groups_file), losses=LOSSES, weight_col="weight",
                                  ci=True, ci_method=method, chunk_size=1000, workers=workers,
                                  replicates=100, seed=7)
        seen.add(tuple((r.interval["low"].hex(), r.interval["high"].hex())
                       for r in report.losses))
    assert len(seen) == 1


def test_intervals_agree_across_chunk_sizes(groups_file):
    reports = [losscli.evaluate(str(groups_file), losses=LOSSES, weight_col="weight", ci=True,
                                ci_method="bootstrap", chunk_size=c, replicates=100, seed=7)
               for c in (1000, 777, 5000)]
    for a, b in pairwise(reports):
        for ra, rb in zip(a.losses, b.losses):
            assert rb.interval["low"] == pytest.approx(ra.interval["low"], rel=1e-12)
            assert rb.interval["high"] == pytest.approx(ra.interval["high"], rel=1e-12)


def test_the_seed_is_recorded_and_changes_the_bootstrap(groups_file):
    a = losscli.evaluate(str(groups_file), losses=["mse"], ci=True, ci_method="bootstrap",
                         replicates=100, seed=1)
    b = losscli.evaluate(str(groups_file), losses=["mse"], ci=True, ci_method="bootstrap",
                         replicates=100, seed=2)
    assert a.to_dict()["ci"] == {"level": 0.95, "method": "bootstrap", "replicates": 100,
                                 "seed": 1}
    assert a.losses[0].interval != b.losses[0].interval


def test_no_interval_is_na_with_a_reason():
    rng = np.random.default_rng(15)
    y = rng.normal(size=50)
    report = losscli.evaluate(predictions=y + 1, targets=y, losses=["max_error", "mse"], ci=True)
    iv = report.result("max_error").interval
    assert iv["low"] is None and iv["high"] is None and iv["method"] == "n/a"
    assert "maximum" in iv["reason"]
    tiny = losscli.evaluate(predictions=[1.0], targets=[2.0], losses=["mse"], ci=True)
    assert tiny.losses[0].interval["low"] is None and "at least 2" in tiny.losses[0].interval[
        "reason"]


def test_ci_refusals():
    with pytest.raises(UsageError, match="--ci gives intervals for mean values"):
        losscli.evaluate(predictions=[1.0, 2.0], targets=[1.0, 3.0], losses=["mse"], ci=True, reduction="sum")
    with pytest.raises(UsageError, match="--ci-level must be in"):
        losscli.evaluate(predictions=[1.0, 2.0], targets=[1.0, 3.0], ci=True, ci_level=1.5)
    with pytest.raises(UsageError, match="--replicates must be a whole number from 40"):
        losscli.evaluate(predictions=[1.0, 2.0], targets=[1.0, 3.0], ci=True, replicates=10)
