"""Issue 20 item 1: a saved state records the engine's plan (``Plan.to_dict``) and the
run's group order, and ``losscli merge`` rebuilds the report from them
(``Plan.from_dict`` + :mod:`losscli.reporting`) instead of re-assembling a plan by hand,
which forgot ``--sort``, calibration and paired settings. The plan in a header is untrusted
input like the rest of a state; a state saved before plans were recorded still merges."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from losscli.engine import Plan
from losscli.session import ModelInput, Session
from losscli.spec import build_spec
from tests.conftest import run_losscli

SCALE = {"a": 0.1, "b": 2.0, "c": 0.7, "d": 1.3}


def _part(path, seed, n=60):
    rng = np.random.default_rng(seed)
    g = rng.choice(sorted(SCALE), n)
    t = rng.normal(size=n)
    p = t + rng.normal(size=n) * np.array([SCALE[x] for x in g])
    frame = pd.DataFrame({"pred": p, "target": t, "g": g})
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture()
def saved(tmp_path):
    """Two parts of one folder saved with --group-by g --sort value; their frame."""
    data = tmp_path / "data"
    data.mkdir()
    frames = [_part(data / f"part{i}.csv", seed=i) for i in (1, 2)]
    states = []
    for i in (1, 2):
        state = tmp_path / f"{i}.state"
        r = run_losscli("eval", data / f"part{i}.csv", "--loss", "mse", "--loss", "mae",
                        "--group-by", "g", "--sort", "value", "-q", "--save-state", state)
        assert r.returncode == 0, r.stderr.decode()
        states.append(state)
    return states, pd.concat(frames, ignore_index=True)


def _groups(proc):
    assert proc.returncode == 0, proc.stderr.decode()
    return [(g["key"]["g"], g["losses"][0]["value"]) for g in json.loads(proc.stdout)["groups"]]


def test_merge_orders_groups_as_the_saved_runs_did(saved):
    states, frame = saved
    mse = ((frame.pred - frame.target) ** 2).groupby(frame.g).mean()
    worst_first = mse.sort_values(ascending=False)
    assert list(worst_first.index) != sorted(worst_first.index)  # the orders differ
    got = _groups(run_losscli("merge", *states, "-f", "json"))
    assert [k for k, _ in got] == list(worst_first.index)
    np.testing.assert_allclose([v for _, v in got], worst_first.to_numpy(), rtol=1e-12)


def test_a_state_saved_without_a_plan_still_merges_in_key_order(saved, tmp_path):
    states, frame = saved
    old = []
    for i, state in enumerate(states):
        doc = json.loads(state.read_text())
        del doc["plan"], doc["sort"]  # as a state saved before they were recorded
        out = tmp_path / f"old{i}.state"
        out.write_text(json.dumps(doc))
        old.append(out)
    mse = ((frame.pred - frame.target) ** 2).groupby(frame.g).mean()
    got = _groups(run_losscli("merge", *old, "-f", "json"))
    assert [k for k, _ in got] == sorted(mse.index)
    np.testing.assert_allclose([v for _, v in got], mse.sort_index().to_numpy(), rtol=1e-12)


DAMAGE = {
    "classes -1": (lambda d: d["plan"]["losses"][0].__setitem__("classes", -1),
                   "plan.losses[0].classes"),
    "a loss less": (lambda d: d["plan"]["losses"].pop(), "plan.losses"),
    "two models": (lambda d: d["plan"].__setitem__("models", 2), "plan.models"),
    "calibration text": (lambda d: d["plan"].__setitem__("calibration", "binary"),
                         "plan.calibration"),
    "ci a list": (lambda d: d["plan"].__setitem__("ci", [0.95]), "plan.ci"),
    "group_by numbers": (lambda d: d["plan"].__setitem__("group_by", [1]), "plan.group_by"),
    "plan a list": (lambda d: d.__setitem__("plan", []), "plan"),
    "sort sideways": (lambda d: d.__setitem__("sort", "sideways"), "sort"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_plan_is_one_line_naming_file_and_field(saved, tmp_path, damage):
    states, _ = saved
    change, field = DAMAGE[damage]
    doc = json.loads(states[0].read_text())
    change(doc)
    bad = tmp_path / "damaged.state"
    bad.write_text(json.dumps(doc))
    r = run_losscli("merge", bad, states[1], "-f", "json")
    err = r.stderr.decode()
    assert r.returncode == 2, (err, r.stdout[:300])
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert str(bad) in err and f"field {field}" in err, err


def _session(tmp_path, **options):
    rng = np.random.default_rng(3)
    n = 40
    y = rng.integers(0, 2, n)
    frame = pd.DataFrame({"pred": rng.uniform(0.05, 0.95, n), "target": y,
                          "other": rng.uniform(0.05, 0.95, n), "g": rng.choice(["x", "y"], n)})
    path = tmp_path / "scores.csv"
    frame.to_csv(path, index=False)
    return path, options


@pytest.mark.parametrize("options", [
    {"losses": ["bce", "brier"], "calibration": True},  # kept for the reliability diagram
    {"losses": ["bce"], "ci": True, "group_by": ["g"], "max_groups": 7},
    {"losses": ["mse"], "distribution": True, "relative_accuracy": 0.02},
    {"losses": ["mse"], "reduction": "sum", "nan_policy": "omit"},
])
def test_a_plan_round_trips_through_its_dict(tmp_path, options):
    path, options = _session(tmp_path, **options)
    plan = Session(build_spec(str(path), **options)).plan
    again = Plan.from_dict(json.loads(json.dumps(plan.to_dict())))
    assert again == plan
    assert [i.options for i in again.instances] == [i.options for i in plan.instances]
    if options["losses"] == ["bce", "brier"]:
        assert plan.calibration == ("binary", False)


def test_a_paired_plan_round_trips_through_its_dict(tmp_path):
    path, _ = _session(tmp_path)
    session = Session(build_spec(str(path), losses=["brier"], ci=True),
                      [ModelInput("a", str(path), ("pred",)),
                       ModelInput("b", str(path), ("other",))], paired=True)
    assert session.plan.paired is not None
    assert Plan.from_dict(json.loads(json.dumps(session.plan.to_dict()))) == session.plan
