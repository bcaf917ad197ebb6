"""A report to share: one self-contained HTML file — inline CSS and SVG, no script, no font,
no image, no reference to anything outside the file (a Content-Security-Policy of
``default-src 'none'`` makes the browser refuse any that slipped in).

:func:`build_html` turns plain data into the page; :func:`write_html` writes it atomically
(:mod:`losscli.io.atomic`: the old file or the whole new one, never half of one). The page
holds, in this order: for ``check``, what failed (losses, then groups); the losses with
their values and intervals; the checks; per-group results (a bar chart with intervals and a
table per loss); the distributions (histograms with the quantiles marked, and their
quantiles in full); the reliability diagrams (with ECE, MCE and the bin table); for
``compare``, the models side by side. Every number is printed in full (the shortest text
that round-trips the float); every string from the data — file, column, loss and group
names — is escaped, with control characters shown as ``\\xNN`` (:func:`escape`).

Input — ``doc``, the dict of ``Report.to_dict()``, ``CheckResult.to_dict()`` or
``Comparison.to_dict()``, with these optional, additive fields (every field may be absent;
unknown fields are ignored)::

    {
      "losscli_version": "0.1.0", "rows": 1000, "rows_skipped": 0, "reduction": "mean",
      "elapsed_seconds": 0.12,
      "inputs": {"predictions": {"path": ..., "format": ..., "column": ...},
                 "targets": {...} | None, "weights": {...} | None, "task": "regression", ...},
      "losses": [LOSS, ...],
      # check (CheckResult.to_dict):
      "passed": false, "failed": ["bce"], "baseline": {"path": ..., "rows": ...} | None,
      "verdict": {"status": "failed", "headline": "FAILED: 1 of 2 losses (bce)",
                  "notes": [...], "data_text": ...},   # Outcome.to_dict(): the badge
      "checks": [VERDICT, ...],          # Verdict.to_dict(): label, value, status, max,
                                         # min, limit, rtol, atol, baseline, change,
                                         # relative_change, reasons, notes, bound_text
      "group_correction": "Bonferroni over ...",   # check --group-by --ci
      # --ci:
      "intervals": {"level": 0.95, "method": "normal", ...},     # how, for the caption
      # --group-by:
      "groups": [{"key": {"country": "DE"}, "rows": 120, "losses": [LOSS, ...],
                  "passed": false,                   # check: this group failed
                  "checks": [VERDICT, ...],          # check: per-group verdicts
                  "note": "new since the baseline"}, ...],
      # ece / mce:
      "calibration": [{"label": "ece", "task": "binary", "bins": 15, "ece": 0.031,
                       "mce": 0.12, "rows": 600, "model": None}, ...],
      # compare (Comparison.to_dict):
      "reference": "a", "models": [{"name": "a", "inputs": ..., "rows": ...}, ...],
      "losses": [{"label": ..., "values": {"a": 1.0, "b": 2.0}, "best": ["a"],
                  "diff": {...}, "relative_diff": {...}, "higher_is_better": false,
                  "intervals": {"a": {"low": ..., "high": ..., ...}, ...}},  # --ci
                 ...],                    # (comparison_doc adds the intervals)
    }
    LOSS = {"name": "mse", "label": "mse", "params": {}, "value": 1.83,
            "higher_is_better": false,
            "interval": {"low": 1.6, "high": 2.1, "level": 0.95, "method": "normal",
                         "reason": None},        # --ci; low/high None + reason: n/a
            "distribution": {"relative_accuracy": 0.01, "rows": 1000,
                             "quantiles": {"p50": 0.7, "p90": 4.9, "p99": 11.1,
                                           "p99.9": 21.1, "max": 49.6}}}   # --distribution

The page never judges: the badge is the check's ``verdict`` (its headline), the bound
column each verdict's own ``bound_text``, the reasons and notes the verdict's sentences.

and ``pictures``: the :mod:`losscli.plot` inputs to draw — :class:`~losscli.plot.Histogram`
(or a list of them, one per model: an overlay), :class:`~losscli.plot.Reliability` (or a
list), :class:`~losscli.plot.GroupBars`. Each drawable picture is one ``<svg>``. Group bars
are also drawn from ``doc["groups"]`` for each loss that has no GroupBars among
``pictures``; a distribution or calibration entry of ``doc`` without a picture is shown as
a table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape as _escape_markup
from typing import IO, Any, Union

from losscli.plot import (
    GroupBars,
    Histogram,
    HistogramAxis,
    Reliability,
    bin_weights,
    group_label,
    nice_ticks,
    tick_text,
)
from losscli.present.text import (
    format_count,
    format_level,
    format_number,
    input_paths,
    interval_methods,
    methods_text,
    printable,
)

__all__ = ["build_html", "comparison_doc", "escape", "group_bars_svg", "histogram_svg",
           "reliability_svg", "write_html"]

Picture = Union[Histogram, Reliability, GroupBars, Sequence[Histogram], Sequence[Reliability]]

#: What the page may load: nothing (inline styles only).
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

SERIES = 6  # series colours .s0 … .s5 in the style sheet

STYLE = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--bar:#4c78a8;
--fail:#cf222e;--failbg:#ffebe9;--pass:#1a7f37;--warn:#9a6700}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:var(--fg);background:#fff;margin:0 auto;max-width:1120px;padding:24px 28px 48px}
h1{font-size:22px;margin:0 0 6px}
h2{font-size:17px;margin:36px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:15px;margin:22px 0 6px}
p{margin:6px 0}
.meta{color:var(--muted)}
.meta b{color:var(--fg);font-weight:600}
nav{margin:10px 0 0;color:var(--muted)}
nav a{color:#0969da;text-decoration:none;margin-right:14px}
.badge{display:inline-block;padding:1px 9px;border-radius:11px;font-size:13px;font-weight:600;
color:#fff;vertical-align:2px;margin-left:8px}
.badge.fail{background:var(--fail)}.badge.pass{background:var(--pass)}
.badge.none{background:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:6px 0 14px}
caption{text-align:left;color:var(--muted);padding:2px 0 4px;caption-side:top}
th,td{border-bottom:1px solid var(--line);padding:4px 12px 4px 0;text-align:left;
vertical-align:top}
th{font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right}
td.num{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;
font-size:13px;white-space:nowrap}
td.label{font-weight:600;overflow-wrap:break-word}
tr.fail td{background:var(--failbg)}
.status-fail{color:var(--fail);font-weight:700}.status-pass{color:var(--pass)}
.status-improved{color:#0969da}.status-unchecked{color:var(--muted)}
.muted{color:var(--muted)}
.best{font-weight:700}
figure{margin:14px 0 26px;display:flex;flex-wrap:wrap;gap:8px 28px;align-items:flex-start}
figure svg{flex:0 1 auto;max-width:100%;height:auto}
figcaption{flex:1 1 300px;min-width:280px}
figure.stack{display:block}
figure.stack figcaption{margin-top:6px}
svg text{font:11px system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;fill:#1f2328}
svg .title{font-size:12px;font-weight:600}
svg .tick{fill:#59636e}
svg .axis{stroke:#59636e;stroke-width:1;fill:none}
svg .grid{stroke:#eaeef2;stroke-width:1}
svg .bar{fill:var(--bar)}
svg .bar.fail{fill:var(--fail)}
svg .count{fill:#9fb6cf}
svg .q{stroke:#bf8700;stroke-width:1.2;stroke-dasharray:4 3}
svg .q.max{stroke:var(--fail)}
svg .qlabel{fill:#7d4e00;font-weight:600}
svg .qlabel.max{fill:var(--fail)}
svg .diag{stroke:#8c959f;stroke-width:1.2;stroke-dasharray:5 4}
svg .acc{fill:var(--bar)}
svg .gap{fill:var(--fail);fill-opacity:.28;stroke:var(--fail);stroke-opacity:.7;stroke-width:1}
svg .whisker{stroke:#24292f;stroke-width:1.5;fill:none}
svg .dot{fill:#24292f}
svg .overall{stroke:#8250df;stroke-width:1.2;stroke-dasharray:5 3}
svg .line{fill:none;stroke-width:2}
svg .s0{stroke:#4c78a8;fill:#4c78a8}svg .s1{stroke:#f58518;fill:#f58518}
svg .s2{stroke:#54a24b;fill:#54a24b}svg .s3{stroke:#e45756;fill:#e45756}
svg .s4{stroke:#72b7b2;fill:#72b7b2}svg .s5{stroke:#b279a2;fill:#b279a2}
svg .line.s0,svg .line.s1,svg .line.s2,svg .line.s3,svg .line.s4,svg .line.s5{fill:none}
footer{margin-top:40px;color:var(--muted);font-size:12px}
"""


