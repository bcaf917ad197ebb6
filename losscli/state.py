"""The mergeable, serialisable state of an evaluation: what a work unit reduces to.

A :class:`State` holds, per model, one :class:`Cell` — the rows seen and one aggregate per
loss instance (:mod:`losscli.aggregates`) — plus what must be judged only once every unit
is in: non-finite values under ``--nan-policy raise`` (reported with their total count and
first row), which negative binary label appeared first (0 or -1: a file must use one), the
first error a unit stopped at, which source rows the state covers, and a fingerprint of
the targets and weights read (:class:`Fingerprint`).

Every part, down to an exact sum, keeps the one contract of
:class:`~losscli.stats.mergeable.Mergeable` (:data:`losscli.state_parts.PARTS` lists them):
``a.merge(b)`` folds ``b`` in, in place, and returns ``a``; merging is exact (see
:mod:`losscli.stats.exact`), so the states of any split of the rows, merged in any order or
tree, equal the state of one pass over the same chunks, bit for bit.
``to_dict``/``from_dict`` round-trip through JSON exactly (floats as ``float.hex``), which
is what saved states and remote workers use. A :class:`Cell` declares each of its parts once
(:class:`Part`), and its merge and serialisation walk the declarations. The class of an
optional part (intervals, sketches, calibration bins) is imported when a cell with it is
built or read, not with this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from functools import partial
from itertools import pairwise
from typing import TYPE_CHECKING, Any, NamedTuple

from losscli.aggregates import Aggregate
from losscli.grouping import sort_key
from losscli.stats.fields import MAX_TEXT, FieldError, Fields, check, nested, whole

if TYPE_CHECKING:
    from losscli.stats.calibration import CalibrationError
    from losscli.stats.joins import JoinState
    from losscli.stats.sketch import QuantileSketch
    from losscli.uncertainty import Uncertainty

#: Version of the serialised state: bumped only by an incompatible change.
STATE_VERSION = 1

_MASK64 = (1 << 64) - 1


class Part(NamedTuple):
    """How a :class:`Cell` field holding mergeable parts (:class:`Mergeable`) is merged and
    serialised — declared once beside the field, like torchmetrics' ``add_state`` (a named
    tuple: a frozen dataclass costs half a millisecond of every run's start-up).

    ``kind``: loads the parts' class (when a cell with the field is read); ``required``:
    always written; ``depth``: 0 one part, 1 a list of them (one per loss), 2 a list of such
    lists; ``what``: the field in messages; ``per_loss``: each list has one entry per loss;
    ``holes``: an entry may be None (merged as absent); ``extra``: a field for pictures, not
    results — merged with a cell without it, it is dropped (part of the rows would mislead),
    never an error; ``context``: ``from_dict`` takes the reader's context."""

    kind: Callable[[], type[Any]]
    required: bool = False
    depth: int = 1
    what: str = ""
    per_loss: bool = True
    holes: bool = False
    extra: bool = False
    context: bool = False


def _part(kind: Callable[[], type[Any]], *args: Any, **kwargs: Any) -> dict[str, Part]:
    """A :class:`Cell` field's metadata: how its parts merge and serialise."""
    return {"part": Part(kind, *args, **kwargs)}


def _aggregate() -> type[Aggregate]:
    return Aggregate


def _uncertainty() -> type[Uncertainty]:
    from losscli.uncertainty import Uncertainty

    return Uncertainty


def _sketch() -> type[QuantileSketch]:
    from losscli.stats.sketch import QuantileSketch

    return QuantileSketch


def _calibration() -> type[CalibrationError]:
    from losscli.stats.calibration import CalibrationError

    return CalibrationError


