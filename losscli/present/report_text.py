"""A :class:`~losscli.report.Report` as text for people: the table (rich on a terminal,
plain text elsewhere), Markdown and CSV (``losscli eval -f table|markdown|csv``; chosen in
:data:`losscli.render.FORMATS`). The fitted table, the lines under it, Markdown and CSV cells
(:mod:`losscli.present.table`), the summary line and per-group rows
(:mod:`losscli.present.summary`) are shared with the verdict and the comparison.

Every string from data or from the user (labels, group keys, column and model names,
paths) passes :func:`losscli.present.text.printable` where it is placed: a table cell
(:func:`~losscli.present.table.fitted_table` escapes every cell and header), a Markdown cell
(:func:`~losscli.present.table.md_escape`), a CSV cell
(:class:`~losscli.present.table.SafeWriter`) or a line
(:func:`~losscli.present.table.note_line`); the Markdown and CSV texts pass it once more as
a whole before they are written (:func:`~losscli.present.output.emit`)."""

from __future__ import annotations

import io
import sys
from typing import IO, Any

from losscli.grouping import key_columns
from losscli.present.confusion import (
    confusion_csv_rows,
    confusion_markdown,
    render_confusion_table,
)
from losscli.present.summary import (
    breakdown,
    format_interval,
    format_params,
    gap_cells,
    gap_lines,
    gap_title,
    group_reasons,
    group_rows,
    interval_reason,
    summary_line,
)
from losscli.present.table import (
    Col,
    SafeWriter,
    console_of,
    csv_float,
    fitted_table,
    md_escape,
    note_line,
)
from losscli.present.text import format_level, format_value
from losscli.report import Report

__all__ = ["render_csv", "render_markdown", "render_table"]


def render_group_table(report: Report, out: IO[str]) -> None:
    """``--group-by``: one row per group (the overall row first), one column per loss —
    with ``--ci`` its interval beside it."""
    console, tty = console_of(out)
    ci = bool(report.ci)
    cols = [Col(k, "label", "left", "bold") for k in report.group_by] + [Col("rows")]
    for res in report.losses:
        cols.append(Col(res.label, "label" if len(res.label) > 12 else "number"))
        if ci:
            cols.append(Col("interval", "pair"))
    rows: list[list[Any]] = []
    for keys, n, results in group_rows(report):
        row: list[Any] = [*keys, str(n)]
        for res in results:
            row.append(format_value(res.value))
            if ci:
                row.append(format_interval(res.interval))
        rows.append(row)
    title = gap_title(report)
    if title is not None:  # --group-gap: one row under the groups
        rows.append([title, *[""] * len(report.group_by),
                     *(c for res in report.losses for c in gap_cells(res, ci))])
    console.print(fitted_table(console, tty, cols, rows))
    for line in gap_lines(report):
        note_line(console, tty, f"· {line}", "dim")
    for line in group_reasons(report):
        note_line(console, tty, f"· {line}", "dim")
    note_line(console, tty, summary_line(report), "dim")
    render_confusion_table(report, console, tty)


def render_table(report: Report, out: IO[str] | None = None) -> None:
    """A rich table on a terminal (labels wrap on a narrow one, numbers never); the same
    table as plain text (no colour, full width) when ``out`` is not a terminal or NO_COLOR
    is set. With groups: the per-group table."""
    out = out or sys.stdout
    if report.groups is not None:
        render_group_table(report, out)
        return
    console, tty = console_of(out)
    cols = [Col("loss", "label", "left", "bold"), Col("params", "label", "left"),
            Col("value"), Col("better", justify="center")]
    rows: list[list[Any]] = []
    for res in report.losses:
        row = [res.name, format_params(dict(res.key.params)), format_value(res.value),
               res.direction]
        if report.ci:
            row.insert(3, format_interval(res.interval, why=True))
        rows.append(row)
        for name, value in breakdown(res):  # per class, label
            # or output, indented
            sub = [f"  {name}", "", format_value(value), ""]
            if report.ci:
                sub.insert(3, "")
            rows.append(sub)
    if report.ci:
        level = format_level(report.ci.get("level", 0.95))
        cols.insert(3, Col(f"{level} interval", "pair", short="interval"))
    console.print(fitted_table(console, tty, cols, rows))
    for res in report.losses:  # why an interval is n/a
        if interval_reason(res):
            note_line(console, tty, f"· {res.label}: {interval_reason(res)}", "dim")
    note_line(console, tty, summary_line(report), "dim")
    render_confusion_table(report, console, tty)


