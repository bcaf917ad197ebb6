"""--plot and --html through the CLI (issue 15): the pictures after the table, the report
to share, and what they are drawn from.

What is checked:

* the calibration state the plan keeps for --plot/--html when no ece/mce is selected is
  the very state ece builds (binary, weighted, multi-class from logits), the same for any
  chunking and worker count, serialised with the cell, and kept only for probabilities;
* in a real pseudo-terminal at 80 and 160 columns (python -m losscli, stdout and stderr on
  terminals): styled pictures after the table, no line wider than the terminal, bars drawn,
  every quantile printed whole and equal to the JSON report's, ECE equal to ``-l ece``'s;
  with ``--format json`` stdout carries the JSON and nothing else while the pictures go to
  stderr's terminal, at stderr's width; compare overlays the models; check draws and exits 1;
* pictures on stderr under csv/ndjson/markdown and per-row output (stdout parses); nothing to
  plot (rmse only) is one note on stderr and exit 0;
* the HTML of eval, check and compare: parsed (one ``<svg>`` per picture, nothing loaded
  from outside, every quantile and ECE whole, check's failures first), rendered by a real
  headless chromium (not blank, console silent); --html refused before the run for a
  missing or unwritable folder, an input file, or the --save file, nothing partial left;
* group bars light up when the report dict has ``groups`` (--group-by's shape).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import numpy as np
import pytest

import losscli
from losscli import plot
from losscli.state import Cell
from tests.conftest import ROOT, SAMPLES, run_pty
from tests.test_html import Page, assert_self_contained, chromium, console_messages, read_png
from tests.test_outputs import leftovers, one_error_line

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")
BLOCKS = "▁▂▃▄▅▆▇█"
BINARY = str(SAMPLES / "binary.csv")
REGRESSION = str(SAMPLES / "regression.parquet")


# ---------------------------------------------------------------------------------------
# the calibration state behind the reliability diagram

def _state(report):
    return report.cell.calibration


def test_the_kept_calibration_state_is_eces_own():
    for options in ({}, {"weight_col": "weight"}):
        mine = losscli.evaluate(BINARY, losses=["bce"], calibration=True, **options)
        ece = losscli.evaluate(BINARY, losses=["ece"], **options)
        assert _state(mine) is not None and _state(mine) == ece.cell.losses[0].state
        rel = plot.Reliability.from_calibration(_state(mine))
        assert rel.ece == ece["ece"] and rel.weighted == bool(options)
    logits = {"targets": str(SAMPLES / "labels.npy"), "from_logits": True}
    mine = losscli.evaluate(str(SAMPLES / "logits.npy"), losses=["cross_entropy"],
                            calibration=True, **logits)
    ece = losscli.evaluate(str(SAMPLES / "logits.npy"), losses=["ece"], **logits)
    assert _state(mine).task == "multiclass" and _state(mine) == ece.cell.losses[0].state
    # any chunking and worker count: the same exact state
    split = losscli.evaluate(str(SAMPLES / "logits.npy"), losses=["cross_entropy"],
                             calibration=True, chunk_size=37, workers=3, **logits)
    assert _state(split) == _state(mine)
    # serialised with the cell
    assert Cell.from_dict(json.loads(json.dumps(mine.cell.to_dict()))).calibration == _state(mine)


def test_calibration_is_kept_only_for_probabilities():
    from losscli.registry import resolve_losses
    from losscli.session import calibration_plan

    def plan(losses, task, from_logits=False):
        return calibration_plan(resolve_losses(losses, {}), task, from_logits)

    assert plan(["bce"], "binary") == ("binary", False)
    assert plan(["hinge"], "binary") is None  # margin scores are no probabilities
    assert plan(["hinge"], "binary", from_logits=True) == ("binary", True)
    assert plan(["zero_one"], "multiclass") is None  # an argmax needs no probabilities
    assert plan(["cross_entropy"], "multiclass") == ("multiclass", False)
    assert plan(["mse"], "regression") is None
    assert plan(["bce", "ece"], "binary") is None  # ece's own state is drawn
    assert losscli.evaluate(REGRESSION, calibration=True).cell.calibration is None
    assert losscli.evaluate(BINARY, losses=["bce"]).cell.calibration is None  # not asked


def test_a_cell_without_calibration_drops_it_in_a_merge():
    with_cal = losscli.evaluate(BINARY, losses=["bce"], calibration=True).cell
    without = losscli.evaluate(BINARY, losses=["bce"]).cell
    assert with_cal.merge(without).calibration is None


def test_pictures_of_a_report():
    report = losscli.evaluate(BINARY, losses=["bce", "ece", "mce", "roc_auc"],
                              distribution=True, quantile_levels=[0.95])
    items, skipped = plot.report_pictures(report)
    assert [type(x).__name__ for x in items] == ["Histogram", "Reliability"]
    hist, rel = items
    assert hist.label == "bce" and ("p95", report.result("bce").distribution["quantiles"]["p95"]) \
        in hist.quantiles
    assert rel.label == "ece, mce" and rel.ece == report["ece"] and rel.mce == report["mce"]
    assert skipped == ["roc_auc"]  # ece and mce are drawn as the diagram
    # groups (the shape --group-by writes) light up a bar chart per loss
    doc = {**report.to_dict(), "groups": [
        {"key": {"region": "north"}, "rows": 300,
         "losses": [{"label": "bce", "value": 0.5, "interval": {"low": 0.4, "high": 0.6,
                                                                "level": 0.95}}]},
        {"key": {"region": "south"}, "rows": 300, "losses": [{"label": "bce", "value": 0.7}]}]}
    items, _ = plot.report_pictures(report, doc)
    bars = [x for x in items if isinstance(x, plot.GroupBars)]
    assert [b.label for b in bars] == ["bce"] and [g.label for g in bars[0].bars] == [
        "region=north", "region=south"]
    assert plot.group_bars(bars[0], 80) is not None


# ---------------------------------------------------------------------------------------
# a real terminal

def run_in_ptys(args: list[str], stdout_columns: int | None, stderr_columns: int | None,
                env: dict | None = None) -> tuple[int, str, str]:
    """Run ``python -m losscli ARGS`` with stdout and stderr each on its own pseudo-terminal
    of the given columns (None: a pipe). Returns (exit code, stdout, stderr) as text."""
    full_env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    full_env.update({"TERM": "xterm-256color", **(env or {})})
    ends: dict[str, int] = {}
    child: dict[str, int] = {}
    for name, columns in (("out", stdout_columns), ("err", stderr_columns)):
        if columns is None:
            r, w = os.pipe()
        else:
            r, w = os.openpty()
            fcntl.ioctl(w, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
        ends[name], child[name] = r, w
    proc = subprocess.Popen([sys.executable, "-m", "losscli", *args], stdin=subprocess.DEVNULL,
                            stdout=child["out"], stderr=child["err"], env=full_env, cwd=ROOT)
    for fd in child.values():
        os.close(fd)
    seen = {name: bytearray() for name in ends}
    open_fds = {fd: name for name, fd in ends.items()}
    deadline = time.monotonic() + 120
    while open_fds and time.monotonic() < deadline:
        ready, _, _ = select.select(list(open_fds), [], [], 0.2)
        for fd in ready:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the child closed the terminal
                data = b""
            if data:
                seen[open_fds[fd]] += data
            else:
                os.close(fd)
                del open_fds[fd]
        if not ready and proc.poll() is not None:
            for fd in list(open_fds):
                os.close(fd)
                del open_fds[fd]
    code = proc.wait(timeout=60)

    def text(raw: bytearray) -> str:
        return raw.decode().replace("\r\n", "\n")

    return code, text(seen["out"]), text(seen["err"])


def run_shared_pty(args: list[str], columns: int) -> tuple[int, str]:
    """stdout and stderr on one terminal, as a person sees them."""
    code, _, seen = run_pty(args, columns=columns, rows=50, stdout_to_pty=True)
    return code, seen.decode().replace("\r\n", "\n")


def json_report(cli, *args: str) -> dict:
    r = cli(*args, "--format", "json")
    assert r.exit_code in (0, 1), r.stderr
    return json.loads(r.stdout)


def expected_quantiles(cli, *args: str) -> dict[str, dict[str, float]]:
    """Each loss's quantiles in the JSON report of the same run with --distribution."""
    doc = json_report(cli, *args, "--distribution")
    return {x["label"]: x["distribution"]["quantiles"] for x in doc["losses"]
            if x.get("distribution")}


