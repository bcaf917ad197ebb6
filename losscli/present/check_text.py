"""``losscli check`` as text: the verdict of the regression gate as a table, JSON,
Markdown, CSV or NDJSON. The verdict is read from :class:`losscli.gate.verdict.Outcome`
and each :class:`~losscli.gate.verdict.Verdict` (their words and their dicts), never
re-derived here."""

from __future__ import annotations

import io
import json
import sys
from typing import IO, TYPE_CHECKING, Any

from losscli.present.confusion import confusion_markdown, render_confusion_table
from losscli.present.output import emit
from losscli.present.summary import (
    format_change,
    format_interval,
    format_key_value,
    format_params,
    format_relative,
    gap_lines,
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
from losscli.present.text import format_level, format_value, printable

if TYPE_CHECKING:
    from losscli.gate import CheckResult


def gap_label(label: str) -> str:
    """How a gap check is named (:func:`losscli.gate.gaps.gap_label`)."""
    from losscli.gate.gaps import gap_label as named

    return named(label)

__all__ = ["render_check"]


# ---------------------------------------------------------------------------------------
# losscli check: the verdict of the regression gate

_STATUS_STYLE = {"pass": "green", "same": "green", "improved": "cyan", "fail": "bold red",
                 "unchecked": "dim"}
_STATUS_MD = {"pass": "✅ pass", "same": "✅ same", "improved": "✅ improved",
              "fail": "❌ **FAIL**", "unchecked": "—"}


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
        commit = result.baseline.commit
        parts.append(f"baseline: {result.baseline.path}"
                     + (f" (commit {commit[:12]})" if commit else ""))
    return printable(" · ".join([*parts, summary_line(result.report,
                                                      groups=result.groups is None)]))


def render_check_table(result: CheckResult, out: IO[str] | None = None) -> None:
    from rich.text import Text

    from losscli.gate.verdict import STATUS_TEXT

    out = out or sys.stdout
    console, tty = console_of(out)
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
        for row, iv in zip(rows, _intervals_of(result)):
            row.insert(2, format_interval(iv))
    console.print(fitted_table(console, tty, cols, rows))
    if result.data_text:
        mark, style = ("✗", "red") if result.data_failed else ("!", "yellow")
        note_line(console, tty, f"{mark} {result.data_text}", style)
    for v in result.verdicts:
        for reason in v.reasons:
            mark = "✗" if v.status == "fail" else "·"
            note_line(console, tty, f"{mark} {reason}", "red" if v.status == "fail" else "dim")
        for note in v.notes:
            note_line(console, tty, f"· {note}", "dim")
    for line in gap_lines(result.report):  # --group-gap: each loss's gap in words
        note_line(console, tty, f"· {line}", "dim")
    if result.groups is not None:
        _print_group_checks(result, console, tty)
    render_confusion_table(result.report, console, tty)  # --confusion
    note_line(console, tty, check_summary(result),
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
        note_line(console, tty, f"· {hidden} more group{'s' if hidden != 1 else ''} passed (all in "
              "--format json/csv)", "dim")
    for g in result.groups:
        lines = [*(r for v in g.verdicts for r in v.reasons if not v.passed)]
        if g.note and (g.status != "checked"):
            lines.append(g.note)
        for line in lines:
            mark = "✗" if not g.passed else "·"
            note_line(console, tty, f"{mark} {g.label}: {line}", "red" if not g.passed else "dim")
    for line in group_notes(result):
        note_line(console, tty, f"· {line}", "dim")


#: Groups named in one note line; the rest are counted.
NOTE_GROUPS = 3


def group_notes(result: CheckResult) -> list[str]:
    """The notes of the groups' verdicts (what a verdict could not use, e.g. an interval
    that needs more replicates: judged on the value), each note once with the groups it
    concerns — ``site=east, site=north, site=south: f1: …; judged on its value``."""
    groups_of: dict[str, list[str]] = {}
    for g in result.groups or []:
        for v in g.verdicts:
            for note in v.notes:
                groups_of.setdefault(note, []).append(g.label)
    out = []
    for note, labels in groups_of.items():
        named = ", ".join(labels[:NOTE_GROUPS])
        more = len(labels) - NOTE_GROUPS
        out.append(f"{named}{f' and {more} more' if more > 0 else ''}: {note}")
    return out


def _results_of(result: CheckResult) -> list[Any]:
    """The report entry (LossResult) of each verdict, None where there is none."""
    by_label = {r.label: r for r in result.report.losses}
    return [by_label.get(v.label) for v in result.verdicts]


def _intervals_of(result: CheckResult) -> list[dict[str, Any] | None]:
    """The interval each verdict was judged by: its loss's, or a gap check's gap's."""
    gaps = {gap_label(r.label): r.group_gap for r in result.report.losses if r.group_gap}
    return [(gaps.get(v.label) or {}).get("interval") if v.gap
            else None if res is None else res.interval
            for v, res in zip(result.verdicts, _results_of(result))]


def render_check_json(result: CheckResult) -> str:
    return json.dumps(result.to_dict(), indent=2, allow_nan=False)


def render_check_markdown(result: CheckResult) -> str:
    """A GitHub-flavoured Markdown verdict for ``$GITHUB_STEP_SUMMARY`` (never truncated)."""
    outcome = result.outcome
    head = ("### ❌ losscli check failed: " + outcome.failure_text(lambda n: f"`{md_escape(n)}`")
            if not outcome.passed else "### ✅ losscli check passed")
    ci = result.report.ci
    level = f"{format_level(ci.get('level', 0.95))} interval | " if ci else ""
    lines = [head, "", f"| loss | value | {level}baseline | change | rel. change | bound | "
             "result |", "|---|---:|" + ("---:|" if ci else "") + "---:|---:|---:|---|:---:|"]
    for v, iv in zip(result.verdicts, _intervals_of(result)):
        interval = f"{format_interval(iv)} | " if ci else ""
        lines.append(
            f"| `{md_escape(v.label)}` | {format_value(v.value)} | {interval}"
            f"{format_value(v.baseline)} | "
            f"{format_change(v.change)} | {format_relative(v.relative_change)} | "
            f"{md_escape(v.bound_text) or '—'} | {_STATUS_MD[v.status]} |"
        )
    if outcome.failed_groups:  # which groups failed, before anything else
        lines[1:1] = ["", "**Failing groups:** " + ", ".join(
            f"`{md_escape(g.label)}`" for g in outcome.failed_groups)]
    reasons = [(v, r) for v in result.verdicts for r in v.reasons]
    if (reasons or result.data_text or outcome.notes or gap_lines(result.report)
            or any(v.notes for v in result.verdicts)):
        lines.append("")
    if result.data_text:
        lines.append(f"- {'❌' if result.data_failed else '⚠️'} {md_escape(result.data_text)}")
    lines += [f"- {'❌' if v.status == 'fail' else 'ℹ️'} {md_escape(r)}" for v, r in reasons]
    lines += [f"- ℹ️ {md_escape(n)}" for v in result.verdicts for n in v.notes]
    lines += [f"- ℹ️ {md_escape(n)}" for n in outcome.notes]  # the gate's own notes
    lines += [f"- ℹ️ {md_escape(n)}" for n in gap_lines(result.report)]  # --group-gap
    if result.groups is not None:
        lines += ["", *_group_markdown(result)]
    lines += ["", f"_{md_escape(check_summary(result))}_"]
    return "\n".join(lines) + "\n" + confusion_markdown(result.report)  # --confusion


def _group_markdown(result: CheckResult) -> list[str]:
    """Every group's verdicts, failing groups first (Markdown is never cut short)."""
    names, rows, _ = _group_check_rows(result, True)
    out = ["| " + " | ".join(md_escape(n) for n in names)
           + " | loss | value | baseline | change | bound | result |",
           "|" + "---|" * len(names) + "---|---:|---:|---:|---|:---:|"]
    for g, v, keys in rows:
        lead = "| " + " | ".join(md_escape(k) for k in keys) + " | "
        if v is None:
            out.append(lead + "— | — | — | — | — | " + ("❌ **missing**" if not g.passed
                                                        else "⚠️ missing") + " |")
            continue
        status = ("🆕 new" if g.status == "new" and v.status != "fail" else _STATUS_MD[v.status])
        out.append(lead + f"`{md_escape(v.label)}` | {format_value(v.value)} | "
                   f"{format_value(v.baseline)} | {format_change(v.change)} | "
                   f"{md_escape(v.bound_text) or '—'} | {status} |")
    notes = [f"- {'❌' if not g.passed else 'ℹ️'} {md_escape(g.label)}: {md_escape(r)}"
             for g in result.groups or [] for r in
             [*(r for v in g.verdicts for r in v.reasons if not v.passed),
              *([g.note] if g.note and g.status != "checked" else [])]]
    notes += [f"- ℹ️ {md_escape(line)}" for line in group_notes(result)]
    return out + (["", *notes] if notes else [])


def render_check_csv(result: CheckResult) -> str:
    buf = io.StringIO()
    writer = SafeWriter(buf)
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
            *(csv_float(x) for x in (v.value, v.baseline, v.change, v.relative_change, v.max,
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
                *(csv_float(x) for x in (v.value, v.baseline, v.change, v.relative_change,
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
    """Print a :class:`losscli.gate.CheckResult` as table, json, markdown, csv, ndjson,
    junit or openmetrics (:mod:`losscli.present.ci_formats`)."""
    from losscli.present.ci_formats import render_check_junit, render_check_openmetrics

    emit(result, fmt, out, render_check_table, {
        "json": render_check_json, "markdown": render_check_markdown,
        "csv": render_check_csv, "ndjson": render_check_ndjson,
        "junit": render_check_junit, "openmetrics": render_check_openmetrics})


# ---------------------------------------------------------------------------------------
# losscli compare: models side by side