# ---------------------------------------------------------------------------------------
# text

def escape(value: object) -> str:
    """``value`` as text safe in HTML content and in quoted attributes: control
    characters, bidirectional overrides and lone surrogates shown as ``\\xNN``/``\\uNNNN``
    (:func:`losscli.present.text.printable`), then ``& < > " '`` escaped."""
    return _escape_markup(printable(value), quote=True)


def _num(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return escape(value)
    return escape(format_number(float(value)))


def _f(x: float) -> str:
    """An SVG coordinate."""
    return format(x, ".2f").rstrip("0").rstrip(".") if math.isfinite(x) else "0"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, numeric: Sequence[int] = (),
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


def _interval_text(interval: dict[str, Any] | None) -> str:
    if not interval:
        return ""
    low, high = interval.get("low"), interval.get("high")
    if low is None or high is None:
        reason = interval.get("reason")
        return "n/a" + (f' <span class="muted">({escape(reason)})</span>' if reason else "")
    return f"[{_num(low)}, {_num(high)}]"


def _level_text(level: Any, method: Any) -> str:
    parts = []
    if isinstance(level, (int, float)):
        parts.append(format_level(level, sep=" "))
    if method:
        parts.append(escape(method))
    return " ".join(parts)


def _label(entry: dict[str, Any]) -> str:
    return str(entry.get("label", entry.get("name", "")))


# ---------------------------------------------------------------------------------------
# SVG pictures

def _svg_open(width: int, height: int, title: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
            f"<title>{escape(title)}</title>"]


def _text(x: float, y: float, text: str, *, cls: str = "", anchor: str = "middle",
          extra: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return (f'<text x="{_f(x)}" y="{_f(y)}" text-anchor="{anchor}"{c}{extra}>'
            f"{escape(text)}</text>")


def _estimate(text: str, px: float = 6.2) -> float:
    """Rough width of ``text`` in 11 px sans-serif, to keep labels apart."""
    return len(text) * px


def _short(label: str, limit: int) -> str:
    """A label for a picture: ``…`` in the middle when longer than ``limit`` characters
    (the full label is in the table beside, and in the element's tooltip)."""
    text = printable(label)
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: (keep + 1) // 2] + "…" + text[len(text) - keep // 2:]


def histogram_svg(hists: Histogram | Sequence[Histogram]) -> str:
    """An SVG histogram of a per-row loss (bars) or several models' (step lines, shares of
    rows), the axis chosen by :class:`~losscli.plot.HistogramAxis`, p50…max marked."""
    hs = [hists] if isinstance(hists, Histogram) else list(hists)
    hs = [h for h in hs if h.reason() is None]
    if not hs:
        raise ValueError("nothing to draw: every histogram is empty")
    overlay = len(hs) > 1
    width, height = 720, 320
    ml, mr, mt, mb = 70, 20, 46, 50
    pw, ph = width - ml - mr, height - mt - mb
    axis = HistogramAxis.of(hs)
    label = hs[0].label
    unit = "weight" if any(h.weighted for h in hs) else "rows"
    title = f"Distribution of {printable(label)} per row" + (" (log scale)" if axis.log else "")
    out = _svg_open(width, height, title)
    n = 96
    weights = [bin_weights(h, axis, n) for h in hs]
    values = [w / h.total_weight for w, h in zip(weights, hs)] if overlay else weights
    peak = max(float(v.max()) for v in values) or 1.0
    yt = nice_ticks(0.0, peak, 4)
    top = yt[-1] if yt[-1] >= peak else yt[-1] + (yt[1] - yt[0] if len(yt) > 1 else peak)
    if len(yt) < 2 or yt[-1] < peak:
        yt = [*yt, top] if len(yt) > 1 else [0.0, top]

    def y_of(v: float) -> float:
        return mt + ph - v / top * ph

    for t in yt:
        y = y_of(t)
        out.append(f'<line class="grid" x1="{ml}" x2="{ml + pw}" y1="{_f(y)}" y2="{_f(y)}"/>')
        text = f"{tick_text(round(t * 100, 10))}%" if overlay else tick_text(t)
        out.append(_text(ml - 6, y + 4, text, cls="tick", anchor="end"))
    col_w = pw / n
    if not overlay:
        for c, v in enumerate(values[0]):
            if v <= 0:
                continue
            h = max(1.0, v / top * ph)
            out.append(f'<rect class="bar" x="{_f(ml + c * col_w + 0.3)}" y="{_f(mt + ph - h)}" '
                       f'width="{_f(max(col_w - 0.6, 0.5))}" height="{_f(h)}"/>')
    else:
        for i, v in enumerate(values):
            d = [f"M{_f(ml)},{_f(y_of(0))}"]
            for c, x in enumerate(v):
                d.append(f"V{_f(y_of(float(x)))}H{_f(ml + (c + 1) * col_w)}")
            d.append(f"V{_f(y_of(0))}")
            out.append(f'<path class="line s{i % SERIES}" d="{"".join(d)}"/>')
    # axes
    out.append(f'<path class="axis" d="M{ml},{mt}V{mt + ph}H{ml + pw}"/>')
    placed_end = -1e9
    for value, text in axis.ticks(8):
        x = ml + min(max(axis.position(value), 0.0), 1.0) * pw
        out.append(f'<line class="axis" x1="{_f(x)}" x2="{_f(x)}" y1="{mt + ph}" y2="{mt + ph + 4}"/>')
        w = _estimate(text)
        if x - w / 2 >= placed_end + 6:
            out.append(_text(x, mt + ph + 16, text, cls="tick"))
            placed_end = x + w / 2
    xtitle = f"{printable(label)} per row" + (" (log scale)" if axis.log else "")
    out.append(_text(ml + pw / 2, height - 10, xtitle))
    ytitle = ("share of rows per bin" if overlay else f"{unit} per bin")
    out.append(f'<text x="14" y="{_f(mt + ph / 2)}" text-anchor="middle" '
               f'transform="rotate(-90 14 {_f(mt + ph / 2)})">{escape(ytitle)}</text>')
    if not overlay:  # quantile marks, labels staggered on two rows
        marks: list[tuple[float, list[str]]] = []  # quantiles within 3 px share one label
        for name, value in hs[0].quantiles:
            x = ml + min(max(axis.position(value), 0.0), 1.0) * pw
            cls = "q max" if name == "max" else "q"
            out.append(f'<line class="{cls}" x1="{_f(x)}" x2="{_f(x)}" y1="{mt - 4}" '
                       f'y2="{mt + ph}"><title>{escape(name)} = {_num(value)}</title></line>')
            if marks and x - marks[-1][0] < 3:
                marks[-1][1].append(name)
            else:
                marks.append((x, [name]))
        rows_end = [-1e9, -1e9]
        for x, names in marks:
            name = "/".join(names)
            w = _estimate(name, 6.8)
            anchor = "end" if x + w / 2 > width - 2 else "middle"
            left = x - w if anchor == "end" else x - w / 2
            row = 0 if left >= rows_end[0] + 4 else 1
            rows_end[row] = x if anchor == "end" else x + w / 2
            out.append(_text(x, mt - 8 - 13 * (1 - row), name,
                             cls="qlabel max" if "max" in names else "qlabel", anchor=anchor))
    else:
        x = ml + 8
        for i, h in enumerate(hs):
            name = printable(h.model if h.model is not None else f"model {i + 1}")
            out.append(f'<rect class="s{i % SERIES}" x="{_f(x)}" y="{mt - 30}" width="14" '
                       'height="4"/>')
            out.append(_text(x + 18, mt - 25, _short(name, 30), anchor="start"))
            x += 30 + _estimate(_short(name, 30))
    out.append("</svg>")
    return "".join(out)


def reliability_svg(rels: Reliability | Sequence[Reliability]) -> str:
    """An SVG reliability diagram: per bin the observed accuracy (bar) and its gap to the
    bin's mean confidence (red), the diagonal of perfect calibration, and the rows per bin
    below; for several models, one line with markers per model."""
    rs = [rels] if isinstance(rels, Reliability) else list(rels)
    rs = [r for r in rs if r.reason() is None]
    if not rs:
        raise ValueError("nothing to draw: no calibration bin holds a row")
    overlay = len(rs) > 1
    size = 300
    ml, mt = 58, 16
    strip_top = mt + size + 44
    strip_h = 60
    width, height = ml + size + 190, strip_top + strip_h + 34
    title = f"Reliability diagram of {printable(rs[0].label)}"
    out = _svg_open(width, height, title)

    def x_of(v: float) -> float:
        return ml + v * size

    def y_of(v: float) -> float:
        return mt + size - v * size

    for k in range(5):
        t = k / 4
        out.append(f'<line class="grid" x1="{ml}" x2="{ml + size}" y1="{_f(y_of(t))}" '
                   f'y2="{_f(y_of(t))}"/>')
        out.append(f'<line class="grid" x1="{_f(x_of(t))}" x2="{_f(x_of(t))}" y1="{mt}" '
                   f'y2="{mt + size}"/>')
        out.append(_text(ml - 6, y_of(t) + 4, tick_text(t), cls="tick", anchor="end"))
        out.append(_text(x_of(t), mt + size + 15, tick_text(t), cls="tick"))
    if not overlay:
        for b in rs[0].table:
            x0, x1 = x_of(b.low) + 0.5, x_of(b.high) - 0.5
            tip = (f"<title>[{b.low:.3f}, {b.high:.3f}]: {format_count(b.weight)} "
                   f"{'weight' if rs[0].weighted else 'rows'}, confidence {b.confidence!r}, "
                   f"accuracy {b.accuracy!r}</title>")
            out.append(f'<rect class="acc" x="{_f(x0)}" y="{_f(y_of(b.accuracy))}" '
                       f'width="{_f(x1 - x0)}" height="{_f(b.accuracy * size)}">{tip}</rect>')
            lo, hi = sorted((b.accuracy, b.confidence))
            out.append(f'<rect class="gap" x="{_f(x0)}" y="{_f(y_of(hi))}" width="{_f(x1 - x0)}" '
                       f'height="{_f((hi - lo) * size)}"/>')
    out.append(f'<line class="diag" x1="{_f(x_of(0))}" y1="{_f(y_of(0))}" x2="{_f(x_of(1))}" '
               f'y2="{_f(y_of(1))}"/>')
    if overlay:
        for i, r in enumerate(rs):
            pts = " ".join(f"{_f(x_of(b.confidence))},{_f(y_of(b.accuracy))}" for b in r.table)
            out.append(f'<polyline class="line s{i % SERIES}" points="{pts}"/>')
            for b in r.table:
                out.append(f'<circle class="s{i % SERIES}" cx="{_f(x_of(b.confidence))}" '
                           f'cy="{_f(y_of(b.accuracy))}" r="3"/>')
    out.append(f'<path class="axis" d="M{ml},{mt}V{mt + size}H{ml + size}"/>')
    out.append(_text(ml + size / 2, mt + size + 32, "confidence (mean predicted probability)"
                     if rs[0].task == "binary" else "confidence (top-label probability)"))
    out.append(f'<text x="14" y="{_f(mt + size / 2)}" text-anchor="middle" '
               f'transform="rotate(-90 14 {_f(mt + size / 2)})">observed accuracy</text>')
    # rows per bin (the first model's, or each model's as thin bars side by side)
    peak = max(b.weight for r in rs for b in r.table)
    for i, r in enumerate(rs):
        for b in r.table:
            span = (x_of(b.high) - x_of(b.low) - 1) / len(rs)
            x = x_of(b.low) + 0.5 + i * span
            h = max(1.0, b.weight / peak * strip_h)
            cls = f"s{i % SERIES}" if overlay else "count"
            out.append(f'<rect class="{cls}" x="{_f(x)}" y="{_f(strip_top + strip_h - h)}" '
                       f'width="{_f(span)}" height="{_f(h)}"/>')
    out.append(f'<path class="axis" d="M{ml},{strip_top}V{strip_top + strip_h}H{ml + size}"/>')
    unit = "weight" if any(r.weighted for r in rs) else "rows"
    out.append(_text(ml - 6, strip_top + 8, format_count(peak), cls="tick", anchor="end"))
    out.append(_text(ml - 6, strip_top + strip_h + 4, "0", cls="tick", anchor="end"))
    out.append(_text(ml + size / 2, strip_top + strip_h + 18, f"{unit} per bin"))
    # legend
    lx, ly = ml + size + 18, mt + 10
    if overlay:
        for i, r in enumerate(rs):
            name = printable(r.model if r.model is not None else f"model {i + 1}")
            out.append(f'<circle class="s{i % SERIES}" cx="{lx + 6}" cy="{ly - 4}" r="4"/>')
            out.append(_text(lx + 16, ly, _short(name, 24), anchor="start"))
            ly += 18
    else:
        out.append(f'<rect class="acc" x="{lx}" y="{ly - 9}" width="12" height="10"/>')
        out.append(_text(lx + 18, ly, "observed accuracy", anchor="start"))
        ly += 18
        out.append(f'<rect class="gap" x="{lx}" y="{ly - 9}" width="12" height="10"/>')
        out.append(_text(lx + 18, ly, "gap to mean confidence", anchor="start"))
        ly += 18
    out.append(f'<line class="diag" x1="{lx}" x2="{lx + 12}" y1="{ly - 4}" y2="{ly - 4}"/>')
    out.append(_text(lx + 18, ly, "perfect calibration", anchor="start"))
    out.append("</svg>")
    return "".join(out)


def group_bars_svg(g: GroupBars) -> str:
    """An SVG bar per group from 0 to its value, the interval as a whisker, the overall
    value as a dashed line; long group names shortened with ``…`` (in full in the tooltip
    and in the table beside)."""
    drawn = list(g.bars)
    if g.reason() is not None:
        raise ValueError(f"nothing to draw: {g.reason()}")
    row_h = 24
    ml, mr, mt = 210, 24, 34
    pw = 460
    width = ml + pw + mr
    height = mt + row_h * len(drawn) + 36
    out = _svg_open(width, height, f"{printable(g.label)} by group")
    finite = [x for b in drawn for x in (b.value, b.low, b.high) if x is not None and math.isfinite(x)]
    if g.overall is not None and math.isfinite(g.overall):
        finite.append(g.overall)
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    if hi == lo:
        hi = lo + 1.0
    ticks = nice_ticks(lo, hi, 5)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])

    def x_of(v: float) -> float:
        return ml + (v - lo) / (hi - lo) * pw

    bottom = mt + row_h * len(drawn)
    for t in ticks:
        out.append(f'<line class="grid" x1="{_f(x_of(t))}" x2="{_f(x_of(t))}" y1="{mt}" '
                   f'y2="{bottom}"/>')
        out.append(_text(x_of(t), mt - 8, tick_text(t), cls="tick"))
    for k, b in enumerate(drawn):
        y = mt + k * row_h
        name = ("✗ " if b.failed else "") + printable(b.label)
        out.append(f'<text x="{ml - 8}" y="{_f(y + row_h / 2 + 4)}" text-anchor="end">'
                   f"<title>{escape(name)}</title>{escape(_short(name, 32))}</text>")
        if b.value is None or not math.isfinite(b.value):
            out.append(_text(x_of(0) + 4, y + row_h / 2 + 4, "n/a", cls="tick", anchor="start"))
            continue
        x0, x1 = sorted((x_of(0), x_of(b.value)))
        tip = f"{name}: {format_number(b.value)}"
        if b.low is not None and b.high is not None:
            tip += f" [{format_number(b.low)}, {format_number(b.high)}]"
        out.append(f'<rect class="bar{" fail" if b.failed else ""}" x="{_f(x0)}" '
                   f'y="{_f(y + 5)}" width="{_f(max(x1 - x0, 1))}" height="{row_h - 10}">'
                   f"<title>{escape(tip)}</title></rect>")
        if b.low is not None and b.high is not None and math.isfinite(b.low) \
                and math.isfinite(b.high):
            xl, xh, ym = x_of(b.low), x_of(b.high), y + row_h / 2
            out.append(f'<path class="whisker" d="M{_f(xl)},{_f(ym - 5)}V{_f(ym + 5)}'
                       f'M{_f(xl)},{_f(ym)}H{_f(xh)}M{_f(xh)},{_f(ym - 5)}V{_f(ym + 5)}"/>')
            out.append(f'<circle class="dot" cx="{_f(x_of(b.value))}" cy="{_f(ym)}" r="2.5"/>')
    out.append(f'<path class="axis" d="M{_f(x_of(0))},{mt}V{bottom}"/>')
    if g.overall is not None and math.isfinite(g.overall):
        x = x_of(g.overall)
        out.append(f'<line class="overall" x1="{_f(x)}" x2="{_f(x)}" y1="{mt - 2}" '
                   f'y2="{bottom + 4}"/>')
        out.append(_text(x, bottom + 16, "overall", cls="tick"))
    out.append(_text(ml + pw / 2, height - 4, printable(g.label), cls="title"))
    out.append("</svg>")
    return "".join(out)


