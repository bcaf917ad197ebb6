"""Cross-format property of the gate (issue 19, "one verdict"): for combinations of
{--max/--min bounds, --baseline, --rtol, --group-by, --ci, --reference-col, --data-changed}
every output agrees with the exit code — the JSON ``passed``/``failed``/``verdict``, the
table's last line, the Markdown heading, the HTML badge and the ``check failed: …`` line on
stderr — and names the same failing losses and groups. The exit code itself is checked
against an oracle computed here from the JSON checks (any failing check, any failing group,
or other data under ``--data-changed fail``).

The noisy region's name carries a terminal escape, so the names are compared as every
text output must show them: escaped (:func:`losscli.present.text.printable`), and raw in
JSON.

The commands run in-process (the Typer app, stdout and stderr apart) to keep the test
fast; tests/test_verdict.py runs each issue item through the real entry point."""

from __future__ import annotations

import csv
import html
import io
import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losscli.present.text import printable

N = 500
EAST = "east\x1b]0;x\x07"  # the noisy region, named with a terminal escape


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The data (a noisy east region; a reference model's column), a baseline of the same
    data, one of other data (other targets), and one with groups."""
    from typer.testing import CliRunner

    from losscli.cli import app

    root = tmp_path_factory.mktemp("verdict")
    rng = np.random.default_rng(11)
    region = np.array([EAST, "west", "north"])[rng.integers(0, 3, N)]
    y = rng.normal(size=N)
    pred = y + rng.normal(size=N) * np.where(region == EAST, 1.6, 0.6)
    ref = y + rng.normal(size=N) * 0.8
    data = root / "data.parquet"
    pq.write_table(pa.table({"pred": pred, "ref": ref, "target": y, "region": region}), data)
    other = root / "other.parquet"
    pq.write_table(pa.table({"pred": pred, "ref": ref, "target": y + 0.05, "region": region}),
                   other)
    runner = CliRunner()
    baselines = {}
    for name, src, extra in (("same", data, []), ("other", other, []),
                             ("grouped", data, ["--group-by", "region"])):
        path = root / f"{name}.json"
        r = runner.invoke(app, ["eval", str(src), "-l", "mse", "-l", "mae", "-f", "json",
                                *extra], catch_exceptions=False)
        assert r.exit_code == 0, r.stderr
        path.write_text(r.stdout)
        baselines[name] = str(path)
    mse = float(np.mean((pred - y) ** 2))
    return {"data": str(data), "root": root, "baselines": baselines, "mse": mse,
            "mae": float(np.mean(np.abs(pred - y)))}


combos = st.fixed_dictionaries({
    "bound": st.sampled_from([None, ("--max", "mse", 0.8), ("--max", "mse", 1.2),
                              ("--max", "mae", 0.5), ("--max", "mse", 3.0),
                              ("--min", "mae", 0.2), ("--min", "mae", 0.9)]),
    "against": st.sampled_from([None, "same", "other", "grouped", "reference"]),
    "rtol": st.sampled_from([None, "0", "0.01", "0.6"]),
    "group_by": st.booleans(),
    "ci": st.booleans(),
    "data_changed": st.sampled_from(["warn", "fail"]),
})


def _args(files, combo) -> list[str] | None:
    """The check's arguments; None for a combination the CLI refuses (a usage error)."""
    args = ["check", files["data"], "-l", "mse", "-l", "mae"]
    bound = combo["bound"]
    if bound is not None:
        flag, loss, factor = bound
        value = files[loss] * factor
        args += [flag, f"{loss}={value!r}"]
    against = combo["against"]
    if against == "reference":
        args += ["--pred-col", "pred", "--reference-col", "ref"]
    elif against is not None:
        args += ["-b", files["baselines"][against]]
    if combo["rtol"] is not None:
        if against is None:
            return None  # --rtol needs a baseline or a reference
        args += ["--rtol", combo["rtol"]]
    if combo["group_by"]:
        args += ["--group-by", "region"]
    if combo["ci"]:
        args += ["--ci"]
    args += ["--data-changed", combo["data_changed"]]
    return args


def _badge(raw: str) -> tuple[str, str]:
    found = re.search(r'<span class="badge (\w+)">(.*?)</span>', raw)
    assert found
    return found.group(1), html.unescape(found.group(2))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(combo=combos)
def test_every_output_agrees_with_the_exit_code(cli, files, combo):
    args = _args(files, combo)
    if args is None:
        return
    page = files["root"] / "page.html"
    js = cli(*args, "-f", "json", "--html", str(page))
    table = cli(*args)
    md = cli(*args, "-f", "markdown")
    sheet = cli(*args, "-f", "csv")
    code = js.exit_code
    assert code in (0, 1), (args, js.stderr)
    assert table.exit_code == md.exit_code == sheet.exit_code == code, args
    for run in (js, table, md, sheet):  # no raw escape anywhere but JSON's \u001b
        assert "\x1b" not in run.stdout and "\x07" not in run.stdout
        assert "\x1b" not in run.stderr and "\x07" not in run.stderr

    doc = json.loads(js.stdout)
    verdict = doc["verdict"]
    # the oracle: any failing check, any failing group, or other data with --data-changed fail
    failing_checks = [c["label"] for c in doc["checks"] if c["status"] == "fail"]
    failing_groups = [g for g in doc.get("groups", []) or [] if g.get("passed") is False]
    failing_groups += [g for g in doc.get("missing_groups", []) if g.get("passed") is False]
    data_failed = bool(doc["data_changed"]) and doc["data_changed_policy"] == "fail"
    expected = 1 if failing_checks or failing_groups or data_failed else 0
    assert code == expected, (args, doc["failed"])
    assert doc["passed"] is (code == 0) and verdict["passed"] is (code == 0)
    assert verdict["exit_code"] == code and verdict["data_failed"] is data_failed
    assert verdict["failed_losses"] == failing_checks
    group_labels = [g["label"] for g in verdict["failed_groups"]]
    assert len(group_labels) == len(failing_groups)
    assert doc["failed"][:len(failing_checks)] == failing_checks
    assert all(any(e.startswith(f"{g}: ") for e in doc["failed"]) for g in group_labels)
    names = [printable(n) for n in failing_checks + group_labels[:3]]  # as text shows them

    err = js.stderr.splitlines()
    failed_lines = [line for line in err if line.startswith("losscli: check failed: ")]
    for run in (table, md, sheet):
        assert [line for line in run.stderr.splitlines()
                if line.startswith("losscli: check failed: ")] == failed_lines
    last_table = table.stdout.rstrip("\n").splitlines()[-1]
    head_md = md.stdout.splitlines()[0]
    kind, badge_text = _badge(page.read_text())
    assert badge_text == printable(verdict["headline"])
    assert last_table.startswith(printable(verdict["headline"]))
    if code == 1:
        assert failed_lines == [f"losscli: check failed: {printable(verdict['failure'])}"]
        assert last_table.startswith("FAILED") and kind == "fail"
        assert head_md.startswith("### ❌ losscli check failed: ")
        for name in names:
            for shown in (failed_lines[0], last_table, head_md, badge_text):
                assert name in shown, (name, shown)
    else:
        assert failed_lines == [] and not doc["failed"]
        assert not last_table.startswith("FAILED") and kind in ("pass", "none")
        assert head_md == "### ✅ losscli check passed"
        assert "FAILED" not in badge_text
    # every failing (group, loss) verdict is one FAIL in the Markdown tables
    group_fails = sum(c["status"] == "fail" for g in doc.get("groups", []) or []
                      for c in g.get("checks", []))
    assert md.stdout.count("❌ **FAIL**") == len(failing_checks) + group_fails
    # and one passed=false line of the CSV, per failing check and failing missing group
    rows = list(csv.DictReader(io.StringIO(sheet.stdout)))
    missing = sum(g.get("passed") is False for g in doc.get("missing_groups", []))
    assert sum(r["passed"] == "false" for r in rows) == len(failing_checks) + group_fails + (
        missing)
