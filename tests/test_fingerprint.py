"""The data fingerprint: what the targets and weights were, in a form that does not depend
on row order, chunk size or how a run is split — and ``check`` saying (in every format)
when a baseline was computed on other data, failing with ``--data-changed fail``.
"""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import losscli
from losscli import engine
from losscli.execution import evaluate
from losscli.fingerprint import row_hashes_sum
from losscli.io.inputs import Batch
from losscli.session import Session
from losscli.spec import build_spec
from losscli.state import State
from tests.conftest import SAMPLES

N = 5000


def write(path, pred, target, weight=None):
    cols = {"pred": pred, "target": target}
    if weight is not None:
        cols["weight"] = weight
    pq.write_table(pa.table(cols), path)
    return path


@pytest.fixture
def data(tmp_path):
    rng = np.random.default_rng(11)
    pred, target, weight = rng.normal(size=N), rng.normal(size=N), rng.random(N)
    target[::97] = 0.0  # zeros, and the same value on many rows
    return pred, target, weight


def fingerprint(cli, path, *args) -> dict:
    r = cli("eval", path, "-l", "mse", "-f", "json", *args)
    assert r.exit_code == 0, r.stderr
    return json.loads(r.stdout)["fingerprint"]


def test_the_report_carries_it(cli, tmp_path, data):
    fp = fingerprint(cli, write(tmp_path / "a.parquet", *data[:2]))
    assert set(fp) == {"targets", "rows", "method"} and fp["rows"] == N
    assert len(fp["targets"]) == 16 and int(fp["targets"], 16) >= 0
    assert fp["method"] == "sum64-splitmix64"


def test_same_for_shuffled_rows_and_any_chunk_size(cli, tmp_path, data):
    pred, target, weight = data
    first = write(tmp_path / "a.parquet", pred, target, weight)
    order = np.random.default_rng(1).permutation(N)
    shuffled = write(tmp_path / "b.parquet", pred[order], target[order], weight[order])
    w = ["--weight-col", "weight"]
    expected = fingerprint(cli, first, *w)
    for path, chunk in ((first, "7"), (first, "1000"), (shuffled, "13"), (shuffled, "100000")):
        assert fingerprint(cli, path, *w, "--chunk-size", chunk) == expected
    # the predictions are not part of it
    other_preds = write(tmp_path / "c.parquet", pred + 1, target, weight)
    assert fingerprint(cli, other_preds, *w) == expected


def test_different_for_one_changed_target_or_weight(cli, tmp_path, data):
    pred, target, weight = data
    w = ["--weight-col", "weight"]
    base = fingerprint(cli, write(tmp_path / "a.parquet", pred, target, weight), *w)
    one_ulp = target.copy()
    one_ulp[1234] = np.nextafter(one_ulp[1234], np.inf)
    assert fingerprint(cli, write(tmp_path / "b.parquet", pred, one_ulp, weight), *w) != base
    heavier = weight.copy()
    heavier[77] *= 2
    assert fingerprint(cli, write(tmp_path / "c.parquet", pred, target, heavier), *w) != base
    # one row less, or two rows' targets swapped with each other's weights
    assert fingerprint(cli, write(tmp_path / "d.parquet", pred[1:], target[1:], weight[1:]),
                       *w)["rows"] == N - 1
    swapped = target.copy()
    swapped[[3, 4]] = swapped[[4, 3]]
    assert fingerprint(cli, write(tmp_path / "e.parquet", pred, swapped, weight), *w) != base


def test_no_weights_is_weights_of_one(cli, tmp_path, data):
    pred, target, _ = data
    plain = fingerprint(cli, write(tmp_path / "a.parquet", pred, target))
    ones = fingerprint(cli, write(tmp_path / "b.parquet", pred, target, np.ones(N)),
                       "--weight-col", "weight")
    assert plain == ones


def test_row_hashes_normalise_zero_and_nan_and_see_every_column():
    sum_ = row_hashes_sum
    assert sum_(np.array([0.0, 1.0])) == sum_(np.array([-0.0, 1.0]))
    quiet, other_nan = np.array([np.nan]), np.array([0x7FF8DEADBEEF0001]).view(np.float64)
    assert np.isnan(other_nan[0]) and sum_(quiet) == sum_(other_nan) == sum_(-quiet)
    dist = np.random.default_rng(0).random((50, 3))
    assert sum_(dist) != sum_(dist[:, [1, 0, 2]])  # columns are ordered (class 0, 1, 2)
    assert sum_(dist) == sum_(dist[::-1].copy())  # rows are not
    assert sum_(np.array([1.0, 2.0])) != sum_(np.array([1.0]))  # a row more counts
    assert sum_(np.empty(0)) == 0