# ---------------------------------------------------------------------------------------
# the page

def _files(doc: dict[str, Any]) -> list[str]:
    models = [m for m in doc.get("models", ()) or () if isinstance(m, dict)]
    return input_paths(doc.get("inputs"), *(m.get("inputs") for m in models))


def _is_compare(doc: dict[str, Any]) -> bool:
    return isinstance(doc.get("models"), list) and any(
        isinstance(x, dict) and "values" in x for x in doc.get("losses", ()))


def _header(doc: dict[str, Any], title: str | None) -> str:
    out = []
    notes: list[str] = []
    if "passed" in doc:
        # the gate's verdict as it decided it (a document without one: its "passed")
        found = doc.get("verdict")
        verdict: dict[str, Any] = found if isinstance(found, dict) else {
            "status": "passed" if doc["passed"] else "failed",
            "headline": "PASSED" if doc["passed"] else "FAILED"}
        css = {"failed": "fail", "passed": "pass"}.get(str(verdict.get("status")), "none")
        text = verdict.get("headline") or str(verdict.get("status", "")).upper()
        badge = f'<span class="badge {css}">{escape(text)}</span>'
        heading = escape(title or "losscli check") + badge
        notes = [str(n) for n in [verdict.get("data_text"), *(verdict.get("notes") or ())]
                 if n]
    elif _is_compare(doc):
        heading = escape(title or "losscli compare")
    else:
        heading = escape(title or "losscli report")
    out.append(f"<header><h1>{heading}</h1>")
    meta = []
    if "rows" in doc:
        meta.append(f"<b>{escape(format_count(doc['rows']))}</b> rows")
    if doc.get("rows_skipped"):
        meta.append(f"<b>{escape(format_count(doc['rows_skipped']))}</b> skipped")
    raw = doc.get("inputs")
    inputs: dict[str, Any] = raw if isinstance(raw, dict) else {}
    task = inputs.get("task")
    if task:
        meta.append(f"task <b>{escape(task)}</b>" + (" (logits)" if inputs.get("from_logits")
                                                       else ""))
    from losscli.render import labels_text

    classes = labels_text(inputs)  # a target of labels: which class is which
    if classes:
        meta.append(escape(classes))
    if doc.get("reduction"):
        meta.append(f"reduction <b>{escape(doc['reduction'])}</b>")
    if _is_compare(doc):
        meta.append(f"<b>{len(doc['models'])}</b> models, reference "
                    f"<b>{escape(doc.get('reference', ''))}</b>")
    baseline = doc.get("baseline")
    if isinstance(baseline, dict) and baseline.get("path"):
        meta.append(f"baseline <b>{escape(baseline['path'])}</b>")
    if meta:
        out.append(f'<p class="meta">{" · ".join(meta)}</p>')
    files = _files(doc)
    if files:
        out.append('<p class="meta">files: ' + ", ".join(f"<b>{escape(f)}</b>" for f in files)
                   + "</p>")
    out += [f'<p class="meta">note: {escape(n)}</p>' for n in notes]
    out.append("</header>")
    return "".join(out)


