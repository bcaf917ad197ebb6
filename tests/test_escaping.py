"""One escaping boundary (issue 19, item 18): every string from data or from the user —
group keys, class labels, model names, paths, a saved state's recorded path — is escaped
where it is rendered as text (table, Markdown, CSV cells, the lines on stderr), through a
pipe and on a real terminal; JSON keeps the raw value; HTML escapes markup.

ESC, OSC/BEL, CR/LF, the other C0/C1 controls and the bidirectional overrides never reach
stdout or stderr raw (:func:`losscli.present.text.printable`)."""

from __future__ import annotations

import json
import re
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from losscli.present.text import printable
from tests.conftest import run_losscli, run_pty

#: Keys that would drive a terminal: a title change (OSC … BEL), clear screen, a faked line,
#: a carriage return over the line, a right-to-left override, a C1 CSI, DEL.
HOSTILE = ["a\x1b]0;PWNED\x07", "b\x1b[2J", "c\nfake: line", "d\rover", "e\u202eevil",
           "f\x9b31m", "g\x7f"]
#: What must never appear raw in an output (rich's own styling on a terminal is SGR only).
RAW = [b"\x07", b"\x1b]", b"\x1b[2J", "\u202e".encode(), "\x9b".encode(), b"\x7f",
       b"\rover"]
#: What losscli itself writes to a terminal: rich's colours, and its progress bar's cursor
#: controls (hide/show the cursor, clear the line, move up) when a run lasts long enough to
#: show one. Anything else is a byte from the data.
SGR = re.compile(rb"\x1b\[[0-9;]*m|\x1b\[\?25[lh]|\x1b\[2K|\x1b\[[0-9]*A")


def assert_clean(out: bytes, where: str) -> None:
    """No raw control byte in ``out`` but line breaks and rich's colour codes."""
    for raw in RAW:
        assert raw not in out, (where, raw, out[:400])
    rest = SGR.sub(b"", out)
    assert b"\x1b" not in rest, (where, out[:400])
    text = rest.decode()
    for ch in text:
        assert ch in "\n\r" or ch.isprintable() or ch == " ", (where, repr(ch))


def _hostile_groups(path) -> None:
    n = len(HOSTILE) * 4
    rng = np.random.default_rng(0)
    pq.write_table(pa.table({"pred": rng.normal(size=n), "target": rng.normal(size=n),
                             "g": HOSTILE * 4}), path)


def test_the_escape_itself():
    assert printable("a\x1b]0;PWNED\x07") == "a\\x1b]0;PWNED\\x07"
    assert printable("c\nd\re\tf") == "c\\nd\\re\\tf"
    assert printable("\u202eevil\u2066\x9b\x7f") == "\\u202eevil\\u2066\\x9b\\x7f"
    assert printable("naïve 東京 👩\u200d💻") == "naïve 東京 👩\u200d💻"  # text stays text
    assert printable(printable("x\x1by")) == printable("x\x1by")  # escaping twice is once


def test_issue_repro_group_keys(tmp_path):
    """The issue's reproduction: ``eval esc.parquet --loss mse --group-by g | cat -v``."""
    path = tmp_path / "esc.parquet"
    pq.write_table(pa.table({"pred": [.9, .2], "target": [1., 0], "g": ["a\x1b]0;PWNED\x07",
                                                                         "b\x1b[2J"]}), path)
    r = run_losscli("eval", path, "--loss", "mse", "--group-by", "g")
    assert r.returncode == 0, r.stderr
    assert_clean(r.stdout, "table")
    assert b"a\\x1b]0;PWNED\\x07" in r.stdout and b"b\\x1b[2J" in r.stdout


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_group_keys_in_text_formats_through_a_pipe(tmp_path, fmt):
    path = tmp_path / "esc.parquet"
    _hostile_groups(path)
    r = run_losscli("eval", path, "--loss", "mse", "--group-by", "g", "-f", fmt)
    assert r.returncode == 0, r.stderr
    assert_clean(r.stdout, fmt)
    assert_clean(r.stderr, fmt)
    text = r.stdout.decode()
    for key in HOSTILE:
        assert printable(key) in text, (fmt, key)
    lines = text.splitlines()
    assert not any(line.startswith("fake: line") for line in lines)  # no faked line


def test_json_keeps_the_raw_values(tmp_path):
    path = tmp_path / "esc.parquet"
    _hostile_groups(path)
    r = run_losscli("eval", path, "--loss", "mse", "--group-by", "g", "-f", "json")
    assert_clean(r.stdout, "json")  # json.dumps writes them as \\u001b
    doc = json.loads(r.stdout)
    assert sorted(g["key"]["g"] for g in doc["groups"]) == sorted(HOSTILE)


def test_group_keys_on_a_real_terminal(tmp_path):
    path = tmp_path / "esc.parquet"
    _hostile_groups(path)
    code, _, seen = run_pty(["eval", str(path), "--loss", "mse", "--group-by", "g"],
                            stdout_to_pty=True, columns=160)
    assert code == 0
    assert_clean(seen, "pty")
    assert b"a\\x1b]0;PWNED\\x07" in seen


