"""Turn a Report, a check's verdict or a comparison into text: a rich table, JSON,
Markdown, CSV or NDJSON.

Every string from data or from the user (labels, group keys, column and model names,
paths) passes :func:`losscli.present.text.printable` where it is placed: a table cell
(:func:`fitted_table` escapes every cell and header), a Markdown cell (:func:`_md_escape`),
a CSV cell (:class:`_SafeWriter`) or a line (:func:`_line`); the Markdown and CSV texts
pass it once more as a whole before they are written (:func:`_emit`). JSON keeps the raw
values. The verdict of ``check`` is read from :class:`losscli.gate.verdict.Outcome`, never
re-derived here."""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any

from losscli.present.text import (
    DIGITS,
    format_level,
    format_value,
    input_paths,
    intervals_text,
    is_terminal,
    printable,
    printable_lines,
)
from losscli.report import Report

if TYPE_CHECKING:
    from losscli.comparison import Comparison
    from losscli.gate import CheckResult

__all__ = ["DIGITS", "format_value", "is_terminal", "render", "render_check", "render_compare"]


def format_params(params: dict[str, Any]) -> str:
    from losscli.registry import format_param

    return ", ".join(f"{k}={format_param(v)}" for k, v in params.items())


def _files(report: Report) -> str:
    return ", ".join(input_paths(report.inputs))


def summary_line(report: Report, *, groups: bool = True) -> str:
    """The line under a report: rows, groups, task, classes, intervals, files, time (the
    names in it escaped)."""
    parts = [f"rows: {report.rows}"]
    if report.rows_skipped:
        parts.append(f"skipped: {report.rows_skipped}")
    if report.groups is not None and groups:
        parts.append(f"groups: {len(report.groups)}")
    join = report.inputs.get("join")
    if join:
        left = join["unmatched_predictions"] + join.get("unmatched_targets", 0)
        parts.append(f"joined on {', '.join(join['id_col'])}"
                     + (f" ({left} unmatched left out)" if left else ""))
    task = report.inputs.get("task")
    if task and task != "regression":
        parts.append(f"task: {task}{' (logits)' if report.inputs.get('from_logits') else ''}")
    threshold = report.inputs.get("threshold")
    if threshold is not None:  # the decision threshold in effect is always shown
        parts.append(f"threshold: {_numbers_text(threshold)}")
    classes = labels_text(report.inputs)
    if classes:  # a target of labels: which class is which (and how, when not by name)
        from losscli.labels import mapping_note

        parts.append(classes + mapping_note(report.inputs))
    if report.ci:
        parts.append(ci_text(report))
    parts += [f"reduction: {report.reduction}", f"files: {_files(report)}",
              f"time: {report.elapsed_seconds:.3f} s"]
    return printable(" · ".join(parts))


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "?" if value is None else str(value)


#: Most classes the summary line names (the JSON report has them all).
SUMMARY_CLASSES = 8


def labels_text(inputs: dict[str, Any]) -> str | None:
    """``positive: yes (vs no)`` for binary labels, ``classes: setosa, versicolor,
    virginica`` for multi-class labels (the order of the prediction columns); None when
    the targets were numbers."""
    classes = inputs.get("classes")
    if not isinstance(classes, list):
        return None
    if "pos_label" in inputs:
        negative = classes[0] if classes else None
        return (f"positive: {_label(inputs['pos_label'])}"
                + ("" if negative is None else f" (vs {_label(negative)})"))
    shown = ", ".join(_label(c) for c in classes[:SUMMARY_CLASSES])
    more = f", … ({len(classes)} classes)" if len(classes) > SUMMARY_CLASSES else ""
    return f"classes: {shown}{more}"


def _numbers_text(value: Any) -> str:
    """A value or a list of values (one threshold per label) as tables show them."""
    if isinstance(value, list):
        return ", ".join(_numbers_text(v) for v in value)
    return format_value(value)


def ci_text(report: Report) -> str:
    """``95% intervals: normal, wilson (bootstrap: 200 replicates, seed 0)``: every method
    the report's intervals used."""
    ci = report.ci or {}
    methods = sorted({r.interval["method"] for r in report.losses if r.interval}
                     - {"n/a"})
    boot = [m for m in methods if m in ("percentile", "basic")]
    text = intervals_text([r.interval for r in report.losses], ci.get("level", 0.95))
    if boot:
        text += f" (bootstrap: {ci.get('replicates')} replicates, seed {ci.get('seed')})"
    return text


#: Most rows of a breakdown a table shows under its loss (JSON has them all).
BREAKDOWN_ROWS = 20


