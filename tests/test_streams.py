"""The stream layer under the stdin readers, and NDJSON files, in-process."""

from __future__ import annotations

import gzip
import io
import json

import numpy as np
import pytest

import losscli
from losscli.errors import InputError
from losscli.io.detect import sniff_format
from losscli.io.formats import open_stream
from losscli.io.formats.ndjson import NdjsonSource
from losscli.io.stream import ByteStream


class Trickle(io.RawIOBase):
    """A pipe that hands out at most 3 bytes per read, like a slow writer."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        return self._data.read(min(n, 3) if n and n > 0 else 3)


def test_bytestream_reads_exactly_and_peeks_without_consuming():
    s = ByteStream(Trickle(b"a,b\n1,2\n3,4\n"), "<t>")
    assert s.peek(2) == b"a,"
    assert s.peek_records(4) == b"a,b\n"
    assert s.read(6) == b"a,b\n1,"  # exact size despite 3-byte reads
    assert s.bytes_read == 6
    assert s.read_records(1) == b"2\n"  # extended to the end of the line
    assert s.read() == b"3,4\n" and s.read(5) == b""


@pytest.mark.parametrize(("head", "fmt"), [
    (b"\x93NUMPY\x01\x00", "npy"), (b"PAR1\x15", "parquet"), (b"ARROW1\x00\x00", "feather"),
    (b"\xff\xff\xff\xff\x10\x00", "arrow"), (b'  {"pred": 1}', "ndjson"),
    (b"\xef\xbb\xbfpred,target\n", "csv"), (b"pred\ttarget\n1\t2\n", "tsv"),
    (b"pred\n1\n", "csv"), (b"", None), (b"   \n", None),
])
def test_sniff_format(head, fmt):
    assert sniff_format(head) == fmt


def test_csv_through_a_trickling_pipe_with_compression():
    data = b"pred,target\n" + b"".join(f"{i},{2 * i}\n".encode() for i in range(1000))
    for payload in (data, gzip.compress(data)):
        source = open_stream(ByteStream(Trickle(payload), "<pipe>"))
        assert source.format == "csv" and source.columns == ["pred", "target"]
        chunks = list(source.chunks(["pred", "target"], 100))
        pred = np.concatenate([c["pred"] for c in chunks])
        assert pred.tolist() == list(range(1000))
        with pytest.raises((RuntimeError, InputError), match="read only once"):  # a pipe
            list(source.chunks(["pred"], 100))


def test_ndjson_blocks_split_anywhere_give_the_same_rows(tmp_path, monkeypatch):
    rows = [{"pred": i * 0.5, "target": (-1) ** i * i, "note": "x" * (i % 7)} for i in range(500)]
    path = tmp_path / "rows.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setattr(NdjsonSource, "block_size", 97)  # blocks cut mid-object, re-aligned
    source = NdjsonSource(str(path))
    assert source.columns == ["pred", "target", "note"]
    assert source.types == {"pred": "double", "target": "int64", "note": "string"}
    got = list(source.chunks(["pred", "target"], 64))
    assert len(got) > 20
    assert np.concatenate([c["target"] for c in got]).tolist() == [r["target"] for r in rows]
    # And through the API: mse by hand.
    want = np.mean([(r["pred"] - r["target"]) ** 2 for r in rows])
    assert losscli.evaluate(str(path), losses="mse")["mse"] == pytest.approx(want, rel=1e-13)


def test_ndjson_error_names_the_line_in_a_late_block(tmp_path, monkeypatch):
    lines = [json.dumps({"pred": i, "target": i}) for i in range(300)]
    lines[250] = '{"pred": true, "target": 1}'
    path = tmp_path / "bad.ndjson"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(NdjsonSource, "block_size", 200)
    with pytest.raises(InputError, match=r"Non-numeric value true in column 'pred' .*line 251\)"):
        losscli.evaluate(str(path), losses="mse")


def test_ndjson_missing_key_and_null_are_missing_values(tmp_path):
    path = tmp_path / "gaps.ndjson"
    path.write_text('{"pred": 1, "target": 1}\n{"target": 3}\n{"pred": null, "target": 2}\n'
                    '{"pred": 4, "target": 2}\n')
    with pytest.raises(InputError, match=r"2 NaN/inf values \(first at row 1\)"):
        losscli.evaluate(str(path), losses="mse")
    report = losscli.evaluate(str(path), losses="mse", nan_policy="omit")
    assert report.rows == 2 and report["mse"] == pytest.approx(2.0)  # (0 + 4) / 2


def test_gzipped_ndjson_file(tmp_path):
    path = tmp_path / "rows.ndjson.gz"
    path.write_bytes(gzip.compress(b'{"yhat": 2, "y": 1}\n{"yhat": 0, "y": 1}\n'))
    assert losscli.evaluate(str(path), losses="mae")["mae"] == 1.0
