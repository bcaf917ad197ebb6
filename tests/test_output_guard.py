"""One output guard (issue 19, item 17; losscli.io.atomic.guard): no file losscli writes —
``--output``, ``--save``, ``--save-state``, ``--html`` — may be an input (predictions,
targets, weights, a file of an input folder; directly, through a symbolic link or a hard
link) or another output of the same run. Refused before anything is read: exit 2, one line
naming the flag, the path and what it collides with; every input byte-identical, no
temporary file left, the output not written."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import SAMPLES, run_losscli


def one_error_line(stderr: bytes | str, *fragments: str) -> str:
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("losscli: error: "), text
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` (links as their target's bytes) by content hash."""
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            out[str(path.relative_to(root))] = (
                hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "dangling")
    return out


def temporaries(root: Path) -> list[str]:
    return [n for _, _, names in os.walk(root) for n in names if n.endswith(".tmp")]


@pytest.fixture
def inputs(tmp_path) -> Path:
    (tmp_path / "in.csv").write_text("pred,target\n1,1.5\n2,2\n3,2.5\n")
    (tmp_path / "p.csv").write_text("pred\n1\n2\n3\n")
    (tmp_path / "targets.tsv").write_text("target\n1.5\n2\n2.5\n")
    return tmp_path


def refused(r, root: Path, before: dict[str, str], *fragments: str) -> None:
    assert r.returncode == 2, r.stderr.decode()
    one_error_line(r.stderr, *fragments)
    assert snapshot(root) == before
    assert temporaries(root) == []


# --- item 17, through the real entry point ----------------------------------------------------

def test_save_state_over_the_predictions_file_is_refused(inputs):
    before = snapshot(inputs)
    r = run_losscli("eval", "in.csv", "-l", "mse", "--save-state", "in.csv", cwd=inputs)
    refused(r, inputs, before, "--save-state 'in.csv'", "is the input file", "in.csv")


def test_save_state_over_the_targets_file_is_refused(inputs):
    before = snapshot(inputs)
    r = run_losscli("eval", "p.csv", "--targets", "targets.tsv", "-l", "mse",
                    "--save-state", "targets.tsv", cwd=inputs)
    refused(r, inputs, before, "--save-state", "targets.tsv", "--targets")


@pytest.mark.parametrize("link", ["symlink", "hardlink"])
def test_save_state_through_a_link_to_an_input_is_refused(inputs, link):
    alias = inputs / "alias.state"
    if link == "symlink":
        alias.symlink_to(inputs / "in.csv")
    else:
        os.link(inputs / "in.csv", alias)
    before = snapshot(inputs)
    r = run_losscli("eval", "in.csv", "-l", "mse", "--save-state", "alias.state", cwd=inputs)
    refused(r, inputs, before, "--save-state 'alias.state'", "is the input file")


def test_save_state_and_output_naming_one_file_are_refused(inputs):
    before = snapshot(inputs)
    r = run_losscli("eval", "in.csv", "-l", "mse", "-r", "none", "--save-state", "rows.csv",
                    "--output", "rows.csv", cwd=inputs)
    refused(r, inputs, before, "--save-state", "--output", "same file")
    assert not (inputs / "rows.csv").exists()


@pytest.mark.parametrize("command, first, second", [
    ("eval", "--output", "--html"), ("eval", "--save-state", "--html"),
    ("check", "--save", "--html")])
def test_two_outputs_naming_one_file_are_refused(inputs, command, first, second):
    (inputs / "sub").mkdir()
    before = snapshot(inputs)
    extra = ["-r", "none"] if first == "--output" else []
    r = run_losscli(command, "in.csv", "-l", "mse", *extra, first, "out.x",
                    second, "sub/../out.x", cwd=inputs)
    refused(r, inputs, before, first, second, "same file")
    assert not (inputs / "out.x").exists()


