"""The regression gate (``losscli check``): bounds, tolerances, directions, baselines,
atomic saving, outputs and exit codes.

Data used throughout (hand-derived values): targets t = [1, 2, 3, 4] (mean 2.5, Σ(t - t̄)² = 5)
and predictions t + [0.5, -0.5, 0.5, -0.5], so every |error| is 0.5:
mse = 0.25, mae = 0.5, huber(delta=1) = 0.5·0.5² = 0.125, r2 = 1 - 4·0.25/5 = 0.8.
"""

from __future__ import annotations

import csv
import io
import json
import os

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from losscli import gate
from losscli.errors import InputError, OutputError, UsageError
from losscli.gate import Bounds, load_baseline, parse_baseline, parse_bounds
from losscli.registry import find_instance as match_instance
from losscli.registry import resolve_losses
from losscli.report import SCHEMA_VERSION, LossResult, Report
from tests.conftest import run_losscli

TARGET = [1.0, 2.0, 3.0, 4.0]
PRED = [1.5, 1.5, 3.5, 3.5]
MSE, MAE, HUBER, R2 = 0.25, 0.5, 0.125, 0.8


@pytest.fixture
def preds(tmp_path):
    path = tmp_path / "preds.parquet"
    pq.write_table(pa.table({"pred": PRED, "target": TARGET}), path)
    return path


def baseline_doc(*losses: tuple, **extra) -> dict:
    """A report document as `eval --format json` writes it; losses are (name, params, value)."""
    return {
        "schema_version": SCHEMA_VERSION, "losscli_version": "0.1.0", "inputs": {},
        "rows": 4, "rows_skipped": 0, "reduction": "mean",
        "losses": [{"name": n, "params": p, "value": v, "higher_is_better": n == "r2"}
                   for n, p, v in losses],
        **extra,
    }


def write_baseline(path, *losses, **extra):
    path.write_text(json.dumps(baseline_doc(*losses, **extra)))
    return path


def result(name, value, params=None, higher=None):
    params = params or {}
    inst = resolve_losses([name + (":" + ",".join(f"{k}={v}" for k, v in params.items())
                                   if params else "")])[0]
    return LossResult(inst.name, dict(inst.params), value,
                      inst.spec.higher_is_better if higher is None else higher, inst.key)


def baseline_of(*losses):
    return parse_baseline(baseline_doc(*losses), "b.json")


def judge(name, value, bounds=None, base=None, **kw):
    return gate.judge(result(name, value), bounds or Bounds(), base, **kw)


# --- naming a loss in --max/--min/--rtol/--atol ---------------------------------------

INSTANCES = resolve_losses(["mse", "mae", "huber:delta=0.5", "huber:delta=2", "r2"])


@pytest.mark.parametrize(("name", "label"), [
    ("mse", "mse"), ("MSE", "mse"), ("l1", "mae"), ("mean_absolute_error", "mae"),
    ("huber(delta=0.5)", "huber(delta=0.5)"), ("huber:delta=0.5", "huber(delta=0.5)"),
    ("huber:delta=2.0", "huber(delta=2)"), ("huber_loss(delta=2)", "huber(delta=2)"),
    ("r2_score", "r2"),
])
def test_loss_names_labels_and_aliases_resolve(name, label):
    assert match_instance(name, INSTANCES, "--max").label == label