def breakdown(res: Any, classes: Any = None) -> list[tuple[str, float]]:
    """The per-class (per-label, per-output) values of a loss's details, named for a table:
    ``class 2``, ``label 0``, ``output 1``; none when there are more than BREAKDOWN_ROWS.
    ``classes``: the labels of the classes (a target of labels), named instead of their
    index: ``class setosa``."""
    details = res.details or {}
    bound = details.get("bound")
    if isinstance(bound, list | tuple) and len(bound) == 2 and None not in bound:
        # a binned roc_auc / average_precision: where the exact value lies
        return [*_breakdown(details, classes), ("exact value ≥", float(bound[0])),
                ("exact value ≤", float(bound[1]))]
    return _breakdown(details, classes)


def _breakdown(details: dict[str, Any], classes: Any) -> list[tuple[str, float]]:
    if isinstance(classes, list) and isinstance(details.get("per_class"), dict):
        named = []
        for k, v in details["per_class"].items():
            i = int(k) if str(k).isdigit() else -1
            named.append((f"class {_label(classes[i])}" if 0 <= i < len(classes)
                          and classes[i] is not None else f"class {k}", v))
        return [] if len(named) > BREAKDOWN_ROWS else [(k, v) for k, v in named if v is not None]
    for key, noun in (("per_class", "class"), ("per_label", "label"), ("per_column", "column")):
        values = details.get(key)
        if not values:
            continue
        items = list(values.items()) if isinstance(values, dict) else list(enumerate(values))
        if len(items) > BREAKDOWN_ROWS:
            return []
        return [(f"{noun} {k}", v) for k, v in items if v is not None]
    return []


def format_interval(interval: dict[str, Any] | None) -> str:
    """``[0.99, 1.03]``, or ``n/a`` with no valid interval (never a number then)."""
    if not interval:
        return ""
    if interval.get("low") is None or interval.get("high") is None:
        return "n/a"
    return f"[{format_value(interval['low'])}, {format_value(interval['high'])}]"


def _console(out: IO[str]) -> tuple[Any, bool]:
    """A rich console: colour on a terminal; plain, full-width text otherwise. Text is
    printed as it is: no console markup (``[red]``) and no emoji codes (``:warning:``)
    are read in it — a group key or a label is never styled or replaced by what it says."""
    from rich.console import Console

    tty = is_terminal(out)
    return Console(
        file=out, no_color=not tty, highlight=False, force_terminal=tty, markup=False,
        emoji=False, width=None if tty else 10_000, color_system="auto" if tty else None,
    ), tty


def _line(console: Any, tty: bool, text: str, style: str | None = None) -> None:
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


def format_key_value(value: Any) -> str:
    """A group key's value in a table: ``(null)`` for a null key (grouping.key_label)."""
    from losscli.grouping import key_label

    return key_label(value)


#: The first row of a per-group table: every row.
ALL_ROWS = "(all)"


def group_rows(report: Report) -> list[tuple[list[str], int, list[Any]]]:
    """The rows of a per-group table: (key cells, rows, loss results), the overall first."""
    assert report.groups is not None
    keys = list(report.group_by)
    rows = [([ALL_ROWS] + [""] * (len(keys) - 1), report.rows, report.losses)]
    for g in report.groups:
        rows.append(([format_key_value(g.key[k]) for k in keys], g.rows, g.losses))
    return rows


def group_reasons(report: Report) -> list[str]:
    """Why a group has no value for a loss: ``country=XX: roc_auc: only one class ...``."""
    from losscli.grouping import key_text

    out = []
    for g in report.groups or []:
        for res in g.losses:
            if res.reason:
                out.append(f"{key_text(report.group_by, tuple(g.key.values()))}: "
                           f"{res.label}: {res.reason}")
            elif interval_reason(res):
                out.append(f"{key_text(report.group_by, tuple(g.key.values()))}: "
                           f"{res.label}: {interval_reason(res)}")
    return out


def interval_reason(res: Any) -> str | None:
    """Why a loss's interval is n/a (``no interval: fewer than two rows …``), or None."""
    iv = res.interval
    if iv and (iv.get("low") is None or iv.get("high") is None) and iv.get("reason"):
        return f"no interval: {iv['reason']}"
    return None


def render_group_table(report: Report, out: IO[str]) -> None:
    """``--group-by``: one row per group (the overall row first), one column per loss —
    with ``--ci`` its interval beside it."""
    console, tty = _console(out)
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
    console.print(fitted_table(console, tty, cols, rows))
    for line in group_reasons(report):
        _line(console, tty, f"· {line}", "dim")
    _line(console, tty, summary_line(report), "dim")


