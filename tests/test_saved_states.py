"""Saved states and the statistics they carry, where features meet (issue 19, items 6, 7,
9, 10, 14 and the merge messages of item 20), each through the real entry point:

* ``--distribution`` counts every row: an infinite per-row loss is in the distribution (its
  max is inf), quantiles that fall on it are inf;
* an interval of fewer than two rows is n/a with the reason shown (bootstrap included),
  overall and per group;
* a saved state is untrusted input: a hand-edited count or exact sum is refused with one
  line naming the file and the field — a property test mutates fields and truncates files:
  exit 2 with one line, or exactly the original report, never another number with exit 0;
* states of different inputs are refused (naming both files); parts of one folder merge;
* every saved state carries the data fingerprint; a merge of states with and without one
  has none (and says so), never a partial one;
* merge mismatch messages list the values in the order of the files they name.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLES, run_losscli


def _ok(proc) -> dict:
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def _one_line_error(proc) -> str:
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.returncode, err, proc.stdout[:300])
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    return err


# -- item 6: infinite per-row losses are in the distribution ---------------------------------

def test_distribution_counts_infinite_rows(tmp_path):
    margin = np.array([-800.0, 1.0, -2.0, 0.5, -700.0, 3.0, -1.0])  # exp(800) overflows
    path = tmp_path / "m.parquet"
    pq.write_table(pa.table({"pred": margin, "target": np.ones_like(margin)}), path)
    doc = _ok(run_losscli("eval", path, "-l", "exponential", "--distribution", "-f", "json"))
    dist = doc["losses"][0]["distribution"]
    with np.errstate(over="ignore"):
        values = np.exp(-margin)  # the per-row exponential loss, y = +1
    assert dist["rows"] == len(values) == doc["rows"]  # every row counted
    for name, q in {"p50": 0.5, "p90": 0.9, "p99": 0.99, "max": 1.0}.items():
        exact = float(np.quantile(values, q, method="inverted_cdf"))
        got = dist["quantiles"][name]
        if math.isinf(exact):
            assert got is None, (name, got)  # JSON's inf (as the loss value itself)
        else:
            assert got is not None and abs(got - exact) <= 0.01 * exact, (name, got, exact)
    assert doc["losses"][0]["value"] is None  # the mean is inf as well


# -- item 7: fewer than two rows give no interval ------------------------------------------

@pytest.mark.parametrize("method", ["auto", "analytic", "bootstrap"])
def test_one_row_intervals_are_na_with_the_reason(tmp_path, method):
    path = tmp_path / "one.csv"
    path.write_text("pred,target\n0.9,1\n")
    args = ["eval", path, "-l", "mse", "-l", "rmse", "-l", "accuracy", "-l", "r2", "-l", "f1",
            "--ci", "--ci-method", method]
    doc = _ok(run_losscli(*args, "-f", "json"))
    for loss in doc["losses"]:
        iv = loss["interval"]
        if iv["method"] == "wilson":  # a proportion's score interval is defined on one row
            from statsmodels.stats.proportion import proportion_confint

            low, high = proportion_confint(1, 1, alpha=0.05, method="wilson")
            assert iv["low"] == pytest.approx(low) and iv["high"] == pytest.approx(high)
            continue
        assert iv["low"] is None and iv["high"] is None and iv["reason"], (loss["name"], iv)
        if iv["method"] == "percentile":
            assert "fewer than two rows" in iv["reason"], (loss["name"], iv)
    table = run_losscli(*args)
    assert table.returncode == 0, table.stderr
    text = table.stdout.decode()
    assert "[1, 1]" not in text and "[0.01, 0.01]" not in text
    if method == "bootstrap":
        assert "mse: no interval: fewer than two rows" in text


def test_bootstrap_needs_two_rows_of_positive_weight_and_per_group(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("pred,target,w,g\n0.9,1,1,a\n0.2,0,0,a\n0.2,0,1,b\n0.6,1,2,b\n0.7,1,1,b\n")
    args = ["eval", path, "-l", "mse", "--ci", "--ci-method", "bootstrap", "--weight-col", "w",
            "--group-by", "g"]
    doc = _ok(run_losscli(*args, "-f", "json"))
    groups = {g["key"]["g"]: g["losses"][0]["interval"] for g in doc["groups"]}
    # group a: two rows, one of them weighted 0 — one row of positive weight
    assert groups["a"]["low"] is None and "fewer than two rows" in groups["a"]["reason"]
    assert groups["b"]["low"] is not None and groups["b"]["low"] <= groups["b"]["high"]
    text = run_losscli(*args).stdout.decode()
    assert "g=a: mse: no interval: fewer than two rows" in text


# -- items 9 and the boundary: states are untrusted input ------------------------------------

@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    """Two parts of one folder (the same columns), and a file of other columns beside."""
    rng = np.random.default_rng(3)
    root = tmp_path_factory.mktemp("parts")
    folder = root / "data"
    folder.mkdir()
    for i, n in enumerate((300, 200)):
        y = rng.normal(size=n)
        pq.write_table(pa.table({"pred": y + rng.normal(size=n), "target": y}),
                       folder / f"part-{i}.parquet")
    pq.write_table(pa.table({"pred": rng.normal(size=50), "target": rng.normal(size=50),
                             "region": ["x"] * 50}), folder / "other.parquet")
    return folder


def _save(path, out, *extra):
    r = run_losscli("eval", path, "-l", "mse", "--save-state", out, "-q", *extra)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def saved(parts, tmp_path_factory):
    d = tmp_path_factory.mktemp("saved")
    state = _save(SAMPLES / "regression.parquet", d / "r.state", "-l", "r2", "-l", "max_error",
                  "--ci", "--distribution", "-f", "json")
    original = run_losscli("merge", state, "-f", "json")
    assert original.returncode == 0, original.stderr
    return state, original.stdout


def _edit(state, tmp_path, change, name="edited.state"):
    doc = json.loads(state.read_text())
    change(doc)
    out = tmp_path / name
    out.write_text(json.dumps(doc))
    return out


EDITS = {
    "an exact sum -0x10": (lambda d: d["state"]["cells"][0]["losses"][0].__setitem__(
        "weight", "-0x10"), "cells[0].losses[0].weight"),
    "a 5 MB hex sum": (lambda d: d["state"]["cells"][0]["losses"][0].__setitem__(
        "total", "0x" + "f" * 5_000_000), "cells[0].losses[0].total"),
    "rows: -5": (lambda d: d["state"]["cells"][0].__setitem__("rows", -5), "cells[0].rows"),
    "rows: 10**400": (lambda d: d["state"]["cells"][0]["losses"][0].__setitem__(
        "rows", 10 ** 400), "cells[0].losses[0].rows"),
    "a weight sum other than the rows": (lambda d: d["state"]["cells"][0]["losses"][0]
                                         .__setitem__("weight", hex(1 << 1080)),
                                         "cells[0].losses[0].weight"),
    "a count as text": (lambda d: d["state"]["cells"][0].__setitem__("rows_skipped", "0"),
                        "cells[0].rows_skipped"),
    "a negative sum of squares": (lambda d: d["state"]["cells"][0]["uncertainty"][0]["moments"]
                                  .__setitem__("swl2", "-0x1"),
                                  "cells[0].uncertainty[0].moments.swl2"),
}


@pytest.mark.parametrize("edit", list(EDITS))
def test_hand_edited_states_are_refused_naming_file_and_field(saved, tmp_path, edit):
    state, _ = saved
    change, field = EDITS[edit]
    bad = _edit(state, tmp_path, change)
    err = _one_line_error(run_losscli("merge", bad, "-f", "json"))
    assert str(bad) in err and field in err, err


def _leaves(node, path=()):
    """(path, value) of every leaf and list of a state's JSON."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(node, list):
        yield path, node
        for i, v in enumerate(node):
            yield from _leaves(v, (*path, i))
    else:
        yield path, node