def test_check_failed_line_is_escaped_on_a_terminal_and_a_pipe(tmp_path):
    path = tmp_path / "esc.parquet"
    _hostile_groups(path)
    args = ["check", str(path), "--loss", "mse", "--group-by", "g", "--max", "mse=0"]
    r = run_losscli(*args)
    assert r.returncode == 1
    assert_clean(r.stderr, "stderr")
    assert_clean(r.stdout, "stdout")
    last = r.stderr.decode().splitlines()[-1]
    assert last.startswith("losscli: check failed: mse, 7 groups (g=")
    assert "g=a\\x1b]0;PWNED\\x07" in last or "g=b\\x1b[2J" in last
    for fmt in ("markdown", "csv"):
        r = run_losscli(*args, "-f", fmt)
        assert r.returncode == 1
        assert_clean(r.stdout, fmt)
        assert_clean(r.stderr, fmt)
    code, _, seen = run_pty(args, stdout_to_pty=True, columns=160)
    assert code == 1
    assert_clean(seen, "pty")
    assert b"losscli: check failed: mse, 7 groups (g=" in seen


def test_class_labels(tmp_path):
    rng = np.random.default_rng(1)
    labels = np.array(["no\x1b[2J", "yes\x1b]0;PWNED\x07"])
    y = labels[rng.integers(0, 2, 50)]
    path = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"pred": rng.uniform(size=50), "target": y}), path)
    for fmt in ("table", "markdown", "csv"):
        r = run_losscli("eval", path, "--loss", "accuracy", "--pos-label", labels[1], "-f", fmt)
        assert r.returncode == 0, r.stderr
        assert_clean(r.stdout, fmt)
        assert_clean(r.stderr, fmt)
        if fmt != "csv":  # the table and Markdown name the classes
            assert "yes\\x1b]0;PWNED\\x07" in r.stdout.decode(), fmt
    doc = json.loads(run_losscli("eval", path, "--loss", "accuracy", "--pos-label", labels[1],
                                 "-f", "json").stdout)
    assert set(doc["inputs"]["classes"]) == set(labels)


def test_compare_model_names(tmp_path, samples):
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    shutil.copy(samples / "model_preds.parquet", a)
    shutil.copy(samples / "model_b.parquet", b)
    names = [f"a\x1b[2J={a}", f"b\u202e\x1b]0;PWNED\x07={b}"]
    for fmt in ("table", "markdown", "csv"):
        r = run_losscli("compare", *names, "-t", samples / "truth.tsv", "-l", "mse", "-f", fmt)
        assert r.returncode == 0, r.stderr
        assert_clean(r.stdout, fmt)
        assert "a\\x1b[2J" in r.stdout.decode(), fmt
    doc = json.loads(run_losscli("compare", *names, "-t", samples / "truth.tsv", "-l", "mse",
                                 "-f", "json").stdout)
    assert [m["name"] for m in doc["models"]] == ["a\x1b[2J", "b\u202e\x1b]0;PWNED\x07"]


def test_paths_and_a_states_recorded_path(tmp_path, samples):
    hostile = tmp_path / "x\x1b]0;PWNED\x07\u202e.parquet"
    shutil.copy(samples / "regression.parquet", hostile)
    state = tmp_path / "s.state"
    r = run_losscli("eval", hostile, "-l", "mse", "--save-state", state)
    assert r.returncode == 0, r.stderr
    assert_clean(r.stdout, "eval table")
    assert "x\\x1b]0;PWNED\\x07\\u202e.parquet" in r.stdout.decode()  # the files: line
    for fmt in ("table", "markdown"):
        r = run_losscli("merge", state, "-f", fmt)
        assert r.returncode == 0, r.stderr
        assert_clean(r.stdout, f"merge {fmt}")
        assert_clean(r.stderr, f"merge {fmt}")
        assert "files: " in r.stdout.decode() and "PWNED\\x07" in r.stdout.decode()
    doc = json.loads(run_losscli("merge", state, "-f", "json").stdout)
    assert doc["inputs"]["predictions"]["path"].endswith("x\x1b]0;PWNED\x07\u202e.parquet")


def test_the_page_escapes_markup_and_controls(tmp_path):
    path = tmp_path / "esc.parquet"
    _hostile_groups(path)
    page = tmp_path / "r.html"
    r = run_losscli("check", path, "--loss", "mse", "--group-by", "g", "--max", "mse=0",
                    "-f", "json", "--html", page)
    assert r.returncode == 1
    raw = page.read_bytes()
    for bad in RAW:
        assert bad not in raw
    assert b"\x1b" not in raw


def test_per_row_csv_on_stdout_is_escaped_and_a_file_keeps_the_raw_keys(tmp_path):
    path = tmp_path / "esc.parquet"
    _hostile_groups(path)
    r = run_losscli("eval", path, "--loss", "mse", "--group-by", "g", "--reduction", "none")
    assert r.returncode == 0, r.stderr
    assert_clean(r.stdout, "per-row stdout")
    assert b"a\\x1b]0;PWNED\\x07" in r.stdout
    out = tmp_path / "rows.csv"
    r = run_losscli("eval", path, "--loss", "mse", "--group-by", "g", "--reduction", "none",
                    "--output", out)
    assert r.returncode == 0, r.stderr
    import pyarrow.csv as pacsv

    keys = pacsv.read_csv(out).column("g").to_pylist()
    assert sorted(set(keys)) == sorted(HOSTILE)  # a data file: the values themselves
