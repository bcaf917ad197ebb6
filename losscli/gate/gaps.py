"""``check --max-gap NAME=V`` / ``--min-gap-ratio NAME=V``: the gate on the gap between the
groups of ``--group-by`` (:mod:`losscli.gaps`), one :class:`~losscli.gate.verdict.Verdict`
per bounded loss, its sentences made here.

* ``--max-gap mse=0.1``: the **difference** (largest − smallest group value) must be at
  most 0.1; it implies ``--group-gap difference``.
* ``--min-gap-ratio roc_auc=0.8``: the **ratio** (smallest / largest group value) must be
  at least 0.8 (fairlearn's four-fifths rule reads ``ratio >= 0.8``); it implies
  ``--group-gap ratio``.

One run computes one kind of gap: both flags together, or one against the other
``--group-gap``, is a usage error. With ``--ci`` a bound fails only when the whole interval
of the gap lies beyond it (as every bound of ``check``); a gap without an interval is
judged on its value, with a note. A loss whose gap is n/a (fewer than two groups with a
value, a ratio over a largest value of 0) is unchecked, with the reason.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from losscli.errors import UsageError
from losscli.gate.allowance import ROUNDOFF, against_baseline
from losscli.gate.baseline import Baseline
from losscli.gate.bounds import Bounds, parse_bounds
from losscli.gate.verdict import FAIL, IMPROVED, PASS, SAME, UNCHECKED, Verdict
from losscli.present.text import format_level, format_value
from losscli.registry import LossInstance, format_param
from losscli.report import Report

#: The flag of each gap method's bound, and the bound's kind.
FLAGS = {"difference": "--max-gap", "ratio": "--min-gap-ratio"}


@dataclass(frozen=True)
class GapBounds:
    """The gap bounds by loss label: ``method`` (difference or ratio) and the bound of
    each loss (a largest difference, or a smallest ratio)."""

    method: str | None = None
    bounds: dict[str, float] = field(default_factory=dict)


def gap_strings(name: str, value: Any) -> list[str]:
    """``max_gap``/``min_gap_ratio`` as ``NAME=V`` strings: a mapping ``{"mse": 0.1}``,
    one string or several."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        out = []
        for k, v in value.items():
            if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, int | float):
                raise UsageError(f"{name} takes {{'NAME': number}} (e.g. {{'mse': 0.1}}); got "
                                 f"{value!r}.")
            out.append(f"{k}={float(v)!r}")
        return out
    items = [value] if isinstance(value, str) else list(value) if isinstance(
        value, Iterable) else [value]
    if not all(isinstance(v, str) for v in items):
        raise UsageError(f"{name} takes 'NAME=VALUE' strings or a dict (e.g. {{'mse': 0.1}}); "
                         f"got {value!r}.")
    return items


def gap_method(max_gap: Sequence[str], min_gap_ratio: Sequence[str], group_gap: str | None,
               group_by: Sequence[str]) -> str | None:
    """The gap method a check's gap bounds need (None: none given); a UsageError for a
    bound without --group-by, both kinds at once, or one against --group-gap."""
    if not max_gap and not min_gap_ratio:
        return group_gap
    flag = "--max-gap" if max_gap else "--min-gap-ratio"
    if not group_by:
        raise UsageError(f"{flag} bounds the gap between the groups of --group-by: add "
                         "--group-by COL (group_by=).")
    if max_gap and min_gap_ratio:
        raise UsageError("--max-gap bounds the difference between groups and --min-gap-ratio "
                         "their ratio; one run computes one kind of gap: give one of them.")
    method = "difference" if max_gap else "ratio"
    if group_gap is not None and group_gap != method:
        other = FLAGS[group_gap]
        raise UsageError(f"{flag} bounds the {method} between groups, but --group-gap is "
                         f"{group_gap}: drop --group-gap (or give it as {method}), or use "
                         f"{other} for the {group_gap}.")
    return method


def parse_gap_bounds(instances: Sequence[LossInstance], method: str | None,
                     max_gap: Sequence[str], min_gap_ratio: Sequence[str]) -> GapBounds:
    """``--max-gap``/``--min-gap-ratio`` NAME=V against the selected ``instances`` (named
    as ``--max`` names them)."""
    args = list(max_gap or min_gap_ratio)
    if not args:
        return GapBounds(method)
    flag = "--max-gap" if max_gap else "--min-gap-ratio"
    try:
        parsed = parse_bounds(instances, max_=args)
    except UsageError as exc:  # the words of --max, with this flag's name
        raise UsageError(str(exc).replace("--max", flag)) from None
    return GapBounds(method, dict(parsed.max))


def gap_label(label: str) -> str:
    """How a gap check is named in every output (the JSON ``failed`` list too)."""
    return f"group gap: {label}"