def render_table(report: Report, out: IO[str] | None = None) -> None:
    """A rich table on a terminal (labels wrap on a narrow one, numbers never); the same
    table as plain text (no colour, full width) when ``out`` is not a terminal or NO_COLOR
    is set. With groups: the per-group table."""
    out = out or sys.stdout
    if report.groups is not None:
        render_group_table(report, out)
        return
    console, tty = _console(out)
    cols = [Col("loss", "label", "left", "bold"), Col("params", "label", "left"),
            Col("value"), Col("better", justify="center")]
    rows: list[list[Any]] = []
    for res in report.losses:
        row = [res.name, format_params(dict(res.key.params)), format_value(res.value),
               "higher" if res.higher_is_better else "lower"]
        if report.ci:
            row.insert(3, format_interval(res.interval))
        rows.append(row)
        for name, value in breakdown(res, report.inputs.get("classes")):  # per class, label
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
            _line(console, tty, f"· {res.label}: {interval_reason(res)}", "dim")
    _line(console, tty, summary_line(report), "dim")


def render_json(report: Report) -> str:
    return json.dumps(report.to_dict(), indent=2, allow_nan=False)


def _md_escape(text: Any) -> str:
    """A Markdown table cell or line: escaped for the terminal, ``|`` escaped."""
    return printable(text).replace("|", "\\|")


def render_group_markdown(report: Report) -> str:
    ci = bool(report.ci)
    keys = list(report.group_by)
    head = [*keys, "rows"] + [h for res in report.losses
                              for h in ([f"`{res.label}`"] + (["interval"] if ci else []))]
    lines = ["| " + " | ".join(_md_escape(h) for h in head) + " |",
             "|" + "---|" * len(keys) + "---:|" + "---:|" * (len(head) - len(keys) - 1)]
    for cells, n, results in group_rows(report):
        values = [v for res in results for v in (
            [format_value(res.value)] + ([format_interval(res.interval)] if ci else []))]
        lines.append("| " + " | ".join([*(_md_escape(c) for c in cells), str(n), *values])
                     + " |")
    reasons = group_reasons(report)
    lines += [""] + [f"- {_md_escape(r)}" for r in reasons] + ([""] if reasons else [])
    lines += [f"_{_md_escape(summary_line(report))}_"]
    return "\n".join(lines) + "\n"


def render_markdown(report: Report) -> str:
    if report.groups is not None:
        return render_group_markdown(report)
    ci = bool(report.ci)
    lines = ["| loss | params | value |" + (" interval |" if ci else "") + " better |",
             "|---|---|---:|" + ("---:|" if ci else "") + ":---:|"]
    for res in report.losses:
        interval = f" {format_interval(res.interval)} |" if ci else ""
        lines.append(
            f"| {_md_escape(res.name)} | {_md_escape(format_params(dict(res.key.params)))} | "
            f"{format_value(res.value)} |{interval} "
            f"{'higher' if res.higher_is_better else 'lower'} |"
        )
        for name, value in breakdown(res, report.inputs.get("classes")):
            lines.append(f"| ↳ {_md_escape(name)} |  | {format_value(value)} |"
                         f"{' |' if ci else ''} |")
    lines += ["", f"_{_md_escape(summary_line(report))}_"]
    return "\n".join(lines) + "\n"


def render_csv(report: Report) -> str:
    """One line per loss; with groups, per group and loss (long form: ``scope`` is
    ``overall`` or ``group``, then the key columns — empty for the overall lines, empty
    too for a null key of a group)."""
    buf = io.StringIO()
    writer = _SafeWriter(buf)
    ci = bool(report.ci)
    keys = list(report.group_by) if report.groups is not None else []
    writer.writerow([*(["scope", *keys, "rows"] if keys else []), "loss", "label", "params",
                     "value", "higher_is_better",
                     *(["ci_low", "ci_high", "ci_method"] if ci else [])])
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
                *([_csv_float(iv.get("low")), _csv_float(iv.get("high")), iv.get("method", "")]
                  if ci else []),
            ])
    return buf.getvalue()


class _SafeWriter:
    """A CSV writer whose text cells are escaped (:func:`printable`): a name from data can
    neither end a line nor drive the terminal the CSV is shown on."""

    def __init__(self, buf: IO[str]) -> None:
        self._writer = csv.writer(buf, lineterminator="\n")

    def writerow(self, row: list[Any]) -> None:
        self._writer.writerow([printable(c) if isinstance(c, str) else c for c in row])


