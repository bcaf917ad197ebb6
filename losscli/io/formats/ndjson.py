"""NDJSON / JSON Lines: one JSON object per line, read in blocks of whole lines.

Columns are the keys of the first object. Each block (about ``block_size`` bytes, cut at a
line end) is parsed by pyarrow's JSON reader with float64 declared for the selected columns
and other keys ignored; a missing key or ``null`` is a missing value (NaN, which
``--nan-policy`` handles). When pyarrow rejects a block, the block is re-read line by line
with :mod:`json` to name the exact line and value; so is a block whose objects are not one
per line (pyarrow would take ``{"a": 1} {"a": 2}`` on one line as two rows): the rows of a
block are its non-blank lines, whichever way the file is cut. One class reads a file or a
pipe; a local file of uncompressed UTF-8 can be cut into units once scanned (as CSV is:
:meth:`NdjsonSource.scan`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.arrow import check_column_names, raw_values, to_float64
from losscli.io.base import raw_key
from losscli.io.failures import first_line, foreign_errors, not_text
from losscli.io.formats.text import ScannedText
from losscli.io.opening import UTF8, file_stream
from losscli.io.records import RowIndex, count_records
from losscli.io.stream import BLOCK, MAX_LINE, ByteStream, progress_bytes

_EXAMPLE = '{"pred": 1.5, "target": 2.0}'


def _lines(block: bytes) -> list[bytes]:
    """The lines of a block: split at ``\n``, or at ``\r`` when it has no ``\n`` (old Mac
    line ends)."""
    return block.split(b"\n") if b"\n" in block or b"\r" not in block else block.split(b"\r")


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int64"
    if isinstance(value, float):
        return "double"
    if value is None:
        return "null"
    kinds: dict[type, str] = {str: "string", dict: "object", list: "list"}
    return kinds.get(type(value), type(value).__name__)


class NdjsonSource(ScannedText):
    """NDJSON from a file (``.ndjson``, ``.jsonl``, ``.json``; may be compressed) or from a
    :class:`ByteStream` (standard input, read once). ``encoding``: of a file's text (a
    stream arrives as UTF-8); ``max_line_bytes``: the longest line read."""

    block_size = BLOCK
    rows_seekable = False

    def __init__(self, source: str | ByteStream, fmt: str = "ndjson", *,
                 encoding: str = UTF8, max_line_bytes: int = MAX_LINE, opener: Any = None,
                 size: int | None = None) -> None:
        self.format = fmt
        self.num_rows: int | None = None
        self.encoding = encoding
        self.max_line = max_line_bytes
        self._opener = opener
        self._object_size = size
        self._rows: RowIndex | None = None  # where rows start, once scanned
        self._consumed = 0
        self._path = source if isinstance(source, str) else None
        self._stream: ByteStream | None = None if isinstance(source, str) else source
        self.name = source if isinstance(source, str) else source.name
        self._raw: Any = None
        stream = self._open()
        self.size = stream.size if self._path is None else self._file_size()
        first = self._first_object(stream)
        self.columns = check_column_names(self.name, list(first))
        self.types = {key: _json_type(value) for key, value in zip(self.columns, first.values())}
        self._keys = dict(zip(self.columns, first))  # column -> the key in the objects
        if self._path is not None:
            self._stream = None  # reopened by chunks()

    @property
    def piped(self) -> bool:
        """Whether it reads a stream given instead of a path: once (losscli.io.base.Piped)."""
        return self._path is None

    def _file_size(self) -> int | None:
        import os

        return self._object_size if self._opener is not None else os.path.getsize(self.name)

    def _open(self) -> ByteStream:
        if self._path is None:
            assert self._stream is not None
            return self._stream
        stream, self._raw = file_stream(self._path, self.encoding, self._opener,
                                        self._object_size)
        return stream

    def release(self) -> None:
        """Close the file opened to read the first object (reads open their own)."""
        if self._path is not None and self._raw is not None and not self._raw.closed:
            self._raw.close()

    def bytes_read(self) -> int:
        if self._path is not None and self._opener is None:
            raw = self._raw
            return self._consumed + (0 if raw is None or raw.closed else int(raw.tell()))
        return progress_bytes(self._stream) if self._stream is not None else 0

    def column_types(self) -> dict[str, str]:
        return {c: self.types.get(c, "?") for c in self.columns}  # of the first object

    def values_per_row(self, column: str) -> int:
        return 1  # JSON lists are not read

    def _first_object(self, stream: ByteStream) -> dict[str, Any]:
        head = stream.peek_records(1 << 16, self.max_line)
        if head.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte-order mark
            head = head[3:]
        for number, line in enumerate(_lines(head), start=1):
            text = line.strip()
            if not text:
                continue
            if text.startswith(b"["):
                fix = "pipe it through jq -c '.[]'" if self._path is None else (
                    f"convert it with: jq -c '.[]' {self.name} > {self.name}l")
                raise InputError(
                    f"'{self.name}' starts with '[': a JSON array, not NDJSON (one object per "
                    f"line); {fix}"
                )
            obj = self._parse_line(text, number)
            if not isinstance(obj, dict):
                raise self._not_an_object(obj, number)
            if not obj:
                raise InputError(
                    f"Line {number} of '{self.name}' is an empty object; the first object names "
                    f"the columns, e.g. {_EXAMPLE}."
                )
            return obj
        raise InputError(f"'{self.name}' is empty: expected one JSON object per line, e.g. "
                         f"{_EXAMPLE}.")

    def _parse_line(self, line: bytes, number: int) -> Any:
        try:
            return json.loads(line.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(not_text(self.name, exc, "UTF-8", f"line {number}")) from None
        except RecursionError:
            raise InputError(f"Line {number} of '{self.name}' nests JSON too deeply; expected "
                             f"one flat object per line, e.g. {_EXAMPLE}.") from None
        except ValueError as exc:
            msg = getattr(exc, "msg", str(exc))
            raise InputError(
                f"Invalid JSON on line {number} of '{self.name}' ({msg}); each line must be one "
                f"JSON object, e.g. {_EXAMPLE}."
            ) from None

    def _not_an_object(self, obj: Any, number: int) -> InputError:
        return InputError(
            f"Line {number} of '{self.name}' holds a JSON {_json_type(obj)}, not an object; "
            f"NDJSON has one object per line, e.g. {_EXAMPLE}."
        )

    def chunks(self, columns: list[str], chunk_size: int,
               raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        if self._path is None:
            if self._stream is None:
                raise RuntimeError(f"{self.name} can be read only once")
            stream, self._stream = self._stream, None
            self._spent = stream  # progress keeps counting it
        else:
            stream = self._open()
        yield from self._blocks(stream, 1, columns, raw)

    def _schema(self, keys: list[str], types: list[str]) -> Any:
        import pyarrow as pa
        import pyarrow.json as pajson

        kinds = {"float64": pa.float64(), "int64": pa.int64(), "bool": pa.bool_(),
                 "double": pa.float64(), "string": pa.string()}
        return pajson.ParseOptions(
            explicit_schema=pa.schema([(k, kinds.get(t, pa.string()))
                                       for k, t in zip(keys, types)]),
            unexpected_field_behavior="ignore")

    def _blocks(self, stream: ByteStream, line: int, columns: list[str], raw: tuple[str, ...],
                stop: int | None = None) -> Iterator[dict[str, np.ndarray]]:
        """Blocks of whole lines of ``stream`` (its first line is line ``line`` of the
        file), parsed; raw columns as typed in the first object (strings when it had null
        or a list there), read a second time when also read as float64."""
        import pyarrow as pa
        import pyarrow.json as pajson

        keys = [self._keys[c] for c in columns]
        text = [c for c in raw if c not in columns]
        both = tuple(c for c in raw if c in columns)
        parse = self._schema([*keys, *(self._keys[c] for c in text)],
                             [*("float64" for _ in keys), *(self.types.get(c, "?") for c in text)])
        again = self._schema([self._keys[c] for c in both],
                             [self.types.get(c, "?") for c in both]) if both else None
        options = None
        while True:
            block = stream.read_records(self.block_size, self.max_line)
            if not block:
                return
            if line == 1 and block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
            if block.strip():
                options = pajson.ReadOptions(block_size=len(block) + 1, use_threads=False)
                try:
                    table = pajson.read_json(pa.BufferReader(block), read_options=options,
                                             parse_options=parse)
                    second = (pajson.read_json(pa.BufferReader(block), read_options=options,
                                               parse_options=again)
                              if again is not None else None)
                except foreign_errors() as exc:
                    raise self._diagnose(block, line, columns, exc, raw) from None
                # One object per non-blank line: a cheap count of the lines first (numpy,
                # well under 1 ms per 8 MB), the exact count only when it differs.
                lines = int(np.count_nonzero(np.frombuffer(block, dtype=np.uint8) == 10)) + (
                    0 if block.endswith(b"\n") else 1)
                if lines != table.num_rows and count_records(block, None, ndjson=True) not in (
                        None, table.num_rows):
                    raise self._diagnose(block, line, columns, None, raw) from None
                if table.num_rows:
                    out = {c: to_float64(table.column(k)) for c, k in zip(columns, keys)}
                    for c in raw:
                        where = second if c in both else table
                        assert where is not None
                        out[raw_key(c)] = raw_values(self.name, c,
                                                     where.column(self._keys[c]), 0)
                    yield out
            line += block.count(b"\n") or block.count(b"\r")
            self._consumed += len(block) if stop is not None else 0
            if stream.paused:
                yield {}

    # -- units: byte ranges of a scanned file (losscli.io.formats.text) --------------------
    def scan_options(self) -> dict[str, Any] | None:
        return None if self._path is None or self._opener is not None else {"ndjson": True}

    def read_range(self, columns: list[str], start: int, stop: int, chunk_size: int,
                   raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``start .. stop`` of a scanned file (:meth:`span`; see
        :meth:`losscli.io.formats.csv.CsvSource.read_range`)."""
        with self.span(start, stop) as (stream, row, end_row):
            first_row = row
            for values in self._blocks(stream, stream.lines_read + 1, columns, raw, stop):
                n = len(next(iter(values.values())))
                lo, hi = max(start - row, 0), min(stop - row, n)
                if hi > lo:
                    yield values if (lo, hi) == (0, n) else {k: v[lo:hi] for k, v in
                                                             values.items()}
                row += n
                if row >= stop:
                    break
        self.check_span(first_row, row, stop, end_row, f"hold {row - first_row} objects")

    def _diagnose(self, block: bytes, first: int, columns: list[str],
                  exc: BaseException | None, raw: tuple[str, ...] = ()) -> InputError:
        """Find the line pyarrow choked on (``exc``; None: the block's lines did not hold
        one object each) and say what is wrong with it."""
        for offset, text in enumerate(_lines(block)):
            if not text.strip():
                continue
            number = first + offset
            try:
                obj = self._parse_line(text, number)
            except InputError as err:
                return err
            if not isinstance(obj, dict):
                return self._not_an_object(obj, number)
            for c in columns:
                value = obj.get(self._keys[c])
                if value is None or (isinstance(value, int | float)
                                     and not isinstance(value, bool)):
                    continue
                shown = json.dumps(value)
                shown = shown if len(shown) <= 40 else shown[:37] + "..."
                return InputError(
                    f"Non-numeric value {shown} in column '{c}' of '{self.name}' (line "
                    f"{number}); expected a number or null. Fix or remove it, or choose "
                    "another column."
                )
            for c in raw:
                value = obj.get(self._keys[c])
                kind = self.types.get(c, "?")
                if value is not None and _json_type(value) != kind and not (
                        kind == "double" and isinstance(value, int | float)
                        and not isinstance(value, bool)):
                    return InputError(
                        f"Column '{c}' of '{self.name}' holds {_json_type(value)} "
                        f"{json.dumps(value)[:40]} on line {number}, but {kind} on the first "
                        "line; a key column holds values of one type.")
        last = first + (block.count(b"\n") or block.count(b"\r"))
        if exc is None:
            return InputError(
                f"Lines {first}-{last} of '{self.name}' do not hold one JSON object each "
                "(two objects on a line, or one object over several lines?); NDJSON has one "
                f"object per line, e.g. {_EXAMPLE}.")
        return InputError(
            f"Cannot read lines {first}-{last} of '{self.name}' as NDJSON: {first_line(exc)}."
        )
