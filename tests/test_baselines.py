"""Hostile baselines: whatever ``--baseline`` points at, the answer is a baseline or one
line on stderr with exit 2 — never a traceback, never unbounded memory. And the JSON
schema rule: a reader accepts every ``schema_version`` up to its own.

The fuzz tests run a small number of examples by default (CI); set LOSSCLI_FUZZ_EXAMPLES
(e.g. 20000) for a long local run:

    LOSSCLI_FUZZ_EXAMPLES=20000 python -m pytest tests/test_baselines.py -k fuzz
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from losscli.errors import InputError, LossCliError
from losscli.gate import baseline as baseline_module
from losscli.gate import load_baseline, parse_baseline
from losscli.report import SCHEMA_VERSION
from tests.conftest import SAMPLES, run_losscli

VALID = json.loads((SAMPLES / "baseline.json").read_text())
FUZZ = settings(max_examples=int(os.environ.get("LOSSCLI_FUZZ_EXAMPLES", "150")),
                deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def check_exits_2(cli, baseline, *fragments: str) -> str:
    r = cli("check", SAMPLES / "regression.parquet", "--baseline", baseline)
    assert r.exit_code == 2, (r.exit_code, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("losscli: error: "), r.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def doc_with(**changes) -> dict:
    doc = copy.deepcopy(VALID)
    doc.update(changes)
    return doc


# --- hostile files, through the CLI ------------------------------------------------------------

@pytest.mark.parametrize(("text", "fragments"), [
    ("[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
    ('{"a":' * 50_000 + "1" + "}" * 50_000, ["nested too deeply"]),
    (json.dumps(doc_with(losses=[{"name": "mse", "params": {}, "value": 1}]))
     .replace('"value": 1', '"value": 1e999'), ["1e999", "too large for a float"]),
    (json.dumps(doc_with(losses=[{"name": "mse", "params": {}, "value": 1}]))
     .replace('"value": 1', '"value": ' + "7" * 400), ["400 digits", "too large"]),
    (json.dumps(doc_with(losses=[{"name": "huber", "params": {"delta": 1}, "value": 1}]))
     .replace('"delta": 1', '"delta": ' + "9" * 309), ["too large for a float"]),
    ('{"schema_version": 1, "losses": [{"name": "mse", "value": NaN}]}', ["NaN", "not a JSON number"]),
    ('{"schema_version": 1, "losses": [{"name": "mse", "value": Infinity}]}', ["Infinity"]),
    ('{"schema_version": 1, "losses": [{"name": "mse", "value": -Infinity}]}', ["-Infinity"]),
    ("[]", ["is not a losscli report"]),
    ("1", ["is not a losscli report"]),
    ('"baseline"', ["is not a losscli report"]),
    ("null", ["is not a losscli report"]),
    ('{"schema_version": "1", "losses": []}', ["schema_version '1'", "not a losscli report's"]),
    ('{"schema_version": true, "losses": []}', ["schema_version True"]),
    ('{"schema_version": 0, "losses": []}', ["schema_version 0"]),
    ('{"schema_version": 1.5, "losses": []}', ["schema_version 1.5"]),
    ('{"schema_version": 1, "losses": {}}', ['no "losses" list']),
    ('{"schema_version": 1, "losses": [{"name": ["mse"]}]}', ["losses[0] is not a loss entry"]),
    ('{"schema_version": 1, "losses": [{"name": "mse", "value": "1"}]}', ['"value" must be']),
    ('{"schema_version": 1, "losses": [{"name": "huber", "params": {"delta": [1]}}]}',
     ["must be a number"]),
    ('{"schema_version": 1, "losses": [], "fingerprint": "abc"}', ['"fingerprint" must be']),
    ('{"schema_version": 1, "losses": [], "fingerprint": {"targets": "xyz", "rows": 1}}',
     ["16 hex digits"]),
], ids=lambda v: v[:30] if isinstance(v, str) else None)
def test_hostile_documents(cli, tmp_path, text, fragments):
    path = tmp_path / "b.json"
    path.write_text(text)
    check_exits_2(cli, path, str(path), *fragments)


def test_invalid_utf8(cli, tmp_path):
    path = tmp_path / "b.json"
    data = b'{"schema_version": 1, "losscli_version": "t\xe9st", "losses": []}'
    path.write_bytes(data)
    check_exits_2(cli, path, "is not UTF-8 text", f"byte 0xe9 at offset {data.index(0xe9)}")


def test_utf8_with_a_byte_order_mark_is_read(cli, tmp_path):
    path = tmp_path / "b.json"
    path.write_bytes(b"\xef\xbb\xbf" + (SAMPLES / "baseline.json").read_bytes())
    r = cli("check", SAMPLES / "regression.parquet", "--baseline", path)
    assert r.exit_code == 0, r.stderr


def test_directory(cli, tmp_path):
    check_exits_2(cli, tmp_path, "is a directory")


def test_too_large_regular_file(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(baseline_module, "MAX_BASELINE_BYTES", 1000)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(VALID, indent=4) + " " * 1000)
    check_exits_2(cli, path, "is larger than", "not a losscli report")


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_dev_zero_is_capped():
    r = run_losscli("check", SAMPLES / "regression.parquet", "--baseline", "/dev/zero")
    assert r.returncode == 2
    err = r.stderr.decode()
    assert err.count("\n") == 1 and "Baseline '/dev/zero' is larger than 64 MiB" in err, err


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_fifo_baseline_is_read_like_a_file(cli, tmp_path):
    fifo = tmp_path / "b.json"
    os.mkfifo(fifo)
    writer = threading.Thread(target=fifo.write_bytes,
                              args=((SAMPLES / "baseline.json").read_bytes(),))
    writer.start()
    r = cli("check", SAMPLES / "regression.parquet", "--baseline", fifo)
    writer.join(timeout=30)
    assert r.exit_code == 0, r.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_endless_fifo_baseline_is_capped(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(baseline_module, "MAX_BASELINE_BYTES", 1 << 20)
    fifo = tmp_path / "b.json"
    os.mkfifo(fifo)

    def endless() -> None:
        try:
            with open(fifo, "wb") as f:
                while True:
                    f.write(b"[" * 65536)
        except (BrokenPipeError, OSError):
            pass  # the reader stopped at the cap and closed its end

    writer = threading.Thread(target=endless, daemon=True)
    writer.start()
    check_exits_2(cli, fifo, "is larger than 1 MiB")
    writer.join(timeout=30)


# --- the schema rule: additive changes keep the version; older versions are read ---------------

def test_unknown_fields_are_ignored(tmp_path):
    doc = doc_with(future_field={"anything": [1, 2]}, rows_skipped=0)
    for entry in doc["losses"]:
        entry["confidence_interval"] = [0, 1]
    base = parse_baseline(doc, "b.json")
    assert [b.label for b in base.losses.values()] == ["mse", "mae", "huber", "r2"]


def test_every_version_up_to_this_readers_is_read(monkeypatch):
    monkeypatch.setattr(baseline_module, "SCHEMA_VERSION", SCHEMA_VERSION + 2)
    for version in range(1, SCHEMA_VERSION + 3):
        assert parse_baseline(doc_with(schema_version=version), "b.json").losses
    with pytest.raises(InputError, match=rf"schema_version {SCHEMA_VERSION + 3} .* newer than "
                       rf"losscli .* reads \(up to {SCHEMA_VERSION + 2}\)\. Upgrade losscli"):
        parse_baseline(doc_with(schema_version=SCHEMA_VERSION + 3), "b.json")


def test_a_newer_version_is_refused_through_the_cli(cli, tmp_path):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(doc_with(schema_version=SCHEMA_VERSION + 1,
                                        losscli_version="9.0")))
    check_exits_2(cli, path, f"schema_version {SCHEMA_VERSION + 1} (written by losscli 9.0)",
                  "newer than losscli", "Upgrade losscli")


def test_a_fingerprint_of_another_method_means_unknown():
    doc = doc_with(fingerprint={"targets": "zz", "rows": "?", "method": "sha999"})
    assert parse_baseline(doc, "b.json").fingerprint is None


# --- fuzzing -------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(10 ** 400),
                                                           max_value=10 ** 400)
    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=5),
    max_leaves=30,
)
#: Keys and values a baseline has, so that mutations reach past the first checks.
KEYS = ["schema_version", "losses", "name", "params", "value", "rows", "reduction",
        "fingerprint", "targets", "method", "delta", "eps", "losscli_version"]
NAMES = ["mse", "huber", "l1", "bce", "zero_one", "triplet", "cross_entropy", "msee", ""]
leaf_like = st.sampled_from(KEYS + NAMES) | json_values


def parse_or_error(doc) -> None:
    try:
        parse_baseline(doc, "b.json")
    except LossCliError as exc:
        assert "\n" not in str(exc) and "b.json" in str(exc), str(exc)


@FUZZ
@given(json_values)
def test_fuzz_random_documents(doc):
    parse_or_error(doc)


@FUZZ
@given(json_values, st.sampled_from(KEYS))
def test_fuzz_random_documents_with_a_version(doc, key):
    parse_or_error({"schema_version": 1, key: doc, "losses": doc if key != "losses" else []})


def _paths(doc, prefix=()):
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, (*prefix, i))


@st.composite
def mutated_baselines(draw):
    doc = copy.deepcopy(VALID)
    for _ in range(draw(st.integers(1, 4))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths[1:]))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(leaf_like)
        elif action == "delete":
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(KEYS))] = draw(leaf_like)
        else:
            parent.append(draw(leaf_like))
    return doc


@FUZZ
@given(mutated_baselines())
def test_fuzz_mutated_baselines(doc):
    parse_or_error(doc)


VALID_BYTES = (SAMPLES / "baseline.json").read_bytes()


@st.composite
def mutated_bytes(draw):
    data = bytearray(VALID_BYTES)
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["truncate", "flip", "insert", "delete"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "truncate":
            del data[at:]
        elif kind == "flip" and data:
            data[at] = draw(st.integers(0, 255))
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from([b"[", b"{", b"NaN", b"1e999", b"\xff", b'"',
                                                b"9" * 400, b",", b"-", b"\x00"]))
        elif data:
            del data[at:at + draw(st.integers(1, 50))]
    return bytes(data)


def load_or_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.json"
        path.write_bytes(data)
        try:
            load_baseline(str(path))
        except LossCliError as exc:
            assert "\n" not in str(exc) and str(path) in str(exc), str(exc)


@FUZZ
@given(mutated_bytes())
def test_fuzz_mutated_files(data):
    load_or_error(data)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(data):
    load_or_error(data)


@settings(max_examples=max(15, FUZZ.max_examples // 10), deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(mutated_bytes())
def test_fuzz_through_the_cli(cli, data):
    """The whole command on a mutated baseline: exit 0 (still a valid report), 1 (a valid
    report with other values) or 2 with one line; never a traceback."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.json"
        path.write_bytes(data)
        r = cli("check", SAMPLES / "regression.parquet", "--baseline", path)
    assert r.exit_code in (0, 1, 2), r.stderr
    if r.exit_code == 2:
        assert r.stderr.count("\n") == 1 and r.stderr.startswith("losscli: error: ")
