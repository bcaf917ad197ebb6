"""One path resolver (issue 19, item 2; losscli.io.paths): a path that exists is read
literally whatever characters its name holds; only a path that does not exist and holds
glob characters (``* ? [``) is a pattern, and the report says so (``"pattern": true``); a
folder's files are never read as patterns again; the same for S3 keys (moto).

Values are compared with numpy's mean squared error on the very rows of each file."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losscli
from losscli.errors import InputError
from tests.conftest import run_losscli


def table(pred: np.ndarray) -> pa.Table:
    return pa.table({"pred": np.asarray(pred, float), "target": np.zeros(len(pred))})


def write(path: Path, pred: np.ndarray) -> None:
    pq.write_table(table(pred), path)


def mse(*preds: np.ndarray) -> float:
    """numpy's mse over the rows of all ``preds`` (targets are zero)."""
    return float(np.mean(np.concatenate([np.asarray(p, float) for p in preds]) ** 2))


def one_error_line(stderr: bytes | str, *fragments: str) -> str:
    text = stderr.decode() if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text and "RecursionError" not in text, text
    lines = text.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("losscli: error: "), text
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def report(*args: object, cwd: Path | None = None) -> dict:
    r = run_losscli("eval", *args, "-l", "mse", "-f", "json", "-q", cwd=cwd)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


BRACKET = np.arange(30.0)  # x[ab].parquet
PLAIN = np.full(30, 1.0)  # xa.parquet: what the glob x[ab] would match instead


@pytest.fixture
def brackets(tmp_path) -> Path:
    folder = tmp_path / "d"
    folder.mkdir()
    write(folder / "x[ab].parquet", BRACKET)
    write(folder / "xa.parquet", PLAIN)
    return folder


# --- item 2, locally, through the real CLI ----------------------------------------------------

def test_a_folder_holding_a_bracket_name_is_read_as_its_two_files(brackets):
    doc = report(brackets)
    assert doc["rows"] == 60
    assert doc["losses"][0]["value"] == pytest.approx(mse(BRACKET, PLAIN), rel=1e-12)
    assert "pattern" not in doc["inputs"]["predictions"]


def test_an_existing_bracket_name_is_read_literally(brackets):
    doc = report("x[ab].parquet", cwd=brackets)
    assert doc["rows"] == 30
    assert doc["losses"][0]["value"] == pytest.approx(mse(BRACKET), rel=1e-12)
    assert "pattern" not in doc["inputs"]["predictions"]


def test_a_missing_name_with_glob_characters_is_a_pattern_and_says_so(brackets):
    doc = report("x?ab].parquet", cwd=brackets)  # no such file: ? matches the '['
    assert doc["losses"][0]["value"] == pytest.approx(mse(BRACKET), rel=1e-12)
    assert doc["inputs"]["predictions"]["pattern"] is True
    doc = report(brackets / "*.parquet")
    assert doc["rows"] == 60 and doc["inputs"]["predictions"]["pattern"] is True


@pytest.mark.parametrize("name", ["b_[.parquet", "b_[[.parquet", "[!.parquet", "sub[/x.parquet"])
def test_an_unbalanced_bracket_that_names_nothing_is_one_line(brackets, name):
    r = run_losscli("eval", name, "-l", "mse", cwd=brackets)
    assert r.returncode == 2, r.stderr
    one_error_line(r.stderr, name)


def test_an_existing_unbalanced_bracket_name_is_read_literally(brackets):
    """On main: a RecursionError (the file found by the pattern was resolved again, as a
    pattern matching itself), from the file alone and from its folder."""
    lone = np.array([4.0, -2.0, 0.5])
    write(brackets / "b_[.parquet", lone)
    doc = report(brackets / "b_[.parquet")
    assert doc["rows"] == 3 and doc["losses"][0]["value"] == pytest.approx(mse(lone), rel=1e-12)
    doc = report(brackets)
    assert doc["rows"] == 63
    assert doc["losses"][0]["value"] == pytest.approx(mse(lone, BRACKET, PLAIN), rel=1e-12)


# --- item 2 on S3 (moto) ------------------------------------------------------------------------

def put(client, bucket: str, key: str, pred: np.ndarray) -> None:
    buf = io.BytesIO()
    pq.write_table(table(pred), buf)
    client.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())


@pytest.fixture
def s3_brackets(s3_env):
    s3_env.create_bucket(Bucket="paths")
    put(s3_env, "paths", "d/x[ab].parquet", BRACKET)
    put(s3_env, "paths", "d/xa.parquet", PLAIN)
    return s3_env


def test_s3_a_prefix_holding_a_bracket_key_is_read_as_its_two_objects(s3_brackets):
    doc = report("s3://paths/d/")
    assert doc["rows"] == 60
    assert doc["losses"][0]["value"] == pytest.approx(mse(BRACKET, PLAIN), rel=1e-12)


def test_s3_an_existing_bracket_key_is_read_literally(s3_brackets):
    doc = report("s3://paths/d/x[ab].parquet")
    assert doc["rows"] == 30
    assert doc["losses"][0]["value"] == pytest.approx(mse(BRACKET), rel=1e-12)
    assert "pattern" not in doc["inputs"]["predictions"]
    doc = report("s3://paths/d/x*.parquet")
    assert doc["rows"] == 60 and doc["inputs"]["predictions"]["pattern"] is True
    lone = np.array([4.0, -2.0, 0.5])
    put(s3_brackets, "paths", "e/b_[.parquet", lone)
    doc = report("s3://paths/e/b_[.parquet")
    assert doc["rows"] == 3 and doc["losses"][0]["value"] == pytest.approx(mse(lone), rel=1e-12)


