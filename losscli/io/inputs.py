"""Aligned chunks of every role: reading the columns bound to them.

:func:`losscli.io.binding.resolve_inputs` opens the files and binds columns to each role
(given or detected from common names) into :class:`Inputs`, whose ``batches`` yields
:class:`Batch` objects with ``chunk_size`` aligned rows (the last shorter; others too when
a pipe pauses, so that the rows that have arrived are evaluated at once). A file read for
several roles is read once.

Roles: ``pred``, ``target``, ``weight``, ``var`` (gaussian_nll), and ``anchor``,
``positive``, ``negative`` (triplet). A role binds to one column, or to several: a repeated
``--pred-col``, a glob such as ``'p_*'`` (matched in the file's column order), a list /
fixed-size-list column, or a 2-D NPY array. A role with several values per row arrives as a
(n, C) float64 array, one with one value per row as (n,).

Keys: :meth:`Inputs.bind_keys` binds columns to be read *as they are* (group or join keys,
string labels; see :data:`losscli.io.base.RAW`), from the predictions' source or, failing
that, another input's (a hive partition key too); each batch then carries them, aligned with
the roles' rows, in ``Batch.keys``.

Labels: :meth:`Inputs.bind_labels` reads a target column of labels (strings, booleans) and
maps it to class indices as each batch is made (:mod:`losscli.labels`), so a batch's
``target`` is float64 like any role's.

Many files: a folder, glob or URI is one source of many files (a
:class:`~losscli.io.base.MultiFile`); a targets (weights, model) dataset is
paired with the predictions' file by file, by relative path, and
:meth:`Inputs.batches_in_file` reads rows of one file of each.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from losscli.errors import InputError, UsageError, did_you_mean
from losscli.io.base import ARRAY, MultiFile, Source, can_split, partition_keys, raw_key
from losscli.io.chunking import concat_column, rechunk, rows_of
from losscli.io.coded import CodesOnly
from losscli.vocab import ROLES


@dataclass
class Batch:
    """Aligned rows ``start .. start + len`` of every role, as float64 arrays, and of every
    bound key (:meth:`Inputs.bind_keys`) as its raw values."""

    start: int
    arrays: dict[str, np.ndarray]
    keys: dict[str, np.ndarray] = field(default_factory=dict)
    #: The input row numbers of the rows, when some rows of ``start ..`` were left out (a
    #: join by key drops rows without a target); None: ``start, start + 1, ...``
    rows: np.ndarray | None = None
    #: The rows' identities for the bootstrap when not their position (a join's key hash)
    ids: np.ndarray | None = None

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))


@dataclass
class ColumnRef:
    source: Source
    columns: tuple[str, ...]

    @property
    def column(self) -> str | None:
        """The one named column, or None (a plain NPY array, or several columns)."""
        return self.columns[0] if len(self.columns) == 1 and self.columns[0] != ARRAY else None

    def describe(self, index: int | None = None) -> str:
        """``column 'x' of 'f.csv'``; with ``index``, the column (or list position) holding
        value ``index`` of each row."""
        name = self.source.name
        if self.columns == (ARRAY,):
            return f"'{name}'" if index is None else f"column {index} of '{name}'"
        if len(self.columns) > 1:
            if index is not None:
                return f"column '{self.columns[index]}' of '{name}'"
            cols = self.columns
            shown = (", ".join(f"'{c}'" for c in cols) if len(cols) <= 4
                     else f"'{cols[0]}' … '{cols[-1]}' ({len(cols)} columns)")
            return f"columns {shown} of '{name}'"
        where = f"column '{self.columns[0]}' of '{name}'"
        return where if index is None else f"value {index} of the lists in {where}"


@dataclass
class Inputs:
    """The resolved inputs: the columns of each role, and the files they come from.

    ``widths`` holds the values per row of each role, known once the first batch has been
    read. Roles ``pred#m`` and ``target#m`` hold the predictions (and, when each model file
    brings its own, the targets) of model m > 0 in a comparison (:meth:`add_model`).
    """

    roles: dict[str, ColumnRef]
    widths: dict[str, int] = field(default_factory=dict)
    #: Keys read raw: name -> (source, column) (see :meth:`bind_keys`).
    keys: dict[str, tuple[Any, str]] = field(default_factory=dict)
    #: Roles read by a join by key (--id-col: the targets, a weight), not row by row: named
    #: in messages and the report like the others, but not streamed
    joined: dict[str, ColumnRef] = field(default_factory=dict)
    #: Label columns: role -> its :class:`losscli.labels.LabelMap` (see :meth:`bind_labels`).
    labels: dict[str, Any] = field(default_factory=dict)
    #: The models of a comparison: prediction role -> (model name, the option naming its
    #: column), for messages (see :meth:`add_model`).
    models: dict[str, tuple[str, str]] = field(default_factory=dict)
    _peeked: tuple[int, list[Batch], Iterator[Batch]] | None = field(default=None, repr=False)

    def describe(self, role: str, index: int | None = None) -> str:
        ref = self.roles.get(role) or self.joined.get(role)
        return role if ref is None else ref.describe(index)

    @property
    def num_rows(self) -> int | None:
        counts = {ref.source.num_rows for ref in self.roles.values()}
        return counts.pop() if len(counts) == 1 else None

    @property
    def main(self) -> Any:
        """The source of the predictions (or anchors): what rows are numbered by."""
        ref = self.roles.get("pred") or self.roles.get("anchor") or next(iter(self.roles.values()))
        return ref.source

    def role_entry(self, role: str) -> dict[str, Any]:
        """What the report's ``inputs`` says about one role: path, format, column(s)."""
        ref = self.roles.get(role) or self.joined[role]
        entry: dict[str, Any] = {"path": ref.source.name, "format": ref.source.format,
                                 "column": ref.column}
        if isinstance(ref.source, MultiFile) and ref.source.pattern:
            entry["pattern"] = True  # a glob the path resolver expanded (losscli.io.paths)
        if len(ref.columns) > 1:
            entry["columns"] = list(ref.columns)
        if self.widths.get(role, 1) > 1:
            entry["values_per_row"] = self.widths[role]
        return entry

    def to_dict(self, model: int = 0) -> dict[str, Any]:
        """The report's ``inputs``: one entry per role (predictions, targets and weights
        always, null when absent), for model ``model``'s predictions."""
        out: dict[str, Any] = {}
        for role in ROLES.values():
            name = f"pred#{model}" if role.name == "pred" and model else role.name
            if name not in self.roles and name not in self.joined:
                if role.name in ("pred", "target", "weight"):
                    out[role.key] = None
                continue
            out[role.key] = self.role_entry(name)
        return out

    def name_model(self, role: str, name: str, flag: str) -> None:
        """The name of the model whose predictions ``role`` holds, and the option naming
        its column (for messages)."""
        self.models[role] = (name, flag)

    def add_model(self, model: int, pred: ColumnRef, target: ColumnRef | None, *,
                  name: str, flag: str) -> None:
        """Model ``model`` of a comparison: its predictions (role ``pred#model``) and, when
        its file brings its own, its targets (``target#model``) — columns picked by
        :func:`losscli.io.binding.bind_model`."""
        self.name_model(f"pred#{model}", name, flag)
        self.roles[f"pred#{model}"] = pred
        if target is not None:
            self.roles[f"target#{model}"] = target

    def bind_keys(self, names: list[str] | tuple[str, ...]) -> None:
        """Read columns ``names`` as they are, beside the roles: each batch then carries
        their values in ``Batch.keys`` (see :data:`losscli.io.base.RAW` for the dtypes). A
        name is looked up in the predictions' source first (a column, case-insensitively if
        need be, or a hive partition key), then in the other inputs'; a name found nowhere is
        an InputError naming the predictions' file and listing its columns. Bind them
        before the first rows are read (:meth:`peek`): a pipe cannot be read again."""
        if self._peeked is not None:
            raise RuntimeError("Inputs.bind_keys: bind keys before the first rows are read")
        sources = list(dict.fromkeys((id(ref.source), ref.source) for ref in
                                     [self.roles[r] for r in self._main_first()]))
        for name in names:
            if name in self.keys:  # bound already (a join's key: losscli.io.binding)
                continue
            for _, source in sources:
                column = raw_column(source, name)
                if column is not None:
                    self.keys[name] = (source, column)
                    break
            else:
                main = self.main
                partition = partition_keys(main)
                shown = list_columns([*main.columns, *partition])
                raise InputError(
                    f"No column '{name}' in '{main.name}' to read as a key; its columns are: "
                    f"{shown}.{did_you_mean(name, [*main.columns, *partition])}")

    def bind_raw(self, name: str, source: Any, column: str) -> None:
        """Read ``column`` of ``source`` as it is under key ``name`` (an id-like column
        read on both sides of a row-aligned pair: :func:`losscli.io.binding.id_columns`)."""
        self.keys[name] = (source, column)

    def join_role(self, role: str) -> ColumnRef:
        """Move ``role`` out of the rows read side by side: it is read by a join by key
        (--id-col, :func:`losscli.io.binding.bind_join`), and still named in messages."""
        ref = self.joined[role] = self.roles.pop(role)
        return ref

    def take_labels(self, role: str) -> Any:
        """The label map of ``role``, no longer applied here (its reader applies it)."""
        return self.labels.pop(role, None)

    def bind_labels(self, role: str, labels: Any) -> None:
        """Read ``role``'s one column as labels (:mod:`losscli.labels`): raw when
        ``labels.raw``, else as float64, and turned into class indices by
        ``labels.encode(chunk, first row)`` before a batch is made. Bind before the first
        rows are read."""
        if self._peeked is not None:
            raise RuntimeError("Inputs.bind_labels: bind labels before the first rows are read")
        self.labels[role] = labels

    def order_columns(self, role: str, columns: tuple[str, ...]) -> None:
        """Read ``role``'s columns in the class order the label rule decided (the same
        columns, reordered)."""
        ref = self.roles[role]
        if sorted(columns) != sorted(ref.columns):
            raise RuntimeError(f"Inputs.order_columns: {columns} are not the columns of {role}")
        self.roles[role] = replace(ref, columns=columns)

    def _raw_label(self, role: str) -> bool:
        return role in self.labels and bool(self.labels[role].raw)

    def _main_first(self) -> list[str]:
        main = next(r for r in ("pred", "anchor") if r in self.roles) if (
            "pred" in self.roles or "anchor" in self.roles) else next(iter(self.roles))
        return [main, *(r for r in self.roles if r != main)]

    def declared_width(self) -> int:
        """The most values per row of any role that is known before reading: several
        columns bound to it, a 2-D NPY array or a fixed-size list column (variable-length
        list columns are known only once read)."""
        return max([1, *(max([len(ref.columns), *(ref.source.values_per_row(c) for c in ref.columns)])
                         for ref in self.roles.values())])

    @property
    def chunk_size(self) -> int | None:
        """The chunk size of the rows ``peek`` read and holds for the next ``batches``."""
        return None if self._peeked is None else self._peeked[0]

    def peek(self, chunk_size: int, rows: int, *,
             settled: Callable[[dict[str, np.ndarray]], bool] | None = None
             ) -> dict[str, np.ndarray] | None:
        """The first ``rows`` rows of every role (fewer if the input is shorter; None when it
        is empty), read in chunks of ``chunk_size``. The next ``batches`` call with the same
        chunk size replays those chunks instead of reading them again, so a stream that
        cannot be re-read (a pipe) is read once.

        Fewer rows, too, when rows are wide (at most about PEEK_VALUES values are held, and
        at least one chunk); and when a pipe pauses once some rows have arrived and
        ``settled(rows so far)`` says that more rows could not change what the caller
        decides from them (so that rows arriving slowly are evaluated as they come)."""
        stream = self._stream(chunk_size)
        held: list[Batch] = []
        count = values = 0
        while count < rows and (not held or values < PEEK_VALUES):
            batch = next(stream, None)
            if batch is None:
                break
            if not batch.arrays:  # a pipe paused
                if held and settled is not None and settled(_joined(held, rows)):
                    break
                continue
            held.append(batch)
            count += len(batch)
            values += sum(a.size for a in batch.arrays.values())
        self._peeked = (chunk_size, held, stream)
        return _joined(held, rows) if held else None

    def peeked_keys(self, names: list[str] | tuple[str, ...], rows: int) -> list[np.ndarray]:
        """The raw values of bound keys ``names`` in the rows :meth:`peek` returned."""
        held = [] if self._peeked is None else self._peeked[1]
        return [concat_column([b.keys[n] for b in held])[:rows] if held else
                np.empty(0, dtype=object) for n in names]

    def drop_peeked(self) -> None:
        """Close what :meth:`peek` holds for a :meth:`batches` that will not come (the rows
        are read in ranges): its chunks and the reader under them (~11 MB of a Parquet row
        group's buffers, held through the run otherwise)."""
        peeked, self._peeked = self._peeked, None
        if peeked is not None:
            getattr(peeked[2], "close", lambda: None)()

    def batches(self, chunk_size: int) -> Iterator[Batch]:
        """Aligned chunks; a length mismatch between files is an InputError naming both."""
        if self._peeked is not None and self._peeked[0] == chunk_size:
            _, held, stream = self._peeked
            self._peeked = None
            yield from held
        else:
            stream = self._stream(chunk_size)
        for batch in stream:
            if batch.arrays:  # pauses only matter to peek
                yield batch

    def splittable(self) -> bool:
        """Whether every input can read any range of rows on its own (then the work can be
        split into units read side by side; see :meth:`batches_between`)."""
        return all(can_split(ref.source) for ref in self.roles.values())

    def batches_between(self, start: int, stop: int, chunk_size: int) -> Iterator[Batch]:
        """Aligned chunks of rows ``start .. stop`` only (:meth:`splittable` inputs); the
        chunks start at ``start``."""
        for batch in self._aligned(
                lambda source, columns, raw: source.read_range(
                    columns, start, stop, chunk_size, raw) if raw else source.read_range(
                    columns, start, stop, chunk_size),
                chunk_size, start):
            if batch.arrays:
                yield batch

    def paired(self) -> bool:
        """Whether every input is a dataset paired file by file with the predictions' (the
        same source, or one of as many files: :meth:`batches_in_file` can read them)."""
        main = self.main
        if not isinstance(main, MultiFile):
            return False
        sources = [ref.source for ref in self.roles.values()] + [s for s, _ in
                                                                 self.keys.values()]
        return all(s is main or (isinstance(s, MultiFile) and len(s.files) == len(main.files))
                   for s in sources)

    def batches_in_file(self, part: int, lo: int, hi: int | None, chunk_size: int,
                        start: int) -> Iterator[Batch]:
        """Aligned chunks of rows ``lo .. hi`` (None: to its end) of file ``part`` of every
        input (:meth:`paired` inputs), the first numbered ``start``; a length mismatch names
        the two files."""
        def read(source: Any, columns: list[str], raw: tuple[str, ...]) -> Any:
            return source.read_part(part, columns, chunk_size, raw, lo, hi)

        def name(source: Any) -> str:
            return str(source.files[part].display)

        for batch in self._aligned(read, chunk_size, start, name=name, origin=start - lo):
            if batch.arrays:
                yield batch

    def _stream(self, chunk_size: int) -> Iterator[Batch]:
        if self.paired():  # file by file: a pair of files of different lengths is named
            start = 0
            for part in range(len(self.main.files)):
                for batch in self.batches_in_file(part, 0, None, chunk_size, start):
                    start = batch.start + len(batch)
                    yield batch
            return
        yield from self._aligned(lambda source, columns, raw: source.chunks(
            columns, chunk_size, raw) if raw else source.chunks(columns, chunk_size),
            chunk_size, 0)

    def _aligned(self, read: Any, chunk_size: int, start: int, *,
                 name: Any = None, origin: int = 0) -> Iterator[Batch]:
        """Aligned batches of every source; a batch with no arrays marks a pause of a pipe
        (nothing more has arrived for now). Sources are re-chunked to ``chunk_size`` rows;
        when one hands on fewer (a pipe that paused), the others' rows wait for the next
        batch, so batches may be shorter than ``chunk_size``. ``read(source, columns, raw)``
        reads one source; ``name(source)`` names it in a length mismatch, whose row counts
        count from ``origin``."""
        if chunk_size < 1:
            raise UsageError(f"--chunk-size must be at least 1, got {chunk_size}.")
        by_source: dict[int, tuple[Any, list[tuple[str, tuple[str, ...]]], list[str]]] = {}
        for role, ref in self.roles.items():
            by_source.setdefault(id(ref.source), (ref.source, [], []))[1].append(
                (role, ref.columns))
        for source, column in self.keys.values():
            by_source.setdefault(id(source), (source, [], []))[2].append(column)
        for role in self.labels:  # label columns read raw (text, CSV/NDJSON booleans)
            if self._raw_label(role):
                ref = self.roles[role]
                by_source[id(ref.source)][2].append(CodesOnly(ref.columns[0]))
        streams = []
        for source, pairs, raw in by_source.values():
            columns = list(dict.fromkeys(col for role, cols in pairs for col in cols
                                         if not self._raw_label(role)))
            streams.append((source, pairs, rechunk(read(source, columns, tuple(
                dict.fromkeys(raw))), chunk_size)))
        keys = [(key, raw_key(column), next(i for i, (s, _, _) in enumerate(streams)
                                            if s is source))
                for key, (source, column) in self.keys.items()]
        held: list[dict[str, np.ndarray] | None] = [None] * len(streams)
        ended = [False] * len(streams)
        while True:
            for i, (_, _, stream) in enumerate(streams):
                if held[i] is None and not ended[i]:
                    part = next(stream, None)
                    if part is None:
                        ended[i] = True
                    elif part:
                        held[i] = part
            if any(h is None and not e for h, e in zip(held, ended)):
                yield Batch(start, {})  # a pipe paused: its next rows are yet to come
                continue
            if all(ended):
                return
            if any(ended):
                self._length_mismatch(streams, held, start - origin, name)
            n = min(rows_of(h) for h in held if h is not None)
            arrays: dict[str, np.ndarray] = {}
            parts: list[dict[str, np.ndarray]] = []
            for i, (_, pairs, _) in enumerate(streams):
                part = held[i]
                assert part is not None
                if rows_of(part) > n:
                    held[i] = {k: v[n:] for k, v in part.items()}
                    part = {k: v[:n] for k, v in part.items()}
                else:
                    held[i] = None
                parts.append(part)
                for role, cols in pairs:
                    arrays[role] = (self.labels[role].encode(part, start) if role in self.labels
                                    else self._role_array(role, cols, part))
            widths = {role: 1 if a.ndim == 1 else a.shape[1] for role, a in arrays.items()}
            if not self.widths:
                self.widths = widths
            elif widths != self.widths:
                self._width_changed(widths, start)
            batch = Batch(start, arrays, {key: parts[i][k] for key, k, i in keys} if keys else {})
            start += len(batch)
            yield batch

    def _role_array(self, role: str, cols: tuple[str, ...], part: dict[str, np.ndarray]
                    ) -> np.ndarray:
        """The role's values: one column as is, several stacked into (n, C); (n, 1) becomes
        (n,), so that one value per row always has one shape."""
        if len(cols) == 1:
            array = part[cols[0]]
        else:
            for i, c in enumerate(cols):
                if part[c].ndim != 1:
                    raise InputError(
                        f"{self.describe(role, i)} holds several values per row, so it cannot "
                        f"be combined with other columns in {ROLES[role].col_flag}; give it "
                        "alone, or give only scalar columns."
                    )
            array = np.column_stack([part[c] for c in cols])
        if array.ndim == 2 and array.shape[1] == 1:
            array = array[:, 0]
        if role == "weight" and array.ndim != 1:
            raise InputError(
                f"Sample weights in {self.describe(role)} have {array.shape[1]} values per row; "
                "give one weight per row."
            )
        return array

    def _width_changed(self, widths: dict[str, int], start: int) -> None:
        role = next(r for r in widths if widths[r] != self.widths.get(r))
        raise InputError(
            f"{self.describe(role)} holds {self.widths.get(role)} value(s) per row before row "
            f"{start} but {widths[role]} from there on; every row needs the same number of "
            "values (a list column whose first rows are null lists gives no width: fill them)."
        )

    def _length_mismatch(self, streams: list[Any], held: list[Any], start: int,
                         name: Any = None) -> None:
        counts = []
        for (source, _, stream), part in zip(streams, held):
            n = start
            if part is not None:
                n += rows_of(part)
                n += sum(rows_of(p) for p in stream if p)
            counts.append(f"'{source.name if name is None else name(source)}' has {n} rows")
        raise InputError(
            f"Row counts differ: {' but '.join(counts)}. Predictions, targets and weights are "
            "aligned by row order, so the files must have the same number of rows."
        )


#: Values held at most by :meth:`Inputs.peek` (besides its first chunk): 32 MB of float64.
PEEK_VALUES = 1 << 22


def _joined(held: list[Batch], rows: int) -> dict[str, np.ndarray]:
    """The first ``rows`` rows of ``held`` batches, one array per role."""
    return {role: np.concatenate([b.arrays[role] for b in held])[:rows]
            for role in held[0].arrays}


def list_columns(cols: list[str]) -> str:
    """Column names for a message (the first 20)."""
    return ", ".join(cols) if len(cols) <= 20 else f"{', '.join(cols[:20])}, ... ({len(cols)} columns)"


def raw_column(source: Any, name: str) -> str | None:
    """The column (or hive partition key) of ``source`` called ``name`` (case-insensitive
    when no exact match), or None."""
    names = [*source.columns, *partition_keys(source)]
    if name in names:
        return name
    lower = {c.lower(): c for c in names}
    return lower.get(name.lower())
