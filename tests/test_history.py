"""``losscli history PATH``: the losses of a committed report at each commit that changed
it (issue 22 item 2), against real git repositories built here and through the real CLI.

The references are computed in the test: the commits from ``git log -- PATH``, the values
from the report JSON at each commit read with ``json``."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import ROOT, SAMPLES, run_losscli, run_pty

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

REPORT = "metrics/report.json"
GROUPS = "metrics/groups.json"
SVG = "{http://www.w3.org/2000/svg}"


def git(repo: Path, *args: str, when: int = 0) -> str:
    stamp = f"2026-01-{1 + when:02d}T12:00:00+00:00"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com",
           "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, "LC_ALL": "C"}
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, env=env, check=True)
    return done.stdout.decode()


def eval_json(*args: str) -> bytes:
    done = run_losscli("eval", *args, "--format", "json", "-q")
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def reports() -> dict[str, bytes]:
    """Real reports of ``losscli eval --format json`` (different data, one with --ci, two
    with --group-by)."""
    seg = str(SAMPLES / "segments.parquet")
    return {
        "a": eval_json(str(SAMPLES / "regression.parquet"), "-l", "mse", "-l", "mae"),
        "b": eval_json(str(SAMPLES / "regression.csv"), "--weight-col", "weight", "-l", "mse",
                       "-l", "mae"),
        "c": eval_json(str(SAMPLES / "model_b.parquet"), "-t", str(SAMPLES / "truth.tsv"),
                       "-l", "mse", "-l", "mae", "-l", "rmse", "--ci", "--seed", "1"),
        "d": eval_json(str(SAMPLES / "regression.csv"), "-l", "mse"),
        "g1": eval_json(seg, "-l", "mse", "--group-by", "channel"),
        "g2": eval_json(seg, "-l", "mse", "-l", "mae", "--group-by", "channel", "--ci", "--seed",
                        "1"),
    }


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory, reports: dict[str, bytes]) -> Path:
    """main: report a, an unrelated commit, report b (+ groups g1), a broken report, report
    c with intervals (+ groups g2); branch feature: report d."""
    repo = tmp_path_factory.mktemp("history") / "repo"
    (repo / "metrics").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    steps = [("first report", {REPORT: reports["a"]}),
             ("unrelated change", {"README": b"hello\n"}),
             ("second report", {REPORT: reports["b"], GROUPS: reports["g1"]}),
             ("broken report", {REPORT: b'{"schema_version": 1, "losses": [tru'}),
             ("third report, with intervals", {REPORT: reports["c"], GROUPS: reports["g2"]})]
    for when, (subject, files) in enumerate(steps):
        for name, data in files.items():
            (repo / name).write_bytes(data)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", subject, when=when)
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / REPORT).write_bytes(reports["d"])
    git(repo, "commit", "-q", "-am", "feature report", when=9)
    git(repo, "checkout", "-q", "main")
    return repo


def history(repo: Path, *args: str) -> subprocess.CompletedProcess:
    return run_losscli("history", *args, cwd=repo, env={"COLUMNS": "250"})


def log(repo: Path, *args: str, path: str = REPORT) -> list[tuple[str, str, str]]:
    """(full hash, short hash, subject) of the commits that changed ``path``, oldest first:
    the reference."""
    out = git(repo, "log", "--format=%H %h %s", *args, "--", path)
    return [tuple(line.split(" ", 2)) for line in reversed(out.splitlines())]  # type: ignore


def expected(repo: Path, commit: str, path: str = REPORT) -> dict[str, dict] | None:
    """The losses of the report at ``commit``, read with json; None when it is not JSON."""
    try:
        doc = json.loads(git(repo, "show", f"{commit}:{path}"))
    except json.JSONDecodeError:
        return None
    return {e["label"]: e for e in doc["losses"]}


def as_json(done: subprocess.CompletedProcess) -> dict:
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def reference(repo: Path) -> dict:
    """``history REPORT --format json``: what every other format is compared with (its
    own correctness: the first test)."""
    return as_json(history(repo, REPORT, "--format", "json"))


def test_rows_are_the_commits_that_changed_the_file_and_values_are_the_reports(repo, reference):
    doc = reference
    want = log(repo)
    assert [(c["commit"], c["short"], c["subject"]) for c in doc["commits"]] == want
    assert "unrelated change" not in [c["subject"] for c in doc["commits"]]
    assert "feature report" not in [c["subject"] for c in doc["commits"]]  # another branch
    for row in doc["commits"]:
        losses = expected(repo, row["commit"])
        if losses is None:  # the broken commit: a row that says why, no values
            assert row["subject"] == "broken report"
            assert "not valid JSON" in row["error"]
            assert all(v["value"] is None for v in row["values"].values())
            continue
        assert row["error"] is None
        for column in doc["columns"]:
            got = row["values"][column]
            if column not in losses:  # absent at this commit: blank
                assert got == {"value": None, "ci_low": None, "ci_high": None}
                continue
            entry = losses[column]
            assert got["value"] == entry["value"]
            interval = entry.get("interval")
            assert got["ci_low"] == (interval["low"] if interval else None)
            assert got["ci_high"] == (interval["high"] if interval else None)
    assert doc["columns"] == ["mse", "mae", "rmse"]
    last = doc["commits"][-1]["values"]["mse"]  # the --ci report: a noise band
    assert last["ci_low"] < last["value"] < last["ci_high"]


def test_rev_range_and_n(repo):
    main = log(repo)
    doc = as_json(history(repo, REPORT, "--rev-range", "main..feature", "-f", "json"))
    assert [c["commit"] for c in doc["commits"]] == [c for c, _, _ in
                                                     log(repo, "main..feature")]
    assert [c["subject"] for c in doc["commits"]] == ["feature report"]
    d = expected(repo, "feature")
    assert doc["commits"][0]["values"]["mse"]["value"] == d["mse"]["value"]
    first = main[0][0]
    doc = as_json(history(repo, REPORT, "--rev-range", f"{first}..", "-f", "json"))
    assert [c["commit"] for c in doc["commits"]] == [c for c, _, _ in main[1:]]
    doc = as_json(history(repo, REPORT, "-n", "2", "-f", "json"))
    assert [c["commit"] for c in doc["commits"]] == [c for c, _, _ in main[-2:]]


def test_group_by_columns_per_group(repo):
    doc = as_json(history(repo, GROUPS, "--group-by", "channel", "-f", "json"))
    assert [c["commit"] for c in doc["commits"]] == [c for c, _, _ in log(repo, path=GROUPS)]
    for row in doc["commits"]:
        report = json.loads(git(repo, "show", f"{row['commit']}:{GROUPS}"))
        want = {f"{e['label']}.channel={g['key']['channel']}": e["value"]
                for g in report["groups"] for e in g["losses"]}
        got = {k: v["value"] for k, v in row["values"].items() if v["value"] is not None}
        assert got == want
    # a report without those groups: a row that says so
    doc = as_json(history(repo, GROUPS, "--group-by", "region", "-f", "json"))
    assert all("not --group-by region" in row["error"] for row in doc["commits"])


def test_csv_and_markdown_and_table_parse_back(repo, reference):
    done = history(repo, REPORT, "-f", "csv")
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout.decode())))
    assert [r["commit"] for r in rows] == [c["commit"] for c in reference["commits"]]
    for r, c in zip(rows, reference["commits"]):
        for column in reference["columns"]:
            v = c["values"][column]
            assert r[column] == ("" if v["value"] is None else repr(v["value"]))
        assert r["mse.ci_low"] == ("" if c["values"]["mse"]["ci_low"] is None
                                   else repr(c["values"]["mse"]["ci_low"]))
    done = history(repo, REPORT, "-f", "markdown")
    lines = [x for x in done.stdout.decode().splitlines() if x.startswith("|")]
    head = [x.strip() for x in lines[0].strip("|").split("|")]
    assert head == ["commit", "date", "subject", *reference["columns"]]
    body = [[x.strip() for x in line.strip("|").split("|")] for line in lines[2:]]
    assert [b[0] for b in body] == [c["short"] for c in reference["commits"]]
    for b, c in zip(body, reference["commits"]):
        v = c["values"]["mse"]["value"]
        assert (b[3].split(" ")[0] if b[3] else None) == (None if v is None else f"{v:.6g}")
    done = history(repo, REPORT)
    text = done.stdout.decode()
    for c in reference["commits"]:
        assert c["short"] in text and c["subject"] in text
    assert "not valid JSON" in text  # the broken commit's reason under the table


def test_plot_sparklines_on_a_terminal(repo, reference):
    script = ("import os, runpy, sys; os.chdir(sys.argv.pop(1)); sys.argv[0] = 'losscli'; "
              "runpy.run_module('losscli', run_name='__main__')")
    code, _, seen = run_pty([str(repo), "history", REPORT, "--plot"], stdout_to_pty=True,
                            columns=160, command=[sys.executable, "-c", script])
    assert code == 0, seen
    lines = seen.decode().replace("\r", "").splitlines()
    for column in reference["columns"]:
        line = next(x for x in lines if x.startswith(column + " "))
        # one character per commit, oldest first: the lowest value the lowest bar, the
        # highest the highest, a commit without a value a blank
        cells = line[len(max(reference["columns"], key=len)) + 2:][:len(reference["commits"])]
        values = [c["values"][column]["value"] for c in reference["commits"]]
        known = [v for v in values if v is not None]
        assert len(cells) == len(values)
        for cell, v in zip(cells, values):
            if v is None:
                assert cell == " "
            elif len(set(known)) > 1 and v == min(known):
                assert cell == "▁"
            elif len(set(known)) > 1 and v == max(known):
                assert cell == "█"
            else:
                assert cell in "▁▂▃▄▅▆▇█"
    # machine output stays pure: with --format json the sparklines go to stderr
    done = history(repo, REPORT, "-f", "json", "--plot")
    assert json.loads(done.stdout) == reference and "▁" in done.stderr.decode()


def test_saved_states_are_read_through_their_report(tmp_path):
    import losscli

    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    runs = [{"predictions": str(SAMPLES / "regression.parquet")},
            {"predictions": str(SAMPLES / "regression.csv"), "weight_col": "weight"}]
    wanted = []
    for when, run in enumerate(runs):
        report = losscli.evaluate(**run, losses=["mse", "mae"],
                                  save_state=str(repo / "run.state"))
        wanted.append({r.label: r.value for r in report.losses})
        git(repo, "add", "run.state")
        git(repo, "commit", "-q", "-m", f"state {when}", when=when)
    doc = as_json(history(repo, "run.state", "-f", "json"))
    assert [c["subject"] for c in doc["commits"]] == ["state 0", "state 1"]
    assert [{k: v["value"] for k, v in row["values"].items()} for row in doc["commits"]] == wanted
    assert wanted[0] != wanted[1]


def test_html_chart_points_and_bands(repo, reference, tmp_path):
    page = tmp_path / "history.html"
    done = history(repo, REPORT, "--html", str(page))
    assert done.returncode == 0, done.stderr
    text = page.read_text()
    assert "<script" not in text and "http://" not in text.replace(
        "http://www.w3.org/2000/svg", "")
    svgs = [text[i:text.index("</svg>", i) + 6] for i in range(len(text))
            if text.startswith("<svg", i)]
    assert len(svgs) == len(reference["columns"])
    for column, svg in zip(reference["columns"], svgs):
        tree = ET.fromstring(svg)
        points = tree.findall(f"{SVG}circle")
        want = [c for c in reference["commits"] if c["values"][column]["value"] is not None]
        assert len(points) == len(want)
        bands = tree.findall(f"{SVG}polygon")
        assert len(bands) == sum(1 for c in want if c["values"][column]["ci_low"] is not None
                                 ) and (column != "mse" or bands)


@pytest.mark.parametrize("case", ["git missing", "not a repository", "unknown path",
                                  "shallow clone",
                                  "unknown ref", "bad range", "range and n"])
def test_errors_are_one_line_exit_2(repo, tmp_path, case):
    cwd, args, env = repo, [REPORT], None
    if case == "git missing":  # python runs by its full path; PATH has no git
        env = {"PATH": str(tmp_path)}
    elif case == "not a repository":
        cwd = tmp_path
    elif case == "unknown path":
        args = ["metrics/nothing.json"]
    elif case == "shallow clone":
        cwd = tmp_path / "shallow"
        subprocess.run(["git", "clone", "-q", "--depth", "1", f"file://{repo}", str(cwd)],
                       check=True, capture_output=True)
    elif case == "unknown ref":
        args += ["--rev-range", "nosuchbranch..main"]
    elif case == "bad range":
        args += ["--rev-range", "main"]
    else:
        args += ["--rev-range", "main..feature", "-n", "2"]
    done = run_losscli("history", *args, cwd=cwd, env=env)
    err = done.stderr.decode()
    assert done.returncode == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert done.stdout == b""
    word = {"git missing": "git executable was not found",
            "not a repository": "not inside a git repository", "unknown path": "no commit",
            "shallow clone": "fetch-depth: 0", "unknown ref": "nosuchbranch",
            "bad range": "A..B", "range and n": "not both"}[case]
    assert word in err


def test_api_returns_the_plain_data(repo, monkeypatch):
    import losscli

    monkeypatch.chdir(repo)
    got = losscli.history(REPORT, n=3)
    assert [c["commit"] for c in got["commits"]] == [c for c, _, _ in log(repo)[-3:]]
    assert got == as_json(history(repo, REPORT, "-n", "3", "-f", "json"))
    assert ROOT.exists()


def test_hostile_subjects_are_escaped_and_a_deleted_file_is_a_row(tmp_path, reports):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "r.json").write_bytes(reports["a"])
    git(repo, "add", "r.json")
    git(repo, "commit", "-q", "-m", "evil \x1b[31mred | pipe \u202e", when=0)
    git(repo, "rm", "-q", "r.json")
    git(repo, "commit", "-q", "-m", "remove the report", when=1)
    for fmt in ("table", "markdown", "csv", "json"):
        done = history(repo, "r.json", "-f", fmt)
        assert done.returncode == 0, done.stderr
        out = done.stdout.decode()
        assert "\x1b" not in out and "\u202e" not in out, fmt
    doc = json.loads(done.stdout)
    assert doc["commits"][0]["subject"] == "evil \x1b[31mred | pipe \u202e"  # JSON keeps it
    assert "not present at this commit" in doc["commits"][1]["error"]
    md = history(repo, "r.json", "-f", "markdown").stdout.decode()
    row = next(x for x in md.splitlines() if "evil" in x)
    assert row.count(" | ") == 3 + 1  # the subject's pipe is escaped: 5 cells, 4 inner bars
