"""HTML text of the page (:mod:`losscli.html`) and its pictures (:mod:`losscli.present.svg`):
escaping, numbers as the table prints them, tables."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape as _escape_markup
from typing import Any

from losscli.present.text import format_level, format_value, full_precision, printable

__all__ = ["coord", "escape", "interval_text", "label_of", "level_text", "number", "status_text",
           "table"]


def escape(value: object) -> str:
    """``value`` as text safe in HTML content and in quoted attributes: control
    characters, bidirectional overrides and lone surrogates shown as ``\\xNN``/``\\uNNNN``
    (:func:`losscli.present.text.printable`), then ``& < > " '`` escaped."""
    return _escape_markup(printable(value), quote=True)


def number(value: Any, *, signed: bool = False) -> str:
    """A value as the table shows it (:func:`~losscli.present.text.format_value`, 6
    significant digits), the full value (the shortest text that round-trips the float) in
    a ``title`` attribute when they differ; ``signed``: a ``+`` before a positive value (a
    change)."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return escape(value)
    v = float(value)
    shown, full = format_value(v), full_precision(v)
    if signed and v >= 0 and not shown.startswith(("+", "n")):
        shown, full = "+" + shown, "+" + full
    if full == shown or not math.isfinite(v):
        return escape(shown)
    return f'<span title="{escape(full)}">{escape(shown)}</span>'


def coord(x: float) -> str:
    """An SVG coordinate."""
    return format(x, ".2f").rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def table(header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = (),
           row_classes: Sequence[str] | None = None, caption: str | None = None) -> str:
    """A table from already escaped cells; columns in ``numeric`` right-aligned."""
    num = set(numeric)
    out = ['<div class="scroll"><table>']
    if caption:
        out.append(f"<caption>{caption}</caption>")
    heads = [f'<th class="num">{h}</th>' if i in num else f"<th>{h}</th>"
             for i, h in enumerate(header)]
    out.append(f"<thead><tr>{''.join(heads)}</tr></thead><tbody>")
    for k, row in enumerate(rows):
        cls = row_classes[k] if row_classes else ""
        out.append(f'<tr class="{cls}">' if cls else "<tr>")
        for i, cell in enumerate(row):
            css = "num" if i in num else ("label" if i == 0 else "")
            out.append(f'<td class="{css}">{cell}</td>' if css else f"<td>{cell}</td>")
        out.append("</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def interval_text(interval: dict[str, Any] | None) -> str:
    if not interval:
        return ""
    low, high = interval.get("low"), interval.get("high")
    if low is None or high is None:
        reason = interval.get("reason")
        # the reason wraps (a sentence, not a number): the table keeps to the page's width
        return "n/a" + (f' <span class="why">({escape(reason)})</span>' if reason else "")
    return f"[{number(low)}, {number(high)}]"


def level_text(level: Any, method: Any) -> str:
    parts = []
    if isinstance(level, (int, float)):
        parts.append(format_level(level, sep=" "))
    if method:
        parts.append(escape(method))
    return " ".join(parts)


def label_of(entry: dict[str, Any]) -> str:
    return str(entry.get("label", entry.get("name", "")))


def status_text(status: str) -> str:
    """A verdict's status as the table prints it (``FAIL``, ``pass``, ``—``: the words
    of :data:`losscli.gate.verdict.STATUS_TEXT`), styled by status."""
    from losscli.gate.verdict import STATUS_TEXT

    text = STATUS_TEXT.get(status, status)
    return f'<span class="status-{escape(status)}">{escape(text)}</span>'
