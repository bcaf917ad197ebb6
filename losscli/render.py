"""Turn a Report into text: a rich table, JSON, Markdown or CSV. The only user of rich."""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from losscli.report import Report

if TYPE_CHECKING:
    from losscli.compare import Comparison
    from losscli.gate import CheckResult


def format_value(value: float | None) -> str:
    """Full precision, never truncated: the shortest repr that round-trips."""
    return "—" if value is None else repr(float(value))


def format_params(params: dict[str, Any]) -> str:
    from losscli.registry import format_param

    return ", ".join(f"{k}={format_param(v)}" for k, v in params.items())


def _files(report: Report) -> str:
    seen = []
    for ref in report.inputs.values():
        if isinstance(ref, dict) and ref["path"] not in seen:
            seen.append(ref["path"])
    return ", ".join(seen)


def summary_line(report: Report) -> str:
    parts = [f"rows: {report.rows}"]
    if report.rows_skipped:
        parts.append(f"skipped: {report.rows_skipped}")
    task = report.inputs.get("task")
    if task and task != "regression":
        parts.append(f"task: {task}{' (logits)' if report.inputs.get('from_logits') else ''}")
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


def _emit(obj: Any, fmt: str, out: IO[str] | None, table: Callable[[Any, IO[str]], None],
          texts: dict[str, Callable[[Any], str]]) -> None:
    """Write ``obj`` in ``fmt``: the table renderer prints itself, the others return text."""
    out = out or sys.stdout
    if fmt == "table":
        table(obj, out)
        return
    text = texts[fmt](obj)
    out.write(text if text.endswith("\n") else text + "\n")
    out.flush()


def render(report: Report, fmt: str, out: IO[str] | None = None) -> None:
    """Print a :class:`Report` as table, json, markdown, csv or ndjson."""
    _emit(report, fmt, out, render_table, {"json": render_json, "markdown": render_markdown,
                                           "csv": render_csv, "ndjson": render_ndjson})


# ---------------------------------------------------------------------------------------
# losscli check: the verdict of the regression gate

_STATUS_TEXT = {"pass": "pass", "improved": "improved", "fail": "FAIL", "unchecked": "—"}
_STATUS_STYLE = {"pass": "green", "improved": "cyan", "fail": "bold red", "unchecked": "dim"}
_STATUS_MD = {"pass": "✅ pass", "improved": "✅ improved", "fail": "❌ **FAIL**",
              "unchecked": "—"}


def _console(out: IO[str]) -> tuple[Any, bool]:
    """A rich console: colour on a terminal; plain, full-width text otherwise."""
    from rich.console import Console

    tty = is_terminal(out)
    return Console(
        file=out, no_color=not tty, highlight=False, force_terminal=tty,
        width=None if tty else 10_000, color_system="auto" if tty else None,
    ), tty


def format_change(value: float | None) -> str:
    """A signed difference at full precision (``+0.0125``), or ``—``."""
    return "—" if value is None else format(float(value), "+")


def format_relative(value: float | None) -> str:
    """A relative difference as a percentage (``+1.25%``), or ``—`` when undefined."""
    return "—" if value is None else f"{value * 100:+.4g}%"


def check_summary(result: CheckResult) -> str:
    """``PASSED · 3 losses · 1 improved · baseline: b.json · rows: 1000 · time: 0.1 s``."""
    v = result.verdicts
    failed = result.failed
    head = (f"FAILED: {len(failed)} of {len(v)} loss{'es' if len(v) != 1 else ''} "
            f"({', '.join(x.label for x in failed)})" if failed else
            f"PASSED: {len(v)} loss{'es' if len(v) != 1 else ''}")
    parts = [head]
    improved = sum(x.status == "improved" for x in v)
    if improved:
        parts.append(f"{improved} improved")
    unchecked = sum(x.status == "unchecked" for x in v)
    if unchecked == len(v):
        parts[0] = f"evaluated {len(v)} loss{'es' if len(v) != 1 else ''}, no bound or baseline"
    elif unchecked:
        parts.append(f"{unchecked} unchecked")
    if result.baseline is not None:
        parts.append(f"baseline: {result.baseline.path}")
    return " · ".join([*parts, summary_line(result.report)])


