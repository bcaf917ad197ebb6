"""The sections of the page (:mod:`losscli.html`) that hold pictures: by group (bars and a
table per loss), the distributions of the per-row losses (histograms with their quantiles,
or the counts of a 0/1 loss) and calibration (reliability diagrams with ECE, MCE and the
bin table)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Union

from losscli.present.axes import HistogramAxis
from losscli.present.markup import (
    escape,
    interval_text,
    label_of,
    level_text,
    number,
    status_text,
    table,
)
from losscli.present.pictures import Counts, GroupBars, Histogram, Reliability, group_label
from losscli.present.summary import gap_line
from losscli.present.svg import group_bars_svg, histogram_svg, reliability_svg
from losscli.present.text import format_count, format_value, printable

__all__ = ["PagePicture", "calibration_section", "distribution_section", "groups_section",
           "sort_pictures"]

PagePicture = Union[Histogram, Counts, Reliability, GroupBars, Sequence[Histogram],
                    Sequence[Counts], Sequence[Reliability]]


def _group_table(g: GroupBars, doc: dict[str, Any]) -> str:
    rows_by_label = {group_label(x): x.get("rows") for x in doc.get("groups", ()) or ()}
    with_interval = any(b.low is not None or b.note for b in g.bars)
    checked = any(b.status is not None for b in g.bars)  # check: each group's own verdict
    header = ["group", "rows", "value", *(["interval"] if with_interval else []),
              *(["status", "why"] if checked else [])]
    rows, classes = [], []
    if g.overall is not None:
        rows.append(["<i>overall</i>", escape(format_count(doc["rows"])) if "rows" in doc else "",
                     number(g.overall), *([""] if with_interval else []),
                     *(["", ""] if checked else [])])
        classes.append("")
    for b in g.bars:
        n = rows_by_label.get(b.label)
        cells = [("✗&nbsp;" if b.failed else "") + escape(b.label),
                 escape(format_count(n)) if isinstance(n, (int, float)) else "", number(b.value)]
        if with_interval:
            interval = {"low": b.low, "high": b.high, "reason": b.note}
            cells.append(interval_text(interval) if b.low is not None or b.note else "")
        if checked:
            cells += [status_text(b.status) if b.status is not None else "",
                      "<br>".join(escape(r) for r in b.reasons)]
        rows.append(cells)
        classes.append("fail" if b.failed else "")
    gap = next((x.get("group_gap") for x in doc.get("losses", ()) or ()
                if isinstance(x, dict) and label_of(x) == g.label), None)
    if isinstance(gap, dict):  # --group-gap: a row under the groups, and its sentence
        rows.append([f"<i>gap ({escape(gap.get('method'))})</i>", "",
                     number(gap.get("value")),
                     *([interval_text(gap.get("interval"))] if with_interval else []),
                     *(["", escape(gap_line(g.label, gap))] if checked else [])])
        classes.append("")
    caption = level_text(g.level, g.method)
    correction = doc.get("group_correction")  # check --group-by --ci: the level of each
    if caption and isinstance(correction, str) and correction.startswith("Bonferroni"):
        caption += f" each ({escape(correction.split(':')[0])})"
    out = table(header, rows, numeric=[1, 2, 3], row_classes=classes,
                caption=f"intervals: {caption}" if caption and with_interval else None)
    if isinstance(gap, dict) and not checked:
        out += f'<p class="muted">{escape(gap_line(g.label, gap))}</p>'
    return out


def groups_section(doc: dict[str, Any], bars: Sequence[GroupBars]) -> str:
    given = {g.label: g for g in bars}
    labels = [g.label for g in bars]
    if doc.get("groups"):
        for x in doc.get("losses", ()) or ():
            if isinstance(x, dict) and label_of(x) not in given:
                labels.append(label_of(x))
                given[label_of(x)] = GroupBars.from_report(doc, label_of(x))
    parts = []
    for label in labels:
        g = given[label]
        if not g.bars:
            continue
        svg = group_bars_svg(g) if g.reason() is None else ""
        parts.append(f'<h3>{escape(label)}</h3><figure class="stack">{svg}<figcaption>'
                     f"{_group_table(g, doc)}</figcaption></figure>")
    if not parts:
        return ""
    n = len(doc.get("groups", ()) or ()) or max(len(g.bars) for g in given.values())
    return (f'<section id="groups"><h2>By group</h2><p class="muted">{n} groups.'
            " The bar is the value, the whisker its interval, the dashed line the value over "
            "every row.</p>" + "".join(parts) + "</section>")


def _quantile_table(h: Histogram) -> str:
    rows = [[escape(name), number(value)] for name, value in h.quantiles]
    caption = (f"{escape(format_count(h.rows))} rows"
               + (f", total weight {escape(format_count(h.total_weight))}" if h.weighted else "")
               + f"; quantiles within ±{escape(format(h.alpha * 100, 'g'))} % (relative) of "
               "the exact order statistics; max exact")
    return table(["quantile", "value"], rows, numeric=[1], caption=caption)


def distribution_section(doc: dict[str, Any],
                         hists: Sequence[Sequence[Histogram | Counts]]) -> str:
    parts = []
    drawn = set()
    for group in hists:
        label = group[0].label
        drawn.add(label)
        few = [c for c in group if isinstance(c, Counts) and c.reason() is None]
        if few:
            parts.append(f"<h3>{escape(label)}</h3>{_counts_table(few)}")
            continue
        live = [h for h in group if isinstance(h, Histogram) and h.reason() is None]
        if not live:
            parts.append(f"<h3>{escape(label)}</h3><p class='muted'>{escape(group[0].reason())}</p>")
            continue
        axis = HistogramAxis.of(live)
        if len(live) == 1:
            caption = _quantile_table(live[0])
        else:
            names = [printable(h.model if h.model is not None else f"model {i + 1}")
                     for i, h in enumerate(live)]
            qnames = [q for q, _ in live[0].quantiles]
            rows = [[escape(n), *(number(dict(h.quantiles).get(q)) for q in qnames)]
                    for n, h in zip(names, live)]
            caption = table(["model", *(escape(q) for q in qnames)], rows,
                             numeric=list(range(1, len(qnames) + 1)),
                             caption="quantiles within each sketch's relative error; max exact")
        stack = ' class="stack"' if len(live) > 1 else ""
        parts.append(f"<h3>{escape(label)}</h3><figure{stack}>{histogram_svg(live)}<figcaption>"
                     f'<p class="muted">{escape(axis.rule)}</p>{caption}</figcaption></figure>')
    for x in doc.get("losses", ()) or ():
        dist = x.get("distribution") if isinstance(x, dict) else None
        if not dist or label_of(x) in drawn:
            continue
        quantiles = dist.get("quantiles") or {}
        items = quantiles.items() if isinstance(quantiles, dict) else [
            (q.get("name", q.get("level")), q.get("value")) for q in quantiles]
        rows = [[escape(k), number(v)] for k, v in items]
        alpha = dist.get("relative_accuracy")
        cap = (f"quantiles within ±{escape(format(float(alpha) * 100, 'g'))} % (relative)"
               if isinstance(alpha, (int, float)) else None)
        parts.append(f"<h3>{escape(label_of(x))}</h3>"
                     + table(["quantile", "value"], rows, numeric=[1], caption=cap))
    if not parts:
        return ""
    return ('<section id="distributions"><h2>Distributions of the per-row losses</h2>'
            + "".join(parts) + "</section>")


def calibration_section(doc: dict[str, Any], rels: Sequence[Sequence[Reliability]]) -> str:
    parts = []
    drawn = set()
    for group in rels:
        live = [r for r in group if r.reason() is None]
        label = group[0].label
        drawn.add(label)
        if not live:
            parts.append(f"<h3>{escape(label)}</h3><p class='muted'>{escape(group[0].reason())}</p>")
            continue
        if len(live) == 1:
            r = live[0]
            unit = "weight" if r.weighted else "rows"
            rows = [[escape(f"[{b.low:.3f}, {b.high:.3f}{']' if b.index == r.bins - 1 else ')'}"),
                     escape(format_count(b.weight)), number(b.confidence), number(b.accuracy),
                     escape(format(b.gap, "+.4f"))] for b in r.table]
            summary = (f"<p><b>ECE</b> = {number(r.ece)}<br><b>MCE</b> = {number(r.mce)}</p>"
                       f'<p class="muted">{escape(r.task)}, {r.bins} equal-width bins, '
                       f"{escape(format_count(r.rows))} rows"
                       + (f", model {escape(r.model)}" if r.model is not None else "") + "</p>")
            caption = summary
            after = table(["bin", unit, "confidence", "accuracy", "gap"], rows,
                           numeric=[0, 1, 2, 3, 4],
                           caption="per non-empty bin: confidence and accuracy are the "
                                   "bin's weighted means; gap = accuracy − confidence")
        else:
            rows = [[escape(r.model if r.model is not None else f"model {i + 1}"), number(r.ece),
                     number(r.mce), escape(format_count(r.rows))] for i, r in enumerate(live)]
            caption = table(["model", "ECE", "MCE", "rows"], rows, numeric=[1, 2, 3])
            after = ""
        parts.append(f"<h3>{escape(label)}</h3><figure>{reliability_svg(live)}<figcaption>"
                     f"{caption}</figcaption></figure>{after}")
    entries = [c for c in doc.get("calibration", ()) or ()
               if isinstance(c, dict) and label_of(c) not in drawn]
    if entries:
        rows = [[escape(label_of(c)), escape(c.get("task", "")), number(c.get("ece")),
                 number(c.get("mce")), escape(c.get("bins", ""))] for c in entries]
        parts.append(table(["calibration", "task", "ECE", "MCE", "bins"], rows,
                            numeric=[2, 3, 4]))
    if not parts:
        return ""
    return ('<section id="calibration"><h2>Calibration</h2><p class="muted">'
            "Per confidence bin, the observed accuracy against the mean confidence: a perfectly "
            "calibrated model lies on the diagonal. ECE is the row-weighted mean gap, MCE the "
            "largest.</p>" + "".join(parts) + "</section>")


def sort_pictures(pictures: Sequence[PagePicture]
                  ) -> tuple[list[list[Histogram | Counts]], list[list[Reliability]],
                             list[GroupBars]]:
    """The pictures by section: distributions (histograms and counts, one list per loss:
    one entry per model), reliability data, group bars."""
    hists: list[list[Histogram | Counts]] = []
    rels: list[list[Reliability]] = []
    bars: list[GroupBars] = []
    for p in pictures:
        if isinstance(p, (Histogram, Counts)):
            hists.append([p])
        elif isinstance(p, Reliability):
            rels.append([p])
        elif isinstance(p, GroupBars):
            bars.append(p)
        elif type(p).__name__ == "ConfusionMap":
            continue  # drawn from the document (losscli.present.confusion.confusion_section)
        else:
            items = list(p)
            if items and (all(isinstance(x, Histogram) for x in items)
                          or all(isinstance(x, Counts) for x in items)):
                hists.append(items)  # type: ignore[arg-type]
            elif items and all(isinstance(x, Reliability) for x in items):
                rels.append(items)  # type: ignore[arg-type]
            else:
                raise TypeError("pictures: expected Histogram, Counts, Reliability, GroupBars "
                                "or a list of histograms, counts or of reliability data, got "
                                f"{type(p).__name__}")
    return hists, rels, bars


def _counts_table(cs: Sequence[Counts]) -> str:
    """A 0/1 loss: the rows (weight) at each value and their share, per model."""
    unit = "weight" if any(c.weighted for c in cs) else "rows"
    overlay = len(cs) > 1
    rows = []
    for i, c in enumerate(cs):
        name = printable(c.model if c.model is not None else f"model {i + 1}")
        for value, w in c.values:
            rows.append([*([escape(name)] if overlay else []), number(value),
                         escape(format_count(w)), escape(f"{format_value(w / c.total_weight * 100)} %")])
    header = [*(["model"] if overlay else []), "value", unit, "share"]
    first = 1 if overlay else 0
    return table(header, rows, numeric=[first, first + 1, first + 2],
                 caption="a 0/1 loss: the rows at each value (no histogram to draw)")
