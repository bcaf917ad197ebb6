"""``losscli compare`` as text: the models side by side as a table, JSON, Markdown, CSV or
NDJSON (the best marked, differences to the reference, ``~`` within noise)."""

from __future__ import annotations

import io
import json
import sys
from typing import IO, TYPE_CHECKING, Any

from losscli.present.confusion import comparison_confusion_markdown, render_comparison_confusion
from losscli.present.output import emit
from losscli.present.summary import (
    format_change,
    format_interval,
    format_key_value,
    format_params,
    format_relative,
    labels_text,
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
from losscli.present.text import format_value, printable

if TYPE_CHECKING:
    from losscli.comparison import Comparison

__all__ = ["render_compare"]


def format_diff(diff: float | None, rel: float | None, same: bool = False) -> str:
    """``+0.0125 (+1.25%)``; the relative part is left out when undefined; ``same`` when
    the values are equal within float round-off (as ``check`` says)."""
    if diff is None:
        return "—"
    if same:
        return "same"
    return format_change(diff) + ("" if rel is None else f" ({format_relative(rel)})")


def _diffs(row: Any, ci: bool = False, notes: dict[str, None] | None = None) -> list[str]:
    """The differences of models 1.. to the reference, as the table and Markdown show them;
    with ``ci``, the interval of the mean per-row difference beside each (where one exists).
    Why a difference has no interval or no paired test goes to ``notes`` (printed under
    the table, once per loss and reason) and the cell says "see below"."""
    from losscli.gate.verdict import same_value

    notes = {} if notes is None else notes

    def later(reason: str) -> str:
        notes[f"{row.label}: {reason}"] = None
        return "see below"

    ref = row.values[0]
    texts = [format_diff(d, r, d is not None and same_value(v, ref))
             for v, d, r in zip(row.values[1:], row.diff[1:], row.relative_diff[1:])]
    if ci and row.diff_interval:
        why = row.diff_reason[1:] if row.diff_reason else [None] * len(texts)
        texts = [f"{t} {format_interval({'low': iv[0], 'high': iv[1]})}" if iv is not None
                 else f"{t} (interval n/a: {later(r)})" if r and t != "—" else t
                 for t, iv, r in zip(texts, row.diff_interval[1:], why)]
    if not row.verdict:
        return texts
    if not ci and row.diff_reason:  # no test at all: say why (--ci says it above)
        texts = [f"{t} (no paired test: {later(r)})" if v is None and r
                 and r.startswith("no paired test") and t != "—" else t
                 for t, v, r in zip(texts, row.verdict[1:], row.diff_reason[1:])]
    # the paired test's verdict beside each difference: better, worse, or ~ (noise)
    return [t if v in (None, "same") else f"{t} {v}" for t, v in zip(texts, row.verdict[1:])]


def _best(comp: Any, row: Any, mark: Any = str) -> str:
    """The best model(s), ``~`` when no model is significantly better than every other, or
    ``—`` when there is no paired test to say it (the row says why)."""
    names = comp.best_names(row)
    if names:
        return ", ".join(mark(n) for n in names)
    return "~" if row.best_note and row.tested else "—"


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
    console, tty = console_of(out)
    ci = bool(comp.reports[0].ci)
    notes: dict[str, None] = {}
    cols = [Col("loss", "label", "left", "bold"), Col("better", justify="center"),
            *(Col(name) for name in comp.names),
            *(Col(f"Δ {name} vs {comp.reference}", "pair", short=f"Δ {name}")
              for name in comp.names[1:]),
            Col("best", "label", "left")]
    rows = [[row.label, row.direction,
             *(Text(format_value(v), style="bold green" if tty and i in row.best else
                    "bold" if tty and i in row.leader else "")
               for i, v in enumerate(row.values)),
             *_diffs(row, ci, notes), _best(comp, row)]
            for row in comp.rows]
    console.print(fitted_table(console, tty, cols, rows))
    if comp.groups is not None:
        keys = [Col(k, "label", "left", "bold") for k in comp.group_by]
        group_rows = [[*(format_key_value(g.key[k]) for k in comp.group_by), row.label,
                       *(Text(format_value(v), style="bold green" if tty and i in row.best
                              else "bold" if tty and i in row.leader else "")
                         for i, v in enumerate(row.values)),
                       *_diffs(row, ci, notes), _best(comp, row)]
                      for g in comp.groups for row in g.losses]
        console.print(fitted_table(console, tty, [*keys, cols[0], *cols[2:]], group_rows))
    for note in notes:
        note_line(console, tty, f"· {note}", "dim")
    note_line(console, tty, compare_summary(comp), "dim")
    render_comparison_confusion(comp, console, tty)  # --confusion: each model's matrix


def render_compare_json(comp: Comparison) -> str:
    return json.dumps(comp.to_dict(), indent=2, allow_nan=False)


def render_compare_markdown(comp: Comparison) -> str:
    """The best value per loss in bold; the last column names the model significantly
    better than every other (``~`` when none is)."""
    names = [md_escape(n) for n in comp.names]
    notes: dict[str, None] = {}
    header = ["loss", "better", *names, *(f"Δ {n} vs {names[0]}" for n in names[1:]), "best"]
    align = ["---", ":---:", *["---:"] * (2 * len(names) - 1), "---"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
    for row in comp.rows:
        cells = [f"**{format_value(v)}**" if i in (row.leader or row.best) else format_value(v)
                 for i, v in enumerate(row.values)]
        diffs = _diffs(row, bool(comp.reports[0].ci), notes)
        best = _best(comp, row, lambda n: f"**{md_escape(n)}**")
        lines.append("| " + " | ".join([f"`{md_escape(row.label)}`",
                                         row.direction,
                                         *cells, *diffs, best]) + " |")
    if comp.groups is not None:
        keys = [md_escape(k) for k in comp.group_by]
        lines += ["", "| " + " | ".join([*keys, *header[:1], *header[2:]]) + " |",
                  "|" + "|".join(["---"] * len(keys) + align[:1] + align[2:]) + "|"]
        for g in comp.groups:
            for row in g.losses:
                cells = [f"**{format_value(v)}**" if i in (row.leader or row.best)
                         else format_value(v) for i, v in enumerate(row.values)]
                lines.append("| " + " | ".join([
                    *(md_escape(format_key_value(g.key[k])) for k in comp.group_by),
                    f"`{md_escape(row.label)}`", *cells, *_diffs(row, bool(comp.reports[0].ci), notes),
                    _best(comp, row, lambda n: f"**{md_escape(n)}**")]) + " |")
    lines += ["", *(f"- {md_escape(n)}" for n in notes), *([""] if notes else []),
              f"_{md_escape(compare_summary(comp))}_"]
    return "\n".join(lines) + "\n" + comparison_confusion_markdown(comp)


def render_compare_csv(comp: Comparison) -> str:
    """Long format: one line per (loss, model), ready to pivot."""
    buf = io.StringIO()
    writer = SafeWriter(buf)
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
                    name, csv_float(row.values[i]), csv_float(row.diff[i]),
                    csv_float(row.relative_diff[i]), str(i in row.best).lower(),
                    str(i in (row.leader or row.best)).lower(),
                    (row.verdict[i] or "") if row.verdict else "",
                    csv_float(row.p_value[i]) if row.p_value else "",
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
    emit(comp, fmt, out, render_compare_table, {
        "json": render_compare_json, "markdown": render_compare_markdown,
        "csv": render_compare_csv, "ndjson": render_compare_ndjson})
