"""Pictures for the terminal, as lines of text: histograms of a per-row loss, reliability
diagrams, per-group bars with intervals, and overlays of several models.

Plain data in, text out. The inputs are small frozen dataclasses built from the stats
objects — :class:`Histogram` from a :class:`~losscli.stats.sketch.QuantileSketch`,
:class:`Reliability` from a :class:`~losscli.stats.calibration.CalibrationError`,
:class:`GroupBars` from rows of (label, value, low, high) or a report dict — so a caller
wires them from whatever produced the numbers. Each picture function takes ``width``
(columns; pictures are laid out for 80–200, narrower widths down to
:data:`MIN_WIDTH` still work, wider ones are drawn at :data:`MAX_WIDTH`) and returns a
:class:`Picture` — lines of (text, style) segments — or None when there is nothing to draw
(:func:`nothing_to_plot` says why). :func:`show` prints pictures: styled with rich on a
terminal (imported only then), plain text otherwise or with ``NO_COLOR``. No line of a
picture is wider than ``width``, no number is cut short and no label loses its meaning:
long labels wrap onto more lines instead.

Conventions:

* **Numbers in full.** Loss values, quantiles, interval bounds, ECE/MCE and counts are
  printed with :func:`format_number` (the shortest text that round-trips the float, as in
  the tables). Axis ticks are round numbers chosen for the axis, printed exactly. The
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
  ``▲`` marks p50, p90, p99, p99.9 and max; the key prints each in full with the sketch's
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

From an evaluation (``--plot``, ``--html``): :func:`report_pictures` turns a
:class:`~losscli.report.Report` — its ``cell`` holds the sketches and calibration bins — and
its report dict (groups) into the inputs above; :func:`comparison_pictures` does it for the
models of ``compare``, overlaid.

Labels from data (file, column and group names) go through :func:`printable`: control
characters, escape sequences and bidirectional overrides are shown as ``\\xNN``/``\\uNNNN``
text, never sent to the terminal.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import IO, TYPE_CHECKING, Any, Union

import numpy as np

from losscli.present.text import (
    cells,
    char_cells,
    format_count,
    format_level,
    format_number,
    printable,
)

if TYPE_CHECKING:
    from losscli.stats.calibration import CalibrationError
    from losscli.stats.sketch import QuantileSketch

__all__ = [
    "DEFAULT_LEVELS", "HEAVY_TAIL", "MAX_WIDTH", "MIN_WIDTH", "GroupBar", "GroupBars",
    "Histogram", "HistogramAxis", "Picture", "Reliability", "ReliabilityBin", "bin_weights",
    "comparison_pictures", "draw", "format_number", "group_bars", "histogram", "nice_ticks",
    "nothing_to_plot", "overlay_histograms", "overlay_reliability", "picture", "printable",
    "quantile_name", "reliability", "report_pictures", "show", "terminal_width", "tick_text",
]

#: The quantile levels a histogram marks (besides the maximum).
DEFAULT_LEVELS = (0.5, 0.9, 0.99, 0.999)
#: max / p50 above which a histogram's x axis is logarithmic.
HEAVY_TAIL = 100.0
MIN_WIDTH = 40
MAX_WIDTH = 200

#: Markers of the series of an overlay, in model order (repeated beyond six models).
SERIES_MARKS = ("●", "○", "■", "□", "◆", "◇")
SERIES_STYLES = ("cyan", "magenta", "yellow", "green", "blue", "red")
#: Where the markers of several series fall on the same cell.
SHARED_MARK = "◉"
_BLOCKS = " ▁▂▃▄▅▆▇█"
_HBLOCKS = " ▏▎▍▌▋▊▉█"


# ---------------------------------------------------------------------------------------
# text

_BREAK_AFTER = set(",;=/_|-.:)]}")


def _break_at(text: str) -> int:
    """Where to end a line cut from ``text`` (the index after the break), or 0 for none:
    after the last space in the last two thirds, else after the last punctuation that is
    not inside a number (``1,234.5`` stays whole)."""
    n = len(text)
    space = text.rfind(" ")
    if space >= n // 3 and space > 0:
        return space + 1
    for i in range(n - 2, n // 3 - 1, -1):
        ch = text[i]
        if ch in _BREAK_AFTER and not (text[i - 1:i].isdigit() and text[i + 1].isdigit()):
            return i + 1
    return 0


def wrap(text: str, width: int) -> list[str]:
    """``text`` cut into lines of at most ``width`` columns — after a space, else after
    punctuation outside a number, else anywhere (a label with neither): nothing is
    dropped but the spaces the lines break at."""
    width = max(1, width)
    lines: list[str] = []
    current = ""
    used = 0
    for ch in text:
        w = char_cells(ch) if not ch.isascii() else 1
        if used + w > width and current:
            if ch == " ":  # the line ends right here; the space goes with the break
                lines.append(current)
                current, used = "", 0
                continue
            cut = _break_at(current + ch)
            if 0 < cut <= len(current):
                lines.append(current[:cut].rstrip(" ") or current[:cut])
                current = current[cut:]
            else:
                lines.append(current)
                current = ""
            used = cells(current)
        current += ch
        used += w
    if current or not lines:
        lines.append(current)
    return lines


def pack(items: Sequence[str], width: int, sep: str = "   ") -> list[str]:
    """Items side by side on as few lines as fit in ``width``; an item wider than the line
    is wrapped on its own lines. Items are never split across lines otherwise."""
    lines: list[str] = []
    current = ""
    for item in items:
        if cells(item) > width:
            if current:
                lines.append(current)
                current = ""
            lines.extend(wrap(item, width))
            continue
        if current and cells(current) + cells(sep) + cells(item) <= width:
            current += sep + item
        else:
            if current:
                lines.append(current)
            current = item
    if current:
        lines.append(current)
    return lines


def quantile_name(level: float) -> str:
    """``p50``, ``p99.9`` for a level of 0.5, 0.999; ``max`` for 1; ``min`` for 0."""
    if level >= 1.0:
        return "max"
    if level <= 0.0:
        return "min"
    return "p" + format(round(level * 100, 10), "g")


def tick_text(value: float) -> str:
    """An axis tick (a round number) exactly and short: ``0.25``, ``1000``, ``1e-05`` →
    ``1e-5``."""
    if value == 0:
        return "0"
    text = format(value, ".12g")
    if "e" in text:
        mant, exp = text.split("e")
        text = f"{mant}e{int(exp)}"
    return text


# ---------------------------------------------------------------------------------------
# the picture: lines of styled segments

Segment = tuple[str, Union[str, None]]
Line = list[Segment]


@dataclass
class Picture:
    """Lines of ``(text, style)`` segments; ``style`` is a rich style name or None.
    :meth:`plain` is the text without styles."""

    kind: str
    lines: list[Line]

    def text_lines(self) -> list[str]:
        return ["".join(text for text, _ in line).rstrip() for line in self.lines]

    def plain(self) -> str:
        return "\n".join(self.text_lines()) + "\n"

    @property
    def width(self) -> int:
        return max((cells(t) for t in self.text_lines()), default=0)


class _Canvas:
    """A grid of cells, each a character and a style; wide characters take two cells."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.chars = [[" "] * width for _ in range(height)]
        self.styles: list[list[str | None]] = [[None] * width for _ in range(height)]

    def put(self, row: int, col: int, text: str, style: str | None = None) -> None:
        for ch in text:
            w = char_cells(ch) if not ch.isascii() else 1
            if w == 0:
                if col > 0:  # a combining mark joins the previous cell
                    self.chars[row][col - 1] += ch
                continue
            if col < 0 or col + w > self.width:
                col += w
                continue
            self.chars[row][col] = ch
            self.styles[row][col] = style
            if w == 2:
                self.chars[row][col + 1] = ""
                self.styles[row][col + 1] = style
            col += w

    def get(self, row: int, col: int) -> str:
        return self.chars[row][col]

    def lines(self) -> list[Line]:
        out = []
        for chars, styles in zip(self.chars, self.styles):
            line: Line = []
            for ch, st in zip(chars, styles):
                if line and line[-1][1] == st:
                    line[-1] = (line[-1][0] + ch, st)
                else:
                    line.append((ch, st))
            out.append(line)
        return out


