"""CSV, TSV and NDJSON files cut into units (issue 12): a scan counts the records with the
readers' own record boundaries (losscli.io.records), units start at rows that are multiples
of the chunk size times UNIT_CHUNKS, so a cut file gives the chunks of one pass over it —
the same bits as one unit, at every worker count. The scan's count must be pyarrow's: it is
checked against pyarrow on generated text (quotes, doubled quotes, line ends inside quotes,
CRLF, lone CR, blank lines)."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.json as pajson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import losscli
import losscli.units as units_module
from losscli.errors import InputError
from losscli.io.records import Unsafe, record_starts, scan_records
from losscli.session import Session
from losscli.spec import build_spec
from losscli.units import UNIT_CHUNKS, plan_units

LOSSES = ["mse", "mae", "huber:delta=0.5", "r2", "max_error"]


@pytest.fixture
def cut_text(monkeypatch):
    """Cut text files whatever their size and the CPUs (the plan changes, the bits not)."""
    monkeypatch.setattr(units_module, "TEXT_SPLIT_WORKERS", 0)
    monkeypatch.setattr(units_module, "TEXT_SPLIT_BYTES", 0)


def _pyarrow_rows(data: bytes) -> int | None:
    try:
        return pacsv.read_csv(pa.py_buffer(data), read_options=pacsv.ReadOptions(
            column_names=["a", "b"], use_threads=False, block_size=len(data) + 1),
            convert_options=pacsv.ConvertOptions(column_types={"a": pa.string(),
                                                               "b": pa.string()})).num_rows
    except pa.ArrowInvalid:
        return None


FIELD = st.one_of(
    st.sampled_from(["1", "2.5", "", "x", "5\"", '"q"', '"a,b"', '"line\nbreak"', '"cr\rlf\r\n"',
                     '"dbl ""quote"""', '""']),
    st.text(alphabet="ab1,", max_size=3).filter(lambda t: "," not in t),
)
ROW = st.tuples(FIELD, FIELD).map(lambda t: f"{t[0]},{t[1]}")
END = st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\r\n\r\n"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(ROW, END), min_size=1, max_size=30), st.booleans())
def test_csv_records_counted_as_pyarrow_reads_them(rows, trailing):
    text = "".join(r + e for r, e in rows)
    if not trailing:
        text = text.rstrip("\r\n")
    data = text.encode()
    expected = _pyarrow_rows(data)
    if expected is None:
        return  # pyarrow refuses it (e.g. a field count that differs): the reader says so
    starts, span = record_starts(data, b",")
    assert len(starts) == expected and span == len(data)
    # scanned in blocks of any size: the same count, and each noted start is a record's
    for block in (1, 7, 64):
        points, count = scan_records(io.BytesIO(data).readinto, b",", 2, 1 << 20,
                                     block=block)
        assert count == expected
        for row, offset, _ in points:
            assert _pyarrow_rows(data[offset:]) == expected - row


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(['{"a": "1"}', '{"a": "x\\ny"}', "  ", "",
                                           '\t{"a":"2"}', '{"a": "3"} ']),
                          st.sampled_from(["\n", "\r\n"])), min_size=1, max_size=30))
def test_ndjson_lines_counted_as_pyarrow_reads_them(lines):
    data = "".join(t + e for t, e in lines).encode()
    try:
        expected = pajson.read_json(pa.BufferReader(data), read_options=pajson.ReadOptions(
            block_size=len(data) + 1)).num_rows
    except pa.ArrowInvalid:
        if data.strip():
            raise
        expected = 0  # nothing but blank lines
    starts, _ = record_starts(data, None, ndjson=True)
    assert len(starts) == expected


def test_a_record_that_never_ends_cannot_be_cut():
    with pytest.raises(Unsafe):
        scan_records(io.BytesIO(b'1,"open\n' + b"x" * 5000).readinto, b",", 10, 1024,
                     block=256)
    with pytest.raises(Unsafe):
        record_starts(b'{"a": 1}\r{"a": 2}\r', None, ndjson=True)


def _csv(path, n, seed=0, quoted=False, crlf=False):
    rng = np.random.default_rng(seed)
    target = rng.normal(size=n)
    pred = target + rng.normal(size=n)
    pred[::5] += 1e8 * rng.choice([-1.0, 1.0], pred[::5].size)
    end = "\r\n" if crlf else "\n"
    with open(path, "w", newline="") as f:
        f.write("pred,target,note" + end)
        for i in range(n):
            note = f'"say ""hi""{end}to {i}"' if quoted and i % 3 == 0 else f"n{i % 7}"
            f.write(f"{float(pred[i])!r},{float(target[i])!r},{note}{end}")
            if i % 97 == 0:
                f.write(end)  # blank lines are skipped
    return path


