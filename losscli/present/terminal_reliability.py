"""Terminal reliability diagrams (see :mod:`losscli.present.terminal`): x confidence, y
observed accuracy, the diagonal of perfect calibration, each bin's gap, the rows per bin,
the bin table with ECE and MCE; several models overlaid with one marker each."""

from __future__ import annotations

import math
from collections.abc import Sequence

from losscli.present.canvas import (
    BLOCKS,
    SERIES_MARKS,
    SERIES_STYLES,
    SHARED_MARK,
    Canvas,
    Line,
    Picture,
    clamp_width,
    legend_line,
    pack,
    place_labels,
    put_mark,
    series_name,
    table_lines,
    text_line,
)
from losscli.present.pictures import Reliability
from losscli.present.text import cells, format_count, format_value, printable

__all__ = ["overlay_reliability", "reliability"]


# ---------------------------------------------------------------------------------------
# reliability diagrams

def reliability(r: Reliability, width: int = 80) -> Picture | None:
    """A reliability diagram with its bin table, ECE and MCE (see the module doc); None
    when no bin holds a row."""
    if r.reason() is not None:
        return None
    return _reliability([r], width)


def overlay_reliability(rs: Sequence[Reliability], width: int = 80) -> Picture | None:
    """Several models' reliability curves on one diagram, a legend, and ECE/MCE per model."""
    kept = [r for r in rs if r.reason() is None]
    if not kept:
        return None
    return _reliability(kept, width, overlay=len(rs) > 1)


def _bin_table(r: Reliability) -> tuple[list[str], list[list[str]]]:
    unit = "weight" if r.weighted else "rows"
    header = ["confidence bin", unit, "confidence", "accuracy", "gap"]
    rows = []
    for b in r.table:
        close = "]" if b.index == r.bins - 1 else ")"
        rows.append([f"[{b.low:.3f}, {b.high:.3f}{close}", format_count(b.weight),
                     f"{b.confidence:.4f}", f"{b.accuracy:.4f}", f"{b.gap:+.4f}"])
    return header, rows


def _overlay_key(rs: Sequence[Reliability], width: int, shared: bool) -> list[Line]:
    legend = [f"{SERIES_MARKS[i % len(SERIES_MARKS)]} {series_name(r, i)}"
              for i, r in enumerate(rs)]
    if shared:
        legend.append(f"{SHARED_MARK} several models")
    legend.append("· perfect calibration")
    out = [legend_line(t, rs) for t in pack(legend, width, "   ")]
    header = ["model", "ECE", "MCE", "rows"]
    rows = [[f"{SERIES_MARKS[i % len(SERIES_MARKS)]} {series_name(r, i)}",
             format_value(r.ece), format_value(r.mce), format_count(r.rows)]
            for i, r in enumerate(rs)]
    table = table_lines(header, rows, width, right={1, 2, 3})
    if table is not None:
        return out + table
    for row in rows:
        out += [text_line(t) for t in pack([row[0] + ":", f"ECE = {row[1]}", f"MCE = {row[2]}",
                                        f"rows = {row[3]}"], width, "   ")]
    return out


