"""Behaviour at a real terminal: losscli runs under a pseudo-terminal (``pty``) here.

Progress bar: on stderr only, only at a terminal, never with --no-progress/--quiet.
Colour: only at a terminal, never with NO_COLOR. Table: numbers are never cut short, even
on a 30-column terminal.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import run_losscli, run_pty

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    path = tmp_path_factory.mktemp("tty") / "big.parquet"
    rng = np.random.default_rng(3)
    n = 400_000
    pq.write_table(pa.table({"pred": rng.normal(size=n), "target": rng.normal(size=n)}), path)
    return str(path)


EVAL = ["eval", "-l", "mse", "-l", "huber", "--chunk-size", "20000", "-f", "json"]
NOW = {"LOSSCLI_PROGRESS_DELAY": "0"}  # show the bar from the first chunk on


def test_progress_bar_on_a_terminal_stderr(big):
    code, stdout, tty = run_pty([*EVAL[:1], big, *EVAL[1:]], env=NOW)
    assert code == 0
    text = ANSI.sub(b"", tty).decode()
    assert "evaluating" in text and "/400,000 rows" in text, text
    assert json.loads(stdout)["rows"] == 400_000  # stdout untouched by the bar
    assert b"\x1b" not in stdout


@pytest.mark.parametrize("flag", ["--no-progress", "--quiet"])
def test_no_bar_when_asked(big, flag):
    code, stdout, tty = run_pty([*EVAL[:1], big, *EVAL[1:], flag], env=NOW)
    assert code == 0 and b"evaluating" not in tty and json.loads(stdout)["rows"] == 400_000


def test_no_bar_when_stderr_is_not_a_terminal(big):
    proc = run_losscli(*EVAL[:1], big, *EVAL[1:], env=NOW)
    assert proc.returncode == 0 and proc.stderr == b""


def test_bar_counts_bytes_for_a_csv_file(tmp_path):
    path = tmp_path / "rows.csv"
    rng = np.random.default_rng(4)
    np.savetxt(path, rng.normal(size=(100_000, 2)), delimiter=",", header="pred,target",
               comments="", fmt="%.6f")
    code, stdout, tty = run_pty(["eval", str(path), "-l", "mae", "-f", "csv"], env=NOW)
    assert code == 0 and b"mae" in stdout
    text = ANSI.sub(b"", tty).decode()
    assert "evaluating" in text and "MB" in text and "rows" in text, text


def test_colour_at_a_terminal_and_none_with_no_color():
    args = ["eval", "sample_data/regression.csv", "-l", "mse"]
    _, _, coloured = run_pty(args, stdout_to_pty=True)
    _, _, plain = run_pty(args, env={"NO_COLOR": "1"}, stdout_to_pty=True)
    assert b"\x1b[" in coloured  # the check can fail: rich styles the table at a terminal
    assert b"\x1b[" not in plain and b"1.83814" in plain  # 6 significant digits


def test_narrow_terminal_never_cuts_numbers():
    args = ["eval", "sample_data/regression.csv", "-l", "mse", "-l", "huber:delta=0.5",
            "-l", "quantile:quantile=0.25", "-l", "r2"]
    expected = {x["name"]: x["value"] for x in json.loads(
        run_losscli(*args, "-f", "json").stdout)["losses"]}
    code, _, tty = run_pty(args, columns=30, stdout_to_pty=True)
    text = ANSI.sub(b"", tty).decode()
    assert code == 0 and "…" not in text
    for value in expected.values():
        assert f"{value:.6g}" in text  # tables show 6 significant digits, never fewer


def test_check_shows_a_row_counting_bar(big):
    code, stdout, tty = run_pty(["check", big, "-l", "mse", "--max", "mse=5", "--chunk-size",
                                 "20000", "-f", "json"], env=NOW)
    text = ANSI.sub(b"", tty).decode()
    assert code == 0 and json.loads(stdout)["passed"] is True
    assert "evaluating" in text and "rows" in text, text


def test_missing_file_at_a_terminal_is_a_usage_error():
    """No FILE and stdin is the keyboard: say how to give data instead of waiting for it."""
    code, _, tty = run_pty(["eval", "-l", "mse"], stdout_to_pty=True, stdin_to_pty=True)
    assert code == 2 and b"Missing FILE" in tty and b"losscli eval -" in tty


# --- check and compare tables: never a number cut, never a column dropped --------------------

CHECK = ["check", "sample_data/models.parquet", "--pred-col", "model_c", "--baseline",
         "sample_data/baseline.json", "--rtol", "0.02"]
COMPARES = [
    ["compare", "sample_data/model_preds.parquet", "sample_data/model_b.parquet", "--targets",
     "sample_data/truth.tsv", "--loss", "mse", "--loss", "mae", "--loss", "huber"],
    ["compare", "sample_data/models.parquet", "--pred-col", "model_a", "--pred-col", "model_b",
     "--pred-col", "model_c", "--loss", "mse", "--loss", "r2", "--loss", "huber:delta=0.5",
     "--name", "A=model_a"],
]


_JSON: dict[tuple[str, ...], dict] = {}


def as_json(args: list[str]) -> dict:
    if tuple(args) not in _JSON:
        _JSON[tuple(args)] = json.loads(run_losscli(*args, "-f", "json").stdout)
    return _JSON[tuple(args)]


def on_terminal(args: list[str], columns: int) -> str:
    """What a terminal of ``columns`` columns shows for ``losscli ARGS`` (ANSI removed)."""
    code, _, seen = run_pty(args, columns=columns, stdout_to_pty=True)
    assert code in (0, 1), seen
    return ANSI.sub(b"", seen).decode().replace("\r\n", "\n")


def shown_whole(token: str, text: str) -> bool:
    """``token`` appears with nothing of a number glued to either side (not cut, not a
    prefix of a longer number)."""
    return re.search(rf"(?<![\w.+\-]){re.escape(token)}(?![\w.%])", text) is not None


def assert_fits(text: str, columns: int, table_lines: int) -> None:
    lines = text.splitlines()[:table_lines]
    assert "…" not in text
    assert all(len(line.rstrip()) <= columns for line in lines), "\n".join(lines)


@pytest.mark.parametrize("columns", [80, 100, 140])
def test_check_table_keeps_every_number_and_column(columns):
    doc = as_json(CHECK)
    text = on_terminal(CHECK, columns)
    table = text.split("✗")[0]  # the table, before the reasons
    for header in ("loss", "value", "baseline", "change", "rel.", "bound", "result"):
        assert re.search(rf"\b{re.escape(header)}", table), (header, table)
    for c in doc["checks"]:
        for token in (f"{c['value']:.6g}", f"{c['baseline']:.6g}", f"{c['change']:+.6g}",
                      f"{c['relative_change'] * 100:+.4g}%", f"{c['limit']:.6g}"):
            assert shown_whole(token, table), (token, table)
        assert shown_whole({"fail": "FAIL"}.get(c["status"], c["status"]), table)
        assert c["label"] in table
    assert_fits(table, columns, len(table.splitlines()))


@pytest.mark.parametrize("columns", [80, 100, 140])
@pytest.mark.parametrize("args", COMPARES, ids=["two files", "three columns"])
def test_compare_table_keeps_every_number_and_column(columns, args):
    doc = as_json(args)
    text = on_terminal(args, columns)
    table = text.split("models:")[0]
    names = [m["name"] for m in doc["models"]]
    for header in ("loss", "better", *names, "best"):
        assert shown_whole(header, table), (header, table)
    assert table.count("Δ") == len(names) - 1
    for loss in doc["losses"]:
        assert loss["label"].split("(")[0] in table
        assert ("higher" if loss["higher_is_better"] else "lower") in table
        for name in names:
            assert shown_whole(f"{loss['values'][name]:.6g}", table), (name, table)
        for name in names[1:]:
            assert shown_whole(f"{loss['diff'][name]:+.6g}", table)
            assert f"({loss['relative_diff'][name] * 100:+.4g}%)" in table
        assert ", ".join(loss["best"]) in table
    assert_fits(table, columns, len(table.splitlines()))