def render_check_table(result: CheckResult, out: IO[str] | None = None) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    out = out or sys.stdout
    console, tty = _console(out)
    table = Table(box=box.SIMPLE_HEAD if tty else box.ASCII2, show_edge=tty)
    for name, justify in (("loss", "left"), ("value", "right"), ("baseline", "right"),
                          ("change", "right"), ("rel. change", "right"), ("bound", "left"),
                          ("result", "center")):
        table.add_column(name, justify=justify, no_wrap=True,  # type: ignore[arg-type]
                         style="bold" if tty and name == "loss" else None)
    for v in result.verdicts:
        status = Text(_STATUS_TEXT[v.status], style=_STATUS_STYLE[v.status] if tty else "")
        table.add_row(v.label, format_value(v.value), format_value(v.baseline),
                      format_change(v.change), format_relative(v.relative_change),
                      v.bound_text or "—", status)
    console.print(table)
    for v in result.verdicts:
        for reason in v.reasons:
            mark = "✗" if v.status == "fail" else "·"
            console.print(Text(f"{mark} {reason}", style=("red" if v.status == "fail" else "dim")
                               if tty else ""), soft_wrap=True)
    console.print(Text(check_summary(result),
                       style=("bold red" if not result.passed else "bold green") if tty else ""),
                  soft_wrap=True)


def render_check_json(result: CheckResult) -> str:
    return json.dumps(result.to_dict(), indent=2, allow_nan=False)


def render_check_markdown(result: CheckResult) -> str:
    """A GitHub-flavoured Markdown verdict for ``$GITHUB_STEP_SUMMARY`` (never truncated)."""
    failed = result.failed
    head = ("### ❌ losscli check failed: " + ", ".join(f"`{v.label}`" for v in failed)
            if failed else "### ✅ losscli check passed")
    lines = [head, "", "| loss | value | baseline | change | rel. change | bound | result |",
             "|---|---:|---:|---:|---:|---|:---:|"]
    for v in result.verdicts:
        lines.append(
            f"| `{_md_escape(v.label)}` | {format_value(v.value)} | {format_value(v.baseline)} | "
            f"{format_change(v.change)} | {format_relative(v.relative_change)} | "
            f"{_md_escape(v.bound_text) or '—'} | {_STATUS_MD[v.status]} |"
        )
    reasons = [(v, r) for v in result.verdicts for r in v.reasons]
    if reasons:
        lines.append("")
        lines += [f"- {'❌' if v.status == 'fail' else 'ℹ️'} {_md_escape(r)}" for v, r in reasons]
    lines += ["", f"_{_md_escape(check_summary(result))}_"]
    return "\n".join(lines) + "\n"


def _csv_float(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def render_check_csv(result: CheckResult) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["loss", "label", "params", "higher_is_better", "value", "baseline",
                     "change", "relative_change", "max", "min", "rtol", "atol",
                     "allowed_change", "limit", "status", "passed", "reasons"])
    for v in result.verdicts:
        writer.writerow([
            v.name, v.label, format_params(v.params), str(v.higher_is_better).lower(),
            *(_csv_float(x) for x in (v.value, v.baseline, v.change, v.relative_change, v.max,
                                      v.min, v.rtol, v.atol, v.allowed_change, v.limit)),
            v.status, str(v.passed).lower(), "; ".join(v.reasons),
        ])
    return buf.getvalue()


def render_check_ndjson(result: CheckResult) -> str:
    """One JSON object per checked loss (the ``checks`` entries of the JSON document)."""
    return "".join(json.dumps(v.to_dict(), allow_nan=False) + "\n" for v in result.verdicts)


def render_check(result: CheckResult, fmt: str, out: IO[str] | None = None) -> None:
    """Print a :class:`losscli.gate.CheckResult` as table, json, markdown, csv or ndjson."""
    _emit(result, fmt, out, render_check_table, {
        "json": render_check_json, "markdown": render_check_markdown,
        "csv": render_check_csv, "ndjson": render_check_ndjson})


# ---------------------------------------------------------------------------------------
# losscli compare: models side by side


