"""Many files as one input: :class:`DatasetSource` reads the data files of a
:class:`~losscli.io.dataset.Dataset` (a folder, a glob, object storage) in sorted path order,
as one source whose rows are those of its files one after another.

Each file is read by its own format's reader (opened when first needed, by the function the
dispatch passes in: local files as a lone file would be, objects in storage through
pyarrow's filesystem), and every file must have the columns of the first. A work unit never
spans two files: the session plans each file as a lone file of its format would be planned
(:meth:`DatasetSource.part`), and :meth:`DatasetSource.read_part` reads rows of one file.
Read as a whole (:meth:`DatasetSource.chunks`, e.g. to detect the task), the files follow
one another. Errors name the file and the row within it (the readers' own messages).

Hive partition keys (``date=2026-11-01/part-0.parquet``) are raw text columns of every row
of their file (:data:`losscli.io.base.RAW`); a file column of the same name wins.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from losscli.errors import InputError
from losscli.io.base import ArrowTyped, JsonTyped, MultiFile, Releasable, can_split, raw_key
from losscli.io.dataset import Dataset, FileRef, file_identity, single_file_identity

#: Files opened at once when a dataset's files are opened ahead (object storage: requests
#: wait on the network, not on a core).
OPEN_THREADS = 16


class DatasetSource:
    """The files of ``dataset`` as one source (see the module doc). ``open_file(ref)`` opens
    one file as a source of format ``fmt``."""

    size: int | None = None  # progress counts rows
    rows_seekable = False

    def __init__(self, dataset: Dataset, fmt: str, open_file: Callable[[FileRef], Any]) -> None:
        self.dataset = dataset
        self.files = dataset.files
        self.name = dataset.display
        self.format = fmt
        self.partition_keys = dataset.partition_keys
        self._open_file = open_file
        self._parts: list[Any] = [None] * len(self.files)
        self._lock = threading.Lock()
        first = self.part(0)
        self.columns: list[str] = list(first.columns)
        #: Per file: the relative path its rows are known by (row identity, coverage),
        #: the same whether the file is read alone, in its partition's folder or in the
        #: whole dataset (a lone object named by its URI is known as a lone local file is).
        self.identities = [single_file_identity(f.path) if dataset.single
                           else file_identity(f.path, f.relative) for f in self.files]

    @property
    def remote(self) -> bool:
        return self.dataset.remote

    @property
    def pattern(self) -> bool:
        return self.dataset.pattern

    # -- the files ----------------------------------------------------------------------------
    def part(self, i: int) -> Any:
        """File ``i`` as a source (opened once; its columns checked against the first's)."""
        source = self._parts[i]
        if source is not None:
            return source
        opened = self._open_file(self.files[i])
        if isinstance(opened, Releasable) and len(self.files) > 1:
            opened.release()  # a dataset of many files holds no file open between reads
        first = self.part(0) if i > 0 else None
        if isinstance(opened, JsonTyped) and isinstance(first, JsonTyped):
            # NDJSON: keys read raw take the types of the first file's first object, so a
            # key has one dtype in every file (another type is an error naming the line).
            opened.types = dict(first.types)
        with self._lock:
            if self._parts[i] is None:
                if i > 0:
                    self._check_columns(i, opened)
                self._parts[i] = opened
            return self._parts[i]

    def _check_raw_kinds(self, i: int, raw: tuple[str, ...]) -> None:
        """Keys read raw have one dtype in every file: a Parquet or Feather file whose key
        column has another kind of type than the first file's is an InputError naming it."""
        from losscli.io.arrow import raw_kind

        if i == 0:
            return
        first_part, my_part = self.part(0), self.part(i)
        if not (isinstance(first_part, ArrowTyped) and isinstance(my_part, ArrowTyped)):
            return
        first, mine = first_part.schema, my_part.schema
        for c in raw:
            if c in first.names and c in mine.names:
                a, b = raw_kind(first.field(c).type), raw_kind(mine.field(c).type)
                if a != b:
                    raise InputError(
                        f"Column '{c}' of '{self.files[i].display}' holds {b} keys "
                        f"({mine.field(c).type}) but '{self.files[0].display}' holds {a} "
                        f"({first.field(c).type}): a key column has one type in every file.")

    def _check_columns(self, i: int, source: Any) -> None:
        mine, first = list(source.columns), list(self.part(0).columns)
        if mine == first:
            return
        missing = [c for c in first if c not in mine]
        extra = [c for c in mine if c not in first]
        what = (f"lacks {', '.join(repr(c) for c in missing)}" if missing
                else f"has {', '.join(repr(c) for c in extra)} besides")
        raise InputError(
            f"'{self.files[i].display}' {what} the columns of '{self.files[0].display}' "
            f"({', '.join(first)}): every file of '{self.name}' needs the same columns. "
            "Give a folder or glob of files that share one schema.")

    def open_all(self, threads: int = OPEN_THREADS) -> None:
        """Open every file now (their row counts and row groups make the unit plan); from
        object storage, on several threads. The first failure is raised (in file order)."""
        todo = [i for i, p in enumerate(self._parts) if p is None]
        if not todo:
            return
        if len(todo) == 1 or threads <= 1 or not self.remote:
            for i in todo:
                self.part(i)
            return
        from losscli.executor import ordered_map

        for _ in ordered_map(lambda i, _stop: self.part(i), todo,
                             workers=min(threads, len(todo))):
            pass

    @property
    def num_rows(self) -> int | None:
        """Rows of all the files, when every file says (no file is opened for it)."""
        if any(p is None for p in self._parts):
            return None
        counts = [p.num_rows for p in self._parts]
        return None if any(c is None for c in counts) else int(sum(counts))

    def bytes_read(self) -> int:
        return 0  # not counted (size is None): progress counts rows

    def column_types(self) -> dict[str, str]:
        types = dict(self.part(0).column_types())
        for key in self.partition_keys:
            types.setdefault(key, "string (partition)")
        return types

    def values_per_row(self, column: str) -> int:
        return int(self.part(0).values_per_row(column))

    # -- reading --------------------------------------------------------------------------------
    def read_part(self, i: int, columns: list[str], chunk_size: int, raw: tuple[str, ...] = (),
                  start: int = 0, stop: int | None = None) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``start .. stop`` of file ``i`` (``stop`` None: to its end, read as one
        stream), with partition keys among the raw columns."""
        source = self.part(i)
        own = tuple(c for c in raw if c in self.columns)
        if own:
            self._check_raw_kinds(i, own)
        keys = [c for c in raw if c not in self.columns]
        if stop is None and start == 0:
            chunks = source.chunks(columns, chunk_size, own) if own else source.chunks(
                columns, chunk_size)
        else:
            end = source.num_rows if stop is None else stop
            chunks = (source.read_range(columns, start, end, chunk_size, own) if own
                      else source.read_range(columns, start, end, chunk_size))
        if not keys:
            yield from chunks
            return
        values = dict(self.files[i].partition)
        for chunk in chunks:
            if chunk:
                n = len(next(iter(chunk.values())))
                for key in keys:
                    filled = np.empty(n, dtype=object)
                    filled[:] = values.get(key)
                    chunk[raw_key(key)] = filled
            yield chunk

    def chunks(self, columns: list[str], chunk_size: int,
               raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        """Every file, one after another."""
        for i in range(len(self.files)):
            yield from self.read_part(i, columns, chunk_size, raw)

    # -- one range of rows of the whole input (its files' row counts known) --------------------
    @property
    def splittable(self) -> bool:
        """Whether any range of rows of the whole can be read: every file is open, knows its
        rows and can read ranges."""
        return all(p is not None and p.num_rows is not None and can_split(p)
                   for p in self._parts)

    def starts(self) -> list[int]:
        """The first row of each file in the whole, and the total last."""
        out = [0]
        for p in self._parts:
            out.append(out[-1] + int(p.num_rows))
        return out

    def split_points(self) -> list[int]:
        """Every file's own split points, in rows of the whole."""
        starts = self.starts()
        points = [0]
        for base, p in zip(starts, self._parts):
            points.extend(base + q for q in p.split_points()[1:])
        return points

    def read_range(self, columns: list[str], start: int, stop: int, chunk_size: int,
                   raw: tuple[str, ...] = ()) -> Iterator[dict[str, np.ndarray]]:
        """Rows ``start .. stop`` of the whole, from the files they lie in."""
        starts = self.starts()
        for i in range(len(self._parts)):
            lo, hi = max(start, starts[i]), min(stop, starts[i + 1])
            if hi > lo:
                yield from self.read_part(i, columns, chunk_size, raw, lo - starts[i],
                                          hi - starts[i])

    # -- pairing --------------------------------------------------------------------------------
    def paired_with(self, main: MultiFile, noun: str = "targets") -> DatasetSource:
        """This dataset's files in the order of ``main``'s, paired by relative path (a lone
        file with a lone file); files that do not pair up are an InputError naming the
        first (:func:`losscli.io.dataset.pair`; ``noun`` says what this dataset holds)."""
        from losscli.io.dataset import pair

        if len(self.files) == 1 and len(main.files) == 1 and (
                self.dataset.single or main.dataset.single):
            return self
        order = [theirs for _, theirs in pair(main.dataset, self.dataset, noun)]
        if [f.path for f in order] == [f.path for f in self.files]:
            return self
        index = {f.path: i for i, f in enumerate(self.files)}
        out = DatasetSource.__new__(DatasetSource)
        out.__dict__.update(self.__dict__)
        out.files = order
        out._parts = [self._parts[index[f.path]] for f in order]
        out.identities = [self.identities[index[f.path]] for f in order]
        out._lock = threading.Lock()
        return out
