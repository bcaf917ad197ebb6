"""Text output plumbing of the tables: a rich console on a terminal (plain, full-width text
elsewhere), tables fitted to the terminal with every number whole (:func:`fitted_table`),
lines under a table (:func:`note_line`), Markdown and CSV cells (:func:`md_escape`,
:class:`SafeWriter`); the one writer of a text format to its stream is
:func:`losscli.present.output.emit`. Every cell and line passes
:func:`losscli.present.text.printable` where it is placed."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, replace
from typing import IO, Any

from losscli.present.text import is_terminal, printable

__all__ = ["Col", "SafeWriter", "console_of", "csv_float", "fitted_table", "md_escape",
           "note_line", "wrap_label"]


def console_of(out: IO[str]) -> tuple[Any, bool]:
    """A rich console: colour on a terminal; plain, full-width text otherwise. Text is
    printed as it is: no console markup (``[red]``) and no emoji codes (``:warning:``)
    are read in it — a group key or a label is never styled or replaced by what it says."""
    from rich.console import Console

    tty = is_terminal(out)
    return Console(
        file=out, no_color=not tty, highlight=False, force_terminal=tty, markup=False,
        emoji=False, width=None if tty else 10_000, color_system="auto" if tty else None,
    ), tty


def note_line(console: Any, tty: bool, text: str, style: str | None = None) -> None:
    """One line of text under a table, escaped (:func:`printable`), styled on a terminal."""
    from rich.text import Text

    console.print(Text(printable(text), style=(style or "") if tty else ""), soft_wrap=True)


def _safe_cell(cell: Any) -> Any:
    """A table cell with its text escaped (a rich Text keeps its style)."""
    from rich.text import Text

    if isinstance(cell, Text):
        shown = printable(cell.plain)
        return cell if shown == cell.plain else Text(shown, style=cell.style)
    return printable(cell)


@dataclass(frozen=True)
class Col:
    """A column of a fitted table (:func:`fitted_table`). ``kind`` says what may give way
    when the terminal is narrow, in this order: ``label`` cells wrap at spaces (loss labels,
    parameters, bounds); the header of a ``number`` column wraps at spaces, its cells never
    do; a ``pair`` cell (a difference and its percentage) wraps between its two numbers.
    ``short``: a shorter header used when the full ones do not fit."""

    header: str
    kind: str = "number"
    justify: str = "right"
    style: str | None = None
    short: str | None = None


def _pieces(text: str) -> list[str]:
    """Where a label may break: after a space, ``(`` or ``,`` (``huber(`` ``delta=0.5)``);
    never inside a number."""
    return [p for p in re.split(r"(?<=[ ,])|(?<=[^ ]\()", text) if p]


def _longest_piece(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(p.rstrip()) for p in _pieces(text)), default=0)


def _longest_word(text: str) -> int:
    from rich.cells import cell_len

    return max((cell_len(w) for w in text.split()), default=0)


def wrap_label(text: str, width: int) -> str:
    """``text`` in lines of at most ``width`` cells, broken only where :func:`_pieces`
    allows (a piece longer than ``width`` keeps its own line, whole)."""
    from rich.cells import cell_len

    lines = [""]
    for piece in _pieces(text):
        if lines[-1] and cell_len((lines[-1] + piece).rstrip()) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(line.rstrip() for line in lines)


def fitted_table(console: Any, tty: bool, cols: list[Col], rows: list[list[Any]]) -> Any:
    """A rich Table of ``rows`` (cells: str or rich Text) whose numbers are never cut and
    whose columns are never dropped, whatever the width of the terminal.

    rich would shrink a table wider than the console by truncating cells (``2.3281…``) and
    dropping columns; here the widths are chosen first. Each column starts at its natural
    width; when that is too wide, labels wrap (at spaces, ``(`` and ``,``), then number
    headers (at spaces), then difference/percentage pairs (between the two numbers), each
    never below its longest unbreakable piece; then the gaps between columns narrow, and
    long headers take their ``short`` form. If even that does not fit, the console is widened and the terminal
    wraps the long lines: ugly, but every number and column is there.
    """
    from rich import box
    from rich.cells import cell_len
    from rich.table import Table
    from rich.text import Text

    rows = [[_safe_cell(c) for c in row] for row in rows]  # names from data, escaped
    cols = [replace(c, header=printable(c.header),
                    short=None if c.short is None else printable(c.short)) for c in cols]
    plain = [[c.plain if isinstance(c, Text) else str(c) for c in row] for row in rows]

    def natural(i: int, header: str) -> int:
        return max([cell_len(header), *(cell_len(r[i]) for r in plain)])

    def floor(i: int, header: str) -> int:
        cells = [r[i] for r in plain]
        if cols[i].kind == "number":
            return max([_longest_word(header), *(cell_len(c) for c in cells)])
        if cols[i].kind == "label":
            return max([_longest_word(header), *(_longest_piece(c) for c in cells)])
        return max([_longest_word(header), *(_longest_word(c) for c in cells)])

    def new_table(gap: int) -> Any:
        """The table's frame: gap 3 (padding inside a frame, on a terminal), or 2 or 1
        columns between cells and none at the edges, when the terminal is narrow."""
        frame = box.SIMPLE_HEAD if tty else box.ASCII2
        if gap == 3:
            return Table(box=frame, show_edge=tty)
        return Table(box=frame, show_edge=False, pad_edge=False, collapse_padding=True,
                     padding=(0, gap - 1))

    def layout(headers: list[str], gap: int) -> tuple[list[int], int]:
        """Column widths for ``headers``, and by how much they still exceed the console."""
        probe = new_table(gap)
        widths = [natural(i, h) for i, h in enumerate(headers)]
        for w in widths:
            probe.add_column(width=w)
        wide = console.options.update_width(100_000)
        overhead = console.measure(probe, options=wide).maximum - sum(widths)
        excess = sum(widths) + overhead - console.width
        floors = [floor(i, h) for i, h in enumerate(headers)]
        for kind in ("label", "number", "pair"):
            while excess > 0:
                give = [i for i, c in enumerate(cols) if c.kind == kind and widths[i] > floors[i]]
                if not give:
                    break
                widest = max(give, key=lambda i: widths[i] - floors[i])
                widths[widest] -= 1
                excess -= 1
        return widths, excess

    full = [c.header for c in cols]
    short = [c.short or c.header for c in cols]
    tries = [(full, 3), (full, 2), (short, 2), (short, 1)]
    for headers, gap in tries:
        widths, excess = layout(headers, gap)
        if excess <= 0:
            break
    if excess > 0:  # wider than the terminal even at the narrowest: let the terminal wrap
        console.size = (console.width + excess, console.height)  # (also under TERM=dumb)
    table = new_table(gap)
    for col, header, width in zip(cols, headers, widths):
        table.add_column(header, justify=col.justify, width=width,  # type: ignore[arg-type]
                         overflow="fold", style=col.style if tty else None)
    for row in rows:
        table.add_row(*(wrap_label(cell, w) if col.kind == "label" and isinstance(cell, str)
                        else cell for cell, col, w in zip(row, cols, widths)))
    return table


def md_escape(text: Any) -> str:
    """A Markdown table cell or line: escaped for the terminal, ``|`` escaped."""
    return printable(text).replace("|", "\\|")


class SafeWriter:
    """A CSV writer whose text cells are escaped (:func:`printable`): a name from data can
    neither end a line nor drive the terminal the CSV is shown on."""

    def __init__(self, buf: IO[str]) -> None:
        self._writer = csv.writer(buf, lineterminator="\n")

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([printable(c) if isinstance(c, str) else c for c in row])


def csv_float(value: float | None) -> str:
    return "" if value is None else repr(float(value))
