"""A loss instance is one thing everywhere (``registry.LossKey``): a run checked against
its own baseline passes, whatever the loss, its parameters and the task; labels show only
non-default parameters, per-row columns are plain identifiers, and every older spelling
of a loss still names it. A change within float round-off is ``same``, in ``check`` and in
``compare``.
"""

from __future__ import annotations

import csv
import io
import json
import re
import shlex
from collections import defaultdict

import numpy as np
import pyarrow.parquet as pq
import pytest

import losscli
from losscli.catalog import example_command
from losscli.errors import UsageError
from losscli.registry import Param, all_losses, format_param
from tests.conftest import ROOT, SAMPLES

#: The default loss set of each task, on its sample data (what `eval FILE` picks alone).
TASK_DATA = {
    "regression": ["sample_data/regression.parquet"],
    "binary": ["sample_data/binary.csv"],
    "multiclass": ["sample_data/multiclass.parquet", "--pred-col", "p_*"],
    "embedding": ["sample_data/triplets.parquet"],
}


#: A free-text parameter's documented example -> another valid value for the tests.
OTHER_TEXT = {"0.1_0.5_0.9": "0.2_0.5_0.8"}


def non_default(p: Param) -> float | int | bool | str:
    """A valid value of ``p`` other than its default, from its declared type and range."""
    if p.type is bool:
        return not p.default
    if p.type is str and not p.choices:  # free text (quantile levels): a valid value
        # other than the documented example (the sample data's own levels, which the
        # automatic default reads from the column names: the same instance, refused)
        (example,) = re.findall(r"e\.g\. (\S+)", p.doc)
        return p.coerce(OTHER_TEXT.get(example, example), "test")  # type: ignore[return-value]
    if p.type is str:
        return next(c for c in p.choices if c != p.default and c != "binary")
    if p.default is None:  # "auto" (a threshold; k: every rank): any valid number
        return p.coerce(3 if p.type is int else 0.3, "test")  # type: ignore[return-value]
    if p.type is int and p.name == "bins" and p.default == 0:
        # exact by default; one bin is valid but degenerate (an operating point is then
        # undefined, and a NaN fails its own baseline by design): a usable number of bins
        return p.coerce(50, "test")  # type: ignore[return-value]
    if p.type is int:
        candidates: list[float] = [p.default + 1, p.default - 1]
    else:
        half = [p.default / 2] if p.default > 0 else []
        candidates = [*half, 0.25, 0.5, 0.1, 2.0, 1e-6, p.default + 1]
    for value in candidates:
        if value == p.default:
            continue
        try:
            return p.coerce(value, "test")
        except UsageError:
            continue
    raise AssertionError(f"no valid non-default value for {p.name}")


def instances_by_data() -> dict[tuple[str, ...], list[str]]:
    """``--loss`` arguments grouped by the sample data their example runs on: every loss
    with its defaults, and once more per parameter with a non-default value."""
    groups: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for spec in all_losses().values():
        args = shlex.split(example_command(spec))
        data = tuple(args[2:args.index("--loss")])
        groups[data].append(spec.name)
        for p in spec.params:
            where = data
            if p.tasks and not any(t in p.tasks for t in _task_of(data, spec)):
                # a parameter of another task than the example's: that task's sample data
                task = next(t for t in p.tasks if t in spec.tasks and t in TASK_DATA)
                where = tuple(TASK_DATA[task])
            groups[where].append(f"{spec.name}:{p.name}={format_param(non_default(p))}")
    return dict(groups)


def _task_of(data: tuple[str, ...], spec) -> tuple[str, ...]:
    """The tasks a loss may run as on the example data (the loss's own, or the data's)."""
    for task, args in TASK_DATA.items():
        if tuple(args) == data:
            return (task,)
    return tuple(t for t in spec.tasks if t in ("regression", "multiclass", "embedding")) or (
        spec.tasks[0],)


GROUPS = instances_by_data()


def test_every_loss_and_parameter_is_covered():
    covered = {arg.split(":")[0] for args in GROUPS.values() for arg in args}
    assert covered == set(all_losses())
    params = sum(len(s.params) for s in all_losses().values())
    assert sum(len(a) for a in GROUPS.values()) == len(all_losses()) + params


def run_ok(cli, *args) -> str:
    r = cli(*args)
    assert r.exit_code == 0, (args, r.stdout, r.stderr)
    return r.stdout


