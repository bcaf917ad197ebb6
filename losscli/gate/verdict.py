"""Verdicts of ``losscli check``: one report entry judged against its bounds and its
baseline value. Pure logic over plain data (the rules are in :mod:`losscli.gate`)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from losscli.gate.baseline import Baseline
from losscli.gate.bounds import Bounds
from losscli.registry import format_param
from losscli.report import Report, json_float

#: Relative slack of every comparison with a bound (float round-off, see losscli.gate).
ROUNDOFF = 1e-12

PASS, SAME, IMPROVED, FAIL, UNCHECKED = "pass", "same", "improved", "fail", "unchecked"
#: Every status, best first: ``improved`` (better than the baseline beyond round-off),
#: ``same`` (equal to it within round-off), ``pass`` (worse, but within the tolerance; or
#: only absolute bounds checked), ``fail``, ``unchecked`` (no bound, no baseline).
STATUSES = (IMPROVED, SAME, PASS, FAIL, UNCHECKED)


def same_value(a: float, b: float) -> bool:
    """True when ``a`` and ``b`` differ by no more than float round-off (ROUNDOFF relative
    to the larger magnitude): not a difference worth a word, in ``check`` or ``compare``."""
    return not _beyond(abs(a - b), a, b)


@dataclass(frozen=True)
class Verdict:
    """The outcome of every check on one loss instance.

    ``change`` is value - baseline; ``relative_change`` is change / |baseline| (None when the
    baseline is 0 or absent); ``allowed_change`` the largest worsening the tolerances allow
    and ``limit`` the worst value that still passes against the baseline.
    """

    name: str
    label: str
    params: dict[str, Any]
    higher_is_better: bool
    value: float | None
    baseline: float | None = None
    in_baseline: bool | None = None  # None: no baseline given
    change: float | None = None
    relative_change: float | None = None
    max: float | None = None
    min: float | None = None
    rtol: float | None = None
    atol: float | None = None
    allowed_change: float | None = None
    limit: float | None = None
    status: str = UNCHECKED
    reasons: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return self.status != FAIL

    @property
    def bound_text(self) -> str:
        """Human summary of what was checked, e.g. ``<= 0.3; <= 1.87 (baseline, rtol 0.02)``
        (the baseline limit to 6 significant digits, as tables show values)."""
        parts = []
        if self.max is not None:
            parts.append(f"<= {format_param(self.max)}")
        if self.min is not None:
            parts.append(f">= {format_param(self.min)}")
        if self.limit is not None:
            tol = [f"{k} {format_param(v)}" for k, v in (("rtol", self.rtol), ("atol", self.atol)) if v]
            op = ">=" if self.higher_is_better else "<="
            parts.append(f"{op} {self.limit:.6g} (baseline{', ' + ', '.join(tol) if tol else ''})")
        elif self.in_baseline is False:
            parts.append("not in baseline")
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "params": dict(self.params),
            "higher_is_better": self.higher_is_better,
            "value": json_float(self.value),
            "baseline": json_float(self.baseline),
            "in_baseline": self.in_baseline,
            "change": json_float(self.change),
            "relative_change": json_float(self.relative_change),
            "max": self.max,
            "min": self.min,
            "rtol": self.rtol,
            "atol": self.atol,
            "allowed_change": json_float(self.allowed_change),
            "limit": json_float(self.limit),
            "status": self.status,
            "passed": self.passed,
            "reasons": list(self.reasons),
        }


def _beyond(excess: float, *magnitudes: float) -> bool:
    """True when ``excess`` (how far past a bound) is more than float round-off."""
    return excess > ROUNDOFF * max(abs(m) for m in magnitudes)


def judge(
    res: Any,
    bounds: Bounds,
    baseline: Baseline | None,
    *,
    allow_missing: bool = False,
) -> Verdict:
    """The verdict on one report entry ``res`` (a :class:`LossResult`)."""
    label = res.label
    v = res.value
    reasons: list[str] = []
    failed = improved = same = checked = False
    nan = v is None or not math.isfinite(v)
    fields: dict[str, Any] = {"max": bounds.max.get(label), "min": bounds.min.get(label)}
    if nan:
        failed = checked = True
        reasons.append(f"{label} is {v} (NaN or infinite): nothing to compare; see --nan-policy")
    if fields["max"] is not None and not nan:
        checked = True
        if _beyond(v - fields["max"], v, fields["max"]):
            failed = True
            reasons.append(f"{label} = {v!r} is above --max {format_param(fields['max'])}")
    if fields["min"] is not None and not nan:
        checked = True
        if _beyond(fields["min"] - v, v, fields["min"]):
            failed = True
            reasons.append(f"{label} = {v!r} is below --min {format_param(fields['min'])}")
    if baseline is not None:
        checked = True
        entry = baseline.get(res.key)
        fields["in_baseline"] = entry is not None
        if entry is None:
            if allow_missing:
                reasons.append(f"{label} is not in baseline '{baseline.path}' (allowed by "
                               "--allow-missing)")
            else:
                failed = True
                reasons.append(f"{label} is not in baseline '{baseline.path}'; add it to the "
                               "baseline (check --save) or pass --allow-missing")
        elif entry.value is None or not math.isfinite(entry.value):
            failed = True
            reasons.append(f"the baseline value of {label} is null; regenerate the baseline")
        else:
            b = entry.value
            rtol, atol = bounds.rtol_for(label), bounds.atol_for(label)
            allowed = max(atol or 0.0, (rtol or 0.0) * abs(b))
            sign = -1.0 if res.higher_is_better else 1.0
            fields.update(baseline=b, rtol=rtol, atol=atol, allowed_change=allowed,
                          limit=b + sign * allowed)
            if not nan:
                change = v - b
                worse = sign * change  # > 0 means worse, whatever the direction
                fields.update(change=change, relative_change=change / abs(b) if b else None)
                if _beyond(worse - allowed, v, b):
                    failed = True
                    rel = f" ({change / abs(b):+.4%})" if b else " (baseline 0: only atol applies)"
                    reasons.append(
                        f"{label} got worse: {v!r} vs baseline {b!r}, change {change:+.6g}{rel}, "
                        f"more than the {allowed:.6g} allowed"
                    )
                elif _beyond(-worse, v, b):
                    improved = True
                elif same_value(v, b):
                    same = True
    status = (FAIL if failed else IMPROVED if improved else SAME if same else PASS if checked
              else UNCHECKED)
    return Verdict(
        name=res.name, label=label, params=dict(res.params), higher_is_better=res.higher_is_better,
        value=v, status=status, reasons=tuple(reasons), **fields,
    )


def verdicts(
    report: Report, bounds: Bounds, baseline: Baseline | None = None, *, allow_missing: bool = False
) -> list[Verdict]:
    """One :class:`Verdict` per loss of ``report``, in its order."""
    return [judge(res, bounds, baseline, allow_missing=allow_missing) for res in report.losses]