def _reliability(rs: Sequence[Reliability], width: int, overlay: bool = False) -> Picture:
    width = clamp_width(width)
    first = rs[0]
    label = printable(first.label)
    lines: list[Line] = []
    what = ("predicted probability of class 1 vs the label" if first.task == "binary" else
            "top-label confidence vs top-label correctness")
    title = [f"{label}: reliability diagram", first.task, what]
    if not overlay:
        if first.model is not None:
            title.append(f"model: {printable(first.model)}")
        title.append(f"{format_count(first.rows)} rows")
    for i, text in enumerate(pack(title, width, " · ")):
        lines.append(text_line(text, "bold" if i == 0 else None))
    if not overlay:
        items = [f"ECE = {format_value(first.ece)}", f"MCE = {format_value(first.mce)}",
                 f"{first.bins} equal-width bins"]
        lines += [text_line(t) for t in pack(items, width, "   ")]

    gutter = 5  # "0.75" and the axis
    bins = max(r.bins for r in rs)
    avail = width - gutter - 2
    per_bin = max(1, min(avail // bins, 4))
    plot_w = per_bin * bins if per_bin * bins <= avail else avail
    height = 13  # rows for accuracy 0, 1/12, ..., 1: 0.25, 0.5, 0.75 fall on rows
    canvas = Canvas(gutter + plot_w + 1, height)
    for row in range(height):
        text = {0: "0", 3: "0.25", 6: "0.5", 9: "0.75", 12: "1"}.get(row, "")
        canvas.put(height - 1 - row, 0, text.rjust(gutter - 1), "dim")
        canvas.put(height - 1 - row, gutter - 1, "┤" if text else "│", "dim")

    def col_of(x: float) -> int:
        return min(plot_w - 1, max(0, math.floor(x * plot_w)))

    def row_of(y: float) -> int:
        return min(height - 1, max(0, round(y * (height - 1))))

    for c in range(plot_w):
        canvas.put(height - 1 - row_of((c + 0.5) / plot_w), gutter + c, "·", "dim")
    shared = False
    for i, r in enumerate(rs):
        mark = SERIES_MARKS[i % len(SERIES_MARKS)] if overlay else "●"
        style = SERIES_STYLES[i % len(SERIES_STYLES)] if overlay else "bold cyan"
        for b in r.table:
            c = col_of(b.confidence)
            ra, rc = row_of(b.accuracy), row_of(b.confidence)
            if not overlay:
                for rr in range(min(ra, rc) + 1, max(ra, rc)):
                    canvas.put(height - 1 - rr, gutter + c, "│", "red")
            shared |= put_mark(canvas, height - 1 - ra, gutter + c, mark, style)
    plot = [text_line(" accuracy", "dim"), *canvas.lines()]
    # axis and ticks
    axis = Canvas(gutter + plot_w + 2, 2)
    axis.put(0, gutter - 1, "└" + "─" * plot_w, "dim")
    ticks = [(0.0, "0"), (0.25, "0.25"), (0.5, "0.5"), (0.75, "0.75"), (1.0, "1")]
    cols = [(gutter + min(plot_w, round(x * plot_w)), t) for x, t in ticks]
    for c, _ in cols:
        axis.put(0, c, "┬", "dim")
    for start, text in place_labels(cols, gutter + plot_w + 2):
        axis.put(1, start, text, "dim")
    plot += axis.lines()
    xtitle = "confidence (mean predicted probability)" if first.task == "binary" else \
        "confidence (top-label probability)"
    plot.append(text_line(" " * max(0, gutter + (plot_w - len(xtitle)) // 2) + xtitle, "dim"))
    if not overlay:  # rows per bin: a strip of 3 lines under the diagram
        strip_h = 3
        strip = Canvas(gutter + plot_w + 1, strip_h)
        unit = "weight" if first.weighted else "rows"
        peak = max(b.weight for b in first.table)
        for b in first.table:
            c0 = gutter + math.floor(b.low * plot_w)
            c1 = min(gutter + max(math.floor(b.high * plot_w), c0 - gutter + 1),
                     gutter + plot_w)
            if c1 - c0 >= 3:
                c1 -= 1  # a gap between bins
            level = max(1, round(b.weight / peak * strip_h * 8))
            for rr in range(strip_h):
                fill = min(8, max(0, level - 8 * rr))
                if fill:
                    strip.put(strip_h - 1 - rr, c0, BLOCKS[fill] * (c1 - c0), "blue")
        plot += strip.lines()
        plot.append(text_line(" " * gutter + f"{unit} per bin (tallest: {format_count(peak)})",
                          "dim"))
    # the table: beside the diagram when it fits, else below
    if overlay:
        return Picture("reliability", lines + plot + _overlay_key(rs, width, shared))
    header, rows = _bin_table(first)
    legend = [text_line(t, "dim") for t in pack(["● bin (mean confidence, accuracy)", "│ gap",
                                             "· perfect calibration"], width, "   ")]
    left_w = max(cells("".join(t for t, _ in ln)) for ln in plot)
    table = table_lines(header, rows, width, right={1, 2, 3, 4}) or []
    if not table:  # narrower than any table: one bin per line
        table = [text_line(t) for row in rows for t in pack(
            [row[0], f"{header[1]} {row[1]}", f"confidence {row[2]}", f"accuracy {row[3]}",
             f"gap {row[4]}"], width, "  ")]
    table_w = max(cells("".join(t for t, _ in ln)) for ln in table)
    if left_w + 3 + table_w <= width:
        merged = []
        for k in range(max(len(plot), len(table) + 2)):
            left = plot[k] if k < len(plot) else []
            pad = left_w + 3 - cells("".join(t for t, _ in left))
            right_part = table[k - 2] if 2 <= k < len(table) + 2 else []
            merged.append([*left, (" " * pad, None), *right_part] if right_part else left)
        return Picture("reliability", [*lines, *merged, *legend])
    return Picture("reliability", [*lines, *plot, *legend, text_line(""), *table])


