"""The one comparison of a value with a bound or a baseline value, shared by every verdict
of ``losscli check`` (a loss's, a group's, a gap's between groups): float round-off
(:data:`ROUNDOFF`), sameness, and the allowance ``max(atol, rtol·|baseline|)``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from losscli.present.text import format_value

#: Relative slack of every comparison with a bound (float round-off, see losscli.gate).
ROUNDOFF = 1e-12


def beyond(excess: float, *magnitudes: float) -> bool:
    """True when ``excess`` (how far past a bound) is more than float round-off."""
    return excess > ROUNDOFF * max(abs(m) for m in magnitudes)


def same_value(a: float, b: float) -> bool:
    """True when ``a`` and ``b`` differ by no more than float round-off (ROUNDOFF relative
    to the larger magnitude): not a difference worth a word, in ``check`` or ``compare``."""
    return not beyond(abs(a - b), a, b)


def value_text(value: Any) -> str:
    """A value in a reason sentence as every table prints it (6 significant digits; JSON
    keeps every digit in the verdict's fields)."""
    return format_value(value) if isinstance(value, (int, float)) else str(value)


@dataclass(frozen=True)
class AgainstBaseline:
    """A value judged against its baseline value: the verdict's fields (baseline, rtol,
    atol, allowed_change, limit, change, relative_change), the outcome and its sentences."""

    fields: dict[str, Any]
    failed: bool = False
    improved: bool = False
    same: bool = False
    reasons: tuple[str, ...] = ()


def against_baseline(label: str, v: float | None, b: float, higher_is_better: bool,
                     rtol: float | None, atol: float | None,
                     interval: tuple[float, float] | None, level: str) -> AgainstBaseline:
    """The one comparison of a value with its baseline value (a loss's, or a gap's between
    groups): worse by more than ``max(atol, rtol·|b|)`` fails; with ``interval`` (``--ci``)
    only when the whole interval is beyond the allowance, and ``improved`` only when the
    whole interval is better than the baseline."""
    allowed = max(atol or 0.0, (rtol or 0.0) * abs(b))
    sign = -1.0 if higher_is_better else 1.0
    fields: dict[str, Any] = dict(baseline=b, rtol=rtol, atol=atol, allowed_change=allowed,
                                  limit=b + sign * allowed)
    if v is None or not math.isfinite(v):
        return AgainstBaseline(fields)
    low, high = interval if interval is not None else (v, v)
    change = v - b
    # the most and least favourable ends of the value (the value itself without an interval)
    best_end = high if higher_is_better else low
    worst_end = low if higher_is_better else high
    worse = sign * (best_end - b)
    fields.update(change=change, relative_change=change / abs(b) if b else None)
    if beyond(worse - allowed, best_end, b):
        rel = f" ({change / abs(b):+.4%})" if b else " (baseline 0: only atol applies)"
        whole = (f"; the whole {level} interval [{value_text(low)}, {value_text(high)}] is beyond the "
                 "allowance" if interval is not None else "")
        return AgainstBaseline(fields, failed=True, reasons=(
            f"{label} got worse: {value_text(v)} vs baseline {value_text(b)}, change {change:+.6g}{rel}, "
            f"more than the {allowed:.6g} allowed{whole}",))
    if beyond(sign * (b - worst_end), worst_end, b):
        return AgainstBaseline(fields, improved=True)
    if same_value(v, b):
        return AgainstBaseline(fields, same=True)
    if interval is not None and beyond(sign * change - allowed, v, b):
        return AgainstBaseline(fields, reasons=(
            f"{label} = {value_text(v)} is beyond the allowance, but its {level} interval "
            f"[{value_text(low)}, {value_text(high)}] reaches it: within noise",))
    return AgainstBaseline(fields)