def test_s3_an_unbalanced_bracket_that_names_nothing_is_one_line(s3_brackets):
    r = run_losscli("eval", "s3://paths/d/b_[.parquet", "-l", "mse")
    assert r.returncode == 2, r.stderr
    one_error_line(r.stderr, "b_[.parquet")


# --- property: any name reads exactly its own bytes ---------------------------------------------

SPECIAL = "[]*?{}! é中\u202e\x1b\x07-"
NAME = st.text(alphabet=SPECIAL + "ab", min_size=1, max_size=8).filter(
    lambda n: n not in (".", "..") and not n.startswith((".", "_")))


def values(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=n).round(3)


def expected_for(spec_name: str, files: dict[str, np.ndarray]) -> float:
    """What a spec naming ``spec_name`` in the folder must read: the file itself when it
    exists, else every file its pattern matches (names are compared as the resolver does)."""
    from losscli.io.paths import glob_match

    if spec_name in files:
        return mse(files[spec_name])
    return mse(*(v for k, v in sorted(files.items()) if glob_match(k, spec_name)))


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(names=st.lists(NAME, min_size=1, max_size=4, unique=True), folder=NAME)
def test_any_local_name_reads_exactly_its_own_rows(names, folder):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / folder
        root.mkdir()
        files = {}
        for i, name in enumerate(names):
            files[f"{name}.parquet"] = values(i, 3 + i)
            write(root / f"{name}.parquet", files[f"{name}.parquet"])
        for name, pred in files.items():  # each file alone, by its own name
            got = losscli.evaluate(str(root / name), losses=["mse"])
            assert got.rows == len(pred) and "pattern" not in got.inputs["predictions"]
            assert got.losses[0].value == pytest.approx(mse(pred), rel=1e-12)
        whole = losscli.evaluate(str(root), losses=["mse"])  # the folder: every file once
        assert whole.rows == sum(len(v) for v in files.values())
        assert whole.losses[0].value == pytest.approx(mse(*files.values()), rel=1e-12)
        star = str(root / "*.parquet")  # a pattern, unless a file is literally named so
        got = losscli.evaluate(star, losses=["mse"])
        assert got.losses[0].value == pytest.approx(expected_for("*.parquet", files), rel=1e-12)
        assert got.inputs["predictions"].get("pattern", False) == ("*.parquet" not in files)


def test_a_name_given_on_the_command_line_reads_its_own_bytes(cli, tmp_path, monkeypatch):
    """The same through the command line, for names a shell would glob or escape."""
    names = ["[a]", "*", "a?b", "{x,y}", "!x", "sp ace", "é中\u202e", "e\x1bsc\x07"]
    for i, name in enumerate(names):
        write(tmp_path / f"{name}.parquet", values(i, 4 + i))
    write(tmp_path / "a.parquet", values(99, 50))  # what '[a]' would match as a pattern
    monkeypatch.chdir(tmp_path)
    for i, name in enumerate(names):
        r = cli("eval", f"{name}.parquet", "-l", "mse", "-f", "json", "-q")
        assert r.exit_code == 0, r.stderr
        doc = json.loads(r.stdout)
        assert doc["rows"] == 4 + i, name
        assert doc["losses"][0]["value"] == pytest.approx(mse(values(i, 4 + i)), rel=1e-12)


S3_NAME = NAME.filter(lambda n: not n.endswith(" "))


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(names=st.lists(S3_NAME, min_size=1, max_size=3, unique=True), folder=S3_NAME)
def test_any_s3_key_reads_exactly_its_own_rows(s3_env, names, folder):
    bucket = "prop"
    try:
        s3_env.create_bucket(Bucket=bucket)
    except s3_env.exceptions.BucketAlreadyOwnedByYou:
        pass
    prefix = f"{folder}/{len(names)}-{abs(hash(tuple(names))) % 10**9}"
    files = {}
    for i, name in enumerate(names):
        files[f"{name}.parquet"] = values(i, 3 + i)
        put(s3_env, bucket, f"{prefix}/{name}.parquet", files[f"{name}.parquet"])
    for name, pred in files.items():
        got = losscli.evaluate(f"s3://{bucket}/{prefix}/{name}", losses=["mse"])
        assert got.rows == len(pred) and "pattern" not in got.inputs["predictions"]
        assert got.losses[0].value == pytest.approx(mse(pred), rel=1e-12)
    whole = losscli.evaluate(f"s3://{bucket}/{prefix}/", losses=["mse"])
    assert whole.rows == sum(len(v) for v in files.values())
    assert whole.losses[0].value == pytest.approx(mse(*files.values()), rel=1e-12)


def test_a_missing_path_without_glob_characters_is_not_found(tmp_path):
    with pytest.raises(InputError, match="not found"):
        losscli.evaluate(str(tmp_path / "nothing.parquet"), losses=["mse"])
    os.mkdir(tmp_path / "empty[")
    with pytest.raises(InputError, match="No data files"):
        losscli.evaluate(str(tmp_path / "empty["), losses=["mse"])
