"""The words around the numbers, shared by every text format: the summary line under a
report (rows, task, classes, intervals, files, time), which class is which, the per-class
breakdown of a loss, intervals as tables print them, and the rows and reasons of a
per-group table."""

from __future__ import annotations

from typing import Any

from losscli.present.text import DIGITS, format_value, input_paths, intervals_text, printable
from losscli.report import LossResult, Report

__all__ = [
    "ALL_ROWS",
    "BREAKDOWN_ROWS",
    "SUMMARY_CLASSES",
    "breakdown",
    "ci_text",
    "files_text",
    "format_change",
    "format_interval",
    "format_key_value",
    "format_params",
    "format_relative",
    "gap_cells",
    "gap_line",
    "gap_lines",
    "gap_title",
    "group_reasons",
    "group_rows",
    "interval_reason",
    "label_text",
    "labels_text",
    "numbers_text",
    "summary_line",
]


def format_params(params: dict[str, Any]) -> str:
    from losscli.registry import format_param

    return ", ".join(f"{k}={format_param(v)}" for k, v in params.items())


def files_text(report: Report) -> str:
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
    queries = next((res.details for res in report.losses
                    if isinstance(res.details, dict) and "queries" in res.details
                    and "mode" in res.details), None)
    if queries is not None:  # --query-col: how many queries, and what was held for them
        empty = queries.get("queries_without_relevant") or 0
        parts.append(f"queries: {queries['queries']} ({queries['mode']}"
                     + (f"; {empty} without a relevant item, scored 0" if empty else "") + ")")
    task = report.inputs.get("task")
    if task and task != "regression":
        parts.append(f"task: {task}{' (logits)' if report.inputs.get('from_logits') else ''}")
    threshold = report.inputs.get("threshold")
    if threshold is not None:  # the decision threshold in effect is always shown
        parts.append(f"threshold: {numbers_text(threshold)}")
    classes = labels_text(report.inputs)
    if classes:  # a target of labels: which class is which (and how, when not by name)
        from losscli.labels import mapping_note

        parts.append(classes + mapping_note(report.inputs))
    if report.ci:
        parts.append(ci_text(report))
    parts += [f"reduction: {report.reduction}", f"files: {files_text(report)}",
              f"time: {report.elapsed_seconds:.3f} s"]
    return printable(" · ".join(parts))


def label_text(value: Any) -> str:
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
        return (f"positive: {label_text(inputs['pos_label'])}"
                + ("" if negative is None else f" (vs {label_text(negative)})"))
    shown = ", ".join(label_text(c) for c in classes[:SUMMARY_CLASSES])
    more = f", … ({len(classes)} classes)" if len(classes) > SUMMARY_CLASSES else ""
    return f"classes: {shown}{more}"


def numbers_text(value: Any) -> str:
    """A value or a list of values (one threshold per label) as tables show them."""
    if isinstance(value, list):
        return ", ".join(numbers_text(v) for v in value)
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


def breakdown(res: LossResult) -> list[tuple[str, float]]:
    """The per-class (per-label, per-output) values of a loss's details, named for a table:
    ``class setosa`` (``per_class`` is keyed by the class labels when the report knows them,
    :func:`losscli.reporting.class_details`), ``label 0``, ``output 1``; none when there
    are more than BREAKDOWN_ROWS. The names are escaped where they are printed."""
    details = res.details or {}
    # an operating point (threshold_at_fpr, ...): where it was read — threshold, tpr, ...
    at = [(f"at {k}", v) for k, v in (details.get("at") or {}).items() if v is not None]
    bound = details.get("bound")
    if isinstance(bound, list | tuple) and len(bound) == 2 and None not in bound:
        # a binned roc_auc / average_precision: where the exact value lies
        return [*_breakdown(details), *at, ("exact value ≥", float(bound[0])),
                ("exact value ≤", float(bound[1]))]
    return [*_breakdown(details), *at]


