"""CSV and TSV: :class:`CsvSource` reads a file (plain or compressed), parsing blocks in two
threads when it can; :class:`CsvStreamSource` reads a pipe, once, front to back.

Both cut the bytes into blocks of whole records themselves (:meth:`ByteStream.read_records`:
about 8 MiB, at a line end outside quotes; ``\\n``, ``\\r\\n`` or a lone ``\\r``) and hand
each block to pyarrow's ``read_csv`` with the column names known and float64 forced on
the selected columns. So a record may be as long as ``--max-line-bytes`` with memory
bounded by it, the header may be of any width, a block is parsed as soon as it has
arrived on a pipe, and a bad value is found in its own block (its row named without a
second pass over the file).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.arrow import check_column_names, raw_values, schema_types, to_float64
from losscli.io.base import raw_key
from losscli.io.detect import is_compressed
from losscli.io.failures import describe_size, first_line, foreign_errors, not_text
from losscli.io.formats.text import ScannedText
from losscli.io.opening import UTF8, file_stream
from losscli.io.records import RowIndex, first_record_end
from losscli.io.stream import BLOCK, MAX_LINE, ByteStream, progress_bytes

BOM = b"\xef\xbb\xbf"
#: Bytes of whole records read at open for the types ``inspect`` shows.
HEAD_BYTES = 1 << 16


class CsvSource(ScannedText):
    """CSV/TSV from a file, read in blocks of whole records (see the module doc).

    ``opener``: for an object in storage, a function returning a new pyarrow input stream
    of its bytes (``path`` is then what messages show, ``size`` its size in bytes).

    Units: once :meth:`scan` has counted the records of a local, uncompressed UTF-8 file
    (:func:`losscli.io.records.scan_records`), it is :class:`~losscli.io.base.Splittable`:
    a unit starts at a record whose row is a multiple of the scan's step (the session's
    chunk size times the chunks per unit), so the chunks are those of one pass over the
    whole file, and reads a byte range of its own."""

    block_size = BLOCK
    #: Bytes per block of the parallel path.
    parallel_block = 4 << 20
    #: A file by name: its blocks can be parsed in two threads. A pipe's cannot (each is
    #: parsed as soon as it has arrived).
    seekable = True

    rows_seekable = False

    def __init__(self, path: str, fmt: str, *, encoding: str = UTF8,
                 max_line_bytes: int = MAX_LINE, opener: Any = None,
                 size: int | None = None) -> None:
        self.name = path
        self.format = fmt
        self._opener = opener
        self._object_size = size
        self._rows: RowIndex | None = None  # where rows start, once scanned
        self._consumed = 0  # bytes parsed by range reads (the progress of a split run)
        self.delimiter = "\t" if fmt == "tsv" else ","
        self._delimiter = self.delimiter.encode()
        self.encoding = encoding
        self.max_line = max_line_bytes
        self.num_rows: int | None = None
        self.size: int | None = None
        self._raw: Any = None  # the file under the stream: its position is the progress
        self._stream: ByteStream | None = None
        self._position: int | None = None  # bytes handed to the parallel path's parsers
        stream = self._open()
        self.columns = self._read_header(stream)

    # -- opening ----------------------------------------------------------------------------
    def _open(self) -> ByteStream:
        stream, self._raw = file_stream(self.name, self.encoding, self._opener,
                                        self._object_size)
        self.size = stream.size if stream.raw_progress is None else stream.raw_progress.size
        if self._opener is None:
            import os

            self.size = os.path.getsize(self.name)
        self._stream = stream
        return stream

    def release(self) -> None:
        """Close the file opened to read the header (reads open their own)."""
        if self._raw is not None and not self._raw.closed:
            self._raw.close()

    def bytes_read(self) -> int:
        if self._position is not None:
            return int(self._position) + self._consumed
        raw = self._raw
        if self._opener is not None:  # an object's stream cannot tell where it stands
            return self._consumed + (progress_bytes(self._stream) if self._stream else 0)
        return self._consumed + (0 if raw is None or raw.closed else int(raw.tell()))

    def _read_header(self, stream: ByteStream) -> list[str]:
        """Column names from the first record, and the types pyarrow infers from the
        records that follow in the first 64 KiB (what ``inspect`` shows)."""
        import pyarrow as pa

        head = stream.peek_records(HEAD_BYTES, self.max_line, self._delimiter)
        if not head.strip():
            raise InputError(f"'{self.name}' is empty: expected a header line and data rows.")
        end = first_record_end(head, self._delimiter)
        self._header_len = end
        header = head[:end]
        if end == len(head) and first_record_end(head + b"\n", self._delimiter) > end + 1:
            raise InputError(f"The header of '{self.name}' has a quote that never closes; a "
                             'quoted name ends with a quote ("a,b"), a quote inside it is '
                             'doubled ("say ""hi""").')
        if header.startswith(BOM):
            header = header[len(BOM):]
        names = check_column_names(self.name, self._parse_names(header))
        self.schema = pa.schema([(n, pa.null()) for n in names])
        try:
            rest = head[end:]
            if rest.strip():
                table = self._parse(rest, names, None)
                self.schema = table.schema
        except foreign_errors():
            pass  # bad first rows: reading them says what is wrong (types stay unknown)
        return names

    def _parse_names(self, header: bytes) -> list[str]:
        """The header's fields, decoded as UTF-8 here (pyarrow would fail with a bare
        UnicodeDecodeError): parsed as latin-1, which maps every byte to a character, and
        each name's bytes then decoded."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        latin = header.decode("latin-1").encode("utf-8")
        if not latin.endswith((b"\n", b"\r")):  # pyarrow finds no columns in a bare line
            latin += b"\n"
        try:
            table = pacsv.read_csv(
                pa.py_buffer(latin),
                read_options=pacsv.ReadOptions(use_threads=False, block_size=len(latin) + 1),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            )
        except foreign_errors() as exc:
            raise InputError(
                f"Cannot read the header of '{self.name}' as {self.format.upper()}: "
                f"{first_line(exc)}."
            ) from None
        names = []
        for i, text in enumerate(table.schema.names):
            data = text.encode("latin-1")
            try:
                names.append(data.decode("utf-8"))
            except UnicodeDecodeError as exc:
                where = f"the name of column {i + 1}"
                raise InputError(not_text(self.name, exc, "UTF-8", where)) from None
        return names

    # -- the Source contract ----------------------------------------------------------------
    def column_types(self) -> dict[str, str]:
        return schema_types(self.schema, self.columns)

    def values_per_row(self, column: str) -> int:
        return 1  # CSV has no list columns

    def chunks(self, columns: list[str], chunk_size: int,
               raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        stream = self._open_for_chunks()
        header = stream.read(self._header_len)
        stream.lines_read = header.count(b"\n") or header.count(b"\r")  # for messages
        if self._parallel_ok():
            yield from self._parallel_chunks(stream, columns, raw)
        else:
            yield from self._serial_chunks(stream, columns, raw)

    def _open_for_chunks(self) -> ByteStream:
        return self._open()

    def _parallel_ok(self) -> bool:
        """Files by name, not pipes: their blocks can be parsed ahead, in two threads."""
        return self.seekable and not is_compressed(self.name)

    # -- parsing ----------------------------------------------------------------------------
    def _parse(self, block: bytes, names: list[str], columns: list[str] | None,
               text: tuple[str, ...] = ()) -> Any:
        """One block of whole records as an Arrow table: ``columns`` as float64 and ``text``
        as strings (None: every column, types inferred)."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        convert = (pacsv.ConvertOptions() if columns is None else
                   pacsv.ConvertOptions(column_types={**{c: pa.float64() for c in columns},
                                                      **{c: pa.string() for c in text}},
                                        include_columns=[*columns, *text]))
        return pacsv.read_csv(
            pa.py_buffer(block),
            # One block, one parse: pyarrow's own chunker cuts at every newline, and would
            # split a quoted field that holds one.
            read_options=pacsv.ReadOptions(column_names=self.columns if columns is not None
                                           else names, use_threads=False,
                                           block_size=len(block) + 1),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            convert_options=convert,
        )

    def _parse_block(self, block: bytes, columns: list[str], raw: tuple[str, ...] = ()
                     ) -> tuple[dict[str, np.ndarray] | None, int, BaseException | None]:
        """A block as ``{column: float64}`` (and the text of the ``raw`` columns) and its row
        count, or the error that stopped it (translated by the caller, who knows the
        block's first row)."""
        try:
            text = tuple(c for c in raw if c not in columns)
            table = self._parse(block, self.columns, columns, text)
            values = {c: to_float64(table.column(c)) for c in columns}
            if raw:
                both = tuple(c for c in raw if c in columns)  # read both ways: parsed again
                again = self._parse(block, self.columns, [], both) if both else table
                for c in raw:
                    values[raw_key(c)] = raw_values(self.name, c, (again if c in both else
                                                                   table).column(c), 0)
            return values, table.num_rows, None
        except foreign_errors() as exc:
            return None, 0, exc

    def _serial_chunks(self, stream: ByteStream, columns: list[str], raw: tuple[str, ...] = ()
                       ) -> Iterator[dict[str, np.ndarray]]:
        """One block after another, each parsed as soon as it is read; an empty dict after
        a block a pipe paused on (see :func:`losscli.io.chunking.rechunk`)."""
        row = 0
        while True:
            block = stream.read_records(self.block_size, self.max_line, self._delimiter)
            if not block:
                return
            values, n, error = self._parse_block(block, columns, raw)
            if error is not None:
                raise self._translate(error, block, row, columns)
            if n:
                assert values is not None
                yield values
            row += n
            if stream.paused:
                yield {}

    def _parallel_chunks(self, stream: ByteStream, columns: list[str],
                         raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        """Blocks parsed by ``read_csv`` in two threads, results in order. Memory: a few
        blocks in flight."""
        from concurrent.futures import Future, ThreadPoolExecutor

        Parsed = tuple[dict[str, np.ndarray] | None, int, BaseException | None]
        row = 0
        pending: list[tuple[int, bytes, Future[Parsed]]] = []

        def finish(item: tuple[int, bytes, Future[Parsed]]) -> Iterator[dict[str, np.ndarray]]:
            nonlocal row
            position, block, future = item
            values, n, error = future.result()
            if error is not None:
                raise self._translate(error, block, row, columns)
            self._position = position
            row += n
            if n:
                assert values is not None
                yield values

        self._position = 0
        with ThreadPoolExecutor(2, "losscli-csv") as pool:
            while True:
                block = stream.read_records(self.parallel_block, self.max_line,
                                            self._delimiter)
                if not block:
                    break
                position = (self._raw.tell() if self._opener is None
                            else progress_bytes(stream))
                pending.append((position, block,
                                pool.submit(self._parse_block, block, columns, raw)))
                if len(pending) > 2:
                    yield from finish(pending.pop(0))
            while pending:
                yield from finish(pending.pop(0))

    # -- units: byte ranges of a scanned file (losscli.io.formats.text) --------------------
    def scan_options(self) -> dict[str, Any] | None:
        if self._opener is not None or not self.seekable:
            return None
        return {"delimiter": self._delimiter, "ndjson": self.format == "ndjson",
                "header_len": self._header_len}

    def read_range(self, columns: list[str], start: int, stop: int, chunk_size: int,
                   raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``start .. stop`` of a scanned file (:meth:`span`), parsed block by block in
        this thread. The rows parsed must be the rows the scan counted (else an InputError:
        the file changed since, or the scan is wrong)."""
        with self.span(start, stop) as (stream, row, end_row):
            first_row = row
            while row < stop:
                block = stream.read_records(self.block_size, self.max_line, self._delimiter)
                if not block:
                    break
                self._consumed += len(block)
                values, n, error = self._parse_block(block, columns, raw)
                if error is not None:
                    raise self._translate(error, block, row, columns)
                lo, hi = max(start - row, 0), min(stop - row, n)
                if hi > lo and values is not None:
                    yield values if (lo, hi) == (0, n) else {k: v[lo:hi] for k, v in
                                                             values.items()}
                row += n
        self.check_span(first_row, row, stop, end_row, f"parse to {row - first_row} rows")

    # -- errors -----------------------------------------------------------------------------
    def _locate_non_numeric(self, block: bytes, column: str) -> int | None:
        """0-based row, within ``block``, of the first value in ``column`` that is not a
        number."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        try:
            table = pacsv.read_csv(
                pa.py_buffer(block),
                read_options=pacsv.ReadOptions(column_names=self.columns, use_threads=False,
                                               block_size=len(block) + 1),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
                convert_options=pacsv.ConvertOptions(column_types={column: pa.string()},
                                                     include_columns=[column]),
            )
        except foreign_errors():
            return None
        for i, text in enumerate(table.column(0).to_pylist()):
            if text is not None and text != "":
                try:
                    float(text)
                except ValueError:
                    return i
        return None

    def _translate(self, exc: BaseException, block: bytes, start: int,
                   columns: list[str]) -> InputError:
        """What went wrong in the block whose first data row is ``start``."""
        import re

        msg = first_line(exc)
        m = re.search(r"In CSV column #(\d+):.*CSV conversion error to double: "
                      r"invalid value '([^']*)'", msg)
        if m:
            # The column number counts the selected columns; pyarrow gives no row number,
            # so the block is read again as text (error path only).
            index, value = int(m.group(1)), m.group(2)
            selected = [c for c in self.columns if c in columns]
            col = selected[index] if index < len(selected) else f"#{index}"
            found = self._locate_non_numeric(block, col)
            where = "" if found is None else (
                f" at row {start + found} (line {start + found + 2} of the file)")
            return InputError(
                f"Non-numeric value {value!r} in column '{col}' of '{self.name}'{where}; "
                "fix or remove it, or choose another column."
            )
        m = re.search(r"Expected (\d+) columns, got (\d+): (.*)", msg)
        if m:
            return InputError(
                f"A row of '{self.name}' (after data row {start}) has {m.group(2)} fields, but "
                f"the header names {m.group(1)}: {m.group(3)[:80]!r}; every row needs one "
                f"field per column (a stray '{self.delimiter}' or quote?)."
            )
        if "straddl" in msg or "block size" in msg:  # never reached: blocks hold whole rows
            return InputError(
                f"A row of '{self.name}' is longer than {describe_size(self.max_line)}; raise "
                "--max-line-bytes."
            )
        return InputError(f"Cannot read '{self.name}' as {self.format.upper()} (after data row "
                          f"{start}): {msg}")


class CsvStreamSource(CsvSource):
    """CSV/TSV from a pipe: the header is read from the first records (whatever has
    arrived), then the blocks follow, each parsed as soon as it is read."""

    seekable = False
    piped = True  # read once (losscli.io.base.Piped)

    def __init__(self, stream: ByteStream, fmt: str, *,
                 max_line_bytes: int = MAX_LINE) -> None:
        self._pipe: ByteStream | None = stream
        super().__init__(stream.name, fmt, max_line_bytes=max_line_bytes)
        self.size = stream.size

    def _open(self) -> ByteStream:
        if self._pipe is None:
            raise RuntimeError(f"{self.name} can be read only once")
        self._stream = self._pipe
        return self._pipe

    def _open_for_chunks(self) -> ByteStream:
        stream = self._open()
        self._pipe = None
        return stream

    def bytes_read(self) -> int:
        return progress_bytes(self._stream) if self._stream is not None else 0

