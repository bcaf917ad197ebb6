"""Picture models: the numbers a picture shows, computed once from a report and drawn by
:mod:`losscli.present.terminal` (text) and :mod:`losscli.present.svg` (the page).

Small frozen dataclasses built from the stats objects — :class:`Histogram` from a
:class:`~losscli.stats.sketch.QuantileSketch` (or :class:`Counts` when a per-row loss takes
only a few distinct values: 0/1 losses such as zero_one or accuracy), :class:`Reliability`
from a :class:`~losscli.stats.calibration.CalibrationError`, :class:`GroupBars` from rows of
(label, value, low, high) or a report dict. :func:`report_pictures` turns a
:class:`~losscli.report.Report` into them; :func:`comparison_pictures` does it for the models
of ``compare`` (overlaid); :func:`nothing_to_plot` says why there is nothing to draw.
No drawing here: this module imports neither the terminal nor the SVG drawings.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Union

from losscli.present.confusion import ConfusionMap, confusion_maps
from losscli.present.text import printable
from losscli.report import QUANTILES, quantile_name

if TYPE_CHECKING:
    from losscli.report import Report
    from losscli.stats.calibration import CalibrationError
    from losscli.stats.sketch import QuantileSketch

__all__ = [
    "DEFAULT_LEVELS",
    "Counts",
    "GroupBar",
    "GroupBars",
    "Histogram",
    "Plottable",
    "Reliability",
    "ReliabilityBin",
    "comparison_pictures",
    "group_label",
    "nothing_to_plot",
    "quantile_name",
    "reason_of",
    "report_pictures",
]

#: The quantile levels a histogram marks (besides the maximum): those every
#: ``--distribution`` reports (one definition: :data:`losscli.session.QUANTILES`).
DEFAULT_LEVELS = QUANTILES


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
class Counts:
    """A per-row loss that takes only a few distinct values — a 0/1 loss (zero_one,
    accuracy, ...: ``LossSpec.indicator``) — drawn as the weight (rows when unweighted) at
    each value instead of a histogram. ``values``: (value, weight) in increasing order."""

    label: str
    values: tuple[tuple[float, float], ...]
    rows: int
    total_weight: float
    weighted: bool = False
    model: str | None = None

    @classmethod
    def from_sketch(cls, sketch: QuantileSketch, label: str, *, model: str | None = None,
                    weighted: bool | None = None) -> Counts | None:
        """The counts of a 0/1 loss read off its sketch: the zeros exactly, and the rest at
        1 (the only other value a 0/1 loss takes). None when the sketch shows a value other
        than 0 and 1 (a minimum below 0, a maximum above 1, a positive bucket that does
        not hold 1, or collapsed buckets): the histogram is drawn then."""
        total = float(sketch.total_weight())
        if sketch.rows == 0 or total <= 0 or sketch.collapsed:
            return None
        if not (0.0 <= float(sketch.min) and float(sketch.max) <= 1.0):
            return None
        at: dict[float, float] = {}
        for lo, hi, w in sketch.bucket_bounds():
            if lo == hi == 0.0:
                at[0.0] = at.get(0.0, 0.0) + w
            elif lo < 1.0 <= hi:
                at[1.0] = at.get(1.0, 0.0) + w
            elif w > 0:
                return None
        if weighted is None:
            weighted = total != sketch.rows
        return cls(str(label), tuple(sorted(at.items())), sketch.rows, total,
                   weighted=weighted, model=model)

    def reason(self) -> str | None:
        if not self.values or self.total_weight <= 0:
            return f"{printable(self.label)}: no row with a value (and a positive weight)"
        return None


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
    interval is missing, "new", ...); ``failed``: a check failed for this group.
    ``status``/``reasons``: the group's own verdict on this loss as ``check`` decided it
    (its ``Verdict.to_dict()`` ``status`` and ``reasons``; None when not checked)."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    note: str | None = None
    failed: bool = False
    status: str | None = None
    reasons: tuple[str, ...] = ()


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
            bars.append(GroupBar(str(name), opt_float(value), opt_float(low), opt_float(high)))
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
            verdict = entry(checks) or {}  # the group's own verdict on this loss
            status = verdict.get("status")
            failed = status == "fail" if checks else group.get("passed") is False
            bars.append(GroupBar(group_label(group), opt_float(found.get("value")),
                                 opt_float(interval.get("low")), opt_float(interval.get("high")),
                                 interval.get("reason") or group.get("note"), failed,
                                 str(status) if status is not None else None,
                                 tuple(str(r) for r in verdict.get("reasons") or ())))
        return cls(loss, tuple(bars), overall=opt_float(overall.get("value")), level=level,
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


def opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


Plottable = Union[Histogram, Counts, Reliability, GroupBars]



def _with_report_quantiles(h: Histogram, distribution: dict[str, Any] | None) -> Histogram:
    """``h`` marking the quantiles the report lists (its ``--quantile-levels`` too), with
    the report's very numbers (the same sketch's): the picture and the table agree."""
    listed = (distribution or {}).get("quantiles") or {}
    pairs = tuple((str(name), float(value)) for name, value in listed.items()
                  if value is not None)
    if not pairs or "p50" not in dict(pairs):
        return h
    return replace(h, quantiles=pairs)


def _calibration_states(report: Report) -> list[tuple[str, CalibrationError]]:
    """The calibration states behind a report: those of its ece/mce losses (one per
    distinct binning; ``ece, mce`` when both bin alike), else the one the plan kept for
    pictures (``Cell.calibration``)."""
    from losscli.stats.calibration import CalibrationError

    cell = report.cell
    if cell is None:  # a report not drawn from a state (the API's, a baseline's)
        return []
    found: dict[tuple[int, str], tuple[list[str], CalibrationError]] = {}
    for res, agg in zip(report.losses, cell.losses):
        state = getattr(agg, "state", None)
        if isinstance(state, CalibrationError):
            labels, _ = found.setdefault((state.bins, state.task), ([], state))
            labels.append(res.label)
    out = [(", ".join(labels), state) for labels, state in found.values()]
    if not out and cell.calibration is not None:
        out.append(("calibration", cell.calibration))
    return out


def _indicator(name: str) -> bool:
    """Whether loss ``name``'s per-row values are 0/1 (its registry declaration says so)."""
    from losscli.errors import UsageError
    from losscli.registry import get_loss

    try:
        return bool(get_loss(name).indicator)
    except UsageError:  # an unregistered name (a hand-built report): draw a histogram
        return False


