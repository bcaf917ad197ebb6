"""The plan of work units: which rows of a session's inputs reduce to one
:class:`~losscli.state.State` each, and where those rows sit in the whole input.

Row identity: each unit knows the file its rows come from (relative to the input root) and
the row within that file where it starts (:class:`Unit`), recorded in the state's coverage.

The unit plan (:func:`plan_units`) depends on the inputs' layout and the chunk size only:

* a Parquet file is cut at its row groups (whole groups; small ones merged), an NPY file or
  in-memory arrays into row ranges, a local Feather file at its record batches;
* a local, uncompressed UTF-8 CSV/TSV/NDJSON file, once its records are counted by a scan,
  at rows that are multiples of ``UNIT_CHUNKS × chunk size`` — so its chunks are those of
  one pass over the file, and whether it is cut (more than :data:`TEXT_SPLIT_WORKERS`
  workers, a file over :data:`TEXT_SPLIT_BYTES`) changes no bit;
* standard input, compressed text and text in object storage: one unit, read as a stream;
* many files (a folder, a glob, a URI): each file as a lone file of its format would be, or
  one unit; a unit never spans two files. A file whose row count is unknown before it is
  read (text not scanned) leaves the rows of the files after it unplaced: their units
  count rows from their file's start and are moved into place (their positions shifted)
  when merged in order — an error found in such a unit is found again with its rows in
  place, so messages name rows of the whole input as a serial pass would.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from losscli.errors import InputError
from losscli.executor import available_cpus
from losscli.io.base import TEXT_FORMATS, MultiFile, Scannable, can_split
from losscli.io.dataset import single_file_identity
from losscli.state import Position, State, UnitError

if TYPE_CHECKING:
    from losscli.session import Session


@dataclass(frozen=True)
class Unit:
    """A work unit: rows of the inputs that reduce to one State.

    ``file`` is where its rows come from (relative to the input root) and ``first_row`` the
    row of that file where it starts; ``start``/``stop`` are its rows in the whole input
    (``stop`` None: the unit is the whole input, or with ``part`` the whole file, read as
    one stream, e.g. a pipe); ``rows`` how many it covers (None when unknown before
    reading). ``part``: the file of a multi-file input the unit reads (its index), each
    input's file of that index. ``placed`` False: the rows of the files before are not
    known yet, so ``start``/``stop`` count from the file's first row (see the module doc).
    """

    index: int
    file: str
    first_row: int
    rows: int | None
    start: int = 0
    stop: int | None = None
    part: int | None = None
    placed: bool = True


#: Units hold between one and UNIT_CHUNKS chunks: row groups smaller than a chunk are
#: merged into one unit, a range longer than UNIT_CHUNKS chunks is cut in equal parts. The
#: plan depends only on the data's layout and the chunk size — never on the number of
#: workers — so every worker count reduces the same chunks and merges them in the same order:
#: the same bits.
UNIT_CHUNKS = 4
#: Text files (CSV, TSV, NDJSON) are scanned and cut into units only with more workers (and
#: CPUs) than this: read as one stream, a file's blocks are already parsed on two threads
#: beside the kernels, and the scan reads the file once more (200 MB, 5M rows of CSV: 0.14 s,
#: against 0.85 s of CPU to parse and reduce them; on 2 CPUs, in one process, the cut file
#: took 0.57 s, the stream 0.34 s). Cutting changes no bit (see the module doc), only time.
TEXT_SPLIT_WORKERS = 2
#: ... and only files of at least this many bytes.
TEXT_SPLIT_BYTES = 32 << 20
_PREPARING = threading.Lock()


def plan_ranges(points: list[int], chunk_size: int, cut: bool = True) -> list[tuple[int, int]]:
    """Unit ranges from a source's natural split points (see :data:`UNIT_CHUNKS`); with
    ``cut`` False a range is never cut inside (a Parquet row group is read whole)."""
    low, high = chunk_size, UNIT_CHUNKS * chunk_size
    merged: list[tuple[int, int]] = []
    start = points[0]
    for end in points[1:]:
        if end - start >= low or end == points[-1]:
            if end > start:
                merged.append((start, end))
            start = end
    if len(merged) > 1 and merged[-1][1] - merged[-1][0] < low:  # a short tail joins
        (a, _), (_, b) = merged[-2], merged[-1]
        merged[-2:] = [(a, b)]
    out: list[tuple[int, int]] = []
    for a, b in merged:
        parts = -(-(b - a) // high) if cut else 1
        out.extend((a + (b - a) * i // parts, a + (b - a) * (i + 1) // parts)
                   for i in range(parts))
    return out


class Placement:
    """Where each file of a multi-file input starts in the whole, learnt as units are merged
    in order: what an unplaced unit's rows are shifted by (see :class:`Unit`)."""

    def __init__(self) -> None:
        self.rows = 0  # rows of the units merged so far
        self.file_start: dict[int, int] = {}

    def shift(self, unit: Unit) -> int | None:
        """0 for a placed unit; for an unplaced one the first row of its file in the whole
        (None while the units before it are not all merged)."""
        if unit.placed or unit.part is None:
            return 0
        if unit.part in self.file_start:
            return self.file_start[unit.part]
        return self.rows if unit.first_row == 0 else None

    def merged(self, unit: Unit, state: State) -> None:
        if unit.part is not None:
            self.file_start.setdefault(unit.part, self.rows - unit.first_row)
        self.rows += sum(c.rows for c in state.coverage)

    def copy(self) -> Placement:
        out = Placement()
        out.rows, out.file_start = self.rows, dict(self.file_start)
        return out