@pytest.mark.parametrize(("name", "message"), [
    ("huber", "matches several selected losses (huber(delta=0.5), huber(delta=2))"),
    ("hubr", "Did you mean 'huber'?"),
    ("rmse", "rmse is not among the selected losses (mse, mae, huber(delta=0.5), huber(delta=2), "
             "r2); add '--loss rmse'"),
    ("huber:delta=3", "no selected huber has those parameters"),
    ("huber:alpha=3", "has no parameter 'alpha'"),
])
def test_bad_loss_names_are_usage_errors(name, message):
    with pytest.raises(UsageError, match="^'--max " + name.replace("(", r"\(")) as err:
        parse_bounds(INSTANCES, max_=[f"{name}=1"])
    assert message in str(err.value)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"max_": ["mse"]}, "needs a loss name: write it as NAME=VALUE"),
    ({"max_": ["mse=abc"]}, "'abc' is not a number"),
    ({"max_": ["mse=nan"]}, "finite"),
    ({"rtol": ["-0.1"]}, "a tolerance must be >= 0"),
    ({"rtol": ["0.1", "0.2"]}, "--rtol was given twice without a loss name"),
    ({"max_": ["mse=1", "l2=2"]}, "mse already has --max 1"),
    ({"max_": ["mse=1"], "min_": ["mse=2"]}, "--min 2 is above --max 1 for mse"),
    ({"atol": ["=1"]}, "write it as NAME=VALUE"),
])
def test_bad_bounds_are_usage_errors(kwargs, message):
    with pytest.raises(UsageError, match=message):
        parse_bounds(INSTANCES, **kwargs)


def test_bounds_are_keyed_by_label_with_globals_apart():
    b = parse_bounds(INSTANCES, max_=["huber(delta=2)=0.3", "l1=1"], min_=["r2=0.5"],
                     rtol=["0.02", "mse=0.01"], atol=["huber:delta=0.5=0.001"])
    assert b.max == {"huber(delta=2)": 0.3, "mae": 1.0} and b.min == {"r2": 0.5}
    assert b.rtol == {"mse": 0.01} and b.rtol_all == 0.02
    assert b.atol == {"huber(delta=0.5)": 0.001} and b.atol_all is None
    # the per-loss value replaces the global one of the same kind; the other kind stays
    assert b.rtol_for("mse") == 0.01 and b.rtol_for("mae") == 0.02
    assert b.atol_for("huber(delta=0.5)") == 0.001 and b.atol_for("mse") is None


# --- verdicts: directions, tolerances, edges -------------------------------------------

def test_lower_is_better_pass_improve_fail():
    base = baseline_of(("mse", {}, 0.5))
    same, better, worse = (judge("mse", v, base=base) for v in (0.5, 0.25, 0.75))
    assert (same.status, better.status, worse.status) == ("same", "improved", "fail")
    assert worse.change == 0.25 and worse.relative_change == 0.5 and not worse.passed
    assert better.change == -0.25 and better.relative_change == -0.5 and better.passed
    assert "mse got worse: 0.75 vs baseline 0.5" in worse.reasons[0]


def test_higher_is_better_r2_pass_improve_fail():
    base = baseline_of(("r2", {}, 0.5))
    same, better, worse = (judge("r2", v, base=base) for v in (0.5, 0.75, 0.25))
    assert (same.status, better.status, worse.status) == ("same", "improved", "fail")
    # a rise of r2 is an improvement, a drop the regression: the opposite of mse above
    assert better.change == 0.25 and worse.change == -0.25
    assert worse.limit == 0.5 and worse.bound_text.startswith(">= 0.5 (baseline")


@pytest.mark.parametrize(("name", "base_value", "ok", "bad"), [
    # baseline 0.5, rtol 0.5 -> worsening of 0.25 allowed: exactly 0.75 (mse) / 0.25 (r2) pass
    ("mse", 0.5, 0.75, 0.75 + 1e-9),
    ("r2", 0.5, 0.25, 0.25 - 1e-9),
])
def test_relative_tolerance_exactly_at_the_bound_passes(name, base_value, ok, bad):
    bounds = Bounds(rtol_all=0.5)
    base = baseline_of((name, {}, base_value))
    at = judge(name, ok, bounds, base)
    assert at.status == "pass" and at.allowed_change == 0.25 and at.limit == ok
    assert judge(name, bad, bounds, base).status == "fail"


@pytest.mark.parametrize(("name", "ok", "bad"), [("mse", 0.625, 0.625 + 1e-9),
                                                 ("r2", 0.375, 0.375 - 1e-9)])