def render_ndjson(report: Report) -> str:
    """One JSON object per loss (the ``losses`` entries of the JSON report, with ``label``
    and ``rows``), for ``jq`` and line-oriented tools; with groups, then one per group and
    loss, with the group's ``key`` (the overall ones have ``"key": null``)."""
    lines = []
    grouped = report.groups is not None
    for res in report.losses:
        record = {"label": res.label, **res.to_dict(), "rows": report.rows,
                  **({"key": None} if grouped else {})}
        lines.append(json.dumps(record, allow_nan=False))
    for g in report.groups or []:
        for res in g.losses:
            lines.append(json.dumps({"label": res.label, **res.to_dict(), "rows": g.rows,
                                     "key": g.key}, allow_nan=False))
    return "\n".join(lines) + "\n"


def _emit(obj: Any, fmt: str, out: IO[str] | None, table: Callable[[Any, IO[str]], None],
          texts: dict[str, Callable[[Any], str]]) -> None:
    """Write ``obj`` in ``fmt``: the table renderer prints itself, the others return text.
    A write that fails (a full disk, a closed standard output) is one OutputError; a reader
    that went away (``| head``) stays a BrokenPipeError, which is not an error."""
    from losscli.errors import OutputError
    from losscli.io.atomic import os_reason

    out = out or sys.stdout
    try:
        if fmt == "table":
            table(obj, out)
            return
        text = texts[fmt](obj)
        if fmt in ("markdown", "csv"):  # the last guard: no raw control character goes out
            text = printable_lines(text)
        out.write(text if text.endswith("\n") else text + "\n")
        out.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        name = getattr(out, "name", None)
        where = "standard output" if out is sys.stdout or name in (None, "<stdout>", 1) else (
            f"'{name}'")
        raise OutputError(f"Cannot write to {where}: {os_reason(exc)}.") from None


def render(report: Report, fmt: str, out: IO[str] | None = None) -> None:
    """Print a :class:`Report` as table, json, markdown, csv or ndjson."""
    _emit(report, fmt, out, render_table, {"json": render_json, "markdown": render_markdown,
                                           "csv": render_csv, "ndjson": render_ndjson})


# ---------------------------------------------------------------------------------------
# losscli check: the verdict of the regression gate

_STATUS_STYLE = {"pass": "green", "same": "green", "improved": "cyan", "fail": "bold red",
                 "unchecked": "dim"}
_STATUS_MD = {"pass": "✅ pass", "same": "✅ same", "improved": "✅ improved",
              "fail": "❌ **FAIL**", "unchecked": "—"}


def format_change(value: float | None) -> str:
    """A signed difference to :data:`DIGITS` significant digits (``+0.0125``), or ``—``."""
    return "—" if value is None else f"{float(value):+.{DIGITS}g}"


def format_relative(value: float | None) -> str:
    """A relative difference as a percentage (``+1.25%``), or ``—`` when undefined."""
    return "—" if value is None else f"{value * 100:+.4g}%"


def check_summary(result: CheckResult) -> str:
    """``PASSED: 3 losses · 1 improved · baseline: b.json · rows: 1000 · time: 0.1 s``: the
    gate's headline (:attr:`~losscli.gate.verdict.Outcome.headline`), then the counts."""
    v = result.verdicts
    outcome = result.outcome
    parts = [outcome.headline]
    for status in ("improved", "same"):
        count = sum(x.status == status for x in v)
        if count:
            parts.append(f"{count} {status}")
    unchecked = sum(x.status == "unchecked" for x in v)
    if unchecked and outcome.checked:
        parts.append(f"{unchecked} unchecked")
    if result.groups is not None:
        if not outcome.failed_groups:  # (the headline names the failing ones)
            parts.append(f"groups: {outcome.groups} passed")
        if result.correction:
            parts.append(result.correction)
    if result.baseline is not None:
        parts.append(f"baseline: {result.baseline.path}")
    return printable(" · ".join([*parts, summary_line(result.report,
                                                      groups=result.groups is None)]))


def render_check_table(result: CheckResult, out: IO[str] | None = None) -> None:
    from rich.text import Text

    from losscli.gate.verdict import STATUS_TEXT

    out = out or sys.stdout
    console, tty = _console(out)
    ci = result.report.ci
    cols = [Col("loss", "label", "left", "bold"), Col("value"), Col("baseline"),
            Col("change"), Col("rel. change"), Col("bound", "label", "left"),
            Col("result", justify="center")]
    rows = [[v.label, format_value(v.value), format_value(v.baseline), format_change(v.change),
             format_relative(v.relative_change), v.bound_text or "—",
             Text(STATUS_TEXT[v.status], style=_STATUS_STYLE[v.status] if tty else "")]
            for v in result.verdicts]
    if ci:  # check --ci: the interval each value was judged by
        level = format_level(ci.get("level", 0.95))
        cols.insert(2, Col(f"{level} interval", "pair", short="interval"))
        for row, res in zip(rows, _results_of(result)):
            row.insert(2, format_interval(None if res is None else res.interval))
    console.print(fitted_table(console, tty, cols, rows))
    if result.data_text:
        mark, style = ("✗", "red") if result.data_failed else ("!", "yellow")
        _line(console, tty, f"{mark} {result.data_text}", style)
    for v in result.verdicts:
        for reason in v.reasons:
            mark = "✗" if v.status == "fail" else "·"
            _line(console, tty, f"{mark} {reason}", "red" if v.status == "fail" else "dim")
        for note in v.notes:
            _line(console, tty, f"· {note}", "dim")
    if result.groups is not None:
        _print_group_checks(result, console, tty)
    _line(console, tty, check_summary(result),
          "bold green" if result.outcome.passed else "bold red")


