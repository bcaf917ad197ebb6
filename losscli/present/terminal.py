"""Terminal drawings of the picture models (:mod:`losscli.present.pictures`): histograms
of a per-row loss, counts of a loss with few distinct values, reliability diagrams
(:mod:`losscli.present.terminal_reliability`), per-group bars
(:mod:`losscli.present.terminal_bars`) and overlays of several models, as
:class:`~losscli.present.canvas.Picture` lines. Each drawing takes ``width`` (columns; laid
out for 80–200, narrower widths down to :data:`~losscli.present.canvas.MIN_WIDTH` still work,
wider ones are drawn at :data:`~losscli.present.canvas.MAX_WIDTH`) and returns a picture or
None when there is nothing to draw. No line of a picture is wider than ``width``, no number
is cut short and no label loses its meaning: long labels wrap onto more lines instead.

Conventions:

* **Numbers as the tables print them.** Loss values, quantiles, interval bounds and
  ECE/MCE are printed with :func:`~losscli.present.text.format_value` (6 significant
  digits, never cut by the layout), counts with :func:`~losscli.present.text.format_count`.
  Axis ticks are round numbers chosen for the axis, printed exactly. The
  per-bin confidence and accuracy of a reliability table are means read off a picture and
  are shown to 4 decimals (the state keeps them exactly).
* **Histogram x axis.** Logarithmic when every value is ≥ 0, the median is > 0 and
  max / p50 > :data:`HEAVY_TAIL` (100): the largest loss is over a hundred times the
  typical one, and a linear axis would squeeze almost every row into its first column.
  Otherwise linear from min to max. On a log axis the rows at 0 cannot be drawn; the
  caption counts them. The picture says which rule applied.
* **Histogram bars.** The sketch's log-spaced buckets are spread over the display columns
  in proportion to their overlap (the weight of a bucket taken as uniform over it, in the
  axis' own scale: linear, or log on a log axis), so the bars are proportional to the
  weight per column and their total is the total weight; a column holding any weight shows
  at least the lowest bar (``▁``) so that a lone maximum stays visible. Below the axis,
  ``▲`` marks p50, p90, p99, p99.9 and max; the key prints each (6 significant digits) with the sketch's
  relative error α (the quantiles are within α of the exact order statistics).
* **Reliability diagram.** x: confidence, y: observed accuracy, both on [0, 1]; ``·`` is
  the diagonal of perfect calibration, ``●`` each non-empty bin at (mean confidence,
  accuracy), ``│`` the gap between them; under the axis the rows per bin; beside or below
  it the bin table and ECE / MCE.
* **Group bars.** One bar per group from 0 to its value; with an interval the bar stops at
  the low bound and ``├──●──┤`` spans [low, high] with ``●`` at the value; ``┊`` marks the
  overall value. Groups marked failed (``check``) carry ``✗``.
* **Overlays** (``compare``): one axis for every model, one marker per model (``●○■□◆◇``;
  ``◉`` where several fall on the same cell) and a legend; histograms as the share of each
  model's rows per column (so models of different sizes compare), quantiles per model.
* **Width.** Between :data:`MIN_WIDTH` (40) and :data:`MAX_WIDTH` (200); a narrower
  request is drawn at 40 columns. Text that does not fit wraps after a space or after
  punctuation outside a number — numbers never split.

Labels from data go through :func:`~losscli.present.text.printable`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import IO

from losscli.present.axes import HistogramAxis, bin_weights, nice_ceiling, tick_text
from losscli.present.canvas import (
    BLOCKS,
    HBLOCKS,
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
    show,
    stagger,
    table_lines,
    terminal_width,
    text_line,
    wrap,
)
from losscli.present.pictures import (
    Counts,
    GroupBars,
    Histogram,
    Plottable,
    Reliability,
    nothing_to_plot,
    reason_of,
)
from losscli.present.terminal_bars import group_bars
from losscli.present.terminal_reliability import overlay_reliability, reliability
from losscli.present.text import cells, format_count, format_value, printable

__all__ = ["COMPACT_AFTER", "COMPACT_HEIGHT", "counts", "draw", "group_bars", "histogram",
           "overlay_histograms", "overlay_reliability",
           "picture", "reliability"]

#: Rows of bars of a histogram drawn compact (:func:`draw` with several pictures).
COMPACT_HEIGHT = 5
#: How many pictures :func:`draw` draws at full height; beyond, compact.
COMPACT_AFTER = 2


def _column(axis: HistogramAxis, value: float, n: int) -> int:
    pos = axis.position(value)
    if not math.isfinite(pos):
        return 0
    return min(n - 1, max(0, math.floor(pos * n)))


def _y_axis_text(top: float, share: bool) -> str:
    return f"{tick_text(top * 100)}%" if share else tick_text(top)



# ---------------------------------------------------------------------------------------
# histograms

def histogram(h: Histogram, width: int = 80, *, height: int | None = None) -> Picture | None:
    """The distribution of one per-row loss (see the module doc); None when empty.
    ``height``: rows of bars (default 10, 12 from 120 columns; :func:`draw` passes
    :data:`COMPACT_HEIGHT` when it draws several pictures)."""
    if h.reason() is not None:
        return None
    return _histograms([h], width, height=height)


def overlay_histograms(hists: Sequence[Histogram], width: int = 80, *,
                       height: int | None = None) -> Picture | None:
    """Several models' distributions of one loss on one axis, as the share of each model's
    rows per column, one marker per model, a legend and each model's quantiles."""
    hs = [h for h in hists if h.reason() is None]
    if not hs:
        return None
    return _histograms(hs, width, overlay=len(hists) > 1, height=height)