def test_an_output_over_a_file_of_an_input_folder_is_refused(inputs):
    folder = inputs / "parts"
    folder.mkdir()
    (folder / "part-0.csv").write_text("pred,target\n1,1\n")
    (folder / "part-1.csv").write_text("pred,target\n2,3\n")
    before = snapshot(inputs)
    r = run_losscli("eval", "parts", "-l", "mse", "--save-state", "parts/part-1.csv",
                    cwd=inputs)
    refused(r, inputs, before, "--save-state", "part-1.csv", "parts")


def test_check_save_may_replace_its_baseline_when_it_passes(inputs):
    """The gate's policy, kept: --save over the --baseline file is allowed (and skipped when
    the check fails); --html over it is refused."""
    base = inputs / "base.json"
    r = run_losscli("check", "in.csv", "-l", "mse", "--save", "base.json", cwd=inputs)
    assert r.returncode == 0, r.stderr.decode()
    saved = base.read_bytes()
    r = run_losscli("check", "in.csv", "-b", "base.json", "--save", "base.json", cwd=inputs)
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads(base.read_bytes())["losses"] == json.loads(saved)["losses"]
    before = snapshot(inputs)
    r = run_losscli("check", "in.csv", "-b", "base.json", "--html", "base.json", cwd=inputs)
    refused(r, inputs, before, "--html", "base.json", "--baseline")


def test_outputs_that_are_distinct_files_are_written(inputs):
    r = run_losscli("eval", "in.csv", "-l", "mse", "-r", "none", "--output", "rows.csv",
                    "--save-state", "rows.state", "-q", cwd=inputs)
    assert r.returncode == 0, r.stderr.decode()
    assert (inputs / "rows.csv").read_text().startswith("row,mse")
    assert json.loads((inputs / "rows.state").read_text())["format"]
    assert temporaries(inputs) == []


# --- property: every writer against every input role and every other output -------------------

#: (command, the writer flag) for every file-writing option of every command.
WRITERS = [("eval", "--output"), ("eval", "--save-state"), ("eval", "--html"),
           ("check", "--save"), ("check", "--html"), ("compare", "--html")]
ROLES = ["predictions", "targets", "weights", "folder file"]
LINKS = ["direct", "symlink", "hardlink"]


def layout(root: Path, role: str) -> tuple[list[str], Path]:
    """Inputs under ``root`` and the command-line arguments reading them; returns (args,
    the file of ``role``)."""
    (root / "preds.csv").write_text("pred\n0.5\n1.5\n2\n")
    (root / "preds2.csv").write_text("pred\n1\n1\n2.5\n")
    (root / "truth.tsv").write_text("target\n1\n2\n2\n")
    (root / "weights.csv").write_text("weight\n1\n2\n1\n")
    folder = root / "parts"
    folder.mkdir()
    (folder / "part-0.csv").write_text("pred,target\n1,1\n")
    (folder / "part-1.csv").write_text("pred,target\n2,3\n")
    if role == "folder file":
        return [str(folder)], folder / "part-1.csv"
    files = {"predictions": root / "preds.csv", "targets": root / "truth.tsv",
             "weights": root / "weights.csv"}
    return (["--targets", str(root / "truth.tsv"), "--weights", str(root / "weights.csv")],
            files[role])


def command_args(command: str, flag: str, role: str, root: Path) -> tuple[list[str], Path]:
    data, victim = layout(root, role)
    if role == "folder file":
        first = data
        data = []
    else:
        first = [str(root / "preds.csv")]
    if command == "compare":
        second = root / ("parts" if role == "folder file" else "preds2.csv")
        models = [f"a={first[0]}", f"b={second}"]
        return ["compare", *models, *data, "-l", "mse", "-q"], victim
    extra = ["-r", "none"] if flag == "--output" else []
    return [command, *first, *data, "-l", "mse", "-q", *extra], victim


