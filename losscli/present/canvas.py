"""The terminal picture: lines of (text, style) segments on a grid of cells, the text
layout every terminal drawing shares (wrapping, packing, label placement, plain tables,
series markers), and printing them (:func:`show`: styled with rich on a terminal, imported
only then; plain text otherwise or with ``NO_COLOR``)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, Any, Protocol, Union

from losscli.present.text import cells, char_cells, is_terminal, printable, terminal_columns

__all__ = [
    "BLOCKS", "HBLOCKS", "MAX_WIDTH", "MIN_WIDTH", "SERIES_MARKS", "SERIES_STYLES",
    "SHARED_MARK", "Canvas", "Line", "Picture", "clamp_width", "legend_line", "pack",
    "place_labels", "put_mark", "series_name", "show", "stagger", "table_lines", "terminal_width",
    "text_line", "wrap",
]

MIN_WIDTH = 40
MAX_WIDTH = 200

#: Markers of the series of an overlay, in model order (repeated beyond six models).
SERIES_MARKS = ("●", "○", "■", "□", "◆", "◇")
SERIES_STYLES = ("cyan", "magenta", "yellow", "green", "blue", "red")
#: Where the markers of several series fall on the same cell.
SHARED_MARK = "◉"
BLOCKS = " ▁▂▃▄▅▆▇█"
HBLOCKS = " ▏▎▍▌▋▊▉█"


# ---------------------------------------------------------------------------------------
# text

_BREAK_AFTER = set(",;=/_|-.:)]}")


def _break_at(text: str) -> int:
    """Where to end a line cut from ``text`` (the index after the break), or 0 for none:
    after the last space in the last two thirds, else after the last punctuation that is
    not inside a number (``1,234.5`` stays whole)."""
    n = len(text)
    space = text.rfind(" ")
    if space >= n // 3 and space > 0:
        return space + 1
    for i in range(n - 2, n // 3 - 1, -1):
        ch = text[i]
        if ch in _BREAK_AFTER and not (text[i - 1:i].isdigit() and text[i + 1].isdigit()):
            return i + 1
    return 0


def wrap(text: str, width: int) -> list[str]:
    """``text`` cut into lines of at most ``width`` columns — after a space, else after
    punctuation outside a number, else anywhere (a label with neither): nothing is
    dropped but the spaces the lines break at."""
    width = max(1, width)
    lines: list[str] = []
    current = ""
    used = 0
    for ch in text:
        w = char_cells(ch) if not ch.isascii() else 1
        if used + w > width and current:
            if ch == " ":  # the line ends right here; the space goes with the break
                lines.append(current)
                current, used = "", 0
                continue
            cut = _break_at(current + ch)
            if 0 < cut <= len(current):
                lines.append(current[:cut].rstrip(" ") or current[:cut])
                current = current[cut:]
            else:
                lines.append(current)
                current = ""
            used = cells(current)
        current += ch
        used += w
    if current or not lines:
        lines.append(current)
    return lines


def pack(items: Sequence[str], width: int, sep: str = "   ") -> list[str]:
    """Items side by side on as few lines as fit in ``width``; an item wider than the line
    is wrapped on its own lines. Items are never split across lines otherwise."""
    lines: list[str] = []
    current = ""
    for item in items:
        if cells(item) > width:
            if current:
                lines.append(current)
                current = ""
            lines.extend(wrap(item, width))
            continue
        if current and cells(current) + cells(sep) + cells(item) <= width:
            current += sep + item
        else:
            if current:
                lines.append(current)
            current = item
    if current:
        lines.append(current)
    return lines



# ---------------------------------------------------------------------------------------
# the picture: lines of styled segments

Segment = tuple[str, Union[str, None]]
Line = list[Segment]


@dataclass
class Picture:
    """Lines of ``(text, style)`` segments; ``style`` is a rich style name or None.
    :meth:`plain` is the text without styles."""

    kind: str
    lines: list[Line]

    def text_lines(self) -> list[str]:
        return ["".join(text for text, _ in line).rstrip() for line in self.lines]

    def plain(self) -> str:
        return "\n".join(self.text_lines()) + "\n"

    @property
    def width(self) -> int:
        return max((cells(t) for t in self.text_lines()), default=0)


class Canvas:
    """A grid of cells, each a character and a style; wide characters take two cells."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.chars = [[" "] * width for _ in range(height)]
        self.styles: list[list[str | None]] = [[None] * width for _ in range(height)]

    def put(self, row: int, col: int, text: str, style: str | None = None) -> None:
        for ch in text:
            w = char_cells(ch) if not ch.isascii() else 1
            if w == 0:
                if col > 0:  # a combining mark joins the previous cell
                    self.chars[row][col - 1] += ch
                continue
            if col < 0 or col + w > self.width:
                col += w
                continue
            self.chars[row][col] = ch
            self.styles[row][col] = style
            if w == 2:
                self.chars[row][col + 1] = ""
                self.styles[row][col + 1] = style
            col += w

    def get(self, row: int, col: int) -> str:
        return self.chars[row][col]

    def lines(self) -> list[Line]:
        out = []
        for chars, styles in zip(self.chars, self.styles):
            line: Line = []
            for ch, st in zip(chars, styles):
                if line and line[-1][1] == st:
                    line[-1] = (line[-1][0] + ch, st)
                else:
                    line.append((ch, st))
            out.append(line)
        return out