def _bound_text(check: dict[str, Any]) -> str:
    """The verdict's own sentence of what was checked (``Verdict.bound_text``)."""
    text = check.get("bound_text")
    return escape(text) if text else '<span class="muted">—</span>'


def _status(check: dict[str, Any]) -> str:
    from losscli.gate.verdict import STATUS_TEXT

    status = str(check.get("status", ""))
    text = STATUS_TEXT.get(status, status)
    return f'<span class="status-{escape(status)}">{escape(text)}</span>'


def _checks_table(checks: Sequence[dict[str, Any]], *, group: bool = False) -> str:
    header = [*(["group"] if group else []), "loss", "status", "value", "bound", "baseline",
              "change", "why"]
    rows, classes = [], []
    for c in checks:
        change = c.get("change")
        rel = c.get("relative_change")
        change_text = "—" if change is None else escape(format(float(change), "+"))
        if rel is not None:
            change_text += f' <span class="muted">({escape(format(rel * 100, "+.4g"))} %)</span>'
        row = [*([escape(c.get("group", ""))] if group else []), escape(_label(c)), _status(c),
               _num(c.get("value")), _bound_text(c), _num(c.get("baseline")), change_text,
               "<br>".join([*(escape(r) for r in c.get("reasons", ())),
                            *(f'<span class="muted">{escape(n)}</span>'
                              for n in c.get("notes", ()))])]
        rows.append(row)
        classes.append("fail" if c.get("status") == "fail" else "")
    numeric = [3, 5, 6] if group else [2, 4, 5]
    return _table(header, rows, numeric=numeric, row_classes=classes)