def test_absolute_tolerance_exactly_at_the_bound_passes(name, ok, bad):
    bounds = Bounds(atol={name: 0.125})
    base = baseline_of((name, {}, 0.5))
    assert judge(name, ok, bounds, base).status == "pass"
    assert judge(name, bad, bounds, base).status == "fail"


def test_max_and_min_exactly_at_the_bound_pass():
    bounds = Bounds(max={"mse": 0.25}, min={"r2": 0.8})
    assert judge("mse", 0.25, bounds).status == "pass"
    assert judge("mse", 0.25 + 1e-9, bounds).status == "fail"
    assert judge("r2", 0.8, bounds).status == "pass"
    assert judge("r2", 0.8 - 1e-9, bounds).status == "fail"
    # an absolute bound holds whatever the direction: --max on r2, --min on mse
    assert judge("r2", 0.9, Bounds(max={"r2": 0.85})).status == "fail"
    assert judge("mse", 0.1, Bounds(min={"mse": 0.2})).status == "fail"


def test_decimal_bounds_that_float_cannot_hold_behave_as_written():
    # 0.1 + 0.2 = 0.30000000000000004 in float64; 0.33 - 0.3 = 0.030000000000000027 > 0.1*0.3
    assert judge("mse", 0.1 + 0.2, Bounds(max={"mse": 0.3})).status == "pass"
    assert judge("mse", 0.33, Bounds(rtol_all=0.1), baseline_of(("mse", {}, 0.3))).passed
    assert not judge("mse", 0.3300001, Bounds(rtol_all=0.1), baseline_of(("mse", {}, 0.3))).passed


def test_per_loss_tolerance_overrides_the_global_one():
    bounds = parse_bounds(resolve_losses(["mse", "mae"]), rtol=["0.5", "mse=0.1"])
    base = baseline_of(("mse", {}, 1.0), ("mae", {}, 1.0))
    assert judge("mse", 1.2, bounds, base).status == "fail"  # mse allows 0.1
    assert judge("mae", 1.2, bounds, base).status == "pass"  # mae keeps the global 0.5
    assert judge("mae", 1.5, bounds, base).status == "pass"  # exactly the global bound


def test_rtol_and_atol_together_allow_the_larger():
    # allowed = max(atol, rtol*|b|): rtol 0.1 of 1.0 = 0.1, atol 0.25 -> 0.25 allowed
    bounds = Bounds(rtol_all=0.1, atol_all=0.25)
    base = baseline_of(("mae", {}, 1.0))
    assert judge("mae", 1.25, bounds, base).allowed_change == 0.25
    assert judge("mae", 1.25, bounds, base).passed
    assert not judge("mae", 1.26, bounds, base).passed


def test_no_tolerance_means_no_worsening_at_all():
    base = baseline_of(("mse", {}, 0.5))
    assert judge("mse", 0.5, base=base).status == "same"
    assert judge("mse", 0.500001, base=base).status == "fail"


def test_baseline_zero_relative_change_undefined_only_atol_applies():
    base = baseline_of(("mse", {}, 0.0), ("r2", {}, 0.0))
    same = judge("mse", 0.0, base=base)
    assert same.status == "same" and same.relative_change is None and same.change == 0.0
    # rtol of 0 is 0: any worsening fails, however large the rtol ...
    worse = judge("mse", 1e-6, Bounds(rtol_all=10.0), base)
    assert worse.status == "fail" and worse.relative_change is None
    assert "baseline 0: only atol applies" in worse.reasons[0]
    # ... while atol applies as usual (exactly at the bound passes)
    assert judge("mse", 0.001, Bounds(atol_all=0.001), base).status == "pass"
    assert judge("mse", 0.0011, Bounds(atol_all=0.001), base).status == "fail"
    # direction still counts: r2 rising from 0 is an improvement
    up = judge("r2", 0.5, base=base)
    assert up.status == "improved" and up.relative_change is None