def report_pictures(report: Report, doc: dict[str, Any] | None = None, *,
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
            few = (Counts.from_sketch(sketch, res.label, model=model)
                   if _indicator(res.name) else None)
            items.append(few or _with_report_quantiles(
                Histogram.from_sketch(sketch, res.label, model=model), res.distribution))
        elif res.label not in calibrated:
            skipped.append(res.label)
    items += [Reliability.from_calibration(state, label, model=model) for label, state in rels]
    items += confusion_maps(report, model)  # type: ignore[arg-type]  # --confusion
    if doc is None and hasattr(report, "to_dict"):
        doc = report.to_dict()
    if doc and doc.get("groups"):
        for res in report.losses:
            bars = GroupBars.from_report(doc, res.label)
            if bars.bars:
                items.append(replace(bars, model=model) if model is not None else bars)
    return items, skipped


def comparison_pictures(reports: Sequence[Report], names: Sequence[str]
                        ) -> tuple[list[Plottable | list[Plottable]], list[str]]:
    """``compare``: the models overlaid — per loss with sketches one list of histograms
    (one per model), one list of reliability data per calibration state, and per model
    the group bars of its report (when it has groups) and its confusion heat maps
    (``--confusion``). Returns (pictures, skipped)."""
    per_model = [report_pictures(r, model=n) for r, n in zip(reports, names)]
    if not per_model:
        return [], []
    items: list[Plottable | list[Plottable]] = []
    firsts = per_model[0][0]
    for k, first in enumerate(firsts):
        if isinstance(first, GroupBars | ConfusionMap):  # each model's own, not overlaid
            continue
        series = [pics[k] for pics, _ in per_model if k < len(pics)
                  and type(pics[k]) is type(first)]
        items.append(series if len(series) > 1 else first)
    for pics, _ in per_model:
        items += [p for p in pics if isinstance(p, GroupBars | ConfusionMap)]
    return items, per_model[0][1]


def reason_of(item: Plottable | Sequence[Plottable]) -> str | None:
    if isinstance(item, (Histogram, Counts, Reliability, GroupBars, ConfusionMap)):
        return item.reason()
    reasons = [x.reason() for x in item]
    return None if any(r is None for r in reasons) else "; ".join(r for r in reasons if r)


def nothing_to_plot(items: Sequence[Plottable | Sequence[Plottable]] = (),
                    skipped: Sequence[str] = ()) -> str | None:
    """None when at least one of ``items`` can be drawn; else the one line that says why
    there is nothing to plot: each empty picture's reason, and ``skipped`` — the losses
    that have no picture at all (a mean-only loss such as rmse has no per-row values)."""
    if any(reason_of(item) is None for item in items):
        return None
    parts = [r for r in (reason_of(item) for item in items) if r]
    if skipped:
        names = ", ".join(printable(s) for s in skipped)
        parts.append(f"{names}: no per-row values to draw")
    why = "; ".join(parts) if parts else "no loss selected"
    return (f"nothing to plot: {why}. --plot draws histograms of per-row losses, reliability "
            "diagrams of a classifier's probabilities and, with --group-by, a bar per group.")