@dataclass
class Cell:
    """The losses of one model over a set of rows: ``rows`` evaluated, ``rows_skipped``
    dropped by ``--nan-policy omit``, and mergeable parts, each field declared once with
    its :class:`Part` (merge, ``to_dict`` and ``from_dict`` walk the declarations)."""

    #: One aggregate per loss instance.
    losses: list[Aggregate] = field(metadata=_part(_aggregate, True, what="loss lists",
                                                   per_loss=False, context=True))
    rows: int = 0
    rows_skipped: int = 0
    #: With ``--ci``: one interval state per loss.
    uncertainty: list[Uncertainty] | None = field(
        default=None, metadata=_part(_uncertainty, what="intervals"))
    #: ``paired[k][i]``: loss i's per-row differences of this model minus model k (k < this
    #: model), on the rows both kept — what compare's verdicts are tested on.
    paired: list[list[Uncertainty]] | None = field(
        default=None, metadata=_part(_uncertainty, depth=2, what="paired differences"))
    #: With --distribution: per loss a quantile sketch of its per-row values (None for a
    #: loss without per-row values).
    sketches: list[QuantileSketch | None] | None = field(
        default=None, metadata=_part(_sketch, what="distributions", holes=True))
    #: When the plan asks for it (``Plan.calibration``): the confidence bins of the model's
    #: predicted probabilities, for a reliability diagram when no ece/mce is selected.
    calibration: CalibrationError | None = field(
        default=None, metadata=_part(_calibration, depth=0, what="calibration", extra=True))

    def merge(self, other: Cell) -> Cell:
        """Fold ``other`` in (in place) and return self."""
        self.rows += other.rows
        self.rows_skipped += other.rows_skipped
        for name, part in _PARTS:
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is None or theirs is None:
                if part.extra:
                    setattr(self, name, None)
                elif (mine is None) != (theirs is None):
                    raise ValueError(f"cannot merge cells with and without {part.what}")
                continue
            _merge(mine, theirs, part.depth, part.what)
        return self

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": self.rows, "rows_skipped": self.rows_skipped}
        for name, part in _PARTS:
            value = getattr(self, name)
            if value is not None:
                out[name] = _encode(value, part.depth)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], context: dict[str, Any] | None = None) -> Cell:
        """From :meth:`to_dict`'s JSON, every field checked (:mod:`losscli.stats.fields`),
        and its parts consistent: every loss, interval and sketch saw the cell's rows."""
        f = Fields(data, context)
        rows = f.count("rows")
        cell = cls([], rows, f.count("rows_skipped"))
        for name, part in _PARTS:
            if part.required or f.has(name):
                setattr(cell, name, _decode(f, name, part, len(cell.losses)))
        for name in ("losses", "uncertainty", "sketches"):
            for i, item in enumerate(getattr(cell, name) or []):
                seen = (None if item is None else _interval_rows(item) if name == "uncertainty"
                        else item.rows)
                check(seen is None or seen == rows, f"{name}[{i}].rows",
                      f"{seen} rows in a cell of {rows}")
        return cell


#: The part fields of a :class:`Cell`, in their order.
_PARTS: tuple[tuple[str, Part], ...] = tuple(
    (f.name, f.metadata["part"]) for f in fields(Cell) if "part" in f.metadata)


def _merge(mine: Any, theirs: Any, depth: int, what: str) -> None:
    """Merge ``theirs`` into ``mine``: parts nested ``depth`` lists deep (None: absent)."""
    if depth == 0:
        if mine is not None and theirs is not None:
            mine.merge(theirs)
        return
    if len(mine) != len(theirs):
        raise ValueError(f"cannot merge cells of different {what}")
    for a, b in zip(mine, theirs):
        _merge(a, b, depth - 1, what)


def _encode(value: Any, depth: int) -> Any:
    if depth == 0:
        return None if value is None else value.to_dict()
    return [_encode(v, depth - 1) for v in value]


