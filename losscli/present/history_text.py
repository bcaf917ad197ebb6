"""``losscli history`` as text: a table, JSON, CSV or Markdown (one row per commit, one
column per loss), and ``--plot``'s sparklines (one line per loss, oldest commit first).

Every data-derived string (a subject, a column, a reason) passes
:func:`~losscli.present.text.printable` where it is placed; numbers are formatted by
:mod:`losscli.present.text` (six significant digits in the table and Markdown, every digit
in JSON and CSV)."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from losscli.present.output import emit
from losscli.present.table import (
    Col,
    SafeWriter,
    console_of,
    csv_float,
    fitted_table,
    md_escape,
    note_line,
)
from losscli.present.text import format_value, printable, stderr_line

if TYPE_CHECKING:
    from losscli.history import Commit, History, Point

__all__ = ["history_command", "render_history", "show_history", "sparkline", "sparklines"]

#: The eight heights of a sparkline, lowest first.
BARS = "▁▂▃▄▅▆▇█"


def _cell(point: Point | None) -> str:
    if point is None or point.value is None:
        return ""
    shown = format_value(point.value)
    if point.ci_low is not None and point.ci_high is not None:
        shown += f" [{format_value(point.ci_low)}, {format_value(point.ci_high)}]"
    return shown


def _date(row: Commit) -> str:
    return row.date[:10]


def _meta(row: Commit) -> list[str]:
    return [row.short, _date(row), row.subject]


def _table(h: History, out: IO[str]) -> None:
    console, tty = console_of(out)
    cols = [Col("commit", kind="label", justify="left"), Col("date", kind="label", justify="left"),
            Col("subject", kind="label", justify="left"), *(Col(c) for c in h.columns)]
    rows = []
    for r in h.commits:
        rows.append([*_meta(r), *(_cell(r.values.get(c)) for c in h.columns)])
    console.print(fitted_table(console, tty, cols, rows))
    for r in h.commits:
        if r.error:
            note_line(console, tty, f"{r.short}: {r.error}", "yellow")


def _json(h: History) -> str:
    return json.dumps(h.to_dict(), indent=2, allow_nan=False)


def _csv(h: History) -> str:
    buf = io.StringIO()
    writer = SafeWriter(buf)
    bands = h.has_intervals
    head = ["commit", "short", "date", "subject", "error"]
    for c in h.columns:
        head += [c, f"{c}.ci_low", f"{c}.ci_high"] if bands[c] else [c]
    writer.writerow(head)
    for r in h.commits:
        row: list[Any] = [r.commit, r.short, r.date, r.subject, r.error or ""]
        for c in h.columns:
            p = r.values.get(c)
            row.append(csv_float(p.value if p else None))
            if bands[c]:
                row += [csv_float(p.ci_low if p else None), csv_float(p.ci_high if p else None)]
        writer.writerow(row)
    return buf.getvalue()


def _markdown(h: History) -> str:
    head = ["commit", "date", "subject", *h.columns]
    lines = ["| " + " | ".join(md_escape(x) for x in head) + " |",
             "|" + "---|" * 3 + "---:|" * len(h.columns)]
    for r in h.commits:
        cells = [*_meta(r), *(_cell(r.values.get(c)) for c in h.columns)]
        lines.append("| " + " | ".join(md_escape(x) for x in cells) + " |")
    errors = [f"- `{md_escape(r.short)}`: {md_escape(r.error)}" for r in h.commits if r.error]
    return "\n".join([f"History of `{md_escape(h.path)}`", "", *lines,
                      *(["", *errors] if errors else [])]) + "\n"


def render_history(h: History, fmt: str, out: IO[str] | None = None) -> None:
    """Write the history in ``fmt`` (table, json, csv or markdown)."""
    emit(h, fmt, out, _table, {"json": _json, "csv": _csv, "markdown": _markdown})


def sparkline(values: list[float | None]) -> str:
    """One character per value, its height between the lowest and the highest value
    (``▁`` … ``█``); a blank for a missing value; all equal: the middle height."""
    known = [v for v in values if v is not None]
    if not known:
        return " " * len(values)
    low, high = min(known), max(known)
    span = high - low
    out = []
    for v in values:
        if v is None:
            out.append(" ")
        elif span <= 0:
            out.append(BARS[3])
        else:
            out.append(BARS[min(len(BARS) - 1, int((v - low) / span * len(BARS)))])
    return "".join(out)


def sparklines(h: History) -> list[str]:
    """``--plot``: one line per column — its label, the sparkline over the commits (oldest
    first), the first and last value and the range."""
    if not h.columns:
        return []
    width = max(len(printable(c)) for c in h.columns)
    lines = []
    for c in h.columns:
        values = [p.value if (p := r.values.get(c)) else None for r in h.commits]
        known = [v for v in values if v is not None]
        summary = (f"{format_value(known[0])} → {format_value(known[-1])}  (min "
                   f"{format_value(min(known))}, max {format_value(max(known))})"
                   if known else "no value")
        lines.append(f"{printable(c).ljust(width)}  {sparkline(values)}  {summary}")
    return lines


def show_history(h: History, fmt: str, plot: bool, html: str | None) -> None:
    """What ``losscli history`` prints: the history in ``fmt`` on stdout, ``--plot``'s
    sparklines after it (on stdout under a table, else on stderr: machine output stays
    pure) and ``--html``'s page (:mod:`losscli.present.history_chart`)."""
    render_history(h, fmt)
    if plot:
        out = sys.stdout if fmt == "table" else sys.stderr
        out.write("\n" + "".join(line + "\n" for line in sparklines(h)))
        out.flush()
    if html is not None:
        from losscli.present.history_chart import write_history_html

        write_history_html(h, html)
        stderr_line(f"wrote the history to {html}")


def history_command(path: str, options: dict[str, Any], guard: Callable[..., None]) -> None:
    """``losscli history PATH``: the one output guard (``guard``: the commands'
    ``guard_outputs``) over ``--html``, then :func:`losscli.history.history` and
    :func:`show_history`."""
    from losscli.history import history

    html = options["html"]
    guard([("PATH", path)], {"--html": html}, {})
    found = history(path, rev_range=options["rev_range"], n=options["n"],
                    group_by=options["history_group_by"] or [])
    show_history(found, options["fmt"], options["plot"], html)
