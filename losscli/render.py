"""Turn a Report into text: a rich table, JSON, Markdown or CSV. The only user of rich."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from typing import IO, Any

from losscli.report import Report

OUTPUT_FORMATS = ("table", "json", "markdown", "csv", "ndjson")


def format_value(value: float | None) -> str:
    """Full precision, never truncated: the shortest repr that round-trips."""
    return "—" if value is None else repr(float(value))


def format_params(params: dict[str, Any]) -> str:
    from losscli.registry import _fmt

    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


def _files(report: Report) -> str:
    seen = []
    for ref in report.inputs.values():
        if ref and ref["path"] not in seen:
            seen.append(ref["path"])
    return ", ".join(seen)


def summary_line(report: Report) -> str:
    parts = [f"rows: {report.rows}"]
    if report.rows_skipped:
        parts.append(f"skipped: {report.rows_skipped}")
    parts += [f"reduction: {report.reduction}", f"files: {_files(report)}",
              f"time: {report.elapsed_seconds:.3f} s"]
    return " · ".join(parts)


def is_terminal(stream: IO[str]) -> bool:
    return hasattr(stream, "isatty") and stream.isatty() and not os.environ.get("NO_COLOR")


def render_table(report: Report, out: IO[str] | None = None) -> None:
    """A rich table on a terminal; the same table as plain text (no colour, full width)
    when ``out`` is not a terminal or NO_COLOR is set."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    out = out or sys.stdout
    tty = is_terminal(out)
    console = Console(
        file=out, no_color=not tty, highlight=False, force_terminal=tty,
        width=None if tty else 10_000, color_system="auto" if tty else None,
    )
    table = Table(box=box.SIMPLE_HEAD if tty else box.ASCII2, show_edge=tty)
    values = [format_value(r.value) for r in report.losses]
    table.add_column("loss", style="bold" if tty else None, no_wrap=True)
    table.add_column("params", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True,
                     min_width=max((len(v) for v in values), default=5))
    table.add_column("better", justify="center", no_wrap=True)
    for res, value in zip(report.losses, values):
        table.add_row(res.name, format_params(res.params), value,
                      "higher" if res.higher_is_better else "lower")
    if tty:  # a narrow terminal wraps long lines; rich would cut the numbers short instead
        wide = console.options.update_width(10_000)
        console.width = max(console.width, console.measure(table, options=wide).maximum)
    console.print(table)
    console.print(summary_line(report), style="dim" if tty else None, soft_wrap=True)


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


def _md_escape(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(report: Report) -> str:
    lines = ["| loss | params | value | better |", "|---|---|---:|:---:|"]
    for res in report.losses:
        lines.append(
            f"| {_md_escape(res.name)} | {_md_escape(format_params(res.params))} | "
            f"{format_value(res.value)} | {'higher' if res.higher_is_better else 'lower'} |"
        )
    lines += ["", f"_{_md_escape(summary_line(report))}_"]
    return "\n".join(lines) + "\n"


def render_csv(report: Report) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["loss", "label", "params", "value", "higher_is_better"])
    for res in report.losses:
        writer.writerow([
            res.name, res.label, format_params(res.params),
            "" if res.value is None else repr(float(res.value)),
            str(res.higher_is_better).lower(),
        ])
    return buf.getvalue()


def render_ndjson(report: Report) -> str:
    """One JSON object per loss (the ``losses`` entries of the JSON report, with ``label``
    and ``rows``), for ``jq`` and line-oriented tools."""
    lines = []
    for res in report.losses:
        record = {"label": res.label, **res.to_dict(), "rows": report.rows}
        lines.append(json.dumps(record, allow_nan=False))
    return "\n".join(lines) + "\n"


def render(report: Report, fmt: str, out: IO[str] | None = None) -> None:
    out = out or sys.stdout
    if fmt == "table":
        render_table(report, out)
        return
    text = {"json": render_json, "markdown": render_markdown, "csv": render_csv,
            "ndjson": render_ndjson}[fmt](report)
    out.write(text if text.endswith("\n") else text + "\n")
    out.flush()