def text_line(text: str, style: str | None = None) -> Line:
    return [(text, style)]


def clamp_width(width: int) -> int:
    return max(MIN_WIDTH, min(MAX_WIDTH, int(width)))




def place_labels(labels: Sequence[tuple[int, str]], width: int, gap: int = 1
                  ) -> list[tuple[int, str]]:
    """Labels centred on their columns, those that would overlap a placed one dropped:
    (start column, text)."""
    placed: list[tuple[int, str]] = []
    end = -gap - 1
    for col, text in labels:
        w = cells(text)
        start = min(max(0, col - w // 2), width - w)
        if start < 0:
            continue
        if start >= end + gap:
            placed.append((start, text))
            end = start + w
    return placed


def stagger(tags: Sequence[tuple[int, str]], width: int) -> list[list[tuple[int, str]]]:
    """Tags ``▲name`` at their columns, on as few rows as needed so none overlap (a tag
    that would run past the right edge ends at its column: ``name▲``)."""
    rows: list[list[tuple[int, str, int]]] = []
    for col, name in tags:
        text = f"▲{name}"
        start = col
        if col + cells(text) > width:
            text = f"{name}▲"
            start = col - cells(text) + 1
        start = max(0, start)
        end = start + cells(text)
        for row in rows:
            if all(end + 1 <= s or start >= e + 1 for s, _, e in row):
                row.append((start, text, end))
                break
        else:
            rows.append([(start, text, end)])
    return [[(s, t) for s, t, _ in row] for row in rows]


class Series(Protocol):
    """One model's picture in an overlay: its model name (None: unnamed)."""

    @property
    def model(self) -> str | None: ...


def series_name(obj: Series, i: int) -> str:
    """The name of series ``i`` of an overlay: its model, else ``model i+1``."""
    return printable(obj.model if obj.model is not None else f"model {i + 1}")


def put_mark(canvas: Canvas, row: int, col: int, mark: str, style: str) -> bool:
    """A series' marker; on a cell that holds another series' marker, the shared one.
    Returns whether it was shared."""
    there = canvas.get(row, col)
    if there != mark and (there in SERIES_MARKS or there == SHARED_MARK):
        canvas.put(row, col, SHARED_MARK, "bold")
        return True
    canvas.put(row, col, mark, style)
    return False


def legend_line(text: str, series: Sequence[Any]) -> Line:
    """A legend line with each marker in its series' style."""
    line: Line = []
    for ch in text:
        style = None
        if ch in SERIES_MARKS:
            i = SERIES_MARKS.index(ch)
            style = SERIES_STYLES[i % len(SERIES_STYLES)]
        if line and line[-1][1] == style:
            line[-1] = (line[-1][0] + ch, style)
        else:
            line.append((ch, style))
    return line


def table_lines(header: Sequence[str], rows: Sequence[Sequence[str]], width: int,
           right: Iterable[int] = ()) -> list[Line] | None:
    """A plain table, columns separated by two spaces; None if it does not fit ``width``."""
    right = set(right)
    widths = [max(cells(r[i]) for r in [header, *rows]) for i in range(len(header))]
    if sum(widths) + 2 * (len(widths) - 1) > width:
        return None

    def fmt(row: Sequence[str]) -> str:
        parts = []
        for i, (text, w) in enumerate(zip(row, widths)):
            pad = " " * (w - cells(text))
            parts.append(pad + text if i in right else text + pad)
        return "  ".join(parts).rstrip()

    return [text_line(fmt(header), "bold"), *(text_line(fmt(r)) for r in rows)]




def terminal_width(out: IO[str] | None = None) -> int:
    """The width to draw at on ``out``: the terminal's columns (clamped to
    [MIN_WIDTH, MAX_WIDTH]) on a terminal; ``COLUMNS`` or 80 otherwise."""
    out = out or sys.stdout
    columns = terminal_columns(out)
    if columns is None:
        try:
            columns = int(os.environ.get("COLUMNS", ""))
        except ValueError:
            columns = 80
    return clamp_width(columns or 80)


def show(pictures: Picture | Sequence[Picture | None], out: IO[str] | None = None) -> None:
    """Print pictures on ``out`` (default stdout), a blank line between them: styled with
    rich on a terminal, plain text when ``out`` is not one or ``NO_COLOR`` is set."""
    out = out or sys.stdout
    pics = [pictures] if isinstance(pictures, Picture) else [p for p in pictures if p is not None]
    if not pics:
        return
    if not is_terminal(out):
        out.write("\n".join(p.plain() for p in pics))
        out.flush()
        return
    from rich.console import Console
    from rich.text import Text

    width = max([p.width for p in pics] + [terminal_columns(out) or 0])
    console = Console(file=out, force_terminal=True, color_system="auto", highlight=False,
                      width=width, soft_wrap=True)
    for k, pic in enumerate(pics):
        if k:
            console.print()
        for line in pic.lines:
            text = Text(no_wrap=True, overflow="ignore")
            for chunk, style in line:
                text.append(chunk, style=style or "")
            text.rstrip()
            console.print(text, soft_wrap=True, crop=False)
    out.flush()