def ece_of(cli) -> float:
    """ECE of the sample classifier, from -l ece (what the diagram must state)."""
    return json_report(cli, "eval", BINARY, "-l", "ece")["losses"][0]["value"]


def assert_pictures(text: str, columns: int, quantiles: dict, ece: float | None) -> None:
    """The pictures in ``text`` (from the first one's title on: the table's summary line is
    the terminal's to wrap) fit ``columns``, nearly fill them, and state the numbers."""
    lines = text.split("\n")
    lines = lines[next(i for i, line in enumerate(lines) if "distribution of the" in line):]
    text = "\n".join(lines)
    widest = max(plot.cells(line) for line in lines)
    assert columns - 10 <= widest <= columns, (widest, columns)
    assert sum(text.count(ch) for ch in BLOCKS) > 100  # bars drawn
    for label, qs in quantiles.items():
        assert f"{label}: distribution of the per-row loss" in text
        for name, value in qs.items():
            assert any(f"{name} = {value:.6g}" in line for line in lines), (label, name, value)
    if ece is not None:
        assert f"ECE = {ece:.6g}" in text and "reliability diagram" in text


@pytest.mark.parametrize("columns", [80, 160])
def test_eval_plot_on_a_real_terminal(cli, columns):
    args = ["eval", BINARY, "-l", "bce", "-l", "brier"]
    quantiles, ece = expected_quantiles(cli, *args), ece_of(cli)
    code, raw = run_shared_pty([*args, "--plot"], columns)
    assert code == 0, raw
    assert "\x1b[" in raw  # styled: a terminal
    text = ANSI.sub("", raw)
    assert text.index("brier") < text.index("rows: 600") < text.index("distribution of")
    assert_pictures(text, columns, quantiles, ece)