def _failed_groups(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """Per failing (group, loss): a verdict-like dict with the group's label."""
    out = []
    for group in doc.get("groups", ()) or ():
        label = group_label(group)
        failing = [c for c in group.get("checks", ()) or () if c.get("status") == "fail"]
        if failing:
            out += [{**c, "group": label} for c in failing]
        elif group.get("passed") is False:
            out.append({"group": label, "label": "", "status": "fail",
                        "reasons": [group.get("note") or "this group failed"]})
    return out


def _failed_section(doc: dict[str, Any]) -> str:
    if "passed" not in doc:
        return ""
    failed = [c for c in doc.get("checks", ()) or () if c.get("status") == "fail"]
    groups = _failed_groups(doc)
    if not failed and not groups:
        return ""
    out = ['<section id="failed"><h2>What failed</h2>']
    if failed:
        out.append(_checks_table(failed))
    if groups:
        out.append(f"<h3>Groups ({len(groups)} failing)</h3>")
        out.append(_checks_table(groups, group=True))
    out.append("</section>")
    return "".join(out)


def _losses_section(doc: dict[str, Any]) -> str:
    losses = [x for x in doc.get("losses", ()) or () if isinstance(x, dict)]
    if not losses or _is_compare(doc):
        return ""
    with_interval = any(x.get("interval") for x in losses)
    header = ["loss", "value"]
    caption = None
    if with_interval:
        header.append("interval")
        # every method used, each with its losses when several are mixed
        shared, methods = interval_methods([x.get("interval") for x in losses],
                                           [_label(x) for x in losses])
        at = f"{format_level(shared, sep=' ')} " if shared is not None else ""
        caption = f"intervals: {at}{escape(methods_text(methods))}"
    header.append("better")
    rows = []
    status = {_label(c): c.get("status") for c in doc.get("checks", ()) or ()}
    classes = []
    for x in losses:
        row = [escape(_label(x)), _num(x.get("value"))]
        if with_interval:
            row.append(_interval_text(x.get("interval")))
        row.append("higher" if x.get("higher_is_better") else "lower")
        rows.append(row)
        classes.append("fail" if status.get(_label(x)) == "fail" else "")
    return ('<section id="losses"><h2>Losses</h2>'
            + _table(header, rows, numeric=[1, 2] if with_interval else [1], row_classes=classes,
                     caption=caption) + "</section>")


def _checks_section(doc: dict[str, Any]) -> str:
    checks = doc.get("checks") or []
    if not checks:
        return ""
    return '<section id="checks"><h2>Checks</h2>' + _checks_table(checks) + "</section>"


def _compare_section(doc: dict[str, Any]) -> str:
    if not _is_compare(doc):
        return ""
    names = [str(m.get("name", "")) for m in doc["models"]]
    header = ["loss", *(escape(n) for n in names), "better"]
    rows = []
    for x in doc["losses"]:
        values = x.get("values", {})
        best = set(x.get("best", ()))
        diff = x.get("diff", {})
        intervals = x.get("intervals") or {}
        row = [escape(_label(x))]
        for i, n in enumerate(names):
            cell = _num(values.get(n))
            if n in best:
                cell = f'<span class="best">{cell} ★</span>'
            if intervals.get(n):
                cell += f"<br>{_interval_text(intervals[n])}"
            if i and diff.get(n) is not None:
                cell += f'<br><span class="muted">{escape(format(float(diff[n]), "+"))}</span>'
            row.append(cell)
        row.append("higher" if x.get("higher_is_better") else "lower")
        rows.append(row)
    ivs = [(_label(x), iv) for x in doc["losses"] for iv in (x.get("intervals") or {}).values()
           if iv]
    level = ""
    if ivs:  # every method used, each with its losses when several are mixed
        shared, methods = interval_methods([iv for _, iv in ivs], [n for n, _ in ivs])
        at = f"{format_level(shared, sep=' ')} " if shared is not None else ""
        level = (f" its {at}{escape(methods_text(methods))} interval and" if len(methods) == 1
                 else f" its {at}interval ({escape(methods_text(methods))}) and")
    models = [[escape(m.get("name", "")), escape(format_count(m.get("rows", 0))),
               ", ".join(escape(p) for p in _files({"inputs": m.get("inputs")}))]
              for m in doc["models"]]
    return ('<section id="models"><h2>Models</h2>'
            + _table(header, rows, numeric=list(range(1, len(names) + 1)),
                     caption=f"★ best; below each value{level} its difference to the "
                             f"reference {escape(doc.get('reference', names[0] if names else ''))}")
            + _table(["model", "rows", "files"], models, numeric=[1]) + "</section>")


def _group_table(g: GroupBars, doc: dict[str, Any]) -> str:
    rows_by_label = {group_label(x): x.get("rows") for x in doc.get("groups", ()) or ()}
    with_interval = any(b.low is not None or b.note for b in g.bars)
    header = ["group", "rows", "value", *(["interval"] if with_interval else [])]
    rows, classes = [], []
    if g.overall is not None:
        rows.append(["<i>overall</i>", escape(format_count(doc["rows"])) if "rows" in doc else "",
                     _num(g.overall), *([""] if with_interval else [])])
        classes.append("")
    for b in g.bars:
        n = rows_by_label.get(b.label)
        cells = [("✗ " if b.failed else "") + escape(b.label),
                 escape(format_count(n)) if isinstance(n, (int, float)) else "", _num(b.value)]
        if with_interval:
            interval = {"low": b.low, "high": b.high, "reason": b.note}
            cells.append(_interval_text(interval) if b.low is not None or b.note else "")
        rows.append(cells)
        classes.append("fail" if b.failed else "")
    caption = _level_text(g.level, g.method)
    correction = doc.get("group_correction")  # check --group-by --ci: the level of each
    if caption and isinstance(correction, str) and correction.startswith("Bonferroni"):
        caption += f" each ({escape(correction.split(':')[0])})"
    return _table(header, rows, numeric=[1, 2, 3], row_classes=classes,
                  caption=f"intervals: {caption}" if caption and with_interval else None)


def _groups_section(doc: dict[str, Any], bars: Sequence[GroupBars]) -> str:
    given = {g.label: g for g in bars}
    labels = [g.label for g in bars]
    if doc.get("groups"):
        for x in doc.get("losses", ()) or ():
            if isinstance(x, dict) and _label(x) not in given:
                labels.append(_label(x))
                given[_label(x)] = GroupBars.from_report(doc, _label(x))
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
    rows = [[escape(name), _num(value)] for name, value in h.quantiles]
    caption = (f"{escape(format_count(h.rows))} rows"
               + (f", total weight {escape(format_count(h.total_weight))}" if h.weighted else "")
               + f"; quantiles within ±{escape(format(h.alpha * 100, 'g'))} % (relative) of "
               "the exact order statistics; max exact")
    return _table(["quantile", "value"], rows, numeric=[1], caption=caption)


def _distribution_section(doc: dict[str, Any], hists: Sequence[Sequence[Histogram]]) -> str:
    parts = []
    drawn = set()
    for group in hists:
        live = [h for h in group if h.reason() is None]
        label = group[0].label
        drawn.add(label)
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
            rows = [[escape(n), *(_num(dict(h.quantiles).get(q)) for q in qnames)]
                    for n, h in zip(names, live)]
            caption = _table(["model", *(escape(q) for q in qnames)], rows,
                             numeric=list(range(1, len(qnames) + 1)),
                             caption="quantiles within each sketch's relative error; max exact")
        stack = ' class="stack"' if len(live) > 1 else ""
        parts.append(f"<h3>{escape(label)}</h3><figure{stack}>{histogram_svg(live)}<figcaption>"
                     f'<p class="muted">{escape(axis.rule)}</p>{caption}</figcaption></figure>')
    for x in doc.get("losses", ()) or ():
        dist = x.get("distribution") if isinstance(x, dict) else None
        if not dist or _label(x) in drawn:
            continue
        quantiles = dist.get("quantiles") or {}
        items = quantiles.items() if isinstance(quantiles, dict) else [
            (q.get("name", q.get("level")), q.get("value")) for q in quantiles]
        rows = [[escape(k), _num(v)] for k, v in items]
        alpha = dist.get("relative_accuracy")
        cap = (f"quantiles within ±{escape(format(float(alpha) * 100, 'g'))} % (relative)"
               if isinstance(alpha, (int, float)) else None)
        parts.append(f"<h3>{escape(_label(x))}</h3>"
                     + _table(["quantile", "value"], rows, numeric=[1], caption=cap))
    if not parts:
        return ""
    return ('<section id="distributions"><h2>Distributions of the per-row losses</h2>'
            + "".join(parts) + "</section>")


def _calibration_section(doc: dict[str, Any], rels: Sequence[Sequence[Reliability]]) -> str:
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
                     escape(format_count(b.weight)), _num(b.confidence), _num(b.accuracy),
                     escape(format(b.gap, "+.4f"))] for b in r.table]
            summary = (f"<p><b>ECE</b> = {_num(r.ece)}<br><b>MCE</b> = {_num(r.mce)}</p>"
                       f'<p class="muted">{escape(r.task)}, {r.bins} equal-width bins, '
                       f"{escape(format_count(r.rows))} rows"
                       + (f", model {escape(r.model)}" if r.model is not None else "") + "</p>")
            caption = summary
            after = _table(["bin", unit, "confidence", "accuracy", "gap"], rows,
                           numeric=[0, 1, 2, 3, 4],
                           caption="per non-empty bin: confidence and accuracy are the "
                                   "bin's weighted means; gap = accuracy − confidence")
        else:
            rows = [[escape(r.model if r.model is not None else f"model {i + 1}"), _num(r.ece),
                     _num(r.mce), escape(format_count(r.rows))] for i, r in enumerate(live)]
            caption = _table(["model", "ECE", "MCE", "rows"], rows, numeric=[1, 2, 3])
            after = ""
        parts.append(f"<h3>{escape(label)}</h3><figure>{reliability_svg(live)}<figcaption>"
                     f"{caption}</figcaption></figure>{after}")
    entries = [c for c in doc.get("calibration", ()) or ()
               if isinstance(c, dict) and _label(c) not in drawn]
    if entries:
        rows = [[escape(_label(c)), escape(c.get("task", "")), _num(c.get("ece")),
                 _num(c.get("mce")), escape(c.get("bins", ""))] for c in entries]
        parts.append(_table(["calibration", "task", "ECE", "MCE", "bins"], rows,
                            numeric=[2, 3, 4]))
    if not parts:
        return ""
    return ('<section id="calibration"><h2>Calibration</h2><p class="muted">'
            "Per confidence bin, the observed accuracy against the mean confidence: a perfectly "
            "calibrated model lies on the diagonal. ECE is the row-weighted mean gap, MCE the "
            "largest.</p>" + "".join(parts) + "</section>")