def judge_gaps(report: Report, bounds: GapBounds, baseline: Baseline | None = None,
               tolerances: Bounds | None = None, *, use_interval: bool = False
               ) -> list[Verdict]:
    """One verdict per loss whose gap has a bound, or a baseline gap of the same method to
    be compared with (the baseline's tolerances: ``tolerances``' rtol/atol of the loss), in
    the report's order."""
    out = []
    for res in report.losses:
        bound = bounds.bounds.get(res.label)
        entry = baseline.get(res.key) if baseline is not None else None
        base_gap = entry.gap if entry is not None else None
        if bounds.method is None or (bound is None and base_gap is None):
            continue
        out.append(_judge(res, res.group_gap or {}, bounds.method, bound, use_interval,
                          base_gap, tolerances, None if baseline is None else baseline.path))
    return out


def _judge(res: Any, gap: dict[str, Any], method: str, bound: float | None,
           use_interval: bool, base_gap: tuple[str, float] | None = None,
           tolerances: Bounds | None = None, base_path: str | None = None) -> Verdict:
    label, flag = gap_label(res.label), FLAGS[method]
    higher = method == "ratio"
    value = gap.get("value")
    fields: dict[str, Any] = {} if bound is None else {"min" if higher else "max": bound}
    base = dict(name=res.name, label=label, params=dict(res.params), higher_is_better=higher,
                value=value, gap=True)
    if value is None or not math.isfinite(value):
        why = gap.get("reason") or "no gap"
        checks = " and ".join([*([flag] if bound is not None else []),
                               *(["the baseline"] if base_gap is not None else [])])
        return Verdict(**base, status=UNCHECKED, notes=(f"{label}: n/a ({why}); "
                                                         f"{checks} not checked",), **fields)
    notes: list[str] = []
    reasons: list[str] = []
    iv = gap.get("interval") if use_interval else None
    low = high = value
    if iv and iv.get("low") is not None and iv.get("high") is not None:
        low, high = float(iv["low"]), float(iv["high"])
        fields.update(interval=(low, high), interval_level=format_level(iv.get("level", 0.95)))
    elif use_interval:
        notes.append(f"{label}: no interval ({(iv or {}).get('reason') or 'none'}); judged on "
                     "its value")
    failed = improved = same = False
    checked = bound is not None
    where = "below" if higher else "above"
    if bound is not None:
        best = high if higher else low  # the most favourable end
        excess = (bound - best) if higher else (best - bound)
        if excess > ROUNDOFF * max(abs(best), abs(bound)):
            failed = True
            whole = (f": its whole {fields['interval_level']} interval [{format_value(low)}, "
                     f"{format_value(high)}] is {where} it" if "interval" in fields else "")
            reasons.append(f"{label} ({method}) = {format_value(value)} is {where} {flag} "
                           f"{format_param(bound)}{whole}; {_ends(gap)}")
        elif "interval" in fields and ((bound - value) if higher else (value - bound)) > 0:
            reasons.append(f"{label} ({method}) = {format_value(value)} is {where} {flag} "
                           f"{format_param(bound)}, but its interval [{format_value(low)}, "
                           f"{format_value(high)}] reaches it: within noise")
    if base_gap is not None:
        fields["in_baseline"] = True
        if base_gap[0] != method:
            notes.append(f"{label}: baseline '{base_path}' holds the {base_gap[0]} between "
                         f"groups, this run the {method}; not compared (give --group-gap "
                         f"{base_gap[0]})")
        else:
            checked = True
            tol = tolerances or Bounds()
            against = against_baseline(label, value, base_gap[1], higher,
                                       tol.rtol_for(res.label), tol.atol_for(res.label),
                                       (low, high) if "interval" in fields else None,
                                       fields.get("interval_level", ""))
            fields.update(against.fields)
            reasons.extend(f"{r}; {_ends(gap)}" if against.failed else r
                           for r in against.reasons)
            failed = failed or against.failed
            improved, same = against.improved, against.same
    status = (FAIL if failed else IMPROVED if improved else SAME if same else PASS if checked
              else UNCHECKED)
    return Verdict(**base, status=status, reasons=tuple(reasons), notes=tuple(notes), **fields)


def _ends(gap: dict[str, Any]) -> str:
    """``worst group g=c (2.125), best g=a (0.125)``."""
    from losscli.grouping import key_text

    def text(key: dict[str, Any]) -> str:
        return key_text(list(key), tuple(key.values()))

    worst = gap.get("worst_group")
    if worst is None:  # an informational loss: no worse end
        return (f"groups {text(gap['min_group'])} ({format_value(gap['min'])}) and "
                f"{text(gap['max_group'])} ({format_value(gap['max'])})")
    other = gap["min_group"] if worst == gap.get("max_group") else gap["max_group"]
    w_value = gap["max"] if worst == gap.get("max_group") else gap["min"]
    o_value = gap["min"] if worst == gap.get("max_group") else gap["max"]
    return (f"worst group {text(worst)} ({format_value(w_value)}), other end {text(other)} "
            f"({format_value(o_value)})")