def test_json_stays_pure_while_the_pictures_go_to_stderrs_terminal(cli):
    args = ["eval", BINARY, "-l", "bce"]
    quantiles, ece = expected_quantiles(cli, *args), ece_of(cli)
    code, out, err = run_in_ptys([*args, "--plot", "--format", "json"], 160, 80)
    assert code == 0, err
    doc = json.loads(out)  # a terminal on stdout, and still nothing but the JSON there
    assert "\x1b" not in out and [x["label"] for x in doc["losses"]] == ["bce"]
    assert doc["losses"][0]["distribution"]["quantiles"] == quantiles["bce"]
    assert "\x1b[" in err  # stderr is a terminal: styled, at its own width
    assert_pictures(ANSI.sub("", err), 80, quantiles, ece)
    # stdout into a pipe: the same
    code, out, err = run_in_ptys([*args, "--plot", "--format", "json"], None, 160)
    assert code == 0 and json.loads(out) == {**doc, "elapsed_seconds": json.loads(out)[
        "elapsed_seconds"]}
    assert_pictures(ANSI.sub("", err), 160, quantiles, ece)


def test_plain_text_on_a_terminal_with_no_color(cli):
    args = ["eval", BINARY, "-l", "bce"]
    quantiles, ece = expected_quantiles(cli, *args), ece_of(cli)
    code, out, err = run_in_ptys([*args, "--plot"], 100, 100, env={"NO_COLOR": "1"})
    assert code == 0, err
    assert "\x1b" not in out and "█" in out
    assert_pictures(out, 100, quantiles, ece)


def test_compare_overlays_the_models_on_a_terminal():
    args = ["compare", f"a={SAMPLES / 'model_preds.parquet'}", f"b={SAMPLES / 'model_b.parquet'}",
            "-t", str(SAMPLES / "truth.tsv"), "-l", "mae", "--plot"]
    code, raw = run_shared_pty(args, 120)
    assert code == 0, raw
    text = ANSI.sub("", raw)
    assert "mae: distribution of the per-row loss · 2 models" in text
    assert "● a   ○ b" in text  # the legend; each model's quantiles follow
    assert max(plot.cells(line) for line in text.split("\n")) <= 120
    from losscli.comparison import compare

    comp = compare({"a": str(SAMPLES / "model_preds.parquet"),
                    "b": str(SAMPLES / "model_b.parquet")}, str(SAMPLES / "truth.tsv"),
                   losses=["mae"], distribution=True)
    for report in comp.reports:
        for value in report.result("mae").distribution["quantiles"].values():
            assert format(value, ".6g") in text


