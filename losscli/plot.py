"""Pictures of an evaluation — the one name for them: models in
:mod:`losscli.present.pictures`, axes in :mod:`losscli.present.axes`, the terminal drawing in
:mod:`losscli.present.terminal` (``--plot``), the SVG drawing in :mod:`losscli.present.svg`
(``--html``). This module gathers the public names of the models and the terminal drawing,
so ``from losscli import plot`` keeps working: ``plot.histogram(plot.Histogram.from_sketch(
sketch, "mse"), 80).plain()``."""

from __future__ import annotations

from losscli.present.axes import HEAVY_TAIL, HistogramAxis, bin_weights, nice_ticks, tick_text
from losscli.present.canvas import (
    MAX_WIDTH,
    MIN_WIDTH,
    Picture,
    pack,
    show,
    terminal_width,
    wrap,
)
from losscli.present.pictures import (
    DEFAULT_LEVELS,
    Counts,
    GroupBar,
    GroupBars,
    Histogram,
    Plottable,
    Reliability,
    ReliabilityBin,
    comparison_pictures,
    group_label,
    nothing_to_plot,
    quantile_name,
    report_pictures,
)
from losscli.present.terminal import (
    counts,
    draw,
    group_bars,
    histogram,
    overlay_histograms,
    overlay_reliability,
    picture,
    reliability,
)
from losscli.present.text import cells, format_count, printable

__all__ = [
    "DEFAULT_LEVELS",
    "HEAVY_TAIL",
    "MAX_WIDTH",
    "MIN_WIDTH",
    "Counts",
    "GroupBar",
    "GroupBars",
    "Histogram",
    "HistogramAxis",
    "Picture",
    "Plottable",
    "Reliability",
    "ReliabilityBin",
    "bin_weights",
    "cells",
    "comparison_pictures",
    "counts",
    "draw",
    "format_count",
    "group_bars",
    "group_label",
    "histogram",
    "nice_ticks",
    "nothing_to_plot",
    "overlay_histograms",
    "overlay_reliability",
    "pack",
    "picture",
    "printable",
    "quantile_name",
    "reliability",
    "report_pictures",
    "show",
    "terminal_width",
    "tick_text",
    "wrap",
]