def _sort_pictures(pictures: Sequence[Picture]
                   ) -> tuple[list[list[Histogram]], list[list[Reliability]], list[GroupBars]]:
    hists: list[list[Histogram]] = []
    rels: list[list[Reliability]] = []
    bars: list[GroupBars] = []
    for p in pictures:
        if isinstance(p, Histogram):
            hists.append([p])
        elif isinstance(p, Reliability):
            rels.append([p])
        elif isinstance(p, GroupBars):
            bars.append(p)
        else:
            items = list(p)
            if items and all(isinstance(x, Histogram) for x in items):
                hists.append(items)  # type: ignore[arg-type]
            elif items and all(isinstance(x, Reliability) for x in items):
                rels.append(items)  # type: ignore[arg-type]
            else:
                raise TypeError("pictures: expected Histogram, Reliability, GroupBars or a list "
                                f"of histograms or of reliability data, got {type(p).__name__}")
    return hists, rels, bars


def comparison_doc(comparison: Any) -> dict[str, Any]:
    """``Comparison.to_dict()`` with each model's interval of each loss (``--ci``) as
    ``losses[i]["intervals"] = {model: interval}``, for the page's models table."""
    doc = comparison.to_dict()
    for i, x in enumerate(doc.get("losses", ())):
        intervals = {name: report.losses[i].interval
                     for name, report in zip(comparison.names, comparison.reports)
                     if i < len(report.losses) and report.losses[i].interval}
        if intervals and "intervals" not in x:
            x["intervals"] = intervals
    return doc