def test_check_draws_then_fails_on_a_terminal():
    code, raw = run_shared_pty(["check", REGRESSION, "-l", "mse", "--max", "mse=1.5", "--plot"],
                               80)
    text = ANSI.sub("", raw)
    assert code == 1, text
    start, end = text.index("mse: distribution"), text.index("losscli: check failed: mse")
    assert text.index("FAIL") < start < end
    assert max(plot.cells(line) for line in text[start:end].split("\n")) <= 80


# ---------------------------------------------------------------------------------------
# machine output stays pure; nothing to plot

@pytest.mark.parametrize("fmt", ["csv", "ndjson", "markdown"])
def test_pictures_go_to_stderr_under_machine_formats(cli, fmt):
    r = cli("eval", REGRESSION, "-l", "mse", "--plot", "--format", fmt)
    assert r.exit_code == 0
    assert "distribution of the per-row loss" in r.stderr and "\x1b" not in r.stderr
    assert "per-row loss" not in r.stdout and not any(ch in r.stdout for ch in BLOCKS)
    if fmt == "ndjson":
        assert json.loads(r.stdout)["label"] == "mse"
    if fmt == "csv":
        assert r.stdout.splitlines()[0].startswith("loss,label")


def test_per_row_output_stays_pure(cli):
    r = cli("eval", REGRESSION, "-l", "mae", "-r", "none", "--plot")
    assert r.exit_code == 0
    rows = r.stdout.splitlines()
    assert rows[0] == "row,mae" and len(rows) == 1001
    assert "mae: distribution of the per-row loss" in r.stderr


def test_nothing_to_plot_is_a_note_not_an_error(cli):
    r = cli("eval", REGRESSION, "-l", "rmse", "--plot")
    assert r.exit_code == 0 and "rmse" in r.stdout and not any(ch in r.stdout for ch in BLOCKS)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("losscli: note: nothing to plot: rmse: no "
                                                   "per-row values"), r.stderr
    assert cli("eval", REGRESSION, "-l", "rmse", "--plot", "-q").stderr == ""
    r = cli("check", REGRESSION, "-l", "rmse", "--max", "rmse=2", "--plot")
    assert r.exit_code == 0 and "nothing to plot" in r.stderr


# ---------------------------------------------------------------------------------------
# the HTML report

def html_of(cli, tmp_path, *args: str, code: int = 0) -> Page:
    path = tmp_path / f"{args[0]}.html"
    r = cli(*args, "--html", path)
    assert r.exit_code == code, r.stderr
    assert f"losscli: wrote the report to {path}" in r.stderr
    assert leftovers(tmp_path) == []
    raw = path.read_text(encoding="utf-8")
    page = Page(raw)
    assert_self_contained(page, raw)
    return page


def test_eval_html(cli, tmp_path):
    args = ["eval", BINARY, "-l", "bce", "-l", "brier", "--ci"]
    quantiles, ece = expected_quantiles(cli, *args), ece_of(cli)
    page = html_of(cli, tmp_path, *args)
    assert page.count("svg") == 3  # two histograms and a reliability diagram
    text = page.all_text
    for qs in quantiles.values():
        for value in qs.values():
            assert format(value, ".6g") in text
    assert f"ECE = {ece:.6g}" in text
    doc = json_report(cli, *args)
    for x in doc["losses"]:
        assert format(x["value"], ".6g") in text
        assert f"[{x['interval']['low']:.6g}, {x['interval']['high']:.6g}]" in text


def test_check_html_puts_what_failed_first(cli, tmp_path):
    page = html_of(cli, tmp_path, "check", REGRESSION, "-l", "mse", "-l", "mae", "-l",
                        "rmse", "--max", "mse=1.5", code=1)
    assert page.count("svg") == 2  # mse and mae; rmse has no per-row values
    text = page.all_text
    assert "FAILED: 1 of 3" in text
    assert text.index("What failed") < text.index("Losses") < text.index("Distributions")


def test_compare_html_overlays_and_intervals(cli, tmp_path):
    page = html_of(cli, tmp_path, "compare", f"a={SAMPLES / 'model_preds.parquet'}",
                        f"b={SAMPLES / 'model_b.parquet'}", "-t", str(SAMPLES / "truth.tsv"),
                        "--ci")
    assert page.count("svg") == 2  # mse and mae overlaid; rmse has no per-row values
    from losscli.comparison import compare

    comp = compare({"a": str(SAMPLES / "model_preds.parquet"),
                    "b": str(SAMPLES / "model_b.parquet")}, str(SAMPLES / "truth.tsv"), ci=True)
    for report in comp.reports:
        for res in report.losses:
            assert format(res.value, ".6g") in page.all_text
            assert f"[{res.interval['low']:.6g}, {res.interval['high']:.6g}]" in page.all_text
    # every method of the table named, with its losses (issue 19, item 16: it said "normal")
    assert "95 % interval (delta for rmse; normal for mse, mae)" in page.all_text


