"""The mergeable, serialisable state of an evaluation: what a work unit reduces to.

A :class:`State` holds, per model, one :class:`Cell` — the rows seen and one aggregate per
loss instance (:mod:`losscli.aggregates`) — plus what must be judged only once every unit
is in: non-finite values under ``--nan-policy raise`` (reported with their total count and
first row), which negative binary label appeared first (0 or -1: a file must use one), the
first error a unit stopped at, which source rows the state covers, and a fingerprint of
the targets and weights read (:class:`Fingerprint`).

``a.merge(b)`` folds ``b`` in; merging is exact (see :mod:`losscli.stats.exact`), so the
states of any split of the rows, merged in any order or tree, equal the state of one pass
over the same chunks, bit for bit. ``to_dict``/``from_dict`` round-trip through JSON
exactly (floats as ``float.hex``), which is what saved states and remote workers use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from losscli.aggregates import Aggregate
from losscli.grouping import sort_key
from losscli.stats.calibration import CalibrationError
from losscli.stats.fields import MAX_TEXT, FieldError, Fields, check, nested, whole
from losscli.stats.sketch import QuantileSketch
from losscli.uncertainty import Uncertainty

#: Version of the serialised state: bumped only by an incompatible change.
STATE_VERSION = 1

_MASK64 = (1 << 64) - 1


@dataclass
class Cell:
    """The losses of one model over a set of rows: ``rows`` evaluated, ``rows_skipped``
    dropped by ``--nan-policy omit``, one aggregate per loss instance, and with ``--ci`` one
    interval state per loss (``uncertainty``) and, for a compared model, per loss the state
    of its paired difference to the first model (``paired``)."""

    losses: list[Aggregate]
    rows: int = 0
    rows_skipped: int = 0
    uncertainty: list[Uncertainty] | None = None
    #: ``paired[k][i]``: loss i's per-row differences of this model minus model k (k < this
    #: model), on the rows both kept — what compare's verdicts are tested on.
    paired: list[list[Uncertainty]] | None = None
    #: With --distribution: per loss a quantile sketch of its per-row values (None for a
    #: loss without per-row values).
    sketches: list[QuantileSketch | None] | None = None
    #: When the plan asks for it (``Plan.calibration``): the confidence bins of the model's
    #: predicted probabilities, for a reliability diagram when no ece/mce is selected. An
    #: extra for pictures, not a result: merged with a cell without one it is dropped (a
    #: diagram of part of the rows would mislead), never an error.
    calibration: CalibrationError | None = None

    def merge(self, other: Cell) -> Cell:
        if len(other.losses) != len(self.losses):
            raise ValueError("cannot merge cells of different loss lists")
        self.rows += other.rows
        self.rows_skipped += other.rows_skipped
        for mine, theirs in zip(self.losses, other.losses):
            mine.merge(theirs)
        if (self.sketches is None) != (other.sketches is None):
            raise ValueError("cannot merge cells with and without distributions")
        if self.sketches is not None and other.sketches is not None:
            for sk_a, sk_b in zip(self.sketches, other.sketches):
                if sk_a is not None and sk_b is not None:
                    sk_a.merge(sk_b)
        mine_u, theirs_u = self.uncertainty, other.uncertainty
        if (mine_u is None) != (theirs_u is None):
            raise ValueError("cannot merge cells with and without intervals")
        if mine_u is not None and theirs_u is not None:
            for a, b in zip(mine_u, theirs_u):
                a.merge(b)
        if (self.paired is None) != (other.paired is None):
            raise ValueError("cannot merge cells with and without paired differences")
        if self.paired is not None and other.paired is not None:
            for row_a, row_b in zip(self.paired, other.paired):
                for a, b in zip(row_a, row_b):
                    a.merge(b)
        if self.calibration is not None:
            if other.calibration is None:
                self.calibration = None
            else:
                self.calibration.merge(other.calibration)
        return self

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"rows": self.rows, "rows_skipped": self.rows_skipped,
                               "losses": [agg.to_dict() for agg in self.losses]}
        if self.uncertainty is not None:
            out["uncertainty"] = [u.to_dict() for u in self.uncertainty]
        if self.paired is not None:
            out["paired"] = [[u.to_dict() for u in row] for row in self.paired]
        if self.sketches is not None:
            out["sketches"] = [None if k is None else k.to_dict() for k in self.sketches]
        if self.calibration is not None:
            out["calibration"] = self.calibration.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], context: dict[str, Any] | None = None) -> Cell:
        """From :meth:`to_dict`'s JSON, every field checked (:mod:`losscli.stats.fields`),
        and its parts consistent: every loss, interval and sketch saw the cell's rows."""
        f = Fields(data, context)
        rows = f.count("rows")
        losses = f.each("losses", lambda d: Aggregate.from_dict(d, f.context), longest=4096)
        cell = cls(losses, rows, f.count("rows_skipped"))
        for i, agg in enumerate(losses):
            check(agg.rows == rows, f"losses[{i}].rows",
                  f"{agg.rows} rows in a cell of {rows}")
        if f.has("uncertainty"):
            cell.uncertainty = f.each("uncertainty", Uncertainty.from_dict, length=len(losses))
        if f.has("paired"):
            cell.paired = f.each("paired", lambda row: [
                nested(f"[{i}]", Uncertainty.from_dict, u)
                for i, u in enumerate(Fields({"": row}).items("", length=len(losses)))],
                longest=4096)
        if f.has("sketches"):
            cell.sketches = f.each("sketches", lambda k: None if k is None
                                   else QuantileSketch.from_dict(k), length=len(losses))
        if f.has("calibration"):
            cell.calibration = f.part("calibration", CalibrationError.from_dict)
        for name, states in (("uncertainty", cell.uncertainty or []),
                             ("sketches", cell.sketches or [])):
            for i, part in enumerate(states):
                seen = _rows_of(part)
                check(seen is None or seen == rows, f"{name}[{i}].rows",
                      f"{seen} rows in a cell of {rows}")
        return cell


