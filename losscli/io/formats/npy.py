"""NPY arrays: :class:`NpySource` reads a file, :class:`NpyStreamSource` a pipe;
:func:`npy_columns` says which columns an array's dtype and shape give."""

from __future__ import annotations

import tokenize
from collections.abc import Iterator

import numpy as np

from losscli.errors import InputError
from losscli.io.base import ARRAY
from losscli.io.failures import first_line, foreign_errors
from losscli.io.stream import ByteStream, progress_bytes


class NpySource:
    """A ``.npy`` array through a read-only memmap. A plain 1-D array is one column
    (``ARRAY``), a 2-D ``(N, C)`` array one column of C values per row; a structured
    array's fields are columns (a sub-array field holds several values per row)."""

    size: int | None = None  # bytes read are not counted

    def __init__(self, path: str, fmt: str = "npy") -> None:
        self.name = path
        self.format = fmt
        try:
            self._array = np.load(path, mmap_mode="r", allow_pickle=False)
        except NPY_HEADER_ERRORS + foreign_errors() as exc:
            raise InputError(
                f"Cannot read '{path}' as NPY ({first_line(exc)}); the file may be corrupt "
                "or of another format (use --format-in to say which)."
            ) from None
        if not isinstance(self._array, np.ndarray):
            raise InputError(f"'{path}' is not a single NPY array (an .npz archive?).")
        arr = self._array
        self.dtype = arr.dtype
        self.columns = npy_columns(path, arr.dtype, arr.shape)
        self.num_rows: int | None = int(arr.shape[0])
        check_row_size(path, arr.dtype, arr.shape)
        # Values per row of the plain array (C of an (N, C) array), known before reading.
        self._width = int(np.prod(arr.shape[1:])) if arr.ndim > 1 else 1

    def bytes_read(self) -> int:
        return 0  # not counted (size is None): progress counts rows

    def column_types(self) -> dict[str, str]:
        return npy_types(self.dtype, self.columns)

    def values_per_row(self, column: str) -> int:
        # A sub-array field of a structured array counts 1 here, as it always has: its
        # width is known once read.
        return self._width if column == ARRAY else 1

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        try:
            yield from self._chunks(columns, chunk_size)
        except foreign_errors() as exc:
            raise InputError(f"Cannot read '{self.name}' as NPY: {first_line(exc)}.") from None

    def _chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        arr = self._array
        if not (isinstance(arr, np.memmap) and arr.flags.c_contiguous):
            for start in range(0, arr.shape[0], chunk_size):  # e.g. Fortran order: slice
                part = np.array(arr[start : start + chunk_size])
                yield {c: np.asarray(part if c == ARRAY else part[c], dtype=np.float64)
                       for c in columns}
            return
        # Plain reads of each chunk into a fresh buffer rather than views of the memmap:
        # mapped pages stay in the process's resident set, so memory would grow with the
        # file; read chunks are freed (and reused by the allocator) once processed.
        total = arr.shape[0]
        with open(self.name, "rb") as f:
            f.seek(arr.offset)
            for start in range(0, total, chunk_size):
                rows = min(chunk_size, total - start)
                part = np.empty((rows, *arr.shape[1:]), dtype=arr.dtype)
                if f.readinto(part.view(np.uint8).reshape(-1).data) != part.nbytes:
                    raise InputError(
                        f"'{self.name}' ends before the {total} rows its NPY header announces; "
                        "the file is truncated."
                    )
                yield {c: np.asarray(part if c == ARRAY else part[c], dtype=np.float64)
                       for c in columns}

    rows_seekable = True

    def split_points(self) -> list[int]:
        return [0, int(self._array.shape[0])]

    def read_range(self, columns: list[str], start: int, stop: int,
                   chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``start .. stop``: read from the file at their offset (C order), else sliced
        from the memmap; each call opens its own file handle."""
        arr = self._array
        if not (isinstance(arr, np.memmap) and arr.flags.c_contiguous):
            for lo in range(start, stop, chunk_size):
                part = np.array(arr[lo : min(lo + chunk_size, stop)])
                yield {c: np.asarray(part if c == ARRAY else part[c], dtype=np.float64)
                       for c in columns}
            return
        row_bytes = arr.dtype.itemsize * int(np.prod(arr.shape[1:], dtype=np.int64))
        with open(self.name, "rb") as f:
            f.seek(arr.offset + start * row_bytes)
            for lo in range(start, stop, chunk_size):
                rows = min(chunk_size, stop - lo)
                part = np.empty((rows, *arr.shape[1:]), dtype=arr.dtype)
                if f.readinto(part.view(np.uint8).reshape(-1).data) != part.nbytes:
                    raise InputError(
                        f"'{self.name}' ends before the {arr.shape[0]} rows its NPY header "
                        "announces; the file is truncated."
                    )
                yield {c: np.asarray(part if c == ARRAY else part[c], dtype=np.float64)
                       for c in columns}


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
        if kind.kind not in "fiub":
            raise InputError(
                f"'{name}'{'' if c == ARRAY else f' field {c!r}'} has dtype {kind}; "
                "expected numbers."
            )
    return columns


def npy_types(dtype: np.dtype, columns: list[str]) -> dict[str, str]:
    """Column -> its dtype's name (a field's dtype for a structured array)."""
    return {c: str(dtype if c == ARRAY else dtype[c]) for c in columns}


class NpyStreamSource:
    """An NPY array from a pipe: the header says dtype and shape, then fixed-size records
    are read ``chunk_size`` at a time."""

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

    def chunks(self, columns: list[str], chunk_size: int) -> Iterator[dict[str, np.ndarray]]:
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