def test_a_real_browser_renders_the_cli_reports(cli, tmp_path):
    for args, svgs in (
            (["eval", BINARY, "-l", "bce", "--ci"], 2),
            (["check", REGRESSION, "-l", "mse", "--max", "mse=1.5"], 1)):
        path = tmp_path / f"{args[0]}.html"
        r = cli(*args, "--html", path)
        assert r.exit_code in (0, 1), r.stderr
        png = tmp_path / f"{args[0]}.png"
        proc = chromium(tmp_path, path.as_uri(), f"--screenshot={png}",
                        "--window-size=1100,1400", "--hide-scrollbars")
        assert proc.returncode == 0 and png.exists(), proc.stderr[-2000:]
        assert console_messages(proc.stderr) == []
        flat = read_png(png).reshape(-1, 3).astype(np.int64)
        colours = flat[:, 0] << 16 | flat[:, 1] << 8 | flat[:, 2]
        assert len(np.unique(colours)) > 50 and (colours != 0xFFFFFF).mean() > 0.03
        assert (colours == 0x4C78A8).sum() > 1000  # the histogram's bars
        dom = chromium(tmp_path, path.as_uri(), "--dump-dom")
        assert dom.returncode == 0 and console_messages(dom.stderr) == []
        assert Page(dom.stdout).count("svg") == svgs


def test_html_target_refused_before_the_run(cli, tmp_path):
    args = ["eval", REGRESSION, "-l", "mse"]
    r = cli(*args, "--html", tmp_path / "no" / "r.html")
    assert r.exit_code == 2 and r.stdout == ""
    one_error_line(r.stderr, "--html", "does not exist")
    r = cli(*args, "--html", REGRESSION)
    assert r.exit_code == 2 and r.stdout == ""
    one_error_line(r.stderr, "--html", "is the input file")
    r = cli("check", REGRESSION, "-b", str(SAMPLES / "baseline.json"), "--html",
            str(SAMPLES / "baseline.json"))
    assert r.exit_code == 2
    one_error_line(r.stderr, "is the input file")
    same = tmp_path / "same"
    r = cli("check", REGRESSION, "-l", "mse", "--save", same, "--html", same)
    assert r.exit_code == 2 and not same.exists()
    one_error_line(r.stderr, "--html", "--save", "same file")
    r = cli("compare", REGRESSION, f"b={SAMPLES / 'model_b.parquet'}", "--html", REGRESSION)
    assert r.exit_code == 2
    one_error_line(r.stderr, "is the input file")


def test_html_into_an_unwritable_folder(cli, tmp_path):
    if os.geteuid() == 0:  # root ignores permissions: /sys takes no files
        folder = Path("/sys")
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
    try:
        for command in (["eval", REGRESSION], ["check", REGRESSION, "--max", "mse=9"],
                        ["compare", REGRESSION, f"b={SAMPLES / 'model_b.parquet'}"]):
            r = cli(*command, "--html", folder / "report.html")
            assert r.exit_code == 2 and r.stdout == "", r.stdout  # refused before the run
            one_error_line(r.stderr, "Cannot write --html", "choose a folder you can write to")
            assert not (folder / "report.html").exists() and leftovers(folder) == []
    finally:
        if folder != Path("/sys"):
            folder.chmod(0o755)


def test_a_failed_run_leaves_the_old_report(cli, tmp_path):
    path = tmp_path / "r.html"
    path.write_text("old")
    bad = tmp_path / "bad.csv"
    bad.write_text("pred,target\n1,2\nx,3\n")
    r = cli("eval", bad, "--html", path)
    assert r.exit_code == 2 and path.read_text() == "old" and leftovers(tmp_path) == []
    r = cli("eval", REGRESSION, "-l", "mse", "--html", path, "-q")
    assert r.exit_code == 0 and r.stderr == "" and Page(path.read_text()).count("svg") == 1


# ---------------------------------------------------------------------------------------
# the manual's sample report

