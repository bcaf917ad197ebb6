"""Fuzzing the input boundary: generated CSV, TSV, NDJSON, NPY, Parquet and Feather bytes —
valid files, then truncated, bit-flipped, spliced with random bytes, compressed or not —
read through the Python API and through the real CLI. A run ends in a report or in a
:class:`~losscli.errors.LossCliError` (exit 0 or 2), never in another exception or a
traceback, within a deadline per example.

CI runs a small, derandomized set (about 200 examples in all, well under a minute). For a
long local run, set ``LOSSCLI_FUZZ_EXAMPLES`` (examples per test; the seed is then random
and hypothesis prints the failing example to replay):

    LOSSCLI_FUZZ_EXAMPLES=2500 .venv/bin/python -m pytest tests/test_fuzz_inputs.py
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import sys
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.feather as pf
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losscli
from losscli.errors import LossCliError
from losscli.inspection import inspect_file
from tests.conftest import run_losscli

LONG = int(os.environ.get("LOSSCLI_FUZZ_EXAMPLES", "0"))
# Values such as 1e308 overflow in the kernels (the loss is inf, as it should be).
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def fuzz(examples: int, share: float = 1.0):
    """Settings for one fuzz test: ``examples`` in CI (derandomized: the same every run),
    ``share`` of LOSSCLI_FUZZ_EXAMPLES with a random seed for a long run."""
    return settings(
        max_examples=max(examples, int(LONG * share)) if LONG else examples,
        derandomize=not LONG,
        deadline=timedelta(seconds=10),
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
    )


# -- generators of valid data ------------------------------------------------------------
NAMES = ["weight", "y", "p_0", "", "t\x1b[31m", "w\u202e", '"a,b"', 'q"x', "é", '"label\nx"',
         "pred"]
NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr),
                    st.integers(min_value=-(2**70), max_value=2**70).map(str))
ODD_CELLS = st.one_of(
    st.sampled_from(["", "nan", "NA", "inf", "-inf", "1e400", "0x1p3", "true", " 1 ", '"2"',
                     '"3,4"', '"a\nb"', 'x"y', "\x00", "é", "1.5.2"]),
    st.text(max_size=8),
)


@st.composite
def csv_bytes(draw, delimiter: str = ","):
    """A header (mostly pred, target and a few unique others) and rows of mostly numbers,
    some cells odd, some rows of the wrong length."""
    extra = draw(st.lists(st.sampled_from(NAMES[:-1]), max_size=3, unique=True))
    names = (["pred", "target", *extra] if draw(st.integers(0, 4))
             else draw(st.lists(st.sampled_from([*NAMES, "target"]), min_size=1, max_size=4)))
    odd = draw(st.integers(0, 3))  # 0: numbers only

    def cell() -> str:
        return draw(ODD_CELLS) if odd and draw(st.integers(0, 10 // odd)) == 0 else draw(NUMBERS)

    ragged = draw(st.integers(0, 3)) == 0  # some rows with a field too many or too few

    def width() -> int:
        return len(names) + (draw(st.integers(-1, 1)) if ragged else 0)

    rows = [[cell() for _ in range(width())] for _ in range(draw(st.integers(0, 30)))]
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = end.join(delimiter.join(r) for r in [names, *rows]) + draw(st.sampled_from(["", end]))
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    return data


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers(min_value=-(2**80), max_value=2**80)
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner,
                                                                 max_size=3),
    max_leaves=8,
)


@st.composite
def ndjson_bytes(draw):
    keys = st.sampled_from(["pred", "target", "w", "", "x\x07"])
    rows = draw(st.lists(st.dictionaries(keys, JSON_VALUES, max_size=4), min_size=0,
                         max_size=20))
    if draw(st.integers(0, 3)):  # mostly a valid first object: the rest is read too
        rows = [{"pred": draw(st.floats(0, 1)), "target": draw(st.integers(0, 1))}, *rows]
    lines = [json.dumps(r) if draw(st.integers(0, 9))
             else draw(st.text(max_size=10)) for r in rows]
    end = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return end.join(lines).encode("utf-8", "surrogatepass") + end.encode()


NPY_DTYPES = ["<f8", ">f4", "<i8", "|u1", "|b1", "<f2", "<c16", "|S3", "<M8[s]",
              [("pred", "<f8"), ("target", "<i4")], [("pred", "<f8", (3,)), ("target", "<i8")],
              [("pred", "<f8"), ("target", "<f8", (0,))]]


@st.composite
def npy_bytes(draw):
    dtype = np.dtype(draw(st.sampled_from(NPY_DTYPES)))
    shape = draw(st.sampled_from([(0,), (1,), (7,), (5, 3), (4, 1), (3, 0), (2, 2, 2), ()]))
    arr = np.zeros(shape, dtype=dtype)
    if arr.dtype.kind in "fiu":
        arr[...] = draw(st.floats(0, 3))
    buf = io.BytesIO()
    np.save(buf, np.asfortranarray(arr) if draw(st.booleans()) else arr)
    return buf.getvalue()


@st.composite
def table(draw):
    n = draw(st.integers(0, 50))
    columns = {"pred": pa.array(np.linspace(0, 1, n)),
               "target": pa.array(np.arange(n) % 2, type=pa.int64())}
    extra = draw(st.sampled_from(["none", "list", "string", "big", "null", "dict", "dup"]))
    if extra == "list":
        columns["pred"] = pa.array([[0.5, 0.5]] * n, type=pa.list_(pa.float64()))
    elif extra == "string":
        columns["pred"] = pa.array(["x"] * n)
    elif extra == "big":
        columns["target"] = pa.array([2**63 - 1] * n, type=pa.int64())
    elif extra == "null":
        columns["target"] = pa.nulls(n, pa.float64())
    elif extra == "dict":
        columns["pred"] = pa.array([0.25] * n).dictionary_encode()
    t = pa.table(columns)
    if extra == "dup":
        t = pa.Table.from_arrays([t.column(0), t.column(1), t.column(0)],
                                 names=["pred", "target", "pred"])
    return t


@st.composite
def parquet_bytes(draw):
    buf = io.BytesIO()
    pq.write_table(draw(table()), buf, row_group_size=draw(st.integers(1, 64)),
                   compression=draw(st.sampled_from(["snappy", "none", "zstd"])))
    return buf.getvalue()


@st.composite
def feather_bytes(draw):
    buf = io.BytesIO()
    pf.write_feather(draw(table()), buf, compression=draw(st.sampled_from(["lz4", "uncompressed"])),
                     chunksize=draw(st.integers(1, 64)))
    return buf.getvalue()


@st.composite
def mutated(draw, valid):
    """Valid bytes, then maybe truncated, bit-flipped, spliced with random bytes, compressed
    (with a truncated gzip stream, sometimes)."""
    data = bytearray(draw(valid))
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(["truncate", "flip", "splice", "none"]))
        if kind == "truncate" and data:
            del data[draw(st.integers(0, len(data) - 1)):]
        elif kind == "flip" and data:
            i = draw(st.integers(0, len(data) - 1))
            data[i] ^= 1 << draw(st.integers(0, 7))
        elif kind == "splice":
            i = draw(st.integers(0, len(data)))
            data[i:i] = draw(st.binary(max_size=16))
    out = bytes(data)
    if draw(st.integers(0, 4)) == 0:
        out = gzip.compress(out)
        if draw(st.booleans()):
            out = out[: draw(st.integers(0, len(out)))]
    return out


# -- running them ------------------------------------------------------------------------
@contextlib.contextmanager
def stdin_bytes(data: bytes):
    saved = sys.stdin
    sys.stdin = io.TextIOWrapper(io.BytesIO(data))
    try:
        yield
    finally:
        sys.stdin = saved


def only_losscli_errors(path: str, **options) -> None:
    """evaluate() and inspect() on ``path`` end in a result or a LossCliError."""
    for opts in ({}, {"losses": "mse"}, {"losses": "mae", "reduction": "none"}):
        try:
            losscli.evaluate(path, **opts, **options)
        except LossCliError:
            pass
    if path != "-":
        try:
            inspect_file(path, **options)
        except LossCliError:
            pass


def through_api(tmp_path, data: bytes, suffix: str, stdin: bool = True) -> None:
    path = tmp_path / f"fuzz{suffix}"
    path.write_bytes(data)
    only_losscli_errors(str(path))
    if stdin:
        with stdin_bytes(data):
            try:
                losscli.evaluate("-", losses="mse")
            except LossCliError:
                pass


@fuzz(50)
@given(data=mutated(csv_bytes()))
def test_fuzz_csv(tmp_path, data):
    through_api(tmp_path, data, ".csv")


@fuzz(15)
@given(data=mutated(csv_bytes("\t")))
def test_fuzz_tsv(tmp_path, data):
    through_api(tmp_path, data, ".tsv")


@fuzz(40)
@given(data=mutated(ndjson_bytes()))
def test_fuzz_ndjson(tmp_path, data):
    through_api(tmp_path, data, ".ndjson")


@fuzz(40)
@given(data=mutated(npy_bytes()))
def test_fuzz_npy(tmp_path, data):
    path = tmp_path / "fuzz.npy"
    path.write_bytes(data)
    target = tmp_path / "t.npy"
    np.save(target, np.zeros(7))
    for opts in ({"targets": str(target)}, {"targets": str(target), "losses": "mse"}):
        try:
            losscli.evaluate(str(path), **opts)
        except LossCliError:
            pass
    with stdin_bytes(data):
        try:
            losscli.evaluate("-", str(target), losses="mse")
        except LossCliError:
            pass


@fuzz(30)
@given(data=mutated(parquet_bytes()))
def test_fuzz_parquet(tmp_path, data):
    through_api(tmp_path, data, ".parquet")


@fuzz(15)
@given(data=mutated(feather_bytes()))
def test_fuzz_feather(tmp_path, data):
    through_api(tmp_path, data, ".feather")


@fuzz(10)
@given(data=st.binary(max_size=300), suffix=st.sampled_from(
    [".csv", ".ndjson", ".npy", ".parquet", ".feather", ".csv.gz", ".npy.zst"]))
def test_fuzz_random_bytes(tmp_path, data, suffix):
    through_api(tmp_path, data, suffix, stdin=False)


# -- a few through the real entry point --------------------------------------------------
@fuzz(6, share=0.02)  # two processes per example: a few seconds each
@given(data=st.one_of(mutated(csv_bytes()), mutated(ndjson_bytes()), mutated(npy_bytes()),
                      mutated(parquet_bytes())))
def test_fuzz_cli_exits_0_or_2_without_traceback(data):
    for args in (["eval", "-", "-l", "mse"], ["inspect", "-"]):
        proc = run_losscli(*args, input=data)
        err = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode in (0, 2), err
        assert "Traceback" not in err
        if proc.returncode == 2:
            assert err.count("\n") == 1 and err.startswith("losscli: error: "), err
            assert "\x1b" not in err and "\x07" not in err