def _text(text: str, style: str | None = None) -> Line:
    return [(text, style)]


def _clamp_width(width: int) -> int:
    return max(MIN_WIDTH, min(MAX_WIDTH, int(width)))


# ---------------------------------------------------------------------------------------
# inputs

@dataclass(frozen=True)
class Histogram:
    """The distribution of one per-row loss, for a picture.

    ``buckets``: (low, high, weight) in increasing order, low ≤ high (a point mass, such
    as the zeros, has low == high); ``quantiles``: (name, value) pairs, ``p50`` always
    among them, ``max`` last; ``alpha``: the relative error of the quantiles (and the
    relative width of a bucket); ``rows``: rows seen; ``total_weight``: Σw over them;
    ``weighted``: the weights were not all 1 (the y axis then says "weight")."""

    label: str
    buckets: tuple[tuple[float, float, float], ...]
    quantiles: tuple[tuple[str, float], ...]
    alpha: float
    rows: int
    total_weight: float
    minimum: float
    maximum: float
    weighted: bool = False
    collapsed: bool = False
    model: str | None = None

    @classmethod
    def from_sketch(cls, sketch: QuantileSketch, label: str, *, model: str | None = None,
                    levels: Iterable[float] = DEFAULT_LEVELS,
                    weighted: bool | None = None) -> Histogram:
        """From a sketch of the per-row values of loss ``label``. ``levels``: the quantiles
        to mark (0.5 is always added, and the maximum). ``weighted``: None guesses it from
        the sketch (the total weight differs from the row count)."""
        total = float(sketch.total_weight())
        if weighted is None:
            weighted = total != sketch.rows
        qs: list[tuple[str, float]] = []
        if sketch.max >= sketch.min:
            wanted = sorted({0.5, *(float(q) for q in levels)} - {1.0})
            qs = [(quantile_name(q), float(sketch.quantile(q))) for q in wanted]
            qs.append(("max", float(sketch.max)))
        return cls(label=str(label), buckets=tuple(sketch.bucket_bounds()), quantiles=tuple(qs),
                   alpha=sketch.alpha, rows=sketch.rows, total_weight=total,
                   minimum=float(sketch.min), maximum=float(sketch.max), weighted=weighted,
                   collapsed=sketch.collapsed, model=model)

    def reason(self) -> str | None:
        """Why there is nothing to draw, or None."""
        if not self.buckets or self.maximum < self.minimum or self.total_weight <= 0:
            return f"{printable(self.label)}: no row with a value (and a positive weight)"
        if not (math.isfinite(self.minimum) and math.isfinite(self.maximum)):
            return f"{printable(self.label)}: the values are not finite"
        return None

    def quantile(self, name: str) -> float:
        return dict(self.quantiles)[name]

    @property
    def median(self) -> float:
        return self.quantile("p50")

    @property
    def zero_weight(self) -> float:
        return sum(w for lo, hi, w in self.buckets if lo == hi == 0.0)

    @property
    def positive_floor(self) -> float:
        """The smallest positive value, or a lower bound of it (for a log axis)."""
        if self.minimum > 0:
            return self.minimum
        for lo, hi, _ in self.buckets:
            if hi > 0:
                return max(lo, hi / 10.0) if lo > 0 else hi / 10.0
        return math.nan


@dataclass(frozen=True)
class ReliabilityBin:
    """One non-empty confidence bin: its edges, Σw (rows when unweighted), the mean
    confidence and the observed accuracy (weighted means)."""

    index: int
    low: float
    high: float
    weight: float
    confidence: float
    accuracy: float

    @property
    def gap(self) -> float:
        return self.accuracy - self.confidence