def _rows_of(part: Any) -> int | None:
    """The rows an interval state or sketch saw (None: it keeps no count)."""
    if isinstance(part, QuantileSketch):
        return part.rows
    if part is None or part.kind == "none":
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

    def merge(self, other: NonFinite) -> None:
        for role, count in other.counts.items():
            self.add(role, count, other.first[role])

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

    def merge(self, other: Fingerprint) -> None:
        self.add(other.digest, other.rows)

    @property
    def hex(self) -> str:
        return f"{self.digest:016x}"


@dataclass
class JoinState:
    """What the join by key (``--id-col``, :mod:`losscli.io.join`) saw in a set of rows:
    which of the ``targets`` rows were matched (a bitmap: merging is an OR, and a row
    matched on both sides is a key matched twice), the prediction rows without a target
    (how many, and the first few in row order: row number and key)."""

    targets: int
    matched: Any = None  # uint8 per target row (1: matched)
    twice: int = 0  # target rows matched by more than one prediction row
    first_twice: list[int] = field(default_factory=list)  # their target positions
    unmatched: int = 0
    first_unmatched: list[tuple[int, Any]] = field(default_factory=list)  # (row, key)

    def __post_init__(self) -> None:
        import numpy as np

        if self.matched is None:
            self.matched = np.zeros(self.targets, np.uint8)

    def merge(self, other: JoinState) -> JoinState:
        import numpy as np

        if other.targets != self.targets:
            raise ValueError(f"cannot merge joins over {self.targets} and {other.targets} "
                             "target rows (other targets)")
        both = np.flatnonzero((self.matched > 0) & (other.matched > 0))
        self.twice += other.twice + int(both.size)
        self.first_twice = sorted({*self.first_twice, *other.first_twice,
                                   *(int(i) for i in both[:3])})[:3]
        self.matched |= other.matched
        self.unmatched += other.unmatched
        self.first_unmatched = sorted([*self.first_unmatched, *other.first_unmatched],
                                      key=lambda rk: rk[0])[:3]
        return self

    def to_dict(self) -> dict[str, Any]:
        import base64

        import numpy as np

        bits = np.packbits(self.matched.astype(bool))
        return {"targets": self.targets, "matched": base64.b64encode(bits.tobytes()).decode(),
                "twice": self.twice, "first_twice": list(self.first_twice),
                "unmatched": self.unmatched,
                "first_unmatched": [[r, k] for r, k in self.first_unmatched]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> JoinState:
        import base64

        import numpy as np

        f = Fields(data)
        text = f.text("matched", longest=1 << 31)
        n = f.count("targets", hi=len(text) * 6)  # base64: 6 bits a character
        try:
            bits = np.frombuffer(base64.b64decode(text, validate=True), np.uint8)
        except ValueError:
            raise FieldError("matched", "not base64") from None
        check(bits.size == (n + 7) // 8, "matched", f"{bits.size * 8} bits for {n} targets")
        matched = np.unpackbits(bits)[:n].astype(np.uint8)

        def first(item: Any) -> tuple[int, Any]:
            row, key = Fields({"": item}).items("", length=2)
            return whole(row), tuple(key) if isinstance(key, list) else key

        return cls(n, matched, f.count("twice"), f.each("first_twice", whole, longest=3),
                   f.count("unmatched"), f.each("first_unmatched", first, longest=3))


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
            "fingerprint": None if self.fingerprint is None else [
                self.fingerprint.hex, self.fingerprint.rows],
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
            def fingerprint(item: Any) -> Fingerprint:
                digest, rows = Fields({"": item}).items("", length=2)
                if not (isinstance(digest, str) and len(digest) == 16):
                    raise FieldError("[0]", "expected 16 hex digits")
                return Fingerprint(nested("[0]", int, digest, 16), nested("[1]", whole, rows))

            state.fingerprint = f.part("fingerprint", fingerprint)
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
        if f.has("join"):
            state.join = f.part("join", JoinState.from_dict)
        return state