def build_html(doc: dict[str, Any], pictures: Sequence[Picture] = (), *,
               title: str | None = None) -> str:
    """The self-contained HTML page for ``doc`` and ``pictures`` (see the module doc)."""
    hists, rels, bars = _sort_pictures(pictures)
    sections = [
        _failed_section(doc), _losses_section(doc), _compare_section(doc),
        _checks_section(doc), _groups_section(doc, bars), _distribution_section(doc, hists),
        _calibration_section(doc, rels),
    ]
    names = {"failed": "what failed", "losses": "losses", "models": "models",
             "checks": "checks", "groups": "by group", "distributions": "distributions",
             "calibration": "calibration"}
    links = [f'<a href="#{key}">{text}</a>' for key, text in names.items()
             if any(s.startswith(f'<section id="{key}"') for s in sections)]
    page_title = escape(title or ("losscli check" if "passed" in doc else
                                  "losscli compare" if _is_compare(doc) else "losscli report"))
    version = escape(doc.get("losscli_version", ""))
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta name="generator" content="losscli {version}">',
        f"<title>{page_title}</title><style>{STYLE}</style></head><body>",
        _header(doc, title),
        f"<nav>{''.join(links)}</nav>" if len(links) > 1 else "",
        "<main>", *sections, "</main>",
        f"<footer>Written by losscli {version}"
        + (f" in {escape(format(float(doc['elapsed_seconds']), '.3f'))} s"
           if isinstance(doc.get("elapsed_seconds"), (int, float)) else "")
        + ". One self-contained file: no script, nothing loaded from elsewhere.</footer>",
        "</body></html>\n",
    ]
    return "\n".join(p for p in parts if p)


def write_html(doc: dict[str, Any], path: str, pictures: Sequence[Picture] = (), *,
               title: str | None = None, flag: str = "--html") -> None:
    """Build the page, then write it to ``path`` atomically: an error (an unwritable
    folder: :class:`~losscli.errors.UsageError` naming ``flag``) leaves nothing behind and
    an existing file untouched."""
    from losscli.io.atomic import write_atomically

    text = build_html(doc, pictures, title=title)

    def write(f: IO[str]) -> None:
        f.write(text)

    write_atomically(path, write, flag=flag)

