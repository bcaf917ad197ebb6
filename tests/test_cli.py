"""The CLI through its real entry points: outputs, per-row streaming, the loss catalogue."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

from losscli.registry import all_losses
from tests.conftest import ROOT, run_losscli


def test_json_report_schema(cli, samples):
    result = cli("eval", samples / "regression.parquet", "--loss", "mse", "--loss", "l1",
                 "--loss", "huber:delta=0.5", "--loss", "huber", "--delta", "2", "--format",
                 "json")
    assert result.exit_code == 0 and result.stderr == ""
    doc = json.loads(result.stdout)
    assert doc["schema_version"] == 1 and doc["rows"] == 1000 and doc["rows_skipped"] == 0
    assert doc["reduction"] == "mean"
    assert doc["inputs"]["predictions"] == {
        "path": str(samples / "regression.parquet"), "format": "parquet", "column": "pred"}
    names = [(x["name"], x["params"]) for x in doc["losses"]]
    # canonical names (l1 -> mae), order as asked, flag applies where no inline value is set
    assert names == [("mse", {}), ("mae", {}), ("huber", {"delta": 0.5}),
                     ("huber", {"delta": 2.0})]
    assert all(x["higher_is_better"] is False for x in doc["losses"])
    table = pq.read_table(samples / "regression.parquet")
    d = table["pred"].to_numpy() - table["target"].to_numpy()
    assert doc["losses"][0]["value"] == pytest.approx(np.mean(d * d), rel=1e-14)


def test_table_output_is_plain_and_uncut_when_piped(cli, samples):
    result = cli("eval", samples / "regression.csv", "--loss", "mse", "--loss", "r2")
    assert result.exit_code == 0
    doc = json.loads(cli("eval", samples / "regression.csv", "--loss", "mse", "--loss", "r2",
                         "-f", "json").stdout)
    for loss in doc["losses"]:
        assert f"{loss['value']:.6g}" in result.stdout  # 6 significant digits, never cut
    assert "\x1b[" not in result.stdout  # no colour codes
    assert "rows: 1000" in result.stdout and "higher" in result.stdout


def test_markdown_and_csv_reports(cli, samples):
    md = cli("eval", samples / "regression.csv", "-l", "mse", "-l", "huber:delta=0.5", "-f",
             "markdown").stdout
    assert md.splitlines()[0] == "| loss | params | value | better |"
    assert "| huber | delta=0.5 |" in md
    rows = list(csv.DictReader(io.StringIO(cli("eval", samples / "regression.csv", "-l", "mse",
                                               "-f", "csv").stdout)))
    assert rows[0]["loss"] == "mse" and float(rows[0]["value"]) > 0


def test_reduction_none_streams_to_stdout_and_files(cli, samples, tmp_path):
    args = [samples / "regression.csv", "-l", "mse", "-l", "huber:delta=0.5", "--weight-col",
            "weight", "--reduction", "none", "--chunk-size", "64"]
    result = cli("eval", *args)
    assert result.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 1000 and list(rows[0]) == ["row", "mse", "huber_delta_0p5"]
    total = float(json.loads(cli("eval", samples / "regression.csv", "-l", "mse",
                                 "--weight-col", "weight", "-r", "sum", "-f",
                                 "json").stdout)["losses"][0]["value"])
    assert sum(float(r["mse"]) for r in rows) == pytest.approx(total, rel=1e-12)
    assert "wrote 1000 rows" in result.stderr
    for ext in ("parquet", "npy", "csv", "ndjson"):
        out = tmp_path / f"rows.{ext}"
        assert cli("eval", *args, "--output", out).exit_code == 0
        if ext == "parquet":
            col = pq.read_table(out)["mse"].to_numpy()
        elif ext == "npy":
            col = np.load(out)[:, 0]
        elif ext == "csv":
            col = np.array([float(r["mse"]) for r in csv.DictReader(open(out))])
        else:
            col = np.array([json.loads(line)["mse"] for line in open(out)])
        np.testing.assert_allclose(col, [float(r["mse"]) for r in rows], rtol=1e-15)


def test_losses_command_lists_every_loss(cli):
    out = cli("losses", "--format", "json")
    assert out.exit_code == 0
    doc = json.loads(out.stdout)
    assert [d["name"] for d in doc] == list(all_losses())
    huber = next(d for d in doc if d["name"] == "huber")
    assert huber["params"]["delta"]["default"] == 1.0
    assert "torch.nn.functional.huber_loss" in huber["reference"]
    table = cli("losses").stdout
    assert all(name in table for name in all_losses())
    one = cli("losses", "pinball")
    assert one.exit_code == 0 and "quantile" in one.stdout and "mean_pinball_loss" in one.stdout


def test_param_flags_match_the_registry():
    import typer

    from losscli.cli import app

    declared = {p.name for spec in all_losses().values() for p in spec.params}
    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="losscli")
    for command in ("eval", "check", "compare"):
        sub = group.get_command(ctx, command)
        flags = {p.name for p in sub.get_params(ctx)
                 if getattr(p, "rich_help_panel", None) == "Loss parameters"}
        # --auc-bins: the ranking metrics' bins alone (tests/test_metrics.py)
        assert flags == declared | {"auc_bins"}


def test_cli_import_stays_light():
    code = ("import sys, losscli.cli; heavy = [m for m in ('numpy', 'pandas', 'pyarrow') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_real_entry_point_subprocess(samples):
    proc = run_losscli("eval", samples / "regression.parquet", "--loss", "huber", "--delta",
                       "1.0", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["losses"][0]["name"] == "huber" and doc["losses"][0]["params"] == {"delta": 1.0}
    assert proc.stderr == b""
    helped = run_losscli("--help")
    assert helped.returncode == 0 and b"eval" in helped.stdout
    assert run_losscli("--version").stdout.decode().startswith("losscli ")


def test_console_script_is_installed():
    import shutil

    exe = shutil.which("losscli")
    if exe is None:
        pytest.skip("console script not on PATH (package not installed)")
    proc = subprocess.run([exe, "eval", "sample_data/preds.npy", "--targets",
                           "sample_data/targets.npy", "--loss", "rmse", "--reduction", "mean",
                           "-f", "json"], capture_output=True, cwd=ROOT)
    assert proc.returncode == 0 and json.loads(proc.stdout)["losses"][0]["name"] == "rmse"


def test_cli_choices_are_the_vocabulary():
    # the choices Typer shows are built from losscli.vocab's tuples (losscli.options)
    import typer

    from losscli import vocab
    from losscli.cli import app

    group = typer.main.get_command(app)
    ctx = typer.Context(group, info_name="losscli")
    params = {(c, p.name): p for c in ("eval", "check", "inspect")
              for p in group.get_command(ctx, c).params}
    for key, words in ((("eval", "reduction"), vocab.REDUCTIONS),
                       (("eval", "nan_policy"), vocab.NAN_POLICIES),
                       (("eval", "fmt"), vocab.OUTPUT_FORMATS), (("eval", "task"), vocab.TASKS),
                       (("inspect", "format_in"), vocab.INPUT_FORMATS),
                       (("check", "data_changed"), vocab.DATA_CHANGED)):
        assert tuple(params[key].type.choices) == words
