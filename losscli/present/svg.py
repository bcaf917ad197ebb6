"""SVG drawings of the picture models (:mod:`losscli.present.pictures`) for the page
(:mod:`losscli.html`): a histogram (or an overlay of several models), a reliability diagram
and per-group bars with intervals. Self-contained markup: classes styled by the page's
sheet, every label escaped (:func:`~losscli.present.markup.escape`), the full value of each
mark in its ``<title>``."""

from __future__ import annotations

import math
from collections.abc import Sequence

from losscli.present.axes import HistogramAxis, bin_weights, nice_ticks, tick_text
from losscli.present.markup import coord, escape
from losscli.present.pictures import GroupBars, Histogram, Reliability
from losscli.present.text import format_count, full_precision, printable

__all__ = ["SERIES", "group_bars_svg", "histogram_svg", "reliability_svg"]

SERIES = 6  # series colours .s0 … .s5 in the page's style sheet


def _svg_open(width: int, height: int, title: str) -> list[str]:
    return [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
            f"<title>{escape(title)}</title>"]


def _text(x: float, y: float, text: str, *, cls: str = "", anchor: str = "middle",
          extra: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return (f'<text x="{coord(x)}" y="{coord(y)}" text-anchor="{anchor}"{c}{extra}>'
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
        out.append(f'<line class="grid" x1="{ml}" x2="{ml + pw}" y1="{coord(y)}" y2="{coord(y)}"/>')
        text = f"{tick_text(round(t * 100, 10))}%" if overlay else tick_text(t)
        out.append(_text(ml - 6, y + 4, text, cls="tick", anchor="end"))
    col_w = pw / n
    if not overlay:
        for c, v in enumerate(values[0]):
            if v <= 0:
                continue
            h = max(1.0, v / top * ph)
            out.append(f'<rect class="bar" x="{coord(ml + c * col_w + 0.3)}" y="{coord(mt + ph - h)}" '
                       f'width="{coord(max(col_w - 0.6, 0.5))}" height="{coord(h)}"/>')
    else:
        for i, v in enumerate(values):
            d = [f"M{coord(ml)},{coord(y_of(0))}"]
            for c, x in enumerate(v):
                d.append(f"V{coord(y_of(float(x)))}H{coord(ml + (c + 1) * col_w)}")
            d.append(f"V{coord(y_of(0))}")
            out.append(f'<path class="line s{i % SERIES}" d="{"".join(d)}"/>')
    # axes
    out.append(f'<path class="axis" d="M{ml},{mt}V{mt + ph}H{ml + pw}"/>')
    placed_end = -1e9
    for value, text in axis.ticks(8):
        x = ml + min(max(axis.position(value), 0.0), 1.0) * pw
        out.append(f'<line class="axis" x1="{coord(x)}" x2="{coord(x)}" y1="{mt + ph}" y2="{mt + ph + 4}"/>')
        w = _estimate(text)
        if x - w / 2 >= placed_end + 6:
            out.append(_text(x, mt + ph + 16, text, cls="tick"))
            placed_end = x + w / 2
    xtitle = f"{printable(label)} per row" + (" (log scale)" if axis.log else "")
    out.append(_text(ml + pw / 2, height - 10, xtitle))
    ytitle = ("share of rows per bin" if overlay else f"{unit} per bin")
    out.append(f'<text x="14" y="{coord(mt + ph / 2)}" text-anchor="middle" '
               f'transform="rotate(-90 14 {coord(mt + ph / 2)})">{escape(ytitle)}</text>')
    if not overlay:  # quantile marks, labels staggered on two rows
        marks: list[tuple[float, list[str]]] = []  # quantiles within 3 px share one label
        for name, value in hs[0].quantiles:
            x = ml + min(max(axis.position(value), 0.0), 1.0) * pw
            cls = "q max" if name == "max" else "q"
            out.append(f'<line class="{cls}" x1="{coord(x)}" x2="{coord(x)}" y1="{mt - 4}" '
                       f'y2="{mt + ph}"><title>{escape(name)} = '
                       f"{escape(full_precision(value))}</title></line>")
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
            out.append(f'<rect class="s{i % SERIES}" x="{coord(x)}" y="{mt - 30}" width="14" '
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
        out.append(f'<line class="grid" x1="{ml}" x2="{ml + size}" y1="{coord(y_of(t))}" '
                   f'y2="{coord(y_of(t))}"/>')
        out.append(f'<line class="grid" x1="{coord(x_of(t))}" x2="{coord(x_of(t))}" y1="{mt}" '
                   f'y2="{mt + size}"/>')
        out.append(_text(ml - 6, y_of(t) + 4, tick_text(t), cls="tick", anchor="end"))
        out.append(_text(x_of(t), mt + size + 15, tick_text(t), cls="tick"))
    if not overlay:
        for b in rs[0].table:
            x0, x1 = x_of(b.low) + 0.5, x_of(b.high) - 0.5
            tip = (f"<title>[{b.low:.3f}, {b.high:.3f}]: {format_count(b.weight)} "
                   f"{'weight' if rs[0].weighted else 'rows'}, confidence {b.confidence!r}, "
                   f"accuracy {b.accuracy!r}</title>")
            out.append(f'<rect class="acc" x="{coord(x0)}" y="{coord(y_of(b.accuracy))}" '
                       f'width="{coord(x1 - x0)}" height="{coord(b.accuracy * size)}">{tip}</rect>')
            lo, hi = sorted((b.accuracy, b.confidence))
            out.append(f'<rect class="gap" x="{coord(x0)}" y="{coord(y_of(hi))}" width="{coord(x1 - x0)}" '
                       f'height="{coord((hi - lo) * size)}"/>')
    out.append(f'<line class="diag" x1="{coord(x_of(0))}" y1="{coord(y_of(0))}" x2="{coord(x_of(1))}" '
               f'y2="{coord(y_of(1))}"/>')
    if overlay:
        for i, r in enumerate(rs):
            pts = " ".join(f"{coord(x_of(b.confidence))},{coord(y_of(b.accuracy))}" for b in r.table)
            out.append(f'<polyline class="line s{i % SERIES}" points="{pts}"/>')
            for b in r.table:
                out.append(f'<circle class="s{i % SERIES}" cx="{coord(x_of(b.confidence))}" '
                           f'cy="{coord(y_of(b.accuracy))}" r="3"/>')
    out.append(f'<path class="axis" d="M{ml},{mt}V{mt + size}H{ml + size}"/>')
    out.append(_text(ml + size / 2, mt + size + 32, "confidence (mean predicted probability)"
                     if rs[0].task == "binary" else "confidence (top-label probability)"))
    out.append(f'<text x="14" y="{coord(mt + size / 2)}" text-anchor="middle" '
               f'transform="rotate(-90 14 {coord(mt + size / 2)})">observed accuracy</text>')
    # rows per bin (the first model's, or each model's as thin bars side by side)
    peak = max(b.weight for r in rs for b in r.table)
    for i, r in enumerate(rs):
        for b in r.table:
            span = (x_of(b.high) - x_of(b.low) - 1) / len(rs)
            x = x_of(b.low) + 0.5 + i * span
            h = max(1.0, b.weight / peak * strip_h)
            cls = f"s{i % SERIES}" if overlay else "count"
            out.append(f'<rect class="{cls}" x="{coord(x)}" y="{coord(strip_top + strip_h - h)}" '
                       f'width="{coord(span)}" height="{coord(h)}"/>')
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
        out.append(f'<line class="grid" x1="{coord(x_of(t))}" x2="{coord(x_of(t))}" y1="{mt}" '
                   f'y2="{bottom}"/>')
        out.append(_text(x_of(t), mt - 8, tick_text(t), cls="tick"))
    for k, b in enumerate(drawn):
        y = mt + k * row_h
        name = ("✗ " if b.failed else "") + printable(b.label)
        out.append(f'<text x="{ml - 8}" y="{coord(y + row_h / 2 + 4)}" text-anchor="end">'
                   f"<title>{escape(name)}</title>{escape(_short(name, 32))}</text>")
        if b.value is None or not math.isfinite(b.value):
            out.append(_text(x_of(0) + 4, y + row_h / 2 + 4, "n/a", cls="tick", anchor="start"))
            continue
        x0, x1 = sorted((x_of(0), x_of(b.value)))
        tip = f"{name}: {full_precision(b.value)}"
        if b.low is not None and b.high is not None:
            tip += f" [{full_precision(b.low)}, {full_precision(b.high)}]"
        out.append(f'<rect class="bar{" fail" if b.failed else ""}" x="{coord(x0)}" '
                   f'y="{coord(y + 5)}" width="{coord(max(x1 - x0, 1))}" height="{row_h - 10}">'
                   f"<title>{escape(tip)}</title></rect>")
        if b.low is not None and b.high is not None and math.isfinite(b.low) \
                and math.isfinite(b.high):
            xl, xh, ym = x_of(b.low), x_of(b.high), y + row_h / 2
            out.append(f'<path class="whisker" d="M{coord(xl)},{coord(ym - 5)}V{coord(ym + 5)}'
                       f'M{coord(xl)},{coord(ym)}H{coord(xh)}M{coord(xh)},{coord(ym - 5)}V{coord(ym + 5)}"/>')
            out.append(f'<circle class="dot" cx="{coord(x_of(b.value))}" cy="{coord(ym)}" r="2.5"/>')
    out.append(f'<path class="axis" d="M{coord(x_of(0))},{mt}V{bottom}"/>')
    if g.overall is not None and math.isfinite(g.overall):
        x = x_of(g.overall)
        out.append(f'<line class="overall" x1="{coord(x)}" x2="{coord(x)}" y1="{mt - 2}" '
                   f'y2="{bottom + 4}"/>')
        out.append(_text(x, bottom + 16, "overall", cls="tick"))
    out.append(_text(ml + pw / 2, height - 4, printable(g.label), cls="title"))
    out.append("</svg>")
    return "".join(out)