def render_group_markdown(report: Report) -> str:
    ci = bool(report.ci)
    keys = list(report.group_by)
    head = [*keys, "rows"] + [h for res in report.losses
                              for h in ([f"`{res.label}`"] + (["interval"] if ci else []))]
    lines = ["| " + " | ".join(md_escape(h) for h in head) + " |",
             "|" + "---|" * len(keys) + "---:|" + "---:|" * (len(head) - len(keys) - 1)]
    for cells, n, results in group_rows(report):
        values = [v for res in results for v in (
            [format_value(res.value)] + ([format_interval(res.interval)] if ci else []))]
        lines.append("| " + " | ".join([*(md_escape(c) for c in cells), str(n), *values])
                     + " |")
    title = gap_title(report)
    if title is not None:  # --group-gap: one row under the groups
        lines.append("| " + " | ".join([md_escape(title), *[""] * len(keys), *(
            md_escape(c) for res in report.losses for c in gap_cells(res, ci))]) + " |")
    reasons = [*gap_lines(report), *group_reasons(report)]
    lines += [""] + [f"- {md_escape(r)}" for r in reasons] + ([""] if reasons else [])
    lines += [f"_{md_escape(summary_line(report))}_"]
    return "\n".join(lines) + "\n" + confusion_markdown(report)


def render_markdown(report: Report) -> str:
    if report.groups is not None:
        return render_group_markdown(report)
    ci = bool(report.ci)
    lines = ["| loss | params | value |" + (" interval |" if ci else "") + " better |",
             "|---|---|---:|" + ("---:|" if ci else "") + ":---:|"]
    for res in report.losses:
        interval = f" {format_interval(res.interval)} |" if ci else ""
        lines.append(
            f"| {md_escape(res.name)} | {md_escape(format_params(dict(res.key.params)))} | "
            f"{format_value(res.value)} |{interval} "
            f"{res.direction} |"
        )
        for name, value in breakdown(res):
            lines.append(f"| ↳ {md_escape(name)} |  | {format_value(value)} |"
                         f"{' |' if ci else ''} |")
    lines += ["", f"_{md_escape(summary_line(report))}_"]
    return "\n".join(lines) + "\n" + confusion_markdown(report)


def render_csv(report: Report) -> str:
    """One line per loss; with groups, per group and loss (long form: ``scope`` is
    ``overall`` or ``group``, then the key columns — empty for the overall lines, empty
    too for a null key of a group; a key named like another column is ``group_NAME``);
    with ``--group-gap``, one ``gap`` line per loss (its ``rows``: the groups compared)."""
    buf = io.StringIO()
    writer = SafeWriter(buf)
    ci = bool(report.ci)
    keys = list(report.group_by) if report.groups is not None else []
    fixed = ["scope", "rows", "loss", "label", "params", "value", "higher_is_better",
             *(["ci_low", "ci_high", "ci_method"] if ci else [])]
    writer.writerow([*(["scope", *key_columns(keys, fixed), "rows"] if keys else []),
                     *fixed[2:]])
    scopes: list[tuple[list[Any], list[Any]]] = [
        (["overall", *[""] * len(keys), report.rows] if keys else [], report.losses)]
    for g in report.groups or []:
        scopes.append((["group", *("" if g.key[k] is None else g.key[k] for k in keys),
                        g.rows], g.losses))
    for lead, results in scopes:
        for res in results:
            iv = res.interval or {}
            writer.writerow([
                *lead, res.name, res.label, format_params(res.params),
                "" if res.value is None else repr(float(res.value)),
                str(res.higher_is_better).lower(),
                *([csv_float(iv.get("low")), csv_float(iv.get("high")), iv.get("method", "")]
                  if ci else []),
            ])
    for res in report.losses if keys else []:  # --group-gap: scope "gap", one line a loss
        gap = res.group_gap
        if gap:
            iv = gap.get("interval") or {}
            writer.writerow([
                "gap", *[""] * len(keys), gap.get("groups", ""), res.name, res.label,
                format_params(res.params),
                "" if gap.get("value") is None else repr(float(gap["value"])),
                str(gap.get("higher_is_better", False)).lower(),
                *([csv_float(iv.get("low")), csv_float(iv.get("high")), iv.get("method", "")]
                  if ci else [])])
    for lead, conf in [(scopes[0][0], report.confusion)] + [
            (lead, g.confusion) for (lead, _), g in zip(scopes[1:], report.groups or [])]:
        for label, params, count in confusion_csv_rows(conf) if conf else []:
            writer.writerow([*lead, "confusion", label, params, count, "",
                             *(["", "", ""] if ci else [])])
    return buf.getvalue()