def test_missing_from_baseline_fails_unless_allowed():
    base = baseline_of(("mse", {}, 0.5), ("huber", {"delta": 1.0}, 0.1))
    missing = judge("mae", 0.5, base=base)
    assert missing.status == "fail" and missing.in_baseline is False
    assert "not in baseline 'b.json'" in missing.reasons[0]
    allowed = judge("mae", 0.5, base=base, allow_missing=True)
    assert allowed.passed and allowed.in_baseline is False
    # matched by name *and* parameters: huber(delta=2) is not huber(delta=1)
    other = gate.judge(result("huber", 0.1, {"delta": 2}), Bounds(), base)
    assert other.status == "fail" and other.in_baseline is False
    same = gate.judge(result("huber", 0.1, {"delta": 1}), Bounds(), base)
    assert same.status == "same" and same.in_baseline is True


def test_nan_value_always_fails():
    assert judge("mse", float("nan")).status == "fail"
    assert judge("mse", None, base=baseline_of(("mse", {}, 1.0))).status == "fail"


def test_unchecked_without_bound_or_baseline():
    v = judge("mse", 0.3)
    assert v.status == "unchecked" and v.passed and v.bound_text == ""


# --- baselines -------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    ('{"schema_version": 1, "losses": [', r"is not valid JSON \(Expecting value at line 1, column"),
    ("", "is not valid JSON"),
    ("[1, 2]", r"is not a losscli report \(no \"schema_version\"\)"),
    (json.dumps({**baseline_doc(("mse", {}, 1.0)), "schema_version": 2,
                 "losscli_version": "9.0"}),
     r"has schema_version 2 \(written by losscli 9.0\), newer than losscli .* reads \(up "
     r"to 1\)\. Upgrade losscli"),
    (json.dumps(baseline_doc(("mse", {}, 1.0), reduction="sum")), "holds --reduction 'sum'"),
    (json.dumps({"schema_version": 1}), "has no \"losses\" list"),
    (json.dumps(baseline_doc(("msee", {}, 1.0))), r"losses\[0\]: Unknown loss 'msee'"),
    (json.dumps(baseline_doc(("mse", {}, "big"))), "\"value\" must be a finite number or null"),
    (json.dumps(baseline_doc(("huber", {"delta": -1}, 1.0))), "must be > 0"),
    (json.dumps(baseline_doc(("mse", {"delta": 1}, 1.0))), "mse has no parameter 'delta'"),
    (json.dumps(baseline_doc(("mse", {}, 1.0), ("l2", {}, 2.0))), "lists mse twice"),
])
def test_bad_baselines_are_input_errors(tmp_path, content, message):
    path = tmp_path / "b.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        load_baseline(str(path))
    assert "\n" not in str(err.value) and str(path) in str(err.value)


def test_missing_baseline_file(tmp_path):
    with pytest.raises(InputError, match=r"Baseline file not found: .* --save"):
        load_baseline(str(tmp_path / "nope.json"))


def test_baseline_fills_default_parameters_and_canonical_names():
    base = parse_baseline(baseline_doc(("huber_loss", {}, 0.1), ("l1", {}, 0.2)), "b.json")
    assert base.loss_args() == ["huber", "mae"]
    assert base.get(resolve_losses(["huber"])[0].key).value == 0.1


# --- atomic save -----------------------------------------------------------------------

def _report(value: float) -> Report:
    return Report(inputs={}, rows=4, rows_skipped=0, reduction="mean",
                  losses=[result("mse", value)])