def assert_passes_own_baseline(cli, tmp_path, data: list[str], losses: list[str]) -> None:
    loss_args = [a for loss in losses for a in ("--loss", loss)]
    saved, printed = tmp_path / "saved.json", tmp_path / "printed.json"
    run_ok(cli, "check", *data, *loss_args, "--save", saved, "-q")
    printed.write_text(run_ok(cli, "eval", *data, *loss_args, "--format", "json"))
    for base in (saved, printed):
        for again in ([], loss_args):  # the baseline's own losses, or the same --loss list
            doc = json.loads(run_ok(cli, "check", *data, *again, "--baseline", base, "-f",
                                    "json"))
            assert doc["passed"], doc
            # the same data; triplets have no targets, so no fingerprint: unknown
            assert doc["data_changed"] is (False if "fingerprint" in doc else None)
            assert ("fingerprint" in doc) == ("triplets" not in data[0])
            assert {c["status"] for c in doc["checks"]} == {"same"}, doc["checks"]
            assert len(doc["checks"]) == (len(losses) if losses else len(doc["losses"]))


@pytest.mark.parametrize("data", list(GROUPS), ids=[" ".join(d) for d in GROUPS])
def test_every_loss_with_any_parameters_passes_its_own_baseline(cli, tmp_path, monkeypatch,
                                                                 data):
    monkeypatch.chdir(ROOT)
    assert_passes_own_baseline(cli, tmp_path, list(data), GROUPS[data])


@pytest.mark.parametrize("task", list(TASK_DATA))
def test_every_task_default_loss_set_passes_its_own_baseline(cli, tmp_path, monkeypatch, task):
    monkeypatch.chdir(ROOT)
    assert_passes_own_baseline(cli, tmp_path, TASK_DATA[task], [])


def test_old_baselines_that_spell_out_every_default_still_match(cli, tmp_path, monkeypatch):
    """Baselines written before labels dropped defaults: every parameter spelled out, no
    label, no fingerprint — `zero_one(tolerance=0)`, `bce(eps=...,pos_weight=1,alpha=-1)`."""
    monkeypatch.chdir(ROOT)
    doc = json.loads(run_ok(cli, "eval", "sample_data/binary.csv", "-f", "json"))
    spelled = {"bce": {"eps": 2.220446049250313e-16, "pos_weight": 1.0, "alpha": -1.0},
               "zero_one": {"tolerance": 0.0}, "brier": {}}
    for entry in doc["losses"]:
        entry.pop("label")
        entry["params"] = spelled[entry["name"]]
    doc.pop("fingerprint")
    old = tmp_path / "old.json"
    old.write_text(json.dumps(doc))
    for more in ([], ["--loss", "bce", "--loss", "brier", "--loss", "zero_one"]):
        out = json.loads(run_ok(cli, "check", "sample_data/binary.csv", *more, "-b", old,
                                "-f", "json"))
        assert [(c["label"], c["status"]) for c in out["checks"]] == [
            ("bce", "same"), ("brier", "same"), ("zero_one", "same")]
        assert out["data_changed"] is None  # no fingerprint: unknown, never a failure


# --- labels, columns and every spelling of a loss ---------------------------------------------

