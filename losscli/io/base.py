"""The I/O contracts: what every reader (:class:`Source`) and per-row writer (:class:`Sink`)
offers. The readers are in :mod:`losscli.io.formats` (one module per format, file and pipe
variants together), the writers in :mod:`losscli.io.sinks`.

A source knows its columns and yields float64 arrays, chunk by chunk; nothing in a source
knows about losses, and memory never grows with the file. A column holds one value per row
(a 1-D array) or several: a Parquet/Arrow list or fixed-size-list column, or a 2-D
``(N, C)`` NPY array, gives a ``(n, C)`` array. Every row of such a column must hold the same
number of values; a null list is a row of NaN.

Raw columns: besides the float64 ones, ``chunks``/``read_range`` take ``raw``, columns to
read *as they are* (keys to group or join by, string labels). Each arrives in the same dict
under :func:`raw_key` (so re-chunking slices it with the rest) as a numpy array whose dtype
depends on the column's type only, the same for every chunk and every file: int64, float64
(nulls NaN), bool, datetime64[us] (nulls NaT), or an object array of ``str`` (nulls None);
CSV and TSV columns are always text (a key is the same text whatever the block), Parquet,
Feather, NDJSON and NPY columns keep their own type (:func:`losscli.io.arrow.raw_values`).
An integer or boolean chunk holding a null arrives as an object array of Python ints or
bools and None (there is no null int64). A
multi-file input also offers its hive partition keys as raw text columns. A column may be
read both ways at once.

Capabilities beyond :class:`Source` are protocols too, each declared here once: a source
that reads ranges of its rows (:class:`Splittable`), one made of many files
(:class:`MultiFile`), one whose rows can be counted by a scan first (:class:`Scannable`),
one read over the network (:class:`Remote`), one read from a pipe (:class:`Piped`), one
that can close its file between reads (:class:`Releasable`), one that knows its Arrow schema
(:class:`ArrowTyped`), one whose raw keys take the JSON types of its first object
(:class:`JsonTyped`). Code
outside :mod:`losscli.io.formats` asks a source what it can do through them (or the
functions beside them), never by naming a reader class or probing an attribute.

Standard library only at run time (numpy and the dataset types are named for type checking
alone).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

    from losscli.io.dataset import Dataset, FileRef

#: The one column of a plain (unstructured) NPY array or of a 2-D one.
ARRAY = "<array>"

#: The formats read as text (CSV, TSV, NDJSON): a file of them is cut into units only once
#: scanned (:class:`Scannable`), and a boolean column of them is read raw (as text).
TEXT_FORMATS = ("csv", "tsv", "ndjson")

#: Raw values of column ``c`` arrive under ``RAW + c`` (no column name starts with NUL).
RAW = "\x00raw:"


def raw_key(column: str) -> str:
    """The key the raw values of ``column`` arrive under in a chunk."""
    return RAW + column


@runtime_checkable
class Source(Protocol):
    """A chunked reader of one input (a file, a pipe, or arrays in memory).

    ``name`` is what errors show (the path, ``<stdin>``, or the API argument's name);
    ``format`` one of :data:`losscli.vocab.INPUT_FORMATS` (``memory`` for in-memory arrays);
    ``columns`` the column names in file order (``[ARRAY]`` for a plain NPY array);
    ``num_rows`` the row count when the format knows it without a scan, else None;
    ``size`` the total bytes that :meth:`bytes_read` counts towards, or None when unknown or
    when the source does not count its bytes (the progress bar then counts rows).

    A source read from a pipe can be read once: a second :meth:`chunks` raises.
    """

    @property
    def name(self) -> str: ...

    @property
    def format(self) -> str: ...

    @property
    def columns(self) -> list[str]: ...

    @property
    def num_rows(self) -> int | None: ...

    @property
    def size(self) -> int | None: ...

    def bytes_read(self) -> int:
        """Bytes of the input consumed so far (compressed bytes for compressed input), for
        progress; 0 when the source does not count them."""
        ...

    def column_types(self) -> dict[str, str]:
        """Column -> type name, from what the source knows without reading data (what
        ``losscli inspect`` shows): the Arrow schema (CSV: inferred from the first block),
        the NPY dtype, or the JSON types of the first NDJSON object."""
        ...

    def values_per_row(self, column: str) -> int:
        """Values per row of ``column`` known from metadata alone: C of a 2-D NPY array or
        the size of a fixed-size list column, else 1 (a variable-length list is known only
        once read). Chooses the default chunk size; it never checks the data."""
        ...

    def chunks(self, columns: list[str], chunk_size: int,
               raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        """``{column: float64 ndarray}`` dicts of ``columns``, in row order (and the raw
        values of ``raw`` columns under :func:`raw_key`; see the module doc). Their lengths
        need not be ``chunk_size`` (the alignment layer, :func:`losscli.io.chunking.rechunk`,
        re-chunks); an empty dict says that no more rows have arrived for now (a pipe
        paused), so the rows already read are passed on rather than held for a full chunk.
        A bad value or a broken file is an :class:`~losscli.errors.InputError` that names
        the file (and the row, when it can be known), never another exception."""
        ...


@runtime_checkable
class Splittable(Protocol):
    """A source that can read any range of its rows on its own (a file with an index: a
    Parquet file, an NPY array, arrays in memory, a Feather file's record batches, a CSV
    or NDJSON file whose records were counted by a scan), so that work units reading
    different ranges can run side by side. Each call opens its own handle: calls may run
    on several threads at once. A source that is splittable only in some states (a text
    file before its scan, a stream) says so in a ``splittable`` attribute; see
    :func:`can_split`."""

    #: Whether a read may start at any row cheaply (NPY, arrays). Parquet starts only at a
    #: row group (a range inside one decodes it from its start): its units are whole groups.
    rows_seekable: bool

    def split_points(self) -> list[int]:
        """Natural unit boundaries, ascending: 0, the first row of each later part (a Parquet
        row group), and the row count last. ``[0, n]`` when the format has none."""
        ...

    def read_range(self, columns: list[str], start: int, stop: int, chunk_size: int,
                   raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        """Like :meth:`Source.chunks`, for rows ``start .. stop`` only (row numbers in errors
        are those of the whole file)."""
        ...


def can_split(source: object) -> bool:
    """Whether ``source`` reads ranges of rows on its own now: a :class:`Splittable` whose
    ``splittable`` (when it has one) says so — a CSV or NDJSON file once scanned, a local
    Feather file, not a stream."""
    return isinstance(source, Splittable) and bool(getattr(source, "splittable", True))


@runtime_checkable
class Sink(Protocol):
    """A per-row writer (``--reduction none``): takes chunks as they are computed and never
    holds more than one."""

    def write(self, rows: np.ndarray, values: dict[str, np.ndarray]) -> None:
        """Write ``rows`` (int64 row numbers) and one float64 array per label."""
        ...

    def close(self) -> None:
        """Finish the output (a file is closed, standard output flushed)."""
        ...


@runtime_checkable
class MultiFile(Source, Protocol):
    """A source made of many files (a folder, a glob, objects in storage: a
    :class:`~losscli.io.dataset.Dataset`), read as one whose rows are those of its files one
    after another. Each file is a source of its own (:meth:`part`), planned and read on its
    own (:meth:`read_part`); hive partition keys are raw text columns of every row."""

    dataset: Dataset
    #: The data files, in sorted order of their relative paths.
    files: list[FileRef]
    #: Per file: the relative path its rows are known by (row identity, coverage).
    identities: list[str]
    #: The hive partition keys (``date=2026-11-01/``), read as raw text columns.
    partition_keys: tuple[str, ...]

    @property
    def pattern(self) -> bool:
        """Whether the input was a glob pattern (:mod:`losscli.io.paths`), not a file or a
        folder."""
        ...

    def part(self, i: int) -> Any:
        """File ``i`` as a :class:`Source` of its own format (opened once)."""
        ...

    def read_part(self, i: int, columns: list[str], chunk_size: int, raw: tuple[str, ...] = (),
                  start: int = 0, stop: int | None = None) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``start .. stop`` of file ``i`` (``stop`` None: to its end), with partition
        keys among the raw columns."""
        ...

    def starts(self) -> list[int]:
        """The first row of each file in the whole, and the total last (every file open)."""
        ...

    def open_all(self) -> None:
        """Open every file now (from object storage on several threads)."""
        ...

    def paired_with(self, main: MultiFile, noun: str = "targets") -> MultiFile:
        """This input's files in the order of ``main``'s, paired by relative path."""
        ...


def partition_keys(source: object) -> tuple[str, ...]:
    """The hive partition keys ``source`` offers as raw columns (none but of a
    :class:`MultiFile`)."""
    return tuple(source.partition_keys) if isinstance(source, MultiFile) else ()


@runtime_checkable
class Scannable(Source, Protocol):
    """A text file (CSV, TSV, NDJSON) whose records can be counted by a pass over its bytes,
    after which it reads any range of its rows (it becomes :func:`can_split`)."""

    def scan(self, step: int) -> bool:
        """Count the records and note where rows ``0, step, 2*step, ...`` start; False when
        the file cannot be cut (compressed, remote, not UTF-8, a record too long)."""
        ...


@runtime_checkable
class Remote(Protocol):
    """A source that may be read over the network (object storage): ``remote`` says whether
    it is (reading it waits on requests, not on a core)."""

    @property
    def remote(self) -> bool: ...


def is_remote(source: object) -> bool:
    """Whether ``source`` is read over the network (a :class:`Remote` that says so)."""
    return isinstance(source, Remote) and bool(source.remote)


@runtime_checkable
class Piped(Protocol):
    """A source that may read a pipe (standard input, a FIFO, ``<(cmd)``): ``piped`` says
    whether it does, in which case it is read once, front to back (Parquet and Feather
    from a pipe are spooled to a file first: not piped)."""

    @property
    def piped(self) -> bool: ...


def readable_twice(source: object) -> bool:
    """Whether ``source`` can be read again (a file), not only once (a :class:`Piped` that
    reads a pipe)."""
    return not (isinstance(source, Piped) and source.piped)


@runtime_checkable
class Releasable(Protocol):
    """A file source that can close its file between reads (CSV, NDJSON): the next read
    opens it again, from where it was. A dataset of many files releases each file it opens,
    so that it never holds more than the file being read."""

    def release(self) -> None:
        """Close the file until the next read."""
        ...


@runtime_checkable
class ArrowTyped(Protocol):
    """A source that knows the Arrow type of each column without reading data (Parquet,
    Feather; CSV from its first block): a dataset checks with it that a key column has one
    kind of type in every file."""

    schema: pa.Schema


@runtime_checkable
class JsonTyped(Protocol):
    """A source whose raw columns take the JSON types of its first object (NDJSON):
    ``types`` is column -> type name. A dataset gives each later file the first file's, so
    that a key has one dtype in every file (another type is an error naming the line)."""

    types: dict[str, str]