@dataclass(frozen=True)
class Reliability:
    """A reliability diagram's data: the non-empty bins, ECE (l1) and MCE (max)."""

    label: str
    task: str
    bins: int
    table: tuple[ReliabilityBin, ...]
    ece: float
    mce: float
    rows: int
    weighted: bool = False
    model: str | None = None

    @classmethod
    def from_calibration(cls, cal: CalibrationError, label: str = "calibration", *,
                         model: str | None = None, weighted: bool | None = None) -> Reliability:
        """From a calibration state (:meth:`~CalibrationError.bin_table`, exact; the means
        rounded once)."""
        from losscli.stats.exact import fraction_to_float

        exact = cal.bin_table()
        table = [ReliabilityBin(index, float(cal.edges[index]), float(cal.edges[index + 1]),
                                fraction_to_float(w), fraction_to_float(c / w),
                                fraction_to_float(a / w)) for index, w, c, a in exact]
        if weighted is None:  # unweighted: every bin weight a whole count, summing to the rows
            weighted = not (sum(w for _, w, _, _ in exact) == cal.rows
                            and all(w.denominator == 1 for _, w, _, _ in exact))
        return cls(label=str(label), task=cal.task, bins=cal.bins, table=tuple(table),
                   ece=cal.result("l1"), mce=cal.result("max"), rows=cal.rows,
                   weighted=weighted, model=model)

    def reason(self) -> str | None:
        if not self.table:
            return f"{printable(self.label)}: no row with a positive weight to calibrate"
        return None


@dataclass(frozen=True)
class GroupBar:
    """One group: its label, value, interval (None when undefined) and a note (why the
    interval is missing, "new", ...); ``failed``: a check failed for this group."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str | None = None
    failed: bool = False


@dataclass(frozen=True)
class GroupBars:
    """One loss across groups. ``overall``: the value over every row (drawn as ``┊``);
    ``level``/``method``: the intervals' confidence level and method, for the caption."""

    label: str
    bars: tuple[GroupBar, ...]
    overall: float | None = None
    level: float | None = None
    method: str | None = None
    higher_is_better: bool = False
    model: str | None = None

    @classmethod
    def of(cls, label: str, rows: Iterable[Sequence[Any]], **options: Any) -> GroupBars:
        """From rows of ``(label, value, low, high)`` (low/high None: no interval)."""
        bars = []
        for row in rows:
            name, value, low, high = ([*list(row), None, None])[:4]
            bars.append(GroupBar(str(name), _opt_float(value), _opt_float(low), _opt_float(high)))
        return cls(str(label), tuple(bars), **options)

    @classmethod
    def from_report(cls, doc: dict[str, Any], loss: str) -> GroupBars:
        """From a report dict with ``groups`` (the shape in :mod:`losscli.html`): the entry
        of loss ``loss`` (its label) in every group, and the overall value."""
        def entry(losses: Iterable[dict[str, Any]]) -> dict[str, Any] | None:
            return next((x for x in losses if x.get("label", x.get("name")) == loss), None)

        overall = entry(doc.get("losses", ())) or {}
        bars = []
        level = method = None
        for group in doc.get("groups", ()):
            found = entry(group.get("losses", ()))
            if found is None:
                continue
            interval = found.get("interval") or {}
            level = interval.get("level", level)
            method = interval.get("method", method)
            checks = group.get("checks") or ()
            failed = (any(c.get("status") == "fail" and c.get("label", c.get("name")) == loss
                          for c in checks) if checks else group.get("passed") is False)
            bars.append(GroupBar(group_label(group), _opt_float(found.get("value")),
                                 _opt_float(interval.get("low")), _opt_float(interval.get("high")),
                                 interval.get("reason") or group.get("note"), failed))
        return cls(loss, tuple(bars), overall=_opt_float(overall.get("value")), level=level,
                   method=method, higher_is_better=bool(overall.get("higher_is_better", False)))

    def reason(self) -> str | None:
        if not any(b.value is not None and math.isfinite(b.value) for b in self.bars):
            return f"{printable(self.label)}: no group with a value"
        return None


def group_label(group: dict[str, Any]) -> str:
    """``col=value, col2=value`` for a group of a report dict (``key``: column → value;
    null is its own group, shown as ``(null)``: grouping.key_text)."""
    from losscli.grouping import NULL_KEY, key_text

    key = group.get("key")
    if isinstance(key, dict):
        return key_text(list(key), tuple(key.values()))
    return str(key if key is not None else group.get("label", NULL_KEY))


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


Plottable = Union[Histogram, Reliability, GroupBars]


# ---------------------------------------------------------------------------------------
# axes