def rebase(state: State, shift: int) -> None:
    """Move the row positions a state recorded by ``shift`` rows (NaN/inf first rows, first
    negative labels, the error's position; not its message)."""
    if not shift:
        return

    def moved(at: Position) -> Position:
        return Position(at.chunk_start + shift, at.row + shift)

    state.nonfinite.first = {role: moved(at) for role, at in state.nonfinite.first.items()}
    for seen in state.negatives.values():
        seen.at = moved(seen.at)
    if state.error is not None:
        state.error = UnitError(moved(state.error.at), state.error.message)


def plan_units(session: Session) -> list[Unit]:
    """The work units, in row order (the plan: see the module doc). Inputs that can read
    any range of rows are cut at their natural boundaries into units read side by side;
    others (a pipe, compressed text) are one unit read as one stream (the first rows,
    read to detect the task, are replayed); a multi-file input is planned file by
    file."""
    prepare(session)
    inputs = session.inputs
    main = inputs.main
    if isinstance(main, MultiFile) and inputs.paired():
        return _file_units(session, main)
    name = single_file_identity(main.name)
    if not inputs.splittable():
        return [Unit(0, name, 0, inputs.num_rows)]
    counts = {ref.source.name: ref.source.num_rows for ref in inputs.roles.values()}
    counts.update({s.name: s.num_rows for s, _ in inputs.keys.values()})
    if len(set(counts.values())) > 1:
        shown = " but ".join(f"'{n}' has {c} rows" for n, c in counts.items())
        raise InputError(
            f"Row counts differ: {shown}. Predictions, targets and weights are aligned by "
            "row order, so the files must have the same number of rows.")
    if isinstance(main, MultiFile):  # rows aligned across differently cut inputs
        units: list[Unit] = []
        starts = main.starts()
        for i in range(len(main.files)):
            part = main.part(i)
            for a, b in plan_ranges(part.split_points(), session.chunk_size,
                                    cut=part.rows_seekable):
                units.append(Unit(len(units), main.identities[i], a, b - a,
                                  starts[i] + a, starts[i] + b))
        return units
    ranges = plan_ranges(main.split_points(), session.chunk_size, cut=main.rows_seekable)
    return [Unit(i, name, a, b - a, a, b) for i, (a, b) in enumerate(ranges)]


def _file_units(session: Session, main: MultiFile) -> list[Unit]:
    """Units of paired multi-file inputs: file by file (see the module doc)."""
    sources = list(dict.fromkeys([ref.source for ref in session.inputs.roles.values()]
                                 + [s for s, _ in session.inputs.keys.values()]))
    units: list[Unit] = []
    offset: int | None = 0  # rows of the files before, while known
    for i in range(len(main.files)):
        parts = [s.part(i) for s in sources]
        counts = {s.files[i].display: p.num_rows for s, p in zip(sources, parts)
                  if p.num_rows is not None}
        if len(set(counts.values())) > 1:
            shown = " but ".join(f"'{n}' has {c} rows" for n, c in counts.items())
            raise InputError(
                f"Row counts differ: {shown}. Paired files are aligned by row order, so "
                "each pair must have the same number of rows.")
        rows = next(iter(counts.values())) if len(counts) == len(parts) else None
        first = main.part(i)
        ranges: list[tuple[int, int]] | None = None
        if rows is not None and all(can_split(p) for p in parts):
            ranges = plan_ranges(first.split_points(), session.chunk_size,
                                 cut=first.rows_seekable)
        placed = offset is not None
        base = offset or 0
        if ranges is None:  # the whole file, read as one stream
            units.append(Unit(len(units), main.identities[i], 0, rows, base, None, i,
                              placed))
        else:
            units.extend(Unit(len(units) + k, main.identities[i], a, b - a, base + a,
                              base + b, i, placed) for k, (a, b) in enumerate(ranges))
        offset = None if offset is None or rows is None else offset + rows
    return units


def prepare(session: Session) -> None:
    """Before a plan (or a unit on a Dask worker): open the files of the datasets read
    (from object storage on several threads) and, when text files are to be cut (see
    :data:`TEXT_SPLIT_WORKERS`), scan them. Done once."""
    if session.prepared:
        return
    with _PREPARING:  # a Dask worker may run several units of a session at once
        if not session.prepared:
            _prepare_sources(session)
            session.prepared = True


def _prepare_sources(session: Session) -> None:
    sources = list(dict.fromkeys([ref.source for ref in session.inputs.roles.values()]
                                 + [s for s, _ in session.inputs.keys.values()]))
    split = (session.spec.options.engine == "dask"
             or min(session.workers, available_cpus()) > TEXT_SPLIT_WORKERS)
    step = UNIT_CHUNKS * session.chunk_size
    for source in sources:
        if isinstance(source, MultiFile):
            if source.format in TEXT_FORMATS:
                source.open_all()
            parts = [source.part(i) for i in range(len(source.files))]
        else:
            parts = [source]
        if split:
            for part in parts:
                if isinstance(part, Scannable) and (part.size or 0) >= TEXT_SPLIT_BYTES:
                    part.scan(step)