def _decode(f: Fields, name: str, part: Part, losses: int) -> Any:
    """Field ``name`` read as :class:`Part` ``part`` declares (a cell of ``losses`` losses)."""
    kind = part.kind()

    def one(item: Any) -> Any:
        if item is None and part.holes:
            return None
        return kind.from_dict(item, f.context) if part.context else kind.from_dict(item)

    if part.depth == 0:
        return f.part(name, one)
    size: dict[str, int] = {"length": losses} if part.per_loss else {"longest": 4096}
    if part.depth == 1:
        return f.each(name, one, **size)
    return f.each(name, lambda row: [nested(f"[{i}]", one, u) for i, u in enumerate(
        Fields({"": row}).items("", length=losses))], longest=4096)


def _interval_rows(part: Uncertainty) -> int | None:
    """The rows an interval state saw (None: it keeps no count)."""
    if part.kind == "none":
        return None
    if part.moments is not None:
        return int(part.moments.rows)
    return None if part.boot is None else int(part.boot.rows)


@dataclass(frozen=True, order=True)
class Position:
    """Where in the stream something happened: the first row of the chunk it was found
    in (what a serial run would have reached), then the row itself. Orders errors."""

    chunk_start: int
    row: int


@dataclass
class NonFinite:
    """NaN/inf values seen under ``--nan-policy raise``, per role: count and first row."""

    counts: dict[str, int] = field(default_factory=dict)
    first: dict[str, Position] = field(default_factory=dict)

    def add(self, role: str, count: int, at: Position) -> None:
        if count:
            self.counts[role] = self.counts.get(role, 0) + count
            if role not in self.first or at < self.first[role]:
                self.first[role] = at

    def merge(self, other: NonFinite) -> NonFinite:
        for role, count in other.counts.items():
            self.add(role, count, other.first[role])
        return self

    @property
    def earliest(self) -> Position | None:
        return min(self.first.values(), default=None)

    def to_dict(self) -> dict[str, Any]:
        return {role: [self.counts[role], self.first[role].chunk_start, self.first[role].row]
                for role in sorted(self.counts)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> NonFinite:
        f = Fields(data)
        out = cls()
        for role in data:
            count, chunk, row = f.each(role, whole, length=3)
            out.add(role, count, Position(chunk, row))
        return out


@dataclass
class LabelSeen:
    """Where a negative binary label (0 or -1) first appeared, and how many rows of the
    chunk it first appeared in carry it."""

    at: Position
    in_chunk: int


@dataclass
class UnitError:
    """The error a unit stopped at, and where: the lowest position wins after a merge,
    which is the error a serial pass over the same chunks raises."""

    at: Position
    message: str


@dataclass(frozen=True, order=True)
class Coverage:
    """Rows ``first_row .. first_row + rows`` of ``file`` (a path relative to the input
    root, ``<stdin>``, or an in-memory name)."""

    file: str
    first_row: int
    rows: int


def coalesce(ranges: list[Coverage]) -> list[Coverage]:
    """Sorted, with adjacent ranges of the same file joined (merging units in order keeps
    one range per file)."""
    if any(b < a for a, b in pairwise(ranges)):
        ranges = sorted(ranges)
    out: list[Coverage] = []
    for r in ranges:
        last = out[-1] if out else None
        if last is not None and last.file == r.file and last.first_row + last.rows == r.first_row:
            out[-1] = Coverage(r.file, last.first_row, last.rows + r.rows)
        else:
            out.append(r)
    return out


@dataclass
class Fingerprint:
    """What the rows' targets and weights were, order-independently: ``digest`` is the sum
    mod 2^64 of a 64-bit hash of each row (:meth:`losscli.fingerprint.RowHasher.sum`),
    ``rows`` how many rows were hashed. Parts of a run combine by adding, so any chunking, row
    order or split into units gives the same fingerprint."""

    digest: int = 0
    rows: int = 0

    def add(self, digest: int, rows: int) -> None:
        self.digest = (self.digest + digest) & _MASK64
        self.rows += rows

    def merge(self, other: Fingerprint) -> Fingerprint:
        self.add(other.digest, other.rows)
        return self

    def to_dict(self) -> dict[str, Any]:
        return {"digest": self.hex, "rows": self.rows}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Fingerprint:
        f = Fields(data)
        return cls.from_json([f.raw("digest"), f.raw("rows")])

    def to_json(self) -> list[Any]:
        """The compact form a :class:`State` keeps: ``[digest, rows]``."""
        return [self.hex, self.rows]

    @classmethod
    def from_json(cls, item: Any) -> Fingerprint:
        digest, rows = Fields({"": item}).items("", length=2)
        if not (isinstance(digest, str) and len(digest) == 16):
            raise FieldError("[0]", "expected 16 hex digits")
        return cls(nested("[0]", int, digest, 16), nested("[1]", whole, rows))

    @property
    def hex(self) -> str:
        return f"{self.digest:016x}"


def _group_parts(groups: dict[tuple[Any, ...], list[Cell]], model: int, index: int
                 ) -> list[Aggregate]:
    """Loss ``index`` of model ``model`` in every group: what an overall aggregate read from
    its groups reads (a module-level function: a state stays picklable)."""
    return [cells[model].losses[index] for cells in groups.values()]


@dataclass
class State:
    """Everything an evaluation accumulates; see the module doc."""

    cells: list[Cell]
    nonfinite: NonFinite = field(default_factory=NonFinite)
    negatives: dict[float, LabelSeen] = field(default_factory=dict)
    error: UnitError | None = None
    coverage: list[Coverage] = field(default_factory=list)
    fingerprint: Fingerprint | None = None  # None: no targets were read
    #: --group-by: per group key (a tuple of plain values, :mod:`losscli.grouping`) one cell
    #: per model, over the group's rows; ``cells`` stay the overall ones. None: not grouped.
    groups: dict[tuple[Any, ...], list[Cell]] | None = None
    join: JoinState | None = None  # --id-col: what the join by key saw

    def read_overall_from_groups(self) -> State:
        """``--group-by``: every row of the overall cells is in exactly one group (a null key
        is a group of its own; a row omitted overall is omitted in its group), so an overall
        part that can be read from its groups' parts keeps nothing of its own
        (:meth:`~losscli.aggregate_base.Aggregate.union_of`: the exact ranking keeps no
        score twice). Called on a grouped run's empty state; merging keeps it so (the groups
        merge by key) and its saved form is the same. Returns self."""
        assert self.groups is not None and not self.rows
        for model, cell in enumerate(self.cells):
            for index, agg in enumerate(cell.losses):
                agg.union_of(partial(_group_parts, self.groups, model, index))
        return self

    def note_error(self, at: Position, message: str) -> None:
        if self.error is None or at < self.error.at:
            self.error = UnitError(at, message)

    def note_label(self, label: float, at: Position, in_chunk: int) -> None:
        seen = self.negatives.get(label)
        if seen is None or at < seen.at:
            self.negatives[label] = LabelSeen(at, in_chunk)

    def merge(self, other: State) -> State:
        """Fold ``other`` into this state (in place) and return it."""
        if len(other.cells) != len(self.cells):
            raise ValueError("cannot merge states of different models")
        for mine, theirs in zip(self.cells, other.cells):
            mine.merge(theirs)
        if (self.groups is None) != (other.groups is None):
            raise ValueError("cannot merge a grouped state with an ungrouped one")
        if self.groups is not None and other.groups is not None:
            for key, cells in other.groups.items():
                own = self.groups.get(key)
                if own is None:
                    self.groups[key] = cells
                else:
                    for mine, theirs in zip(own, cells):
                        mine.merge(theirs)
        if other.join is not None:
            self.join = other.join if self.join is None else self.join.merge(other.join)
        self.nonfinite.merge(other.nonfinite)
        for label, seen in other.negatives.items():
            self.note_label(label, seen.at, seen.in_chunk)
        if other.error is not None:
            self.note_error(other.error.at, other.error.message)
        self.coverage = coalesce([*self.coverage, *other.coverage])
        if other.fingerprint is not None:
            if self.fingerprint is None:
                self.fingerprint = Fingerprint()
            self.fingerprint.merge(other.fingerprint)
        return self

    @property
    def rows(self) -> int:
        return self.cells[0].rows if self.cells else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "state_version": STATE_VERSION,
            "cells": [cell.to_dict() for cell in self.cells],
            "nonfinite": self.nonfinite.to_dict(),
            "negatives": {repr(label): [s.at.chunk_start, s.at.row, s.in_chunk]
                          for label, s in sorted(self.negatives.items())},
            "error": None if self.error is None else {
                "chunk_start": self.error.at.chunk_start, "row": self.error.at.row,
                "message": self.error.message},
            "coverage": [[c.file, c.first_row, c.rows] for c in self.coverage],
            "fingerprint": None if self.fingerprint is None else self.fingerprint.to_json(),
            **({} if self.groups is None else {"groups": [
                {"key": list(key), "cells": [cell.to_dict() for cell in cells]}
                for key, cells in sorted(self.groups.items(), key=lambda kv: sort_key(kv[0]))]}),
            **({} if self.join is None else {"join": self.join.to_dict()}),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], context: dict[str, Any] | None = None) -> State:
        """A state from :meth:`to_dict`'s JSON — untrusted input (a saved state can be edited
        or truncated): every field is read through :mod:`losscli.stats.fields` and checked
        against what a run can write; a violation is a :class:`FieldError` naming the field.
        ``context``: what the reader knows of the run (``weighted``: whether it had weights).
        """
        f = Fields(data, context)
        version = f.count("state_version", what="a state version")
        if version > STATE_VERSION:
            raise FieldError("state_version", f"state version {version!r} is not readable by "
                             f"this losscli (it reads up to {STATE_VERSION})")
        state = cls(f.each("cells", lambda c: Cell.from_dict(c, f.context), longest=4096),
                    f.part("nonfinite", NonFinite.from_dict) if f.has("nonfinite")
                    else NonFinite())
        check(len({len(c.losses) for c in state.cells}) <= 1, "cells",
              "cells of different loss counts")

        def negative(label: str) -> tuple[float, list[int]]:
            check(label in ("0.0", "-1.0"), "", f"not a negative binary label: {label!r:.40}")
            return float(label), Fields({"": data["negatives"][label]}).each(
                "", whole, length=3)

        negatives = f.raw("negatives", {})
        check(isinstance(negatives, dict), "negatives", "expected an object")
        for label in negatives:
            value, (chunk, row, count) = nested(f"negatives.{label[:40]}", negative, label)
            state.note_label(value, Position(chunk, row), count)
        if f.has("error"):
            err = f.sub(f.raw("error"))
            state.error = nested("error", lambda: UnitError(
                Position(err.count("chunk_start"), err.count("row")), err.text("message")))

        def coverage(item: Any) -> Coverage:
            name, first, rows = Fields({"": item}).items("", length=3)
            if not isinstance(name, str) or len(name) > MAX_TEXT:
                raise FieldError("[0]", "expected a file name")
            return Coverage(name, nested("[1]", whole, first), nested("[2]", whole, rows))

        state.coverage = coalesce(f.each("coverage", coverage, default=[]))
        if f.has("fingerprint"):  # absent from states of older versions
            state.fingerprint = f.part("fingerprint", Fingerprint.from_json)
        if f.has("groups"):
            def group(g: Any) -> tuple[tuple[Any, ...], list[Cell]]:
                gf = f.sub(g)
                key = gf.items("key", longest=64)
                if not all(k is None or isinstance(k, str | int | float | bool) for k in key):
                    raise FieldError("key", "expected plain values")
                cells = gf.each("cells", lambda c: Cell.from_dict(c, f.context),
                                length=len(state.cells))
                return tuple(key), cells

            state.groups = dict(f.each("groups", group))
        if f.has("join"):  # --id-col
            from losscli.stats.joins import JoinState

            state.join = f.part("join", JoinState.from_dict)
        return state