def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is ≥ raw."""
    if not raw > 0 or not math.isfinite(raw):
        return 1.0
    exp = math.floor(math.log10(raw))
    for m in (1.0, 2.0, 2.5, 5.0, 10.0):
        step = m * 10.0**exp
        if step >= raw * (1 - 1e-12):
            return step
    return 10.0 ** (exp + 1)


def _round_tick(value: float, step: float) -> float:
    digits = max(0, 1 - math.floor(math.log10(step)))
    return round(value, digits) + 0.0


def nice_ticks(low: float, high: float, count: int) -> list[float]:
    """Round numbers (multiples of 1, 2, 2.5 or 5 × 10^k) within [low, high], about
    ``count`` of them (at least two when low < high)."""
    if not high > low:
        return [low]
    count = max(1, count)
    step = _nice_step((high - low) / count)
    while True:
        first = math.ceil(low / step - 1e-9)
        last = math.floor(high / step + 1e-9)
        if last - first >= 1 or step <= (high - low) * 1e-9:
            break
        step = _nice_step(step / 2.1)
    return [_round_tick(k * step, step) for k in range(first, last + 1)]


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 1.5, 2, 2.5, 3, 4, 5, 6, 8 × 10^k that is ≥ value (> 0)."""
    if not value > 0:
        return 1.0
    exp = math.floor(math.log10(value))
    for m in (1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        top = m * 10.0**exp
        if top >= value * (1 - 1e-12):
            return _round_tick(top, 10.0 ** (exp - 1))
    return 10.0 ** (exp + 1)


@dataclass(frozen=True)
class HistogramAxis:
    """The x axis shared by one or several histograms: [low, high], linear or log, and the
    sentence that says which rule chose it."""

    low: float
    high: float
    log: bool
    rule: str

    @classmethod
    def of(cls, hists: Sequence[Histogram]) -> HistogramAxis:
        hs = [h for h in hists if h.reason() is None]
        lo = min(h.minimum for h in hs)
        hi = max(h.maximum for h in hs)
        medians = [h.median for h in hs]
        if lo < 0:
            return cls(lo, hi, False, "linear x axis (negative values)")
        if min(medians) <= 0:
            return cls(lo, hi, False, "linear x axis (p50 = 0)")
        ratio = hi / min(medians)
        shown = format(ratio, ",.0f") if ratio >= 10 else format(ratio, ".3g")
        if ratio > HEAVY_TAIL:
            floor = min(h.positive_floor for h in hs)
            return cls(floor, hi, True,
                       f"log x axis: heavy tail, max / p50 = {shown} > {HEAVY_TAIL:g}")
        return cls(lo, hi, False, f"linear x axis: max / p50 = {shown} ≤ {HEAVY_TAIL:g}")

    @property
    def degenerate(self) -> bool:
        return not self.high > self.low

    def position(self, value: float) -> float:
        """Where ``value`` lies on the axis, 0 at ``low`` and 1 at ``high`` (not clipped;
        -inf for values ≤ 0 on a log axis)."""
        if self.degenerate:
            return 0.5
        if self.log:
            if value <= 0:
                return -math.inf
            return (math.log10(value) - math.log10(self.low)) / (
                math.log10(self.high) - math.log10(self.low))
        return (value - self.low) / (self.high - self.low)

    def ticks(self, count: int) -> list[tuple[float, str]]:
        """About ``count`` round ticks within the axis: (value, text)."""
        if self.degenerate:
            return [(self.low, tick_text(self.low))]
        if not self.log:
            return [(v, tick_text(v)) for v in nice_ticks(self.low, self.high, count)]
        first = math.ceil(math.log10(self.low) - 1e-9)
        last = math.floor(math.log10(self.high) + 1e-9)
        every = max(1, math.ceil((last - first + 1) / max(1, count)))
        out = []
        for k in range(first, last + 1):
            if (k - first) % every:
                continue
            text = tick_text(float(10.0**k)) if -3 <= k <= 4 else f"1e{k}"
            out.append((10.0**k, text))
        return out


def bin_weights(h: Histogram, axis: HistogramAxis, columns: int) -> np.ndarray:
    """The weight of ``h`` in each of ``columns`` equal columns of ``axis``: every bucket
    (clipped to [min, max]) spread uniformly over its width in the axis' scale; point
    masses (and buckets narrower than 1e-9 column) go to one column. On a log axis the
    zeros are left out (:attr:`Histogram.zero_weight`)."""
    n = max(1, int(columns))
    out = np.zeros(n)
    if axis.degenerate:
        out[n // 2] = sum(w for _, _, w in h.buckets)
        return out
    starts, ends, weights = [], [], []
    for lo, hi, w in h.buckets:
        a = min(max(lo, h.minimum), h.maximum)
        b = min(max(hi, h.minimum), h.maximum)
        if axis.log:
            if b <= 0:
                continue
            a = max(a, axis.low)
        starts.append(axis.position(a) * n)
        ends.append(axis.position(b) * n)
        weights.append(w)
    if not weights:
        return out
    ua, ub, wt = np.array(starts), np.array(ends), np.array(weights)
    point = (ub - ua) < 1e-9
    if point.any():
        cols = np.clip(np.floor(ua[point]).astype(np.int64), 0, n - 1)
        np.add.at(out, cols, wt[point])
    spread = ~point
    if spread.any():
        sa, sb, ws = ua[spread][:, None], ub[spread][:, None], wt[spread][:, None]
        edges = np.arange(n + 1, dtype=np.float64)[None, :]
        cdf = (ws * np.clip((edges - sa) / (sb - sa), 0.0, 1.0)).sum(axis=0)
        out += np.diff(cdf)
    return np.maximum(out, 0.0)


def _column(axis: HistogramAxis, value: float, n: int) -> int:
    pos = axis.position(value)
    if not math.isfinite(pos):
        return 0
    return min(n - 1, max(0, math.floor(pos * n)))


def _place_labels(labels: Sequence[tuple[int, str]], width: int, gap: int = 1
                  ) -> list[tuple[int, str]]:
    """Labels centred on their columns, those that would overlap a placed one dropped:
    (start column, text)."""
    placed: list[tuple[int, str]] = []
    end = -gap - 1
    for col, text in labels:
        w = cells(text)
        start = min(max(0, col - w // 2), width - w)
        if start < 0:
            continue
        if start >= end + gap:
            placed.append((start, text))
            end = start + w
    return placed


def _stagger(tags: Sequence[tuple[int, str]], width: int) -> list[list[tuple[int, str]]]:
    """Tags ``▲name`` at their columns, on as few rows as needed so none overlap (a tag
    that would run past the right edge ends at its column: ``name▲``)."""
    rows: list[list[tuple[int, str, int]]] = []
    for col, name in tags:
        text = f"▲{name}"
        start = col
        if col + cells(text) > width:
            text = f"{name}▲"
            start = col - cells(text) + 1
        start = max(0, start)
        end = start + cells(text)
        for row in rows:
            if all(end + 1 <= s or start >= e + 1 for s, _, e in row):
                row.append((start, text, end))
                break
        else:
            rows.append([(start, text, end)])
    return [[(s, t) for s, t, _ in row] for row in rows]


def _y_axis_text(top: float, share: bool) -> str:
    return f"{tick_text(top * 100)}%" if share else tick_text(top)


# ---------------------------------------------------------------------------------------
# histograms

def histogram(h: Histogram, width: int = 80) -> Picture | None:
    """The distribution of one per-row loss (see the module doc); None when empty."""
    if h.reason() is not None:
        return None
    return _histograms([h], width)


def overlay_histograms(hists: Sequence[Histogram], width: int = 80) -> Picture | None:
    """Several models' distributions of one loss on one axis, as the share of each model's
    rows per column, one marker per model, a legend and each model's quantiles."""
    hs = [h for h in hists if h.reason() is None]
    if not hs:
        return None
    return _histograms(hs, width, overlay=len(hists) > 1)


def _series_name(obj: Histogram | Reliability, i: int) -> str:
    return printable(obj.model if obj.model is not None else f"model {i + 1}")


def _histograms(hs: Sequence[Histogram], width: int, overlay: bool = False) -> Picture:
    width = _clamp_width(width)
    axis = HistogramAxis.of(hs)
    first = hs[0]
    label = printable(first.label)
    lines: list[Line] = []
    weighted = any(h.weighted for h in hs)
    unit = "weight" if weighted else "rows"
    title = [f"{label}: distribution of the per-row loss"]
    if overlay:
        title.append(f"{len(hs)} models")
    else:
        if first.model is not None:
            title.append(f"model: {printable(first.model)}")
        title.append(f"{format_count(first.rows)} rows"
                     + (f", total weight {format_count(first.total_weight)}" if weighted else ""))
    for i, text in enumerate(pack(title, width, " · ")):
        lines.append(_text(text, "bold" if i == 0 else None))
    notes = [axis.rule]
    if axis.log:
        for i, h in enumerate(hs):
            if h.zero_weight:
                who = f"{_series_name(h, i)}: " if overlay else ""
                notes.append(f"{who}{format_count(h.zero_weight)} {unit} at 0, not on the log axis")
    if any(h.collapsed for h in hs):
        notes.append("lowest buckets collapsed: quantiles below them lose the α bound")
    lines += [_text(t, "dim") for t in pack(notes, width, " · ")]

    if axis.degenerate:
        value = format_number(axis.low)
        lines += [_text(t) for t in pack([f"every row has the value {value}:",
                                          "nothing to spread over an axis"], width, " ")]
        lines += _quantile_key(hs, width, overlay)
        return Picture("histogram", lines)

    height = 12 if width >= 120 else 10
    gutter = 3  # the y axis' top label, a space, the axis: it only grows, so this ends
    while True:
        n = width - gutter - 2  # the axis character and one column spare on the right
        weights = [bin_weights(h, axis, n) for h in hs]
        values = ([w / max(h.total_weight, 1e-300) for w, h in zip(weights, hs)] if overlay
                  else weights)
        top = _nice_ceiling(max(float(v.max()) for v in values))
        top_text = _y_axis_text(top, overlay)
        if len(top_text) + 2 <= gutter:
            break
        gutter = len(top_text) + 2
    lines.append(_text(" " + ("share of rows" if overlay else unit), "dim"))
    canvas = _Canvas(width, height)
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
                    canvas.put(height - 1 - r, x0 + c, _BLOCKS[fill], "cyan")
    else:
        shared = False
        for i, v in enumerate(values):
            mark = SERIES_MARKS[i % len(SERIES_MARKS)]
            style = SERIES_STYLES[i % len(SERIES_STYLES)]
            for c in range(n):
                if v[c] <= 0:
                    continue
                r = min(height - 1, max(0, math.ceil(v[c] / top * height) - 1))
                shared |= _put_mark(canvas, height - 1 - r, x0 + c, mark, style)
    lines += canvas.lines()
    # x axis, ticks, tick labels
    ticks = axis.ticks(max(2, n // 12))
    tick_cols = [(_column(axis, v, n), text) for v, text in ticks]
    placed = _place_labels([(x0 + c, t) for c, t in tick_cols], width)
    axis_canvas = _Canvas(width, 2)
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
        for row in _stagger(tags, width):
            tag_canvas = _Canvas(width, 1)
            for start, text in row:
                tag_canvas.put(0, start, text, "red" if "max" in text else "yellow")
            lines += tag_canvas.lines()
    scale = " (log scale)" if axis.log else ""
    xtitle = f"{label} per row{scale}"
    pad = max(0, x0 + (n - cells(xtitle)) // 2)
    lines += [_text(" " * pad + t, "dim") if cells(xtitle) <= width - pad else _text(t, "dim")
              for t in wrap(xtitle, width)]
    if overlay:
        legend = [f"{SERIES_MARKS[i % len(SERIES_MARKS)]} {_series_name(h, i)}"
                  for i, h in enumerate(hs)]
        if shared:
            legend.append(f"{SHARED_MARK} several models")
        lines += [_legend_line(text, hs) for text in pack(legend, width, "   ")]
    lines += _quantile_key(hs, width, overlay)
    return Picture("histogram", lines)


def _put_mark(canvas: _Canvas, row: int, col: int, mark: str, style: str) -> bool:
    """A series' marker; on a cell that holds another series' marker, the shared one.
    Returns whether it was shared."""
    there = canvas.get(row, col)
    if there != mark and (there in SERIES_MARKS or there == SHARED_MARK):
        canvas.put(row, col, SHARED_MARK, "bold")
        return True
    canvas.put(row, col, mark, style)
    return False


def _legend_line(text: str, series: Sequence[Any]) -> Line:
    """A legend line with each marker in its series' style."""
    line: Line = []
    for ch in text:
        style = None
        if ch in SERIES_MARKS:
            i = SERIES_MARKS.index(ch)
            style = SERIES_STYLES[i % len(SERIES_STYLES)]
        if line and line[-1][1] == style:
            line[-1] = (line[-1][0] + ch, style)
        else:
            line.append((ch, style))
    return line


def _alpha_text(alpha: float) -> str:
    return f"{alpha * 100:g} %"


def _quantile_key(hs: Sequence[Histogram], width: int, overlay: bool) -> list[Line]:
    alphas = sorted({h.alpha for h in hs})
    if len(alphas) == 1:
        bound = [f"quantiles within ±{_alpha_text(alphas[0])} (relative) of the exact order "
                 "statistics", f"sketch α = {alphas[0]:g}", "max exact"]
    else:
        bound = ["quantiles within each model's sketch α: " + ", ".join(
            f"{_series_name(h, i)} ±{_alpha_text(h.alpha)}" for i, h in enumerate(hs)),
            "max exact"]
    lines: list[Line] = []
    if not overlay:
        items = [f"{name} = {format_number(value)}" for name, value in hs[0].quantiles]
        lines += [_text(t) for t in pack(items, width, "   ")]
    else:
        names = [name for name, _ in hs[0].quantiles]
        header = ["model", *names]
        rows = [[f"{SERIES_MARKS[i % len(SERIES_MARKS)]} {_series_name(h, i)}",
                 *(format_number(dict(h.quantiles).get(q)) for q in names)]
                for i, h in enumerate(hs)]
        table = _table(header, rows, width, right=set(range(1, len(header))))
        if table is not None:
            lines += table
        else:
            for row in rows:
                items = [f"{q} = {v}" for q, v in zip(names, row[1:])]
                lines += [_text(t) for t in pack([row[0] + ":", *items], width, "   ")]
    lines += [_text(t, "dim") for t in pack(bound, width, " · ")]
    return lines


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], width: int,
           right: Iterable[int] = ()) -> list[Line] | None:
    """A plain table, columns separated by two spaces; None if it does not fit ``width``."""
    right = set(right)
    widths = [max(cells(r[i]) for r in [header, *rows]) for i in range(len(header))]
    if sum(widths) + 2 * (len(widths) - 1) > width:
        return None

    def fmt(row: Sequence[str]) -> str:
        parts = []
        for i, (text, w) in enumerate(zip(row, widths)):
            pad = " " * (w - cells(text))
            parts.append(pad + text if i in right else text + pad)
        return "  ".join(parts).rstrip()

    return [_text(fmt(header), "bold"), *(_text(fmt(r)) for r in rows)]


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
    legend = [f"{SERIES_MARKS[i % len(SERIES_MARKS)]} {_series_name(r, i)}"
              for i, r in enumerate(rs)]
    if shared:
        legend.append(f"{SHARED_MARK} several models")
    legend.append("· perfect calibration")
    out = [_legend_line(t, rs) for t in pack(legend, width, "   ")]
    header = ["model", "ECE", "MCE", "rows"]
    rows = [[f"{SERIES_MARKS[i % len(SERIES_MARKS)]} {_series_name(r, i)}",
             format_number(r.ece), format_number(r.mce), format_count(r.rows)]
            for i, r in enumerate(rs)]
    table = _table(header, rows, width, right={1, 2, 3})
    if table is not None:
        return out + table
    for row in rows:
        out += [_text(t) for t in pack([row[0] + ":", f"ECE = {row[1]}", f"MCE = {row[2]}",
                                        f"rows = {row[3]}"], width, "   ")]
    return out


def _reliability(rs: Sequence[Reliability], width: int, overlay: bool = False) -> Picture:
    width = _clamp_width(width)
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
        lines.append(_text(text, "bold" if i == 0 else None))
    if not overlay:
        items = [f"ECE = {format_number(first.ece)}", f"MCE = {format_number(first.mce)}",
                 f"{first.bins} equal-width bins"]
        lines += [_text(t) for t in pack(items, width, "   ")]

    gutter = 5  # "0.75" and the axis
    bins = max(r.bins for r in rs)
    avail = width - gutter - 2
    per_bin = max(1, min(avail // bins, 4))
    plot_w = per_bin * bins if per_bin * bins <= avail else avail
    height = 13  # rows for accuracy 0, 1/12, ..., 1: 0.25, 0.5, 0.75 fall on rows
    canvas = _Canvas(gutter + plot_w + 1, height)
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
            shared |= _put_mark(canvas, height - 1 - ra, gutter + c, mark, style)
    plot = [_text(" accuracy", "dim"), *canvas.lines()]
    # axis and ticks
    axis = _Canvas(gutter + plot_w + 2, 2)
    axis.put(0, gutter - 1, "└" + "─" * plot_w, "dim")
    ticks = [(0.0, "0"), (0.25, "0.25"), (0.5, "0.5"), (0.75, "0.75"), (1.0, "1")]
    cols = [(gutter + min(plot_w, round(x * plot_w)), t) for x, t in ticks]
    for c, _ in cols:
        axis.put(0, c, "┬", "dim")
    for start, text in _place_labels(cols, gutter + plot_w + 2):
        axis.put(1, start, text, "dim")
    plot += axis.lines()
    xtitle = "confidence (mean predicted probability)" if first.task == "binary" else \
        "confidence (top-label probability)"
    plot.append(_text(" " * max(0, gutter + (plot_w - len(xtitle)) // 2) + xtitle, "dim"))
    if not overlay:  # rows per bin: a strip of 3 lines under the diagram
        strip_h = 3
        strip = _Canvas(gutter + plot_w + 1, strip_h)
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
                    strip.put(strip_h - 1 - rr, c0, _BLOCKS[fill] * (c1 - c0), "blue")
        plot += strip.lines()
        plot.append(_text(" " * gutter + f"{unit} per bin (tallest: {format_count(peak)})",
                          "dim"))
    # the table: beside the diagram when it fits, else below
    if overlay:
        return Picture("reliability", lines + plot + _overlay_key(rs, width, shared))
    header, rows = _bin_table(first)
    legend = [_text(t, "dim") for t in pack(["● bin (mean confidence, accuracy)", "│ gap",
                                             "· perfect calibration"], width, "   ")]
    left_w = max(cells("".join(t for t, _ in ln)) for ln in plot)
    table = _table(header, rows, width, right={1, 2, 3, 4}) or []
    if not table:  # narrower than any table: one bin per line
        table = [_text(t) for row in rows for t in pack(
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
    return Picture("reliability", [*lines, *plot, *legend, _text(""), *table])


# ---------------------------------------------------------------------------------------
# per-group bars

def group_bars(g: GroupBars, width: int = 80) -> Picture | None:
    """A bar per group with its interval and its numbers in full (see the module doc);
    None when no group has a value."""
    if g.reason() is not None:
        return None
    width = _clamp_width(width)
    label = printable(g.label)
    lines: list[Line] = []
    title = [f"{label} by group", f"{len(g.bars)} group{'s' if len(g.bars) != 1 else ''}"]
    if g.model is not None:
        title.insert(1, f"model: {printable(g.model)}")
    title.append("higher is better" if g.higher_is_better else "lower is better")
    for i, text in enumerate(pack(title, width, " · ")):
        lines.append(_text(text, "bold" if i == 0 else None))
    key = ["█ value"]
    if any(b.low is not None and b.high is not None for b in g.bars):
        level = f"{format_level(g.level, sep=' ')} " if g.level is not None else ""
        method = f" ({g.method})" if g.method else ""
        key.append(f"├─●─┤ {level}interval{method}")
    if g.overall is not None:
        key.append(f"┊ overall = {format_number(g.overall)}")
    if any(b.failed for b in g.bars):
        key.append("✗ check failed")
    lines += [_text(t, "dim") for t in pack(key, width, "   ")]

    numbers: list[list[str]] = []
    for b in g.bars:
        items = ["n/a" if b.value is None else format_number(b.value)]
        if b.low is not None and b.high is not None:
            items += [f"[{format_number(b.low)},", f"{format_number(b.high)}]"]
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
    head = _Canvas(width, 2)
    tick_cols = [(x0 + col(t), tick_text(t)) for t in ticks]
    placed = _place_labels(tick_cols, x0 + bar_w + 1)
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
        canvas = _Canvas(width, n_lines)
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


def _bar_with_interval(canvas: _Canvas, b: GroupBar, x0: int, zero: int,
                       pos: Any, col: Any, style: str) -> None:
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
            canvas.put(0, x0 + zero + full, _HBLOCKS[part], style)
        elif full == 0 and not interval:
            canvas.put(0, x0 + zero, "▏", style)
    else:
        canvas.put(0, x0 + col(end), "█" * max(1, zero - col(end)), style)
    if interval and b.low is not None and b.high is not None:
        cl, ch = col(b.low), col(b.high)
        if ch > cl:
            canvas.put(0, x0 + cl, "├" + "─" * (ch - cl - 1) + "┤", "yellow")
        canvas.put(0, x0 + col(value), "●", "bold yellow")


# ---------------------------------------------------------------------------------------
# from an evaluation: what ``--plot`` and ``--html`` draw

def _with_report_quantiles(h: Histogram, distribution: dict[str, Any] | None) -> Histogram:
    """``h`` marking the quantiles the report lists (its ``--quantile-levels`` too), with
    the report's very numbers (the same sketch's): the picture and the table agree."""
    listed = (distribution or {}).get("quantiles") or {}
    pairs = tuple((str(name), float(value)) for name, value in listed.items()
                  if value is not None)
    if not pairs or "p50" not in dict(pairs):
        return h
    return replace(h, quantiles=pairs)


def _calibration_states(report: Any) -> list[tuple[str, CalibrationError]]:
    """The calibration states behind a report: those of its ece/mce losses (one per
    distinct binning; ``ece, mce`` when both bin alike), else the one the plan kept for
    pictures (``Cell.calibration``)."""
    from losscli.stats.calibration import CalibrationError

    cell = report.cell
    found: dict[tuple[int, str], tuple[list[str], CalibrationError]] = {}
    for res, agg in zip(report.losses, cell.losses):
        state = getattr(agg, "state", None)
        if isinstance(state, CalibrationError):
            labels, _ = found.setdefault((state.bins, state.task), ([], state))
            labels.append(res.label)
    out = [(", ".join(labels), state) for labels, state in found.values()]
    if not out and getattr(cell, "calibration", None) is not None:
        out.append(("calibration", cell.calibration))
    return out


def report_pictures(report: Any, doc: dict[str, Any] | None = None, *,
                    model: str | None = None) -> tuple[list[Plottable], list[str]]:
    """What to draw for a :class:`~losscli.report.Report` (its ``cell`` holds the states):
    a histogram per loss with a quantile sketch (``--distribution``), a reliability
    diagram per calibration state (:func:`_calibration_states`), and, when the report dict
    ``doc`` (default ``report.to_dict()``; ``CheckResult.to_dict()`` for ``check``, whose
    groups carry their verdicts) has ``groups``, a :class:`GroupBars` per loss. Returns
    (pictures, the labels of the losses that have none: no per-row values, e.g. rmse)."""
    cell = getattr(report, "cell", None)
    if cell is None:
        return [], [res.label for res in report.losses]
    items: list[Plottable] = []
    skipped: list[str] = []
    rels = _calibration_states(report)
    calibrated = {label for names, _ in rels for label in names.split(", ")}
    for i, res in enumerate(report.losses):
        sketch = None if cell.sketches is None else cell.sketches[i]
        if sketch is not None:
            items.append(_with_report_quantiles(
                Histogram.from_sketch(sketch, res.label, model=model), res.distribution))
        elif res.label not in calibrated:
            skipped.append(res.label)
    items += [Reliability.from_calibration(state, label, model=model) for label, state in rels]
    if doc is None and hasattr(report, "to_dict"):
        doc = report.to_dict()
    if doc and doc.get("groups"):
        for res in report.losses:
            bars = GroupBars.from_report(doc, res.label)
            if bars.bars:
                items.append(replace(bars, model=model) if model is not None else bars)
    return items, skipped


def comparison_pictures(reports: Sequence[Any], names: Sequence[str]
                        ) -> tuple[list[Plottable | list[Plottable]], list[str]]:
    """``compare``: the models overlaid — per loss with sketches one list of histograms
    (one per model), one list of reliability data per calibration state, and per model
    the group bars of its report (when it has groups). Returns (pictures, skipped)."""
    per_model = [report_pictures(r, model=n) for r, n in zip(reports, names)]
    if not per_model:
        return [], []
    items: list[Plottable | list[Plottable]] = []
    firsts = per_model[0][0]
    for k, first in enumerate(firsts):
        if isinstance(first, GroupBars):
            continue
        series = [pics[k] for pics, _ in per_model if k < len(pics)
                  and type(pics[k]) is type(first)]
        items.append(series if len(series) > 1 else first)
    for pics, _ in per_model:
        items += [p for p in pics if isinstance(p, GroupBars)]
    return items, per_model[0][1]


# ---------------------------------------------------------------------------------------
# dispatch and printing

def picture(item: Plottable | Sequence[Plottable], width: int = 80) -> Picture | None:
    """The picture of one input (or an overlay of a sequence of histograms or of
    reliability data); None when there is nothing to draw."""
    if isinstance(item, Histogram):
        return histogram(item, width)
    if isinstance(item, Reliability):
        return reliability(item, width)
    if isinstance(item, GroupBars):
        return group_bars(item, width)
    items = list(item)
    if items and all(isinstance(x, Histogram) for x in items):
        return overlay_histograms(items, width)  # type: ignore[arg-type]
    if items and all(isinstance(x, Reliability) for x in items):
        return overlay_reliability(items, width)  # type: ignore[arg-type]
    raise TypeError(f"cannot draw {type(item).__name__}: expected Histogram, Reliability, "
                    "GroupBars or a sequence of histograms or of reliability data")


def _reason(item: Plottable | Sequence[Plottable]) -> str | None:
    if isinstance(item, (Histogram, Reliability, GroupBars)):
        return item.reason()
    reasons = [x.reason() for x in item]
    return None if any(r is None for r in reasons) else "; ".join(r for r in reasons if r)


def nothing_to_plot(items: Sequence[Plottable | Sequence[Plottable]] = (),
                    skipped: Sequence[str] = ()) -> str | None:
    """None when at least one of ``items`` can be drawn; else the one line that says why
    there is nothing to plot: each empty picture's reason, and ``skipped`` — the losses
    that have no picture at all (a mean-only loss such as rmse has no per-row values)."""
    if any(_reason(item) is None for item in items):
        return None
    parts = [r for r in (_reason(item) for item in items) if r]
    if skipped:
        names = ", ".join(printable(s) for s in skipped)
        parts.append(f"{names}: no per-row values to draw")
    why = "; ".join(parts) if parts else "no loss selected"
    return (f"nothing to plot: {why}. --plot draws histograms of per-row losses, reliability "
            "diagrams of a classifier's probabilities and, with --group-by, a bar per group.")


def terminal_width(out: IO[str] | None = None) -> int:
    """The width to draw at on ``out``: the terminal's columns (clamped to
    [MIN_WIDTH, MAX_WIDTH]) on a terminal; ``COLUMNS`` or 80 otherwise."""
    out = out or sys.stdout
    columns = None
    try:
        if hasattr(out, "isatty") and out.isatty():
            columns = os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError, AttributeError):
        columns = None
    if columns is None:
        try:
            columns = int(os.environ.get("COLUMNS", ""))
        except ValueError:
            columns = 80
    return _clamp_width(columns or 80)


def show(pictures: Picture | Sequence[Picture | None], out: IO[str] | None = None) -> None:
    """Print pictures on ``out`` (default stdout), a blank line between them: styled with
    rich on a terminal, plain text when ``out`` is not one or ``NO_COLOR`` is set."""
    from losscli.present.text import is_terminal

    out = out or sys.stdout
    pics = [pictures] if isinstance(pictures, Picture) else [p for p in pictures if p is not None]
    if not pics:
        return
    if not is_terminal(out):
        out.write("\n".join(p.plain() for p in pics))
        out.flush()
        return
    from rich.console import Console
    from rich.text import Text

    width = max(p.width for p in pics)
    try:
        width = max(width, os.get_terminal_size(out.fileno()).columns)
    except (OSError, ValueError, AttributeError):
        pass
    console = Console(file=out, force_terminal=True, color_system="auto", highlight=False,
                      width=width, soft_wrap=True)
    for k, pic in enumerate(pics):
        if k:
            console.print()
        for line in pic.lines:
            text = Text(no_wrap=True, overflow="ignore")
            for chunk, style in line:
                text.append(chunk, style=style or "")
            text.rstrip()
            console.print(text, soft_wrap=True, crop=False)
    out.flush()


def draw(items: Sequence[Plottable | Sequence[Plottable]], out: IO[str] | None = None, *,
         width: int | None = None, skipped: Sequence[str] = ()) -> str | None:
    """Draw every item that can be drawn on ``out`` at ``width`` (default: the terminal's,
    :func:`terminal_width`). Returns None, or :func:`nothing_to_plot`'s message when
    nothing could be drawn (and draws nothing)."""
    message = nothing_to_plot(items, skipped)
    if message is not None:
        return message
    w = terminal_width(out) if width is None else width
    show([picture(item, w) for item in items], out)
    return None