def test_save_writes_a_baseline_that_loads_back(tmp_path):
    path = tmp_path / "base.json"
    gate.save_report(_report(0.25), str(path))
    assert json.loads(path.read_text())["losses"][0]["value"] == 0.25
    assert load_baseline(str(path)).get(resolve_losses(["mse"])[0].key).value == 0.25
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())
    assert os.listdir(tmp_path) == ["base.json"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_save_failing_midway_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "base.json"
    gate.save_report(_report(0.25), str(path))
    before = path.read_bytes()

    def half_then_crash(doc, f, **kwargs):
        f.write('{"schema_version": 1, "losses": [')  # half a document ...
        f.flush()
        raise OSError(28, "No space left on device")  # ... then the disk fills up

    monkeypatch.setattr(gate.json, "dump", half_then_crash)
    with pytest.raises(OutputError, match="No space left"):  # one line, exit 2 in the CLI
        gate.save_report(_report(0.5), str(path))
    assert path.read_bytes() == before  # old baseline untouched
    assert os.listdir(tmp_path) == ["base.json"]  # no temporary file left behind


def test_save_interrupted_before_rename_leaves_the_old_file_intact(tmp_path, monkeypatch):
    path = tmp_path / "base.json"
    gate.save_report(_report(0.25), str(path))
    before = path.read_bytes()

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        gate.save_report(_report(0.5), str(path))
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["base.json"]


def test_save_into_missing_folder_is_a_usage_error(tmp_path):
    with pytest.raises(UsageError, match=r"folder .* does not exist"):
        gate.save_report(_report(0.25), str(tmp_path / "no" / "base.json"))


# --- the command -----------------------------------------------------------------------

def test_cli_passes_with_exit_0_and_table(cli, preds):
    r = cli("check", preds, "--loss", "mse", "--loss", "r2", "--max", "mse=0.25", "--min",
            "r2=0.8")
    assert r.exit_code == 0 and r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0].split("|")[0].strip() == "loss" and "result" in lines[0]
    assert "PASSED: 2 losses" in r.stdout and "\x1b[" not in r.stdout


def test_cli_fails_with_exit_1(cli, preds):
    r = cli("check", preds, "--loss", "mse", "--loss", "mae", "--max", "mse=0.2", "--max",
            "mae=0.5")
    assert r.exit_code == 1
    assert "FAIL" in r.stdout and "mse = 0.25 is above --max 0.2" in r.stdout
    assert r.stderr == "losscli: check failed: mse\n"