#: With more groups than this, the table lists only the groups that did not simply pass.
GROUP_TABLE_ROWS = 20


def _group_check_rows(result: CheckResult, everything: bool) -> tuple[list[str], list[Any], int]:
    """Rows of the per-group verdict table: (key columns, rows, groups left out)."""
    assert result.groups is not None
    names = list(result.report.group_by)
    shown = [g for g in result.groups if everything or g.status != "checked" or not g.passed]
    rows: list[Any] = []
    for g in shown:
        keys = [format_key_value(g.key.get(n)) for n in names]
        if g.status == "missing":
            rows.append((g, None, keys))
        for v in g.verdicts:
            rows.append((g, v, keys))
    return names, rows, len(result.groups) - len(shown)


def _print_group_checks(result: CheckResult, console: Any, tty: bool) -> None:
    from rich.text import Text

    from losscli.gate.verdict import STATUS_TEXT

    assert result.groups is not None
    names, rows, hidden = _group_check_rows(result, len(result.groups) <= GROUP_TABLE_ROWS)
    if rows:
        cols = [Col(n, "label", "left", "bold") for n in names] + [
            Col("loss", "label", "left"), Col("value"), Col("baseline"), Col("change"),
            Col("bound", "label", "left"), Col("result", justify="center")]
        table_rows = []
        for g, v, keys in rows:
            if v is None:
                status = Text("missing", style=("bold red" if not g.passed else "yellow")
                              if tty else "")
                table_rows.append([*keys, "—", "—", "—", "—", "—", status])
                continue
            shown = "new" if g.status == "new" and v.status != "fail" else v.status
            text = STATUS_TEXT.get(shown, shown)
            style = _STATUS_STYLE.get(shown, "yellow")
            table_rows.append([*keys, v.label, format_value(v.value), format_value(v.baseline),
                               format_change(v.change), v.bound_text or "—",
                               Text(text, style=style if tty else "")])
        console.print(fitted_table(console, tty, cols, table_rows))
    if hidden:
        _line(console, tty, f"· {hidden} more group{'s' if hidden != 1 else ''} passed (all in "
              "--format json/csv)", "dim")
    for g in result.groups:
        lines = [*(r for v in g.verdicts for r in v.reasons if not v.passed)]
        if g.note and (g.status != "checked"):
            lines.append(g.note)
        for line in lines:
            mark = "✗" if not g.passed else "·"
            _line(console, tty, f"{mark} {g.label}: {line}", "red" if not g.passed else "dim")


def _results_of(result: CheckResult) -> list[Any]:
    """The report entry (LossResult) of each verdict, None where there is none."""
    by_label = {r.label: r for r in result.report.losses}
    return [by_label.get(v.label) for v in result.verdicts]


def render_check_json(result: CheckResult) -> str:
    return json.dumps(result.to_dict(), indent=2, allow_nan=False)


