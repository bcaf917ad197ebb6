"""NDJSON / JSON Lines: one JSON object per line, read in blocks of whole lines.

Columns are the keys of the first object. Each block (about ``block_size`` bytes, cut at a
line end) is parsed by pyarrow's JSON reader with float64 declared for the selected columns
and other keys ignored; a missing key or ``null`` is a missing value (NaN, which
``--nan-policy`` handles). When pyarrow rejects a block, the block is re-read line by line
with :mod:`json` to name the exact line and value. One class reads a file or a pipe.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.arrow import check_column_names, to_float64
from losscli.io.failures import first_line, foreign_errors, not_text
from losscli.io.opening import UTF8, file_stream
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


class NdjsonSource:
    """NDJSON from a file (``.ndjson``, ``.jsonl``, ``.json``; may be compressed) or from a
    :class:`ByteStream` (standard input, read once). ``encoding``: of a file's text (a
    stream arrives as UTF-8); ``max_line_bytes``: the longest line read."""

    block_size = BLOCK

    def __init__(self, source: str | ByteStream, fmt: str = "ndjson", *,
                 encoding: str = UTF8, max_line_bytes: int = MAX_LINE) -> None:
        self.format = fmt
        self.num_rows: int | None = None
        self.encoding = encoding
        self.max_line = max_line_bytes
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

    def _file_size(self) -> int:
        import os

        return os.path.getsize(self.name)

    def _open(self) -> ByteStream:
        if self._path is None:
            assert self._stream is not None
            return self._stream
        stream, self._raw = file_stream(self._path, self.encoding)
        return stream

    def bytes_read(self) -> int:
        if self._path is not None:
            raw = self._raw
            return 0 if raw is None or raw.closed else int(raw.tell())
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

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        import pyarrow as pa
        import pyarrow.json as pajson

        if self._path is None:
            if self._stream is None:
                raise RuntimeError(f"{self.name} can be read only once")
            stream, self._stream = self._stream, None
            self._spent = stream  # progress keeps counting it
        else:
            stream = self._open()
        keys = [self._keys[c] for c in columns]
        parse = pajson.ParseOptions(
            explicit_schema=pa.schema([(k, pa.float64()) for k in keys]),
            unexpected_field_behavior="ignore",
        )
        line = 1
        while True:
            block = stream.read_records(self.block_size, self.max_line)
            if not block:
                return
            if line == 1 and block.startswith(b"\xef\xbb\xbf"):
                block = block[3:]
            if block.strip():
                try:
                    table = pajson.read_json(
                        pa.BufferReader(block),
                        read_options=pajson.ReadOptions(block_size=len(block) + 1,
                                                        use_threads=False),
                        parse_options=parse,
                    )
                except foreign_errors() as exc:
                    raise self._diagnose(block, line, columns, exc) from None
                if table.num_rows:
                    yield {c: to_float64(table.column(k)) for c, k in zip(columns, keys)}
            line += block.count(b"\n") or block.count(b"\r")
            if stream.paused:
                yield {}

    def _diagnose(self, block: bytes, first: int, columns: list[str],
                  exc: BaseException) -> InputError:
        """Find the line pyarrow choked on and say what is wrong with it."""
        for offset, raw in enumerate(_lines(block)):
            if not raw.strip():
                continue
            number = first + offset
            try:
                obj = self._parse_line(raw, number)
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
        last = first + (block.count(b"\n") or block.count(b"\r"))
        return InputError(
            f"Cannot read lines {first}-{last} of '{self.name}' as NDJSON: {first_line(exc)}."
        )
