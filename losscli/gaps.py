"""Gaps between groups (``--group-gap``): per loss, how far apart the groups of
``--group-by`` are, the groups at both ends, the worst one, and an interval.

For the values v_g of the groups that have one (a group without a value — no rows, one
class only... — is left out, as pandas' ``min``/``max`` skip NaN):

* ``difference`` = max_g v_g − min_g v_g (≥ 0; lower is better): fairlearn's
  ``MetricFrame.difference(method="between_groups")``;
* ``ratio`` = min_g v_g / max_g v_g (higher is better, 1 when every group is equal):
  fairlearn's ``MetricFrame.ratio(method="between_groups")``, the same division: with a
  negative smallest value it is negative (or above 1 when both are negative); with a
  largest value of 0 fairlearn's division gives NaN (0/0) or −inf, so here the ratio is
  n/a with that reason.

Fewer than two groups with a value: n/a, with the reason. The **worst group** is the one at
the worse end by the loss's direction: the largest value of a loss (lower is better), the
smallest of a score (higher is better); ties go to the first group in key order.

**Interval** (``--ci``): with the bootstrap (``--ci-method bootstrap``), each replicate's
gap from the groups' replicate values — every state draws the same Poisson weight for the
same row (:mod:`losscli.stats.resample`), so the groups' replicates are one joint resample
of all the rows — and the percentile interval of those gaps. A replicate in which a group
has no value (it drew none of its rows) has no gap and is left out. The analytic methods
keep each group's moments apart, with no joint distribution of the gap: n/a, with why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

#: Why the analytic intervals give no interval for a gap.
NO_JOINT = ("no interval for a gap between groups from analytic intervals (they keep each "
            "group apart); --ci-method bootstrap gives one")


def gap_value(method: str, low: float, high: float) -> tuple[float | None, str | None]:
    """The gap of the smallest and the largest group value, or None and why."""
    if method == "difference":
        return high - low, None
    if high == 0.0:
        return None, ("the largest group value is 0: the ratio smallest/largest is undefined "
                      "(fairlearn's division gives NaN or -inf)")
    return low / high, None


def group_gap(method: str, higher_is_better: bool | None,
              values: Sequence[tuple[dict[str, Any], float | None]], *,
              replicates: Sequence[np.ndarray | None] | None = None,
              no_interval: str | None = None, level: float | None = None) -> dict[str, Any]:
    """The gap of one loss (the report's ``group_gap``): ``method``, ``value`` (None with a
    ``reason``), ``groups`` compared, ``min``/``max`` and ``min_group``/``max_group`` (the
    groups' keys), ``worst_group`` (None when ``higher_is_better`` is None: an
    informational loss, such as threshold_at_fpr, has no worse end), ``higher_is_better``
    (of the gap: a ratio is better higher, a difference lower) and, with ``level``
    (``--ci``), ``interval``.

    ``values``: (key, value) per group, in key order; ``replicates``: per group, its value
    under each bootstrap replicate (None: no replicates, ``no_interval`` says why)."""
    out: dict[str, Any] = {"method": method, "value": None, "groups": 0,
                           "higher_is_better": method == "ratio"}
    kept = [(i, key, float(v)) for i, (key, v) in enumerate(values)
            if v is not None and math.isfinite(v)]
    out["groups"] = len(kept)
    if level is not None:
        out["interval"] = {"low": None, "high": None, "level": level, "method": "n/a"}
    if len(kept) < 2:
        out["reason"] = (f"{len(kept)} group{'s' if len(kept) != 1 else ''} with a value: a "
                         "gap needs at least 2")
        if level is not None:
            out["interval"]["reason"] = out["reason"]
        return out
    lo = min(kept, key=lambda t: t[2])  # the first of equal values: key order
    hi = max(kept, key=lambda t: t[2])
    hi = next(t for t in kept if t[2] == hi[2])
    value, why = gap_value(method, lo[2], hi[2])
    out.update(min=lo[2], max=hi[2], min_group=dict(lo[1]), max_group=dict(hi[1]),
               worst_group=(None if higher_is_better is None
                            else dict(lo[1] if higher_is_better else hi[1])))
    if value is None:
        out["reason"] = why
        if level is not None:
            out["interval"]["reason"] = why
        return out
    out["value"] = value
    if level is not None:
        out["interval"] = gap_interval(method, value, [replicates[i] if replicates else None
                                                       for i, _, _ in kept],
                                       level, no_interval)
    return out


def gap_interval(method: str, value: float, replicates: Sequence[np.ndarray | None],
                 level: float, no_interval: str | None) -> dict[str, Any]:
    """The percentile interval of the replicates' gaps (see the module doc), as the report
    carries an interval; n/a with ``no_interval`` when a group has no replicates."""
    from losscli.report import interval_dict
    from losscli.stats.intervals import bootstrap_interval

    if any(r is None for r in replicates) or not replicates:
        return {"low": None, "high": None, "level": level, "method": "n/a",
                "reason": no_interval or NO_JOINT}
    reps = np.vstack([np.asarray(r, dtype=np.float64) for r in replicates])  # (groups, B)
    gaps = replicate_gaps(method, reps)
    return interval_dict(bootstrap_interval(value, gaps, level, "percentile"))


def replicate_gaps(method: str, reps: np.ndarray) -> np.ndarray:
    """Per replicate (column of ``reps``, one row per group), the gap; NaN where a group
    has no finite value or the ratio is undefined."""
    with np.errstate(all="ignore"):
        finite = np.isfinite(reps).all(axis=0)
        low, high = reps.min(axis=0), reps.max(axis=0)
        if method == "difference":
            gaps = high - low
        else:
            gaps = np.where(high != 0.0, low / np.where(high != 0.0, high, 1.0), np.nan)
    return np.where(finite, gaps, np.nan)