def render_check_markdown(result: CheckResult) -> str:
    """A GitHub-flavoured Markdown verdict for ``$GITHUB_STEP_SUMMARY`` (never truncated)."""
    outcome = result.outcome
    head = ("### ❌ losscli check failed: " + outcome.failure_text(lambda n: f"`{_md_escape(n)}`")
            if not outcome.passed else "### ✅ losscli check passed")
    ci = result.report.ci
    level = f"{format_level(ci.get('level', 0.95))} interval | " if ci else ""
    lines = [head, "", f"| loss | value | {level}baseline | change | rel. change | bound | "
             "result |", "|---|---:|" + ("---:|" if ci else "") + "---:|---:|---:|---|:---:|"]
    for v, res in zip(result.verdicts, _results_of(result)):
        interval = (f"{format_interval(None if res is None else res.interval)} | " if ci
                    else "")
        lines.append(
            f"| `{_md_escape(v.label)}` | {format_value(v.value)} | {interval}"
            f"{format_value(v.baseline)} | "
            f"{format_change(v.change)} | {format_relative(v.relative_change)} | "
            f"{_md_escape(v.bound_text) or '—'} | {_STATUS_MD[v.status]} |"
        )
    if outcome.failed_groups:  # which groups failed, before anything else
        lines[1:1] = ["", "**Failing groups:** " + ", ".join(
            f"`{_md_escape(g.label)}`" for g in outcome.failed_groups)]
    reasons = [(v, r) for v in result.verdicts for r in v.reasons]
    if (reasons or result.data_text or outcome.notes
            or any(v.notes for v in result.verdicts)):
        lines.append("")
    if result.data_text:
        lines.append(f"- {'❌' if result.data_failed else '⚠️'} {_md_escape(result.data_text)}")
    lines += [f"- {'❌' if v.status == 'fail' else 'ℹ️'} {_md_escape(r)}" for v, r in reasons]
    lines += [f"- ℹ️ {_md_escape(n)}" for v in result.verdicts for n in v.notes]
    lines += [f"- ℹ️ {_md_escape(n)}" for n in outcome.notes]  # the gate's own notes
    if result.groups is not None:
        lines += ["", *_group_markdown(result)]
    lines += ["", f"_{_md_escape(check_summary(result))}_"]
    return "\n".join(lines) + "\n"


def _group_markdown(result: CheckResult) -> list[str]:
    """Every group's verdicts, failing groups first (Markdown is never cut short)."""
    names, rows, _ = _group_check_rows(result, True)
    out = ["| " + " | ".join(_md_escape(n) for n in names)
           + " | loss | value | baseline | change | bound | result |",
           "|" + "---|" * len(names) + "---|---:|---:|---:|---|:---:|"]
    for g, v, keys in rows:
        lead = "| " + " | ".join(_md_escape(k) for k in keys) + " | "
        if v is None:
            out.append(lead + "— | — | — | — | — | " + ("❌ **missing**" if not g.passed
                                                        else "⚠️ missing") + " |")
            continue
        status = ("🆕 new" if g.status == "new" and v.status != "fail" else _STATUS_MD[v.status])
        out.append(lead + f"`{_md_escape(v.label)}` | {format_value(v.value)} | "
                   f"{format_value(v.baseline)} | {format_change(v.change)} | "
                   f"{_md_escape(v.bound_text) or '—'} | {status} |")
    notes = [f"- {'❌' if not g.passed else 'ℹ️'} {_md_escape(g.label)}: {_md_escape(r)}"
             for g in result.groups or [] for r in
             [*(r for v in g.verdicts for r in v.reasons if not v.passed),
              *([g.note] if g.note and g.status != "checked" else [])]]
    return out + (["", *notes] if notes else [])


def _csv_float(value: float | None) -> str:
    return "" if value is None else repr(float(value))


def render_check_csv(result: CheckResult) -> str:
    buf = io.StringIO()
    writer = _SafeWriter(buf)
    writer.writerow([*(["group"] if result.groups is not None else []),
                     "loss", "label", "params", "higher_is_better", "value", "baseline",
                     "change", "relative_change", "max", "min", "rtol", "atol",
                     "allowed_change", "limit", "status", "passed", "reasons", "data_changed"])
    changed = "" if result.data_changed is None else str(result.data_changed).lower()
    for v in result.verdicts:
        reasons = [*v.reasons, *v.notes, *([result.data_text] if result.data_text else [])]
        writer.writerow([
            *([""] if result.groups is not None else []),
            v.name, v.label, format_params(v.params), str(v.higher_is_better).lower(),
            *(_csv_float(x) for x in (v.value, v.baseline, v.change, v.relative_change, v.max,
                                      v.min, v.rtol, v.atol, v.allowed_change, v.limit)),
            v.status, str(v.passed).lower(), "; ".join(reasons), changed,
        ])
    for g in result.groups or []:
        for v in g.verdicts or [None]:  # type: ignore[list-item]
            if v is None:  # a missing group
                writer.writerow([g.label, *[""] * 14, MISSING_STATUS, str(g.passed).lower(),
                                 g.note or "", changed])
                continue
            writer.writerow([
                g.label, v.name, v.label, format_params(v.params),
                str(v.higher_is_better).lower(),
                *(_csv_float(x) for x in (v.value, v.baseline, v.change, v.relative_change,
                                          v.max, v.min, v.rtol, v.atol, v.allowed_change,
                                          v.limit)),
                "new" if g.status == "new" and v.status != "fail" else v.status,
                str(v.passed).lower(), "; ".join([*v.reasons, *v.notes]), changed,
            ])
    return buf.getvalue()


