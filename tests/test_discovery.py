"""First run and discovery: ``losscli inspect`` and ``losscli losses [NAME]``."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys

import pytest

from losscli.catalog import example_command
from losscli.registry import all_losses
from tests.conftest import ROOT, run_losscli


def test_inspect_parquet_roles_types_and_losses(cli, samples):
    result = cli("inspect", samples / "regression.parquet", "-f", "json")
    assert result.exit_code == 0 and result.stderr == ""
    info = json.loads(result.stdout)
    assert info["format"] == "parquet" and info["rows"] == 1000
    assert info["columns"] == [{"name": c, "type": "double"} for c in ("pred", "target", "weight")]
    assert {r: v["column"] for r, v in info["roles"].items()} == {"pred": "pred",
                                                                   "target": "target"}
    # every registered loss is classified; msle's domain (> -1) fails on this data
    names = info["losses"]["fit"] + [x["name"] for x in info["losses"]["not_fit"]]
    assert sorted(names) == sorted(all_losses())
    (msle,) = [x for x in info["losses"]["not_fit"] if x["name"] == "msle"]
    assert "> -1" in msle["reason"] and "-1.23" in msle["reason"]
    assert any("--weight-col weight" in h for h in info["hints"])


def test_inspect_agrees_with_eval_on_roles(cli, samples):
    args = [samples / "model_preds.parquet", "--targets", samples / "truth.tsv",
            "--weight-col", "w"]
    info = json.loads(cli("inspect", *args, "-f", "json").stdout)
    report = json.loads(cli("eval", *args, "-l", "mse", "-f", "json").stdout)
    assert info["roles"]["pred"]["column"] == report["inputs"]["predictions"]["column"] == "yhat"
    assert info["roles"]["target"]["column"] == report["inputs"]["targets"]["column"] == "y"
    assert info["roles"]["weight"]["column"] == report["inputs"]["weights"]["column"] == "w"


def test_inspect_text_for_csv_counts_and_npy(cli, samples):
    csv = cli("inspect", samples / "counts.csv").stdout
    assert "rows       unknown without a full scan" in csv
    assert "target  int64" in csv and "msle" in csv.split("losses fit")[1].splitlines()[0]
    npy = cli("inspect", samples / "preds.npy")
    assert npy.exit_code == 0 and "rows       1000" in npy.stdout
    assert "--targets FILE" in npy.stdout  # why no roles: one array needs a targets file


def test_inspect_from_stdin_and_ndjson():
    proc = subprocess.run(
        f"cat sample_data/regression.ndjson | {shlex.quote(sys.executable)} -m losscli inspect "
        "- -f json", shell=True, capture_output=True, cwd=ROOT, timeout=60)
    assert proc.returncode == 0, proc.stderr
    info = json.loads(proc.stdout)
    assert info["path"] == "<stdin>" and info["format"] == "ndjson" and info["rows"] is None
    assert info["sample_rows"] == 1000 and info["roles"]["pred"]["column"] == "pred"


def test_inspect_errors(cli, samples):
    missing = run_losscli("inspect", "nope.csv")
    assert missing.returncode == 2 and b"File not found" in missing.stderr
    md = run_losscli("inspect", samples / "regression.csv", "-f", "markdown")
    assert md.returncode == 2 and b"table or json" in md.stderr


def test_losses_list_shows_formula_inputs_direction(cli):
    out = cli("losses").stdout
    for spec in all_losses().values():
        assert spec.name in out and spec.formula.split()[0] in out
    doc = json.loads(cli("losses", "-f", "json").stdout)
    huber = next(d for d in doc if d["name"] == "huber")
    assert huber["formula"] and huber["inputs"] == ["pred", "target"]
    assert huber["higher_is_better"] is False and huber["params"]["delta"]["default"] == 1.0


@pytest.mark.parametrize("name", list(all_losses()))
def test_losses_name_example_command_runs_on_sample_data(cli, name):
    detail = cli("losses", name).stdout
    example = example_command(all_losses()[name])
    assert f"example    {example}" in detail and "formula" in detail and "better" in detail
    argv = shlex.split(example)
    assert argv[0] == "losscli"
    proc = run_losscli(*argv[1:], "-f", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["losses"][0]["name"] == name