def _heading(head: str, first: Histogram | Counts, models: int, weighted: bool,
             width: int) -> list[Line]:
    """A picture's title lines: ``head``, then the number of ``models`` overlaid (when
    non-zero) or the one model's name, rows and total weight."""
    title = [head]
    if models:
        title.append(f"{models} models")
    else:
        if first.model is not None:
            title.append(f"model: {printable(first.model)}")
        title.append(f"{format_count(first.rows)} rows"
                     + (f", total weight {format_count(first.total_weight)}" if weighted else ""))
    return [text_line(t, "bold" if i == 0 else None) for i, t in enumerate(pack(title, width, " · "))]


def _histograms(hs: Sequence[Histogram], width: int, overlay: bool = False,
                height: int | None = None) -> Picture:
    width = clamp_width(width)
    axis = HistogramAxis.of(hs)
    first = hs[0]
    label = printable(first.label)
    lines: list[Line] = []
    weighted = any(h.weighted for h in hs)
    unit = "weight" if weighted else "rows"
    lines += _heading(f"{label}: distribution of the per-row loss", first, len(hs) if overlay
                      else 0, weighted, width)
    notes = [axis.rule]
    if axis.log:
        for i, h in enumerate(hs):
            if h.zero_weight:
                who = f"{series_name(h, i)}: " if overlay else ""
                notes.append(f"{who}{format_count(h.zero_weight)} {unit} at 0, not on the log axis")
    if any(h.collapsed for h in hs):
        notes.append("lowest buckets collapsed: quantiles below them lose the α bound")
    lines += [text_line(t, "dim") for t in pack(notes, width, " · ")]

    if axis.degenerate:
        value = format_value(axis.low)
        lines += [text_line(t) for t in pack([f"every row has the value {value}:",
                                          "nothing to spread over an axis"], width, " ")]
        lines += _quantile_key(hs, width, overlay)
        return Picture("histogram", lines)

    height = height or (12 if width >= 120 else 10)
    gutter = 3  # the y axis' top label, a space, the axis: it only grows, so this ends
    while True:
        n = width - gutter - 2  # the axis character and one column spare on the right
        weights = [bin_weights(h, axis, n) for h in hs]
        values = ([w / max(h.total_weight, 1e-300) for w, h in zip(weights, hs)] if overlay
                  else weights)
        top = nice_ceiling(max(float(v.max()) for v in values))
        top_text = _y_axis_text(top, overlay)
        if len(top_text) + 2 <= gutter:
            break
        gutter = len(top_text) + 2
    lines.append(text_line(" " + ("share of rows" if overlay else unit), "dim"))
    canvas = Canvas(width, height)
    for r in range(height):
        canvas.put(height - 1 - r, 0, (top_text if r == height - 1 else "").rjust(gutter - 1), "dim")
        canvas.put(height - 1 - r, gutter - 1, "┤" if r == height - 1 else "│", "dim")
    x0 = gutter
    if not overlay:
        eighths = values[0] / top * height * 8
        for c in range(n):
            level = round(eighths[c])
            if values[0][c] > 0:
                level = max(level, 1)
            for r in range(height):
                fill = min(8, max(0, level - 8 * r))
                if fill:
                    canvas.put(height - 1 - r, x0 + c, BLOCKS[fill], "cyan")
    else:
        shared = False
        for i, v in enumerate(values):
            mark = SERIES_MARKS[i % len(SERIES_MARKS)]
            style = SERIES_STYLES[i % len(SERIES_STYLES)]
            for c in range(n):
                if v[c] <= 0:
                    continue
                r = min(height - 1, max(0, math.ceil(v[c] / top * height) - 1))
                shared |= put_mark(canvas, height - 1 - r, x0 + c, mark, style)
    lines += canvas.lines()
    # x axis, ticks, tick labels
    ticks = axis.ticks(max(2, n // 12))
    tick_cols = [(_column(axis, v, n), text) for v, text in ticks]
    placed = place_labels([(x0 + c, t) for c, t in tick_cols], width)
    axis_canvas = Canvas(width, 2)
    axis_canvas.put(0, 0, "0".rjust(gutter - 1), "dim")
    axis_canvas.put(0, gutter - 1, "└" + "─" * n, "dim")
    placed_texts = {t for _, t in placed}
    for c, t in tick_cols:
        if t in placed_texts:
            axis_canvas.put(0, x0 + c, "┬", "dim")
    for start, text in placed:
        axis_canvas.put(1, start, text, "dim")
    lines += axis_canvas.lines()
    if not overlay:
        tags = [(x0 + _column(axis, value, n), name) for name, value in first.quantiles]
        for row in stagger(tags, width):
            tag_canvas = Canvas(width, 1)
            for start, text in row:
                tag_canvas.put(0, start, text, "red" if "max" in text else "yellow")
            lines += tag_canvas.lines()
    scale = " (log scale)" if axis.log else ""
    xtitle = f"{label} per row{scale}"
    pad = max(0, x0 + (n - cells(xtitle)) // 2)
    lines += [text_line(" " * pad + t, "dim") if cells(xtitle) <= width - pad else text_line(t, "dim")
              for t in wrap(xtitle, width)]
    if overlay:
        legend = [f"{SERIES_MARKS[i % len(SERIES_MARKS)]} {series_name(h, i)}"
                  for i, h in enumerate(hs)]
        if shared:
            legend.append(f"{SHARED_MARK} several models")
        lines += [legend_line(text, hs) for text in pack(legend, width, "   ")]
    lines += _quantile_key(hs, width, overlay)
    return Picture("histogram", lines)


def _alpha_text(alpha: float) -> str:
    return f"{alpha * 100:g} %"


def _quantile_key(hs: Sequence[Histogram], width: int, overlay: bool) -> list[Line]:
    alphas = sorted({h.alpha for h in hs})
    if len(alphas) == 1:
        bound = [f"quantiles within ±{_alpha_text(alphas[0])} (relative) of the exact order "
                 "statistics", f"sketch α = {alphas[0]:g}", "max exact"]
    else:
        bound = ["quantiles within each model's sketch α: " + ", ".join(
            f"{series_name(h, i)} ±{_alpha_text(h.alpha)}" for i, h in enumerate(hs)),
            "max exact"]
    lines: list[Line] = []
    if not overlay:
        items = [f"{name} = {format_value(value)}" for name, value in hs[0].quantiles]
        lines += [text_line(t) for t in pack(items, width, "   ")]
    else:
        names = [name for name, _ in hs[0].quantiles]
        header = ["model", *names]
        rows = [[f"{SERIES_MARKS[i % len(SERIES_MARKS)]} {series_name(h, i)}",
                 *(format_value(dict(h.quantiles).get(q)) for q in names)]
                for i, h in enumerate(hs)]
        table = table_lines(header, rows, width, right=set(range(1, len(header))))
        if table is not None:
            lines += table
        else:
            for row in rows:
                items = [f"{q} = {v}" for q, v in zip(names, row[1:])]
                lines += [text_line(t) for t in pack([row[0] + ":", *items], width, "   ")]
    lines += [text_line(t, "dim") for t in pack(bound, width, " · ")]
    return lines



# ---------------------------------------------------------------------------------------
# counts of a loss with few distinct values

def counts(c: Counts | Sequence[Counts], width: int = 80) -> Picture | None:
    """A 0/1 loss (or several models' of one loss): one line per value (and model) with its
    rows (weight when weighted), their share and a bar of that share; None when empty."""
    cs = [c] if isinstance(c, Counts) else [x for x in c if x.reason() is None]
    cs = [x for x in cs if x.reason() is None]
    if not cs:
        return None
    width = clamp_width(width)
    first = cs[0]
    unit = "weight" if any(x.weighted for x in cs) else "rows"
    values = sorted({v for x in cs for v, _ in x.values})
    overlay = len(cs) > 1
    lines = _heading(f"{printable(first.label)}: per-row values "
                     f"({' or '.join(format_value(v) for v in values)})", first,
                     len(cs) if overlay else 0, first.weighted, width)
    rows = []
    for i, x in enumerate(cs):
        at = dict(x.values)
        for v in values:
            w = at.get(v, 0.0)
            share = w / x.total_weight
            head = (f"{SERIES_MARKS[i % len(SERIES_MARKS)]} {series_name(x, i)}  " if overlay
                    else "") + format_value(v)
            rows.append((head, f"{format_count(w)} {unit}", f"{format_value(share * 100)} %",
                         share, SERIES_STYLES[i % len(SERIES_STYLES)] if overlay else "cyan"))
    head_w = max(cells(r[0]) for r in rows)
    count_w = max(cells(r[1]) for r in rows)
    share_w = max(cells(r[2]) for r in rows)
    bar_w = width - head_w - count_w - share_w - 6
    for head, count, share_text, share, style in rows:
        numbers = f"{count.rjust(count_w)}  {share_text.rjust(share_w)}"
        if bar_w < 10:  # too narrow for a bar: the numbers only
            lines += [text_line(t) for t in pack([head + ":", numbers.strip()], width, "  ")]
            continue
        eighths = round(share * bar_w * 8)
        bar = "█" * (eighths // 8) + (HBLOCKS[eighths % 8] if eighths % 8 else "")
        if not bar and share > 0:
            bar = HBLOCKS[1]  # a value that holds any row stays visible
        lines.append([(head.ljust(head_w + cells(head) - len(head)) + "  ", "bold"),
                      (bar.ljust(bar_w), style), ("  " + numbers, None)])
    return Picture("counts", lines)


# ---------------------------------------------------------------------------------------
# dispatch and printing

def picture(item: Plottable | Sequence[Plottable], width: int = 80, *,
            compact: bool = False) -> Picture | None:
    """The picture of one input (or an overlay of a sequence of histograms, counts or
    reliability data); None when there is nothing to draw. ``compact``: shorter histograms
    (:data:`COMPACT_HEIGHT` rows of bars), for a page of several pictures."""
    height = COMPACT_HEIGHT if compact else None
    if isinstance(item, Histogram):
        return histogram(item, width, height=height)
    if isinstance(item, Counts):
        return counts(item, width)
    if isinstance(item, Reliability):
        return reliability(item, width)
    if isinstance(item, GroupBars):
        return group_bars(item, width)
    from losscli.present.confusion import ConfusionMap, confusion_heatmap

    if isinstance(item, ConfusionMap):
        return confusion_heatmap(item, width)
    items = list(item)
    if items and all(isinstance(x, Histogram) for x in items):
        return overlay_histograms(items, width, height=height)  # type: ignore[arg-type]
    if items and all(isinstance(x, Counts) for x in items):
        return counts(items, width)  # type: ignore[arg-type]
    if items and all(isinstance(x, Reliability) for x in items):
        return overlay_reliability(items, width)  # type: ignore[arg-type]
    raise TypeError(f"cannot draw {type(item).__name__}: expected Histogram, Counts, "
                    "Reliability, GroupBars or a sequence of histograms, counts or of "
                    "reliability data")


def draw(items: Sequence[Plottable | Sequence[Plottable]], out: IO[str] | None = None, *,
         width: int | None = None, skipped: Sequence[str] = ()) -> str | None:
    """Draw every item that can be drawn on ``out`` at ``width`` (default: the terminal's,
    :func:`terminal_width`); more than :data:`COMPACT_AFTER` pictures are drawn compact
    (shorter histograms: every number and label stays). Returns None, or
    :func:`nothing_to_plot`'s message when
    nothing could be drawn (and draws nothing)."""
    message = nothing_to_plot(items, skipped)
    if message is not None:
        return message
    w = terminal_width(out) if width is None else width
    compact = sum(1 for item in items if reason_of(item) is None) > COMPACT_AFTER
    show([picture(item, w, compact=compact) for item in items], out)
    return None
