"""CSV and TSV: :class:`CsvSource` reads a file (plain or compressed), in two threads when
it can; :class:`CsvStreamSource` reads a pipe, once, front to back."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.arrow import first_line, schema_types, to_float64
from losscli.io.detect import is_compressed
from losscli.io.stream import ByteStream, Prepended, progress_bytes


class CsvSource:
    """CSV/TSV through pyarrow's streaming reader, with float64 forced on the selected
    columns (its type inference only sees the first block: ``1.5`` after a block of
    integers would otherwise fail)."""

    block_size = 8 << 20
    #: A file by name: it can be opened again and cut into byte ranges (the parallel path).
    #: A pipe cannot.
    seekable = True

    def __init__(self, path: str, fmt: str) -> None:
        self.name = path
        self.format = fmt
        self.delimiter = "\t" if fmt == "tsv" else ","
        self.num_rows: int | None = None
        self._raw: Any = None
        self._position: int | None = None  # bytes handed to the parallel path's parsers
        self.columns = self._read_header()

    def _read_header(self) -> list[str]:
        import pyarrow.csv as pacsv

        try:
            reader = pacsv.open_csv(
                self._input(),
                read_options=pacsv.ReadOptions(block_size=1 << 16),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            )
        except Exception as exc:  # pyarrow raises ArrowInvalid / OSError subclasses
            raise self._translate(exc) from None
        self.schema = reader.schema  # types inferred from the first block (inspect)
        return list(reader.schema.names)

    def _input(self) -> Any:
        import pyarrow as pa

        self._raw = pa.OSFile(self.name)  # its position is the progress in bytes
        self.size: int | None = os.path.getsize(self.name)
        if not is_compressed(self.name):
            return self._raw
        return pa.CompressedInputStream(self._raw, pa.Codec.detect(self.name).name)

    def bytes_read(self) -> int:
        if self._position is not None:
            return int(self._position)
        raw = self._raw
        return 0 if raw is None or raw.closed else int(raw.tell())

    def column_types(self) -> dict[str, str]:
        return schema_types(self.schema, self.columns)

    def values_per_row(self, column: str) -> int:
        return 1  # CSV has no list columns

    #: Bytes per block of the parallel path (cut at a newline).
    parallel_block = 4 << 20

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        try:
            if self._parallel_ok():
                yield from self._parallel_chunks(columns)
            else:
                yield from self._serial_chunks(columns, self._input())
        except (InputError, GeneratorExit):
            raise
        except Exception as exc:
            raise self._translate(exc, [c for c in self.columns if c in columns]) from None

    def _convert(self, columns: list[str]) -> Any:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        return pacsv.ConvertOptions(column_types={c: pa.float64() for c in columns},
                                    include_columns=list(columns))

    def _serial_chunks(self, columns: list[str], stream: Any) -> Iterator[dict[str, np.ndarray]]:
        """pyarrow's streaming reader: one block after another, on one core."""
        import pyarrow.csv as pacsv

        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(block_size=self.block_size),
            parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            convert_options=self._convert(columns),
        )
        for batch in reader:
            yield {c: to_float64(batch.column(c)) for c in columns}

    def _parallel_ok(self) -> bool:
        """Plain files (not pipes, not compressed) whose header is one whole line (an even
        number of quotes: no quoted field runs on past its newline)."""
        if not self.seekable or is_compressed(self.name):
            return False
        with open(self.name, "rb") as f:
            return f.readline().count(b'"') % 2 == 0

    def _parallel_chunks(self, columns: list[str]) -> Iterator[dict[str, np.ndarray]]:
        """Newline-aligned blocks parsed by ``read_csv`` in two threads, results in order.

        A newline splits records safely only outside quoted fields, so blocks are cut only
        while no quote has been seen: from the first block that holds a quote, the rest of
        the file (starting at a record boundary, since nothing before it was quoted) goes
        through the streaming reader. Memory: a few blocks in flight.
        """
        from concurrent.futures import Future, ThreadPoolExecutor

        import pyarrow as pa
        import pyarrow.csv as pacsv

        read = pacsv.ReadOptions(column_names=self.columns, use_threads=False,
                                 block_size=self.parallel_block * 2)
        parse = pacsv.ParseOptions(delimiter=self.delimiter)
        convert = self._convert(columns)

        def parse_block(data: bytes) -> dict[str, np.ndarray]:
            table = pacsv.read_csv(pa.py_buffer(data), read_options=read, parse_options=parse,
                                   convert_options=convert)
            return {c: to_float64(table.column(c)) for c in columns}

        self.size = os.path.getsize(self.name)
        with open(self.name, "rb") as f, ThreadPoolExecutor(2, "losscli-csv") as pool:
            f.readline()  # the header: column names are known already
            self._position = f.tell()
            pending: list[Future[dict[str, np.ndarray]]] = []
            quoted_from: int | None = None
            while True:
                start = f.tell()
                data = f.read(self.parallel_block)
                if not data:
                    break
                if not data.endswith(b"\n"):
                    data += f.readline()
                if b'"' in data:
                    quoted_from = start
                    break
                pending.append(pool.submit(parse_block, data))
                if len(pending) > 2:
                    self._position = start
                    yield pending.pop(0).result()
            for fut in pending:
                yield fut.result()
            self._position = f.tell()
        if quoted_from is not None:
            with open(self.name, "rb") as f:
                f.seek(quoted_from)
                yield from self._serial_chunks(
                    columns, Prepended(self._header_bytes(), f))

    def _header_bytes(self) -> bytes:
        with open(self.name, "rb") as f:
            return f.readline()

    def _locate_non_numeric(self, column: str) -> int | None:
        """0-based data row of the first value in ``column`` that is not a number."""
        import pyarrow as pa
        import pyarrow.csv as pacsv

        try:
            reader = pacsv.open_csv(
                self._input(),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
                convert_options=pacsv.ConvertOptions(column_types={column: pa.string()},
                                                     include_columns=[column]),
            )
            row = 0
            for batch in reader:
                for i, text in enumerate(batch.column(0).to_pylist()):
                    if text is not None and text != "":
                        try:
                            float(text)
                        except ValueError:
                            return row + i
                row += batch.num_rows
        except Exception:
            return None
        return None

    def _translate(self, exc: Exception, columns: list[str] | None = None) -> InputError:
        msg = first_line(exc)
        m = re.search(r"In CSV column #(\d+):.*CSV conversion error to double: "
                      r"invalid value '([^']*)'", msg)
        if m and columns is not None:
            # The column number counts the selected columns; pyarrow gives no row number,
            # so find it with a slow scan of that one column (error path only).
            index, value = int(m.group(1)), m.group(2)
            col = columns[index] if index < len(columns) else f"#{index}"
            row = self._locate_non_numeric(col)
            where = f" at row {row} (line {row + 2} of the file)" if row is not None else ""
            return InputError(
                f"Non-numeric value {value!r} in column '{col}' of '{self.name}'{where}; "
                "fix or remove it, or choose another column."
            )
        if "Empty CSV file" in msg:
            return InputError(f"'{self.name}' is empty: expected a header line and data rows.")
        return InputError(f"Cannot read '{self.name}' as {self.format.upper()}: {msg}")


class CsvStreamSource(CsvSource):
    """CSV/TSV from a pipe: the header is read from peeked lines, then one streaming reader
    consumes the stream from its first byte (header included) chunk by chunk."""

    seekable = False

    def __init__(self, stream: ByteStream, fmt: str) -> None:
        self._stream = stream
        self._used = False
        super().__init__(stream.name, fmt)
        self.size = stream.size

    def _read_header(self) -> list[str]:
        import pyarrow as pa
        import pyarrow.csv as pacsv

        head = self._stream.peek_lines()
        try:
            reader = pacsv.open_csv(
                pa.BufferReader(head),
                read_options=pacsv.ReadOptions(block_size=max(len(head), 1)),
                parse_options=pacsv.ParseOptions(delimiter=self.delimiter),
            )
        except Exception as exc:
            raise self._translate(exc) from None
        self.schema = reader.schema
        return list(reader.schema.names)

    def _input(self) -> Any:
        if self._used:
            raise RuntimeError(f"{self.name} can be read only once")
        self._used = True
        return self._stream

    def bytes_read(self) -> int:
        return progress_bytes(self._stream)
