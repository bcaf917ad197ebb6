"""What the two text readers (CSV/TSV and NDJSON) share: cutting a local file into units once
a scan has counted its records (:class:`~losscli.io.base.Scannable`), and reading the bytes
of one range of rows back."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from losscli.errors import InputError
from losscli.io.detect import is_compressed
from losscli.io.opening import UTF8
from losscli.io.records import RowIndex, Unsafe, scan_file
from losscli.io.stream import ByteStream, Window


class ScannedText:
    """The units of a text file (mixed into :class:`~losscli.io.formats.csv.CsvSource` and
    :class:`~losscli.io.formats.ndjson.NdjsonSource`): once :meth:`scan` has noted where rows
    ``0, step, 2*step, ...`` start, any range of rows starting at one of them is read on its
    own (:meth:`span`). A reader says what its scan needs in :meth:`scan_options`."""

    name: str
    encoding: str
    max_line: int
    num_rows: int | None
    _rows: RowIndex | None

    def scan_options(self) -> dict[str, Any] | None:
        """The keyword arguments of :func:`losscli.io.records.scan_file` for this file, or
        None when it cannot be cut (a pipe, an object in storage)."""
        raise NotImplementedError

    def scan(self, step: int) -> bool:
        """Count the records (:func:`losscli.io.records.scan_records`) and note where rows
        ``0, step, 2*step, ...`` start. Only for a local file of uncompressed UTF-8 (byte
        offsets of the text are those of the file); False when the file cannot be cut safely
        (a record longer than ``--max-line-bytes``, e.g. a quote that never closes, or a
        lone ``\\r`` line end: it is then read in one pass, whose reader says what is
        wrong)."""
        import codecs

        if self._rows is not None and self._rows.step == step:
            return True
        options = self.scan_options()
        if (options is None or is_compressed(self.name)
                or codecs.lookup(self.encoding).name != UTF8):
            return False
        try:
            index = scan_file(self.name, step, self.max_line, **options)
        except (Unsafe, OSError):
            return False
        if index is None:
            return False
        self._rows, self.num_rows = index, index.rows
        return True

    @property
    def splittable(self) -> bool:
        return self._rows is not None

    def split_points(self) -> list[int]:
        """The rows the scan noted (multiples of its step), and the row count."""
        assert self._rows is not None
        return self._rows.split_points()

    @contextmanager
    def span(self, start: int, stop: int) -> Iterator[tuple[ByteStream, int, int]]:
        """The bytes of rows ``start .. stop`` of a scanned file, from the noted row at or
        before ``start`` to the one at or after ``stop``: ``(stream, first row, end row)``."""
        assert self._rows is not None
        (row, first_byte, lines), end_row, end_byte = self._rows.span(start, stop)
        with open(self.name, "rb") as f:
            f.seek(first_byte)
            stream = ByteStream(Window(f, None if end_byte is None else end_byte - first_byte),
                                self.name)
            stream.lines_read = lines + self._rows.header_lines
            yield stream, row, end_row

    def check_span(self, first_row: int, row: int, stop: int, end_row: int,
                   parsed: str) -> None:
        """The rows parsed from a span must be the rows the scan counted: else the file
        changed since (or the scan is wrong), an InputError (``parsed``: what the rows
        ``first_row .. end_row`` now are, e.g. ``"parse to 7 rows"``)."""
        if row != end_row and (stop == end_row or row < stop):
            raise InputError(
                f"'{self.name}' changed while it was read: rows {first_row}..{end_row} "
                f"now {parsed}. Read it again, or read a copy.")
