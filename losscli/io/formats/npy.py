"""NPY arrays: :class:`NpySource` reads a file, :class:`NpyStreamSource` a pipe;
:func:`npy_columns` says which columns an array's dtype and shape give."""

from __future__ import annotations

import tokenize
from collections.abc import Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.arrow import numpy_raw_values
from losscli.io.base import ARRAY, raw_key
from losscli.io.failures import first_line, foreign_errors
from losscli.io.stream import ByteStream, progress_bytes


class NpySource:
    """A ``.npy`` array through a read-only memmap. A plain 1-D array is one column
    (``ARRAY``), a 2-D ``(N, C)`` array one column of C values per row; a structured
    array's fields are columns (a sub-array field holds several values per row).

    ``opener``: for a file in object storage, a function returning a new random-access
    pyarrow file (``path`` is then what messages show); rows are then fetched by range."""

    size: int | None = None  # bytes read are not counted
    rows_seekable = True

    def __init__(self, path: str, fmt: str = "npy", *, opener: Any = None) -> None:
        self.name = path
        self.format = fmt
        self._opener = opener
        self._array: Any = None
        try:
            if opener is None:
                self._array = np.load(path, mmap_mode="r", allow_pickle=False)
                if not isinstance(self._array, np.ndarray):
                    raise InputError(f"'{path}' is not a single NPY array (an .npz archive?).")
                arr = self._array
                dtype, shape = arr.dtype, tuple(arr.shape)
                self._offset = int(arr.offset) if isinstance(arr, np.memmap) else 0
                self._contiguous = isinstance(arr, np.memmap) and bool(arr.flags.c_contiguous)
            else:
                shape, fortran, dtype, self._offset = _read_header(opener())
                self._contiguous = not (fortran and len(shape) > 1 and shape[1] > 1
                                        and shape[0] > 1)
                if not self._contiguous:
                    raise InputError(
                        f"'{path}' holds a Fortran-ordered {shape} array, which cannot be read "
                        "row by row from object storage; save it with np.ascontiguousarray.")
                if dtype.hasobject:
                    raise InputError(f"'{path}' holds Python objects (dtype {dtype}); "
                                     "expected numbers.")
        except InputError:
            raise
        except NPY_HEADER_ERRORS + foreign_errors() as exc:
            raise InputError(
                f"Cannot read '{path}' as NPY ({first_line(exc)}); the file may be corrupt "
                "or of another format (use --format-in to say which)."
            ) from None
        self.dtype = dtype
        self._shape = shape
        self.columns = npy_columns(path, dtype, shape)
        self.num_rows: int | None = int(shape[0]) if shape else 1
        check_row_size(path, dtype, shape)
        # Values per row of the plain array (C of an (N, C) array), known before reading.
        self._width = int(np.prod(shape[1:])) if len(shape) > 1 else 1

    def bytes_read(self) -> int:
        return 0  # not counted (size is None): progress counts rows

    def column_types(self) -> dict[str, str]:
        return npy_types(self.dtype, self.columns)

    def values_per_row(self, column: str) -> int:
        # A sub-array field of a structured array counts 1 here, as it always has: its
        # width is known once read.
        return self._width if column == ARRAY else 1

    def chunks(self, columns: list[str], chunk_size: int,
               raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        yield from self.read_range(columns, 0, self.num_rows or 0, chunk_size, raw)

    def split_points(self) -> list[int]:
        return [0, self.num_rows or 0]

    def read_range(self, columns: list[str], start: int, stop: int, chunk_size: int,
                   raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``start .. stop``: read at their offset (C order), into fresh buffers rather
        than views of the memmap (mapped pages stay in the resident set, so memory would
        grow with the file); a Fortran-ordered array is sliced from the memmap. Each call
        opens its own file handle."""
        try:
            yield from self._read_range(columns, start, stop, chunk_size, raw)
        except InputError:
            raise
        except foreign_errors() as exc:
            raise InputError(f"Cannot read '{self.name}' as NPY: {first_line(exc)}.") from None

    def _values(self, part: np.ndarray, columns: list[str], raw: tuple[str, ...]
                ) -> dict[str, np.ndarray]:
        out = {c: np.asarray(part if c == ARRAY else part[c], dtype=np.float64) for c in columns}
        for c in raw:
            out[raw_key(c)] = numpy_raw_values(self.name, c, part if c == ARRAY else part[c])
        return out

    def _read_range(self, columns: list[str], start: int, stop: int, chunk_size: int,
                    raw: tuple[str, ...]) -> Iterator[dict[str, np.ndarray]]:
        check_numeric(self.name, self.dtype, columns)
        if not self._contiguous:  # e.g. Fortran order: slice the memmap
            arr = self._array
            for lo in range(start, stop, chunk_size):
                yield self._values(np.array(arr[lo : min(lo + chunk_size, stop)]), columns, raw)
            return
        shape, total = self._shape, self.num_rows or 0
        row_bytes = self.dtype.itemsize * int(np.prod(shape[1:], dtype=np.int64))
        with _Handle(self.name, self._opener) as handle:
            for lo in range(start, stop, chunk_size):
                rows = min(chunk_size, stop - lo)
                part = np.empty((rows, *shape[1:]), dtype=self.dtype)
                if handle.read_into(part, self._offset + lo * row_bytes) != part.nbytes:
                    raise InputError(
                        f"'{self.name}' ends before the {total} rows its NPY header "
                        "announces; the file is truncated."
                    )
                yield self._values(part, columns, raw)


class _Handle:
    """Bytes at an offset of a local file (``readinto``) or of an object in storage."""

    def __init__(self, path: str, opener: Any) -> None:
        self._file: Any = opener() if opener is not None else open(path, "rb")
        self._remote = opener is not None

    def __enter__(self) -> _Handle:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()

    def read_into(self, part: np.ndarray, offset: int) -> int:
        view = part.view(np.uint8).reshape(-1)
        if self._remote:
            data = self._file.read_at(part.nbytes, offset)
            view[: len(data)] = np.frombuffer(data, dtype=np.uint8)
            return len(data)
        self._file.seek(offset)
        return int(self._file.readinto(view.data) or 0)


def _read_header(f: Any) -> tuple[tuple[int, ...], bool, np.dtype, int]:
    """(shape, fortran order, dtype, data offset) of an NPY file from its header."""
    from numpy.lib import format as npformat

    try:
        version = npformat.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = npformat.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = npformat.read_array_header_2_0(f)
        return tuple(shape), bool(fortran), dtype, int(f.tell())
    finally:
        f.close()


#: What numpy's header parser raises besides the usual, on a header it cannot evaluate
#: (found by tests/test_fuzz_inputs.py): Python's tokenizer and parser errors.
NPY_HEADER_ERRORS: tuple[type[BaseException], ...] = (
    SyntaxError, TypeError, RecursionError, tokenize.TokenError)

#: The widest row read (bytes): beyond this a header is more likely broken than true.
MAX_ROW_BYTES = 1 << 30


def check_row_size(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> None:
    """Refuse rows wider than MAX_ROW_BYTES (a corrupt header asking for terabytes) before
    anything is allocated for them."""
    row = dtype.itemsize * int(np.prod(shape[1:], dtype=object))
    if row > MAX_ROW_BYTES:
        raise InputError(
            f"'{name}' announces rows of {row} bytes each (shape {tuple(shape)}, dtype {dtype}); "
            f"losscli reads rows of at most {MAX_ROW_BYTES >> 30} GiB. The header may be "
            "corrupt; otherwise split the values into several files."
        )


def npy_columns(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> list[str]:
    """The columns of an NPY array: a structured array's fields (a sub-array field holds
    several values per row), or ``ARRAY`` for a 1-D array or a 2-D (rows, values) one."""
    if dtype.names:
        if len(shape) != 1:
            raise InputError(
                f"'{name}' holds a structured array of shape {shape}; expected a 1-D one "
                "(one record per row)."
            )
        columns = list(dtype.names)
    else:
        if len(shape) not in (1, 2):
            raise InputError(
                f"'{name}' holds an array of shape {shape}; expected a 1-D array "
                "(one value per row) or a 2-D (rows, values) array, e.g. (N, classes)."
            )
        columns = [ARRAY]
        if len(shape) == 2 and shape[1] == 0:
            raise InputError(f"'{name}' holds an array of shape {shape}: no values per row.")
    for c in columns:
        kind = dtype if c == ARRAY else dtype[c].base
        if c != ARRAY and (len(dtype[c].shape) > 1 or 0 in dtype[c].shape):
            raise InputError(
                f"'{name}' field {c!r} has shape {dtype[c].shape} per row; expected one value "
                "or a flat vector of values per row."
            )
        # A field of dates or text can be read only raw (a key): refused when read as numbers.
        if kind.kind not in ("fiub" if c == ARRAY else "fiubMUS"):
            raise InputError(
                f"'{name}'{'' if c == ARRAY else f' field {c!r}'} has dtype {kind}; "
                "expected numbers."
            )
    return columns


def check_numeric(name: str, dtype: np.dtype, columns: list[str]) -> None:
    """Refuse to read a field of dates or text (kept for raw reads) as numbers."""
    for c in columns:
        kind = dtype if c == ARRAY else dtype[c].base
        if kind.kind not in "fiub":
            raise InputError(f"'{name}' field {c!r} has dtype {kind}; expected numbers.")


def npy_types(dtype: np.dtype, columns: list[str]) -> dict[str, str]:
    """Column -> its dtype's name (a field's dtype for a structured array)."""
    return {c: str(dtype if c == ARRAY else dtype[c]) for c in columns}


class NpyStreamSource:
    """An NPY array from a pipe: the header says dtype and shape, then fixed-size records
    are read ``chunk_size`` at a time."""

    piped = True  # read once (losscli.io.base.Piped)

    def __init__(self, stream: ByteStream, fmt: str = "npy") -> None:
        from numpy.lib import format as npformat

        self.name = stream.name
        self.format = fmt
        self._stream = stream
        self.size = stream.size
        try:
            version = npformat.read_magic(stream)
            if version == (1, 0):
                shape, fortran, dtype = npformat.read_array_header_1_0(stream)
            else:
                shape, fortran, dtype = npformat.read_array_header_2_0(stream)
        except InputError:
            raise
        except NPY_HEADER_ERRORS + foreign_errors() as exc:
            raise InputError(
                f"Cannot read '{self.name}' as NPY ({first_line(exc)}); the data may be "
                "corrupt or of another format (use --format-in to say which)."
            ) from None
        if dtype.hasobject:
            raise InputError(f"'{self.name}' holds Python objects (dtype {dtype}); expected "
                             "numbers.")
        self.dtype = dtype
        self.columns = npy_columns(self.name, dtype, tuple(shape))
        self.num_rows: int | None = int(shape[0]) if shape else 1
        check_row_size(self.name, dtype, tuple(shape))
        # A 2-D (rows, values) array arrives row by row only in C order.
        self._width = int(shape[1]) if len(shape) == 2 else None
        if self._width is not None and fortran and self.num_rows > 1 and self._width > 1:
            raise InputError(
                f"'{self.name}' holds a Fortran-ordered {tuple(shape)} array, which cannot be "
                "read row by row from a pipe; save it with np.ascontiguousarray, or give a file."
            )

    def chunks(self, columns: list[str], chunk_size: int,
               raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        check_numeric(self.name, self.dtype, columns)
        total = self.num_rows or 0
        itemsize = self.dtype.itemsize * (self._width or 1)  # bytes per row
        done = 0
        while done < total:
            n = min(chunk_size, total - done)
            data = self._stream.read(n * itemsize)
            if len(data) < n * itemsize:
                got = done + len(data) // itemsize
                raise InputError(
                    f"'{self.name}' ends after {got} of the {total} rows its NPY header "
                    "announces; the data is truncated."
                )
            try:
                part = np.frombuffer(data, dtype=self.dtype)
                if self._width is not None:
                    part = part.reshape(n, self._width)
                values = {c: np.asarray(part if c == ARRAY else part[c], dtype=np.float64)
                          for c in columns}
                for c in raw:
                    values[raw_key(c)] = numpy_raw_values(self.name, c,
                                                          part if c == ARRAY else part[c])
            except InputError:
                raise
            except foreign_errors() as exc:
                raise InputError(f"Cannot read '{self.name}' as NPY: {first_line(exc)}.") \
                    from None
            done += n
            yield values

    def bytes_read(self) -> int:
        return progress_bytes(self._stream)

    def column_types(self) -> dict[str, str]:
        return npy_types(self.dtype, self.columns)

    def values_per_row(self, column: str) -> int:
        return (self._width or 1) if column == ARRAY else 1