MISSING_STATUS = "missing"


def render_check_ndjson(result: CheckResult) -> str:
    """One JSON object per checked loss (the ``checks`` entries of the JSON document, with
    the run's ``data_changed``)."""
    lines = [json.dumps({**v.to_dict(), "data_changed": result.data_changed,
                         **({"group": None} if result.groups is not None else {})},
                        allow_nan=False) for v in result.verdicts]
    for g in result.groups or []:
        if g.status == "missing":
            lines.append(json.dumps({"group": g.key, "status": "missing", "passed": g.passed,
                                     "reasons": [g.note], "data_changed": result.data_changed}))
        lines += [json.dumps({**v.to_dict(), "group": g.key, "group_status": g.status,
                              "data_changed": result.data_changed}, allow_nan=False)
                  for v in g.verdicts]
    return "".join(line + "\n" for line in lines)


def render_check(result: CheckResult, fmt: str, out: IO[str] | None = None) -> None:
    """Print a :class:`losscli.gate.CheckResult` as table, json, markdown, csv or ndjson."""
    _emit(result, fmt, out, render_check_table, {
        "json": render_check_json, "markdown": render_check_markdown,
        "csv": render_check_csv, "ndjson": render_check_ndjson})


# ---------------------------------------------------------------------------------------
# losscli compare: models side by side


def format_diff(diff: float | None, rel: float | None, same: bool = False) -> str:
    """``+0.0125 (+1.25%)``; the relative part is left out when undefined; ``same`` when
    the values are equal within float round-off (as ``check`` says)."""
    if diff is None:
        return "—"
    if same:
        return "same"
    return format_change(diff) + ("" if rel is None else f" ({format_relative(rel)})")


def _diffs(row: Any, ci: bool = False) -> list[str]:
    """The differences of models 1.. to the reference, as the table and Markdown show them;
    with ``ci``, the interval of the mean per-row difference beside each (where one exists)."""
    from losscli.gate.verdict import same_value

    ref = row.values[0]
    texts = [format_diff(d, r, d is not None and same_value(v, ref))
             for v, d, r in zip(row.values[1:], row.diff[1:], row.relative_diff[1:])]
    if ci and row.diff_interval:
        why = row.diff_reason[1:] if row.diff_reason else [None] * len(texts)
        texts = [f"{t} {format_interval({'low': iv[0], 'high': iv[1]})}" if iv is not None
                 else f"{t} (interval n/a: {r})" if r and t != "—" else t
                 for t, iv, r in zip(texts, row.diff_interval[1:], why)]
    if not row.verdict:
        return texts
    # the paired test's verdict beside each difference: better, worse, or ~ (noise)
    return [t if v in (None, "same") else f"{t} {v}" for t, v in zip(texts, row.verdict[1:])]


def _best(comp: Any, row: Any, mark: Any = str) -> str:
    """The best model(s), or ``~`` when no model is significantly better than every other."""
    names = comp.best_names(row)
    if names:
        return ", ".join(mark(n) for n in names)
    return "~" if row.best_note else "—"


def compare_summary(comp: Comparison) -> str:
    models = ", ".join(
        f"{name} ({rep.rows} rows{f', {rep.rows_skipped} skipped' if rep.rows_skipped else ''})"
        for name, rep in zip(comp.names, comp.reports))
    tests = " · ~: not significant (paired test, Holm)" if comp.tests else ""
    classes = labels_text(comp.reports[0].inputs) if comp.reports else None
    return printable(f"models: {models} · reference: {comp.reference}{tests} · "
                     + (f"{classes} · " if classes else "")
                     + f"time: {comp.elapsed_seconds:.3f} s")


def render_compare_table(comp: Comparison, out: IO[str] | None = None) -> None:
    from rich.text import Text

    out = out or sys.stdout
    console, tty = _console(out)
    ci = bool(comp.reports[0].ci)
    cols = [Col("loss", "label", "left", "bold"), Col("better", justify="center"),
            *(Col(name) for name in comp.names),
            *(Col(f"Δ {name} vs {comp.reference}", "pair", short=f"Δ {name}")
              for name in comp.names[1:]),
            Col("best", "label", "left")]
    rows = [[row.label, "higher" if row.higher_is_better else "lower",
             *(Text(format_value(v), style="bold green" if tty and i in row.best else
                    "bold" if tty and i in row.leader else "")
               for i, v in enumerate(row.values)),
             *_diffs(row, ci), _best(comp, row)]
            for row in comp.rows]
    console.print(fitted_table(console, tty, cols, rows))
    if comp.groups is not None:
        keys = [Col(k, "label", "left", "bold") for k in comp.group_by]
        group_rows = [[*(format_key_value(g.key[k]) for k in comp.group_by), row.label,
                       *(Text(format_value(v), style="bold green" if tty and i in row.best
                              else "bold" if tty and i in row.leader else "")
                         for i, v in enumerate(row.values)),
                       *_diffs(row, ci), _best(comp, row)]
                      for g in comp.groups for row in g.losses]
        console.print(fitted_table(console, tty, [*keys, cols[0], *cols[2:]], group_rows))
    _line(console, tty, compare_summary(comp), "dim")