def test_the_sample_report_is_what_its_documented_command_writes(tmp_path):
    """docs/sample-report.html is exactly what the command docs/pictures.md gives for it
    writes (timings aside): run it from a scratch copy of the repository's layout."""
    page = (ROOT / "docs" / "pictures.md").read_text(encoding="utf-8")
    commands = [line for line in page.splitlines()
                if line.startswith("losscli ") and "--html docs/sample-report.html" in line]
    assert len(commands) == 1, commands
    assert "](sample-report.html)" in page  # linked from its page
    assert "](docs/sample-report.html)" in (ROOT / "README.md").read_text(encoding="utf-8")
    (tmp_path / "sample_data").symlink_to(ROOT / "sample_data")
    (tmp_path / "docs").mkdir()
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", commands[0]], cwd=tmp_path, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    assert proc.returncode == 1, proc.stderr  # the sample check fails on purpose
    new = (tmp_path / "docs" / "sample-report.html").read_text(encoding="utf-8")
    committed = (ROOT / "docs" / "sample-report.html").read_text(encoding="utf-8")

    def timeless(text: str) -> str:
        return re.sub(r" in \d+\.\d+ s\.", " in … s.", text)

    assert timeless(new) == timeless(committed), (
        "docs/sample-report.html is stale: regenerate it with the command under 'Sample "
        "report' in docs/pictures.md, from the repository root")
    page = Page(committed)
    assert_self_contained(page, committed)
    assert page.count("svg") == 3 and "What failed" in page.all_text


# ---------------------------------------------------------------------------------------
# issue 20, item 3: what users see of the one presentation layer

MEASURE = """<script>
window.addEventListener("load", () => {
  const out = [];
  for (const box of document.querySelectorAll("#losses .scroll, #groups .scroll")) {
    const right = box.getBoundingClientRect().right;
    const cut = [...box.querySelectorAll(".nowrap")].filter(
      (s) => s.getBoundingClientRect().right > right + 0.5).map((s) => s.textContent);
    out.push({over: box.scrollWidth - box.clientWidth, cut: cut});
  }
  document.body.setAttribute("data-layout", JSON.stringify(out));
});
</script>"""


