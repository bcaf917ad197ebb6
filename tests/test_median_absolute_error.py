"""Issue 23 item 2: ``median_absolute_error`` — exact (every |y − ŷ| and weight kept, the
memory stated in the output), equal to ``sklearn.metrics.median_absolute_error`` computed
here, with and without weights (ties, zero weights), at chunk sizes down to 1, with 2
workers, through a merge of saved parts and through the real entry point."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import median_absolute_error

import losscli
from tests.conftest import run_losscli


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    rng = np.random.default_rng(11)
    n = 201
    y = np.round(rng.normal(0, 2, n), 1)
    p = np.round(y + rng.normal(0, 1, n), 1)  # many tied errors
    w = np.round(rng.uniform(0, 2, n), 1)  # zero weights among them
    path = tmp_path_factory.mktemp("medae") / "reg.csv"
    pd.DataFrame({"pred": p, "target": y, "w": w}).to_csv(path, index=False)
    return path, p, y, w


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_api_equals_sklearn(data, chunk):
    _, p, y, w = data
    r = losscli.evaluate(predictions=p, targets=y, losses=["median_absolute_error"],
                         chunk_size=chunk)
    assert r["median_absolute_error"] == pytest.approx(median_absolute_error(y, p), abs=1e-12)
    r = losscli.evaluate(predictions=p, targets=y, weights=w,
                         losses=["median_absolute_error"], chunk_size=chunk)
    ref = median_absolute_error(y, p, sample_weight=w)
    assert r["median_absolute_error"] == pytest.approx(ref, abs=1e-12)


@settings(max_examples=40, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.integers(-5, 5), st.integers(-5, 5), st.integers(0, 4)),
                min_size=1, max_size=30), st.integers(1, 5))
def test_property_weighted_and_unweighted(rows, chunk):
    y = np.array([float(a) for a, _, _ in rows])
    p = np.array([float(b) for _, b, _ in rows])
    w = np.array([float(c) / 2 for _, _, c in rows])
    r = losscli.evaluate(predictions=p, targets=y, losses=["medae"], chunk_size=chunk)
    assert r["medae"] == pytest.approx(median_absolute_error(y, p), abs=1e-12)
    if w.sum() > 0:
        r = losscli.evaluate(predictions=p, targets=y, weights=w, losses=["medae"],
                             chunk_size=chunk)
        ref = median_absolute_error(y, p, sample_weight=w)
        assert r["medae"] == pytest.approx(ref, abs=1e-12)


def test_cli_workers_states_the_exact_mode(data):
    path, p, y, w = data
    ref = median_absolute_error(y, p, sample_weight=w)
    proc = run_losscli("eval", path, "-l", "median_absolute_error", "--weight-col", "w",
                       "--chunk-size", "3", "--workers", "2", "-f", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    entry = doc["losses"][0]
    assert entry["value"] == pytest.approx(ref, abs=1e-12)
    assert entry["details"]["method"] == "exact"
    assert entry["details"]["memory_bytes"] == 16 * len(y)
    table = run_losscli("eval", path, "-l", "median_absolute_error")
    assert table.returncode == 0, table.stderr
    assert "exact median" in table.stderr.decode()  # said, not silent


def test_merge_of_saved_parts(data, tmp_path):
    path, p, y, w = data
    frame = pd.read_csv(path)
    states = []
    for i, rows in enumerate((slice(0, 90), slice(90, None))):
        part = tmp_path / f"p{i}.csv"
        frame[rows].to_csv(part, index=False)
        states.append(tmp_path / f"p{i}.state")
        proc = run_losscli("eval", part, "-l", "medae", "--weight-col", "w", "-q",
                           "--save-state", states[-1])
        assert proc.returncode == 0, proc.stderr
    proc = run_losscli("merge", states[1], states[0], "-f", "json")
    assert proc.returncode == 0, proc.stderr
    value = json.loads(proc.stdout)["losses"][0]["value"]
    assert value == pytest.approx(median_absolute_error(y, p, sample_weight=w), abs=1e-12)


def test_group_by(data):
    path, p, y, _ = data
    g = np.arange(len(y)) % 2
    frame = pd.read_csv(path)
    frame["g"] = g
    frame.to_csv(path.with_name("g.csv"), index=False)
    proc = run_losscli("eval", path.with_name("g.csv"), "-l", "medae", "--group-by", "g",
                       "-f", "json")
    assert proc.returncode == 0, proc.stderr
    for group in json.loads(proc.stdout)["groups"]:
        rows = g == int(group["key"]["g"])
        ref = median_absolute_error(y[rows], p[rows])
        assert group["losses"][0]["value"] == pytest.approx(ref, abs=1e-12)


def test_several_outputs_average_the_medians(data):
    _, p, y, w = data
    p2 = np.stack([p, p[::-1]], axis=1)
    y2 = np.stack([y, y * 0.5], axis=1)
    for weights in (None, w):
        r = losscli.evaluate(predictions=p2, targets=y2, weights=weights, task="regression",
                             losses=["median_absolute_error"], chunk_size=10)
        ref = median_absolute_error(y2, p2, sample_weight=weights)
        assert r["median_absolute_error"] == pytest.approx(ref, abs=1e-12)
        per = r.result("median_absolute_error").details["per_column"]
        raw = median_absolute_error(y2, p2, sample_weight=weights, multioutput="raw_values")
        assert per == pytest.approx(list(raw), abs=1e-12)
