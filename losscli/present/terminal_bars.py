"""Terminal per-group bars (see :mod:`losscli.present.terminal`): one bar per group from 0
to its value; with an interval the bar stops at the low bound and ``├──●──┤`` spans
[low, high]; ``┊`` marks the overall value; failed groups carry ``✗``."""

from __future__ import annotations

import math
from collections.abc import Callable

from losscli.present.axes import nice_ticks, tick_text
from losscli.present.canvas import (
    HBLOCKS,
    Canvas,
    Line,
    Picture,
    clamp_width,
    pack,
    place_labels,
    text_line,
    wrap,
)
from losscli.present.pictures import GroupBar, GroupBars
from losscli.present.text import cells, format_level, format_value, printable

__all__ = ["group_bars"]


# ---------------------------------------------------------------------------------------
# per-group bars

def group_bars(g: GroupBars, width: int = 80) -> Picture | None:
    """A bar per group with its interval and its numbers (see the module doc);
    None when no group has a value."""
    if g.reason() is not None:
        return None
    width = clamp_width(width)
    label = printable(g.label)
    lines: list[Line] = []
    title = [f"{label} by group", f"{len(g.bars)} group{'s' if len(g.bars) != 1 else ''}"]
    if g.model is not None:
        title.insert(1, f"model: {printable(g.model)}")
    title.append("higher is better" if g.higher_is_better else "lower is better")
    for i, text in enumerate(pack(title, width, " · ")):
        lines.append(text_line(text, "bold" if i == 0 else None))
    key = ["█ value"]
    if any(b.low is not None and b.high is not None for b in g.bars):
        level = f"{format_level(g.level, sep=' ')} " if g.level is not None else ""
        method = f" ({g.method})" if g.method else ""
        key.append(f"├─●─┤ {level}interval{method}")
    if g.overall is not None:
        key.append(f"┊ overall = {format_value(g.overall)}")
    if any(b.failed for b in g.bars):
        key.append("✗ check failed")
    lines += [text_line(t, "dim") for t in pack(key, width, "   ")]

    numbers: list[list[str]] = []
    for b in g.bars:
        items = ["n/a" if b.value is None else format_value(b.value)]
        if b.low is not None and b.high is not None:
            items += [f"[{format_value(b.low)},", f"{format_value(b.high)}]"]
        if b.note:
            items.append(f"({printable(b.note)})")
        numbers.append(items)
    labels = [("✗ " if b.failed else "") + printable(b.label) for b in g.bars]
    label_w = min(max(cells(t) for t in labels), max(12, width // 4))
    num_w = max(cells(" ".join(t)) for t in numbers)
    bar_min = 20
    inline = label_w + 1 + bar_min + 2 + num_w <= width
    bar_w = (width - label_w - 1 - num_w - 2) if inline else (width - label_w - 1)
    bar_w = max(8, bar_w - 1)
    finite = [x for b in g.bars for x in (b.value, b.low, b.high)
              if x is not None and math.isfinite(x)]
    if g.overall is not None and math.isfinite(g.overall):
        finite.append(g.overall)
    lo, hi = min([0.0, *finite]), max([0.0, *finite])
    if hi == lo:
        hi = lo + 1.0
    ticks = nice_ticks(lo, hi, max(4, bar_w // 8))
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])

    def pos(x: float) -> float:
        return (x - lo) / (hi - lo) * bar_w

    def col(x: float) -> int:
        return min(bar_w - 1, max(0, math.floor(pos(x))))

    x0 = label_w + 1
    head = Canvas(width, 2)
    tick_cols = [(x0 + col(t), tick_text(t)) for t in ticks]
    placed = place_labels(tick_cols, x0 + bar_w + 1)
    for start, text in placed:
        head.put(0, start, text, "dim")
    head.put(1, x0, "─" * bar_w, "dim")
    placed_texts = {t for _, t in placed}
    for c, t in tick_cols:
        if t in placed_texts:
            head.put(1, c, "┴", "dim")
    lines += head.lines()
    zero = col(0.0)
    overall = g.overall if g.overall is not None and math.isfinite(g.overall) else None
    for b, name, items in zip(g.bars, labels, numbers):
        name_lines = wrap(name, label_w)
        num_lines = [" ".join(items)] if inline else pack(items, width - x0, " ")
        n_lines = max(len(name_lines), 1 if inline else 1 + len(num_lines))
        canvas = Canvas(width, n_lines)
        text_style = "red" if b.failed else None
        for k, part in enumerate(name_lines):
            canvas.put(k, 0, part, "bold red" if b.failed else "bold")
        if overall is not None:
            for k in range(n_lines if inline else 1):
                canvas.put(k, x0 + col(overall), "┊", "dim")
        if b.value is not None and math.isfinite(b.value):
            _bar_with_interval(canvas, b, x0, zero, pos, col, "red" if b.failed else "cyan")
        if inline:
            canvas.put(0, x0 + bar_w + 2, num_lines[0], text_style)
        else:
            for k, part in enumerate(num_lines):
                canvas.put(1 + k, x0, part, text_style)
        lines += canvas.lines()
    return Picture("groups", lines)


def _bar_with_interval(canvas: Canvas, b: GroupBar, x0: int, zero: int,
                       pos: Callable[[float], float], col: Callable[[float], int],
                       style: str) -> None:
    """Row 0 of ``canvas``: a bar from 0 towards the value — up to the interval's nearer
    bound when there is an interval (``├──●──┤`` then spans [low, high]) — eighth blocks
    at the end of a bar to the right, whole cells for one to the left."""
    assert b.value is not None
    value = b.value
    interval = (b.low is not None and b.high is not None and math.isfinite(b.low)
                and math.isfinite(b.high))
    end = value
    if interval and b.low is not None and b.high is not None:
        end = max(0.0, b.low) if value >= 0 else min(0.0, b.high)
    zero_pos, end_pos = pos(0.0), pos(end)
    if end_pos >= zero_pos:
        full = math.floor(end_pos - zero_pos)
        canvas.put(0, x0 + zero, "█" * full, style)
        part = round((end_pos - zero_pos - full) * 8)
        if part:
            canvas.put(0, x0 + zero + full, HBLOCKS[part], style)
        elif full == 0 and not interval:
            canvas.put(0, x0 + zero, "▏", style)
    else:
        canvas.put(0, x0 + col(end), "█" * max(1, zero - col(end)), style)
    if interval and b.low is not None and b.high is not None:
        cl, ch = col(b.low), col(b.high)
        if ch > cl:
            canvas.put(0, x0 + cl, "├" + "─" * (ch - cl - 1) + "┤", "yellow")
        canvas.put(0, x0 + col(value), "●", "bold yellow")