#: Sums of non-negative terms (weights, squares, the bootstrap's replicate weights).
NON_NEGATIVE = {"weight", "sw", "sw2", "swl2", "target_weight", "target_m2", "target_b"}


def _mutations(path, value):
    """What a hand edit or a damage may do to one field (the impossible values only)."""
    key = next((p for p in reversed(path) if isinstance(p, str)), "")
    if isinstance(value, bool):
        return ["yes", None, 1.5]
    if isinstance(value, int):
        return [-5, 10 ** 400, 2 ** 64, "7", 1.5, None]
    if isinstance(value, str) and value.lstrip("-").startswith("0x") and "/" not in value and (
            "." not in value and "p" not in value):  # an exact sum (hex integer)
        out: list = ["0x" + "f" * 600_000, "zz", 12, None]
        if key in NON_NEGATIVE or path[-2:-1] == ("weight",):
            out.append("-0x10")
        return out
    if isinstance(value, str):
        return [5, None]
    if isinstance(value, list):
        return ["truncate", {}]
    return []


def _targets(doc):
    return [(path, m) for path, value in _leaves(doc["state"]) for m in _mutations(path, value)]


def _apply(doc, path, mutation):
    node = doc["state"]
    for p in path[:-1]:
        node = node[p]
    if mutation == "truncate":
        if node[path[-1]]:
            node[path[-1]] = node[path[-1]][:-1]
    else:
        node[path[-1]] = mutation