def layout_at(tmp_path: Path, html: Path, width: int) -> list[dict]:
    """Each loss and group table's overflow at ``width`` px, measured by a real chromium:
    a copy of the page without its CSP (so a measuring script may run) laid out at that
    width; for each table, how far it overflows its box and which nowrap words stick out."""
    probe = tmp_path / f"probe-{html.name}"
    raw = html.read_text(encoding="utf-8")
    raw = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", raw)
    probe.write_text(raw.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    dom = chromium(tmp_path, probe.as_uri(), "--dump-dom", f"--window-size={width},2000")
    assert dom.returncode == 0, dom.stderr[-2000:]
    found = re.search(r'data-layout="([^"]*)"', dom.stdout)
    assert found, dom.stdout[:2000]
    import html as markup

    return json.loads(markup.unescape(found.group(1)))


def test_the_loss_table_fits_1200_px_with_long_reasons(tmp_path):
    """n/a intervals whose reasons are long sentences (average precision's ranking, too few
    bootstrap replicates): the table keeps to the page at 1,200 px, "higher" whole."""
    from tests.conftest import run_losscli

    path = tmp_path / "eval.html"
    r = run_losscli("eval", BINARY, "-l", "bce", "-l", "accuracy", "-l", "ece", "-l", "mce",
                    "-l", "roc_auc", "-l", "average_precision", "-l", "precision:threshold=0.3",
                    "--ci", "--ci-level", "0.999", "--replicates", "100", "--html", path,
                    "--weight-col", "weight")  # weighted: AP has no per-score bootstrap
    assert r.returncode == 0, r.stderr
    doc = json.loads(run_losscli("eval", BINARY, "-l", "average_precision", "--ci", "-f",
                                 "json", "--weight-col", "weight").stdout)
    reason = doc["losses"][0]["interval"]["reason"]
    assert len(reason) > 60  # the long sentence this is about
    page = Page(path.read_text(encoding="utf-8"))
    assert reason in page.all_text and "higher" in page.all_text
    for width in (1200, 900):
        tables = layout_at(tmp_path, path, width)
        assert tables and all(t["over"] <= 0 and t["cut"] == [] for t in tables), (width, tables)


def test_the_group_table_shows_each_groups_own_verdict(tmp_path):
    """check --group-by: the by-group table of the page says, per group, the group's own
    status and reason as the JSON's verdicts say (the failing groups visibly failing), and
    the table fits 1,200 px."""
    from tests.conftest import run_losscli

    segments = str(SAMPLES / "segments.parquet")
    args = ["check", segments, "-l", "mse", "-l", "mae", "--group-by", "region", "--ci",
            "--max", "mse=2"]
    doc = json.loads(run_losscli(*args, "-f", "json").stdout)
    path = tmp_path / "check.html"
    r = run_losscli(*args, "--html", path)
    assert r.returncode == 1, r.stderr
    raw = path.read_text(encoding="utf-8")
    section = raw[raw.index('<section id="groups">'):]
    section = section[:section.index("</section>")]
    mse_table = section[section.index("<h3>mse</h3>"):section.index("<h3>mae</h3>")]
    rows = re.findall(r"<tr(?: class=\"(\w*)\")?>(.*?)</tr>", mse_table)
    from losscli.present.pictures import group_label

    seen = 0
    for group in doc["groups"]:
        verdict = next(c for c in group["checks"] if c["label"] == "mse")
        label = group_label(group)
        import html as markup

        row = next((cls, cells) for cls, cells in rows
                   if markup.escape(label) in cells and "overall" not in cells)
        text = markup.unescape(re.sub(r"<[^>]+>", " ", row[1]))
        if verdict["status"] == "fail":
            seen += 1
            assert row[0] == "fail" and "FAIL" in text and "✗" in text
            assert all(reason in text for reason in verdict["reasons"]) and verdict["reasons"]
        else:
            assert row[0] == "" and "FAIL" not in text and "✗" not in text
            assert 'class="status-' + verdict["status"] in row[1]
    assert seen == len([g for g in doc["verdict"]["failed_groups"]]) >= 1
    tables = layout_at(tmp_path, path, 1200)
    assert tables and all(t["over"] <= 0 and t["cut"] == [] for t in tables), tables


def test_a_0_1_loss_is_counted_not_drawn_as_a_histogram():
    """--plot of accuracy (per-row values 0 or 1): the rows at 0 and at 1, counted as
    numpy counts them, never a histogram with quantiles such as p50 = 0.9900000000000001;
    the HTML the same (a table of counts, no histogram svg for it)."""
    import pandas as pd

    frame = pd.read_csv(BINARY)
    correct = ((frame["prob"] >= 0.5).astype(int) == frame["label"]).to_numpy()
    ones, zeros = int(correct.sum()), int((~correct).sum())
    code, raw = run_shared_pty(["eval", BINARY, "-l", "accuracy", "-l", "bce", "--plot"], 100)
    assert code == 0, raw
    text = ANSI.sub("", raw)
    start = text.index("accuracy: per-row values (0 or 1)")
    part = text[start:text.index("bce: distribution of")]
    assert "distribution of the per-row loss" not in part and "p50" not in part
    lines = part.split("\n")
    row0 = next(line for line in lines if line.startswith("0 "))
    row1 = next(line for line in lines if line.startswith("1 "))
    assert f"{zeros:,} rows" in row0 and f"{zeros / len(correct) * 100:.6g} %" in row0
    assert f"{ones:,} rows" in row1 and f"{ones / len(correct) * 100:.6g} %" in row1
    assert "bce: distribution of the per-row loss" in text  # bce still a histogram


def test_the_page_prints_numbers_as_the_table(tmp_path):
    """The HTML prints every value as the terminal table does (6 significant digits), never
    the 16-17 digit repr (the full value only in a hover title)."""
    from tests.conftest import run_losscli

    args = ["eval", BINARY, "-l", "bce", "-l", "brier", "-l", "ece", "--ci"]
    doc = json.loads(run_losscli(*args, "-f", "json").stdout)
    path = tmp_path / "r.html"
    assert run_losscli(*args, "--html", path).returncode == 0
    raw = path.read_text(encoding="utf-8")
    text = Page(raw).all_text
    for x in doc["losses"]:
        assert format(x["value"], ".6g") in text
        assert repr(x["value"]) not in text  # not printed: only in a title attribute
        assert f'title="{x["value"]!r}"' in raw or repr(x["value"]) == format(x["value"], ".6g")