def test_cli_json_verdict(cli, preds, tmp_path):
    base = write_baseline(tmp_path / "b.json", ("mse", {}, 0.125), ("r2", {}, 0.9),
                          ("huber", {"delta": 1.0}, 0.25))
    r = cli("check", preds, "-l", "mse", "-l", "r2", "-l", "huber", "-l", "mae", "-b", base,
            "--rtol", "0.5", "--rtol", "r2=0.2", "--allow-missing", "-f", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["passed"] is False and doc["failed"] == ["mse"]
    checks = {c["label"]: c for c in doc["checks"]}
    mse, r2, huber, mae = (checks[k] for k in ("mse", "r2", "huber", "mae"))
    assert (mse["value"], mse["baseline"], mse["change"], mse["relative_change"]) == (
        MSE, 0.125, 0.125, 1.0)
    assert mse["status"] == "fail" and mse["rtol"] == 0.5 and mse["allowed_change"] == 0.0625
    # r2 dropped 0.9 -> 0.8 (-11.1 %), within its own rtol 0.2: passes as worse-but-allowed
    assert r2["status"] == "pass" and r2["rtol"] == 0.2 and r2["value"] == pytest.approx(R2)
    assert huber["status"] == "improved" and huber["value"] == HUBER
    assert mae["status"] == "pass" and mae["in_baseline"] is False
    # the document is itself a valid report, usable as the next baseline
    assert doc["schema_version"] == 1 and [x["name"] for x in doc["losses"]] == [
        "mse", "r2", "huber", "mae"]
    (tmp_path / "verdict.json").write_text(r.stdout)
    assert cli("check", preds, "-b", tmp_path / "verdict.json").exit_code == 0


def test_cli_markdown_and_csv(cli, preds, tmp_path):
    base = write_baseline(tmp_path / "b.json", ("mse", {}, 0.125), ("r2", {}, 0.75))
    md = cli("check", preds, "-b", base, "-f", "markdown")
    assert md.exit_code == 1
    lines = md.stdout.splitlines()
    assert lines[0] == "### ❌ losscli check failed: `mse`"
    assert lines[2] == "| loss | value | baseline | change | rel. change | bound | result |"
    assert "| `mse` | 0.25 | 0.125 | +0.125 | +100% | <= 0.125 (baseline) | ❌ **FAIL** |" in lines
    assert any(line.startswith("| `r2` |") and "✅ improved" in line for line in lines)
    rows = list(csv.DictReader(io.StringIO(cli("check", preds, "-b", base, "-f", "csv").stdout)))
    assert [(r["label"], r["status"], r["passed"]) for r in rows] == [
        ("mse", "fail", "false"), ("r2", "improved", "true")]
    assert float(rows[0]["change"]) == 0.125


def test_cli_takes_the_losses_from_the_baseline(cli, preds, tmp_path):
    base = write_baseline(tmp_path / "b.json", ("huber", {"delta": 2.0}, 0.125), ("mae", {}, 0.5))
    r = cli("check", preds, "-b", base, "-f", "json")
    assert r.exit_code == 0, r.stderr
    doc = json.loads(r.stdout)
    assert [(c["label"], c["status"]) for c in doc["checks"]] == [
        ("huber(delta=2)", "same"), ("mae", "same")]
    # a parameter flag would be silently ignored there, so it is refused
    r = cli("check", preds, "-b", base, "--delta", "1")
    assert r.exit_code == 2 and "--delta without --loss" in r.stderr


def test_cli_only_evaluates_and_saves_without_bounds(cli, preds, tmp_path):
    out = tmp_path / "new.json"
    r = cli("check", preds, "--loss", "mse", "--save", out)
    assert r.exit_code == 0 and "no bound or baseline" in r.stdout
    assert r.stderr == f"losscli: saved the report to {out}\n"
    saved = json.loads(out.read_text())
    assert saved["losses"] == [{"name": "mse", "params": {}, "value": MSE,
                                "higher_is_better": False, "label": "mse"}]
    # ... and the saved report is the next baseline
    assert cli("check", preds, "-b", out).exit_code == 0


def test_cli_does_not_save_a_regression_over_its_own_baseline(cli, preds, tmp_path):
    base = write_baseline(tmp_path / "b.json", ("mse", {}, 0.125))
    before = base.read_bytes()
    r = cli("check", preds, "-b", base, "--save", base)
    assert r.exit_code == 1 and base.read_bytes() == before
    assert "not saving over baseline" in r.stderr
    # to another file it is saved (the run's report, for inspection)
    other = tmp_path / "run.json"
    assert cli("check", preds, "-b", base, "--save", other).exit_code == 1
    assert json.loads(other.read_text())["losses"][0]["value"] == MSE


def test_cli_notes_baseline_losses_not_evaluated(cli, preds, tmp_path):
    base = write_baseline(tmp_path / "b.json", ("mse", {}, 0.25), ("mae", {}, 0.5))
    r = cli("check", preds, "-l", "mse", "-b", base)
    assert r.exit_code == 0
    assert "baseline also has mae, not evaluated here" in r.stderr
    # a baseline computed on another number of rows is worth a note (not a failure)
    other = write_baseline(tmp_path / "c.json", ("mse", {}, 0.25), rows=5)
    r = cli("check", preds, "-b", other)
    assert r.exit_code == 0
    assert r.stderr.splitlines() == [
        "losscli: note: the baseline was computed on 5 rows, this run on 4: is it the same "
        "evaluation set?",
        f"losscli: note: baseline '{other}' has no data fingerprint (an older losscli wrote "
        "it): whether it was computed on the same data is unknown; 'check --save' writes one"]


@pytest.mark.parametrize(("args", "message"), [
    (["--max", "hubr=1"], "'--max hubr=1': Unknown loss 'hubr'. Did you mean 'huber'?"),
    (["--max", "r2=1"], "r2 is not among the selected losses (mse, rmse, mae)"),
    (["--loss", "mse", "--max", "rmse=1"], "add '--loss rmse' or name one of those. Did you "
                                           "mean 'mse'?"),
    (["--rtol", "0.1"], "--rtol/--atol are tolerances against a baseline: add --baseline"),
    (["-b", "missing.json"], "Baseline file not found: 'missing.json'"),
    (["--save", "no/such/dir/b.json"], "folder"),
])
def test_cli_usage_errors_exit_2(cli, preds, args, message):
    r = cli("check", preds, *args)
    assert r.exit_code == 2 and r.stdout == ""
    assert message in r.stderr and r.stderr.count("\n") == 1


def test_cli_incompatible_baseline_exits_2(cli, preds, tmp_path):
    base = tmp_path / "old.json"
    base.write_text(json.dumps({**baseline_doc(("mse", {}, 1.0)), "schema_version": 0}))
    r = cli("check", preds, "-b", base)
    assert r.exit_code == 2 and r.stdout == ""
    assert "has schema_version 0" in r.stderr and "Regenerate it" in r.stderr


def test_cli_bad_input_file_exits_2(cli, tmp_path):
    r = cli("check", tmp_path / "nope.parquet", "--max", "mse=1")
    assert r.exit_code == 2 and "File not found" in r.stderr


def test_subprocess_exits_1_on_regression(preds, tmp_path):
    # a baseline whose mse was 0.2: this run's 0.25 is +25 %, beyond --rtol 0.1
    base = write_baseline(tmp_path / "b.json", ("mse", {}, 0.2), ("r2", {}, 0.8))
    proc = run_losscli("check", preds, "--baseline", base, "--rtol", "0.1", "--format", "json")
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["passed"] is False and doc["failed"] == ["mse"]
    assert doc["checks"][0]["relative_change"] == pytest.approx(0.25)
    assert proc.stderr.decode().splitlines()[-1] == "losscli: check failed: mse"
    assert "has no data fingerprint" in proc.stderr.decode()  # an old-style baseline
    ok = run_losscli("check", preds, "--baseline", base, "--rtol", "0.25")
    assert ok.returncode == 0 and b"PASSED: 2 losses" in ok.stdout


def _readme_commands() -> list[str]:
    import re

    from tests.conftest import ROOT

    # the pages that were the README's check ... pictures sections
    section = "".join((ROOT / "docs" / page).read_text() for page in (
        "check.md", "compare.md", "uncertainty.md", "scale-out.md", "pictures.md"))
    found = [line.removeprefix("$ ") for block in re.findall(r"```(?:sh|console)\n(.*?)```",
                                                             section, re.S)
             for line in block.splitlines() if line.removeprefix("$ ").startswith("losscli ")]
    return found + re.findall(r"`(losscli compare [^`]*)`", section)


@pytest.mark.parametrize("line", _readme_commands())
def test_readme_check_and_compare_commands_work(cli, line, tmp_path, monkeypatch, samples):
    """Every `losscli check/compare` command of the docs runs from the repository root
    (here: a folder linking sample_data, so --save writes nowhere in the repository)."""
    import shlex

    (tmp_path / "sample_data").symlink_to(samples)
    monkeypatch.chdir(tmp_path)
    from tests.test_docs import EXPECT

    *before, command = line.split(" || ")[0].split(" | ")[0].split(" && ")
    for step in before:  # "a && b": a must succeed first
        assert cli(*shlex.split(step)[1:]).exit_code == 0, step
    expected = EXPECT.search(command)
    r = cli(*shlex.split(command, comments=True)[1:])
    assert r.exit_code == (1 if " || " in line else int(expected.group(1)) if expected else 0), \
        r.stderr
    assert r.stdout.strip()