def alias(victim: Path, link: str, root: Path) -> Path:
    out = root / "out"
    out.mkdir(exist_ok=True)
    if link == "direct":
        return victim
    path = out / f"alias-{victim.name}"
    if link == "symlink":
        path.symlink_to(victim)
    else:
        os.link(victim, path)
    return path


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(writer=st.sampled_from(WRITERS), role=st.sampled_from(ROLES),
       link=st.sampled_from(LINKS))
def test_every_writer_refuses_every_input(cli, writer, role, link):
    command, flag = writer
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        args, victim = command_args(command, flag, role, root)
        target = alias(victim, link, root)
        before = snapshot(root)
        r = cli(*args, flag, target)
        assert r.exit_code == 2, (args, flag, target, r.stdout, r.stderr)
        one_error_line(r.stderr, flag, "is the input file", victim.name)
        assert snapshot(root) == before
        assert temporaries(root) == []


#: Pairs of outputs one command writes.
PAIRS = [("eval", "--output", "--save-state"), ("eval", "--output", "--html"),
         ("eval", "--save-state", "--html"), ("check", "--save", "--html")]


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pair=st.sampled_from(PAIRS), link=st.sampled_from(["same", "dotdot", "symlink-folder",
                                                          "dangling-symlink", "hardlink"]),
       swap=st.booleans())
def test_every_writer_refuses_every_other_output(cli, pair, link, swap):
    command, first, second = pair
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        args, _ = command_args(command, first, "predictions", root)
        (root / "o").mkdir()
        path = root / "o" / "report.out"
        if link == "same":
            other = path
        elif link == "dotdot":
            other = root / "o" / ".." / "o" / "report.out"
        elif link == "symlink-folder":
            (root / "o2").symlink_to(root / "o")
            other = root / "o2" / "report.out"
        elif link == "dangling-symlink":
            other = root / "link.out"
            other.symlink_to(path)
        else:
            path.write_text("previous\n")
            other = root / "hard.out"
            os.link(path, other)
        flags = [(first, path), (second, other)]
        if swap:
            flags.reverse()
        before = snapshot(root)
        r = cli(*args, *(str(x) for f in flags for x in f))
        assert r.exit_code == 2, (args, flags, r.stdout, r.stderr)
        one_error_line(r.stderr, first, second, "same file")
        assert snapshot(root) == before
        assert temporaries(root) == []


def test_the_sample_baseline_is_not_an_html_target(tmp_path):
    """A baseline outside the working folder, through an absolute path, also counts."""
    copy = tmp_path / "baseline.json"
    copy.write_bytes((SAMPLES / "baseline.json").read_bytes())
    before = snapshot(tmp_path)
    r = run_losscli("check", SAMPLES / "regression.parquet", "-b", copy, "--html", copy)
    refused(r, tmp_path, before, "--html", "--baseline")


def test_a_writer_not_declared_to_the_guard_still_cannot_replace_an_input(tmp_path):
    """Every regular-file writer goes through io.atomic.AtomicTarget, which checks its
    target against the inputs of the run's guard again: a future output flag that a
    command forgets to declare still cannot destroy an input (nor leave a temporary)."""
    from losscli.errors import UsageError
    from losscli.io import atomic

    data = tmp_path / "in.csv"
    data.write_text("pred,target\n1,1\n")
    link = tmp_path / "link.csv"
    link.symlink_to(data)
    atomic.guard([("predictions", str(tmp_path))], {})  # a folder: each of its files
    for path in (data, link):
        with pytest.raises(UsageError, match="is the input file"):
            atomic.write_atomically(str(path), lambda f: f.write("x"), flag="--new-output")
    assert data.read_text() == "pred,target\n1,1\n" and temporaries(tmp_path) == []
    atomic.write_atomically(str(tmp_path / "other.txt"), lambda f: f.write("x"))
    data.unlink()  # an input removed since: its name may be written again
    atomic.write_atomically(str(data), lambda f: f.write("y"))
    assert data.read_text() == "y"
    atomic.guard([], {})