def test_labels_show_only_non_default_parameters(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    doc = json.loads(run_ok(cli, "eval", "sample_data/regression.parquet", "-l", "huber",
                            "-l", "huber:delta=0.5", "-l", "quantile:quantile=0.5", "-f", "json"))
    assert [x["label"] for x in doc["losses"]] == ["huber", "huber(delta=0.5)", "quantile"]
    # JSON keeps every parameter at its effective value
    assert [x["params"] for x in doc["losses"]] == [{"delta": 1.0}, {"delta": 0.5},
                                                     {"quantile": 0.5}]
    table = run_ok(cli, "eval", "sample_data/binary.csv")
    assert "eps=" not in table and "pos_weight" not in table


def test_per_row_columns_are_plain_identifiers(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT)
    args = ["eval", "sample_data/regression.parquet", "-r", "none", "-l", "mse", "-l",
            "huber:delta=0.5", "-l", "quantile:quantile=0.25", "-l", "smooth_l1:beta=2"]
    header = run_ok(cli, *args).splitlines()[0]
    columns = ["row", "mse", "huber_delta_0p5", "quantile_quantile_0p25", "smooth_l1_beta_2"]
    assert header.split(",") == columns
    out = tmp_path / "rows.parquet"
    run_ok(cli, *args, "-o", out, "-q")
    assert pq.read_schema(out).names == columns
    assert all(c.isidentifier() for c in columns)


def test_every_spelling_names_the_loss_in_the_api():
    report = losscli.evaluate(str(SAMPLES / "regression.parquet"),
                              losses=["mse", "huber:delta=0.5", "huber"])
    half = report.result("huber(delta=0.5)").value
    for name in ("huber(delta=0.5)", "huber:delta=0.5", "huber_delta_0p5", "huber( delta = 0.5 )"):
        assert report[name] == half, name
    default = report["huber"]  # the default instance: by name, label, old label or --loss form
    for name in ("huber(delta=1)", "huber(delta=1.0)", "huber:delta=1"):
        assert report[name] == default, name
    assert default != half
    with pytest.raises(KeyError, match="no selected huber has those parameters"):
        report["huber(delta=2)"]


def test_every_spelling_names_the_loss_in_check_bounds(cli, monkeypatch):
    monkeypatch.chdir(ROOT)
    data = ["sample_data/regression.parquet", "-l", "huber", "-l", "huber:delta=0.5"]
    values = {x["label"]: x["value"] for x in json.loads(
        run_ok(cli, "eval", *data, "-f", "json"))["losses"]}
    for name, label in (("huber(delta=1)", "huber"), ("huber(delta=1.0)", "huber"),
                        ("huber:delta=1", "huber"), ("huber(delta=0.5)", "huber(delta=0.5)"),
                        ("huber:delta=0.5", "huber(delta=0.5)"),
                        ("huber_delta_0p5", "huber(delta=0.5)")):
        below = values[label] * 0.99
        r = cli("check", *data, "--max", f"{name}={below}", "-f", "json")
        assert r.exit_code == 1, (name, r.stderr)
        assert json.loads(r.stdout)["failed"] == [label], name
        r = cli("check", *data, "--max", f"{name}={values[label]}")
        assert r.exit_code == 0, (name, r.stderr)


# --- `same` within round-off ------------------------------------------------------------------

def _baseline_with(tmp_path, value: float):
    doc = json.loads((SAMPLES / "baseline.json").read_text())
    doc["losses"] = [{"name": "mse", "params": {}, "value": value}]
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(("factor", "status", "code"), [
    (1.0, "same", 0),
    (1 + 5e-13, "same", 0),   # the run is 5e-13 relatively better: round-off, not better
    (1 - 5e-13, "same", 0),   # ... or worse: not a failure either
    (1 + 1e-9, "improved", 0),
    (1 - 1e-9, "fail", 1),
])
def test_a_change_within_round_off_is_same(cli, tmp_path, monkeypatch, factor, status, code):
    monkeypatch.chdir(ROOT)
    mse = losscli.evaluate("sample_data/regression.parquet", losses="mse")["mse"]
    base = _baseline_with(tmp_path, mse * factor)
    r = cli("check", "sample_data/regression.parquet", "-l", "mse", "-b", base, "-f", "csv")
    assert r.exit_code == code, r.stderr
    assert next(csv.DictReader(io.StringIO(r.stdout)))["status"] == status
    table = cli("check", "sample_data/regression.parquet", "-l", "mse", "-b", base).stdout
    assert f" {status if status != 'fail' else 'FAIL'} " in table
    if status == "same":
        assert "1 same" in table


def test_compare_crowns_values_within_round_off_together(cli, tmp_path):
    rng = np.random.default_rng(4)
    target = rng.normal(size=200)
    a = target + rng.normal(size=200)
    # b's errors are a's scaled by (1 + 1e-14): its mse differs from a's by ~2e-14 relatively
    b = target + (a - target) * (1 + 1e-14)
    for name, pred in (("a", a), ("b", b)):
        np.savetxt(tmp_path / f"{name}.csv", np.column_stack([pred, target]), delimiter=",",
                   header="pred,target", comments="", fmt="%.17g")
    args = [tmp_path / "a.csv", tmp_path / "b.csv", "-l", "mse", "-l", "mae"]
    doc = json.loads(run_ok(cli, "compare", *args, "-f", "json"))
    for loss in doc["losses"]:
        assert loss["values"]["a"] != loss["values"]["b"]  # not bit-identical ...
        assert loss["leader"] == ["a", "b"]  # ... yet equal within round-off: both lead
        assert loss["verdict"]["b"] == "same" and loss["best"] == []  # and nobody is crowned
    table = run_ok(cli, "compare", *args)
    assert table.count("same") == 2
    md = run_ok(cli, "compare", *args, "-f", "markdown")
    assert md.count("| same |") == 2 and md.count("**") == 8  # both values bold, twice


@pytest.mark.parametrize("data, losses", [
    (["sample_data/binary.csv"], ["zero_one", "zero_one:threshold=0.5"]),
    (["sample_data/forecast.parquet", "--quantile-cols", "q_*"],
     ["mean_pinball", "mean_pinball:levels=0.1_0.5_0.9"]),
])
def test_an_automatic_parameter_resolved_to_anothers_value_is_one_instance(data, losses):
    # 'zero_one' (threshold auto: 0.5 on probabilities) and 'zero_one:threshold=0.5' are one
    # instance once the data is seen: refused in one line (a baseline with both lists one
    # loss twice, which check refuses), never two identical rows
    from tests.conftest import run_losscli

    proc = run_losscli("eval", *data, *(a for x in losses for a in ("--loss", x)), cwd=ROOT)
    err = proc.stderr.decode().strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1, err
    assert f"Loss '{losses[1]}' is the same as '{losses[0]}'" in err
    assert "automatic parameters" in err and not proc.stdout