@settings(max_examples=40, derandomize=True, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_states_are_refused_or_give_the_same_report(saved, tmp_path, data):
    state, original = saved
    doc = json.loads(state.read_text())
    if data.draw(st.booleans(), label="truncate the file"):
        text = state.read_bytes()
        cut = data.draw(st.integers(1, len(text) - 2), label="cut at")
        bad = tmp_path / "cut.state"
        bad.write_bytes(text[:cut])
    else:
        path, mutation = data.draw(st.sampled_from(_targets(doc)), label="field, mutation")
        _apply(doc, path, mutation)
        bad = tmp_path / "mutated.state"
        bad.write_text(json.dumps(doc))
    r = run_losscli("merge", bad, "-f", "json")
    if r.returncode == 0:  # an edit that changes nothing the report says (but its name)
        assert r.stdout.replace(str(bad).encode(), str(state).encode()) == original
    else:
        err = _one_line_error(r)
        assert str(bad) in err, err


# -- item 10: states of different inputs ------------------------------------------------------

def test_states_of_different_inputs_are_refused_naming_both(parts, tmp_path):
    a = _save(SAMPLES / "segments.parquet", tmp_path / "seg.state")
    b = _save(SAMPLES / "regression.parquet", tmp_path / "reg.state")
    err = _one_line_error(run_losscli("merge", a, b))
    assert str(a) in err and str(b) in err and "different inputs" in err
    c = _save(parts / "other.parquet", tmp_path / "other.state")
    d = _save(parts / "part-0.parquet", tmp_path / "p0.state")
    err = _one_line_error(run_losscli("merge", c, d))
    assert str(c) in err and str(d) in err


def test_parts_of_one_folder_merge_to_the_folder_run(parts, tmp_path):
    states = [_save(parts / f"part-{i}.parquet", tmp_path / f"p{i}.state") for i in (1, 0)]
    merged = _ok(run_losscli("merge", *states, "-f", "json"))
    both = pa.concat_tables([pq.read_table(parts / f"part-{i}.parquet") for i in (0, 1)])
    err = np.asarray(both["pred"]) - np.asarray(both["target"])
    assert merged["rows"] == 500
    assert merged["losses"][0]["value"] == pytest.approx(float(np.mean(err * err)), rel=1e-14)


# -- item 14: the fingerprint of every saved state -------------------------------------------

def test_a_table_run_saves_the_fingerprint_and_merges_gate_on_it(parts, tmp_path):
    p0 = _save(parts / "part-0.parquet", tmp_path / "p0.state", "-f", "json")
    p1 = _save(parts / "part-1.parquet", tmp_path / "p1.state")  # a table run
    assert json.loads(p1.read_text())["state"]["fingerprint"] is not None
    merged = _ok(run_losscli("merge", p0, p1, "-f", "json"))
    base = tmp_path / "merged.json"
    base.write_text(json.dumps(merged))
    whole = tmp_path / "whole"
    whole.mkdir()
    for i in (0, 1):
        (whole / f"part-{i}.parquet").write_bytes((parts / f"part-{i}.parquet").read_bytes())
    direct = _ok(run_losscli("eval", whole, "-l", "mse", "-f", "json"))
    assert merged["fingerprint"] == direct["fingerprint"]
    r = run_losscli("check", whole, "-l", "mse", "-b", base, "--data-changed", "fail")
    assert r.returncode == 0, (r.stdout, r.stderr)


def test_a_merge_with_a_part_without_fingerprint_has_none_and_says_so(parts, tmp_path):
    p0 = _save(parts / "part-0.parquet", tmp_path / "p0.state", "-f", "json")
    p1 = _save(parts / "part-1.parquet", tmp_path / "p1.state", "-f", "json")
    old = _edit(p1, tmp_path, lambda d: d["state"].__setitem__("fingerprint", None), "old.state")
    r = run_losscli("merge", p0, old, "-f", "json")
    merged = _ok(r)
    assert merged.get("fingerprint") is None
    assert "no data fingerprint" in r.stderr.decode() and str(old) in r.stderr.decode()


# -- item 20: merge mismatch messages name files and values in one order ----------------------

def test_merge_mismatch_lists_values_in_the_order_of_the_files(parts, tmp_path):
    first = _save(parts / "part-0.parquet", tmp_path / "z-first.state", "--chunk-size", "700")
    second = _save(parts / "part-1.parquet", tmp_path / "a-second.state", "--chunk-size", "500")
    err = _one_line_error(run_losscli("merge", second, first))
    # part-0 comes first (the merge order): its file, then part-1's; 700 (part-0's) first
    assert err.index(str(first)) < err.index(str(second)), err
    assert "700 vs 500" in err, err