def test_parts_combine_by_adding(data):
    """Two halves of the rows reduced apart and merged: the whole's fingerprint, also after
    a JSON round trip of the states."""
    pred, target, weight = data
    spec = build_spec(pred, target, losses=["mse"], weights=weight)
    plan = Session(spec).plan

    def state_of(lo: int, hi: int) -> State:
        arrays = {"pred": pred[lo:hi], "target": target[lo:hi], "weight": weight[lo:hi]}
        return engine.reduce([Batch(lo, arrays)], plan)

    whole = state_of(0, N)
    parts = state_of(3000, N).merge(state_of(0, 3000))
    restored = State.from_dict(json.loads(json.dumps(parts.to_dict())))
    assert whole.fingerprint == parts.fingerprint == restored.fingerprint
    assert whole.fingerprint is not None and whole.fingerprint.rows == N


def test_api_report_and_multiclass(tmp_path):
    report = losscli.evaluate(str(SAMPLES / "multiclass.parquet"), pred_col="p_*")
    assert report.fingerprint is not None and report.fingerprint.rows == report.rows
    assert report.to_dict()["fingerprint"]["targets"] == report.fingerprint.targets


# --- check: other data ------------------------------------------------------------------------

@pytest.fixture
def other_data(cli, tmp_path, data):
    """A baseline saved on one file, and a file with one target changed."""
    pred, target, _ = data
    first = write(tmp_path / "a.parquet", pred, target)
    changed = target.copy()
    changed[10] += 1.0
    second = write(tmp_path / "b.parquet", pred, changed)
    base = tmp_path / "base.json"
    r = cli("check", first, "-l", "mae", "--save", base, "-q")
    assert r.exit_code == 0, r.stderr
    return first, second, base


NOTE = "the baseline was computed on different data"


def test_same_data_says_nothing(cli, other_data):
    first, _, base = other_data
    for fmt in ("table", "markdown", "json", "csv"):
        r = cli("check", first, "-b", base, "--data-changed", "fail", "-f", fmt)
        assert r.exit_code == 0 and NOTE not in r.stdout + r.stderr, fmt


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "csv", "ndjson"])
def test_other_data_is_said_in_every_format(cli, other_data, fmt):
    _, second, base = other_data
    r = cli("check", second, "-b", base, "--atol", "1", "-f", fmt)
    assert r.exit_code == 0, r.stderr  # warn (the default): a note, the gate passes
    if fmt == "json":
        doc = json.loads(r.stdout)
        assert doc["passed"] is True and doc["data_changed"] is True
        assert doc["baseline"]["fingerprint"]["targets"] != doc["fingerprint"]["targets"]
    elif fmt == "csv":
        row = next(csv.DictReader(io.StringIO(r.stdout)))
        assert row["data_changed"] == "true" and NOTE in row["reasons"]
    elif fmt == "ndjson":
        assert json.loads(r.stdout.splitlines()[0])["data_changed"] is True
    else:
        assert NOTE in r.stdout and "--data-changed fail" in r.stdout
        if fmt == "markdown":
            assert f"- ⚠️ {NOTE}" in r.stdout and r.stdout.startswith("### ✅")


@pytest.mark.parametrize("fmt", ["table", "markdown", "json"])
def test_data_changed_fail_fails_the_gate(cli, other_data, fmt):
    _, second, base = other_data
    r = cli("check", second, "-b", base, "--atol", "1", "--data-changed", "fail", "-f", fmt)
    assert r.exit_code == 1
    assert r.stderr.splitlines()[-1] == ("losscli: check failed: other data than the "
                                         "baseline's (--data-changed fail)")
    if fmt == "json":
        doc = json.loads(r.stdout)
        assert doc["passed"] is False and doc["failed"] == [] and doc["data_changed"] is True
    elif fmt == "markdown":
        assert r.stdout.startswith("### ❌ losscli check failed: other data")
        assert f"- ❌ {NOTE}" in r.stdout
    else:
        assert f"✗ {NOTE}" in r.stdout and "FAILED: other data" in r.stdout


def test_a_baseline_without_a_fingerprint_is_unknown_never_a_failure(cli, other_data, tmp_path):
    _, second, base = other_data
    doc = json.loads(base.read_text())
    doc.pop("fingerprint")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    r = cli("check", second, "-b", old, "--atol", "1", "--data-changed", "fail", "-f", "json")
    assert r.exit_code == 0 and json.loads(r.stdout)["data_changed"] is None
    assert "has no data fingerprint" in r.stderr and "unknown" in r.stderr


def test_eval_tables_skip_the_cost(cli, tmp_path, data):
    """The table of `eval` does not compute the fingerprint (its JSON does)."""
    path = write(tmp_path / "a.parquet", *data[:2])
    spec = build_spec(str(path), losses=["mse"])
    assert evaluate(Session(spec, fingerprint=False))[0].fingerprint is None
    assert evaluate(Session(spec))[0].fingerprint is not None