def format_diff(diff: float | None, rel: float | None) -> str:
    """``+0.0125 (+1.25%)``; the relative part is left out when undefined."""
    if diff is None:
        return "—"
    return format_change(diff) + ("" if rel is None else f" ({format_relative(rel)})")


def compare_summary(comp: Comparison) -> str:
    models = ", ".join(
        f"{name} ({rep.rows} rows{f', {rep.rows_skipped} skipped' if rep.rows_skipped else ''})"
        for name, rep in zip(comp.names, comp.reports))
    return f"models: {models} · reference: {comp.reference} · time: {comp.elapsed_seconds:.3f} s"


def render_compare_table(comp: Comparison, out: IO[str] | None = None) -> None:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    out = out or sys.stdout
    console, tty = _console(out)
    table = Table(box=box.SIMPLE_HEAD if tty else box.ASCII2, show_edge=tty)
    table.add_column("loss", no_wrap=True, style="bold" if tty else None)
    table.add_column("better", justify="center", no_wrap=True)
    for name in comp.names:
        table.add_column(name, justify="right", no_wrap=True)
    for name in comp.names[1:]:
        table.add_column(f"Δ {name} vs {comp.reference}", justify="right", no_wrap=True)
    table.add_column("best", no_wrap=True)
    for row in comp.rows:
        cells = [Text(format_value(v), style="bold green" if tty and i in row.best else "")
                 for i, v in enumerate(row.values)]
        diffs = [format_diff(d, r) for d, r in zip(row.diff[1:], row.relative_diff[1:])]
        table.add_row(row.label, "higher" if row.higher_is_better else "lower", *cells, *diffs,
                      ", ".join(comp.best_names(row)) or "—")
    console.print(table)
    console.print(compare_summary(comp), style="dim" if tty else None, soft_wrap=True)


def render_compare_json(comp: Comparison) -> str:
    return json.dumps(comp.to_dict(), indent=2, allow_nan=False)


def render_compare_markdown(comp: Comparison) -> str:
    """Best value per loss in bold, and named in the last column."""
    names = [_md_escape(n) for n in comp.names]
    header = ["loss", "better", *names, *(f"Δ {n} vs {names[0]}" for n in names[1:]), "best"]
    align = ["---", ":---:", *["---:"] * (2 * len(names) - 1), "---"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for row in comp.rows:
        cells = [f"**{format_value(v)}**" if i in row.best else format_value(v)
                 for i, v in enumerate(row.values)]
        diffs = [format_diff(d, r) for d, r in zip(row.diff[1:], row.relative_diff[1:])]
        best = ", ".join(f"**{_md_escape(n)}**" for n in comp.best_names(row)) or "—"
        lines.append("| " + " | ".join([f"`{_md_escape(row.label)}`",
                                         "higher" if row.higher_is_better else "lower",
                                         *cells, *diffs, best]) + " |")
    lines += ["", f"_{_md_escape(compare_summary(comp))}_"]
    return "\n".join(lines) + "\n"


def render_compare_csv(comp: Comparison) -> str:
    """Long format: one line per (loss, model), ready to pivot."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["loss", "label", "params", "higher_is_better", "model", "value",
                     "diff", "relative_diff", "best"])
    for row in comp.rows:
        for i, name in enumerate(comp.names):
            writer.writerow([
                row.name, row.label, format_params(row.params), str(row.higher_is_better).lower(),
                name, _csv_float(row.values[i]), _csv_float(row.diff[i]),
                _csv_float(row.relative_diff[i]), str(i in row.best).lower(),
            ])
    return buf.getvalue()


def render_compare_ndjson(comp: Comparison) -> str:
    """One JSON object per loss (the ``losses`` entries of the JSON document)."""
    return "".join(json.dumps(row, allow_nan=False) + "\n" for row in comp.to_dict()["losses"])


def render_compare(comp: Comparison, fmt: str, out: IO[str] | None = None) -> None:
    """Print a :class:`losscli.compare.Comparison` as table, json, markdown, csv or ndjson."""
    _emit(comp, fmt, out, render_compare_table, {
        "json": render_compare_json, "markdown": render_compare_markdown,
        "csv": render_compare_csv, "ndjson": render_compare_ndjson})