def _breakdown(details: dict[str, Any]) -> list[tuple[str, float]]:
    for key, noun in (("per_class", "class"), ("per_label", "label"), ("per_column", "column")):
        values = details.get(key)
        if not values:
            continue
        items = list(values.items()) if isinstance(values, dict) else list(enumerate(values))
        if len(items) > BREAKDOWN_ROWS:
            return []
        return [(f"{noun} {k}", v) for k, v in items if v is not None]
    return []


def format_interval(interval: dict[str, Any] | None, why: bool = False) -> str:
    """``[0.99, 1.03]``, or ``n/a`` with no valid interval (never a number then) — with
    ``why``, ``n/a (the reason)`` where the interval says one."""
    if not interval:
        return ""
    if interval.get("low") is None or interval.get("high") is None:
        return f"n/a ({interval['reason']})" if why and interval.get("reason") else "n/a"
    text = f"[{format_value(interval['low'])}, {format_value(interval['high'])}]"
    return f"{text} ({interval['reason']})" if why and interval.get("reason") else text


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


def interval_reason(res: LossResult) -> str | None:
    """Why a loss's interval is n/a (``no interval: fewer than two rows …``), or None."""
    iv = res.interval
    if iv and (iv.get("low") is None or iv.get("high") is None) and iv.get("reason"):
        return f"no interval: {iv['reason']}"
    return None


def format_change(value: float | None) -> str:
    """A signed difference to :data:`DIGITS` significant digits (``+0.0125``), or ``—``."""
    return "—" if value is None else f"{float(value):+.{DIGITS}g}"


def format_relative(value: float | None) -> str:
    """A relative difference as a percentage (``+1.25%``), or ``—`` when undefined."""
    return "—" if value is None else f"{value * 100:+.4g}%"


def gap_title(report: Report) -> str | None:
    """The first cell of the gap row under the groups: ``(gap: difference)``; None when the
    report has no gap (no --group-gap)."""
    gaps = [r.group_gap for r in report.losses if r.group_gap]
    return f"(gap: {gaps[0]['method']})" if gaps else None


def gap_cells(res: LossResult, ci: bool) -> list[str]:
    """A loss's gap in the row under the groups: the value (``n/a`` without one), and with
    ``ci`` its interval."""
    gap = res.group_gap or {}
    return [format_value(gap.get("value")),
            *([format_interval(gap.get("interval"))] if ci else [])]


def gap_lines(report: Report) -> list[str]:
    """What each loss's gap is, in words (:func:`gap_line`), one line per loss."""
    return [gap_line(res.label, res.group_gap) for res in report.losses if res.group_gap]


def gap_line(label: str, gap: dict[str, Any]) -> str:
    """A loss's gap in words (unescaped: the renderer escapes): ``mse: gap (difference) 2
    = 2.125 (g=c, worst) − 0.125 (g=a), over 3 groups``; ``… ratio 0.0588 = 0.125 (g=a) /
    2.125 (g=c, worst)``; n/a with its reason; an interval, or its n/a with the reason."""
    from losscli.grouping import key_text

    method = gap.get("method")
    if gap.get("value") is None:
        return f"{label}: gap ({method}) n/a: {gap.get('reason')}"

    def end(which: str) -> str:
        key = gap[f"{which}_group"]
        worst = ", worst" if key == gap.get("worst_group") else ""
        return (f"{format_value(gap[which])} ({key_text(list(key), tuple(key.values()))}"
                f"{worst})")

    op, first, second = ("−", "max", "min") if method == "difference" else ("/", "min", "max")
    line = (f"{label}: gap ({method}) {format_value(gap['value'])} = {end(first)} {op} "
            f"{end(second)}, over {gap.get('groups')} groups")
    iv = gap.get("interval")
    if iv and iv.get("low") is not None:
        line += f"; {format_level_text(iv)} interval {format_interval(iv)}"
    elif iv and iv.get("reason"):
        line += f"; interval n/a: {iv['reason']}"
    return line


def format_level_text(interval: dict[str, Any]) -> str:
    from losscli.present.text import format_level

    return f"{format_level(interval.get('level', 0.95))} {interval.get('method', '')}".strip()