@pytest.mark.parametrize(("quoted", "crlf"), [(False, False), (True, False), (True, True)])
def test_a_cut_csv_gives_the_bits_of_one_unit(tmp_path, cut_text, quoted, crlf):
    path = _csv(tmp_path / "d.csv", 9000, quoted=quoted, crlf=crlf)
    session = Session(build_spec(str(path), losses=LOSSES, chunk_size=300, workers=3))
    units = plan_units(session)
    assert len(units) == -(-9000 // (UNIT_CHUNKS * 300))
    assert [u.first_row for u in units] == list(range(0, 9000, UNIT_CHUNKS * 300))
    bits = {w: [float(r.value).hex() for r in losscli.evaluate(
        str(path), losses=LOSSES, chunk_size=300, workers=w).losses] for w in (1, 2, 3, 4)}
    units_module.TEXT_SPLIT_WORKERS = 99  # read as one stream
    one = [float(r.value).hex() for r in losscli.evaluate(str(path), losses=LOSSES,
                                                          chunk_size=300, workers=4).losses]
    assert all(b == one for b in bits.values()), (bits, one)


def test_a_cut_csv_agrees_with_other_chunk_sizes(tmp_path, cut_text):
    path = _csv(tmp_path / "d.csv", 5000)
    base = losscli.evaluate(str(path), losses=LOSSES, chunk_size=5000)
    for chunk in (7, 300, 1024):
        other = losscli.evaluate(str(path), losses=LOSSES, chunk_size=chunk, workers=3)
        for a, b in zip(base.losses, other.losses):
            assert b.value == pytest.approx(a.value, rel=1e-12), (chunk, a.name)


def test_a_cut_ndjson_gives_the_bits_of_one_unit(tmp_path, cut_text):
    rng = np.random.default_rng(3)
    path = tmp_path / "d.ndjson"
    with open(path, "w") as f:
        for i in range(4000):
            f.write(json.dumps({"pred": float(rng.normal()), "target": float(rng.normal())})
                    + ("\n\n" if i % 50 == 0 else "\n"))
    session = Session(build_spec(str(path), losses=LOSSES, chunk_size=250, workers=3))
    assert len(plan_units(session)) == 4
    cut = losscli.evaluate(str(path), losses=LOSSES, chunk_size=250, workers=3)
    units_module.TEXT_SPLIT_WORKERS = 99
    one = losscli.evaluate(str(path), losses=LOSSES, chunk_size=250, workers=1)
    assert [r.value for r in cut.losses] == [r.value for r in one.losses]


def test_an_unclosed_quote_stays_one_unit_with_the_readers_message(tmp_path, cut_text):
    path = tmp_path / "d.csv"
    path.write_text("pred,target\n1,2\n" + "3,4\n" * 20_000 + '5,"6\n' + "7,8\n" * 1000)
    session = Session(build_spec(str(path), losses=["mse"], chunk_size=100, workers=3,
                                 max_line_bytes="1K"))
    assert len(plan_units(session)) == 1
    with pytest.raises(InputError) as cut:
        losscli.evaluate(str(path), losses=["mse"], chunk_size=100, workers=3,
                         max_line_bytes="1K")
    units_module.TEXT_SPLIT_WORKERS = 99
    with pytest.raises(InputError) as one:
        losscli.evaluate(str(path), losses=["mse"], chunk_size=100, max_line_bytes="1K")
    assert str(cut.value) == str(one.value)


def test_the_first_bad_value_of_a_cut_file_is_named_as_in_one_pass(tmp_path, cut_text):
    path = _csv(tmp_path / "d.csv", 3000)
    lines = path.read_text().splitlines()
    lines[2500] = "oops," + lines[2500].split(",", 1)[1]
    lines[2900] = "later," + lines[2900].split(",", 1)[1]
    path.write_text("\n".join(lines) + "\n")
    messages = set()
    for w in (1, 3, 4):
        with pytest.raises(InputError) as err:
            losscli.evaluate(str(path), losses=["mse"], chunk_size=100, workers=w)
        messages.add(str(err.value))
    assert len(messages) == 1 and "'oops'" in messages.pop()


def test_gzipped_and_other_encodings_stay_one_unit(tmp_path, cut_text):
    import gzip

    plain = _csv(tmp_path / "d.csv", 2000)
    gz = tmp_path / "d.csv.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    latin = tmp_path / "l.csv"
    latin.write_bytes(plain.read_bytes())
    for path, extra in ((gz, {}), (latin, {"encoding": "latin-1"})):
        session = Session(build_spec(str(path), losses=["mse"], chunk_size=100, workers=3,
                                     **extra))
        assert len(plan_units(session)) == 1
        assert plan_units(session)[0].stop is None