def render_compare_json(comp: Comparison) -> str:
    return json.dumps(comp.to_dict(), indent=2, allow_nan=False)


def render_compare_markdown(comp: Comparison) -> str:
    """The best value per loss in bold; the last column names the model significantly
    better than every other (``~`` when none is)."""
    names = [_md_escape(n) for n in comp.names]
    header = ["loss", "better", *names, *(f"Δ {n} vs {names[0]}" for n in names[1:]), "best"]
    align = ["---", ":---:", *["---:"] * (2 * len(names) - 1), "---"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for row in comp.rows:
        cells = [f"**{format_value(v)}**" if i in (row.leader or row.best) else format_value(v)
                 for i, v in enumerate(row.values)]
        diffs = _diffs(row, bool(comp.reports[0].ci))
        best = _best(comp, row, lambda n: f"**{_md_escape(n)}**")
        lines.append("| " + " | ".join([f"`{_md_escape(row.label)}`",
                                         "higher" if row.higher_is_better else "lower",
                                         *cells, *diffs, best]) + " |")
    if comp.groups is not None:
        keys = [_md_escape(k) for k in comp.group_by]
        lines += ["", "| " + " | ".join([*keys, *header[:1], *header[2:]]) + " |",
                  "|" + "|".join(["---"] * len(keys) + align[:1] + align[2:]) + "|"]
        for g in comp.groups:
            for row in g.losses:
                cells = [f"**{format_value(v)}**" if i in (row.leader or row.best)
                         else format_value(v) for i, v in enumerate(row.values)]
                lines.append("| " + " | ".join([
                    *(_md_escape(format_key_value(g.key[k])) for k in comp.group_by),
                    f"`{_md_escape(row.label)}`", *cells, *_diffs(row, bool(comp.reports[0].ci)),
                    _best(comp, row, lambda n: f"**{_md_escape(n)}**")]) + " |")
    lines += ["", f"_{_md_escape(compare_summary(comp))}_"]
    return "\n".join(lines) + "\n"


def render_compare_csv(comp: Comparison) -> str:
    """Long format: one line per (loss, model), ready to pivot."""
    buf = io.StringIO()
    writer = _SafeWriter(buf)
    grouped = comp.groups is not None
    writer.writerow([*(["group"] if grouped else []), "loss", "label", "params",
                     "higher_is_better", "model", "value", "diff", "relative_diff", "best",
                     "leader", "verdict", "p_value"])
    from losscli.grouping import key_text

    scopes = [("", comp.rows)] + [(key_text(comp.group_by, tuple(g.key.values())), g.losses)
                                  for g in comp.groups or []]
    for scope, rows in scopes:
        for row in rows:
            for i, name in enumerate(comp.names):
                writer.writerow([
                    *([scope] if grouped else []),
                    row.name, row.label, format_params(row.params),
                    str(row.higher_is_better).lower(),
                    name, _csv_float(row.values[i]), _csv_float(row.diff[i]),
                    _csv_float(row.relative_diff[i]), str(i in row.best).lower(),
                    str(i in (row.leader or row.best)).lower(),
                    (row.verdict[i] or "") if row.verdict else "",
                    _csv_float(row.p_value[i]) if row.p_value else "",
                ])
    return buf.getvalue()


def render_compare_ndjson(comp: Comparison) -> str:
    """One JSON object per loss (the ``losses`` entries of the JSON document); with groups,
    then one per group and loss, with the group's ``key``."""
    doc = comp.to_dict()
    lines = [json.dumps(row, allow_nan=False) for row in doc["losses"]]
    for g in doc.get("groups", ()):
        lines += [json.dumps({**row, "key": g["key"]}, allow_nan=False) for row in g["losses"]]
    return "".join(line + "\n" for line in lines)


def render_compare(comp: Comparison, fmt: str, out: IO[str] | None = None) -> None:
    """Print a :class:`losscli.comparison.Comparison` as table, json, markdown, csv or ndjson."""
    _emit(comp, fmt, out, render_compare_table, {
        "json": render_compare_json, "markdown": render_compare_markdown,
        "csv": render_compare_csv, "ndjson": render_compare_ndjson})
